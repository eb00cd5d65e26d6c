"""`summarise run --batch`, `compare --batch` and `summarise batch list | status | collect |
cancel`: the batch options, the progress display of every open batch, and the commands."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from pipeline.cli import cli
from pipeline.cli._common import (
    _engine_options,
    _open_out,
    _settings,
    _summary_table,
    err_console,
)
from pipeline.cli._signals import interrupted
from pipeline.errors import ConfigError

if TYPE_CHECKING:  # the rest is imported where it is used: `summarise --help` starts fast
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from pipeline import runner
    from pipeline.articles import Article, BadInput
    from pipeline.batch import BatchEvent, BatchSettings
    from pipeline.records import Record

F = TypeVar("F", bound=Callable[..., Any])

INTERRUPTED = (
    "interrupted: the batches keep running at the provider and nothing is lost; run the same "
    "command, or `summarise batch collect`, to pick them up"
)


def batch_options(fn: F) -> F:
    """The batch knobs shared by run, compare and batch collect."""
    options = [
        click.option(
            "--batch-max-requests",
            type=click.IntRange(1),
            help="Requests per batch (default 50,000, or what the provider revealed).",
        ),
        click.option(
            "--batch-max-bytes",
            type=click.IntRange(1024),
            help="Bytes per batch input file (default 200 MB, or what the provider revealed).",
        ),
        click.option(
            "--batch-max-tokens",
            type=click.IntRange(1),
            help="Enqueued prompt tokens across batches in progress (default: what the "
            "provider revealed, else no bound).",
        ),
        click.option(
            "--poll-interval",
            type=click.FloatRange(min=0.0),
            default=5.0,
            show_default=True,
            help="Seconds between batch status requests (at least); grows to 60 s while "
            "nothing changes.",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def batch_settings(kw: dict[str, Any], *, wait: bool = True) -> BatchSettings:
    from pipeline.batch import BatchSettings

    return BatchSettings(
        max_requests=kw.get("batch_max_requests"),
        max_bytes=kw.get("batch_max_bytes"),
        max_tokens=kw.get("batch_max_tokens"),
        poll_interval_s=kw.get("poll_interval", 5.0),
        poll_cap_s=max(60.0, kw.get("poll_interval", 5.0)),
        wait=wait,
    )


def _stamp(unix: int | None) -> str:
    if not unix:
        return "-"
    return datetime.fromtimestamp(unix, UTC).strftime("%Y-%m-%d %H:%M UTC")


class BatchProgress:
    """Every open batch on stderr: a live table on a terminal, else one line per change."""

    def __init__(self, console: Console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.live: Live | None = None
        self.rows: dict[int, tuple[str, str, str, float, int | None]] = {}
        self._last: dict[int, str] = {}

    def __enter__(self) -> BatchProgress:
        from rich.live import Live

        if self.console.is_terminal and not self.quiet:
            self.live = Live(
                self._table(),
                console=self.console,
                transient=True,
                redirect_stdout=False,  # records go to stdout untouched (see end_live)
                redirect_stderr=False,
            )
            self.live.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.end_live()

    def end_live(self) -> None:
        """Take the live table off the terminal for good (before records reach stdout: on
        one terminal the table's redraws would otherwise land on a record's line); what
        follows is reported a line per change."""
        if self.live is not None:
            self.live.stop()
            self.live = None

    def __call__(self, event: BatchEvent) -> None:
        if event.kind == "status" and event.job is not None and event.info is not None:
            info, job = event.info, event.job
            started = self.rows.get(job.id, (None, None, None, time.monotonic(), None))[3]
            counts = f"{info.completed:,} / {info.failed:,} / {info.total:,}"
            self.rows[job.id] = (info.id, info.status, counts, started, info.expires_at)
            line = f"batch {info.id}: {info.status}, {counts} completed / failed / total"
            if self.live is not None:
                self.live.update(self._table())
            elif not self.quiet and self._last.get(job.id) != line:
                self.console.print(line, markup=False, soft_wrap=True)
            self._last[job.id] = line
            if info.terminal:
                self.rows.pop(job.id, None)
            return
        if event.kind == "collecting":
            return
        if event.kind == "submitted" and event.job is not None and event.info is not None:
            self.rows[event.job.id] = (
                event.info.id,
                event.info.status,
                "-",
                time.monotonic(),
                event.info.expires_at,
            )
        if self.live is not None:
            self.live.console.print(event.message, markup=False, soft_wrap=True)
            self.live.update(self._table())
        elif not self.quiet or event.kind in ("learnt", "note"):
            self.console.print(event.message, markup=False, soft_wrap=True)

    def _table(self) -> Table:
        from rich.table import Table

        table = Table(title="open batches", title_justify="left", show_edge=False)
        for col in ("batch", "status", "completed / failed / total", "elapsed", "expires at"):
            table.add_column(col, justify="right" if col != "batch" else "left")
        now = time.monotonic()
        for batch_id, status, counts, started, expires in self.rows.values():
            elapsed = int(now - started)
            table.add_row(
                batch_id,
                status,
                counts,
                f"{elapsed // 60}m{elapsed % 60:02d}s",
                _stamp(expires),
            )
        return table


def collect_command(kw: dict[str, Any], out: str | None) -> str:
    """The command that collects what ``run --batch --no-wait`` submitted."""
    parts = ["summarise batch collect"]
    for flag, key in (("--base-url", "base_url"), ("--db", "db")):
        if kw.get(key):
            parts.append(f"{flag} {kw[key]}")
    if out:
        parts.append(f"--out {out}")
    return " ".join(parts)


def _own(out: str | None) -> list[str]:
    """The run's own --out, which a folder walk must not read back as an input."""
    return [out] if out and out != "-" else []


