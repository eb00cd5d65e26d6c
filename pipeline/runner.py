"""Running a prompt version over articles: the library behind ``summarise run`` and ``compare``.

:func:`run` resolves the prompt, schema and endpoint, opens the store, wraps the run in a
cassette when asked (``replay`` / ``record``), and drives :func:`pipeline.engine.run_live`,
writing each record to ``out`` as soon as its turn in input order comes.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import AsyncIterable, Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from pipeline import cassettes
from pipeline.articles import Article, BadInput, iter_articles
from pipeline.client import Endpoint, resolve_endpoint
from pipeline.engine import (
    EventSink,
    Item,
    RunSettings,
    RunSummary,
    Summariser,
    cache_key,
    run_live,
)
from pipeline.errors import ConfigError, StoreError
from pipeline.prompts import Prompt, check_command, load_prompt
from pipeline.records import Record
from pipeline.schemas import load_schema
from pipeline.secrets import Secrets, current, remember, scrubbing
from pipeline.store import Store

if TYPE_CHECKING:
    from pipeline.compare import Timing


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
    # web input (pipeline.web): only articles never summarised before with this prompt and
    # model (--new); later copies of a story reuse the first copy's summary (off: --no-dedupe)
    new: bool = False
    dedupe: bool = False


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
    endpoint = endpoint_for(options)
    remember(Secrets.from_endpoint(endpoint))  # scrubbed from everything printed from now on
    return prompt, endpoint


def cassette_context(options: RunOptions) -> contextlib.AbstractContextManager[Any]:
    if options.replay:
        return cassettes.replaying(options.replay)
    if options.record:  # the run's own secrets too: a key or URL password never reaches it
        return cassettes.recording(options.record, secrets=current().values)
    return contextlib.nullcontext()


@dataclass
class _Run:
    """One prompt version's run, begun in the store: what :func:`_drive` needs."""

    prompt: Prompt
    endpoint: Endpoint
    settings: RunSettings
    summary: RunSummary
    started: float
    new: bool = False
    dedupe: bool = False


