"""The live transport: one request at a time through pacing, the concurrency slots, the one
retry layer (tenacity) and the journal; the run stop that cancels requests in flight.

:class:`LiveTransport` is the part of :class:`~pipeline.engine.Summariser` that talks HTTP.
What it returns is a response *body* (a dict, exactly as the server sent it) with its latency;
what the body means is :mod:`pipeline.engine._answer`'s job, shared with the other transports.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from typing import Any

from openai import AsyncOpenAI
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    RetryError,
    retry_if_exception,
    stop_after_attempt,
)

from pipeline.cassettes import scrub_text
from pipeline.client import Endpoint
from pipeline.engine._events import Event, EventSink
from pipeline.engine._settings import MODES, RunSettings
from pipeline.engine._wire import _sdk_arguments
from pipeline.errors import ModelCallError, RunStopped
from pipeline.prompts import Prompt
from pipeline.ratelimit import Limiter
from pipeline.retry import Failure, classify, wait_retry_after_or_backoff
from pipeline.store import Attempt
from pipeline.store._journal import request_sha256


class Stopped(Exception):
    """The run was stopped by another article's failure."""


class Fallback(Exception):
    """The server rejected this structured-output mode."""


class BadBody(Exception):
    """A 200 response whose body is not a JSON object (a proxy's page, a cut connection)."""


class Journal:
    """Where answers are kept the moment they arrive (see :mod:`pipeline.store._journal`):
    the store, the article's cache key, and the request hashes that already have an answer."""

    def __init__(self, store: Any, pending: set[str]) -> None:
        self.store = store
        self.pending = pending


@dataclasses.dataclass
class Budget:
    """One article's HTTP requests: ``total`` allowed, ``used`` so far."""

    total: int
    used: int = 0
    first_sent: float | None = None  # when the article's first request went out

    @property
    def left(self) -> int:
        return self.total - self.used


@dataclasses.dataclass(frozen=True)
class Reply:
    """A 200 answer from the live transport: the body, its latency, the attempt's purpose."""

    body: dict[str, Any]
    latency_ms: int
    purpose: str
    origin: str = "live"


