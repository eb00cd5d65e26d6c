"""The library behind ``summarise run --batch``, ``compare --batch`` and ``summarise batch
...``: :func:`run`, :func:`run_versions`, :func:`collect`, :func:`status`, :func:`cancel`
and :func:`list_jobs`. Each opens the store and the endpoint as ``summarise run`` does
(``--base-url``, ``OPENAI_BASE_URL``, ``--db``, ``SUMMARISE_HOME``, ``--replay`` /
``--record``), so the same options reach the same batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

from pipeline import prices
from pipeline.batch._api import BatchAPI, BatchInfo, BatchStopped
from pipeline.batch._context import BatchEvent, BatchSettings, Context
from pipeline.batch._download import file_client
from pipeline.batch._driver import BatchDriver, PlanCounts
from pipeline.batch._tables import OPEN_STATES, Job, Tables
from pipeline.client import Endpoint, make_client
from pipeline.engine import Item, RunSummary, Summariser
from pipeline.errors import ConfigError
from pipeline.prompts import load_prompt
from pipeline.records import Record
from pipeline.runner import RunOptions, cassette_context, endpoint_for, prepare, web_steps
from pipeline.secrets import ScrubbingStore, Secrets
from pipeline.store import Attempt, Store


@dataclass
class BatchRunResult:
    """What :func:`run` did: the run's tally, its plan, and the batches it waits for."""

    summary: RunSummary
    plan: PlanCounts
    batch_ids: list[str]
    waited: bool


def _builtin_refusal(endpoint: Endpoint) -> None:
    if endpoint.is_builtin:
        raise ConfigError(
            "the built-in model has no Batch API: run without --batch, or serve it with "
            "`summarise serve` and pass --base-url http://127.0.0.1:8765/v1"
        )


@contextlib.asynccontextmanager
async def _session(
    options: RunOptions,
    settings: BatchSettings,
    store: Store,
    on_event: Callable[[BatchEvent], None],
    endpoint: Endpoint,
) -> AsyncIterator[tuple[Context, BatchDriver]]:
    client = make_client(endpoint, max_connections=options.settings.concurrency)
    files = file_client(endpoint)  # uploads and downloads: a file's bounds, not an answer's
    if endpoint.replay:  # a replay answers at once: no reason to wait between polls
        settings = replace(settings, poll_interval_s=0.0, poll_cap_s=0.0)
    run_settings = options.settings

    pricer = batch_pricer()

    def make(prompt_ref: str, model: str) -> Summariser:
        prompt = load_prompt(prompt_ref)
        return Summariser(
            prompt,
            dataclasses.replace(endpoint, model=model),
            client=client,
            settings=run_settings,
            pricer=pricer,
        )

    api = BatchAPI(
        client,
        endpoint,
        attempts=settings.api_attempts,
        backoff_initial_s=settings.backoff_initial_s,
        files=files,
    )
    folder = settings.folder or Path(store.path).parent / "batches"
    ctx = Context(
        Tables(store),
        api,
        settings,
        folder,
        endpoint.label,
        make_summariser=make,
        on_event=on_event,
    )
    driver = BatchDriver(ctx, concurrency=run_settings.concurrency)
    try:
        yield ctx, driver
    finally:
        await client.close()
        await files.close()


def _open_store(options: RunOptions, endpoint: Endpoint, store: Store | None = None) -> Store:
    """The store behind the run's own secrets (the key, credentials in the base URL): every
    record, attempt and provider message batch mode writes is scrubbed of them, as a live
    run's are (:class:`~pipeline.secrets.ScrubbingStore`), even when a server echoes them."""
    st = store if store is not None else Store(options.db)
    return cast(Store, ScrubbingStore(st, Secrets.from_endpoint(endpoint)))


def batch_pricer() -> Callable[[str, Attempt], float | None]:
    """Each attempt at its own tier: an answer from a batch at the Batch API's price, a
    re-ask sent live at the standard price (cached prompt tokens at the cached rate)."""
    table = prices.load_prices(None)

    def price(model: str, attempt: Attempt) -> float | None:
        return prices.cost_usd(
            table,
            model,
            attempt.prompt_tokens,
            attempt.completion_tokens,
            cached_tokens=attempt.cached_tokens,
            tier="batch" if attempt.origin == "batch" else "standard",
        )

    return price


def _check_prompts(jobs: Iterable[Job]) -> None:
    for job in jobs:
        prompt = load_prompt(job.prompt_ref)
        if prompt.sha256 != job.prompt_sha256:
            raise ConfigError(
                f"{job.prompt_ref} changed since batch {job.batch_id or job.id} was submitted "
                f"(sha256 {job.prompt_sha256[:12]}… then, {prompt.sha256[:12]}… now): restore "
                "the prompt file to collect it"
            )


