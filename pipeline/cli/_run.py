"""`summarise run`."""

from __future__ import annotations

import sys
from typing import Any

import click

from pipeline.cli import cli
from pipeline.cli._batch import batch_options, run_batched
from pipeline.cli._common import (
    _check_paths,
    _engine_options,
    _open_out,
    _quiet_option,
    _settings,
    _summary_table,
    err_console,
)
from pipeline.cli._display import RunDisplay
from pipeline.cli._web import web_options, web_source
from pipeline.errors import ConfigError


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
@_quiet_option
@click.option(
    "--batch",
    "use_batch",
    is_flag=True,
    help="Send the articles through the provider's Batch API (half the price, answers "
    "within 24 h); see `summarise batch --help`.",
)
@click.option(
    "--no-wait",
    is_flag=True,
    help="With --batch: submit, print the batch ids and exit; `summarise batch collect` "
    "writes the records.",
)
@batch_options
@web_options
def run(
    paths: tuple[str, ...],
    prompt_ref: str,
    out: str | None,
    record: str | None,
    quiet: bool,
    use_batch: bool,
    no_wait: bool,
    **kw: Any,
) -> None:
    """Summarise every article in PATHS: files, folders, JSONL, '-' for stdin, and http(s)
    URLs of pages or RSS/Atom feeds (default seeds/)."""
    from pipeline import runner

    chosen = _check_paths(paths, default=not kw["urls"])
    # the run's own --out is never read back as an input, even inside an input folder
    source = web_source(chosen, kw, exclude=[out] if out and out != "-" else [])
    options = runner.RunOptions(
        prompt=prompt_ref,
        model=kw["model"],
        base_url=kw["base_url"],
        db=kw["db"],
        replay=kw["replay"],
        record=record,
        timeout=kw["timeout"],
        settings=_settings(kw),
        new=kw["only_new"],
        dedupe=kw["dedupe"],
    )
    if no_wait and not use_batch:
        raise ConfigError("--no-wait needs --batch (a live run always waits for its answers)")
    prompt, endpoint = runner.prepare(options)
    if not prompt.locked:
        err_console.print(
            f"note: {prompt.ref} is an unreleased draft (from {prompt.origin}): release it with "
            "`summarise prompts lock`",
            markup=False,
        )
    if use_batch:
        run_batched(
            chosen,
            options,
            kw,
            out=out,
            quiet=quiet,
            no_wait=no_wait,
            items=source,
            has_urls=source.has_urls,
        )
        return
    stream = _open_out(out, inputs=chosen)
    try:
        display = RunDisplay(
            f"{prompt.ref} · {endpoint.model}", quiet=quiet, paths=chosen, out=stream
        )
        emit = display.wrap(runner.write_records(stream))
        with display:
            summary = runner.run(source, options, on_record=emit, on_event=display.event)
    finally:
        if stream is not sys.stdout:
            stream.close()
    # an empty feed, or nothing new, is not an error
    if summary.n == 0 and not source.has_urls and not kw["only_new"]:
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
