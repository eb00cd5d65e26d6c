"""The one retry layer: which failures are transient, how long to wait, when to stop.

The SDK's own retries are off. Here tenacity retries 408, 409, 429 (rate limits), 5xx,
timeouts and dropped connections with capped exponential backoff and full jitter, and a
server's wait (``retry-after-ms``, ``retry-after``, "try again in 9m38s", an empty window's
reset: :func:`pipeline.providers.server_wait`), when given, sets the wait (never less than it
asks). A wait longer than :data:`~pipeline.providers.LONGEST_WAIT_S` (a daily quota) is not
waited: it stops the run, like an exhausted quota, with a message saying when the limit
resets. It never retries 400, 401, 403, 404, an exhausted quota or balance, or a request
larger than the TPM window.

:func:`classify` maps any exception from a model call to a :class:`Failure`: the record's
failure kind, whether to retry, and whether the whole run must stop: at once for 401/403, an
exhausted quota or balance (402), a long rate-limit wait and an unknown model; and, once its
retries are spent, for an endpoint that cannot be connected to at all
(``stop_when_exhausted``). A connection dropped mid-answer is retried but never stops the
run. What a status and body mean for each provider (wording, codes, where the error sits) is
read from :mod:`pipeline.providers`' tables; :class:`BodyError` carries an error a server sent
inside a 200 answer, so it is classified by its own code like any other.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import openai
from tenacity import RetryCallState
from tenacity.wait import wait_base

from pipeline import providers
from pipeline.client import ReplayFellThrough
from pipeline.providers import LONGEST_WAIT_S, Adaptation, ErrorFields
from pipeline.transport import DeadlineExceeded, ResponseTooLarge

#: the longest single wait between attempts; longer asks stop the run (see the docstring)
MAX_WAIT_S = LONGEST_WAIT_S


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
    adapt: Adaptation | None = None  # a 400 about one parameter: change it and send again
    reask: bool = False  # the server rejected the model's answer as invalid: re-ask
    last_output: str | None = None  # what the model produced, when the error carries it


class BodyError(Exception):
    """An error a server sent in the body of a 200 answer (no ``choices``)."""

    def __init__(self, fields: ErrorFields, headers: Any = None) -> None:
        super().__init__(fields.text)
        self.fields = fields
        self.headers = headers
        self.status_code = fields.status or 502  # an upstream failure unless it says otherwise


def retry_after_seconds(headers: Any) -> float | None:
    """The wait a server asks for in its headers (see :func:`pipeline.providers.server_wait`)."""
    if headers is None:
        return None
    return providers.server_wait(headers)


def _chain(exc: BaseException) -> list[BaseException]:
    out, seen = [], set()
    cur: BaseException | None = exc
    while cur is not None and id(cur) not in seen:
        out.append(cur)
        seen.add(id(cur))
        cur = cur.__cause__ or cur.__context__
    return out


def classify(
    exc: BaseException, *, url: str = "", request: dict[str, Any] | None = None
) -> Failure:
    """Map an exception raised by a model call to a :class:`Failure`; ``request``, when
    given, lets a 400 about one of its parameters come back as an :class:`Adaptation`."""
    for e in _chain(exc):
        if (
            isinstance(e, ReplayFellThrough)
            or type(e).__name__ == "CannotOverwriteExistingCassetteException"
        ):
            return Failure("http_error", f"no recording for {e}", retryable=False, replay_miss=True)
    for e in _chain(exc):
        if isinstance(e, ResponseTooLarge):
            return Failure("http_error", f"{url}: {e}", retryable=False)
    if isinstance(exc, openai.APITimeoutError):
        late = next((e for e in _chain(exc) if isinstance(e, DeadlineExceeded)), None)
        if late is not None:
            return Failure("timeout", f"request to {url}: {late}", retryable=True)
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
    if isinstance(exc, BodyError):
        return _classify_status(exc.status_code, exc.fields, exc.headers, request, in_body=True)
    if isinstance(exc, openai.APIStatusError):
        response = exc.response
        fields = ErrorFields()
        if response is not None:
            try:
                fields = providers.error_fields(response.text)
            except Exception:  # a body that cannot be read: fall back to the SDK's view
                fields = ErrorFields()
        if not (fields.message or fields.code):
            fields = providers.error_fields(exc.body)
        if not fields.message:
            fields = ErrorFields(**{**fields.__dict__, "message": exc.message})
        headers = response.headers if response is not None else None
        return _classify_status(exc.status_code, fields, headers, request)
    return Failure("http_error", f"{type(exc).__name__}: {exc}", retryable=False)


def classify_response(status: int, body: Any, *, request: dict[str, Any] | None = None) -> Failure:
    """A failure from a status and an error body obtained outside the live request loop (a
    Batch API row), read by the same rules as a live response: ``request`` (the one the row
    answers) lets a refusal of one of its parameters come back as an adaptation, and a
    refusal of its ``response_format`` as a fallback."""
    return _classify_status(status, providers.error_fields(body), None, request)


def _classify_status(
    status: int,
    f: ErrorFields,
    headers: Any,
    request: dict[str, Any] | None,
    *,
    in_body: bool = False,
) -> Failure:
    """A failure from an HTTP status (or the status an error in a 200 body names) and the
    error's fields, through :data:`pipeline.providers.ERROR_RULES`."""
    message = f.text
    where = "in a 200 answer: " if in_body else ""
    head = f"HTTP {status}: {where}{message}"
    low = f.words()
    retry_after = providers.server_wait(headers, message)
    if retry_after is None:
        retry_after = f.retry_delay
    if status in (401, 403) and not in_body:
        rule = providers.classify_error(status, f)
        if rule is None or rule.name not in ("billing", "content_filter"):
            fix = "check OPENAI_API_KEY" if status == 401 else "check the key's permissions"
            return Failure("auth", f"HTTP {status}: {message} ({fix})", False, True, status)
    rule = providers.classify_error(status, f)
    short_wait = retry_after is not None and retry_after <= LONGEST_WAIT_S
    explicit = {f.code, f.type} & {"insufficient_quota", "billing_hard_limit_reached"}
    refills = status == 429 and short_wait and not explicit
    if rule is not None and rule.name == "billing" and refills:
        rule = None  # a quota that refills in a moment (Google's "exceeded your current quota")
    if rule is not None and rule.name in ("billing", "payment"):
        return Failure(rule.kind, f"{head} ({rule.fix})", False, True, status)
    if status == 429 and retry_after is None and "request too large" in low:
        return Failure(  # larger than the whole TPM window: waiting cannot help
            "too_long", f"HTTP 429: {message} (shorten the article)", False, False, status
        )
    if status == 429 or (in_body and f.status == 429):
        if rule is not None and rule.name == "daily_quota" and retry_after is None:
            return Failure(rule.kind, f"{head} ({rule.fix})", False, True, status, retry_after)
        if retry_after is not None and retry_after > LONGEST_WAIT_S:
            return Failure(
                "rate_limited",
                f"{head} (the limit resets in {providers.describe_wait(retry_after)}, at about "
                f"{providers.resets_at(retry_after)}: run the same command again then to "
                f"resume; finished articles are kept)",
                False,
                True,
                status,
                retry_after,
            )
        return Failure("rate_limited", head, True, False, status, retry_after)
    if status == 408:
        return Failure("timeout", head, True, False, status, retry_after)
    if rule is not None and rule.name == "too_long":
        return Failure("too_long", f"{head} ({rule.fix})", False, False, status)
    if rule is not None and rule.name == "content_filter":
        return Failure(
            "refusal", f"the provider's content filter refused: {head}", False, False, status
        )
    if rule is not None and rule.name == "invalid_answer":
        return Failure(
            "schema_invalid",
            head,
            False,
            False,
            status,
            reask=True,
            last_output=f.failed_generation,
        )
    if status == 409 or status >= 500:
        return Failure("http_error", head, True, False, status, retry_after)
    if status in (400, 422) and (
        f.param == "response_format"
        or "response_format" in low
        or "json_schema" in low
        or "structured output" in low
    ):
        return Failure("http_error", head, False, False, status, fallback=True)
    if status in (400, 422) and request is not None:
        change = providers.adaptation_for(f.message or message, f.param, request)
        if change is not None:
            return Failure("http_error", head, False, False, status, adapt=change)
    if f.code == "article_too_short":  # the built-in model's word for an unusable article
        return Failure("bad_input", head, False, False, status)
    if rule is not None and rule.stop_run and rule.kind == "http_error":  # unknown model, ...
        return Failure("http_error", f"{head} ({rule.fix})", False, True, status)
    if status == 404:
        return Failure(
            "http_error",
            f"HTTP 404: {message} (check --model and --base-url)",
            False,
            f.code == "model_not_found" or "model" in low,
            status,
        )
    return Failure("http_error", head, False, False, status)


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
