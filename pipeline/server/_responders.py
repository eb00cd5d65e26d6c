"""Responders answer a chat request with a ``chat.completion`` dict: the default (the
project's built-in model), :func:`stub_responder`, and :func:`memoize` to cache one."""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

from pipeline.server._request import (
    _content_text,
    _estimate_tokens,
    _json_schema,
    _messages,
    _response_format_type,
)

Responder = Callable[[dict[str, Any]], dict[str, Any]]


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
