"""The live run: every input to one record, in input order, through a bounded window, with
reuse of stored results (:func:`cache_key`) and :class:`RunSummary`'s tally."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hashlib
import json
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.articles import Article, BadInput
from pipeline.engine._events import Event
from pipeline.engine._input import numbered
from pipeline.engine._summariser import Summariser
from pipeline.engine._transport import Journal, Stopped
from pipeline.prompts import Prompt
from pipeline.records import Record, utc_now
from pipeline.schemas import Schema
from pipeline.store import Attempt, Store
from pipeline.store._journal import LEASE_TTL_S, Claim, new_holder

Item = Article | BadInput


class NearDuplicates(Protocol):
    """The near-duplicate step a driver calls (:class:`pipeline.web.Dedupe`)."""

    def claim(self, article: Article) -> Any: ...

    async def reuse(self, twin: Any, article: Article) -> Record | None: ...

    def settle(self, article: Article, record: Record | None) -> None: ...


@dataclass
class RunSummary:
    run_id: int = 0
    n: int = 0
    ok: int = 0
    failed: int = 0
    cached: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    seconds: float = 0.0
    failures: dict[str, int] = field(default_factory=dict)
    stopped: str | None = None

    def add(self, record: Record) -> None:
        self.n += 1
        if record.status == "ok":
            self.ok += 1
        else:
            self.failed += 1
            kind = (record.error or {}).get("kind", "unknown")
            self.failures[kind] = self.failures.get(kind, 0) + 1
        if record.cached:
            self.cached += 1
        else:
            self.prompt_tokens += record.usage.get("prompt_tokens", 0)
            self.completion_tokens += record.usage.get("completion_tokens", 0)


def cache_key(article_id: str, prompt: Prompt, schema: Schema, model: str) -> str:
    material = json.dumps(
        {
            "article": article_id,
            "prompt": prompt.sha256,
            "schema": schema.sha256,
            "model": model,
            "parameters": prompt.parameters,
        },
        sort_keys=True,
    )
    return hashlib.sha256(material.encode()).hexdigest()


def _bad_record(item: BadInput, summariser: Summariser) -> Record:
    rec = Record(
        article_id=item.id,
        source=item.source,
        title=None,
        prompt=summariser.prompt.name,
        prompt_version=summariser.prompt.version,
        prompt_sha256=summariser.prompt.sha256,
        schema=summariser.schema.name,
        model=summariser.endpoint.model,
        status="failed",
        error={"kind": item.kind, "message": item.message, "last_output": None},
        url=item.url,
    )
    return rec


def _as_this_input(hit: Record, item: Article) -> None:
    """A stored result served for this input: cached, with this input's source and metadata."""
    hit.cached = True
    hit.source, hit.title, hit.url = item.source, item.title, item.url
    hit.published, hit.author, hit.site_name = item.date, item.author, item.site_name


