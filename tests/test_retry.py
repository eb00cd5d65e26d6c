"""The one retry layer: classification of every failure, retry-after parsing, the wait."""

from __future__ import annotations

import email.utils
import random
import time
from typing import Any

import httpx2
import openai
import pytest
from tenacity import RetryCallState

from pipeline.retry import (
    MAX_WAIT_S,
    Failure,
    classify,
    retry_after_seconds,
    wait_retry_after_or_backoff,
)

URL = "http://model.test/v1"
REQUEST = httpx2.Request("POST", URL + "/chat/completions")


def status_error(
    status: int,
    message: str = "something went wrong",
    *,
    etype: str = "invalid_request_error",
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
    body: Any = None,
) -> openai.APIStatusError:
    payload = body or {"error": {"message": message, "type": etype, "param": param, "code": code}}
    response = httpx2.Response(status, json=payload, headers=headers, request=REQUEST)
    return openai.APIStatusError(message, response=response, body=payload)


def connection_error(cause: BaseException) -> openai.APIConnectionError:
    try:
        raise openai.APIConnectionError(request=REQUEST) from cause
    except openai.APIConnectionError as e:
        return e


def timeout_error(cause: BaseException) -> openai.APITimeoutError:
    try:
        raise openai.APITimeoutError(request=REQUEST) from cause
    except openai.APITimeoutError as e:
        return e


# (exception, kind, retryable, stops the run at once, stops once retries are spent)
CASES: list[tuple[str, BaseException, str, bool, bool, bool]] = [
    ("429", status_error(429, "slow down", etype="requests"), "rate_limited", True, False, False),
    (
        "429-quota",
        status_error(429, "You exceeded your current quota", code="insufficient_quota"),
        "rate_limited",
        False,
        True,
        False,
    ),
    (
        "429-quota-by-type",
        status_error(429, "quota", etype="insufficient_quota"),
        "rate_limited",
        False,
        True,
        False,
    ),
    (
        "429-too-large",
        status_error(429, "Request too large for gpt-4o on tokens per min (TPM)", etype="tokens"),
        "too_long",
        False,
        False,
        False,
    ),
    ("401", status_error(401, "Incorrect API key"), "auth", False, True, False),
    ("403", status_error(403, "Country not supported"), "auth", False, True, False),
    ("400", status_error(400, "Invalid 'messages'"), "http_error", False, False, False),
    (
        "404-model",
        status_error(404, "The model `x` does not exist"),
        "http_error",
        False,
        True,
        False,
    ),
    ("404-url", status_error(404, "Invalid URL (POST /v2/x)"), "http_error", False, False, False),
    ("408", status_error(408, "Request timed out."), "timeout", True, False, False),
    ("409", status_error(409, "conflict"), "http_error", True, False, False),
    ("500", status_error(500, "oops", etype="server_error"), "http_error", True, False, False),
    ("502", status_error(502, "bad gateway"), "http_error", True, False, False),
    ("503", status_error(503, "overloaded"), "http_error", True, False, False),
    (
        "context",
        status_error(400, "too long", code="context_length_exceeded"),
        "too_long",
        False,
        False,
        False,
    ),
    (
        "article-too-short",
        status_error(400, "article is empty or too short", code="article_too_short"),
        "bad_input",
        False,
        False,
        False,
    ),
    ("read-timeout", timeout_error(httpx2.ReadTimeout("")), "timeout", True, False, False),
    ("connect-timeout", timeout_error(httpx2.ConnectTimeout("")), "timeout", True, False, True),
    (
        "refused",
        connection_error(httpx2.ConnectError("All connection attempts failed")),
        "http_error",
        True,
        False,
        True,
    ),
    (
        "dropped",
        connection_error(httpx2.RemoteProtocolError("Server disconnected")),
        "http_error",
        True,
        False,
        False,
    ),
    ("bug", ValueError("unexpected"), "http_error", False, False, False),
]


@pytest.mark.parametrize(
    ("exc", "kind", "retryable", "stop_run", "stop_when_exhausted"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_classify(
    exc: BaseException, kind: str, retryable: bool, stop_run: bool, stop_when_exhausted: bool
) -> None:
    f = classify(exc, url=URL)
    assert (f.kind, f.retryable, f.stop_run, f.stop_when_exhausted) == (
        kind,
        retryable,
        stop_run,
        stop_when_exhausted,
    )


@pytest.mark.parametrize(
    "exc",
    [
        status_error(400, "Invalid parameter: 'response_format' of type 'json_schema'"),
        status_error(400, "not supported", param="response_format"),
        status_error(
            400,
            "x",
            body={"object": "error", "message": "json_schema is unsupported", "code": 400},
        ),
        status_error(422, "structured output is not available for this model"),
    ],
    ids=["openai", "param", "vllm-body", "422"],
)
def test_a_400_naming_response_format_asks_for_a_fallback(exc: BaseException) -> None:
    f = classify(exc)
    assert f.fallback and not f.retryable and not f.stop_run


def test_messages_name_the_url_and_the_fix() -> None:
    refused = classify(connection_error(httpx2.ConnectError("refused")), url=URL)
    assert URL in refused.message and "--base-url" in refused.message
    assert "OPENAI_API_KEY" in classify(status_error(401, "bad key")).message
    quota = classify(status_error(429, "q", code="insufficient_quota")).message
    assert "run the same command again" in quota


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ({"retry-after-ms": "250"}, 0.25),
        ({"retry-after-ms": "250", "retry-after": "9"}, 0.25),  # ms wins
        ({"retry-after": "3"}, 3.0),
        ({"retry-after": "1.5"}, 1.5),
        ({"retry-after": "-4"}, 0.0),
        ({"retry-after": "soon"}, None),
        ({}, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], seconds: float | None) -> None:
    assert retry_after_seconds(httpx2.Headers(headers)) == seconds


def test_retry_after_as_an_http_date() -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    got = retry_after_seconds(httpx2.Headers({"retry-after": when}))
    assert got is not None and 28 <= got <= 31


def test_a_429s_retry_after_is_carried_by_the_failure() -> None:
    f = classify(status_error(429, "slow", headers={"retry-after-ms": "1200"}))
    assert f == Failure("rate_limited", "HTTP 429: slow", True, False, 429, 1.2)


def state(attempt: int, exc: BaseException) -> RetryCallState:
    s = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
    s.attempt_number = attempt
    s.set_exception((type(exc), exc, None))
    return s


def test_wait_honours_retry_after_with_a_little_jitter_on_top() -> None:
    wait = wait_retry_after_or_backoff(rng=random.Random(1))
    exc = status_error(429, "slow", headers={"retry-after-ms": "400"})
    waits = [wait(state(n, exc)) for n in range(1, 50)]
    assert all(0.4 <= w <= 0.44 for w in waits)


def test_wait_caps_a_huge_retry_after() -> None:
    wait = wait_retry_after_or_backoff()
    assert wait(state(1, status_error(429, "slow", headers={"retry-after": "86400"}))) == MAX_WAIT_S


def test_backoff_is_capped_exponential_with_full_jitter() -> None:
    wait = wait_retry_after_or_backoff(initial=0.5, cap=4.0, floor=0.05, rng=random.Random(3))
    exc = status_error(503, "overloaded")
    for n in range(1, 12):
        high = min(4.0, 0.5 * 2 ** (n - 1))
        waits = [wait(state(n, exc)) for _ in range(200)]
        assert all(0.05 <= w <= high for w in waits)
        assert max(waits) > 0.8 * high  # full jitter spans the whole range
        assert min(waits) < 0.3 * high or high < 0.2
