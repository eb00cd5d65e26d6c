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

from pipeline import providers
from pipeline.cassettes import scrub_text
from pipeline.client import Endpoint
from pipeline.engine._events import Event, EventSink
from pipeline.engine._settings import MODES, RunSettings
from pipeline.engine._wire import _sdk_arguments
from pipeline.errors import ModelCallError, RunStopped
from pipeline.prompts import Prompt
from pipeline.ratelimit import Limiter
from pipeline.retry import BodyError, Failure, classify, wait_retry_after_or_backoff
from pipeline.store import Attempt
from pipeline.store._journal import request_sha256


class Stopped(Exception):
    """The run was stopped by another article's failure."""


class Fallback(Exception):
    """The server rejected this structured-output mode."""


class BadBody(Exception):
    """A 200 response whose body is not a JSON object (a proxy's page, a cut connection), or
    holds no choices and no error: retried as a transient failure."""


class Reask(Exception):
    """The server rejected the model's answer as invalid (Groq's ``json_validate_failed``):
    re-ask like ``schema_invalid``, with what the model produced."""

    def __init__(self, message: str, last_output: str | None) -> None:
        super().__init__(message)
        self.message = message
        self.last_output = last_output


class _Adapted(Exception):
    """A 400 about one request parameter was learnt: send the request again at once."""


#: how many parameter adaptations one request may go through before its 400 is final
MAX_ADAPTATIONS = 4
#: how long the others wait for the first request of a mode to be rejected (a 400 comes back
#: before any generation: milliseconds from a local server, a round trip from a hosted one)
REJECTION_WINDOW_S = 0.5


class Journal:
    """Where answers are kept the moment they arrive (see :mod:`pipeline.store._journal`):
    the store, and the answers an earlier run stored and this run may take instead of asking
    (request hash -> answer ids, oldest first: the same request may have been answered more
    than once, and each answer is taken once, in order)."""

    def __init__(self, store: Any, pending: dict[str, list[int]]) -> None:
        self.store = store
        self.pending = pending
        self.taken: set[int] = set()

    def add(self, index: dict[str, list[int]]) -> None:
        """More stored answers (``Store.journal_index``), those not seen before: what a dead
        holder journalled after this run read the journal, when its lease is taken over."""
        for request_hash, ids in index.items():
            known = self.pending.setdefault(request_hash, [])
            known.extend(i for i in ids if i not in self.taken and i not in known)
            known.sort()
            if not known:
                del self.pending[request_hash]

    def take(self, request_hash: str) -> tuple[int, str, int] | None:
        """The next stored answer to this request, if one is left: (status, body, latency)."""
        ids = self.pending.get(request_hash)
        while ids:
            answer_id = ids.pop(0)
            self.taken.add(answer_id)
            stored: tuple[int, str, int] | None = self.store.stored_answer(answer_id)
            if stored is not None:
                return stored
        self.pending.pop(request_hash, None)
        return None


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


def _parse(content: bytes | str) -> dict[str, Any] | None:
    """A response body as a JSON object, or None (not JSON, not an object, nested too deep)."""
    try:
        body = json.loads(content)
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


def is_answer(body: dict[str, Any]) -> bool:
    """A 200 body that is a model's answer: ``choices`` and no error inside (OpenRouter sends
    errors with status 200). The live path accepts nothing else, and neither does the journal:
    a journalled error body is not an answer to reuse."""
    return providers.body_error(body) is None and bool(body.get("choices"))