async def run_live(
    items: Iterable[Item] | AsyncIterable[Item],
    summariser: Summariser,
    store: Store,
    *,
    run_id: int,
    on_record: Callable[[Record], None] | None = None,
    dedupe: NearDuplicates | None = None,
) -> AsyncIterator[Record]:
    """Yield one record per input, in input order, committing each as it finishes.

    ``dedupe`` (:class:`pipeline.web.Dedupe`): a later copy of a story already summarised
    (earlier in this run, or in an earlier run) reuses that summary, with no model call.

    The input is consumed lazily, in a reader thread (:func:`~pipeline.engine._input.numbered`:
    a slow or stalled input never holds up the requests in flight): at most ``window``
    articles are held at once (running, waiting for a request slot, or finished and waiting
    for their turn in input order), so memory stays flat however long the input is. Two
    inputs with the same cache key never ask the model twice: the later one waits for the
    earlier and is served from the store.

    Nor do two runs on one store: before asking, a run claims the article's lease
    (:mod:`pipeline.store._journal`); an article another live run is asking for waits for
    that run's result and reuses it. Every 200 answer is journalled the moment it arrives,
    and an answer journalled by a run that died is used instead of asking again.
    """
    settings = summariser.settings
    holder = new_holder()
    started_at = utc_now()
    journal = summariser.journal = Journal(store, store.journal_index())
    renewing = asyncio.ensure_future(_renew(store, holder))
    # Everything alive now (modules, the SDK's type machinery, the client) lives for the run:
    # take it out of the cyclic GC's full collections, which would otherwise walk it again
    # every few thousand articles (about 40 ms each, a third of the engine's own CPU time).
    # Undone when the run ends, so nothing frozen here outlives it uncollectable.
    gc.freeze()
    window = max(256, settings.concurrency * 16)
    active = asyncio.Semaphore(2 * max(1, settings.concurrency))
    pending: deque[asyncio.Task[Record]] = deque()
    working: dict[str, asyncio.Task[Record]] = {}  # cache key -> the task asking the model
    done_ok: set[str] = set()  # with --force: keys answered in this run (the store has them)

    async def one(position: int, item: Item) -> Record:
        if dedupe is None or isinstance(item, BadInput):
            return await answer(position, item)
        twin = dedupe.claim(item)  # in input order: before this task's first await
        if twin is not None:
            copied = await dedupe.reuse(twin, item)
            if copied is not None:
                key = cache_key(
                    item.id, summariser.prompt, summariser.schema, summariser.endpoint.model
                )
                store.save_result(run_id, position, "dup:" + key, copied)
                return copied
        rec: Record | None = None
        try:
            rec = await answer(position, item)
            return rec
        finally:
            dedupe.settle(item, rec)

    async def answer(position: int, item: Item) -> Record:
        if isinstance(item, BadInput):
            rec = _bad_record(item, summariser)
            store.save_result(run_id, position, "bad:" + item.id, rec)
            return rec
        key = cache_key(item.id, summariser.prompt, summariser.schema, summariser.endpoint.model)
        me = asyncio.current_task()
        assert me is not None
        while (earlier := working.get(key)) is not None and earlier is not me:
            await asyncio.wait({earlier})  # the same article is being asked: reuse its answer
        if not settings.force or key in done_ok:
            hit = store.cached(key)
            if hit is not None:
                _as_this_input(hit, item)
                store.save_result(run_id, position, key, hit)
                return hit
        claim = store.claim(key, holder)
        if claim.took_over:  # its holder died: it may have journalled answers since we read
            journal.add(store.journal_index(key))
        if not claim and claim.batch is None:
            try:
                found = await _wait_for_lease(store, key, holder, summariser, since=started_at)
            except Stopped:
                rec = summariser.stopped_record(item)
                store.save_result(run_id, position, key, rec)
                return rec
            if isinstance(found, Record):
                _as_this_input(found, item)
                store.save_result(run_id, position, key, found)
                return found
            claim = found
        if claim.batch is not None:  # paid for in an open batch: not asked again here
            rec = _in_batch_record(item, summariser, claim)
            store.save_result(run_id, position, key, rec)
            return rec
        working[key] = me
        attempts: list[Attempt] = []
        try:  # the summariser bounds the requests in flight; the window bounds the articles
            if summariser.stop_reason is not None:
                rec = summariser.stopped_record(item)
            elif summariser.endpoint.is_builtin and len(item.text) > _max_chars():
                rec = summariser._record(item, status="failed")
                rec.error = {
                    "kind": "too_long",
                    "last_output": None,
                    "message": f"{item.source}: {len(item.text)} characters; the built-in "
                    f"model accepts at most {_max_chars()} (split the article)",
                }
            else:
                async with active:
                    rec, attempts = await summariser.summarise(item, attempts=attempts, key=key)
        finally:
            if working.get(key) is me:
                del working[key]
        store.save_result(run_id, position, key, rec, attempts, holder=holder)
        if settings.force and rec.status == "ok":
            done_ok.add(key)
        return rec

    async def pop() -> Record:
        rec = await pending.popleft()
        if on_record:
            on_record(rec)
        return rec

    try:
        # the input is read in a thread of its own: a slow disk or a stalled stdin never
        # holds up the requests in flight (pipeline.engine._input)
        async with contextlib.aclosing(numbered(items)) as inputs:
            async for position, item in inputs:
                pending.append(asyncio.ensure_future(one(position, item)))
                while len(pending) >= window:
                    yield await pop()
        while pending:
            yield await pop()
    finally:
        for task in pending:  # only when the consumer stops early or the run is cancelled
            task.cancel()
        renewing.cancel()
        store.release_leases(holder)
        gc.unfreeze()


async def _renew(store: Store, holder: str) -> None:
    """Keep this run's leases alive while it runs."""
    while True:
        await asyncio.sleep(LEASE_TTL_S / 3)
        store.renew_leases(holder)


async def _wait_for_lease(
    store: Store, key: str, holder: str, summariser: Summariser, *, since: str
) -> Record | Claim:
    """Another live run is asking for ``key``: wait until its result is stored (returned, to be
    reused) or its lease ends (the :class:`Claim` then taken: this run asks itself; or, when a
    batch claimed the article meanwhile, the batch's claim)."""
    delay = 0.05
    told = False
    while True:
        if not told:
            told = True
            summariser.on_event(Event("waiting", "another run is asking for the same article"))
        await summariser._sleep(delay)  # ends at once if this run stops
        delay = min(2.0, delay * 2)
        hit = store.cached(key, since="" if not summariser.settings.force else since)
        if hit is not None:
            return hit
        claim = store.claim(key, holder)
        if claim or claim.batch is not None:
            if claim and summariser.journal is not None:  # what a holder that died journalled
                summariser.journal.add(store.journal_index(key))
            return claim


def _in_batch_record(item: Article, summariser: Summariser, claim: Claim) -> Record:
    """The record of an input whose article waits in an open batch: failed (no answer yet),
    with the command that collects the batch; once collected, a run serves it from the store."""
    rec = summariser._record(item, status="failed")
    where = f" --base-url {claim.endpoint}" if claim.endpoint else ""
    rec.error = {
        "kind": "in_batch",
        "last_output": None,
        "message": f"this article waits in the open batch {claim.batch} (submitted to "
        f"{claim.endpoint}), whose answer is paid for already: collect it with `summarise "
        f"batch collect{where}`, then run again to have it from the store",
    }
    return rec


def _max_chars() -> int:
    from pipeline import extractive

    return int(extractive.MAX_ARTICLE_CHARS)


def iter_sync(agen: AsyncIterator[Record]) -> Iterator[Record]:  # pragma: no cover - helper
    loop = asyncio.new_event_loop()
    try:
        while True:
            try:
                yield loop.run_until_complete(agen.__anext__())
            except StopAsyncIteration:
                return
    finally:
        loop.close()