def _begin(options: RunOptions, st: Store, command: str) -> _Run:
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
    summary = RunSummary()
    started = time.perf_counter()
    summary.run_id = st.start_run(
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
    return _Run(prompt, endpoint, settings, summary, started, options.new, options.dedupe)


async def _drive(
    r: _Run,
    items: Iterable[Item] | AsyncIterable[Item],
    st: Store,
    on_record: Callable[[Record], None] | None,
    on_event: EventSink | None = None,
    summariser: Summariser | None = None,
) -> None:
    summariser = summariser or Summariser(
        r.prompt, r.endpoint, settings=r.settings, on_event=on_event
    )
    # the run's own secrets (key, URL credentials) never reach the store or a record, even
    # when a server echoes them inside an answer
    clean = scrubbing(st, Secrets.from_endpoint(r.endpoint))
    dedupe = None
    if r.new or r.dedupe:
        items, dedupe = web_steps(
            items,
            st,
            prompt=r.prompt,
            model=r.endpoint.model,
            run_id=r.summary.run_id,
            new=r.new,
            dedupe=r.dedupe,
            force=r.settings.force,
        )
    try:
        async for record in run_live(
            items, summariser, clean, run_id=r.summary.run_id, dedupe=dedupe
        ):
            r.summary.add(record)
            if on_record:
                on_record(record)
    finally:
        await summariser.client.close()
    if summariser.stop_reason is not None:
        r.summary.stopped = summariser.stop_reason.message


def web_steps(
    items: Iterable[Item] | AsyncIterable[Item],
    st: Store,
    *,
    prompt: Prompt,
    model: str,
    run_id: int,
    new: bool,
    dedupe: bool,
    force: bool,
    sync: bool = False,
) -> tuple[Iterable[Item] | AsyncIterable[Item], Any]:
    """``--new`` (known articles left out, known addresses not fetched) and the near-duplicate
    step, both from :mod:`pipeline.web`, for a live run and a batch run alike (one selection,
    one rule). ``sync``: the items are read as a plain iterable (batch mode plans from one)."""
    from pipeline.web import Dedupe, NewOnly

    schema = load_schema(prompt.schema)

    def key(article_id: str) -> str:
        return cache_key(article_id, prompt, schema, model)

    step = Dedupe(st, key=key, run_id=run_id, stored=not force) if dedupe else None
    if new:
        only = NewOnly(st, key=key, run_id=run_id, dedupe=step)
        skip = getattr(items, "skip_known", None)
        if skip is not None:
            skip(only.known_url)
        if sync:
            assert isinstance(items, Iterable)
            items = iter(items)
        items = only.filter(items)
    return items, step


def _finish(r: _Run, st: Store, status: str = "finished") -> None:
    s = r.summary
    s.seconds = time.perf_counter() - r.started
    if status == "finished" and s.stopped:
        status = "stopped"
    try:
        st.finish_run(
            s.run_id,
            n_articles=s.n,
            n_ok=s.ok,
            n_failed=s.failed,
            n_cached=s.cached,
            status=status,
        )
    except sqlite3.Error:
        if status == "finished":
            raise
        # the run is already ending on an error of its own (a full disk, say): that one is
        # reported; this row then stays unfinished, which is what it is


def store_error(st: Store, exc: sqlite3.Error) -> StoreError:
    """A one-line StoreError naming the store's path and SQLite's complaint (every write
    transaction rolls back only what SQLite left open: :func:`pipeline.store._tx.transaction`,
    so the complaint is the real one, not a failed ROLLBACK's)."""
    cause = str(exc) or type(exc).__name__
    low = cause.lower()
    if "full" in low:
        fix = "free some space on its disk, or point --db at another disk"
    elif "malformed" in low or "not a database" in low or "corrupt" in low:
        fix = (
            "the file is damaged: move it aside (keep it for `sqlite3 .recover`) and run the "
            "same command to start a new store, or point --db at another file"
        )
    elif "readonly" in low or "read-only" in low:
        fix = "make it writable, or point --db at another file"
    else:
        fix = "check the file and its disk, or point --db at another file"
    return StoreError(
        f"the store {st.path} cannot be used: {cause}; {fix} (every record before this "
        "point was written)"
    )


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
    own_store = store is None
    st = store or Store(options.db)
    try:
        r = _begin(options, st, command)
        status = "interrupted"  # unless the run ends normally
        try:
            with cassette_context(options):
                asyncio.run(_drive(r, items, st, on_record, on_event))
            status = "finished"
        except sqlite3.Error as exc:
            raise store_error(st, exc) from exc
        finally:
            _finish(r, st, status)
    except sqlite3.Error as exc:
        raise store_error(st, exc) from exc
    finally:
        if own_store:
            st.close()
    return r.summary


def write_records(out: IO[str]) -> Callable[[Record], None]:
    def emit(record: Record) -> None:
        out.write(record.to_json() + "\n")
        out.flush()

    return emit


def collect_articles(paths: Iterable[str]) -> Iterator[Article | BadInput]:
    return iter_articles(list(paths))


@dataclass
class VersionRuns:
    """What :func:`run_versions` gives :func:`pipeline.compare.build_comparison`: each
    version's records in input order, and where each record's latency was measured."""

    records: dict[str, list[dict[str, Any]]]
    timings: dict[str, list[Timing]]
    summaries: dict[str, RunSummary]


def run_versions(
    refs: list[str],
    items: list[Item],
    options: RunOptions,
    *,
    on_record: Callable[[str, Record], None] | None = None,
    on_done: Callable[[str, RunSummary], None] | None = None,
    on_event: EventSink | None = None,
) -> VersionRuns:
    """Run (or reuse from the store) every prompt version over the same inputs.

    The versions run **side by side** in one event loop, each over the inputs in the same
    order, and their requests for the same article start together (:class:`_PairGate`), the
    versions taking turns at going first from one article to the next: warm-up (connections,
    lazy imports, the server's own) and load (the machine, the server's queue) hit every
    version alike, instead of the first version paying the warm-up and each version meeting a
    different load. The first ``concurrency`` articles a version asks in this run are its
    warm-up: their latency is left out of the comparison (:class:`Timing`).

    One store serves every version, so results already stored for the same article, prompt
    hash, model and parameters are reused; their latency keeps the conditions of the run that
    measured it (concurrency, endpoint, day), and latencies measured under different
    conditions are reported as not comparable.
    """
    from pipeline.compare import Timing

    store = Store(options.db)
    records: dict[str, list[dict[str, Any]]] = {}
    timings: dict[str, list[Timing]] = {}
    begun: dict[str, _Run] = {}
    try:
        for ref in refs:
            r = _begin(replace(options, prompt=ref), store, "compare")
            begun[r.prompt.ref] = r
            records[r.prompt.ref] = []
        concurrency = options.settings.concurrency
        endpoint = next(iter(begun.values())).endpoint.label if begun else None

        def collect(ref: str) -> Callable[[Record], None]:
            asked = 0

            def add(record: Record) -> None:
                nonlocal asked
                records[ref].append(record.to_dict())
                if record.cached:
                    timings[ref].append(_origin_timing(store, begun[ref], record))
                else:
                    warm = asked < concurrency
                    if (record.error or {}).get("kind") != "bad_input":
                        asked += 1
                    timings[ref].append(Timing(concurrency, endpoint, _day(record), warm))
                if on_record:
                    on_record(ref, record)

            return add

        for ref in begun:
            timings[ref] = []

        gate = _PairGate(items, _to_ask(items, begun, store, options.settings.force))

        async def together() -> None:
            drives = []
            for i, (ref, r) in enumerate(begun.items()):
                paired = _Paired(
                    r.prompt, r.endpoint, settings=r.settings, on_event=on_event, gate=gate, turn=i
                )
                drives.append(_drive(r, items, store, collect(ref), on_event, paired))
            await asyncio.gather(*drives)

        try:
            with cassette_context(options):
                asyncio.run(together())
        finally:
            for r in begun.values():
                _finish(r, store)
        for ref, r in begun.items():
            if on_done:
                on_done(ref, r.summary)
    finally:
        store.close()
    return VersionRuns(records, timings, {ref: r.summary for ref, r in begun.items()})


def _day(record: Record) -> str | None:
    created = getattr(record, "created_at", None)
    return str(created)[:10] if created else None


def _origin_timing(store: Store, r: _Run, record: Record) -> Timing:
    """Where a record served from the store was measured: the run that asked the model."""
    from pipeline.compare import Timing

    key = cache_key(record.article_id, r.prompt, load_schema(r.prompt.schema), r.endpoint.model)
    origin = store.origin_run(key, record.created_at)
    if origin is None:
        return Timing(day=_day(record))
    concurrency = origin.get("concurrency")
    warm = isinstance(concurrency, int) and origin["asked_before"] < concurrency
    return Timing(concurrency, origin.get("endpoint"), _day(record), warmup=warm)


def _to_ask(items: list[Item], begun: dict[str, _Run], store: Store, force: bool) -> list[set[str]]:
    """For each version, the articles it will ask the model for (not stored, not bad input)."""
    out: list[set[str]] = []
    for r in begun.values():
        schema = load_schema(r.prompt.schema)
        ids = {i.id for i in items if not isinstance(i, BadInput)}
        if not force:
            ids = {
                a
                for a in ids
                if store.cached(cache_key(a, r.prompt, schema, r.endpoint.model)) is None
            }
        out.append(ids)
    return out


class _PairGate:
    """The versions' requests for one article start together, taking turns at going first.

    A version that asks for an article waits here until every other version that will ask
    for it has arrived; then they are let go one after the other, in version order for an
    article at an even position and in reverse order at an odd one, so that neither version
    is always the one whose clock starts first. A partner that does not come within
    ``patience`` seconds (its run stopped, say) is not waited for any longer.
    """

    def __init__(self, items: list[Item], asks: list[set[str]], patience: float = 2.0) -> None:
        self.position: dict[str, int] = {}
        for n, item in enumerate(items):
            self.position.setdefault(item.id, n)
        self.expected = {a: sum(a in s for s in asks) for a in set().union(*asks)} if asks else {}
        self.waiting: dict[str, list[tuple[int, asyncio.Future[None]]]] = {}
        self.queues: dict[str, list[asyncio.Future[None]]] = {}
        self.patience = patience

    async def turn(self, version: int, article_id: str) -> None:
        if self.expected.get(article_id, 0) < 2:
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        group = self.waiting.setdefault(article_id, [])
        group.append((version, fut))
        if len(group) >= self.expected[article_id]:
            self._start(article_id)
        try:
            await asyncio.wait_for(asyncio.shield(fut), self.patience)
        except TimeoutError:  # a partner that never came: go alone, and let no one wait again
            self.expected[article_id] = 0
            self._start(article_id)
        self._pass_on(article_id, fut)

    def _start(self, article_id: str) -> None:
        """Everyone is here: the first in this article's order may go."""
        group = self.waiting.pop(article_id, [])
        flip = self.position.get(article_id, 0) % 2 == 1
        queue = [f for _, f in sorted(group, key=lambda g: g[0], reverse=flip)]
        if queue:
            self.queues[article_id] = queue
            if not queue[0].done():
                queue[0].set_result(None)

    def _pass_on(self, article_id: str, fut: asyncio.Future[None]) -> None:
        """``fut``'s holder goes now: the next in the order may follow it."""
        queue = self.queues.get(article_id, [])
        if fut not in queue:
            return
        rest = queue[queue.index(fut) + 1 :]
        if not rest:
            self.queues.pop(article_id, None)
        elif not rest[0].done():
            rest[0].set_result(None)


class _Paired(Summariser):
    """A summariser whose requests for an article wait for the other versions' (compare)."""

    def __init__(self, *args: Any, gate: _PairGate, turn: int, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._gate = gate
        self._turn = turn

    async def summarise(self, article: Article, **kw: Any) -> tuple[Record, list[Any]]:
        await self._gate.turn(self._turn, article.id)
        return await super().summarise(article, **kw)
