"""`summarise run`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from pipeline import runner
from pipeline.articles import iter_articles
from pipeline.cli import cli
from pipeline.cli._common import (
    _check_paths,
    _engine_options,
    _open_out,
    _progress,
    _settings,
    _summary_table,
    err_console,
)
from pipeline.errors import ConfigError
from pipeline.records import Record

if TYPE_CHECKING:
    from pipeline.engine import Event


def _event_printer(min_gap_s: float = 5.0) -> Callable[[Event], None]:
    """What the run adapts, notes and waits on, one line each on stderr: an adaptation or a
    note once; a wait when it starts, at most one line every ``min_gap_s`` seconds."""
    seen: set[str] = set()
    last_wait = [-1e9]

    def on_event(event: Event) -> None:
        if event.kind in ("adapted", "note"):
            if event.message not in seen:
                seen.add(event.message)
                label = "adapted" if event.kind == "adapted" else "note"
                err_console.print(f"{label}: {event.message}", markup=False, soft_wrap=True)
        elif event.kind == "waiting" and event.seconds is not None:
            now = time.monotonic()
            if now - last_wait[0] >= min_gap_s:
                last_wait[0] = now
                err_console.print(f"waiting {event.seconds:.0f} s: {event.message}", markup=False)

    return on_event


@cli.command()
@click.argument("paths", nargs=-1)
@click.option(
    "--prompt",
    "prompt_ref",
    default="summarise",
    show_default=True,
    help="NAME@VERSION (default: newest version of summarise).",
)
@click.option("--out", type=click.Path(dir_okay=False), help="JSONL output (default: stdout).")
@_engine_options
@click.option(
    "--record",
    type=click.Path(dir_okay=False),
    help="Record every HTTP exchange into this cassette (scrubbed of secrets).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress bar or summary table.")
def run(
    paths: tuple[str, ...],
    prompt_ref: str,
    out: str | None,
    record: str | None,
    quiet: bool,
    **kw: Any,
) -> None:
    """Summarise every article in PATHS (files, folders, JSONL, '-' for stdin; default seeds/)."""
    chosen = _check_paths(paths)
    options = runner.RunOptions(
        prompt=prompt_ref,
        model=kw["model"],
        base_url=kw["base_url"],
        db=kw["db"],
        replay=kw["replay"],
        record=record,
        timeout=kw["timeout"],
        settings=_settings(kw),
    )
    prompt, endpoint = runner.prepare(options)
    if not prompt.locked:
        err_console.print(
            f"note: {prompt.ref} is an unreleased draft (not in prompts/lock)", markup=False
        )
    stream = _open_out(out)
    progress = _progress(not quiet and err_console.is_terminal)
    try:
        write = runner.write_records(stream)
        task = (
            progress.add_task(f"{prompt.ref} on {endpoint.model}", total=None) if progress else None
        )

        def emit(record: Record) -> None:
            write(record)
            if progress is not None and task is not None:
                progress.advance(task)

        if progress:
            progress.start()
        try:
            summary = runner.run(
                iter_articles(chosen), options, on_record=emit, on_event=_event_printer()
            )
        finally:
            if progress:
                progress.stop()
    finally:
        if stream is not sys.stdout:
            stream.close()
    if summary.n == 0:
        raise ConfigError(
            f"no articles found in {' '.join(chosen)} "
            "(looked for .txt, .md, .html, .json and .jsonl files)"
        )
    if not quiet:
        _summary_table(summary, f"{prompt.ref} · model {endpoint.model}")
    elif summary.stopped:  # a stopped run is reported even when quiet, on one line
        err_console.print(f"run stopped: {summary.stopped}", markup=False, soft_wrap=True)
    # a run the account or endpoint stopped (bad key, no credit, a daily quota, unknown model)
    # exits 2 like a configuration error: the same command resumes once it is fixed
    sys.exit(2 if summary.stopped else 0 if summary.failed == 0 else 1)
