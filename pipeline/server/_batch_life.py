"""The life of a fake batch on the simulated clock (see :mod:`pipeline.server._batches`):
validating its input file, answering its requests one by one with the server's responder and
faults, writing each row to the output or error file, and ending it (``completed``,
``failed``, ``expired``, ``cancelled``). :class:`BatchLife` is mixed into
:class:`~pipeline.server._batches.BatchEngine`."""

from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from pipeline.server._faults import _CONTENT_FAULTS, _ERRORS, _SILENT_FAULTS, Fault, _damage
from pipeline.server._files import FileStore, StoredFile
from pipeline.server._request import _estimate_tokens
from pipeline.server._responders import ResponderError

if TYPE_CHECKING:
    from pipeline.server._app import FakeOpenAIServer
    from pipeline.server._batches import BatchConfig

_SERVED = ("/v1/chat/completions",)
_ACTIVE = ("validating", "in_progress", "finalizing", "cancelling")


@dataclass
class _Script:
    expire_after: int | None = None
    fail: list[dict[str, Any]] | None = None


@dataclass
class _Batch:
    obj: dict[str, Any]
    input: StoredFile
    script: _Script
    order: int
    offsets: list[int] = field(default_factory=list)
    custom_ids: list[str] = field(default_factory=list)
    tokens: int = 0
    started: float = 0.0  # when requests began to be answered (simulated clock)
    done: int = 0
    out: StoredFile | None = None
    err: StoredFile | None = None
    out_f: IO[bytes] | None = None
    err_f: IO[bytes] | None = None
    out_lines: int = 0
    err_lines: int = 0


