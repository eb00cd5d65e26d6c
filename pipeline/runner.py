"""Running a prompt version over articles: the library behind ``summarise run`` and ``compare``.

:func:`run` resolves the prompt, schema and endpoint, opens the store, wraps the run in a
cassette when asked (``replay`` / ``record``), and drives :func:`pipeline.engine.run_live`,
writing each record to ``out`` as soon as its turn in input order comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from pipeline import cassettes
from pipeline.articles import Article, BadInput, iter_articles
from pipeline.client import Endpoint, resolve_endpoint
from pipeline.engine import EventSink, Item, RunSettings, RunSummary, Summariser, run_live
from pipeline.errors import ConfigError
from pipeline.prompts import Prompt, check_command, load_prompt
from pipeline.records import Record
from pipeline.schemas import load_schema
from pipeline.store import Store


@dataclass(frozen=True)
class RunOptions:
    prompt: str = "summarise"
    model: str | None = None
    base_url: str | None = None
    db: str | None = None
    replay: str | None = None
    record: str | None = None
    timeout: float = 60.0
    settings: RunSettings = RunSettings()


def endpoint_for(options: RunOptions) -> Endpoint:
    if options.replay and options.record:
        raise ConfigError("--replay and --record exclude each other: choose one")
    info: dict[str, Any] = {}
    if options.replay:
        if not Path(options.replay).exists():
            raise ConfigError(
                f"no cassette at {options.replay}: record one with "
                + cassettes.rerecord_command(
                    options.replay, prompt_ref=options.prompt, model=options.model
                )
            )
        info = cassettes.cassette_info(options.replay)
    return resolve_endpoint(
        model=options.model,
        base_url=options.base_url or info.get("base_url"),
        replay=options.replay,
        replay_model=info.get("model"),
        timeout=options.timeout,
    )


def prepare(options: RunOptions, command: str = "run") -> tuple[Prompt, Endpoint]:
    """Everything that can be a usage error, checked before any article is read.

    ``command`` is ``run`` or ``compare``: a prompt made for another command (a judge prompt)
    is a usage error that names the right one.
    """
    prompt = load_prompt(options.prompt)
    check_command(prompt, command)
    load_schema(prompt.schema)
    return prompt, endpoint_for(options)


def cassette_context(options: RunOptions) -> contextlib.AbstractContextManager[Any]:
    if options.replay:
        return cassettes.replaying(options.replay)
    if options.record:
        return cassettes.recording(options.record)
    return contextlib.nullcontext()


def run(
    items: Iterable[Item] | AsyncIterable[Item],
    options: RunOptions,
    *,
    on_record: Callable[[Record], None] | None = None,
    store: Store | None = None,
    command: str = "run",
    on_event: EventSink | None = None,
) -> RunSummary:
    """Summarise ``items`` and call ``on_record`` once per input, in input order;
    ``on_event`` hears what the run waits on, retries and adapts (see :class:`Event`)."""
    prompt, endpoint = prepare(options, "compare" if command == "compare" else "run")
    settings = options.settings
    if options.record:
        settings = replace(settings, force=True)  # a recording must hold every exchange
    if options.replay:
        settings = replace(
            settings,
            replay_hint=cassettes.rerecord_command(
                options.replay, prompt_ref=prompt.ref, model=endpoint.model
            ),
        )
    own_store = store is None
    st = store or Store(options.db)
    summary = RunSummary()
    started = time.perf_counter()
    run_id = st.start_run(
        command,
        prompt=prompt,
        model=endpoint.model,
        endpoint=endpoint.label,
        settings={
            "concurrency": settings.concurrency,
            "rpm": settings.rpm,
            "tpm": settings.tpm,
            "max_attempts": settings.max_attempts,
            "force": settings.force,
        },
    )
    summary.run_id = run_id

    async def go() -> None:
        summariser = Summariser(prompt, endpoint, settings=settings, on_event=on_event)
        try:
            async for record in run_live(items, summariser, st, run_id=run_id):
                summary.add(record)
                if on_record:
                    on_record(record)
        finally:
            await summariser.client.close()
        if summariser.stop_reason is not None:
            summary.stopped = summariser.stop_reason.message

    try:
        with cassette_context(options):
            asyncio.run(go())
    finally:
        summary.seconds = time.perf_counter() - started
        st.finish_run(
            run_id,
            n_articles=summary.n,
            n_ok=summary.ok,
            n_failed=summary.failed,
            n_cached=summary.cached,
        )
        if own_store:
            st.close()
    return summary


def write_records(out: IO[str]) -> Callable[[Record], None]:
    def emit(record: Record) -> None:
        out.write(record.to_json() + "\n")
        out.flush()

    return emit


def collect_articles(paths: Iterable[str]) -> Iterator[Article | BadInput]:
    return iter_articles(list(paths))


def run_versions(
    refs: list[str],
    items: list[Item],
    options: RunOptions,
    *,
    on_done: Callable[[str, RunSummary], None] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Run (or reuse from the store) every prompt version over the same inputs.

    Returns ``{"name@version": [record dicts in input order]}``, the input of
    :func:`pipeline.compare.build_comparison`. One store serves every version, so results
    already stored for the same article, prompt hash, model and parameters are reused.
    """
    runs: dict[str, list[dict[str, Any]]] = {}
    store = Store(options.db)
    try:
        for ref in refs:
            prompt = load_prompt(ref)
            records: list[dict[str, Any]] = []
            summary = run(
                items,
                replace(options, prompt=prompt.ref),
                on_record=lambda r, out=records: out.append(r.to_dict()),  # type: ignore[misc]
                store=store,
                command="compare",
            )
            runs[prompt.ref] = records
            if on_done:
                on_done(prompt.ref, summary)
    finally:
        store.close()
    return runs