class LiveTransport:
    """Requests over HTTP for one prompt version on one endpoint (a base of ``Summariser``)."""

    prompt: Prompt
    endpoint: Endpoint
    settings: RunSettings
    client: AsyncOpenAI
    limiter: Limiter
    mode: str
    on_event: EventSink
    shape: providers.RequestShape

    def _init_transport(self, journal: Journal | None) -> None:
        self.stop_reason: Failure | None = None
        self.journal = journal
        self._stopped = asyncio.Event()
        self._calls: set[asyncio.Task[Any]] = set()  # tasks awaiting an HTTP answer
        self._cancelled: set[asyncio.Task[Any]] = set()  # ... that stop() cancelled
        self._slots = asyncio.Semaphore(max(1, self.settings.concurrency))  # requests in flight
        self._confirmed: str | None = None  # the mode a 200 answer has shown to work
        self._mode_probe: asyncio.Future[None] | None = None  # one request tries a new mode
        self._probe_started = 0.0  # when it went out (the event loop's clock)
        self._tentative: str | None = None  # a mode whose probe outlived the rejection window
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
    def _classify(self, exc: BaseException, request: dict[str, Any] | None = None) -> Failure:
        """:func:`classify`, with key-like strings and account ids in the server's message
        redacted: the message reaches the store, the records, the log and reports."""
        failure = classify(exc, url=self.endpoint.label, request=request)
        return dataclasses.replace(failure, message=scrub_text(failure.message))

    def wire(
        self, req: dict[str, Any], shape: providers.RequestShape | None = None
    ) -> dict[str, Any]:
        """``req`` as this server takes it: the parameters learnt renamed or dropped (see
        :class:`~pipeline.providers.RequestShape`), and room to think in the output budget of
        a model that reasons. Applied when a request is sent, so a request built before an
        adaptation was learnt still goes out in the learnt shape. ``shape``: another shape
        than the one learnt (a batch job's, kept with it)."""
        shape = shape or self.shape
        out = shape.apply(req)
        if shape.reasoning:
            for name in providers.OUTPUT_PARAMS:
                if isinstance(out.get(name), int):
                    budget = providers.output_budget(out[name], reasoning=True)
                    out[name] = shape.capped(name, budget)
        return out

    def _retryable(self, exc: BaseException) -> bool:
        if (
            isinstance(exc, Stopped | Fallback | ModelCallError | Reask)
            or self.stop_reason is not None
        ):
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
        if isinstance(exc, ModelCallError | Stopped | Fallback | Reask):
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
            why = self._classify(exc).message if exc is not None else "error"
            self.on_event(Event("retrying", why, seconds=wait, article_id=article_id))

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
        the others wait, so a server that rejects it (or a parameter in it) costs one 400, not
        one per article. They wait only :data:`REJECTION_WINDOW_S` of the first request's
        flight, not its whole answer: a server rejects a request before it generates anything,
        so a request still in flight after that is being answered, and holding the others for
        a full model latency would cost every run that much. A rejection that comes later
        than the window is still handled, at the cost of one 400 per request then in flight.
        """
        if request_hash is not None and self.journal and request_hash in self.journal.pending:
            # each stored answer once, oldest first; one the live path would not accept (a 200
            # error body, before its retry's answer) is passed over
            while (stored := self.journal.take(request_hash)) is not None:
                status, text, latency = stored
                body = _parse(text) if status == 200 else None
                if body is not None and is_answer(body):
                    budget.used += 1
                    return Reply(body, latency, purpose, origin="stored")
        loop = asyncio.get_running_loop()
        while mode not in (self._confirmed, self._tentative) and self._mode_probe is not None:
            left = self._probe_started + REJECTION_WINDOW_S - loop.time()
            if left <= 0:  # the first request is being answered: no rejection is coming
                self._tentative = mode
                break
            await asyncio.wait({self._mode_probe}, timeout=left)
        if self.stop_reason is not None:
            raise Stopped()
        if MODES.index(mode) < MODES.index(self.mode):  # learnt while this one waited
            raise Fallback(f"the server rejects {mode} output")
        probe: asyncio.Future[None] | None = None
        if mode not in (self._confirmed, self._tentative):
            probe = self._mode_probe = loop.create_future()
            self._probe_started = loop.time()
        try:
            for _ in range(MAX_ADAPTATIONS):
                try:
                    return await self._request_once(
                        req, attempts, budget, purpose, mode, chars, key, request_hash
                    )
                except _Adapted:
                    continue  # the next try goes out in the learnt shape, at once
            return await self._request_once(
                req, attempts, budget, purpose, mode, chars, key, request_hash, adapt=False
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
        *,
        adapt: bool = True,
    ) -> Reply:
        """One HTTP request. A concurrency slot is held from pacing to the last byte of the
        answer only: building the request, parsing, validating, scoring and storing happen
        outside it, so ``--concurrency`` requests stay in flight at the server. A 200 answer
        is kept in the journal before anything else is done with it.

        A 400 about one parameter (:attr:`Failure.adapt`) is learnt for the run and raised as
        :class:`_Adapted`: the request goes again at once, and that try is not counted against
        ``--max-attempts``. A 200 whose body is an error (OpenRouter) is classified by its
        own code (:class:`~pipeline.retry.BodyError`); one with no choices is retried."""
        logical = req
        await self._slots.acquire()
        try:
            shaped = self.wire(logical)
            budget_tokens = int(
                shaped.get("max_completion_tokens") or shaped.get("max_tokens") or 0
            )
            sent_at = await self.limiter.acquire(self.limiter.estimate(chars, budget_tokens))
        except BaseException:
            self._slots.release()
            raise
        if self.stop_reason is not None:
            self.limiter.release()
            self._slots.release()
            raise Stopped()
        req = self.wire(logical)  # the shape learnt up to now, even while this one waited
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
            body = _parse(content)
            if body is None:
                raise BadBody(
                    f"HTTP 200 from {self.endpoint.label} with a body that is not a JSON object "
                    f"({len(content):,} bytes)"
                )
            in_body = providers.body_error(body)
            if in_body is not None:
                raise BodyError(in_body, raw.headers)
            if not body.get("choices"):
                raise BadBody(f"HTTP 200 from {self.endpoint.label} with no choices and no error")
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
            failure = self._classify(exc, req)
            if failure.stop_run:
                self.stop(failure)
            response = getattr(exc, "response", None)
            headers = getattr(response, "headers", None) or getattr(exc, "headers", None)
            self.limiter.observe_headers(headers)
            if failure.kind == "rate_limited" and failure.retryable:
                self.limiter.rate_limited(failure.retry_after, sent_at=sent_at)
            if failure.adapt is not None and adapt:
                if self.shape.learn(failure.adapt):
                    self.on_event(Event("adapted", f"{self.endpoint.model}: {failure.adapt.note}"))
                if self.wire(logical) != req:  # the learnt shape changes this request
                    log(failure.status_code, "adapted", failure.message)
                    budget.used -= 1  # learning what the server takes is not a failed attempt
                    raise _Adapted() from exc
            log(failure.status_code, failure.kind, failure.message)
            if failure.reask:
                raise Reask(failure.message, failure.last_output) from exc
            raise
        self._confirmed = mode
        usage = body.get("usage")
        prompt_tokens = usage.get("prompt_tokens") if isinstance(usage, dict) else None
        output_tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
        details = usage.get("completion_tokens_details") if isinstance(usage, dict) else None
        if isinstance(details, dict) and (details.get("reasoning_tokens") or 0) > 0:
            self.shape.thinks = True  # a model that reasons: later requests get room for it
        self.limiter.observe(
            raw.headers,
            estimated_prompt=int(chars / 4) + 1,
            actual_prompt=prompt_tokens if isinstance(prompt_tokens, int) else None,
            actual_output=output_tokens if isinstance(output_tokens, int) else None,
        )
        return Reply(body, latency, purpose)
