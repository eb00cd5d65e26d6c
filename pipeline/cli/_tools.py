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
    _quiet_option,
    _settings,
    err_console,
)
from pipeline.errors import ConfigError


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--out", type=click.Path(dir_okay=False), help="JSONL output (default: stdout).")
@_quiet_option
def score(file: str, out: str | None, quiet: bool) -> None:
    """Score JSONL lines holding `source` and `summary` for faithfulness (offline)."""
    from pipeline.faithfulness import score_jsonl

    if file != "-" and not Path(file).is_file():
        raise ConfigError(f"no such file: {file}")
    inp = sys.stdin if file == "-" else open(file, encoding="utf-8", errors="replace")  # noqa: SIM115
    stream = _open_out(out, inputs=[file])
    try:
        ok, bad = score_jsonl(inp, stream)
    finally:
        if inp is not sys.stdin:
            inp.close()
        if stream is not sys.stdout:
            stream.close()
    if not quiet:
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
@_quiet_option
def judge(
    file: str, prompt_ref: str, out: str | None, record: str | None, quiet: bool, **kw: Any
) -> None:
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
    stream = _open_out(out, inputs=[file])
    try:
        ok, bad = judge_jsonl(inp, stream, options)
    finally:
        if inp is not sys.stdin:
            inp.close()
        if stream is not sys.stdout:
            stream.close()
    if not quiet:
        err_console.print(f"judged {ok} line(s); {bad} failed", markup=False)
    sys.exit(0 if bad == 0 else 1)


def _fault_kinds(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> Any:
    from pipeline.server import FAULT_KINDS

    pairs = (
        [pair for item in value for pair in item.split(",")]
        if param.name == "fault_rate"
        else value
    )
    for pair in pairs:
        kind, _, rate = pair.partition("=") if param.name == "fault_rate" else (pair, "", "")
        if kind.strip() not in FAULT_KINDS:
            raise click.BadParameter(
                f"unknown fault kind {kind.strip()!r}; kinds: {', '.join(FAULT_KINDS)}"
            )
        if param.name == "fault_rate":
            try:
                ok = 0.0 <= float(rate) <= 1.0
            except ValueError:
                ok = False
            if not ok:
                raise click.BadParameter(f"{pair!r}: give KIND=P with P between 0 and 1")
    return value


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Bind address.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port; 0 picks a free one.",
)
@click.option("--rpm", type=click.IntRange(min=1), help="Requests per minute limit.")
@click.option("--tpm", type=click.IntRange(min=1), help="Tokens per minute limit.")
@click.option(
    "--burst-window",
    type=click.FloatRange(min=0, min_open=True),
    default=60.0,
    show_default=True,
    help="Seconds of limit per burst.",
)
@click.option(
    "--latency",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Seconds added to each answer.",
)
@click.option(
    "--jitter",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Up to this many seconds more.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of faults and jitter.")
@click.option("--require-api-key", metavar="KEY", help="Answer 401 to any other key.")
@click.option(
    "--canary-header",
    multiple=True,
    metavar="NAME:VALUE",
    help="A header to echo back (secret-scrubbing tests); repeatable.",
)
@click.option("--reject-json-schema", is_flag=True, help="Answer 400 to json_schema output.")
@click.option("--reject-json-object", is_flag=True, help="Answer 400 to json_object output.")
@click.option(
    "--error-style",
    type=click.Choice(["openai", "vllm", "ollama"]),
    default="openai",
    show_default=True,
    help="Whose error bodies to imitate.",
)
@click.option(
    "--fault-rate",
    multiple=True,
    metavar="KIND=P[,KIND=P]",
    callback=_fault_kinds,
    help="Random faults with these probabilities; repeatable.",
)
@click.option(
    "--enqueue",
    multiple=True,
    metavar="KIND",
    callback=_fault_kinds,
    help="Faults for the next requests, in order; repeatable.",
)
@click.option(
    "--hang",
    type=click.FloatRange(min=0),
    default=30.0,
    show_default=True,
    help="Seconds a hang or slow fault lasts.",
)
@click.option(
    "--retry-after",
    type=click.FloatRange(min=0),
    default=0.1,
    show_default=True,
    help="The retry-after of a rate_limit fault.",
)
@click.option("--model-name", help="The model name the answers carry.")
@click.option("--stub", is_flag=True, help="Answer with the stub, not the built-in model.")
@click.option(
    "--batch-time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="Batch API: simulated seconds per real second (3600: a 24-hour window in 24 s).",
)
@click.option("--no-batch-api", is_flag=True, help="Answer 404 on /v1/files and /v1/batches.")
@_quiet_option
def serve(**kw: Any) -> None:
    """Serve the built-in model as an OpenAI-compatible endpoint on 127.0.0.1, with rate
    limits and scriptable faults (for tests and benchmarks; `python -m pipeline.server` is the
    same server). Point a run at it with `--base-url http://127.0.0.1:8765/v1`.
    """
    from pipeline import server

    argv: list[str] = []
    for name, value in kw.items():
        flag = "--" + name.replace("_", "-")
        if value is None or value is False or value == ():
            continue
        if value is True:
            argv.append(flag)
        elif isinstance(value, tuple):
            for v in value:
                argv += [flag, str(v)]
        else:
            argv += [flag, str(value)]
    sys.exit(server.main(argv))
