"""Submitting jobs: upload each job's file, create its batch, and store the batch id the
moment it exists.

Each step is recorded before it is tried (``uploading``, ``creating``), so a process killed
in the middle is never left guessing on its next start: a job found ``uploading`` looks for
its file among the provider's batch files (by name and size) before uploading again, and a
job found ``creating`` looks for its batch by the token in the batch's metadata before
creating one; a batch is never created twice.

Sizes: a job waits (``deferred``) while our batches in progress plus this one would pass
the known enqueued-token limit. An upload refused for its size teaches the byte limit and
the job is split into jobs under it.
"""

from __future__ import annotations

import calendar
import functools
import time
from typing import Any

from pipeline.batch._api import BatchAPIError, UploadRefused
from pipeline.batch._context import Context, failed_record
from pipeline.batch._limits import revealed_limit
from pipeline.batch._lines import boundary_for, job_file, rebuild_file
from pipeline.batch._tables import Job, Wait, article_from
from pipeline.providers import RequestShape
from pipeline.records import utc_now
from pipeline.web._dedupe import as_copy

#: how far back (seconds) a job's batch may have been created, by the provider's clock
CLOCK_SLACK_S = 6 * 3600
#: how many times a batch refused because the enqueued-token queue is full is tried again
QUEUE_TRIES = 8


def queue_note(tries: int, until: float) -> str:
    """A job's note while it waits for room in the provider's queue."""
    return f"queue-full {tries} until {int(until)}"


def queue_tries(note: str | None) -> int:
    parts = (note or "").split()
    return int(parts[1]) if len(parts) == 4 and parts[0] == "queue-full" else 0


def queue_until(note: str | None) -> float:
    parts = (note or "").split()
    return float(parts[3]) if len(parts) == 4 and parts[0] == "queue-full" else 0.0


def _unix(stamp: str) -> int:
    return calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ"))


class Submitter:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def submit_pending(self, *, only: set[int] | None = None) -> list[Job]:
        """Move every job of this endpoint that is not yet submitted as far as it can go;
        returns the jobs still waiting (deferred by the enqueued-token limit)."""
        tables = self.ctx.tables
        waiting: list[Job] = []
        for job in tables.jobs(
            states=("prepared", "uploading", "uploaded", "creating"), endpoint=self.ctx.endpoint
        ):
            if only is not None and job.id not in only:
                continue
            done = await self.submit(job)
            if not done:
                waiting.append(tables.job(job.id))
        return waiting

    async def submit(self, job: Job) -> bool:
        """Upload and create ``job``'s batch; False when it must wait for room."""
        ctx, tables = self.ctx, self.ctx.tables
        path = job_file(ctx.folder, job.token)
        name = path.name
        if job.state in ("prepared", "uploading"):
            file_id = None
            if job.state == "uploading":  # an upload may have reached the provider before a kill
                file_id = await ctx.api.find_file(name, job.n_bytes)
            if file_id is None:
                if not path.exists() or path.stat().st_size != job.n_bytes:
                    summariser = ctx.summariser_for(job)
                    shape = RequestShape.from_json(job.request_shape) if job.request_shape else None
                    first = functools.partial(
                        summariser.first_request, mode=job.request_mode, shape=shape
                    )
                    size = rebuild_file(tables, job.id, path, first)  # in the job's own shape
                    tables.update_job(job.id, n_bytes=size)
                tables.update_job(job.id, state="uploading")
                try:
                    file_id = await ctx.api.upload(path, name, boundary_for(job.token))
                except UploadRefused as e:
                    self._refused(job, e)
                    return True
            tables.update_job(job.id, state="uploaded", input_file_id=file_id)
            job = tables.job(job.id)
        if job.state in ("uploaded", "creating"):
            if queue_until(job.note) > time.time():
                return False  # the provider's queue was full: wait before trying again
            limits = ctx.limits(job.model)
            if limits.max_tokens is not None and job.n_tokens <= limits.max_tokens:
                enqueued = tables.enqueued_tokens(ctx.endpoint, job.model)
                if enqueued and enqueued + job.n_tokens > limits.max_tokens:
                    if job.note is None:
                        tables.update_job(job.id, note="deferred")
                        ctx.emit(
                            "deferred",
                            f"job {job.id} ({job.n_requests:,} requests, ~{job.n_tokens:,} "
                            f"tokens) waits: {enqueued:,} of {limits.max_tokens:,} enqueued "
                            "tokens are in use",
                            tables.job(job.id),
                        )
                    return False
            info = None
            if job.state == "creating":  # a create may have worked before a kill
                since = _unix(job.created_at) - CLOCK_SLACK_S
                info = await ctx.api.find_batch(job.token, since=since)
            if info is None:
                tables.update_job(job.id, state="creating")
                assert job.input_file_id is not None
                try:
                    info = await ctx.api.create(job.input_file_id, job.token)
                except BatchAPIError as e:
                    if e.failure is not None and e.failure.retryable:
                        # it may exist all the same: the next round looks it up by token
                        ctx.emit(
                            "note",
                            f"job {job.id}: creating its batch failed ({e}); "
                            "will look for it and try again",
                            job,
                        )
                        return False
                    raise
            tables.update_job(
                job.id,
                state="submitted",
                batch_id=info.id,
                status=info.status,
                submitted_at=utc_now(),
                expires_at=info.expires_at,
                note=job.note if queue_tries(job.note) else None,
            )
            job = tables.job(job.id)
            path.unlink(missing_ok=True)  # the provider has it; rebuilt from the store if needed
            ctx.emit(
                "submitted",
                f"submitted batch {info.id}: {job.n_requests:,} requests "
                f"({job.prompt_ref} on {job.model})",
                job,
                info=info,
            )
        return True

    def _refused(self, job: Job, e: UploadRefused) -> None:
        """The provider refused the file: for its size, learn the limit and split the job;
        otherwise every article of the job fails with the provider's reason."""
        ctx, tables = self.ctx, self.ctx.tables
        message = e.message
        low = message.lower()
        if "large" in low or "size" in low or "bytes" in low or e.status == 413:
            limit = revealed_limit("file_too_large", message, current=job.n_bytes)
            tables.learn_limit(ctx.endpoint, "*", "max_bytes", limit, message[:300])
            ctx.emit(
                "learnt",
                f"{ctx.endpoint} refused a {job.n_bytes:,}-byte batch file: batches stay "
                f"under {limit:,} bytes from now on",
                job,
            )
            self.requeue(job, reason="split: its file was too large", count=False)
            return
        summariser = ctx.summariser_for(job)
        for req in tables.requests(job.id, state="open"):
            record = failed_record(
                summariser,
                article_from(req.article),
                "http_error",
                f"the batch file was refused: {message}",
                None,
            )
            resolve(ctx, req.job, req.custom_id, req.cache_key, record, [], state="failed")
        tables.update_job(job.id, state="done", finished_at=utc_now(), note=message[:300])
        job_path = job_file(ctx.folder, job.token)
        job_path.unlink(missing_ok=True)

    def requeue(self, job: Job, *, reason: str, count: bool) -> list[int]:
        """Put every open request of ``job`` into new jobs (split under the current limits);
        ``job`` is done. ``count``: the move counts against each article's submissions."""
        ctx, tables = self.ctx, self.ctx.tables
        summariser = ctx.summariser_for(job)
        writer = ctx.writer(summariser, job.run_id)
        moved = 0
        for req in tables.requests(job.id, state="open"):
            subs = req.submissions + (1 if count else 0)
            if count and req.submissions >= ctx.settings.max_submissions:
                record = failed_record(
                    summariser,
                    article_from(req.article),
                    "http_error",
                    f"{reason}; gave up after {req.submissions} batches",
                    job.batch_id,
                )
                resolve(ctx, job.id, req.custom_id, req.cache_key, record, [], state="failed")
                continue
            tables.set_request_state(job.id, req.custom_id, "resubmitted")
            writer.add(article_from(req.article), req.cache_key, submissions=subs)
            moved += 1
        new = writer.close()
        for article, key, why in writer.too_big:
            record = failed_record(summariser, article, "too_long", why, job.batch_id)
            resolve(ctx, None, None, key, record, [], state=None)
        tables.update_job(job.id, state="done", finished_at=utc_now(), note=reason[:300])
        job_file(ctx.folder, job.token).unlink(missing_ok=True)
        if moved:
            ctx.emit(
                "split" if not count else "resubmitted",
                f"{reason}: {moved:,} requests of job {job.id} go into "
                f"{len(new)} new batch{'es' if len(new) != 1 else ''}",
                job,
            )
        return new


