"""What a model's 200 answer means, whichever transport brought it.

This is the one place that reads a Chat Completions body: the live request loop, an answer
stored before a crash and a line of a Batch API output file all end here, so a rule changed
here holds for every transport.

- :class:`Answer`: a response obtained outside the live request loop (the provider's Batch
  API, or the store's journal of answers that arrived before a crash), handed to
  :meth:`~pipeline.engine.Summariser.summarise` in place of the first request.
- :func:`usage_of`: token counts, with cached prompt tokens and reasoning tokens.
- :func:`read_answer`: the outcome of one answer: ``ok`` (valid JSON matching the schema),
  ``invalid`` (to be re-asked with the errors), ``truncated`` or ``refusal``.
- :func:`clip`: a bounded copy of a long text (head, tail and the length), for what a re-ask
  quotes and what the store keeps of a runaway answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from pipeline import providers
from pipeline.engine._wire import extract_json
from pipeline.schemas import Schema

#: what a re-ask quotes of an invalid answer, and what an attempt row keeps of any answer
QUOTE_LIMIT = 16_000
STORE_LIMIT = 64_000
ERROR_LIMIT = 300  # one validation message (jsonschema quotes the offending value whole)


def clip(text: str | None, limit: int) -> str | None:
    """``text`` when it fits in ``limit`` characters, else its head and tail around a marker
    that gives the length: never more than ``limit`` characters plus the marker."""
    if text is None or len(text) <= limit:
        return text
    half = max(1, limit // 2)
    omitted = len(text) - 2 * half
    return (
        f"{text[:half]}\n[... {omitted:,} of {len(text):,} characters omitted ...]\n{text[-half:]}"
    )


@dataclass(frozen=True)
class Answer:
    """A model's answer to an article's first request, obtained elsewhere.

    ``body`` is the response body as the provider sent it (a ``chat.completion`` object);
    ``origin`` says where it came from: ``"batch"`` (a Batch API output line, priced at the
    batch rate, ``batch_id`` set) or ``"stored"`` (the journal of a run that crashed before
    the answer was checked). ``mode``: the structured-output mode the request was sent in
    (a batch's lines keep theirs), when it may differ from the one the run uses now.
    """

    body: dict[str, Any]
    status_code: int = 200
    latency_ms: int = 0
    origin: str = "batch"
    batch_id: str | None = None
    mode: str | None = None  # the structured-output mode of the request it answers


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of prompt_tokens, served from the provider's prompt cache
    reasoning_tokens: int = 0  # of completion_tokens, spent thinking before the answer


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def usage_of(body: dict[str, Any]) -> Usage:
    """Token counts from a body's ``usage`` (missing or malformed fields count 0)."""
    u = body.get("usage")
    if not isinstance(u, dict):
        return Usage()
    pd = u.get("prompt_tokens_details")
    cd = u.get("completion_tokens_details")
    # OpenAI and most servers: ``prompt_tokens_details.cached_tokens``; DeepSeek:
    # ``prompt_cache_hit_tokens``
    cached = _int(pd.get("cached_tokens")) if isinstance(pd, dict) else 0
    return Usage(
        _int(u.get("prompt_tokens")),
        _int(u.get("completion_tokens")),
        cached or _int(u.get("prompt_cache_hit_tokens")),
        _int(cd.get("reasoning_tokens")) if isinstance(cd, dict) else 0,
    )


@dataclass(frozen=True)
class Reading:
    """One answer, read: ``outcome`` is ``ok``, ``invalid``, ``truncated`` or ``refusal``."""

    outcome: str
    content: str | None
    usage: Usage
    finish_reason: str | None = None
    data: Any = None
    errors: list[str] = field(default_factory=list)
    refusal: str | None = None


def _message(body: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    choices = body.get("choices")
    choice = choices[0] if isinstance(choices, list) and choices else None
    if not isinstance(choice, dict):
        return {}, None
    message = choice.get("message")
    finish = choice.get("finish_reason")
    return (message if isinstance(message, dict) else {}), (
        finish if isinstance(finish, str) else None
    )


def read_answer(body: dict[str, Any], *, mode: str, schema: Schema) -> Reading:
    """Read a 200 answer: refusal, truncation, or the JSON checked against ``schema``."""
    usage = usage_of(body)
    message, finish = _message(body)
    content = providers.message_text(message.get("content"))  # parts, parsed JSON: as text
    refusal = message.get("refusal")
    if (isinstance(refusal, str) and refusal) or finish == "content_filter":
        why = refusal if isinstance(refusal, str) and refusal else None
        return Reading("refusal", content, usage, finish, refusal=why)
    if finish == "length":
        return Reading("truncated", content, usage, finish)
    try:
        data = extract_json(content or "") if mode == "prompt" else json.loads(content or "")
        errors = [clip(e, ERROR_LIMIT) or "" for e in schema.errors(data)]
    except (ValueError, RecursionError) as exc:
        why = f"the answer is not valid JSON: {'it is empty' if not content else exc}"
        errors = [f"(root): {clip(why, ERROR_LIMIT)}"]
        data = None
    if errors:
        return Reading("invalid", content, usage, finish, data=data, errors=errors)
    return Reading("ok", content, usage, finish, data=data)


def reask_messages(content: str | None, errors: list[str]) -> list[dict[str, str]]:
    """The turn that sends a schema-breaking answer back with its errors: the answer quoted
    within :data:`QUOTE_LIMIT` characters, at most 20 errors of :data:`ERROR_LIMIT` each."""
    return [
        {"role": "assistant", "content": clip(content or "", QUOTE_LIMIT) or ""},
        {
            "role": "user",
            "content": "Your answer did not match the required JSON schema:\n"
            + "\n".join(f"- {e}" for e in errors[:20])
            + "\nReturn the corrected JSON object only.",
        },
    ]
