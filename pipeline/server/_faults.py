"""Fault kinds and what each one does: the error bodies and statuses, :class:`Fault`, rules
that match requests, and the damage content faults do to a completion."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from pipeline.server._request import _content_text, _estimate_tokens, _json_schema, _messages

Match = Callable[[dict[str, Any]], bool]

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
#: Every fault kind; "ok" passes a request through untouched, "slow" answers after ``hang_s``,
#: "drip" sends its answer one byte at a time, ``hang_s`` apart (default 1 s): a per-read
#: timeout never fires on it, only a whole-request deadline does.
FAULT_KINDS: tuple[str, ...] = (
    ("ok", "slow", "drip") + tuple(_ERRORS) + _CONTENT_FAULTS + _SILENT_FAULTS
)

_DEFAULT: Literal["default"] = "default"


@dataclass(frozen=True)
class Fault:
    """One injected fault. ``retry_after_s``: "default" takes the config's value (for 429s),
    None sends no retry-after headers. ``hang_s`` overrides the config for hang/slow, and is
    the gap between bytes for drip."""

    kind: str
    retry_after_s: float | None | Literal["default"] = _DEFAULT
    hang_s: float | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; choose from {FAULT_KINDS}")


@dataclass
class _Rule:
    match: Match | None
    fault: Fault
    times: int | None
    indices: frozenset[int] | None


def _as_fault(f: str | Fault) -> Fault:
    return f if isinstance(f, Fault) else Fault(f)


def user_contains(text: str) -> Match:
    """A rule matcher: some user message holds ``text``."""

    def match(body: dict[str, Any]) -> bool:
        return any(
            m.get("role") == "user" and text in _content_text(m.get("content"))
            for m in _messages(body)
        )

    return match


def _error_body(
    message: str,
    *,
    type: str = "invalid_request_error",
    param: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


def _mask(key: str) -> str:
    return key[:3] + "*" * (len(key) - 7) + key[-4:] if len(key) > 10 else "*" * len(key)


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
