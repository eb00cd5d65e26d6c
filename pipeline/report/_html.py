"""The HTML renderer: one self-contained page with inline CSS and an inline SVG chart of the
differences (no scripts, fonts, stylesheets or images from anywhere else), collapsible parts as
``<details>``, every piece of record text escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable

from pipeline.compare import METRIC_BY_KEY, ArticleChange, Comparison, VersionDiff, format_value
from pipeline.report._text import (
    _article_facts,
    _ci,
    _field_changes,
    _header,
    _loud,
    _plain_changes,
    _quiet,
    _text_unchanged,
    diff_rows,
    short_label,
    verdict_heading,
    version_rows,
)

HTML_ARTICLES = 100

_COLOURS = {
    "better": "#2f7d4f",
    "worse": "#b3261e",
    "higher": "#35629c",
    "lower": "#35629c",
    "no_difference": "#8a8f98",
    "too_few": "#b5b9c0",
}

_CSS = """
:root { --ink: #1f2328; --muted: #656d76; --line: #d8dee4; --soft: #f6f8fa;
  --good: #2f7d4f; --bad: #b3261e; --info: #35629c; }
* { box-sizing: border-box; }
body { margin: 0; background: #fff; color: var(--ink);
  font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
main { max-width: 1080px; margin: 0 auto; padding: 32px 28px 64px; }
h1 { font-size: 24px; margin: 0 0 6px; font-weight: 650; }
h2 { font-size: 18px; margin: 36px 0 12px; padding-bottom: 6px;
  border-bottom: 1px solid var(--line); }
p.sub { color: var(--muted); margin: 0 0 8px; max-width: 820px; }
ul.verdicts { list-style: none; padding: 0; margin: 0; }
ul.verdicts li { padding: 6px 10px; margin: 4px 0; border-left: 4px solid var(--line);
  background: var(--soft); border-radius: 0 6px 6px 0; }
ul.verdicts li.better { border-color: var(--good); }
ul.verdicts li.worse { border-color: var(--bad); background: #fdf1f0; }
ul.verdicts li.higher, ul.verdicts li.lower { border-color: var(--info); }
ul.verdicts li.quiet { color: var(--muted); background: none; }
.tag { display: inline-block; font-size: 11px; font-weight: 700; letter-spacing: .04em;
  text-transform: uppercase; padding: 1px 6px; border-radius: 4px; margin-right: 6px;
  color: #fff; background: var(--bad); vertical-align: 1px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums;
  font-size: 14px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
.num { text-align: right; white-space: nowrap; }
.name, .verdict { text-align: left; }
td.name { min-width: 10em; }
td.verdict { white-space: nowrap; }
.scroll { overflow-x: auto; }
table.versions { width: auto; min-width: 60%; }
table.versions td.num, table.versions th.num { padding-left: 28px; }
p.note { color: var(--muted); font-size: 13px; margin: 8px 0 0; }
details.quiet { color: var(--muted); margin: 8px 0 0; font-size: 14px; }
details.quiet summary { cursor: pointer; }
details.quiet ul { margin: 6px 0; }
ul.fields.plain { color: var(--muted); }
th { font-weight: 600; background: var(--soft); }
td.verdict { color: var(--muted); }
tr.better td.verdict { color: var(--good); font-weight: 600; }
tr.worse td { background: #fdf1f0; }
tr.worse td.verdict { color: var(--bad); font-weight: 700; }
tr.higher td.verdict, tr.lower td.verdict { color: var(--info); }
figure { margin: 8px 0 0; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
svg text { font-family: inherit; }
details.article { border: 1px solid var(--line); border-radius: 8px; margin: 10px 0; }
details.article > summary { cursor: pointer; padding: 10px 14px; list-style-position: inside; }
details.article[open] > summary { border-bottom: 1px solid var(--line); background: var(--soft); }
.idx { color: var(--muted); font-variant-numeric: tabular-nums; margin-right: 4px; }
.facts { color: var(--muted); font-size: 13px; margin-left: 8px; }
.facts .bad { color: var(--bad); font-weight: 600; }
.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 18px; padding: 12px 14px; }
.pair.single { grid-template-columns: 1fr; max-width: 760px; }
.pair h3 { font-size: 13px; color: var(--muted); margin: 0 0 4px; font-weight: 600; }
.pair .headline { font-weight: 600; margin: 0 0 6px; }
.pair p { margin: 0; }
.failed { color: var(--bad); }
ins { background: #dcf3e3; color: #124d2a; text-decoration: none; border-radius: 2px;
  padding: 0 1px; }
del { background: #fbe3e1; color: #7a1b15; border-radius: 2px; padding: 0 1px; }
ul.fields { margin: 0; padding: 0 14px 12px 32px; font-size: 14px; }
.meta { color: var(--muted); font-size: 12px; padding: 0 14px 10px; word-break: break-all; }
footer { margin-top: 40px; color: var(--muted); font-size: 13px; }
"""


def _e(s: object) -> str:
    return html.escape(str(s), quote=True)


def _svg_forest(c: Comparison, vd: VersionDiff) -> str:
    rows = [
        d
        for d in vd.metrics
        if d.verdict not in ("no_data", "not_comparable") and d.diff is not None
    ]
    if not rows:
        return ""
    label_w, plot_w, value_w, row_h, top = 230, 380, 250, 30, 34
    width = label_w + plot_w + value_w
    height = top + row_h * len(rows) + 12
    x0 = label_w + plot_w / 2
    half_px = plot_w / 2 - 14
    parts = [
        f'<svg viewBox="0 0 {width} {height}" '
        f'width="100%" role="img" aria-label="{_e("Mean differences with 95% intervals")}">',
        f'<text x="{label_w + 6}" y="16" font-size="12" fill="#656d76">'
        f"&#8592; lower in {_e(vd.candidate)}</text>",
        f'<text x="{label_w + plot_w - 6}" y="16" font-size="12" fill="#656d76" '
        f'text-anchor="end">higher in {_e(vd.candidate)} &#8594;</text>',
        f'<line x1="{x0}" y1="{top - 8}" x2="{x0}" y2="{height - 6}" stroke="#8a8f98" '
        'stroke-dasharray="3 3"/>',
    ]
    for i, d in enumerate(rows):
        m = METRIC_BY_KEY[d.metric]
        y = top + i * row_h + row_h / 2
        lo = d.ci_low if d.ci_low is not None else d.diff
        hi = d.ci_high if d.ci_high is not None else d.diff
        assert d.diff is not None and lo is not None and hi is not None
        span = max(abs(lo), abs(hi), abs(d.diff)) or 1.0
        scale = half_px / span

        def x(v: float, scale: float = scale) -> float:
            return round(x0 + v * scale, 1)

        colour = _COLOURS.get(d.verdict, "#8a8f98")
        if i % 2 == 0:
            parts.append(
                f'<rect x="0" y="{y - row_h / 2}" width="{width}" height="{row_h}" fill="#f6f8fa"/>'
            )
        parts.append(
            f'<text x="{label_w - 12}" y="{y + 4}" font-size="13" text-anchor="end" '
            f'fill="#1f2328">{_e(m.label)}</text>'
        )
        parts.append(
            f'<line x1="{x(lo)}" y1="{y}" x2="{x(hi)}" y2="{y}" stroke="{colour}" '
            'stroke-width="2.5" stroke-linecap="round"/>'
        )
        for end in (lo, hi):
            parts.append(
                f'<line x1="{x(end)}" y1="{y - 6}" x2="{x(end)}" y2="{y + 6}" '
                f'stroke="{colour}" stroke-width="2"/>'
            )
        tip = _e(d.sentence)
        parts.append(
            f'<circle cx="{x(d.diff)}" cy="{y}" r="5.5" fill="{colour}" stroke="#fff" '
            f'stroke-width="1.5"><title>{tip}</title></circle>'
        )
        weight = ' font-weight="700"' if d.verdict in ("better", "worse") else ""
        parts.append(
            f'<text x="{label_w + plot_w + 12}" y="{y + 4}" font-size="12.5" fill="{colour}"'
            f"{weight}>{_e(format_value(m, d.diff, signed=True))} {_e(_ci(m, d))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _html_table(
    header: list[str],
    rows: Iterable[tuple[str, list[str]]],
    *,
    cls: str = "",
    verdict: bool = False,
) -> str:
    """A table: first column left (wraps), the numbers right (no wrap), a verdict column left."""
    last = len(header) - 1

    def kind(i: int) -> str:
        return "name" if i == 0 else "verdict" if verdict and i == last else "num"

    out = [f'<div class="scroll"><table class="{_e(cls)}"><thead><tr>']
    out += [f'<th class="{kind(i)}">{_e(h)}</th>' for i, h in enumerate(header)]
    out.append("</tr></thead><tbody>")
    for row_cls, cells in rows:
        tds = "".join(f'<td class="{kind(i)}">{_e(x)}</td>' for i, x in enumerate(cells))
        out.append(f'<tr class="{_e(row_cls)}">{tds}</tr>' if row_cls else f"<tr>{tds}</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


def _html_side(a: ArticleChange, label: str, side: str) -> str:
    status = a.status_a if side == "a" else a.status_b
    headline = a.headline_a if side == "a" else a.headline_b
    err = a.error_a if side == "a" else a.error_b
    out = [f"<div><h3>{_e(label)}</h3>"]
    if status != "ok":
        return out[0] + f'<p class="failed">failed: {_e(err or "unknown")}</p></div>'
    if headline:
        out.append(f'<p class="headline">{_e(headline)}</p>')
    if not a.diff:
        text = a.summary_a if side == "a" else a.summary_b
        return "".join(out) + f"<p>{_e(text or '')}</p></div>"
    words = []
    drop = "insert" if side == "a" else "delete"
    tag = "del" if side == "a" else "ins"
    for seg in a.diff:
        if seg.op == drop:
            continue
        text = _e(seg.text)
        words.append(text if seg.op == "equal" else f"<{tag}>{text}</{tag}>")
    out.append(f"<p>{' '.join(words)}</p></div>")
    return "".join(out)


def _html_article(a: ArticleChange, open_: bool) -> str:
    """One article as a collapsible block: both summaries side by side, or once if unchanged."""
    name = a.title or a.source or a.article_id or ""
    facts = []
    for f in _article_facts(a):
        cls = ' class="bad"' if "failed" in f or f.startswith("status") else ""
        facts.append(f"<span{cls}>{_e(f)}</span>")
    out = [
        f'<details class="article"{" open" if open_ else ""}><summary>',
        f'<span class="idx">#{a.index + 1}</span> {_e(name)}',
        f'<span class="facts">{" · ".join(facts)}</span></summary>',
    ]
    if _text_unchanged(a):
        label = f"{a.baseline} and {a.candidate} (summary text unchanged)"
        out.append(f'<div class="pair single">{_html_side(a, label, "b")}</div>')
    else:
        out += [
            '<div class="pair">',
            _html_side(a, a.baseline, "a"),
            _html_side(a, a.candidate, "b"),
            "</div>",
        ]
    fields = _field_changes(a)
    if fields:
        out.append('<ul class="fields">')
        for field_name, added, lost in fields:
            items = [f"<ins>{_e(x)}</ins>" for x in added] + [f"<del>{_e(x)}</del>" for x in lost]
            out.append(f"<li>{_e(field_name)}: {'; '.join(items)}</li>")
        out.append("</ul>")
    plain = _plain_changes(a)
    if plain:
        out.append('<ul class="fields plain">' + "".join(f"<li>{_e(p)}</li>" for p in plain))
        out.append("</ul>")
    meta = " · ".join(_e(x) for x in (a.source, a.article_id) if x)
    if meta:
        out.append(f'<div class="meta">{meta}</div>')
    out.append("</details>")
    return "".join(out)


def render_html(comparison: Comparison, *, max_articles: int = HTML_ARTICLES) -> str:
    """One self-contained HTML page (inline CSS and SVG, no scripts, no external resources)."""
    c = comparison
    title, sub = _header(c)
    out = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body><main>",
        f"<h1>{_e(title)}</h1>",
        f'<p class="sub">{_e(sub)}</p>',
    ]
    for vd in c.diffs:
        out.append(f'<h2>{_e(verdict_heading(vd))}</h2><ul class="verdicts">')
        loud = _loud(vd)
        if not loud:
            out.append('<li class="quiet">No real difference on any metric.</li>')
        for d in loud:
            tag = '<span class="tag">regression</span>' if d.regression else ""
            out.append(f'<li class="{d.verdict}">{tag}{_e(d.sentence)}</li>')
        out.append("</ul>")
        for words, ds in _quiet(vd):
            names = ", ".join(d.label for d in ds)
            items = "".join(f"<li>{_e(d.sentence)}</li>" for d in ds)
            out.append(
                f'<details class="quiet"><summary>{_e(words.capitalize())} in {len(ds)} '
                f"metrics: {_e(names)}</summary><ul>{items}</ul></details>"
            )
        forest = _svg_forest(c, vd)
        if forest:
            out += [
                "<figure>",
                forest,
                "<figcaption>Mean per-article difference (dot) and its 95% interval (whisker), "
                f"{_e(vd.candidate)} minus {_e(vd.baseline)}. Each row has its own scale; the "
                "dashed line is no difference. Green: better, red: worse, blue: a real change "
                "in a neutral metric, grey: no real difference.</figcaption>",
                "</figure>",
            ]
    out.append("<h2>Per version</h2>")
    out.append(
        _html_table(
            ["metric", *[v.label for v in c.versions]],
            (("", [label, *cells]) for label, cells in version_rows(c)),
            cls="versions",
        )
    )
    for vd in c.diffs:
        out.append(f"<h2>Differences: {_e(vd.candidate)} minus {_e(vd.baseline)}</h2>")
        base, cand = short_label(c, vd.baseline), short_label(c, vd.candidate)
        header = ["metric", base, cand, "difference", "95% CI", "W / T / L", "n"]
        out.append(
            _html_table(
                [*header, "verdict"],
                ((d.verdict, cells) for d, cells in diff_rows(c, vd)),
                verdict=True,
            )
        )
        out.append(
            '<p class="note">W / T / L: articles where the candidate did better / the same '
            "(within the metric's tolerance) / worse; for length-like metrics with no better "
            "side: higher &#8593; / same = / lower &#8595;. n: articles with a value in both "
            "versions; excl.: left out because a version failed there or it has no reference.</p>"
        )
        changed = [a for a in c.articles if a.candidate == vd.candidate and a.changed]
        same = sum(1 for a in c.articles if a.candidate == vd.candidate and not a.changed)
        out.append(f"<h2>Articles: {_e(vd.candidate)} against {_e(vd.baseline)}</h2>")
        out.append(
            f'<p class="sub">{len(changed)} changed, {same} unchanged; most changed first. '
            "Deleted words are struck through on the left, inserted words highlighted on the "
            "right.</p>"
        )
        for i, a in enumerate(changed[:max_articles]):
            out.append(_html_article(a, open_=i < 3))
        if len(changed) > max_articles:
            rest = len(changed) - max_articles
            out.append(f'<p class="sub">{rest} more changed articles: see --format json.</p>')
    notes = [*c.notes, *(f"{v.label}: {n}" for v in c.versions for n in v.notes)]
    out.append("<footer>")
    if notes:
        out.append("<p>" + "<br>".join(_e(n) for n in notes) + "</p>")
    prices = c.prices.get("note") or ""
    out.append(f"<p>Prices: {_e(prices)}. Report format_version {c.format_version}.</p>")
    out.append("</footer></main></body></html>")
    return "\n".join(out) + "\n"
