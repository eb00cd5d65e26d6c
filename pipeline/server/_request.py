"""What a chat request body asks for: its messages, their text, a token estimate, the
response format and JSON schema. Every reader of a request body goes through these."""

from __future__ import annotations

import math
from typing import Any


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
