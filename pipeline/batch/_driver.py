"""The loop of batch mode: plan a run's inputs, submit, wait, collect, and give each input its
record.

:meth:`BatchDriver.plan` reads the inputs once, in order, streamed: a bad input or an answer
already stored gets its record at once; every other input waits for its article's answer
(``batch_waits``), and an article not yet in an open batch is written into a job file. Two
inputs with the same text ask once. With near-duplicate detection (:class:`pipeline.web.Dedupe`,
the live run's own step, called in input order), a later copy of a story sends nothing: it
gets its record from the first copy's at once when that is known (stored, or in an earlier
run), else it waits on the first copy's cache key (``batch_copies``: every process that
collects the answer can make the copy's record). :meth:`BatchDriver.reconcile` makes sure
every input still waiting has either a record or an open request (after a crash, a failed or
expired batch, a first copy that failed), so resuming is the same command.

:meth:`BatchDriver.wait` submits what is not yet submitted, then polls the batches the given
runs wait for: never two status requests closer than ``poll_interval_s``, the wait between
rounds growing 1.5x while nothing changes (to ``poll_cap_s``), a ``retry-after`` honoured by
the API layer. A batch that ends is collected (:mod:`pipeline.batch._collect`); a download
that breaks off is tried again next round, up to ``download_attempts`` times.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from pipeline.articles import Article, BadInput
from pipeline.batch._api import BatchAPIError, BatchInfo, BatchUnknown, DownloadIncomplete
from pipeline.batch._collect import Collector
from pipeline.batch._context import Context, copy_record, failed_record
from pipeline.batch._lines import JobWriter
from pipeline.batch._submit import Submitter, resolve, settle_copy
from pipeline.batch._tables import Job, Wait, article_json
from pipeline.engine import Summariser, cache_key
from pipeline.errors import ConfigError
from pipeline.records import Record
from pipeline.retry import Failure
from pipeline.web._dedupe import Dedupe, as_copy

WAIT_FLUSH = 500


@dataclass
class PlanCounts:
    inputs: int = 0
    bad: int = 0
    cached: int = 0
    waiting: int = 0
    in_open_batches: int = 0
    new_requests: int = 0
    too_long: int = 0
    asked_live: int = 0  # a live run was asking for the article: its answer is waited for
    copies: int = 0  # later copies of a story: the first copy's summary, no request


class BatchDriver:
    def __init__(self, ctx: Context, *, concurrency: int = 8) -> None:
        self.ctx = ctx
        self.submitter = Submitter(ctx)
        self.collector = Collector(ctx, self.submitter, concurrency=concurrency)
        self._download_failures: dict[int, int] = {}

    # -- planning ---------------------------------------------------------------------------------

    def plan(
        self,
        items: Iterable[Article | BadInput],
        summariser: Summariser,
        run_id: int,
        *,
        force: bool = False,
        dedupe: Dedupe | None = None,
    ) -> PlanCounts:
        """Give each input a record now, or a wait and (for a new article) a request line;
        with ``dedupe``, a later copy of a story a record or a wait for its first copy's."""
        ctx, tables = self.ctx, self.ctx.tables
        store = tables.store
        counts = PlanCounts()
        writer = ctx.writer(summariser, run_id)
        waits: list[tuple[int, str, str, str | None]] = []
        copies: list[tuple[int, str, str, str, str]] = []
        asked: set[str] = set()

        def flush_waits() -> None:
            tables.add_waits(run_id, waits, copies)
            waits.clear()
            copies.clear()

        writer.before_flush = flush_waits  # a request is never claimed before its wait exists
        prompt, schema, model = summariser.prompt, summariser.schema, summariser.endpoint.model
        for position, item in enumerate(items):
            counts.inputs += 1
            if isinstance(item, BadInput):
                rec = failed_record(summariser, _bad_article(item), item.kind, item.message, None)
                rec.title = None
                store.save_result(run_id, position, "bad:" + item.id, rec)
                counts.bad += 1
                continue
            key = cache_key(item.id, prompt, schema, model)
            twin = dedupe.claim(item) if dedupe is not None else None  # in input order
            if twin is not None:
                counts.copies += 1
                first_key = cache_key(twin.article_id, prompt, schema, model)
                first = twin.record or (None if force else store.cached(first_key))
                if first is not None:  # the first copy's summary is known: the copy's now
                    rec = as_copy(first, item, twin.article_id)
                    store.save_result(run_id, position, "dup:" + key, rec)
                    continue
                waits.append((position, first_key, item.source, item.title))
                copies.append((position, key, first_key, twin.article_id, article_json(item)))
                if len(waits) >= WAIT_FLUSH:
                    flush_waits()
                continue
            if dedupe is not None:
                dedupe.remember(item)
            if key not in asked and not force:
                hit = store.cached(key)
                if hit is not None:
                    rec = copy_record(hit, cached=True, source=item.source, title=item.title)
                    store.save_result(run_id, position, key, rec)
                    counts.cached += 1
                    continue
            waits.append((position, key, item.source, item.title))
            counts.waiting += 1
            if len(waits) >= WAIT_FLUSH:
                flush_waits()
            if key in asked:
                continue
            asked.add(key)
            if tables.open_request(key) is not None:
                counts.in_open_batches += 1
                continue
            writer.add(item, key)
            counts.new_requests += 1
        flush_waits()
        writer.close()
        counts.asked_live = len(writer.leased_live)
        counts.new_requests -= writer.claimed_elsewhere + len(writer.too_big) + counts.asked_live
        counts.in_open_batches += writer.claimed_elsewhere
        self._too_big(writer, summariser)
        counts.too_long = len(writer.too_big)
        live = (
            f", {counts.asked_live:,} being asked by a live run (its answers are waited for)"
            if counts.asked_live
            else ""
        )
        copied = (
            f", {counts.copies:,} later cop{'ies' if counts.copies != 1 else 'y'} of a story "
            "(the first copy's summary, no request)"
            if counts.copies
            else ""
        )
        ctx.emit(
            "planned",
            f"{counts.inputs:,} input(s): {counts.new_requests:,} new request(s) in "
            f"{len(writer.jobs)} batch file(s), {counts.in_open_batches:,} already in open "
            f"batches, {counts.cached:,} from the store, {counts.bad:,} bad{live}{copied}",
        )
        return counts

    def settle_live(self) -> int:
        """Articles a live run was asking for when they would have gone into a batch
        (:attr:`Context.live_held`): once the live answer is stored, every input waiting for
        it gets it from the store; an article whose live run ended without an answer (it
        failed, or died) goes into a batch now. Returns how many are still being asked live."""
        ctx, tables = self.ctx, self.ctx.tables
        store = tables.store
        writers: dict[tuple[str, str, int | None], JobWriter] = {}
        for key, (article, ref, model, run_id) in list(ctx.live_held.items()):
            hit = store.cached(key)
            if hit is not None:
                del ctx.live_held[key]
                resolve(ctx, None, None, key, copy_record(hit, cached=True), [], state=None)
                continue
            if store.leased(key):
                continue  # still being asked
            del ctx.live_held[key]
            if tables.open_request(key) is not None:
                continue  # another batch took it meanwhile: its waits follow that batch
            writer = writers.get((ref, model, run_id))
            if writer is None:
                writer = writers[ref, model, run_id] = ctx.writer(
                    ctx.summariser(ref, model), run_id
                )
            writer.add(article, key)
        for (ref, model, _), writer in writers.items():
            writer.close()
            self._too_big(writer, ctx.summariser(ref, model))
        return len(ctx.live_held)

    def reconcile(self, run_id: int) -> int:
        """Every unresolved wait of the run whose article has no open request gets the
        stored answer, or a new request. Returns how many requests were added."""
        ctx, tables = self.ctx, self.ctx.tables
        info = tables.run_info(run_id) or {}
        summariser = ctx.summariser(
            f"{info.get('prompt')}@{info.get('prompt_version')}", str(info.get("model"))
        )
        writer: JobWriter | None = None
        added = 0
        asked: set[str] = set()
        after = -1
        while True:
            waits = tables.unresolved_of_run(run_id, after=after)
            if not waits:
                break
            after = waits[-1].position
            for w in waits:
                if (
                    w.cache_key in asked
                    or w.cache_key in ctx.live_held
                    or tables.open_request(w.cache_key) is not None
                ):
                    continue
                if w.copy is not None:
                    alone = self._copy_waits(w)
                    if alone is None or alone.cache_key in asked:
                        continue
                    w = alone
                    if tables.open_request(w.cache_key) is not None:
                        continue
                hit = tables.store.cached(w.cache_key)
                if hit is not None:
                    rec = copy_record(hit, cached=True, source=w.source, title=w.title)
                    tables.store.save_result(w.run_id, w.position, w.cache_key, rec)
                    continue
                if tables.store.leased(w.cache_key):
                    continue  # a live run is asking for it: its answer comes to the store
                article = tables.article_for(w.cache_key)
                if article is None:  # never asked (a plan cut short): nothing to ask with
                    rec = failed_record(
                        summariser,
                        Article(id=w.cache_key[:16], source=w.source, text="", title=w.title),
                        "http_error",
                        "no request was kept for this input: run the same command again",
                        None,
                    )
                    tables.store.save_result(w.run_id, w.position, w.cache_key, rec)
                    continue
                if writer is None:
                    writer = ctx.writer(summariser, run_id)
                asked.add(w.cache_key)
                writer.add(article, w.cache_key)
                added += 1
        if writer is not None:
            writer.close()
            self._too_big(writer, summariser)
        return added

    def _copy_waits(self, w: Wait) -> Wait | None:
        """A near-duplicate whose first copy is not in an open batch: None while that copy is
        still being asked live (or the copy got its record from the stored answer), else the
        copy as a plain wait on its own article (the first copy got no summary)."""
        store = self.ctx.tables.store
        if store.leased(w.cache_key):
            return None
        first = store.cached(w.cache_key)
        if first is not None:
            settle_copy(self.ctx, w, first)
            return None
        return self.ctx.tables.ask_alone(w)

    def _too_big(self, writer: JobWriter, summariser: Summariser) -> None:
        for article, key, why in writer.too_big:
            record = failed_record(summariser, article, "too_long", why, None)
            resolve(self.ctx, None, None, key, record, [], state=None)

    def abandon_stale(self) -> int:
        """Jobs left ``building`` by a process that is gone: their requests are freed."""
        freed = 0
        for job in self.ctx.tables.jobs(states=("building",), endpoint=self.ctx.endpoint):
            pid = (
                int((job.note or "pid 0").split()[-1]) if (job.note or "").startswith("pid") else 0
            )
            if pid == os.getpid() or _alive(pid):
                continue
            freed += self.ctx.tables.abandon_job(job.id, "its file was never finished")
        return freed

    # -- waiting ---------------------------------------------------------------------------------

    async def wait(
        self,
        *,
        runs: Iterable[int] = (),
        jobs: Iterable[int] = (),
        submit_only: bool = False,
    ) -> None:
        """Submit, then poll and collect until every wait of ``runs`` has a record and every
        job in ``jobs``, and every follow-up batch of copies asked on their own that it leads
        to, is collected (with ``submit_only``, return once submitted)."""
        ctx, tables, settings = self.ctx, self.ctx.tables, self.ctx.settings
        run_ids, job_ids = list(runs), set(jobs)
        interval = settings.poll_interval_s
        last_request = 0.0
        seen: dict[int, tuple[str, int, int]] = {}
        while True:
            if submit_only:  # live answers come within a request's time: wait for them here
                pause = 0.05
                while self.settle_live():
                    await asyncio.sleep(pause)
                    pause = min(1.0, pause * 2)
            else:
                self.settle_live()
            while ctx.alone:  # copies whose first copy failed: asked on their own, now
                run_id = ctx.alone.pop()
                before = set(tables.jobs_for_run(run_id))
                self.reconcile(run_id)
                # the follow-up is part of what was asked for (`batch collect BATCH_ID`
                # watches jobs, not runs): it is submitted and waited for here too
                job_ids.update(set(tables.jobs_for_run(run_id)) - before)
            watched = set(job_ids)
            for run_id in run_ids:
                if tables.count_unresolved(run_id) and not tables.jobs_for_run(run_id):
                    self.reconcile(run_id)
                watched.update(tables.jobs_for_run(run_id))
            live = [j for j in tables.jobs(ids=watched) if j.state not in ("done", "abandoned")]
            elsewhere = sorted({j.endpoint for j in live if j.endpoint != ctx.endpoint})
            watched = {j.id for j in live if j.endpoint == ctx.endpoint}
            if elsewhere and not watched:
                raise ConfigError(
                    f"these articles wait for batches submitted to {', '.join(elsewhere)}, not "
                    f"{ctx.endpoint}: pass --base-url {elsewhere[0]}"
                )
            await self.submitter.submit_pending(only=watched)
            if submit_only:
                return
            if not watched and all(not tables.count_unresolved(r) for r in run_ids):
                return
            changed = False
            for job in tables.jobs(ids=watched, states=("submitted",)):
                now = time.monotonic()
                if last_request and now - last_request < settings.poll_interval_s:
                    await asyncio.sleep(settings.poll_interval_s - (now - last_request))
                last_request = time.monotonic()
                assert job.batch_id is not None
                try:
                    info = await ctx.api.retrieve(job.batch_id)
                except BatchUnknown:
                    self.submitter.requeue(
                        job, reason=f"the provider no longer knows batch {job.batch_id}", count=True
                    )
                    changed = True
                    continue
                except BatchAPIError as e:
                    if e.failure is None or not e.failure.retryable:
                        raise
                    ctx.emit("note", f"batch {job.batch_id}: status unknown for now ({e})", job)
                    continue
                state = (info.status, info.completed, info.failed)
                if seen.get(job.id) != state:
                    changed = True
                    seen[job.id] = state
                tables.update_job(
                    job.id,
                    status=info.status,
                    request_counts={
                        "total": info.total,
                        "completed": info.completed,
                        "failed": info.failed,
                    },
                    expires_at=info.expires_at,
                )
                ctx.emit("status", info.status, tables.job(job.id), info=info)
                if info.terminal:
                    await self._collect(job, info)
                    changed = True
            if changed:
                interval = settings.poll_interval_s
                continue
            await asyncio.sleep(min(interval, 1.0) if ctx.live_held else interval)
            interval = min(max(settings.poll_cap_s, settings.poll_interval_s), interval * 1.5)

    async def _collect(self, job: Job, info: BatchInfo) -> None:
        try:
            await self.collector.collect(job, info)
        except (DownloadIncomplete, BatchAPIError) as e:
            if (
                isinstance(e, BatchAPIError)
                and not isinstance(e, DownloadIncomplete)
                and (e.failure is None or not e.failure.retryable)
            ):
                raise
            n = self._download_failures.get(job.id, 0) + 1
            self._download_failures[job.id] = n
            if n < self.ctx.settings.download_attempts:
                self.ctx.emit("note", f"batch {info.id}: {e}; trying again", job)
                return
            self.ctx.emit("note", f"batch {info.id}: {e}; giving up on its files", job)
            self.submitter.requeue(
                self.ctx.tables.job(job.id),
                reason=f"the files of batch {info.id} could not be read",
                count=True,
            )

    # -- the end ---------------------------------------------------------------------------------

    def records(self, run_id: int) -> Iterator[Record]:
        return self.ctx.tables.iter_records(run_id)

    def fail_unresolved(self, run_id: int, failure: Failure) -> None:
        """A stopped run: every input still waiting gets a failed record with the reason."""
        ctx, tables = self.ctx, self.ctx.tables
        info = tables.run_info(run_id) or {}
        summariser = ctx.summariser(
            f"{info.get('prompt')}@{info.get('prompt_version')}", str(info.get("model"))
        )
        while True:
            waits = tables.unresolved_of_run(run_id)
            if not waits:
                return
            for w in waits:
                if w.copy is not None:  # a copy fails as itself, not as its first copy
                    w = tables.ask_alone(w)
                article = tables.article_for(w.cache_key) or Article(
                    id=w.cache_key[:16], source=w.source, text="", title=w.title
                )
                rec = failed_record(
                    summariser,
                    article,
                    failure.kind,
                    "run stopped before this article was answered: " + failure.message,
                    None,
                )
                rec.source, rec.title = w.source, w.title
                tables.store.save_result(w.run_id, w.position, w.cache_key, rec)

    def abandon_unsubmitted(self, note: str) -> int:
        freed = 0
        for job in self.ctx.tables.jobs(
            states=("building", "prepared", "uploading", "uploaded"), endpoint=self.ctx.endpoint
        ):
            freed += self.ctx.tables.abandon_job(job.id, note)
        return freed


def _bad_article(item: BadInput) -> Article:
    return Article(id=item.id, source=item.source, text="", title=None)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
