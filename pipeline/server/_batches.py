"""The Batch API of the fake server: ``/v1/batches`` (create, retrieve, list, cancel) over the
Files API of :mod:`pipeline.server._files`, faithful to OpenAI's documented behaviour.

Built from OpenAI's documentation (the API reference's Batch and request-output objects,
the batch guide) and openai-python 3.x's types; no recording of the real service was found
in public repositories. Validation error codes follow llama-stack's reference
implementation of the same API (llamastack/llama-stack,
``providers/inline/batches/reference/batches.py``: ``invalid_json_line``,
``missing_required_parameter``, ``invalid_url``, ``streaming_unsupported``);
``token_limit_exceeded`` carries the message users quote from OpenAI ("Enqueued token limit
reached for MODEL in organization ORG. Limit: N enqueued tokens. Please try again once some
in_progress batches have been completed."; see ``tests/data/openai_batch/``);
``duplicate_custom_id`` and ``too_many_tasks`` are named by the issue that asked for this
server, their messages written here.

Life of a batch, on a simulated clock (:attr:`BatchConfig.time_scale` simulated seconds per
real second, so a 24-hour window passes in seconds; :meth:`BatchEngine.advance_clock` jumps
it): ``validating`` for ``validating_s``; then ``failed`` (``errors``: bad lines, duplicate
``custom_id``, too many requests, enqueued-token limit) or ``in_progress``, answering one
request every ``request_s`` with the server's responder and its faults (queue, rules,
random mix: an error fault gives a non-200 row in the error file, ``hang``/``drop`` a
``request_timeout`` error row, a content fault a damaged answer in the output file); then
``finalizing`` for ``finalizing_s`` and ``completed``. A batch still running when its
window closes is ``expired``: its answered rows stay in the output file and every other
row goes to the error file as ``batch_expired``. ``cancel`` moves it to ``cancelling`` and,
after ``cancelling_s``, ``cancelled`` (unanswered rows: ``batch_cancelled``). The output and
error files appear (``output_file_id`` / ``error_file_id``) when the batch ends, each only
if it has a line. Work is done lazily, whenever the API is called.

Scripted behaviour for tests: :meth:`BatchEngine.next_batch` (the next created batch
expires after N answers, or fails validation with given errors) and :meth:`BatchEngine.inject`
(a fault on the next calls of one files/batches endpoint: an error status, ``hang`` or
``drop`` before acting, ``hang_after`` / ``drop_after`` once the work is done,
``truncate`` (a download cut mid-body), ``short`` (a complete download missing its
second half), ``repeat`` (the first line again, with another answer, at the end) or
``stranger`` (a line for an unknown ``custom_id`` at the end)).
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import hashlib
import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from pipeline.server._batch_life import BatchLife, _Batch, _Script
from pipeline.server._faults import _ERRORS, Fault
from pipeline.server._files import FilesError, FileStore
from pipeline.server._http import _Reply

if TYPE_CHECKING:
    from pipeline.server._app import FakeOpenAIServer

ENDPOINTS = (
    "/v1/responses",
    "/v1/chat/completions",
    "/v1/embeddings",
    "/v1/completions",
    "/v1/moderations",
)
API_FAULTS = tuple(_ERRORS) + (
    "hang",
    "drop",
    "hang_after",
    "drop_after",
    "truncate",
    "short",
    "repeat",
    "stranger",
)


@dataclass
class BatchConfig:
    """How the Batch and Files APIs behave. Durations are simulated seconds."""

    #: False: every /v1/files and /v1/batches call answers 404, like a server without them
    enabled: bool = True
    #: simulated seconds per real second (3600: an hour passes each second)
    time_scale: float = 1.0
    validating_s: float = 2.0
    request_s: float = 0.05  # one request answered every this many seconds
    finalizing_s: float = 2.0
    cancelling_s: float = 2.0
    completion_window_s: float = 86_400.0
    max_requests: int = 50_000
    max_file_bytes: int = 200 * 1024 * 1024
    #: enqueued prompt tokens allowed across in-progress batches (None: no limit)
    enqueued_token_limit: int | None = None
    files_dir: str | None = None


@dataclass
class _ApiFault:
    method: str
    pattern: str
    kind: str
    times: int | None
    retry_after_s: float | None


class BatchEngine(BatchLife):
    """The batches of one server, advanced lazily on the simulated clock."""

    def __init__(self, server: FakeOpenAIServer, config: BatchConfig) -> None:
        self.server = server
        self.config = config
        self.files = FileStore(config.files_dir, seed=server.config.seed)
        self._batches: dict[str, _Batch] = {}
        self._lock = threading.RLock()
        self._scripts: deque[_Script] = deque()
        self._faults: list[_ApiFault] = []
        self._order = itertools.count()
        self._wall0 = time.time()
        self._mono0 = time.monotonic()
        self._jump = 0.0
        self.rows_answered = 0
        self.created = 0

    # -- test controls --------------------------------------------------------------------------

    def now(self) -> float:
        """The simulated clock (unix seconds)."""
        elapsed = (time.monotonic() - self._mono0) * self.config.time_scale
        return self._wall0 + elapsed + self._jump

    def advance_clock(self, seconds: float) -> None:
        """Jump the simulated clock forward (a batch's window can close at once)."""
        with self._lock:
            self._jump += seconds

    def next_batch(
        self, *, expire_after: int | None = None, fail: list[dict[str, Any]] | None = None
    ) -> None:
        """Script the next created batch: it expires once ``expire_after`` requests are
        answered, or fails validation with ``fail`` (a list of BatchError dicts)."""
        with self._lock:
            self._scripts.append(_Script(expire_after, fail))

    def inject(
        self,
        method: str,
        pattern: str,
        kind: str,
        *,
        times: int | None = 1,
        retry_after_s: float | None = None,
    ) -> None:
        """Fault the next ``times`` calls of ``method`` on a route matching ``pattern`` (a glob
        of the path after ``/v1``: ``/files``, ``/batches/*``, ``/files/*/content``)."""
        if kind not in API_FAULTS:
            raise ValueError(f"unknown API fault {kind!r}; choose from {API_FAULTS}")
        with self._lock:
            self._faults.append(_ApiFault(method.upper(), pattern, kind, times, retry_after_s))

    def batch(self, batch_id: str) -> dict[str, Any]:
        """The current public object of a batch (advanced first)."""
        with self._lock:
            self._advance_all()
            return copy.deepcopy(self._get(batch_id).obj)

    def close(self) -> None:
        with self._lock:
            for b in self._batches.values():
                for f in (b.out_f, b.err_f):
                    if f is not None:
                        f.close()
        self.files.close()

    # -- routing --------------------------------------------------------------------------------

    async def handle(self, method: str, route: str, headers: dict[str, str], raw: bytes) -> _Reply:
        if not self.config.enabled:
            return _Reply(404, _not_found(method, route))
        fault = self._take_fault(method, route)
        if fault is not None and fault.kind == "hang":
            return _Reply(action="hang", hang_s=self.server.config.hang_s)
        if fault is not None and fault.kind == "drop":
            return _Reply(action="drop")
        if fault is not None and fault.kind in _ERRORS:
            f = Fault(fault.kind, retry_after_s=fault.retry_after_s)
            return self.server._fault_reply(f, "batch")
        try:
            with self._lock:
                reply = self._dispatch(method, route, headers, raw)
        except FilesError as e:
            reply = _Reply(e.status, e.body)
        if fault is not None and fault.kind == "hang_after":
            return _Reply(action="hang", hang_s=self.server.config.hang_s)
        if fault is not None and fault.kind == "drop_after":
            return _Reply(action="drop")
        if fault is not None and reply.raw is not None:
            if fault.kind == "truncate":
                reply.truncate_at = len(reply.raw) // 2
            elif fault.kind == "short":
                lines = reply.raw.splitlines(keepends=True)
                reply.raw = b"".join(lines[: len(lines) // 2])
            elif fault.kind in ("repeat", "stranger") and reply.raw:
                reply.raw += _odd_line(reply.raw.splitlines()[0], fault.kind)
        await asyncio.sleep(0)
        return reply

    def _take_fault(self, method: str, route: str) -> _ApiFault | None:
        with self._lock:
            for f in self._faults:
                if f.times is not None and f.times <= 0:
                    continue
                if f.method == method and fnmatch.fnmatchcase(route, f.pattern):
                    if f.times is not None:
                        f.times -= 1
                    return f
        return None

    def _dispatch(self, method: str, route: str, headers: dict[str, str], raw: bytes) -> _Reply:
        query = {k: v[-1] for k, v in parse_qs(headers.get(":query", "")).items()}
        parts = route.strip("/").split("/")
        self._advance_all()
        if parts[0] == "files":
            if method == "POST" and len(parts) == 1:
                f = self.files.upload(headers, raw, max_batch_bytes=self.config.max_file_bytes)
                return _Reply(200, f.obj())
            if method == "GET" and len(parts) == 1:
                return _Reply(
                    200,
                    self.files.listing(
                        after=query.get("after"),
                        limit=_limit(query, 10_000),
                        purpose=query.get("purpose"),
                    ),
                )
            if method == "GET" and len(parts) == 2:
                return _Reply(200, self.files.get(parts[1]).obj())
            if method == "DELETE" and len(parts) == 2:
                return _Reply(200, self.files.delete(parts[1]))
            if method == "GET" and len(parts) == 3 and parts[2] == "content":
                f = self.files.get(parts[1])
                return _Reply(200, raw=f.path.read_bytes(), content_type="application/octet-stream")
        if parts[0] == "batches":
            if method == "POST" and len(parts) == 1:
                return self._create(raw)
            if method == "GET" and len(parts) == 1:
                return _Reply(200, self._listing(query.get("after"), _limit(query, 100)))
            if method == "GET" and len(parts) == 2:
                return _Reply(200, copy.deepcopy(self._get(parts[1]).obj))
            if method == "POST" and len(parts) == 3 and parts[2] == "cancel":
                return self._cancel(parts[1])
        return _Reply(404, _not_found(method, route))

    # -- the endpoints --------------------------------------------------------------------------

    def _get(self, batch_id: str) -> _Batch:
        b = self._batches.get(batch_id)
        if b is None:
            raise FilesError(404, f"No batch found with id '{batch_id}'.", param="batch_id")
        return b

    def _create(self, raw: bytes) -> _Reply:
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise FilesError(400, "We could not parse the JSON body of your request.")
        for name in ("input_file_id", "endpoint", "completion_window"):
            if name not in body:
                raise FilesError(
                    400,
                    f"Missing required parameter: '{name}'.",
                    param=name,
                    code="missing_required_parameter",
                )
        if body["endpoint"] not in ENDPOINTS:
            raise FilesError(
                400,
                f"Invalid value: '{body['endpoint']}'. Supported values are: "
                + ", ".join(f"'{e}'" for e in ENDPOINTS)
                + ".",
                param="endpoint",
                code="invalid_value",
            )
        if body["completion_window"] != "24h":
            raise FilesError(
                400,
                f"Invalid value: '{body['completion_window']}'. Supported values are: '24h'.",
                param="completion_window",
                code="invalid_value",
            )
        metadata = body.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or len(metadata) > 16
            or any(len(str(k)) > 64 or len(str(v)) > 512 for k, v in metadata.items())
        ):
            raise FilesError(
                400,
                "Invalid 'metadata': at most 16 pairs, keys up to 64 and values up to 512 "
                "characters.",
                param="metadata",
            )
        try:
            source = self.files.get(str(body["input_file_id"]))
        except FilesError:
            raise FilesError(
                400,
                f"Invalid 'input_file_id': '{body['input_file_id']}'. File does not exist.",
                param="input_file_id",
            ) from None
        if source.purpose != "batch":
            raise FilesError(
                400,
                f"The input file {source.id} must be uploaded with purpose 'batch' "
                f"(its purpose is '{source.purpose}').",
                param="input_file_id",
            )
        now = int(self.now())
        digest = hashlib.md5(f"{self.server.config.seed}:{self.created}".encode()).hexdigest()
        self.created += 1
        obj: dict[str, Any] = {
            "id": f"batch_{digest}",
            "object": "batch",
            "endpoint": body["endpoint"],
            "model": None,
            "errors": None,
            "input_file_id": source.id,
            "completion_window": "24h",
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": None,
            "expires_at": now + int(self.config.completion_window_s),
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "usage": None,
            "metadata": metadata,
        }
        script = self._scripts.popleft() if self._scripts else _Script()
        self._batches[obj["id"]] = _Batch(obj, source, script, next(self._order))
        return _Reply(200, copy.deepcopy(obj))

    def _listing(self, after: str | None, limit: int) -> dict[str, Any]:
        batches = sorted(self._batches.values(), key=lambda b: b.order, reverse=True)
        if after:
            ids = [b.obj["id"] for b in batches]
            batches = batches[ids.index(after) + 1 :] if after in ids else []
        page = [copy.deepcopy(b.obj) for b in batches[:limit]]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(batches) > limit,
        }

    def _cancel(self, batch_id: str) -> _Reply:
        b = self._get(batch_id)
        status = b.obj["status"]
        if status in ("completed", "failed", "expired"):
            raise FilesError(400, f"Cannot cancel a batch with status '{status}'.")
        if status not in ("cancelling", "cancelled"):
            b.obj["status"] = "cancelling"
            b.obj["cancelling_at"] = int(self.now())
        return _Reply(200, copy.deepcopy(b.obj))


def _odd_line(first: bytes, kind: str) -> bytes:
    """A line a real output file should never hold: the first line again with another
    answer (``repeat``), or a line for a ``custom_id`` no request had (``stranger``)."""
    row = json.loads(first)
    if kind == "stranger":
        row["custom_id"] = "stranger-" + str(row.get("custom_id"))
    row["id"] = str(row.get("id")) + "-again"
    body = (row.get("response") or {}).get("body") or {}
    for choice in body.get("choices") or []:
        choice["message"]["content"] = "not the answer to use"
    return (json.dumps(row) + "\n").encode()


def _limit(query: dict[str, str], cap: int) -> int:
    try:
        return max(1, min(cap, int(query.get("limit", "20"))))
    except ValueError:
        return 20


def _not_found(method: str, route: str) -> dict[str, Any]:
    return {
        "error": {
            "message": f"Invalid URL ({method} /v1{route})",
            "type": "invalid_request_error",
            "param": None,
            "code": None,
        }
    }
