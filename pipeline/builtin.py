"""The built-in offline model: a deterministic extractive baseline behind Chat Completions.

It is not a language model and never claims to be one: every record it produces says
``"model": "builtin"``. It exists so that the whole SDK path (request, response, parsing,
validation, storage, cassettes) runs with no key and no network.

:func:`chat_completion` takes an OpenAI Chat Completions request body and returns a
``chat.completion`` object. It reads the article between ``<article>`` and ``</article>`` in
the last user message (and ``Title:`` / ``Date:`` lines above it), summarises it with
:mod:`pipeline.extractive`, and fits the answer to the requested schema: the summary schema
is filled field by field; any other schema gets its minimal valid instance.

It follows two plain instructions it can recognise in the system prompt, so that prompt
versions are comparable on it: figures carry their ``source`` only when the prompt asks for
claims to be *attributed*, and ``caveats`` are filled only when the prompt asks for
*contradictions* to be listed. Everything else in the prompt is ignored.

Limits: an article longer than ``extractive.MAX_ARTICLE_CHARS`` is rejected like an
over-long context on OpenAI (HTTP 400, ``context_length_exceeded``), which the pipeline
records as ``too_long``. ``max_tokens`` / ``max_completion_tokens`` are honoured: an answer
longer than the budget is cut and ends with ``finish_reason: "length"``.

:func:`transport` wraps it as an ``httpx2`` transport handed to the SDK.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from typing import Any

import httpx2

from pipeline.errors import ArticleError
from pipeline.schemas import minimal_instance
from pipeline.text import estimate_tokens

MODEL_NAME = "builtin"
BASE_URL = "http://builtin.invalid/v1"

_ARTICLE = re.compile(r"<article>\s*\n?(.*)\n?\s*</article>", re.DOTALL)
_SUMMARY_KEYS = frozenset({"headline", "summary", "key_points"})
_JUDGE_KEYS = frozenset({"consistency", "relevance", "coherence", "fluency"})
_SUMMARY = re.compile(r"<summary>\s*\n?(.*)\n?\s*</summary>", re.DOTALL)


class BuiltinBadRequest(Exception):
    """A request the built-in model refuses (HTTP 400 with OpenAI's error body)."""

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": "invalid_request_error",
                "param": self.param,
                "code": self.code,
            }
        }


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _requested_schema(body: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    rf = body.get("response_format") or {}
    kind = rf.get("type", "text") if isinstance(rf, dict) else "text"
    if kind == "json_schema":
        js = rf.get("json_schema") or {}
        schema = js.get("schema")
        return kind, schema if isinstance(schema, dict) else None
    return kind, None


def _article_from(messages: list[dict[str, Any]]) -> tuple[str, str | None, str | None]:
    users = [m for m in messages if m.get("role") == "user"]
    if not users:
        raise BuiltinBadRequest("messages must include a user message", param="messages")
    text = _message_text(users[0])
    m = _ARTICLE.search(text)
    head = text[: m.start()] if m else ""
    article = m.group(1).strip() if m else text.strip()
    title = _field(head, "Title")
    date = _field(head, "Date")
    return article, title, date


def _field(head: str, name: str) -> str | None:
    m = re.search(rf"^{name}:\s*(.+)$", head, re.MULTILINE)
    if not m:
        return None
    value = m.group(1).strip()
    return None if value in ("(none)", "(unknown)", "") else value


def _fit(value: Any, schema: dict[str, Any]) -> Any:
    """Keep only what ``schema`` asks for, filling what is missing minimally."""
    if not isinstance(schema, dict):
        return value
    t = schema.get("type")
    types = t if isinstance(t, list) else [t]
    if value is None and "null" in types:
        return None
    if "object" in types and isinstance(value, dict):
        props = schema.get("properties", {})
        out = {}
        for key in schema.get("required", list(props)):
            sub = props.get(key, {})
            out[key] = _fit(value[key], sub) if key in value else minimal_instance(sub)
        return out
    if "array" in types and isinstance(value, list):
        items = schema.get("items", {})
        return [_fit(v, items) for v in value]
    return value


def _summary_from(messages: list[dict[str, Any]]) -> str:
    text = "\n".join(_message_text(m) for m in messages if m.get("role") == "user")
    m = _SUMMARY.search(text)
    if not m:
        raise BuiltinBadRequest("a judge request needs the summary between <summary> markers")
    return m.group(1).strip()


class BuiltinRefusal(Exception):
    """An answer the built-in model declines to give (a ``refusal`` message, as OpenAI's)."""


_UNASSESSED = ("relevance", "coherence", "fluency")


def _nullable_score(schema: dict[str, Any], criterion: str) -> bool:
    node = schema.get("properties", {}).get(criterion, {})
    if isinstance(node, dict) and "$ref" in node:
        node = schema.get("$defs", {}).get(str(node["$ref"]).rsplit("/", 1)[-1], {})
    score = node.get("properties", {}).get("score", {}) if isinstance(node, dict) else {}
    types = score.get("type")
    types = types if isinstance(types, list) else [types]
    return "null" in types or any(
        isinstance(b, dict) and b.get("type") == "null" for b in score.get("anyOf", [])
    )


def _judge(article: str, summary: str, schema: dict[str, Any]) -> dict[str, Any]:
    """The judge schema answered by the lexical scorer: plumbing, not judgement.

    Consistency is the lexical faithfulness score mapped onto 1-5; relevance, coherence and
    fluency are not assessed, so their scores are null (``judgement.v2``). A schema that has
    no null score for them (``judgement.v1``) gets a refusal rather than invented scores.
    """
    from pipeline import faithfulness

    note = "built-in baseline, not a language model"
    if not all(_nullable_score(schema, c) for c in _UNASSESSED):
        raise BuiltinRefusal(
            f"The built-in model cannot assess {', '.join(_UNASSESSED)} and this schema has no "
            f"null score for what is not assessed: use a judge prompt whose schema allows null "
            f"(judge@v2, judgement.v2) or a language model ({note})."
        )
    result = faithfulness.score(article, summary)
    consistency = max(1, min(5, round(1 + 4 * result.faithfulness)))
    unassessed = {"score": None, "reason": f"not assessed ({note})"}
    answer = {
        "consistency": {
            "score": consistency,
            "reason": f"lexical faithfulness {result.faithfulness:.2f} ({note})",
        },
        **{c: dict(unassessed) for c in _UNASSESSED},
        "unsupported_claims": [u[:400] for u in result.unsupported[:10]],
    }
    fitted: dict[str, Any] = _fit(answer, schema)
    return fitted


def _directives(system: str) -> dict[str, bool]:
    low = system.lower()
    return {"attribute": "attribut" in low, "caveats": "contradict" in low}


def _answer(body: dict[str, Any]) -> dict[str, Any]:
    from pipeline import extractive  # imported late: the transport must import cheaply

    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BuiltinBadRequest("'messages' must be a non-empty array", param="messages")
    article, title, date = _article_from(messages)
    if len(article) > extractive.MAX_ARTICLE_CHARS:
        raise BuiltinBadRequest(
            f"This model's maximum context length is {extractive.MAX_ARTICLE_CHARS} characters. "
            f"However, your article has {len(article)} characters. Please shorten the article.",
            param="messages",
            code="context_length_exceeded",
        )
    if not article.strip():
        raise BuiltinBadRequest("the user message holds no article text", param="messages")
    kind, schema = _requested_schema(body)
    system = "\n".join(_message_text(m) for m in messages if m.get("role") == "system")
    props = set((schema or {}).get("properties", {}))
    if schema is not None and props >= _JUDGE_KEYS:
        return _judge(article, _summary_from(messages), schema)
    if schema is not None and not (props >= _SUMMARY_KEYS):
        return minimal_instance(schema)  # type: ignore[no-any-return]
    try:
        result = extractive.summarise(article, title=title, date=date)
    except ArticleError as exc:  # answered as a 400, like any server, never a crash
        code = "context_length_exceeded" if exc.kind == "too_long" else "article_too_short"
        raise BuiltinBadRequest(exc.message, param="messages", code=code) from exc
    rules = _directives(system)
    if not rules["attribute"]:
        result["figures"] = [{**f, "source": None} for f in result.get("figures", [])]
    if not rules["caveats"]:
        result["caveats"] = []
    return _fit(result, schema) if schema is not None else result


def chat_completion(body: dict[str, Any]) -> dict[str, Any]:
    """Answer one Chat Completions request body with a ``chat.completion`` object."""
    if body.get("stream"):
        raise BuiltinBadRequest("the built-in model does not stream", param="stream")
    content: str | None = None
    refusal: str | None = None
    try:
        content = json.dumps(_answer(body), ensure_ascii=False, separators=(",", ":"))
    except BuiltinRefusal as exc:  # answered as OpenAI answers a refusal: no content
        refusal = str(exc)
    messages = body.get("messages") or []
    prompt_tokens = sum(estimate_tokens(_message_text(m)) + 4 for m in messages)
    budget = body.get("max_completion_tokens") or body.get("max_tokens")
    finish = "stop"
    completion_tokens = estimate_tokens(content or refusal or "")
    if content is not None and isinstance(budget, int) and completion_tokens > budget:
        content = content[: budget * 4]
        completion_tokens = budget
        finish = "length"
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:24]
    return {
        "id": f"chatcmpl-builtin-{digest}",
        "object": "chat.completion",
        "created": 0,
        "model": MODEL_NAME,
        "system_fingerprint": "builtin-extractive-1",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "logprobs": None,
                "finish_reason": finish,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def handle(request: httpx2.Request) -> httpx2.Response:
    """Serve one HTTP request (``POST …/chat/completions``) with the built-in model."""
    started = time.perf_counter()
    if request.method != "POST" or not request.url.path.rstrip("/").endswith("/chat/completions"):
        err = BuiltinBadRequest(f"Invalid URL ({request.method} {request.url.path})")
        return httpx2.Response(404, json=err.body())
    try:
        body = json.loads(request.content or b"{}")
        if not isinstance(body, dict):
            raise BuiltinBadRequest("the request body must be a JSON object")
        data = chat_completion(body)
    except BuiltinBadRequest as exc:
        return httpx2.Response(400, json=exc.body())
    except ValueError as exc:
        return httpx2.Response(400, json=BuiltinBadRequest(f"invalid JSON body: {exc}").body())
    ms = int((time.perf_counter() - started) * 1000)
    return httpx2.Response(
        200,
        json=data,
        headers={"openai-processing-ms": str(ms), "x-request-id": data["id"]},
    )


async def _handle_async(request: httpx2.Request) -> httpx2.Response:
    await request.aread()
    return await asyncio.to_thread(handle, request)


def transport() -> httpx2.MockTransport:
    """An ``httpx2`` transport that answers with the built-in model (for sync and async clients)."""

    def dispatch(request: httpx2.Request) -> Any:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return handle(request)
        return _handle_async(request)

    return httpx2.MockTransport(dispatch)
