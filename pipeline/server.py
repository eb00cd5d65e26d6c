"""A fault-injecting, OpenAI-compatible Chat Completions server on 127.0.0.1.

Tests, benchmarks and cassette recording point the real ``openai`` SDK at it::

    with FakeOpenAIServer(ServerConfig(rpm=60), responder=my_responder) as srv:
        client = openai.OpenAI(base_url=srv.base_url, api_key="test-key", max_retries=0)
        srv.enqueue("rate_limit", "ok", "server_error")      # the next three requests
        srv.add_rule("FAIL-ME", "truncated")                  # user message containing a marker
        ...
        assert srv.stats.by_status[429] == 1

or from a shell: ``python -m pipeline.server --port 8765 --rpm 500 --fault-rate rate_limit=0.05``.

Endpoints: ``POST /v1/chat/completions`` (also ``/chat/completions``), ``GET /v1/models``
(and ``/v1/models/{id}``); ``GET /_fake/stats``, ``POST /_fake/faults`` (``{"enqueue": [...]}``)
and ``POST /_fake/reset`` let a benchmark drive a server running in another process.

Why asyncio and not ``ThreadingHTTPServer``: one event-loop thread holds any number of
keep-alive connections, a latency sleep or a hang costs a timer rather than a thread, a hang
ends the moment the server stops (its task is cancelled), and on a 2-core machine shared with
the client under test there are no hundreds of threads fighting for the GIL. The HTTP/1.1 layer
is the small subset clients use: Content-Length or chunked request bodies, keep-alive,
``Expect: 100-continue``; every response carries a Content-Length.

Answers come from a *responder* (``body -> chat.completion dict``): by default the project's
built-in model (``pipeline.builtin.chat_completion``, imported lazily), else
:func:`stub_responder`, which fills the requested JSON schema from the user message.

Where each request goes, in order: API key check (401) -> a scripted fault (queue FIFO, then
rules, then the seeded random mix) -> the RPM/TPM token buckets (429) -> request checks
(``stream``, unsupported ``response_format``) -> the responder -> content faults.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import functools
import hashlib
import json
import math
import random
import select
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from types import TracebackType
from typing import Any, Literal

__all__ = [
    "FAULT_KINDS",
    "FakeOpenAIServer",
    "Fault",
    "RequestRecord",
    "ResponderError",
    "ServerConfig",
    "ServerStats",
    "format_duration",
    "ServerProcess",
    "main",
    "memoize",
    "serve",
    "stub_responder",
    "user_contains",
]

Responder = Callable[[dict[str, Any]], dict[str, Any]]
Match = Callable[[dict[str, Any]], bool]
ErrorStyle = Literal["openai", "vllm", "ollama"]

# Faults answered with an error body: kind -> (status, type, param, code, message template).
_ERRORS: dict[str, tuple[int, str, str | None, str | None, str]] = {
    "rate_limit": (
        429,
        "requests",
        None,
        "rate_limit_exceeded",
        "Rate limit reached for {model} in organization {org} on requests per min (RPM): "
        "Limit {rpm}, Used {rpm}, Requested 1. Please try again in {wait}. Visit "
        "https://platform.openai.com/account/rate-limits to learn more.",
    ),
    "insufficient_quota": (
        429,
        "insufficient_quota",
        None,
        "insufficient_quota",
        "You exceeded your current quota, please check your plan and billing details. For more "
        "information on this error, read the docs: "
        "https://platform.openai.com/docs/guides/error-codes/api-errors.",
    ),
    "server_error": (
        500,
        "server_error",
        None,
        None,
        "The server had an error while processing your request. Sorry about that!",
    ),
    "unavailable": (
        503,
        "server_error",
        None,
        None,
        "The engine is currently overloaded, please try again later.",
    ),
    "unauthorized": (
        401,
        "invalid_request_error",
        None,
        "invalid_api_key",
        "Incorrect API key provided: {key}. You can find your API key at "
        "https://platform.openai.com/account/api-keys.",
    ),
    "forbidden": (
        403,
        "invalid_request_error",
        None,
        "unsupported_country_region_territory",
        "Country, region, or territory not supported",
    ),
    "bad_request": (
        400,
        "invalid_request_error",
        "messages",
        None,
        "Invalid 'messages': the request could not be processed.",
    ),
    "not_found": (
        404,
        "invalid_request_error",
        None,
        "model_not_found",
        "The model `{model}` does not exist or you do not have access to it.",
    ),
    "timeout_408": (408, "timeout", None, None, "Request timed out."),
    "conflict_409": (
        409,
        "invalid_request_error",
        None,
        "conflict",
        "Another request with the same key is already in progress. Please try again.",
    ),
    "unsupported_response_format": (
        400,
        "invalid_request_error",
        "response_format",
        None,
        "Invalid parameter: 'response_format' of type '{rf}' is not supported with this model.",
    ),
}
# Faults answered 200 with a damaged completion.
_CONTENT_FAULTS = (
    "malformed_json",
    "fenced_json",
    "schema_invalid",
    "truncated",
    "refusal",
    "content_filter",
)
# Faults that never answer: "hang" sleeps then closes, "drop" closes at once.
_SILENT_FAULTS = ("hang", "drop")
#: Every fault kind; "ok" passes a request through untouched, "slow" answers after ``hang_s``.
FAULT_KINDS: tuple[str, ...] = ("ok", "slow") + tuple(_ERRORS) + _CONTENT_FAULTS + _SILENT_FAULTS
_REASONS = {
    100: "Continue",
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    408: "Request Timeout",
    409: "Conflict",
    413: "Payload Too Large",
    429: "Too Many Requests",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_DEFAULT: Literal["default"] = "default"


@dataclass(frozen=True)
class Fault:
    """One injected fault. ``retry_after_s``: "default" takes the config's value (for 429s),
    None sends no retry-after headers. ``hang_s`` overrides the config for hang/slow."""

    kind: str
    retry_after_s: float | None | Literal["default"] = _DEFAULT
    hang_s: float | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose from {FAULT_KINDS}")


@dataclass
class ServerConfig:
    """How the server behaves. Limits of None mean no limit (headers report a nominal one)."""

    rpm: int | None = None
    tpm: int | None = None
    #: seconds' worth of the per-minute limit the buckets hold (60: a full minute may burst)
    burst_window_s: float = 60.0
    latency_s: float = 0.0
    jitter_s: float = 0.0
    seed: int = 0
    require_api_key: str | None = None
    canary_headers: dict[str, str] = field(default_factory=dict)
    reject_json_schema: bool = False
    #: a server with no JSON mode at all: rejects json_object *and* json_schema
    reject_json_object: bool = False
    error_style: ErrorStyle = "openai"
    fault_rate: dict[str, float] = field(default_factory=dict)
    hang_s: float = 30.0
    #: retry-after for injected rate_limit faults; None sends no retry-after headers
    rate_limit_retry_after_s: float | None = 0.1
    model_name: str | None = None
    #: output tokens counted against TPM when a request sets no max_tokens
    default_max_tokens: int = 0
    keep_requests: int = 1000
    max_body_bytes: int = 32 * 1024 * 1024
    backlog: int = 2048
    admin_endpoints: bool = True

    def __post_init__(self) -> None:
        for kind, p in self.fault_rate.items():
            Fault(kind)
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"fault rate for {kind} must be within 0..1, not {p}")
        if sum(self.fault_rate.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates add up to more than 1")


class ResponderError(Exception):
    """A responder's refusal of a request, answered with OpenAI's error body."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 400,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.type, self.param, self.code = (
            message,
            status,
            type,
            param,
            code,
        )