def run(
    items: Iterable[Item],
    options: RunOptions,
    settings: BatchSettings,
    *,
    on_record: Callable[[Record], None] | None = None,
    on_event: Callable[[BatchEvent], None] = lambda e: None,
    store: Store | None = None,
    command: str = "run",
) -> BatchRunResult:
    """``summarise run --batch``: every input to one record, through the provider's Batch
    API. With ``settings.wait`` False, returns once submitted (records come from
    :func:`collect`)."""
    prompt, endpoint = prepare(options)
    _builtin_refusal(endpoint)
    own = store is None
    st = _open_store(options, endpoint, store)
    summary = RunSummary()
    started = time.perf_counter()
    run_settings = options.settings
    run_id = st.start_run(
        command,
        prompt=prompt,
        model=endpoint.model,
        endpoint=endpoint.label,
        settings={
            "batch": True,
            "concurrency": run_settings.concurrency,
            "max_attempts": run_settings.max_attempts,
            "force": run_settings.force,
        },
    )
    summary.run_id = run_id
    result = BatchRunResult(summary, PlanCounts(), [], settings.wait)

    async def go() -> None:
        async with _session(options, settings, st, on_event, endpoint) as (ctx, driver):
            summariser = ctx.summariser(prompt.ref, endpoint.model)
            driver.abandon_stale()
            chosen: Iterable[Item] = items
            dedupe = None
            if options.new or options.dedupe:  # the live run's selection and copies
                web, dedupe = web_steps(
                    items,
                    st,
                    prompt=prompt,
                    model=endpoint.model,
                    run_id=run_id,
                    new=options.new,
                    dedupe=options.dedupe,
                    force=run_settings.force,
                    sync=True,
                )
                chosen = cast(Iterable[Item], web)
            result.plan = driver.plan(
                chosen, summariser, run_id, force=run_settings.force, dedupe=dedupe
            )
            try:
                await driver.wait(runs=[run_id], submit_only=not settings.wait)
            except BatchStopped as e:
                driver.abandon_unsubmitted(f"stopped: {e.message}")
                assert e.failure is not None
                driver.fail_unresolved(run_id, e.failure)
                summary.stopped = e.message
            result.batch_ids = _batch_ids(ctx.tables, run_id)

    try:
        with cassette_context(options):
            try:
                asyncio.run(go())
            except ConfigError:
                _abandon_all(st, endpoint.label, "the endpoint refused batches")
                raise
        if settings.wait or summary.stopped:
            for record in Tables(st).iter_records(run_id):
                summary.add(record)
                if on_record:
                    on_record(record)
    finally:
        summary.seconds = time.perf_counter() - started
        st.finish_run(
            run_id,
            n_articles=summary.n,
            n_ok=summary.ok,
            n_failed=summary.failed,
            n_cached=summary.cached,
        )
        if own:
            st.close()
    return result


def run_versions(
    refs: list[str],
    items: list[Item],
    options: RunOptions,
    settings: BatchSettings,
    *,
    on_done: Callable[[str, RunSummary], None] | None = None,
    on_event: Callable[[BatchEvent], None] = lambda e: None,
) -> dict[str, list[dict[str, Any]]]:
    """``compare --batch``: what is missing for every version is submitted first (one
    submission window), then all are waited for together; records in input order."""
    runs: dict[str, int] = {}
    prompts = [load_prompt(r) for r in refs]
    _, endpoint = prepare(replace(options, prompt=prompts[0].ref))
    _builtin_refusal(endpoint)
    store = _open_store(options, endpoint)
    started = time.perf_counter()

    async def go() -> None:
        async with _session(options, settings, store, on_event, endpoint) as (ctx, driver):
            driver.abandon_stale()
            for prompt in prompts:
                run_id = store.start_run(
                    "compare",
                    prompt=prompt,
                    model=endpoint.model,
                    endpoint=endpoint.label,
                    settings={"batch": True, "force": options.settings.force},
                )
                runs[prompt.ref] = run_id
                driver.plan(
                    items,
                    ctx.summariser(prompt.ref, endpoint.model),
                    run_id,
                    force=options.settings.force,
                )
            await driver.wait(runs=list(runs.values()), submit_only=True)
            await driver.wait(runs=list(runs.values()))

    try:
        with cassette_context(options):
            asyncio.run(go())
        out: dict[str, list[dict[str, Any]]] = {}
        tables = Tables(store)
        for ref, run_id in runs.items():
            summary = RunSummary(run_id=run_id)
            records = []
            for record in tables.iter_records(run_id):
                summary.add(record)
                records.append(record.to_dict())
            summary.seconds = time.perf_counter() - started
            store.finish_run(
                run_id,
                n_articles=summary.n,
                n_ok=summary.ok,
                n_failed=summary.failed,
                n_cached=summary.cached,
            )
            out[ref] = records
            if on_done:
                on_done(ref, summary)
        return out
    finally:
        store.close()


# -- summarise batch ... -----------------------------------------------------------------------


def _endpoint(options: RunOptions) -> Endpoint:
    endpoint = endpoint_for(options)
    _builtin_refusal(endpoint)
    return endpoint


def list_jobs(options: RunOptions) -> list[Job]:
    """Every batch job in the store, oldest first (no provider call)."""
    store = Store(options.db)
    try:
        return Tables(store).jobs()
    finally:
        store.close()


