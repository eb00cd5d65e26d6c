"""`summarise compare`."""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING, Any

import click

from pipeline.cli import cli
from pipeline.cli._batch import batch_options, compare_batched
from pipeline.cli._common import (
    _check_paths,
    _engine_options,
    _quiet_option,
    _settings,
    err_console,
)
from pipeline.cli._display import RunDisplay
from pipeline.errors import ConfigError

if TYPE_CHECKING:
    from pipeline.engine import RunSummary

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
    help="Exit 1 when a candidate is worse than A on METRIC beyond the 95% CI; METRIC is a "
    "name the report shows, e.g. faithfulness, 'input tokens', latency.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Bootstrap seed.")
@click.option(
    "--batch",
    "use_batch",
    is_flag=True,
    help="Run what is missing for every version through the provider's Batch API, all in "
    "one submission window.",
)
@_engine_options
@_quiet_option
@batch_options
def compare(
    args: tuple[str, ...],
    references: str | None,
    fmt: str,
    out: str | None,
    prices: str | None,
    gate: tuple[str, ...],
    seed: int,
    quiet: bool,
    use_batch: bool,
    **kw: Any,
) -> None:
    """Run prompt versions A, B, ... over the same articles and compare them.

    A and B are NAME@VERSION (e.g. summarise@v1 summarise@v2); the articles come from PATHS
    (default seeds/). Results already stored are reused; only what is missing is run.
    """
    from rich.console import Console

    from pipeline import compare as cmp
    from pipeline import prompts, report, runner
    from pipeline.articles import BadInput
    from pipeline.prices import load_prices
    from pipeline.web import WebSource

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
    for r in refs:  # unknown prompt/version, an edited release or a judge prompt: exit 2 now
        prompts.check_command(prompts.load_prompt(r), "compare")
    gates = [cmp.resolve_metric(g) for g in gate]  # the report's names or the keys
    price_table = load_prices(prices)
    ref_texts = cmp.load_references(references) if references else None
    chosen = _check_paths(paths)
    if out and out != "-":
        from pipeline.cli._output import OutFile, refuse_out_over_inputs

        refuse_out_over_inputs(out, chosen)
        OutFile(out).check()  # a read-only or impossible --out fails now, not after the run
    # URLs of pages and feeds too; the report's own --out is never read as an input
    items = list(WebSource(chosen, db=kw["db"], exclude=[out] if out and out != "-" else []))
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
        if not quiet:
            err_console.print(
                f"{ref}: {s.ok} ok, {s.failed} failed, {s.cached} from the store "
                f"({s.seconds:.1f}s)",
                markup=False,
            )

    records: dict[str, list[dict[str, Any]]]
    timings: dict[str, list[cmp.Timing]] | None = None
    if use_batch:  # the Batch API: no warm-up or concurrency to record (days still count)
        records = compare_batched(refs, items, options, kw, done)
    else:
        total = len(items) * len(refs)
        display = RunDisplay(f"compare {' '.join(refs)}", quiet=quiet, total=total)
        with display:
            runs = runner.run_versions(
                refs,
                items,
                options,
                on_record=lambda _ref, r: display.count(r),
                on_done=done,
                on_event=display.event,
            )
        records, timings = runs.records, runs.timings
    sources = {i.id: i.text for i in items if not isinstance(i, BadInput)}
    comparison = cmp.build_comparison(
        records,
        sources=sources,
        references=ref_texts,
        prices=price_table,
        seed=seed,
        timings=timings,
    )
    failing = [m.label for m in gates if cmp.fails_gate(comparison, m.key)]
    unchecked = [
        m.label
        for m in gates
        if any(d.get(m.key).verdict == "not_comparable" for d in comparison.diffs)
    ]
    if fmt == "table" and out is None:
        report.render_table(comparison, Console(highlight=False))
    else:
        from pipeline.secrets import scrub

        text = scrub(report.render(comparison, fmt))  # records stored by older runs too
        if out:
            from pipeline.cli._output import OutFile

            with OutFile(out) as f:
                f.write(text)
            if not quiet:
                err_console.print(f"wrote {out}", markup=False)
        else:
            click.echo(text, nl=False)
    for label in unchecked:
        click.echo(
            f"--fail-on-regression {label}: not checked, the {label} figures are not "
            "comparable (see the report's note)",
            err=True,
        )
    if failing:
        click.echo(
            f"regression on {', '.join(failing)}: failing as asked (--fail-on-regression)",
            err=True,
        )
        sys.exit(1)