@dataclass
class RequestRecord:
    """One request as received. ``status`` is None while in flight or when hung/dropped."""

    index: int
    t: float
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    tokens: int = 0
    status: int | None = None
    fault: str | None = None


class ServerStats:
    """Counters for tests and benchmarks; read from any thread (``snapshot()`` is consistent)."""

    def __init__(self, keep: int) -> None:
        self._lock = threading.Lock()
        self._keep = keep
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self.started = time.monotonic()
            self.total = 0
            self.chat_requests = 0
            self.rate_limited = 0
            self.tokens = 0
            self.by_status: Counter[int] = Counter()
            self.by_fault: Counter[str] = Counter()
            self.by_path: Counter[str] = Counter()
            self.arrivals: list[float] = []
            self.in_flight = 0
            self.max_in_flight = 0
            self.connections = 0
            self.responder_errors = 0
            self.requests: deque[RequestRecord] = deque(maxlen=self._keep)

    def _begin(self, method: str, path: str, headers: dict[str, str], body: Any) -> RequestRecord:
        with self._lock:
            now = time.monotonic()
            rec = RequestRecord(self.total, now, method, path, headers, body)
            self.total += 1
            self.by_path[path] += 1
            self.arrivals.append(now)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.requests.append(rec)
            return rec

    def _end(self, rec: RequestRecord, status: int | None) -> None:
        with self._lock:
            rec.status = status
            self.in_flight -= 1
            if status is not None:
                self.by_status[status] += 1
            if rec.fault is not None:
                self.by_fault[rec.fault] += 1

    def records(self) -> list[RequestRecord]:
        """The kept requests (the last ``keep_requests``), oldest first."""
        with self._lock:
            return list(self.requests)

    def bodies(self) -> list[Any]:
        """The JSON bodies of the kept requests, oldest first."""
        with self._lock:
            return [r.body for r in self.requests]

    def arrival_offsets(self) -> list[float]:
        """Seconds from the first request's arrival to each request's arrival."""
        with self._lock:
            return [t - self.arrivals[0] for t in self.arrivals]

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "total": self.total,
                "chat_requests": self.chat_requests,
                "rate_limited": self.rate_limited,
                "tokens": self.tokens,
                "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                "by_fault": dict(sorted(self.by_fault.items())),
                "by_path": dict(self.by_path),
                "in_flight": self.in_flight,
                "max_in_flight": self.max_in_flight,
                "connections": self.connections,
                "responder_errors": self.responder_errors,
                "uptime_s": round(time.monotonic() - self.started, 3),
            }