class LiveTransport:
    """Requests over HTTP for one prompt version on one endpoint (a base of ``Summariser``)."""

    prompt: Prompt
    endpoint: Endpoint
    settings: RunSettings
    client: AsyncOpenAI
    limiter: Limiter
    mode: str
    on_event: EventSink

    def _init_transport(self, journal: Journal | None) -> None:
        self.stop_reason: Failure | None = None
        self.journal = journal
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
        self.on_event(Event("stopped", failure.message))
        for task in list(self._calls):
            self._cancelled.add(task)
            task.cancel()

    async def _sleep(self, seconds: float) -> None:
        """``asyncio.sleep`` that ends with :class:`Stopped` as soon as the run stops."""
        if self.stop_reason is None and seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopped.wait(), seconds)
        if self.stop_reason is not None:
            raise Stopped()

    # -- classification -----------------------------------------------------------------------
    def _classify(self, exc: BaseException) -> Failure:
        """:func:`classify`, with key-like strings and account ids in the server's message
        redacted: the message reaches the store, the records, the log and reports."""
        failure = classify(exc, url=self.endpoint.label)
        return dataclasses.replace(failure, message=scrub_text(failure.message))

    def _retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, Stopped | Fallback | ModelCallError) or self.stop_reason is not None:
            return False
        if isinstance(exc, BadBody):
            return True
        return classify(exc).retryable

    def _record_hint(self) -> str:
        return (
            f"`summarise run PATH... --prompt {self.prompt.ref} --model {self.endpoint.model}"
            f" --record {self.endpoint.replay}`"
        )

    def _failure_error(self, exc: BaseException, attempts: list[Attempt]) -> Exception:
        if isinstance(exc, ModelCallError | Stopped | Fallback):
            return exc
        if isinstance(exc, BadBody):
            return ModelCallError("http_error", str(exc), attempts=len(attempts))
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
            return Fallback(failure.message)
        stops = failure.stop_run or failure.stop_when_exhausted
        if stops:
            self.stop(failure)
        cls = RunStopped if stops else ModelCallError
        return cls(
            failure.kind, failure.message, attempts=len(attempts), status_code=failure.status_code
        )

    # -- one request, with the transport retry layer -----------------------------------------
    async def _send(
        self,
        req: dict[str, Any],
        attempts: list[Attempt],
        budget: Budget,
        purpose: str,
        *,
        key: str | None = None,
        article_id: str | None = None,
    ) -> Reply:
        """Send ``req`` with transport retries; the reply's purpose is ``purpose``, or
        ``retry`` when an earlier try of this request failed.

        Every HTTP request counts against ``budget`` and leaves an :class:`Attempt`. Only
        transport failures are retried here; nothing from a failed request reaches the
        conversation.
        """
        chars = sum(len(m["content"]) for m in req["messages"])
        mode = req.get("response_format", {}).get("type", "prompt")
        request_hash = request_sha256(req) if self.journal is not None else None

        def announce(state: RetryCallState) -> None:
            wait = state.next_action.sleep if state.next_action else 0.0
            exc = state.outcome.exception() if state.outcome else None
            kind = self._classify(exc).kind if exc is not None else "error"
            self.on_event(
                Event("retrying", f"{kind}: retrying", seconds=wait, article_id=article_id)
            )

        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, budget.left)),
            wait=self._rng_wait,
            retry=retry_if_exception(self._retryable),
            sleep=self._sleep,
            before_sleep=announce,
            reraise=False,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    used = purpose if attempt.retry_state.attempt_number == 1 else "retry"
                    return await self._attempt(
                        req, attempts, budget, used, mode, chars, key, request_hash
                    )
        except RetryError as err:
            last = err.last_attempt.exception()
            assert last is not None
            raise self._failure_error(last, attempts) from err
        except Stopped:
            raise
        except Exception as exc:
            raise self._failure_error(exc, attempts) from exc
        raise AssertionError("unreachable")

    async def _attempt(
        self,
        req: dict[str, Any],
        attempts: list[Attempt],
        budget: Budget,
        purpose: str,
        mode: str,
        chars: int,
        key: str | None,
        request_hash: str | None,
    ) -> Reply:
        """One HTTP request: paced by the limiter, cancelled if the run stops meanwhile.

        Until a structured-output mode has had a 200 answer, one request at a time tries it:
        the others wait, so a server that rejects it costs one 400, not one per article.
        """
        if request_hash is not None and self.journal and request_hash in self.journal.pending:
            stored = self.journal.store.stored_answer(request_hash)
            self.journal.pending.discard(request_hash)
            if stored is not None and stored[0] == 200:
                with contextlib.suppress(ValueError):
                    body = json.loads(stored[1])
                    if isinstance(body, dict):
                        budget.used += 1
                        return Reply(body, stored[2], purpose, origin="stored")
        while self._confirmed != mode and self._mode_probe is not None:
            await asyncio.wait({self._mode_probe})
        if self.stop_reason is not None:
            raise Stopped()
        if MODES.index(mode) < MODES.index(self.mode):  # learnt while this one waited
            raise Fallback(f"the server rejects {mode} output")
        probe: asyncio.Future[None] | None = None
        if self._confirmed != mode:
            probe = self._mode_probe = asyncio.get_running_loop().create_future()
        try:
            return await self._request_once(
                req, attempts, budget, purpose, mode, chars, key, request_hash
            )
        finally:
            if probe is not None:
                probe.set_result(None)
                self._mode_probe = None

    async def _request_once(
        self,
        req: dict[str, Any],
        attempts: list[Attempt],
        budget: Budget,
        purpose: str,
        mode: str,
        chars: int,
        key: str | None,
        request_hash: str | None,
    ) -> Reply:
        """One HTTP request. A concurrency slot is held from pacing to the last byte of the
        answer only: building the request, parsing, validating, scoring and storing happen
        outside it, so ``--concurrency`` requests stay in flight at the server. A 200 answer
        is kept in the journal before anything else is done with it."""
        await self._slots.acquire()
        try:
            budget_tokens = int(req.get("max_completion_tokens") or req.get("max_tokens") or 0)
            sent_at = await self.limiter.acquire(self.limiter.estimate(chars, budget_tokens))
        except BaseException:
            self._slots.release()
            raise
        if self.stop_reason is not None:
            self.limiter.release()
            self._slots.release()
            raise Stopped()
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
            latency = int((time.perf_counter() - started) * 1000)
            content = raw.http_response.content
            if self.journal is not None and key is not None and request_hash is not None:
                self.journal.store.save_answer(
                    key,
                    request_hash,
                    raw.http_response.status_code,
                    content.decode("utf-8", "replace"),
                    latency,
                )
            await asyncio.sleep(0)  # let the next request go out before parsing this answer
            try:
                body = json.loads(content)
            except (ValueError, RecursionError):
                body = None
            if not isinstance(body, dict):
                raise BadBody(
                    f"HTTP 200 from {self.endpoint.label} with a body that is not a JSON object "
                    f"({len(content):,} bytes)"
                )
        except asyncio.CancelledError:
            if task in self._cancelled:
                self._cancelled.discard(task)
                if task.uncancel() == 0:  # only stop() cancelled it: end as a stopped article
                    log(
                        None,
                        self.stop_reason.kind if self.stop_reason else "http_error",
                        "cancelled in flight: the run stopped",
                    )
                    raise Stopped() from None
            raise
        except BadBody as exc:
            log(200, "http_error", str(exc))
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
        usage = body.get("usage")
        prompt_tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        self.limiter.observe(
            raw.headers,
            estimated_prompt=int(chars / 4) + 1,
            actual_prompt=prompt_tokens if isinstance(prompt_tokens, int) else None,
        )
        return Reply(body, latency, purpose)
