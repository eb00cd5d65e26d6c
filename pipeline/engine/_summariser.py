"""One article to one record: :class:`Summariser` (the request, re-asks, structured-output
fallbacks, a grown output budget on truncation, the faithfulness check, usage and cost).

The answers come from the live transport (:class:`~pipeline.engine._transport.LiveTransport`)
or, for the first request, from an :class:`~pipeline.engine._answer.Answer` obtained
elsewhere (the provider's Batch API, the journal of a crashed run); either way they are read
by :func:`~pipeline.engine._answer.read_answer` and turned into a record here, so a rule
changed here holds for every transport.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from openai import AsyncOpenAI

from pipeline import builtin, providers
from pipeline.articles import Article
from pipeline.client import Endpoint, make_client
from pipeline.engine._answer import (
    ERROR_LIMIT,
    STORE_LIMIT,
    Answer,
    Reading,
    clip,
    read_answer,
    reask_messages,
)
from pipeline.engine._defaults import Pricer, _default_pricer, _default_scorer
from pipeline.engine._events import Event, EventSink, ignore
from pipeline.engine._settings import MAX_OUTPUT_TOKENS_CAP, MODES, RunSettings
from pipeline.engine._transport import (
    Budget,
    Fallback,
    Journal,
    LiveTransport,
    Reask,
    Reply,
    Stopped,
)
from pipeline.engine._wire import _schema_instructions
from pipeline.errors import ModelCallError
from pipeline.prompts import Prompt
from pipeline.ratelimit import Limiter, probe_needed
from pipeline.records import Record
from pipeline.schemas import Schema, load_schema
from pipeline.store import Attempt


class Summariser(LiveTransport):
    """Turns one article into one record with one prompt version on one endpoint.

    A failure that concerns every article (:attr:`stop_reason`) stops all of this
    summariser's work at once: requests in flight are cancelled, sleeps (pacing, backoff)
    end early, and no new request is sent.
    """

    def __init__(
        self,
        prompt: Prompt,
        endpoint: Endpoint,
        *,
        client: AsyncOpenAI | None = None,
        settings: RunSettings | None = None,
        limiter: Limiter | None = None,
        schema: Schema | None = None,
        scorer: Callable[[str, dict[str, Any]], dict[str, Any]] | None = None,
        pricer: Pricer | None = None,
        on_event: EventSink | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.prompt = prompt
        self.endpoint = endpoint
        self.settings = settings or RunSettings()
        self.schema = schema or load_schema(prompt.schema)
        self.client = client or make_client(endpoint, max_connections=self.settings.concurrency)
        self.on_event = on_event or ignore
        # what this run learns about the request the model takes (see pipeline.providers)
        self.shape = providers.RequestShape.for_model(endpoint.model)
        self.limiter = limiter or Limiter(
            self.settings.rpm,
            self.settings.tpm,
            sleep=self._sleep,
            default_pause_s=max(0.01, 2 * self.settings.backoff_initial_s),
            on_pause=self._paused,
            probe=not endpoint.is_builtin
            and endpoint.replay is None
            and probe_needed(
                endpoint.base_url or endpoint.azure_endpoint,
                rpm=self.settings.rpm,
                tpm=self.settings.tpm,
            ),
        )
        self.mode = MODES[0]  # the structured-output mode that works here, learnt per run
        self.scorer = scorer if scorer is not None else _default_scorer()
        self.pricer = pricer if pricer is not None else _default_pricer()
        self._init_transport(journal)

    def _paused(self, seconds: float, why: str) -> None:
        self.on_event(Event("waiting", why, seconds=seconds))

    # -- records -------------------------------------------------------------------------------
    def _record(self, article: Article, *, status: str) -> Record:
        return Record(
            article_id=article.id,
            source=article.source,
            title=article.title,
            prompt=self.prompt.name,
            prompt_version=self.prompt.version,
            prompt_sha256=self.prompt.sha256,
            schema=self.schema.name,
            model=self.endpoint.model,
            status=status,
            url=article.url,
            published=article.date,
            author=article.author,
            site_name=article.site_name,
        )

    def stopped_record(self, article: Article) -> Record:
        reason = self.stop_reason
        record = self._record(article, status="failed")
        record.error = {
            "kind": reason.kind if reason else "http_error",
            "message": "run stopped before this article finished: "
            + (reason.message if reason else "stopped"),
            "last_output": None,
        }
        return record

    # -- requests ------------------------------------------------------------------------------
    def _request(
        self, messages: list[dict[str, str]], max_tokens: int, mode: str
    ) -> dict[str, Any]:
        req: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": messages,
            "max_tokens": max_tokens,
        }
        for key in ("temperature", "top_p", "seed", "reasoning_effort"):
            if key in self.prompt.parameters:
                req[key] = self.prompt.parameters[key]
        if mode == "json_schema":
            req["response_format"] = {
                "type": "json_schema",
                "json_schema": {
                    "name": re.sub(r"[^a-zA-Z0-9_-]", "_", self.schema.name),
                    "schema": self.schema.strict,
                    "strict": True,
                },
            }
        elif mode == "json_object":
            req["response_format"] = {"type": "json_object"}
        return req

    def _messages(
        self, article: Article, variables: dict[str, str] | None, mode: str
    ) -> list[dict[str, str]]:
        messages = self.prompt.render(
            article.text,
            title=article.title,
            date=article.date,
            source=article.source,
            extra=variables,
        )
        messages = [dict(m) for m in messages]
        if mode != "json_schema":
            messages[0]["content"] += _schema_instructions(self.schema)
        return messages

    def first_request(
        self,
        article: Article,
        *,
        variables: dict[str, str] | None = None,
        mode: str | None = None,
        shape: providers.RequestShape | None = None,
    ) -> dict[str, Any]:
        """The body of the first request the live run would send for ``article`` now (model,
        messages, output budget, sampling parameters, structured-output mode, in the shape
        this model is known or has been seen to take): what a Batch API line carries, so a
        batched article is asked exactly as a live one. ``mode`` and ``shape``: those a batch
        job's lines were written in, instead of what is known now."""
        mode = mode or self.mode
        return self.wire(
            self._request(
                self._messages(article, variables, mode), self.prompt.max_output_tokens, mode
            ),
            shape,
        )

    # -- one article -------------------------------------------------------------------------
    async def summarise(
        self,
        article: Article,
        *,
        variables: dict[str, str] | None = None,
        attempts: list[Attempt] | None = None,
        answer: Answer | None = None,
        key: str | None = None,
    ) -> tuple[Record, list[Attempt]]:
        """One article to one record.

        ``variables`` fill further prompt slots (the judge's ``{{summary}}``); ``attempts``,
        when given, receives every attempt as it happens; ``answer`` is the answer to the
        first request obtained elsewhere (no HTTP request is made for it; re-asks and a
        grown budget still go live, within ``--max-attempts``); ``key`` is the article's cache
        key, under which the journal keeps each answer the moment it arrives.
        """
        attempts = attempts if attempts is not None else []
        started = time.perf_counter()
        answered: float | None = None
        budget = Budget(self.settings.max_attempts)
        record = self._record(article, status="failed")
        if answer is not None and answer.batch_id:
            record.batch_id = answer.batch_id
        try:
            summary, mode = await self._ask(article, attempts, budget, variables, answer, key)
            answered = time.perf_counter()
            record.status = "ok"
            record.summary = summary
            record.mode = mode
            if self.scorer is not None and self.settings.check_faithfulness:
                try:
                    # the model saw the title too: a headline that repeats it is supported
                    seen = f"{article.title}\n\n{article.text}" if article.title else article.text
                    record.checks = await asyncio.to_thread(self.scorer, seen, summary)
                except Exception as exc:  # a check annotates a record, never fails it
                    record.checks = {
                        "faithfulness": None,
                        "unsupported": [],
                        "error": f"the faithfulness check failed: {type(exc).__name__}: {exc}",
                    }
        except Stopped:
            record = self.stopped_record(article)
            record.batch_id = answer.batch_id if answer is not None else None
        except ModelCallError as exc:
            record.error = exc.as_error()
            record.error["last_output"] = clip(record.error["last_output"], STORE_LIMIT)
        self._account(record, attempts, budget, started, answered, answer)
        return record, attempts

    def _account(
        self,
        record: Record,
        attempts: list[Attempt],
        budget: Budget,
        started: float,
        answered: float | None,
        answer: Answer | None,
    ) -> None:
        """Attempts, usage, latency and cost onto ``record``."""
        record.attempts = len(attempts)
        usage = {
            "prompt_tokens": sum(a.prompt_tokens for a in attempts),
            "completion_tokens": sum(a.completion_tokens for a in attempts),
        }
        for extra in ("cached_tokens", "reasoning_tokens"):
            total = sum(getattr(a, extra) for a in attempts)
            if total:
                usage[extra] = total
        record.usage = usage
        # the model's latency: first request sent to last answer, retries and backoff included;
        # not the wait for a concurrency slot or the pace, and not the faithfulness check; an
        # answer from elsewhere brings its own
        first = budget.first_sent or started
        live_ms = int(((answered or time.perf_counter()) - first) * 1000)
        if answer is not None and budget.first_sent is None:
            live_ms = 0
        record.latency_ms = max(0, live_ms + (answer.latency_ms if answer else 0))
        if self.endpoint.model == builtin.MODEL_NAME and self.endpoint.replay is None:
            record.cost_usd = 0.0
        elif self.pricer is not None and (usage["prompt_tokens"] or usage["completion_tokens"]):
            costs = [self.pricer(self.endpoint.model, a) for a in attempts]
            record.cost_usd = (
                None if any(c is None for c in costs) else sum(c or 0.0 for c in costs)
            )
            if record.cost_usd is None:
                from pipeline.prices import missing_price_note

                note = missing_price_note(None, self.endpoint.model)
                if note is not None:
                    self.on_event(Event("note", note))

    def _log_reply(
        self,
        attempts: list[Attempt],
        reply: Reply,
        mode: str,
        reading: Reading,
        outcome: str,
        error: str | None,
    ) -> None:
        u = reading.usage
        attempts.append(
            Attempt(
                len(attempts) + 1,
                reply.purpose,
                mode,
                200,
                outcome,
                clip(error, STORE_LIMIT),
                clip(reading.content, STORE_LIMIT),
                u.prompt_tokens,
                u.completion_tokens,
                reply.latency_ms,
                cached_tokens=u.cached_tokens,
                reasoning_tokens=u.reasoning_tokens,
                origin=reply.origin,
            )
        )

    async def _ask(
        self,
        article: Article,
        attempts: list[Attempt],
        budget: Budget,
        variables: dict[str, str] | None,
        answer: Answer | None,
        key: str | None,
    ) -> tuple[dict[str, Any], str]:
        """The re-ask / fallback / budget loop around the transport (which owns transport
        retries). Only a 200 answer's text ever enters the conversation."""
        conversation: list[dict[str, str]] = []
        max_tokens = self.prompt.max_output_tokens
        reasks = 0
        grown = False
        purpose = "first"
        while True:
            # the first answer, obtained elsewhere, answers a request sent in its own mode
            mode = answer.mode if answer is not None and answer.mode else self.mode
            messages = self._messages(article, variables, mode) + conversation
            req = self._request(messages, max_tokens, mode)
            if answer is not None:  # the first request was answered elsewhere
                budget.used += 1
                reply = Reply(answer.body, answer.latency_ms, purpose, origin=answer.origin)
                answer = None
            else:
                if budget.left <= 0:
                    last = attempts[-1] if attempts else None
                    raise ModelCallError(
                        last.outcome
                        if last and last.outcome in ("schema_invalid", "truncated")
                        else "schema_invalid",
                        f"gave up after {budget.used} attempts (--max-attempts {budget.total})",
                        attempts=len(attempts),
                        last_output=last.raw_output if last else None,
                    )
                try:
                    reply = await self._send(
                        req, attempts, budget, purpose, key=key, article_id=article.id
                    )
                except Reask as rejected:  # the provider refused the model's answer as invalid
                    if reasks >= self.settings.max_reasks:
                        raise ModelCallError(
                            "schema_invalid",
                            f"the provider rejected the answer after {reasks} re-ask(s): "
                            f"{rejected.message}",
                            attempts=len(attempts),
                            last_output=rejected.last_output,
                        ) from None
                    reasks += 1
                    purpose = "reask"
                    conversation = reask_messages(
                        rejected.last_output, [clip(rejected.message, ERROR_LIMIT) or ""]
                    )
                    continue
                except Fallback:
                    nxt = MODES.index(mode) + 1
                    if nxt >= len(MODES):
                        raise ModelCallError(
                            "http_error",
                            "the server rejects every structured-output mode",
                            attempts=len(attempts),
                        ) from None
                    if self.mode == mode:
                        self.mode = MODES[nxt]
                        self.on_event(
                            Event(
                                "adapted",
                                f"the server rejects {mode} structured output: "
                                f"using {MODES[nxt]} for the rest of the run",
                            )
                        )
                    purpose = "fallback"
                    continue
            reading = read_answer(reply.body, mode=mode, schema=self.schema)
            if reading.outcome == "refusal":
                why = reading.refusal or "content_filter"
                self._log_reply(attempts, reply, mode, reading, "refusal", why)
                raise ModelCallError(
                    "refusal",
                    f"the model refused: {clip(reading.refusal, ERROR_LIMIT) or 'content filter'}",
                    attempts=len(attempts),
                    last_output=reading.refusal or reading.content,
                )
            if reading.outcome == "truncated":
                self._log_reply(
                    attempts,
                    reply,
                    mode,
                    reading,
                    "truncated",
                    f"finish_reason length at max_tokens={max_tokens}",
                )
                if not grown and max_tokens < MAX_OUTPUT_TOKENS_CAP:
                    grown = True
                    max_tokens = min(MAX_OUTPUT_TOKENS_CAP, max_tokens * 2)
                    purpose = "budget"
                    continue
                raise ModelCallError(
                    "truncated",
                    f"the answer was cut at max_tokens={max_tokens}",
                    attempts=len(attempts),
                    last_output=reading.content,
                )
            if reading.outcome == "ok":
                self._log_reply(attempts, reply, mode, reading, "ok", None)
                return reading.data, mode
            self._log_reply(
                attempts, reply, mode, reading, "schema_invalid", "; ".join(reading.errors[:10])
            )
            if reasks >= self.settings.max_reasks:
                raise ModelCallError(
                    "schema_invalid",
                    f"the answer broke {self.schema.name} after {reasks} re-ask(s): "
                    + "; ".join(reading.errors[:5]),
                    attempts=len(attempts),
                    last_output=reading.content,
                )
            reasks += 1
            purpose = "reask"
            conversation = reask_messages(reading.content, reading.errors)
