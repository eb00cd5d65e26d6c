"""The one retry layer: which failures are transient, how long to wait, when to stop.

The SDK's own retries are off. Here tenacity retries 408, 409, 429 (rate limits), 5xx,
timeouts and dropped connections with capped exponential backoff and full jitter, and a
server's ``retry-after-ms`` / ``retry-after`` header, when present, sets the wait (never
less than it asks). It never retries 400, 401, 403, 404, an exhausted quota or a request
larger than the TPM window.

:func:`classify` maps any exception from a model call to a :class:`Failure`: the record's
failure kind, whether to retry, and whether the whole run must stop: at once for 401/403 and
an exhausted quota; for an unknown model (404 naming the model); and, once its retries are
spent, for an endpoint that cannot be connected to at all (``stop_when_exhausted``). A
connection dropped mid-answer is retried but never stops the run.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass
from typing import Any

import openai
from tenacity import RetryCallState
from tenacity.wait import wait_base

from pipeline.client import ReplayFellThrough

MAX_WAIT_S = 60.0


@dataclass(frozen=True)
class Failure:
    kind: str
    message: str
    retryable: bool
    stop_run: bool = False
    status_code: int | None = None
    retry_after: float | None = None
    fallback: bool = False  # 400 naming response_format: try a simpler structured-output mode
    replay_miss: bool = False
    stop_when_exhausted: bool = False  # cannot connect: stop the run once retries are spent


def retry_after_seconds(headers: Any) -> float | None:
    """The wait a server asks for, from ``retry-after-ms`` or ``retry-after`` (seconds or date)."""
    if headers is None:
        return None
    try:
        ms = headers.get("retry-after-ms")
        if ms is not None:
            return max(0.0, float(ms) / 1000.0)
        ra = headers.get("retry-after")
        if ra is None:
            return None
        try:
            return max(0.0, float(ra))
        except ValueError:
            when = email.utils.parsedate_to_datetime(ra)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


def _error_body(exc: openai.APIStatusError) -> dict[str, Any]:
    body = exc.body
    if isinstance(body, dict):
        inner = body.get("error", body)
        if isinstance(inner, dict):
            return inner
    return {}


def _chain(exc: BaseException) -> list[BaseException]:
    out, seen = [], set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        out.append(cur)
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return out


def classify(exc: BaseException, *, url: str = "") -> Failure:
    """Map an exception raised by a model call to a :class:`Failure`."""
    for e in _chain(exc):
        if (
            isinstance(e, ReplayFellThrough)
            or type(e).__name__ == "CannotOverwriteExistingCassetteException"
        ):
            return Failure("http_error", f"no recording for {e}", retryable=False, replay_miss=True)
    if isinstance(exc, openai.APITimeoutError):
        if _connect_failure(exc):
            return Failure(
                "timeout",
                f"cannot connect to {url} (connect timed out); check --base-url / OPENAI_BASE_URL",
                retryable=True,
                stop_when_exhausted=True,
            )
        return Failure("timeout", f"request to {url} timed out", retryable=True)
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__
        detail = f"{type(cause).__name__}: {cause}" if cause else str(exc)
        if _connect_failure(exc):
            return Failure(
                "http_error",
                f"cannot connect to {url} ({detail}); check --base-url / OPENAI_BASE_URL",
                retryable=True,
                stop_when_exhausted=True,  # every retry failed: the endpoint is unreachable
            )
        return Failure("http_error", f"connection to {url} dropped ({detail})", retryable=True)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        err = _error_body(exc)
        code = str(err.get("code") or "")
        etype = str(err.get("type") or "")
        message = str(err.get("message") or exc.message)
        retry_after = retry_after_seconds(exc.response.headers if exc.response else None)
        low = message.lower()
        if status in (401, 403):
            fix = "check OPENAI_API_KEY" if status == 401 else "check the key's permissions"
            return Failure("auth", f"HTTP {status}: {message} ({fix})", False, True, status)
        if status == 429 and (
            code == "insufficient_quota"
            or etype == "insufficient_quota"
            or "exceeded your current quota" in low
        ):
            return Failure(
                "rate_limited",
                f"HTTP 429 insufficient_quota: {message} (add credit or raise the quota, "
                f"then run the same command again to resume)",
                False,
                True,
                status,
            )
        if status == 429 and retry_after is None and "request too large" in low:
            return Failure(  # larger than the whole TPM window: waiting cannot help
                "too_long", f"HTTP 429: {message} (shorten the article)", False, False, status
            )
        if status == 429:
            return Failure("rate_limited", f"HTTP 429: {message}", True, False, status, retry_after)
        if status in (408,):
            return Failure("timeout", f"HTTP 408: {message}", True, False, status, retry_after)
        if status == 409 or status >= 500:
            return Failure(
                "http_error", f"HTTP {status}: {message}", True, False, status, retry_after
            )
        if status in (400, 422) and (
            err.get("param") == "response_format"
            or "response_format" in low
            or "json_schema" in low
            or "structured output" in low
        ):
            return Failure(
                "http_error", f"HTTP {status}: {message}", False, False, status, fallback=True
            )
        if code == "article_too_short":  # the built-in model's word for an unusable article
            return Failure("bad_input", f"HTTP {status}: {message}", False, False, status)
        if code == "context_length_exceeded" or "maximum context length" in low:
            return Failure("too_long", f"HTTP {status}: {message}", False, False, status)
        if status == 404:
            return Failure(
                "http_error",
                f"HTTP 404: {message} (check --model and --base-url)",
                False,
                code == "model_not_found" or "model" in low,
                status,
            )
        return Failure("http_error", f"HTTP {status}: {message}", False, False, status)
    return Failure("http_error", f"{type(exc).__name__}: {exc}", retryable=False)


def _connect_failure(exc: BaseException) -> bool:
    """The connection was never made (refused, unknown host, connect timeout)."""
    return any(type(e).__name__ in ("ConnectError", "ConnectTimeout") for e in _chain(exc))


class wait_retry_after_or_backoff(wait_base):
    """Wait what the server asked for (plus a little jitter), else capped exponential backoff
    with full jitter: ``uniform(0, min(cap, initial * 2 ** (n - 1)))``, at least ``floor``."""

    def __init__(
        self,
        initial: float = 0.5,
        cap: float = 20.0,
        floor: float = 0.05,
        rng: random.Random | None = None,
    ) -> None:
        self.initial = initial
        self.cap = cap
        self.floor = floor
        self.rng = rng or random.Random()

    def __call__(self, retry_state: RetryCallState) -> float:
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        failure = classify(exc) if exc is not None else None
        if failure is not None and failure.retry_after is not None:
            return min(MAX_WAIT_S, failure.retry_after * (1.0 + 0.1 * self.rng.random()))
        high = min(self.cap, self.initial * 2 ** (retry_state.attempt_number - 1))
        return max(self.floor, self.rng.uniform(0, high))
