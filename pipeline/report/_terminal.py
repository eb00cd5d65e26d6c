"""The terminal renderer: rich tables, the verdict lines, and the word diff of the articles that
changed most. Every piece of record text goes into a ``Text``, never parsed as rich markup."""

from __future__ import annotations

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from pipeline.compare import (
    METRIC_BY_KEY,
    ArticleChange,
    Comparison,
    Metric,
    MetricDiff,
    VersionDiff,
    format_value,
)
from pipeline.report._text import (
    TOP_ARTICLES,
    _article_facts,
    _field_changes,
    _header,
    _loud,
    _plain_changes,
    _quiet,
    _text_unchanged,
    _top,
    diff_rows,
    short_label,
    verdict_heading,
    version_rows,
)

_RICH_STYLE = {
    "better": "green",
    "worse": "bold red",
    "higher": "cyan",
    "lower": "cyan",
    "no_difference": "dim",
    "too_few": "dim",
    "no_data": "dim",
    "not_comparable": "yellow",
}


_WIDE = 110  # narrower terminals get the compact differences table


def _diff_table(c: Comparison, vd: VersionDiff, *, compact: bool) -> Table:
    """The differences; ``compact`` (under 110 columns) leaves out the two means (they are in
    the per-version table) and n, and writes the interval without its unit, so that the
    metric names are never cut at 80 columns."""
    dt = Table(
        title=f"Differences: {vd.candidate} minus {vd.baseline}",
        title_justify="left",
        show_edge=False,
        pad_edge=False,
        collapse_padding=compact,
        box=None if compact else box.HEAVY_HEAD,
    )
    cols: list[tuple[str, str]] = [("metric", "left")]
    if not compact:
        cols += [(short_label(c, vd.baseline), "right"), (short_label(c, vd.candidate), "right")]
    cols += [("difference", "right"), ("95% CI", "right"), ("W/T/L" if compact else "W / T / L",
             "right")]  # fmt: skip
    if not compact:
        cols.append(("n", "right"))
    cols.append(("verdict", "left"))
    for col, just in cols:
        dt.add_column(col, justify=just, no_wrap=True)  # type: ignore[arg-type]
    for d, cells in diff_rows(c, vd):
        if compact:
            metric, _, _, diff, _, wtl, _, verdict = cells
            m = METRIC_BY_KEY[d.metric]
            cells = [metric, diff, _ci_bare(m, d), wtl.replace(" ", ""), verdict]
        dt.add_row(*cells, style=_RICH_STYLE.get(d.verdict))
    return dt


def _ci_bare(m: Metric, d: MetricDiff) -> str:
    """The interval without its unit ("[+6.7, +22.5]"), the difference beside it has it."""
    if d.ci_low is None or d.ci_high is None:
        return "n/a"
    lo, hi = (format_value(m, v, signed=True) for v in (d.ci_low, d.ci_high))
    for unit in (" pp", " ms"):
        lo, hi = lo.removesuffix(unit), hi.removesuffix(unit)
    return f"[{lo}, {hi}]"


def render_table(comparison: Comparison, console: Console) -> None:
    """Print the comparison as rich tables (article text is never parsed as markup)."""
    c = comparison
    title, sub = _header(c)
    console.print(Text(title, style="bold"))
    console.print(Text(sub, style="dim"))
    console.print()
    t = Table(title="Per version", title_justify="left", show_edge=False, pad_edge=False)
    t.add_column("metric", no_wrap=True)
    for v in c.versions:
        t.add_column(v.label, justify="right")
    for label, cells in version_rows(c):
        t.add_row(label, *cells)
    console.print(t)
    for vd in c.diffs:
        console.print()
        console.print(_diff_table(c, vd, compact=console.width < _WIDE))
        console.print()
        console.print(Text(verdict_heading(vd), style="bold"))
        for d in _loud(vd):
            line = Text("  ")
            if d.regression:
                line.append("REGRESSION ", style="bold red")
            line.append(d.sentence, style=_RICH_STYLE.get(d.verdict, ""))
            console.print(line)
        for words, ds in _quiet(vd):
            console.print(Text(f"  {words}: " + ", ".join(d.label for d in ds), style="dim"))
        top = _top(c, vd.candidate, TOP_ARTICLES)
        if top:
            console.print()
            console.print(Text(f"Articles that changed most ({vd.candidate})", style="bold"))
            for a in top:
                _rich_article(console, a)
    for note in [*c.notes, *(f"{v.label}: {n}" for v in c.versions for n in v.notes)]:
        console.print(Text(f"note: {note}", style="yellow"))


def _rich_article(console: Console, a: ArticleChange) -> None:
    head = Text(f"\n#{a.index + 1} ", style="bold")
    head.append(a.title or a.source or a.article_id or "", style="bold")
    facts = _article_facts(a)
    if facts:
        head.append("  " + " · ".join(facts), style="dim")
    console.print(head)
    body = Text("  ")
    for seg in a.diff:
        if seg.op == "equal":
            body.append(seg.text + " ")
        elif seg.op == "delete":
            body.append(seg.text, style="red strike")
            body.append(" ")
        else:
            body.append(seg.text, style="green")
            body.append(" ")
    if _text_unchanged(a):
        console.print(Text("  summary text unchanged", style="dim"))
    elif a.diff:
        console.print(body)
    for name, added, lost in _field_changes(a):
        line = Text(f"  {name}: ", style="dim")
        if added:
            line.append("+ " + "; ".join(added), style="green")
        if added and lost:
            line.append("  ")
        if lost:
            line.append("- " + "; ".join(lost), style="red")
        console.print(line)
    for plain in _plain_changes(a):
        console.print(Text(f"  {plain}", style="dim"))
