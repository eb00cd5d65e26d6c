"""TEMPORARY: the engine's answer path (``Summariser.first_request`` and
``Summariser.summarise(article, answer=Answer(...))``) is being landed by the lead; until it
is on main, these two functions stand in for it with the same contract. Removed once it
lands."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Any

from pipeline.articles import Article
from pipeline.engine import Summariser
from pipeline.engine._wire import _schema_instructions
from pipeline.records import Record
from pipeline.store import Attempt


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    status_code: int = 200
    latency_ms: int = 0
    origin: str = "batch"
    batch_id: str | None = None


def first_request(summariser: Summariser, article: Article) -> dict[str, Any]:
    native = getattr(summariser, "first_request", None)
    if native is not None:
        return native(article)  # type: ignore[no-any-return]
    mode = summariser.mode
    base = summariser.prompt.render(
        article.text, title=article.title, date=article.date, source=article.source
    )
    messages = [dict(m) for m in base]
    if mode != "json_schema":
        messages[0]["content"] += _schema_instructions(summariser.schema)
    return summariser._request(messages, summariser.prompt.max_output_tokens, mode)


_pending: contextvars.ContextVar[Answer | None] = contextvars.ContextVar("answer", default=None)


async def summarise(
    summariser: Summariser, article: Article, answer: Answer, key: str
) -> tuple[Record, list[Attempt]]:
    native = getattr(summariser, "first_request", None)
    if native is not None:
        from pipeline import engine

        real = engine.Answer(  # type: ignore[attr-defined]
            answer.body,
            status_code=answer.status_code,
            latency_ms=answer.latency_ms,
            origin=answer.origin,
            batch_id=answer.batch_id,
        )
        return await summariser.summarise(article, answer=real, key=key)  # type: ignore[call-arg]
    from openai.types.chat import ChatCompletion

    if not getattr(summariser, "_batch_shim", False):
        original = summariser._send

        async def send(req: Any, attempts: Any, budget: Any, purpose: str) -> Any:
            given = _pending.get()
            if given is None:
                return await original(req, attempts, budget, purpose)
            _pending.set(None)
            budget.used += 1
            return ChatCompletion.model_validate(given.body), given.latency_ms, purpose

        summariser._send = send  # type: ignore[method-assign]
        summariser._batch_shim = True  # type: ignore[attr-defined]
    _pending.set(answer)
    record, attempts = await summariser.summarise(article)
    record.batch_id = answer.batch_id
    return record, attempts