def run_batched(
    chosen: list[str],
    options: runner.RunOptions,
    kw: dict[str, Any],
    *,
    out: str | None,
    quiet: bool,
    no_wait: bool,
    items: Iterable[Article | BadInput] | None = None,
    has_urls: bool = False,
) -> None:
    """The body of ``summarise run --batch`` (``items``: the inputs read, else ``chosen``'s;
    ``has_urls``: some of them are pages or feeds, which may rightly yield nothing)."""
    from pipeline import batch as batchmode
    from pipeline import runner
    from pipeline.articles import iter_articles

    prompt, endpoint = runner.prepare(options)
    settings = batch_settings(kw, wait=not no_wait)
    stream = _open_out(out, inputs=chosen) if not no_wait else None
    write = runner.write_records(stream) if stream is not None else None

    progress = BatchProgress(err_console, quiet=quiet)

    to_terminal = stream is sys.stdout

    def emit(record: Record) -> None:
        if write is not None:
            if to_terminal:
                progress.end_live()
            write(record)

    try:
        with progress:
            result = batchmode.run(
                iter_articles(chosen, exclude=_own(out)) if items is None else items,
                options,
                settings,
                on_record=emit,
                on_event=progress,
            )
    except KeyboardInterrupt:
        message, code = interrupted((), INTERRUPTED.removeprefix("interrupted: "))
        err_console.print(f"summarise: {message}", markup=False, soft_wrap=True)
        sys.exit(code)
    finally:
        if stream is not None and stream is not sys.stdout:
            stream.close()
    summary, plan = result.summary, result.plan
    # as in a live run: an empty feed, or nothing new, is not an error
    if plan.inputs == 0 and not has_urls and not options.new:
        raise ConfigError(
            f"no articles found in {' '.join(chosen)} "
            "(looked for .txt, .md, .html, .json and .jsonl files)"
        )
    if no_wait and not summary.stopped:
        for batch_id in result.batch_ids:
            click.echo(batch_id)
        err_console.print(
            f"submitted {plan.new_requests:,} request(s) in {len(result.batch_ids)} batch(es); "
            f"{plan.cached:,} from the store, {plan.copies:,} later copies of a story (no "
            f"request), {plan.bad:,} bad input(s). Collect the records with: "
            f"{collect_command(kw, out)}",
            markup=False,
            soft_wrap=True,
        )
        sys.exit(0)
    if not quiet:
        _summary_table(summary, f"{prompt.ref} · model {endpoint.model} · batch")
    elif summary.stopped:
        err_console.print(f"run stopped: {summary.stopped}", markup=False, soft_wrap=True)
    sys.exit(2 if summary.stopped else 0 if summary.failed == 0 else 1)


# -- summarise batch ... ------------------------------------------------------------------------


def _options(kw: dict[str, Any]) -> runner.RunOptions:
    from pipeline import runner

    return runner.RunOptions(
        model=kw.get("model"),
        base_url=kw.get("base_url"),
        db=kw.get("db"),
        replay=kw.get("replay"),
        timeout=kw.get("timeout", 60.0),
        settings=_settings(kw) if "concurrency" in kw else runner.RunOptions().settings,
    )


