"""The command line: parses arguments, calls the library, turns errors into exit codes.

Exit status: 0 every article ok; 1 the run finished but some articles failed; 2 usage or
configuration error, with a one-line message that names the fix.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from pipeline import __version__, prompts, runner
from pipeline.articles import BadInput, iter_articles
from pipeline.engine import RunSettings, RunSummary
from pipeline.errors import ConfigError, SummariseError
from pipeline.records import Record

F = TypeVar("F", bound=Callable[..., Any])
err_console = Console(stderr=True, highlight=False)


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"summarise: error: {message}", markup=False, soft_wrap=True)
    sys.exit(code)


def _reader_gone() -> None:
    """stdout's reader went away (``summarise run | head``): stop quietly, as Unix tools do.

    Finished articles are already stored. stdout is pointed at /dev/null so that Python's
    final flush does not raise again on the way out.
    """
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # no real file descriptor (tests)
        pass
    sys.exit(1)


class _Group(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SummariseError as exc:
            _fail(exc.message, exc.exit_code)
        except KeyboardInterrupt:
            _fail("interrupted: finished articles are stored; run the same command to resume", 130)
        except BrokenPipeError:
            _reader_gone()
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as exc:  # an unexpected bug: one line, the traceback only on request
            if os.environ.get("SUMMARISE_DEBUG"):
                raise
            _fail(f"unexpected {type(exc).__name__}: {exc} (set SUMMARISE_DEBUG=1 for details)", 1)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="summarise")
def cli() -> None:
    """Summarise news articles with versioned prompts and validated structured output."""


def _engine_options(fn: F) -> F:
    options = [
        click.option(
            "--model",
            help="Model name; 'builtin' for the offline baseline "
            "(default: builtin unless OPENAI_API_KEY or OPENAI_BASE_URL is set).",
        ),
        click.option("--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL)."),
        click.option(
            "--db",
            type=click.Path(dir_okay=False),
            help="SQLite store (default: $SUMMARISE_HOME/summarise.db).",
        ),
        click.option("--concurrency", type=click.IntRange(1, 1000), default=8, show_default=True),
        click.option(
            "--rpm",
            type=click.FloatRange(min=0, min_open=True),
            help="Requests per minute ceiling (default: none).",
        ),
        click.option(
            "--tpm",
            type=click.FloatRange(min=0, min_open=True),
            help="Tokens per minute ceiling (default: none).",
        ),
        click.option(
            "--max-attempts",
            type=click.IntRange(1, 50),
            default=6,
            show_default=True,
            help="HTTP requests per article: retries, re-asks and fallbacks included.",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=60.0,
            show_default=True,
            help="Seconds per request.",
        ),
        click.option("--force", is_flag=True, help="Ignore stored results and ask again."),
        click.option(
            "--replay",
            type=click.Path(),
            help="Answer every request from this cassette, or from every cassette in this "
            "folder (no network, no key).",
        ),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _settings(kw: dict[str, Any]) -> RunSettings:
    return RunSettings(
        concurrency=kw["concurrency"],
        rpm=kw["rpm"],
        tpm=kw["tpm"],
        max_attempts=kw["max_attempts"],
        force=kw["force"],
    )


def _check_paths(paths: tuple[str, ...]) -> list[str]:
    chosen = list(paths) or ["seeds"]
    for p in chosen:
        if p != "-" and not Path(p).exists():
            hint = " (the default is seeds/ in the project folder)" if not paths else ""
            raise ConfigError(f"no such file or folder: {p}{hint}")
    return chosen


def _summary_table(summary: RunSummary, title: str) -> None:
    table = Table(title=title, title_justify="left", show_edge=False)
    for col in ("articles", "ok", "failed", "cached", "tokens in", "tokens out", "time"):
        table.add_column(col, justify="right")
    table.add_row(
        str(summary.n),
        str(summary.ok),
        str(summary.failed),
        str(summary.cached),
        f"{summary.prompt_tokens:,}",
        f"{summary.completion_tokens:,}",
        f"{summary.seconds:.1f}s",
    )
    err_console.print(table)
    if summary.failures:
        kinds = ", ".join(f"{k}: {v}" for k, v in sorted(summary.failures.items()))
        err_console.print(f"failures by kind: {kinds}", markup=False)
    if summary.stopped:
        err_console.print(f"run stopped: {summary.stopped}", markup=False, soft_wrap=True)


def _open_out(out: str | None) -> IO[str]:
    if out is None or out == "-":
        return sys.stdout
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    return open(out, "w", encoding="utf-8")  # noqa: SIM115 - closed by the caller


def _progress(enabled: bool) -> Progress | None:
    if not enabled:
        return None
    return Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
    )


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
            summary = runner.run(iter_articles(chosen), options, on_record=emit)
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
    sys.exit(0 if summary.failed == 0 else 1)


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


@cli.group(name="prompts")
def prompts_group() -> None:
    """List, show, diff and lock prompt versions."""


@prompts_group.command(name="list")
def prompts_list() -> None:
    """Every prompt version, with its hash and release state."""
    lock = prompts.read_lock()
    table = Table(show_edge=False)
    for col in ("prompt", "schema", "sha256", "state", "description"):
        table.add_column(col)
    for name, versions in prompts.available().items():
        for version in versions:
            p = prompts.load_prompt(f"{name}@{version}", check_lock=False)
            state = (
                "released"
                if lock.get(p.ref) == p.sha256
                else ("EDITED" if p.ref in lock else "draft")
            )
            table.add_row(p.ref, p.schema, p.sha256[:12], state, p.description[:70])
    Console(highlight=False).print(table)


@prompts_group.command(name="show")
@click.argument("ref")
def prompts_show(ref: str) -> None:
    """Print a prompt version's file."""
    p = prompts.load_prompt(ref)
    click.echo(p.path.read_text(encoding="utf-8"), nl=False)


