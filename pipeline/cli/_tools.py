"""`summarise score`, `judge` and `serve`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from pipeline.cli import cli
from pipeline.cli._common import (
    _engine_options,
    _open_out,
    _settings,
    err_console,
)
from pipeline.errors import ConfigError


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--out", type=click.Path(dir_okay=False), help="JSONL output (default: stdout).")
def score(file: str, out: str | None) -> None:
    """Score JSONL lines holding `source` and `summary` for faithfulness (offline)."""
    from pipeline.faithfulness import score_jsonl

    if file != "-" and not Path(file).is_file():
        raise ConfigError(f"no such file: {file}")
    inp = sys.stdin if file == "-" else open(file, encoding="utf-8", errors="replace")  # noqa: SIM115
    stream = _open_out(out)
    try:
        ok, bad = score_jsonl(inp, stream)
    finally:
        if inp is not sys.stdin:
            inp.close()
        if stream is not sys.stdout:
            stream.close()
    err_console.print(f"scored {ok} line(s); {bad} line(s) could not be scored", markup=False)
    sys.exit(0 if bad == 0 else 1)


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--prompt",
    "prompt_ref",
    default="judge",
    show_default=True,
    help="The judge prompt, NAME@VERSION.",
)
@click.option("--out", type=click.Path(dir_okay=False), help="JSONL output (default: stdout).")
@_engine_options
@click.option(
    "--record",
    type=click.Path(dir_okay=False),
    help="Record every HTTP exchange into this cassette (scrubbed of secrets).",
)
def judge(file: str, prompt_ref: str, out: str | None, record: str | None, **kw: Any) -> None:
    """Score summaries with an LLM judge (G-Eval criteria) through the pipeline.

    FILE holds JSONL lines with `source` (article text) and `summary` (text or object); each
    line is written back with `judgement`. Needs a real model to mean anything: the built-in
    model only maps its lexical faithfulness score onto consistency.
    """
    from pipeline import runner
    from pipeline.judge import judge_jsonl

    if file != "-" and not Path(file).is_file():
        raise ConfigError(f"no such file: {file}")
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
    inp = sys.stdin if file == "-" else open(file, encoding="utf-8", errors="replace")  # noqa: SIM115
    stream = _open_out(out)
    try:
        ok, bad = judge_jsonl(inp, stream, options)
    finally:
        if inp is not sys.stdin:
            inp.close()
        if stream is not sys.stdout:
            stream.close()
    err_console.print(f"judged {ok} line(s); {bad} failed", markup=False)
    sys.exit(0 if bad == 0 else 1)


@cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> None:
    """Serve the built-in model as an OpenAI-compatible endpoint on 127.0.0.1 (with faults).

    All options go to the server; see `summarise serve --help`.
    """
    from pipeline import server

    sys.exit(server.main(list(args)))