def _endpoint_options(fn: F) -> F:
    options = [
        click.option("--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL)."),
        click.option(
            "--db",
            type=click.Path(dir_okay=False),
            help="SQLite store (default: $SUMMARISE_HOME/summarise.db).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=60.0,
            show_default=True,
            help="Seconds per request.",
        ),
        click.option(
            "--replay", type=click.Path(), help="Answer every request from this cassette."
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


@cli.group("batch")
def batch_group() -> None:
    """Batches submitted with `summarise run --batch`: list, status, collect, cancel."""


@batch_group.command("list")
@click.option(
    "--db",
    type=click.Path(dir_okay=False),
    help="SQLite store (default: $SUMMARISE_HOME/summarise.db).",
)
def list_command(db: str | None) -> None:
    """Every batch in the store: its run, prompt, model, status and counts (no provider call;
    `summarise batch status` asks the provider)."""
    from rich.console import Console
    from rich.table import Table

    from pipeline import batch as batchmode
    from pipeline import runner

    jobs = batchmode.list_jobs(runner.RunOptions(db=db))
    shown = [j for j in jobs if j.state != "abandoned"]
    if not shown:
        err_console.print("no batches in the store", markup=False)
        return
    table = Table(show_edge=False)
    for col in (
        "batch",
        "status",
        "requests",
        "completed / failed",
        "run",
        "prompt",
        "model",
        "endpoint",
        "submitted",
    ):
        table.add_column(col)
    for j in shown:
        counts = j.request_counts or {}
        table.add_row(
            j.batch_id or f"(job {j.id}: {j.state})",
            j.status or j.state,
            f"{j.n_requests:,}",
            f"{counts.get('completed', 0):,} / {counts.get('failed', 0):,}",
            str(j.run_id or "-"),
            j.prompt_ref,
            j.model,
            j.endpoint,
            j.submitted_at or "-",
        )
    Console(highlight=False, width=200).print(table)


@batch_group.command("status")
@click.argument("batch_id", required=False)
@_endpoint_options
def status_command(batch_id: str | None, **kw: Any) -> None:
    """The provider's status of BATCH_ID, or of every open batch of this endpoint."""
    from pipeline import batch as batchmode
    from pipeline.batch import BatchSettings

    found = batchmode.status(_options(kw), batch_id, BatchSettings())
    if not found:
        err_console.print("no open batches for this endpoint", markup=False)
        return
    for job, info in found:
        if info is None:
            click.echo(f"job {job.id}: {job.state} (not submitted yet)")
            continue
        click.echo(
            f"{info.id}: {info.status}, {info.completed:,} completed, {info.failed:,} failed, "
            f"{info.total:,} total; expires {_stamp(info.expires_at)}; "
            f"{job.prompt_ref} on {job.model}, run {job.run_id}"
        )
        for e in info.errors[:5]:
            click.echo(f"  error: {e.get('code')}: {e.get('message')}")


@batch_group.command("cancel")
@click.argument("batch_id")
@_endpoint_options
def cancel_command(batch_id: str, **kw: Any) -> None:
    """Ask the provider to cancel BATCH_ID; `summarise batch collect` then records its
    articles (answered ones kept, the others failed as cancelled)."""
    from pipeline import batch as batchmode
    from pipeline.batch import BatchSettings

    info = batchmode.cancel(_options(kw), batch_id, BatchSettings())
    click.echo(f"{info.id}: {info.status}")


@batch_group.command("collect")
@click.argument("batch_id", required=False)
@click.option("--out", type=click.Path(dir_okay=False), help="JSONL output (default: stdout).")
@click.option("--quiet", "-q", is_flag=True, help="No progress or summary table.")
@_engine_options
@batch_options
def collect_command_(batch_id: str | None, out: str | None, quiet: bool, **kw: Any) -> None:
    """Wait for BATCH_ID (or every open batch of this endpoint), collect it, and write the
    records of every run it completes, in input order, as `summarise run` does."""
    from pipeline import batch as batchmode
    from pipeline import runner

    stream = _open_out(out)
    write = runner.write_records(stream)
    progress = BatchProgress(err_console, quiet=quiet)

    to_terminal = stream is sys.stdout

    def emit(record: Record) -> None:
        if to_terminal:
            progress.end_live()
        write(record)

    try:
        with progress:
            summary, notes = batchmode.collect(
                _options(kw), batch_id, batch_settings(kw), on_record=emit, on_event=progress
            )
    except KeyboardInterrupt:
        message, code = interrupted((), INTERRUPTED.removeprefix("interrupted: "))
        err_console.print(f"summarise: {message}", markup=False, soft_wrap=True)
        sys.exit(code)
    finally:
        if stream is not sys.stdout:
            stream.close()
    for note in notes:
        err_console.print(note, markup=False, soft_wrap=True)
    if summary.n == 0 and not notes:
        err_console.print("nothing to collect", markup=False)
    elif not quiet and summary.n:
        _summary_table(summary, "collected")
    sys.exit(0 if summary.failed == 0 else 1)


def compare_batched(
    refs: list[str],
    items: list[Any],
    options: runner.RunOptions,
    kw: dict[str, Any],
    on_done: Callable[[str, Any], None],
) -> dict[str, list[dict[str, Any]]]:
    """``compare --batch``: both versions submitted in one window, then waited for."""
    from pipeline import batch as batchmode

    try:
        with BatchProgress(err_console) as progress:
            return batchmode.run_versions(
                refs, items, options, batch_settings(kw), on_done=on_done, on_event=progress
            )
    except KeyboardInterrupt:
        message, code = interrupted((), INTERRUPTED.removeprefix("interrupted: "))
        err_console.print(f"summarise: {message}", markup=False, soft_wrap=True)
        sys.exit(code)