def format_duration(seconds: float) -> str:
    """OpenAI's reset-header format: "120ms", "1s", "17.28s", "6m0s", "1m30.5s", "1h2m3s"."""
    ms = max(0, math.ceil(seconds * 1000 - 1e-6))
    if ms < 1000:
        return f"{ms}ms" if ms else "0s"
    h, rest = divmod(ms, 3_600_000)
    m, rest = divmod(rest, 60_000)
    s = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if h:
        return f"{h}h{m}m{s}"
    return f"{m}m{s}" if m else s


class _Bucket:
    """A token bucket refilling continuously at ``per_min / 60`` per second."""

    def __init__(self, per_min: int, burst_window_s: float) -> None:
        self.limit = per_min
        self.rate = per_min / 60.0
        self.capacity = max(1.0, self.rate * burst_window_s)
        self.level = self.capacity
        self.t = time.monotonic()

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.t) * self.rate)
        self.t = now

    def wait(self, n: float) -> float:
        """Seconds until ``n`` fit (inf if they never will)."""
        if n > self.capacity:
            return math.inf
        return max(0.0, (n - self.level) / self.rate)

    def reset_s(self) -> float:
        return (self.capacity - self.level) / self.rate


def user_contains(text: str) -> Match:
    """A rule matcher: some user message holds ``text``."""

    def match(body: dict[str, Any]) -> bool:
        return any(
            m.get("role") == "user" and text in _content_text(m.get("content"))
            for m in _messages(body)
        )

    return match


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    msgs = body.get("messages")
    return [m for m in msgs if isinstance(m, dict)] if isinstance(msgs, list) else []


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _estimate_tokens(body: dict[str, Any], default_max: int) -> tuple[int, int]:
    """(prompt tokens as characters/4, the output budget counted against TPM)."""
    chars = sum(len(_content_text(m.get("content"))) for m in _messages(body))
    out = body.get("max_completion_tokens", body.get("max_tokens"))
    return math.ceil(chars / 4), out if isinstance(out, int) and out > 0 else default_max


def _response_format_type(body: dict[str, Any]) -> str | None:
    rf = body.get("response_format")
    return str(rf.get("type")) if isinstance(rf, dict) else None


def _json_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    rf = body.get("response_format")
    if isinstance(rf, dict) and isinstance(rf.get("json_schema"), dict):
        schema = rf["json_schema"].get("schema")
        return schema if isinstance(schema, dict) else None
    return None