def status(
    options: RunOptions, batch_id: str | None, settings: BatchSettings
) -> list[tuple[Job, BatchInfo | None]]:
    """The provider's word on one batch (or every open one of this endpoint), stored."""
    endpoint = _endpoint(options)
    store = _open_store(options, endpoint)
    out: list[tuple[Job, BatchInfo | None]] = []

    async def go() -> None:
        async with _session(options, settings, store, lambda e: None, endpoint) as (ctx, _):
            for job in _chosen(ctx.tables, endpoint, batch_id, open_only=batch_id is None):
                info = None
                if job.batch_id:
                    info = await ctx.api.retrieve(job.batch_id)
                    ctx.tables.update_job(
                        job.id,
                        status=info.status,
                        request_counts={
                            "total": info.total,
                            "completed": info.completed,
                            "failed": info.failed,
                        },
                    )
                out.append((ctx.tables.job(job.id), info))

    try:
        with cassette_context(options):
            asyncio.run(go())
        return out
    finally:
        store.close()


def cancel(options: RunOptions, batch_id: str, settings: BatchSettings) -> BatchInfo:
    endpoint = _endpoint(options)
    store = _open_store(options, endpoint)
    result: list[BatchInfo] = []

    async def go() -> None:
        async with _session(options, settings, store, lambda e: None, endpoint) as (ctx, _):
            job = ctx.tables.job_by_batch(batch_id)
            if job is None:
                raise ConfigError(
                    f"no batch {batch_id} in the store {store.path} (see `summarise batch list`)"
                )
            info = await ctx.api.cancel(batch_id)
            ctx.tables.update_job(job.id, status=info.status)
            result.append(info)

    try:
        with cassette_context(options):
            asyncio.run(go())
        return result[0]
    finally:
        store.close()


def collect(
    options: RunOptions,
    batch_id: str | None,
    settings: BatchSettings,
    *,
    on_record: Callable[[Record], None] | None = None,
    on_event: Callable[[BatchEvent], None] = lambda e: None,
) -> tuple[RunSummary, list[str]]:
    """``summarise batch collect [ID]``: wait for one batch (or every open one of this
    endpoint) and collect it; write the records of every run it completes, each in input
    order. Returns the tally and notes on runs still waiting for other batches."""
    endpoint = _endpoint(options)
    store = _open_store(options, endpoint)
    summary = RunSummary()
    notes: list[str] = []
    runs: list[int] = []
    started = time.perf_counter()

    async def go() -> None:
        async with _session(options, settings, store, on_event, endpoint) as (ctx, driver):
            jobs = _chosen(ctx.tables, endpoint, batch_id, open_only=batch_id is None)
            _check_prompts(jobs)
            driver.abandon_stale()
            for job in jobs:
                for run_id in ctx.tables.runs_of_job(job.id):
                    if run_id not in runs:
                        runs.append(run_id)
            await driver.wait(jobs=[j.id for j in jobs])
            for run_id in runs:
                if ctx.tables.count_unresolved(run_id) and batch_id is None:
                    await driver.wait(runs=[run_id])

    try:
        with cassette_context(options):
            asyncio.run(go())
        tables = Tables(store)
        for run_id in sorted(runs):
            left = tables.count_unresolved(run_id)
            if left:
                notes.append(
                    f"run {run_id} still waits for {left:,} answer(s) from other batches: "
                    "`summarise batch collect` collects every open batch"
                )
                continue
            for record in tables.iter_records(run_id):
                summary.add(record)
                if on_record:
                    on_record(record)
    finally:
        summary.seconds = time.perf_counter() - started
        store.close()
    return summary, notes


def _chosen(
    tables: Tables, endpoint: Endpoint, batch_id: str | None, *, open_only: bool
) -> list[Job]:
    if batch_id is not None:
        job = tables.job_by_batch(batch_id)
        if job is None:
            raise ConfigError(
                f"no batch {batch_id} in the store {tables.store.path}: see `summarise batch "
                "list` (set --db or SUMMARISE_HOME to the store that submitted it)"
            )
        if job.endpoint != endpoint.label:
            raise ConfigError(
                f"batch {batch_id} was submitted to {job.endpoint}, not {endpoint.label}: pass "
                f"--base-url {job.endpoint}"
            )
        return [job]
    return (
        tables.jobs(states=OPEN_STATES, endpoint=endpoint.label)
        if open_only
        else tables.jobs(endpoint=endpoint.label)
    )


def _batch_ids(tables: Tables, run_id: int) -> list[str]:
    ids = []
    for job_id in tables.jobs_for_run(run_id):
        job = tables.job(job_id)
        if job.batch_id:
            ids.append(job.batch_id)
    return ids


def _abandon_all(store: Store, endpoint: str, note: str) -> None:
    tables = Tables(store)
    for job in tables.jobs(states=("building", "prepared", "uploading"), endpoint=endpoint):
        tables.abandon_job(job.id, note)