def resolve(
    ctx: Context,
    job_id: int | None,
    custom_id: str | None,
    cache_key: str,
    record: Any,
    attempts: list[Any],
    *,
    state: str | None,
) -> int:
    """Give every input waiting for ``cache_key`` its record (the first one of each run as
    it is, a later duplicate in the same run as a copy served from the store, as a live run
    does; a near-duplicate copy by :func:`settle_copy`), then mark the request ``state``.
    Returns how many inputs got a record."""
    tables = ctx.tables
    store = tables.store
    runs_seen: set[int] = set()
    saved = 0
    first = True
    for wait in tables.unresolved(cache_key):
        if wait.copy is not None:
            saved += settle_copy(ctx, wait, record)
            continue
        rec = _for_input(record, wait.source, wait.title, cached=wait.run_id in runs_seen)
        store.save_result(wait.run_id, wait.position, cache_key, rec, attempts if first else ())
        runs_seen.add(wait.run_id)
        first = False
        saved += 1
    if job_id is not None and custom_id is not None and state is not None:
        tables.set_request_state(job_id, custom_id, state)
    return saved


def settle_copy(ctx: Context, wait: Wait, first: Any) -> bool:
    """A near-duplicate's first copy has its record ``first``. Ok: the copy's record is
    made from it as a live run makes it (:func:`pipeline.web._dedupe.as_copy`), stored
    under ``dup:`` + its key as a live run stores it. Not ok: as a live run, the copy is
    asked on its own: its wait turns to its own article, and the driver sends it
    (:meth:`~pipeline.batch._driver.BatchDriver.reconcile`). True when it got a record."""
    copy = wait.copy
    assert copy is not None
    if first.status == "ok":
        rec = as_copy(first, copy.article, copy.first_id)
        ctx.tables.store.save_result(wait.run_id, wait.position, "dup:" + copy.cache_key, rec)
        return True
    ctx.tables.ask_alone(wait)
    ctx.alone.add(wait.run_id)
    return False


def _for_input(record: Any, source: str, title: str | None, *, cached: bool) -> Any:
    from pipeline.batch._context import copy_record

    return copy_record(record, source=source, title=title, cached=cached or record.cached)