def _instance(schema: dict[str, Any], root: dict[str, Any], text: str) -> Any:
    """A small value that satisfies ``schema`` (the strict-mode subset and lengths/counts)."""
    if "$ref" in schema:
        ref = str(schema["$ref"]).rsplit("/", 1)[-1]
        return _instance(root.get("$defs", root.get("definitions", {})).get(ref, {}), root, text)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            options = [s for s in schema[key] if s.get("type") != "null"] or schema[key]
            return _instance(options[0], root, text)
    types = schema.get("type", "object")
    kind = next((t for t in types if t != "null"), "null") if isinstance(types, list) else types
    if kind == "object":
        props: dict[str, Any] = schema.get("properties", {})
        return {k: _instance(v, root, text) for k, v in props.items()}
    if kind == "array":
        item = schema.get("items", {"type": "string"})
        return [_instance(item, root, text) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "string":
        lo, hi = schema.get("minLength", 0), schema.get("maxLength", 200)
        s = " ".join(text.split())[:hi] or "n/a"
        return (s + " " * lo)[: max(lo, len(s))] if len(s) < lo else s
    if kind in ("integer", "number"):
        return schema.get("minimum", 0)
    if kind == "boolean":
        return False
    return None


def stub_responder(body: dict[str, Any]) -> dict[str, Any]:
    """A tiny deterministic responder: fills the requested JSON schema (or a JSON object, or
    plain text) from the start of the last user message. Not a summariser."""
    users = [m for m in _messages(body) if m.get("role") == "user"]
    text = _content_text(users[-1].get("content")) if users else ""
    schema = _json_schema(body)
    if schema is not None:
        content = json.dumps(_instance(schema, schema, text))
    elif _response_format_type(body) == "json_object":
        content = json.dumps({"summary": " ".join(text.split())[:200]})
    else:
        content = " ".join(text.split())[:200]
    prompt, _ = _estimate_tokens(body, 0)
    completion = math.ceil(len(content) / 4)
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
    return {
        "id": f"chatcmpl-{digest}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": str(body.get("model", "stub")),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
        },
    }


def memoize(responder: Responder, maxsize: int = 4096) -> Responder:
    """``responder`` with its answers cached by request body: benchmarks that send the same
    articles again and again measure the client, not the built-in model (~9 ms an article)."""

    @functools.lru_cache(maxsize=maxsize)
    def cached(key: str) -> dict[str, Any]:
        return responder(json.loads(key))

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        return cached(json.dumps(body, sort_keys=True))

    return answer


def _default_responder(body: dict[str, Any]) -> dict[str, Any]:
    try:
        from pipeline import builtin
    except ImportError:
        return stub_responder(body)
    try:
        return builtin.chat_completion(body)
    except builtin.BuiltinBadRequest as e:
        raise ResponderError(
            str(getattr(e, "message", e)),
            param=getattr(e, "param", None),
            code=getattr(e, "code", None),
        ) from e


