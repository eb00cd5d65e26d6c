"""Errors in every shape: the fields of an error body, a 200 that holds an error, and the rule
table that maps status, code and wording to a failure kind (section 3 of
:mod:`pipeline.providers`)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.providers._headers import parse_duration

# -- 3. errors --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ErrorFields:
    """An error body's parts, wherever the provider put them."""

    message: str = ""
    code: str = ""
    type: str = ""
    param: Any = None
    status: int | None = None  # a status the body itself names (OpenRouter's ``code: 429``)
    raw: str = ""  # an upstream provider's own reason (OpenRouter's ``metadata.raw``)
    provider: str = ""
    inner_code: str = ""  # Azure's ``innererror.code``
    failed_generation: str | None = None  # Groq's invalid JSON
    retry_delay: float | None = None  # Google's ``details[].retryDelay`` ("42s")

    @property
    def text(self) -> str:
        """The message with the upstream reason and provider kept."""
        out = self.message or self.code or "error"
        if self.raw and self.raw not in out:
            out = f"{out}: {self.raw}"
        if self.provider:
            out = f"{out} (upstream provider {self.provider})"
        return out

    def words(self) -> str:
        return " ".join((self.message, self.code, self.type, self.raw, self.inner_code)).lower()


def _str(v: Any) -> str:
    return "" if v is None else str(v)


def error_fields(body: Any) -> ErrorFields:
    """Read an error body of any known shape (a dict, a JSON string, or nothing)."""
    if isinstance(body, bytes | str):
        try:
            body = json.loads(body)
        except ValueError:
            return ErrorFields(message=_str(body if isinstance(body, str) else "")[:2000])
    if isinstance(body, list) and body:  # Google's OpenAI-compatible endpoint: [{"error": ...}]
        body = body[0]
    if not isinstance(body, dict):
        return ErrorFields()
    err: Any = body.get("error", body)
    if isinstance(err, str):  # LM Studio, some gateways: {"error": "text"}
        return ErrorFields(message=err)
    if not isinstance(err, dict):
        return ErrorFields(message=_str(body.get("detail") or body.get("message")))
    if "detail" in err and "message" not in err:  # FastAPI-style servers
        detail = err["detail"]
        return ErrorFields(message=detail if isinstance(detail, str) else json.dumps(detail))
    meta = err.get("metadata") if isinstance(err.get("metadata"), dict) else {}
    raw = meta.get("raw") if meta else None
    if raw is not None and not isinstance(raw, str):
        raw = json.dumps(raw)
    inner = err.get("innererror") or err.get("inner_error") or {}
    code = err.get("code")
    status: int | None = None
    if isinstance(code, int) and 100 <= code <= 599:
        status = code
    elif isinstance(code, str) and code.isdigit() and 100 <= int(code) <= 599:
        status = int(code)
    fg = err.get("failed_generation")
    delay = None
    details = err.get("details")
    if isinstance(details, list):
        for d in details:
            if isinstance(d, dict) and isinstance(d.get("retryDelay"), str):
                delay = parse_duration(d["retryDelay"])
    message = err.get("message")
    if isinstance(message, dict | list):  # Mistral's 422: {"detail": [...]}
        message = json.dumps(message)
    return ErrorFields(
        message=_str(message),
        code="" if status is not None and _str(code).isdigit() else _str(code),
        type=_str(err.get("type")),
        param=err.get("param"),
        status=status,
        raw=_str(raw),
        provider=_str(meta.get("provider_name")) if meta else "",
        inner_code=_str(inner.get("code")) if isinstance(inner, dict) else "",
        failed_generation=fg if isinstance(fg, str) else None,
        retry_delay=delay,
    )


def body_error(data: Mapping[str, Any]) -> ErrorFields | None:
    """The error a 200 answer carries instead of choices (OpenRouter, gateways), or None."""
    if data.get("error") and not data.get("choices"):
        return error_fields(dict(data))
    return None


@dataclass(frozen=True)
class ErrorRule:
    """One row of :data:`ERROR_RULES`: when it matches, and what the failure is."""

    name: str
    kind: str
    statuses: frozenset[int] = frozenset()  # empty: any status
    codes: frozenset[str] = frozenset()  # ``code``, ``type`` or Azure's inner code
    words: tuple[str, ...] = ()  # lower-case fragments of the message
    fix: str = ""
    retryable: bool = False
    stop_run: bool = False
    reask: bool = False  # an invalid answer: re-ask like schema_invalid

    def matches(self, status: int, f: ErrorFields) -> bool:
        if self.statuses and status not in self.statuses:
            return False
        if not self.codes and not self.words:
            return True
        if {f.code, f.type, f.inner_code} & self.codes:
            return True
        text = f.words()
        return any(w in text for w in self.words)