@prompts_group.command(name="diff")
@click.argument("a")
@click.argument("b")
def prompts_diff(a: str, b: str) -> None:
    """A unified diff of two prompt versions."""
    click.echo(
        prompts.diff(
            prompts.load_prompt(a, check_lock=False), prompts.load_prompt(b, check_lock=False)
        ),
        nl=False,
    )


@prompts_group.command(name="lock")
@click.option(
    "--check", is_flag=True, help="Only check: exit 2 if a version is edited or unreleased."
)
def prompts_lock(check: bool) -> None:
    """Release every new prompt version by recording its hash in prompts/lock."""
    report = prompts.lock(check=check)
    for ref in report.added if not check else []:
        click.echo(f"released {ref}")
    if report.messages:
        for m in report.messages:
            err_console.print(f"summarise: error: {m}", markup=False, soft_wrap=True)
        sys.exit(2)
    if check:
        click.echo(f"ok: {len(report.unchanged)} released version(s) match prompts/lock")


_VERSION_ARG = re.compile(r"^[A-Za-z0-9_.-]+@v\d+$")


@cli.command()
@click.argument("args", nargs=-1, metavar="A B [C ...] [PATH ...]")
@click.option(
    "--references",
    type=click.Path(dir_okay=False),
    help="JSONL of reference summaries (id/article_id/source + reference) for ROUGE.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "md", "html", "json"]),
    default="table",
    show_default=True,
)
@click.option("--out", type=click.Path(dir_okay=False), help="Write the report here.")
@click.option(
    "--prices",
    type=click.Path(dir_okay=False),
    help="JSON/YAML price table (USD per 1M tokens) overriding the built-in one.",
)
@click.option(
    "--fail-on-regression",
    "gate",
    multiple=True,
    metavar="METRIC",
    help="Exit 1 when a candidate is worse than A on METRIC beyond the 95% CI.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@_engine_options
def compare(
    args: tuple[str, ...],
    references: str | None,
    fmt: str,
    out: str | None,
    prices: str | None,
    gate: tuple[str, ...],
    seed: int,
    **kw: Any,
) -> None:
    """Run prompt versions A, B, ... over the same articles and compare them.

    A and B are NAME@VERSION (e.g. summarise@v1 summarise@v2); the articles come from PATHS
    (default seeds/). Results already stored are reused; only what is missing is run.
    """
    from pipeline import compare as cmp
    from pipeline import report
    from pipeline.prices import load_prices

    refs = [a for a in args if _VERSION_ARG.match(a)]
    paths = tuple(a for a in args if not _VERSION_ARG.match(a))
    if len(refs) < 2:
        raise ConfigError(
            "compare needs two prompt versions, e.g. "
            "`summarise compare summarise@v1 summarise@v2 seeds/`"
        )
    if len(set(refs)) != len(refs):
        raise ConfigError(
            f"the same version is given twice ({' '.join(refs)}): compare two different versions"
        )
    for r in refs:
        prompts.load_prompt(r)  # unknown prompt/version or an edited release: exit 2 now
    for g in gate:
        if g not in cmp.METRIC_BY_KEY:
            raise ConfigError(
                f"unknown metric {g!r} for --fail-on-regression; choose one of: "
                + ", ".join(cmp.METRIC_BY_KEY)
            )
    price_table = load_prices(prices)
    ref_texts = cmp.load_references(references) if references else None
    chosen = _check_paths(paths)
    items = list(iter_articles(chosen))
    if not items:
        raise ConfigError(f"no articles found in {' '.join(chosen)}")
    options = runner.RunOptions(
        model=kw["model"],
        base_url=kw["base_url"],
        db=kw["db"],
        replay=kw["replay"],
        timeout=kw["timeout"],
        settings=_settings(kw),
    )

    def done(ref: str, s: RunSummary) -> None:
        err_console.print(
            f"{ref}: {s.ok} ok, {s.failed} failed, {s.cached} from the store ({s.seconds:.1f}s)",
            markup=False,
        )

    runs = runner.run_versions(refs, items, options, on_done=done)
    sources = {i.id: i.text for i in items if not isinstance(i, BadInput)}
    comparison = cmp.build_comparison(
        runs, sources=sources, references=ref_texts, prices=price_table, seed=seed
    )
    failing = [g for g in gate if cmp.fails_gate(comparison, g)]
    if fmt == "table" and out is None:
        report.render_table(comparison, Console(highlight=False))
    else:
        text = report.render(comparison, fmt)
        if out:
            Path(out).parent.mkdir(parents=True, exist_ok=True)
            Path(out).write_text(text, encoding="utf-8")
            err_console.print(f"wrote {out}", markup=False)
        else:
            click.echo(text, nl=False)
    if failing:
        err_console.print(
            f"regression on {', '.join(failing)}: failing as asked (--fail-on-regression)",
            markup=False,
        )
        sys.exit(1)


@cli.command(context_settings={"ignore_unknown_options": True, "help_option_names": []})
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def serve(args: tuple[str, ...]) -> None:
    """Serve the built-in model as an OpenAI-compatible endpoint on 127.0.0.1 (with faults).

    All options go to the server; see `summarise serve --help`.
    """
    from pipeline import server

    sys.exit(server.main(list(args)))


def main() -> None:
    cli(prog_name="summarise")


if __name__ == "__main__":  # pragma: no cover
    main()