class BatchLife:
    """Validating, answering and ending batches (the engine's state is declared here)."""

    server: FakeOpenAIServer
    config: BatchConfig
    files: FileStore
    _batches: dict[str, _Batch]
    rows_answered: int

    def now(self) -> float:
        raise NotImplementedError

    def _advance_all(self) -> None:
        now = self.now()
        for b in sorted(self._batches.values(), key=lambda b: b.order):
            if b.obj["status"] in _ACTIVE:
                self._advance(b, now)

    def _advance(self, b: _Batch, now: float) -> None:
        cfg, obj = self.config, b.obj
        if obj["status"] == "validating":
            at = obj["created_at"] + cfg.validating_s
            if now < at:
                return
            errors = self._validate(b)
            if errors:
                self._end(b, "failed", at, errors=errors)
                return
            obj["status"] = "in_progress"
            obj["in_progress_at"] = int(at)
            obj["request_counts"]["total"] = len(b.offsets)
            b.started = at
        if obj["status"] == "in_progress":
            started = b.started
            deadline = obj["expires_at"]
            due = len(b.offsets)
            if cfg.request_s > 0:
                due = min(due, math.floor((min(now, deadline) - started) / cfg.request_s))
            limit = b.script.expire_after
            if limit is not None:
                due = min(due, limit)
            self._answer(b, due)
            if b.done >= len(b.offsets):
                obj["status"] = "finalizing"
                obj["finalizing_at"] = int(started + len(b.offsets) * cfg.request_s)
            elif now >= deadline or (limit is not None and b.done >= limit):
                self._end(b, "expired", min(now, deadline), rest="batch_expired")
                return
        if obj["status"] == "finalizing" and now >= obj["finalizing_at"] + cfg.finalizing_s:
            self._end(b, "completed", obj["finalizing_at"] + cfg.finalizing_s)
        if obj["status"] == "cancelling" and now >= obj["cancelling_at"] + cfg.cancelling_s:
            self._end(
                b, "cancelled", obj["cancelling_at"] + cfg.cancelling_s, rest="batch_cancelled"
            )

    def _end(
        self,
        b: _Batch,
        status: str,
        at: float,
        *,
        errors: list[dict[str, Any]] | None = None,
        rest: str | None = None,
    ) -> None:
        obj = b.obj
        obj["status"] = status
        obj[f"{status}_at"] = int(at)
        if errors is not None:
            obj["errors"] = {"object": "list", "data": errors}
            return
        if rest is not None and b.done < len(b.offsets):
            message = {
                "batch_expired": "This request could not be executed before the completion "
                "window expired.",
                "batch_cancelled": "This request was not executed because the batch was cancelled.",
            }[rest]
            for i in range(b.done, len(b.offsets)):
                self._write_row(b, b.custom_ids[i], None, {"code": rest, "message": message})
                obj["request_counts"]["failed"] += 1
        for f, handle, lines, key in (
            (b.out, b.out_f, b.out_lines, "output_file_id"),
            (b.err, b.err_f, b.err_lines, "error_file_id"),
        ):
            if handle is not None:
                handle.close()
            if f is not None and lines:
                self.files.register(f)
                obj[key] = f.id
        b.out_f = b.err_f = None

    def _validate(self, b: _Batch) -> list[dict[str, Any]]:
        """Read the input file once: the offsets and ids of its requests, its prompt tokens,
        and every error that fails the batch."""
        if b.script.fail is not None:
            return [dict(e) for e in b.script.fail]
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        endpoint = b.obj["endpoint"]
        model: str | None = None
        with b.input.path.open("rb") as f:
            offset = 0
            for n, line in enumerate(f, start=1):
                start, offset = offset, offset + len(line)
                if not line.strip():
                    continue
                try:
                    req = json.loads(line)
                except ValueError:
                    errors.append(
                        _err("invalid_json_line", n, "This line is not parseable as valid JSON.")
                    )
                    continue
                if not isinstance(req, dict):
                    errors.append(_err("invalid_request", n, "Each line must be a JSON object."))
                    continue
                missing = [k for k in ("custom_id", "method", "url", "body") if k not in req]
                if missing:
                    errors.append(
                        _err(
                            "missing_required_parameter",
                            n,
                            f"Missing required parameter: '{missing[0]}'.",
                            missing[0],
                        )
                    )
                    continue
                cid = str(req["custom_id"])
                if cid in seen:
                    errors.append(
                        _err(
                            "duplicate_custom_id",
                            n,
                            f"The custom_id '{cid}' is used more than once in this file; "
                            "each request needs a unique custom_id.",
                            "custom_id",
                        )
                    )
                    continue
                seen.add(cid)
                if req["url"] != endpoint:
                    errors.append(
                        _err(
                            "invalid_url",
                            n,
                            f"The URL '{req['url']}' does not match the batch's endpoint "
                            f"'{endpoint}'.",
                            "url",
                        )
                    )
                    continue
                if str(req["method"]).upper() != "POST":
                    errors.append(_err("invalid_method", n, "Only POST is supported.", "method"))
                    continue
                body = req["body"]
                if not isinstance(body, dict) or not isinstance(body.get("model"), str):
                    errors.append(
                        _err("invalid_request", n, "The body needs a 'model'.", "body.model")
                    )
                    continue
                if body.get("stream"):
                    errors.append(
                        _err(
                            "streaming_unsupported",
                            n,
                            "Streaming is not supported in batches.",
                            "body.stream",
                        )
                    )
                    continue
                if model is None:
                    model = body["model"]
                elif body["model"] != model:
                    errors.append(
                        _err(
                            "mismatched_model",
                            n,
                            "Every request of a batch must use the same model "
                            f"('{model}' and '{body['model']}').",
                            "body.model",
                        )
                    )
                    continue
                b.tokens += _estimate_tokens(body, 0)[0]
                b.offsets.append(start)
                b.custom_ids.append(cid)
        b.obj["model"] = model
        if errors:
            return errors
        if endpoint not in _SERVED:
            return [_err("invalid_value", None, f"This server answers only {_SERVED[0]}.")]
        if not b.offsets:
            return [_err("empty_file", None, "The input file holds no request.")]
        if len(b.offsets) > self.config.max_requests:
            return [
                _err(
                    "too_many_tasks",
                    None,
                    f"The batch has {len(b.offsets):,} requests; a batch may hold at most "
                    f"{self.config.max_requests:,} requests.",
                )
            ]
        limit = self.config.enqueued_token_limit
        if limit is not None:
            enqueued = sum(
                o.tokens
                for o in self._batches.values()
                if o is not b and o.obj["status"] in ("in_progress", "finalizing")
            )
            if enqueued + b.tokens > limit:
                org = self.server._org
                return [
                    _err(
                        "token_limit_exceeded",
                        None,
                        f"Enqueued token limit reached for {model} in organization {org}. "
                        f"Limit: {limit:,} enqueued tokens. Please try again once some "
                        "in_progress batches have been completed.",
                    )
                ]
        return []

    def _answer(self, b: _Batch, due: int) -> None:
        """Answer requests until ``due`` are done, writing each row as it is answered."""
        if b.done >= due:
            return
        srv = self.server
        with b.input.path.open("rb") as f:
            while b.done < due:
                f.seek(b.offsets[b.done])
                req = json.loads(f.readline())
                body = req["body"]
                cid = str(req["custom_id"])
                b.done += 1
                self.rows_answered += 1
                index, srv._chat_index = srv._chat_index, srv._chat_index + 1
                fault, commit = srv._pick_fault(body, index)
                model = srv.config.model_name or str(body.get("model"))
                if fault is not None and fault.kind in _ERRORS:
                    commit()
                    r = srv._fault_reply(fault, model, body=body)
                    self._write_row(b, cid, (r.status, r.payload), None)
                    continue
                if fault is not None and fault.kind in _SILENT_FAULTS:
                    commit()
                    self._write_row(
                        b,
                        cid,
                        None,
                        {"code": "request_timeout", "message": "The request timed out."},
                    )
                    continue
                if fault is not None:
                    commit()
                if srv._refuses_format(body):  # a server without this mode: the same 400
                    r = srv._fault_reply(Fault("unsupported_response_format"), model, body=body)
                    self._write_row(b, cid, (r.status, r.payload), None)
                    continue
                try:
                    completion = srv.responder(body)
                except ResponderError as e:
                    err = {
                        "error": {
                            "message": e.message,
                            "type": e.type,
                            "param": e.param,
                            "code": e.code,
                        }
                    }
                    self._write_row(b, cid, (e.status, err), None)
                    continue
                if fault is not None and fault.kind in _CONTENT_FAULTS:
                    completion = copy.deepcopy(completion)
                    _damage(fault.kind, completion, body)
                if srv.config.model_name:
                    completion = {**completion, "model": srv.config.model_name}
                self._write_row(b, cid, (200, completion), None)

    def _write_row(
        self,
        b: _Batch,
        custom_id: str,
        response: tuple[int, Any] | None,
        error: dict[str, Any] | None,
    ) -> None:
        seq = b.out_lines + b.err_lines
        rid = hashlib.md5(f"{b.obj['id']}:{seq}".encode()).hexdigest()[:24]
        row: dict[str, Any] = {"id": f"batch_req_{rid}", "custom_id": custom_id}
        counts = b.obj["request_counts"]
        if response is not None:
            status, body = response
            row["response"] = {"status_code": status, "request_id": f"req_{rid}", "body": body}
            usage = body.get("usage") if isinstance(body, dict) and status == 200 else None
            if isinstance(usage, dict):
                self._add_usage(b, usage)
        else:
            row["response"] = None
        row["error"] = error
        line = (json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8")
        if response is not None and response[0] == 200:
            if b.out_f is None:
                b.out = self.files.add(f"{b.obj['id']}_output.jsonl", "batch_output")
                b.out_f = b.out.path.open("ab")
            b.out_f.write(line)
            b.out_lines += 1
            counts["completed"] += 1
        else:
            if b.err_f is None:
                b.err = self.files.add(f"{b.obj['id']}_error.jsonl", "batch_output")
                b.err_f = b.err.path.open("ab")
            b.err_f.write(line)
            b.err_lines += 1
            if error is None or error.get("code") not in ("batch_expired", "batch_cancelled"):
                counts["failed"] += 1

    def _add_usage(self, b: _Batch, usage: dict[str, Any]) -> None:
        u = b.obj["usage"] or {
            "input_tokens": 0,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": 0,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": 0,
        }
        pt, ct = int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
        u["input_tokens"] += pt
        u["output_tokens"] += ct
        u["total_tokens"] += pt + ct
        b.obj["usage"] = u


def _err(code: str, line: int | None, message: str, param: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "param": param, "line": line}
