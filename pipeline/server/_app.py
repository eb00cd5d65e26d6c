"""The fake OpenAI server itself: faults queued and ruled, routing, the chat endpoint and
its rate limits, admin endpoints. The wire is :mod:`pipeline.server._http`'s."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import hashlib
import json
import math
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from pipeline.server._batches import BatchEngine
from pipeline.server._config import ServerConfig
from pipeline.server._faults import (
    _CONTENT_FAULTS,
    _DEFAULT,
    _ERRORS,
    _SILENT_FAULTS,
    Fault,
    Match,
    _as_fault,
    _damage,
    _error_body,
    _mask,
    _Rule,
    user_contains,
)
from pipeline.server._http import _HTTPServer, _Reply
from pipeline.server._limits import _Bucket, _retry_headers, format_duration
from pipeline.server._request import _estimate_tokens, _response_format_type
from pipeline.server._responders import Responder, ResponderError, _default_responder
from pipeline.server._stats import RequestRecord, ServerStats


class FakeOpenAIServer(_HTTPServer):
    """The server, run by an asyncio loop in a daemon thread; a context manager.

    ``base_url`` ends in ``/v1``. ``enqueue`` and ``add_rule`` may be called while it runs.
    """

    def __init__(
        self,
        config: ServerConfig | None = None,
        *,
        responder: Responder | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.config = config or ServerConfig()
        self.responder: Responder = responder or _default_responder
        self.host, self.port = host, port
        self.stats = ServerStats(self.config.keep_requests)
        self._lock = threading.Lock()
        self._queue: deque[Fault] = deque()
        self._rules: list[_Rule] = []
        self._chat_index = 0
        self._fault_rng = random.Random(f"{self.config.seed}:faults")
        self._latency_rng = random.Random(f"{self.config.seed}:latency")
        cfg = self.config
        self._rpm = _Bucket(cfg.rpm or 1_000_000, cfg.burst_window_s)
        self._tpm = _Bucket(cfg.tpm or 1_000_000_000, cfg.burst_window_s)
        self._org = cfg.canary_headers.get("openai-organization", "org-fakeserver0000000000")
        self._date = ("", 0)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stop_evt: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._conns: set[asyncio.Task[Any]] = set()
        #: the Batch and Files APIs (``/v1/batches``, ``/v1/files``): see ``_batches``
        self.batches = BatchEngine(self, self.config.batch)

    # -- public API ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def enqueue(self, *faults: str | Fault) -> None:
        """Apply these faults, in order, to the next chat requests ("ok" passes one through)."""
        with self._lock:
            self._queue.extend(_as_fault(f) for f in faults)

    def add_rule(
        self,
        match: Match | str | None,
        fault: str | Fault,
        *,
        times: int | None = None,
        indices: Iterable[int] | None = None,
    ) -> None:
        """Fault every chat request that ``match``es (a str: a user message holds it) and, if
        given, whose 0-based chat index is in ``indices``; at most ``times`` times."""
        m = user_contains(match) if isinstance(match, str) else match
        idx = frozenset(indices) if indices is not None else None
        with self._lock:
            self._rules.append(_Rule(m, _as_fault(fault), times, idx))

    def clear_faults(self) -> None:
        with self._lock:
            self._queue.clear()
            self._rules.clear()

    def start(self) -> FakeOpenAIServer:
        if self._thread is not None:
            return self
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="fake-openai-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            self._thread.join(5)
            self._thread = None
            raise self._error
        return self

    def stop(self) -> None:
        loop, evt, thread = self._loop, self._stop_evt, self._thread
        if thread is None:
            return
        if loop is not None and evt is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(evt.set)
        thread.join(10)
        self._thread = None

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- routing ------------------------------------------------------------------------------

    def _body_limit(self, method: str, path: str) -> int:
        route = path[3:] if path.startswith("/v1/") else path
        if method == "POST" and route == "/files" and self.config.batch.enabled:
            # a Batch API input file may be 200 MB: room for it and its multipart framing
            return max(self.config.max_body_bytes, self.config.batch.max_file_bytes + (1 << 20))
        return self.config.max_body_bytes

    async def _route(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> _Reply:
        route = path[3:] if path.startswith("/v1/") else path
        if path.startswith("/_fake/") and self.config.admin_endpoints:
            return self._admin(method, path, raw)
        files_api = route.startswith(("/files", "/batches"))
        body: Any = None
        if files_api and method == "POST" and route == "/files":
            body = f"<multipart upload, {len(raw)} bytes>"
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
        rec = self.stats._begin(method, path, headers, body)
        started = time.monotonic()
        reply = _Reply(404, _error_body(f"Invalid URL ({method} {path})"))
        try:
            if files_api:
                reply = await self.batches.handle(method, route, headers, raw)
            elif method == "POST" and route == "/chat/completions":
                reply = await self._chat(rec, headers, body)
            elif method == "GET" and route == "/models":
                reply = _Reply(200, {"object": "list", "data": [self._model_obj()]})
            elif method == "GET" and route.startswith("/models/"):
                reply = _Reply(200, self._model_obj(route[len("/models/") :]))
        except Exception as e:  # a responder bug: answer 500, count it, keep serving
            with self.stats._lock:
                self.stats.responder_errors += 1
            reply = _Reply(500, _error_body(f"responder failed: {e!r}", type="server_error"))
        except asyncio.CancelledError:  # the server stopped while this request waited
            reply = _Reply(action="drop")
            raise
        finally:
            status = reply.status if reply.action in ("send", "drip") else None
            self.stats._end(rec, status)
        if reply.action in ("send", "drip"):
            reply.headers = {**self._limit_headers(), **reply.headers}
            reply.headers["x-request-id"] = (
                "req_" + hashlib.md5(f"{self.config.seed}:{rec.index}".encode()).hexdigest()
            )
            reply.headers["openai-processing-ms"] = str(int((time.monotonic() - started) * 1000))
            reply.headers["openai-version"] = "2020-10-01"
        return reply

    def _admin(self, method: str, path: str, raw: bytes) -> _Reply:
        if path == "/_fake/stats":
            return _Reply(200, self.stats.snapshot())
        if method == "POST" and path == "/_fake/reset":
            self.stats.reset()
            self.clear_faults()
            return _Reply(200, {"ok": True})
        if method == "POST" and path == "/_fake/faults":
            try:
                self.enqueue(*json.loads(raw or b"{}").get("enqueue", []))
            except (ValueError, AttributeError, TypeError) as e:
                return _Reply(400, _error_body(str(e)))
            return _Reply(200, {"queued": len(self._queue)})
        return _Reply(404, _error_body(f"Invalid URL ({method} {path})"))

    async def _chat(self, rec: RequestRecord, headers: dict[str, str], body: Any) -> _Reply:
        cfg = self.config
        with self.stats._lock:
            self.stats.chat_requests += 1
        if not isinstance(body, dict):
            return _Reply(
                400,
                _error_body(
                    "We could not parse the JSON body of your request. (HINT: This likely means "
                    "you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
                    "payload, but what was sent was not valid JSON.)"
                ),
            )
        index, self._chat_index = self._chat_index, self._chat_index + 1
        model = cfg.model_name or str(body.get("model", "builtin"))
        auth = headers.get("authorization", "")
        key = auth[7:] if auth.lower().startswith("bearer ") else ""
        if cfg.require_api_key is not None and key != cfg.require_api_key:
            return self._fault_reply(Fault("unauthorized"), model, key=key)
        fault, commit = self._pick_fault(body, index)
        prompt, budget = _estimate_tokens(body, cfg.default_max_tokens)
        rec.tokens = prompt + budget
        if fault is not None and fault.kind in _ERRORS:
            commit()
            rec.fault = fault.kind
            return await self._delayed(self._fault_reply(fault, model, key=key, body=body))
        if fault is not None and fault.kind in _SILENT_FAULTS:
            commit()
            rec.fault = fault.kind
            hang = fault.hang_s if fault.hang_s is not None else cfg.hang_s
            return _Reply(action=fault.kind, hang_s=hang)  # type: ignore[arg-type]
        limited = self._admit(rec.tokens, model)
        if limited is not None:
            return limited
        commit()
        if fault is not None and fault.kind != "ok":
            rec.fault = fault.kind
        if fault is not None and fault.kind == "slow":
            await asyncio.sleep(fault.hang_s if fault.hang_s is not None else cfg.hang_s)
        if body.get("stream"):
            return await self._delayed(
                _Reply(
                    400,
                    _error_body(
                        "Streaming is not supported by this server; send stream: false.",
                        param="stream",
                        code="unsupported_parameter",
                    ),
                )
            )
        if self._refuses_format(body):
            return await self._delayed(
                self._fault_reply(Fault("unsupported_response_format"), model, body=body)
            )
        try:
            completion = self.responder(body)
        except ResponderError as e:
            err = _error_body(e.message, type=e.type, param=e.param, code=e.code)
            return await self._delayed(_Reply(e.status, err))
        if fault is not None and fault.kind in _CONTENT_FAULTS:
            completion = copy.deepcopy(completion)  # the responder may hand out a shared dict
            _damage(fault.kind, completion, body)
        if cfg.model_name:
            completion = {**completion, "model": cfg.model_name}
        if fault is not None and fault.kind == "drip":
            gap = fault.hang_s if fault.hang_s is not None else 1.0
            return await self._delayed(_Reply(200, completion, action="drip", hang_s=gap))
        return await self._delayed(_Reply(200, completion))

    async def _delayed(self, reply: _Reply) -> _Reply:
        cfg = self.config
        delay = cfg.latency_s + (self._latency_rng.uniform(0, cfg.jitter_s) if cfg.jitter_s else 0)
        if delay > 0:
            await asyncio.sleep(delay)
        return reply

    def _pick_fault(
        self, body: dict[str, Any], index: int
    ) -> tuple[Fault | None, Callable[[], None]]:
        """The fault for this request and a function that consumes it (called once applied)."""
        with self._lock:
            if self._queue:
                fault = self._queue[0]
                return fault, lambda: self._consume_queued(fault)
            for rule in self._rules:
                if rule.times is not None and rule.times <= 0:
                    continue
                if rule.indices is not None and index not in rule.indices:
                    continue
                if rule.match is not None and not rule.match(body):
                    continue
                return rule.fault, lambda r=rule: self._consume_rule(r)
        if self.config.fault_rate:
            draw = self._fault_rng.random()
            for kind, p in self.config.fault_rate.items():
                if draw < p:
                    return Fault(kind), lambda: None
                draw -= p
        return None, lambda: None

    def _consume_queued(self, fault: Fault) -> None:
        with self._lock:
            if self._queue and self._queue[0] is fault:
                self._queue.popleft()

    def _consume_rule(self, rule: _Rule) -> None:
        with self._lock:
            if rule.times is not None:
                rule.times -= 1

    # -- rate limits --------------------------------------------------------------------------

    def _admit(self, tokens: int, model: str) -> _Reply | None:
        """Take one request and ``tokens`` from the buckets, or answer 429."""
        now = time.monotonic()
        rpm, tpm = self._rpm, self._tpm
        rpm.refill(now)
        tpm.refill(now)
        wait_r, wait_t = rpm.wait(1), tpm.wait(tokens)
        if wait_r <= 0 and wait_t <= 0:
            rpm.level -= 1
            tpm.level -= tokens
            with self.stats._lock:
                self.stats.tokens += tokens
            return None
        with self.stats._lock:
            self.stats.rate_limited += 1
        org = self._org
        if wait_t == math.inf:
            msg = (
                f"Request too large for {model} in organization {org} on tokens per min (TPM): "
                f"Limit {tpm.limit}, Requested {tokens}. The input or output tokens must be "
                "reduced in order to run successfully. Visit "
                "https://platform.openai.com/account/rate-limits to learn more."
            )
            return _Reply(429, _error_body(msg, type="tokens", code="rate_limit_exceeded"))
        if wait_r >= wait_t:
            kind, per, limit, used, asked, wait = "requests", "RPM", rpm.limit, rpm, 1, wait_r
        else:
            kind, per, limit, used, asked, wait = "tokens", "TPM", tpm.limit, tpm, tokens, wait_t
        msg = (
            f"Rate limit reached for {model} in organization {org} on {kind} per min ({per}): "
            f"Limit {limit}, Used {int(used.capacity - used.level)}, Requested {asked}. "
            f"Please try again in {format_duration(wait)}. Visit "
            "https://platform.openai.com/account/rate-limits to learn more."
        )
        return _Reply(
            429,
            _error_body(msg, type=kind, code="rate_limit_exceeded"),
            _retry_headers(wait),
        )

    def _limit_headers(self) -> dict[str, str]:
        now = time.monotonic()
        self._rpm.refill(now)
        self._tpm.refill(now)
        return {
            "x-ratelimit-limit-requests": str(self._rpm.limit),
            "x-ratelimit-limit-tokens": str(self._tpm.limit),
            "x-ratelimit-remaining-requests": str(max(0, int(self._rpm.level))),
            "x-ratelimit-remaining-tokens": str(max(0, int(self._tpm.level))),
            "x-ratelimit-reset-requests": format_duration(self._rpm.reset_s()),
            "x-ratelimit-reset-tokens": format_duration(self._tpm.reset_s()),
        }

    # -- bodies -------------------------------------------------------------------------------

    def _refuses_format(self, body: dict[str, Any]) -> bool:
        """Whether this server lacks the structured-output mode ``body`` asks for (as a
        request of its own, or as a line of a batch)."""
        cfg, rf = self.config, _response_format_type(body)
        return (rf == "json_schema" and (cfg.reject_json_schema or cfg.reject_json_object)) or (
            rf == "json_object" and cfg.reject_json_object
        )

    def _fault_reply(
        self, fault: Fault, model: str, *, key: str = "", body: dict[str, Any] | None = None
    ) -> _Reply:
        status, type_, param, code, template = _ERRORS[fault.kind]
        retry = fault.retry_after_s
        if retry == _DEFAULT:
            retry = self.config.rate_limit_retry_after_s if fault.kind == "rate_limit" else None
        assert not isinstance(retry, str)
        message = fault.message or template.format(
            model=model,
            org=self._org,
            rpm=self._rpm.limit,
            wait=format_duration(retry or 0.0),
            key=_mask(key),
            rf=_response_format_type(body or {}) or "json_schema",
        )
        if fault.kind == "unauthorized" and not key and not fault.message:
            code, message = (
                None,
                (
                    "You didn't provide an API key. You need to provide your API key in an "
                    "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
                ),
            )
        payload: Any = _error_body(message, type=type_, param=param, code=code)
        if fault.kind == "unsupported_response_format":
            payload = self._styled_format_error(message)
        return _Reply(status, payload, _retry_headers(retry) if retry is not None else {})

    def _styled_format_error(self, message: str) -> dict[str, Any]:
        style = self.config.error_style
        if style == "vllm":  # vLLM's legacy top-level body; the SDK falls back to it
            return {
                "object": "error",
                "message": message,
                "type": "BadRequestError",
                "param": None,
                "code": 400,
            }
        if style == "ollama":
            return _error_body(message)
        return _error_body(message, param="response_format")

    def _model_obj(self, name: str | None = None) -> dict[str, Any]:
        return {
            "id": name or self.config.model_name or "builtin",
            "object": "model",
            "created": 1_700_000_000,
            "owned_by": "summarise",
        }