def _damage(kind: str, completion: dict[str, Any], body: dict[str, Any]) -> None:
    """Apply a content fault to ``completion`` in place."""
    choice = completion["choices"][0]
    msg = choice["message"]
    content = msg.get("content") or ""
    if kind == "malformed_json":
        msg["content"] = "Sure! Here is the summary you asked for:\n" + content[: len(content) // 2]
    elif kind == "fenced_json":
        msg["content"] = f"```json\n{content}\n```"
    elif kind == "truncated":
        msg["content"] = content[: max(1, len(content) // 2)] if content else '{"'
        choice["finish_reason"] = "length"
        _, budget = _estimate_tokens(body, 0)
        if budget and isinstance(completion.get("usage"), dict):
            usage = completion["usage"]
            usage["completion_tokens"] = budget
            usage["total_tokens"] = usage.get("prompt_tokens", 0) + budget
    elif kind == "refusal":
        msg["content"] = None
        msg["refusal"] = "I'm sorry, but I can't assist with that request."
    elif kind == "content_filter":
        msg["content"] = None
        choice["finish_reason"] = "content_filter"
    elif kind == "schema_invalid":
        msg["content"] = json.dumps(_break_schema(content, _json_schema(body)))


def _break_schema(content: str, schema: dict[str, Any] | None) -> Any:
    """Drop the first required field and give the next field a wrong type."""
    try:
        data = json.loads(content)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not data:
        return {"unexpected": 1}
    required = [k for k in (schema or {}).get("required", []) if k in data] or list(data)
    data.pop(required[0])
    for key, value in data.items():
        data[key] = 12345 if isinstance(value, str) else "not-the-right-type"
        break
    return data


@dataclass
class _Reply:
    status: int = 200
    payload: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    action: Literal["send", "drop", "hang"] = "send"
    hang_s: float = 0.0


@dataclass
class _Rule:
    match: Match | None
    fault: Fault
    times: int | None
    indices: frozenset[int] | None


class FakeOpenAIServer:
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

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as e:  # a bind error: start() re-raises it
            self._error = e
        finally:
            self._ready.set()
            loop.close()

    async def _main(self) -> None:
        self._stop_evt = asyncio.Event()
        server = await asyncio.start_server(
            self._connection, self.host, self.port, backlog=self.config.backlog
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            await self._stop_evt.wait()
        finally:
            server.close()
            for task in list(self._conns):
                task.cancel()
            await asyncio.gather(*self._conns, return_exceptions=True)
            await server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._conns.add(task)
        with self.stats._lock:
            self.stats.connections += 1
        try:
            while await self._one_request(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            self._conns.discard(task)
            writer.close()

    async def _one_request(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        """Serve one request; False when the connection should close."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        except asyncio.LimitOverrunError:
            self._write(writer, _Reply(431, self._error_body("Request headers too large")), False)
            return False
        lines = head.decode("latin-1").split("\r\n")
        try:
            method, target, version = lines[0].split(" ", 2)
        except ValueError:
            return False
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        conn = headers.get("connection", "").lower()
        keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
        if headers.get("expect", "").lower() == "100-continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if "chunked" in headers.get("transfer-encoding", "").lower():
            raw = await _read_chunked(reader, self.config.max_body_bytes)
        else:
            length = int(headers.get("content-length", "0") or 0)
            if length > self.config.max_body_bytes:
                self._write(writer, _Reply(413, self._error_body("Request too large")), False)
                return False
            raw = await reader.readexactly(length) if length else b""
        if raw is None:
            self._write(writer, _Reply(413, self._error_body("Request too large")), False)
            return False
        path = target.split("?", 1)[0]
        reply = await self._route(method, path, headers, raw)
        if reply.action == "hang":
            await asyncio.sleep(reply.hang_s)
            return False
        if reply.action == "drop":
            return False
        self._write(writer, reply, keep_alive)
        await writer.drain()
        return keep_alive

    def _write(self, writer: asyncio.StreamWriter, reply: _Reply, keep_alive: bool) -> None:
        data = json.dumps(reply.payload).encode()
        now = int(time.time())
        if self._date[1] != now:
            self._date = (formatdate(now, usegmt=True), now)
        head = [
            f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Unknown')}",
            "content-type: application/json",
            f"content-length: {len(data)}",
            f"date: {self._date[0]}",
            f"connection: {'keep-alive' if keep_alive else 'close'}",
        ]
        head += [f"{k}: {v}" for k, v in {**self.config.canary_headers, **reply.headers}.items()]
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + data)

    # -- routing ------------------------------------------------------------------------------

    async def _route(self, method: str, path: str, headers: dict[str, str], raw: bytes) -> _Reply:
        route = path[3:] if path.startswith("/v1/") else path
        if path.startswith("/_fake/") and self.config.admin_endpoints:
            return self._admin(method, path, raw)
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = self.stats._begin(method, path, headers, body)
        started = time.monotonic()
        reply = _Reply(404, self._error_body(f"Invalid URL ({method} {path})"))
        try:
            if method == "POST" and route == "/chat/completions":
                reply = await self._chat(rec, headers, body)
            elif method == "GET" and route == "/models":
                reply = _Reply(200, {"object": "list", "data": [self._model_obj()]})
            elif method == "GET" and route.startswith("/models/"):
                reply = _Reply(200, self._model_obj(route[len("/models/") :]))
        except Exception as e:  # a responder bug: answer 500, count it, keep serving
            with self.stats._lock:
                self.stats.responder_errors += 1
            reply = _Reply(500, self._error_body(f"responder failed: {e!r}", type="server_error"))
        finally:
            status = reply.status if reply.action == "send" else None
            self.stats._end(rec, status)
        if reply.action == "send":
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
                return _Reply(400, self._error_body(str(e)))
            return _Reply(200, {"queued": len(self._queue)})
        return _Reply(404, self._error_body(f"Invalid URL ({method} {path})"))

    async def _chat(self, rec: RequestRecord, headers: dict[str, str], body: Any) -> _Reply:
        cfg = self.config
        with self.stats._lock:
            self.stats.chat_requests += 1
        if not isinstance(body, dict):
            return _Reply(
                400,
                self._error_body(
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
                    self._error_body(
                        "Streaming is not supported by this server; send stream: false.",
                        param="stream",
                        code="unsupported_parameter",
                    ),
                )
            )
        rf = _response_format_type(body)
        if (rf == "json_schema" and (cfg.reject_json_schema or cfg.reject_json_object)) or (
            rf == "json_object" and cfg.reject_json_object
        ):
            return await self._delayed(
                self._fault_reply(Fault("unsupported_response_format"), model, body=body)
            )
        try:
            completion = self.responder(body)
        except ResponderError as e:
            err = self._error_body(e.message, type=e.type, param=e.param, code=e.code)
            return await self._delayed(_Reply(e.status, err))
        if fault is not None and fault.kind in _CONTENT_FAULTS:
            completion = copy.deepcopy(completion)  # the responder may hand out a shared dict
            _damage(fault.kind, completion, body)
        if cfg.model_name:
            completion = {**completion, "model": cfg.model_name}
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
            return _Reply(429, self._error_body(msg, type="tokens", code="rate_limit_exceeded"))
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
            self._error_body(msg, type=kind, code="rate_limit_exceeded"),
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

    def _error_body(
        self,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> dict[str, Any]:
        return {"error": {"message": message, "type": type, "param": param, "code": code}}

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
        payload: Any = self._error_body(message, type=type_, param=param, code=code)
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
            return self._error_body(message)
        return self._error_body(message, param="response_format")

    def _model_obj(self, name: str | None = None) -> dict[str, Any]:
        return {
            "id": name or self.config.model_name or "builtin",
            "object": "model",
            "created": 1_700_000_000,
            "owned_by": "summarise",
        }


def _as_fault(f: str | Fault) -> Fault:
    return f if isinstance(f, Fault) else Fault(f)


def _mask(key: str) -> str:
    return key[:3] + "*" * (len(key) - 7) + key[-4:] if len(key) > 10 else "*" * len(key)


def _retry_headers(seconds: float) -> dict[str, str]:
    return {
        "retry-after": str(max(1, math.ceil(seconds))),
        "retry-after-ms": str(max(1, math.ceil(seconds * 1000))),
    }


async def _read_chunked(reader: asyncio.StreamReader, limit: int) -> bytes | None:
    parts: list[bytes] = []
    size_total = 0
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0].strip(), 16)
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        size_total += size
        if size_total > limit:
            return None
        parts.append(await reader.readexactly(size))
        await reader.readexactly(2)


class ServerProcess:
    """The command-line server in a child process, so that it shares no GIL with the client
    under test (for benchmarks). Arguments are ``python -m pipeline.server``'s; ``--port 0``
    is the default. ``stats()`` and ``enqueue()`` use the ``/_fake/`` endpoints."""

    def __init__(self, *args: str, startup_timeout_s: float = 15.0) -> None:
        self.args = args if "--port" in args else ("--port", "0", *args)
        self.startup_timeout_s = startup_timeout_s
        self.base_url = ""
        self.returncode: int | None = None
        self.final_stats: dict[str, Any] | None = None
        self._proc: subprocess.Popen[str] | None = None

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "pipeline.server", *self.args]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self._proc = proc
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], self.startup_timeout_s)
        line = proc.stdout.readline() if ready else ""
        if not line.startswith("listening on "):
            self.stop()
            raise RuntimeError(f"the server did not start: {line!r}")
        self.base_url = line.split()[-1]
        return self

    def _call(self, path: str, payload: Any = None) -> Any:
        root = self.base_url.removesuffix("/v1")
        data = None if payload is None else json.dumps(payload).encode()
        req = urllib.request.Request(
            root + path, data=data, method="GET" if data is None else "POST"
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("/_fake/stats")
        return result

    def enqueue(self, *kinds: str) -> None:
        self._call("/_fake/faults", {"enqueue": list(kinds)})

    def stop(self) -> dict[str, Any] | None:
        """Stop the child; return its final stats (also kept in ``final_stats``)."""
        proc, self._proc = self._proc, None
        if proc is None:
            return self.final_stats
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
        self.returncode = proc.returncode
        lines = err.strip().splitlines()
        with contextlib.suppress(ValueError, IndexError):
            self.final_stats = json.loads(lines[-1])
        return self.final_stats

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


# -- command line -----------------------------------------------------------------------------


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def serve(
    config: ServerConfig | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    responder: Responder | None = None,
    on_ready: Callable[[FakeOpenAIServer], None] | None = None,
) -> ServerStats:
    """Run the server in the foreground until SIGINT/SIGTERM; return its stats."""
    srv = FakeOpenAIServer(config, responder=responder, host=host, port=port).start()
    done = threading.Event()
    # Both set explicitly: a shell starts background jobs with SIGINT ignored.
    previous = {sig: signal.signal(sig, lambda *_: done.set()) for sig in _STOP_SIGNALS}
    try:
        if on_ready is not None:
            on_ready(srv)
        while not done.wait(0.5):
            pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        srv.stop()
    return srv.stats


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m pipeline.server",
        description="A fault-injecting OpenAI-compatible Chat Completions server for tests.",
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port; 0 picks a free one")
    p.add_argument("--rpm", type=int, help="requests per minute limit")
    p.add_argument("--tpm", type=int, help="tokens per minute limit")
    p.add_argument("--burst-window", type=float, default=60.0, help="seconds of limit per burst")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to each answer")
    p.add_argument("--jitter", type=float, default=0.0, help="up to this many seconds more")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--require-api-key", metavar="KEY")
    p.add_argument("--canary-header", action="append", default=[], metavar="NAME:VALUE")
    p.add_argument("--reject-json-schema", action="store_true")
    p.add_argument("--reject-json-object", action="store_true")
    p.add_argument("--error-style", choices=["openai", "vllm", "ollama"], default="openai")
    p.add_argument(
        "--fault-rate",
        action="append",
        default=[],
        metavar="KIND=P[,KIND=P]",
        help=f"random faults; kinds: {', '.join(FAULT_KINDS)}",
    )
    p.add_argument("--enqueue", action="append", default=[], metavar="KIND", help="next faults")
    p.add_argument("--hang", type=float, default=30.0, help="seconds a hang/slow fault lasts")
    p.add_argument("--retry-after", type=float, default=0.1, help="rate_limit fault retry-after")
    p.add_argument("--model-name")
    p.add_argument("--stub", action="store_true", help="answer with the stub, not the builtin")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        rates = {
            k.strip(): float(v)
            for item in args.fault_rate
            for k, _, v in (pair.partition("=") for pair in item.split(","))
        }
        canaries = dict(
            (k.strip().lower(), v.strip())
            for k, _, v in (h.partition(":") for h in args.canary_header)
        )
        config = ServerConfig(
            rpm=args.rpm,
            tpm=args.tpm,
            burst_window_s=args.burst_window,
            latency_s=args.latency,
            jitter_s=args.jitter,
            seed=args.seed,
            require_api_key=args.require_api_key,
            canary_headers=canaries,
            reject_json_schema=args.reject_json_schema,
            reject_json_object=args.reject_json_object,
            error_style=args.error_style,
            fault_rate=rates,
            hang_s=args.hang,
            rate_limit_retry_after_s=args.retry_after,
            model_name=args.model_name,
        )
        faults = [Fault(k) for k in args.enqueue]
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"warning: listening on {args.host}, not only this machine", file=sys.stderr)

    def ready(srv: FakeOpenAIServer) -> None:
        srv.enqueue(*faults)
        print(f"listening on {srv.base_url}", flush=True)

    try:
        stats = serve(
            config,
            host=args.host,
            port=args.port,
            responder=stub_responder if args.stub else None,
            on_ready=ready,
        )
    except OSError as e:
        print(f"error: cannot listen on {args.host}:{args.port}: {e}", file=sys.stderr)
        return 2
    print(json.dumps(stats.snapshot()), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