_CONTEXT_WORDS = (
    "maximum context length",
    "context length exceeded",
    "context_length_exceeded",
    "exceeds the available context size",
    "larger than the max context size",
    "greater than the context length",
    "exceeds the context window",
    "exceeds context length",
    "input length exceeds",
    "prompt is too long",
    "too many tokens in the prompt",
    "reduce the length of the messages",
    "max_tokens must be at least 1, got -",
    "please reduce your prompt",
    "max_new_tokens` must be <=",
    "`inputs` tokens",
    "exceeds the maximum number of tokens",
    "context the overflows",
    "context overflow",
    "input is too long",
    "too many input tokens",
    "exceeds the model's context",
    "exceeds maximum context",
    "maximum prompt length",  # xAI: "This model's maximum prompt length is 131072 but ..."
    "request too large",  # a request over the whole token window (Groq's 413)
    "payload too large",
    "request entity too large",
)

#: first match wins; statuses not named here keep :func:`pipeline.retry.classify`'s defaults
ERROR_RULES: tuple[ErrorRule, ...] = (
    ErrorRule(
        "billing",
        "rate_limited",
        frozenset({402, 403, 429, 400}),
        frozenset({"insufficient_quota", "billing_hard_limit_reached", "insufficient_balance"}),
        (
            "insufficient balance",
            "insufficient credit",
            "exceeded your current quota",
            "add credit",
            "add more credits",
            "out of credits",
            "payment required",
            "check your plan and billing",
            "balance is too low",
            "requires more credits",
        ),
        fix="add credit or raise the quota, then run the same command again to resume",
        stop_run=True,
    ),
    ErrorRule(
        "payment",
        "rate_limited",
        frozenset({402}),
        fix="add credit, then run the same command again to resume",
        stop_run=True,
    ),
    ErrorRule(
        "too_long",
        "too_long",
        frozenset({400, 413, 422, 500}),
        frozenset(
            {"context_length_exceeded", "exceed_context_size_error", "string_above_max_length"}
        ),
        _CONTEXT_WORDS,
        fix="shorten or split the article, or use a model with a larger context",
    ),
    ErrorRule(
        "content_filter",
        "refusal",
        frozenset({400, 403, 422}),
        frozenset({"content_filter", "ResponsibleAIPolicyViolation", "content_policy_violation"}),
        (
            "content management policy",
            "content policy",
            "flagged by the content filter",
            "usage policy",  # OpenAI's invalid_prompt: "flagged as potentially violating ..."
            "usage policies",
        ),
    ),
    ErrorRule(
        "invalid_answer",
        "schema_invalid",
        frozenset({400, 422}),
        frozenset({"json_validate_failed", "tool_use_failed"}),
        ("failed to generate json", "failed_generation"),
        reask=True,
    ),
    ErrorRule(
        "daily_quota",
        "rate_limited",
        frozenset({429}),
        frozenset(),
        ("per-day", "per day", "daily", "(rpd)", "(tpd)", "limit_rpd"),
        fix="a daily quota is used up: run the same command again once it resets; finished "
        "articles are kept",
        stop_run=True,
    ),
    ErrorRule(
        "api_version",
        "http_error",
        frozenset({400, 404}),
        frozenset(),
        (
            "only for api version",  # Azure: "Model X is enabled only for api versions ..."
            "api version is not supported",
            "api-version is not supported",
            "unsupported api version",
            "unsupported api-version",
        ),
        fix="set OPENAI_API_VERSION to a version the model supports, or use Azure's v1 API "
        "with --base-url https://RESOURCE.openai.azure.com/openai/v1/",
        stop_run=True,
    ),
    ErrorRule(
        "unknown_model",
        "http_error",
        frozenset({400, 404}),
        frozenset({"model_not_found", "DeploymentNotFound", "NotFound"}),
        (
            "model_not_found",
            "deployment for this resource does not exist",
            "the model `",
            "does not exist or you do not have access",
            "model not found",
            "unknown model",
            "no such model",
            "invalid model",
            "is not a valid model",
        ),
        fix="check --model (for Azure: the deployment name) and --base-url",
        stop_run=True,
    ),
)


def classify_error(status: int, f: ErrorFields) -> ErrorRule | None:
    """The first :data:`ERROR_RULES` row that matches this status and body, or None."""
    for rule in ERROR_RULES:
        if rule.matches(status, f):
            return rule
    return None
