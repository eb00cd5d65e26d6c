"""One article to one record: :class:`Summariser` (requests, transport retries, re-asks,
structured-output fallbacks, a grown output budget on truncation, stopping the run)."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import re
import time
from collections.abc import Callable
from typing import Any

from openai import AsyncOpenAI
from tenacity import AsyncRetrying, RetryError, retry_if_exception, stop_after_attempt

from pipeline import builtin
from pipeline.articles import Article
from pipeline.cassettes import scrub_text
from pipeline.client import Endpoint, make_client
from pipeline.engine._defaults import _default_pricer, _default_scorer
from pipeline.engine._settings import MAX_OUTPUT_TOKENS_CAP, MODES, RunSettings
from pipeline.engine._wire import _schema_instructions, _sdk_arguments, extract_json
from pipeline.errors import ModelCallError, RunStopped
from pipeline.prompts import Prompt
from pipeline.ratelimit import Limiter
from pipeline.records import Record
from pipeline.retry import Failure, classify, wait_retry_after_or_backoff
from pipeline.schemas import Schema, load_schema
from pipeline.store import Attempt


class _Budget:
    def __init__(self, total: int) -> None:
        self.total = total
        self.used = 0
        self.first_sent: float | None = None  # when the article's first request went out

    @property
    def left(self) -> int:
        return self.total - self.used


class Summariser:
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
        pricer: Callable[[str, int, int], float | None] | None = None,
    ) -> None:
        self.prompt = prompt
        self.endpoint = endpoint
        self.settings = settings or RunSettings()
        self.schema = schema or load_schema(prompt.schema)
        self.client = client or make_client(endpoint, max_connections=self.settings.concurrency)
        self.limiter = limiter or Limiter(
            self.settings.rpm,
            self.settings.tpm,
            sleep=self._sleep,
            default_pause_s=max(0.01, 2 * self.settings.backoff_initial_s),
        )
        self.mode = MODES[0]  # the structured-output mode that works here, learnt per run
        self.scorer = scorer if scorer is not None else _default_scorer()
        self.pricer = pricer if pricer is not None else _default_pricer()
        self.stop_reason: Failure | None = None
        self._stopped = asyncio.Event()
        self._calls: set[asyncio.Task[Any]] = set()  # tasks awaiting an HTTP answer
        self._cancelled: set[asyncio.Task[Any]] = set()  # ... that stop() cancelled
        self._slots = asyncio.Semaphore(max(1, self.settings.concurrency))  # requests in flight
        self._confirmed: str | None = None  # the mode a 200 answer has shown to work
        self._mode_probe: asyncio.Future[None] | None = None  # one request tries a new mode
        self._rng_wait = wait_retry_after_or_backoff(
            initial=self.settings.backoff_initial_s, cap=self.settings.backoff_cap_s
        )

    # -- stopping ------------------------------------------------------------------------------
    def stop(self, failure: Failure) -> None:
        """Stop the run: cancel the requests in flight; every later attempt ends at once."""
        if self.stop_reason is not None:
            return
        self.stop_reason = failure
        self._stopped.set()
        for task in list(self._calls):
            self._cancelled.add(task)
            task.cancel()

    async def _sleep(self, seconds: float) -> None:
        """``asyncio.sleep`` that ends with :class:`_Stopped` as soon as the run stops."""
        if self.stop_reason is None and seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), seconds)
        if self.stop_reason is not None:
            raise _Stopped()

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

    # -- one request, with the transport retry layer -----------------------------------------
    def _request(
        self, messages: list[dict[str, str]], max_tokens: int, mode: str
    ) -> dict[str, Any]:
        req: dict[str, Any] = {
            "model": self.endpoint.model,
            "messages": messages,
            "max_tokens": max_tokens,
        }
        for key in ("temperature", "top_p", "seed"):
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

    def _classify(self, exc: BaseException) -> Failure:
        """:func:`classify`, with key-like strings and account ids in the server's message
        redacted: the message reaches the store, the records, the log and reports."""
        failure = classify(exc, url=self.endpoint.label)
        return dataclasses.replace(failure, message=scrub_text(failure.message))

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, _Stopped | _Fallback | ModelCallError) or self.stop_reason is not None:
            return False
        return classify(exc).retryable

    async def _send(
        self, req: dict[str, Any], attempts: list[Attempt], budget: _Budget, purpose: str
    ) -> tuple[Any, int, str]:
        """Send ``req`` with transport retries; returns (parsed completion, latency ms, the
        purpose of the attempt that answered: ``purpose``, or ``retry`` after a failure).

        Every HTTP request counts against ``budget`` and leaves an :class:`Attempt`. Only
        transport failures are retried here; nothing from a failed request reaches the
        conversation.
        """
        chars = sum(len(m["content"]) for m in req["messages"])
        mode = req.get("response_format", {}).get("type", "prompt")
        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, budget.left)),
            wait=self._rng_wait,
            retry=retry_if_exception(self._retryable),
            sleep=self._sleep,
            reraise=False,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    used = purpose if attempt.retry_state.attempt_number == 1 else "retry"
                    completion, latency = await self._attempt(
                        req, attempts, budget, used, mode, chars
                    )
                    return completion, latency, used
        except RetryError as err:
            last = err.last_attempt.exception()
            assert last is not None
            raise self._failure_error(last, attempts) from err
        except _Stopped:
            raise
        except Exception as exc:
            raise self._failure_error(exc, attempts) from exc
        raise AssertionError("unreachable")

    async def _attempt(
        self,
        req: dict[str, Any],
        attempts: list[Attempt],
        budget: _Budget,
        purpose: str,
        mode: str,
        chars: int,
    ) -> tuple[Any, int]:
        """One HTTP request: paced by the limiter, cancelled if the run stops meanwhile.

        Until a structured-output mode has had a 200 answer, one request at a time tries it:
        the others wait, so a server that rejects it costs one 400, not one per article.
        """
        while self._confirmed != mode and self._mode_probe is not None:
            await asyncio.wait({self._mode_probe})
        if self.stop_reason is not None:
            raise _Stopped()
        if MODES.index(mode) < MODES.index(self.mode):  # learnt while this one waited
            raise _Fallback(f"the server rejects {mode} output")
        probe: asyncio.Future[None] | None = None
        if self._confirmed != mode:
            probe = self._mode_probe = asyncio.get_running_loop().create_future()
        try:
            return await self._request_once(req, attempts, budget, purpose, mode, chars)
        finally:
            if probe is not None:
                probe.set_result(None)
                self._mode_probe = None

    async def _request_once(
        self,
        req: dict[str, Any],
        attempts: list[Attempt],
        budget: _Budget,
        purpose: str,
        mode: str,
        chars: int,
    ) -> tuple[Any, int]:
        """One HTTP request. A concurrency slot is held from pacing to the last byte of the
        answer only: building the request, parsing, validating, scoring and storing happen
        outside it, so ``--concurrency`` requests stay in flight at the server."""
        await self._slots.acquire()
        try:
            sent_at = await self.limiter.acquire(self.limiter.estimate(chars, req["max_tokens"]))
        except BaseException:
            self._slots.release()
            raise
        if self.stop_reason is not None:
            self.limiter.release()
            self._slots.release()
            raise _Stopped()
        budget.used += 1
        started = time.perf_counter()
        if budget.first_sent is None:
            budget.first_sent = started

        def log(status: int | None, kind: str, message: str) -> None:
            ms = int((time.perf_counter() - started) * 1000)
            attempts.append(
                Attempt(len(attempts) + 1, purpose, mode, status, kind, message, None, 0, 0, ms)
            )

        # awaited in this task (no task of its own: one loop hop fewer each way, which under
        # load is a whole turn of the ready queue); stop() cancels this task while it waits here
        task = asyncio.current_task()
        assert task is not None
        self._calls.add(task)
        try:
            try:
                raw = await self.client.chat.completions.with_raw_response.create(
                    **_sdk_arguments(req)
                )
            finally:
                self._calls.discard(task)
                self.limiter.release()
                self._slots.release()
            await asyncio.sleep(0)  # let the next request go out before parsing this answer
            completion = raw.parse()
        except asyncio.CancelledError:
            if task in self._cancelled:
                self._cancelled.discard(task)
                if task.uncancel() == 0:  # only stop() cancelled it: end as a stopped article
                    log(
                        None,
                        self.stop_reason.kind if self.stop_reason else "http_error",
                        "cancelled in flight: the run stopped",
                    )
                    raise _Stopped() from None
            raise
        except Exception as exc:
            failure = self._classify(exc)
            if failure.stop_run:
                self.stop(failure)
            response = getattr(exc, "response", None)
            headers = getattr(response, "headers", None)
            self.limiter.observe_headers(headers)
            if failure.kind == "rate_limited" and failure.retryable:
                self.limiter.rate_limited(failure.retry_after, sent_at=sent_at)
            log(failure.status_code, failure.kind, failure.message)
            raise
        self._confirmed = mode
        usage = completion.usage
        self.limiter.observe(
            raw.headers,
            estimated_prompt=int(chars / 4) + 1,
            actual_prompt=usage.prompt_tokens if usage else None,
        )
        return completion, int((time.perf_counter() - started) * 1000)

    def _record_hint(self) -> str:
        return (
            f"`summarise run PATH... --prompt {self.prompt.ref} --model {self.endpoint.model}"
            f" --record {self.endpoint.replay}`"
        )

    def _failure_error(self, exc: BaseException, attempts: list[Attempt]) -> Exception:
        if isinstance(exc, ModelCallError | _Stopped | _Fallback):
            return exc
        failure = self._classify(exc)
        if failure.replay_miss:
            message = (
                f"the cassette {self.endpoint.replay} holds no recording of this request "
                f"({self.prompt.ref}, model {self.endpoint.model}): the article, the prompt "
                f"or the model changed since it was recorded; re-record it with "
                f"{self.settings.replay_hint or self._record_hint()}"
            )
            return ModelCallError("http_error", message, attempts=len(attempts))
        if failure.fallback:
            return _Fallback(failure.message)
        stops = failure.stop_run or failure.stop_when_exhausted
        if stops:
            self.stop(failure)
        cls = RunStopped if stops else ModelCallError
        return cls(
            failure.kind, failure.message, attempts=len(attempts), status_code=failure.status_code
        )

    # -- one article -------------------------------------------------------------------------
    async def summarise(
        self,
        article: Article,
        *,
        variables: dict[str, str] | None = None,
        attempts: list[Attempt] | None = None,
    ) -> tuple[Record, list[Attempt]]:
        """One article to one record; ``variables`` fill further prompt slots (the judge's
        ``{{summary}}``). ``attempts``, when given, receives every attempt as it happens."""
        attempts = attempts if attempts is not None else []
        started = time.perf_counter()
        answered: float | None = None
        budget = _Budget(self.settings.max_attempts)
        record = self._record(article, status="failed")
        try:
            summary, mode = await self._ask(article, attempts, budget, variables)
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
        except _Stopped:
            record = self.stopped_record(article)
        except ModelCallError as exc:
            record.error = exc.as_error()
        record.attempts = len(attempts)
        record.usage = {
            "prompt_tokens": sum(a.prompt_tokens for a in attempts),
            "completion_tokens": sum(a.completion_tokens for a in attempts),
        }
        # the model's latency: first request sent to last answer, retries and backoff included;
        # not the wait for a concurrency slot or the pace, and not the faithfulness check
        first = budget.first_sent or started
        record.latency_ms = max(0, int(((answered or time.perf_counter()) - first) * 1000))
        if self.pricer is not None and (
            record.usage["prompt_tokens"] or record.usage["completion_tokens"]
        ):
            record.cost_usd = self.pricer(
                self.endpoint.model,
                record.usage["prompt_tokens"],
                record.usage["completion_tokens"],
            )
        elif self.endpoint.model == builtin.MODEL_NAME:
            record.cost_usd = 0.0
        return record, attempts

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

    async def _ask(
        self,
        article: Article,
        attempts: list[Attempt],
        budget: _Budget,
        variables: dict[str, str] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """The re-ask / fallback / budget loop around :meth:`_send` (which owns transport
        retries). Only a 200 answer's text ever enters the conversation."""
        base = self.prompt.render(
            article.text,
            title=article.title,
            date=article.date,
            source=article.source,
            extra=variables,
        )
        conversation: list[dict[str, str]] = []
        max_tokens = self.prompt.max_output_tokens
        reasks = 0
        grown = False
        purpose = "first"
        while True:
            mode = self.mode
            messages = [dict(m) for m in base]
            if mode != "json_schema":
                messages[0]["content"] += _schema_instructions(self.schema)
            messages += conversation
            req = self._request(messages, max_tokens, mode)
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
                completion, latency, used = await self._send(req, attempts, budget, purpose)
            except _Fallback:
                nxt = MODES.index(mode) + 1
                if nxt >= len(MODES):
                    raise ModelCallError(
                        "http_error",
                        "the server rejects every structured-output mode",
                        attempts=len(attempts),
                    ) from None
                if self.mode == mode:
                    self.mode = MODES[nxt]
                purpose = "fallback"
                continue
            choice = completion.choices[0] if completion.choices else None
            u = completion.usage
            pt = u.prompt_tokens if u else 0
            ct = u.completion_tokens if u else 0
            message = choice.message if choice else None
            content = message.content if message else None
            refusal = getattr(message, "refusal", None) if message else None
            finish = choice.finish_reason if choice else None

            def log(
                outcome: str,
                error: str | None,
                *,
                _p: str = used,
                _c: Any = content,
                _pt: int = pt,
                _ct: int = ct,
                _l: int = latency,
                _m: str = mode,
            ) -> None:
                attempts.append(
                    Attempt(len(attempts) + 1, _p, _m, 200, outcome, error, _c, _pt, _ct, _l)
                )

            if refusal or finish == "content_filter":
                log("refusal", refusal or "content_filter")
                raise ModelCallError(
                    "refusal",
                    f"the model refused: {refusal or 'content filter'}",
                    attempts=len(attempts),
                    last_output=refusal or content,
                )
            if finish == "length":
                log("truncated", f"finish_reason length at max_tokens={max_tokens}")
                if not grown and max_tokens < MAX_OUTPUT_TOKENS_CAP:
                    grown = True
                    max_tokens = min(MAX_OUTPUT_TOKENS_CAP, max_tokens * 2)
                    purpose = "budget"
                    continue
                raise ModelCallError(
                    "truncated",
                    f"the answer was cut at max_tokens={max_tokens}",
                    attempts=len(attempts),
                    last_output=content,
                )
            try:
                data = (
                    extract_json(content or "") if mode == "prompt" else json.loads(content or "")
                )
                errors = self.schema.errors(data)
            except ValueError as exc:
                errors = [f"(root): the answer is not valid JSON: {exc}"]
                data = None
            if not errors:
                log("ok", None)
                return data, mode
            log("schema_invalid", "; ".join(errors[:10]))
            if reasks >= self.settings.max_reasks:
                raise ModelCallError(
                    "schema_invalid",
                    f"the answer broke {self.schema.name} after {reasks} re-ask(s): "
                    + "; ".join(errors[:5]),
                    attempts=len(attempts),
                    last_output=content,
                )
            reasks += 1
            purpose = "reask"
            conversation = [
                {"role": "assistant", "content": content or ""},
                {
                    "role": "user",
                    "content": "Your answer did not match the required JSON schema:\n"
                    + "\n".join(f"- {e}" for e in errors[:20])
                    + "\nReturn the corrected JSON object only.",
                },
            ]


class _Stopped(Exception):
    """The run was stopped by another article's failure."""


class _Fallback(Exception):
    """The server rejected this structured-output mode."""
