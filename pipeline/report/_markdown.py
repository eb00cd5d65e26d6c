"""The Markdown renderer (GitHub-flavoured): pipe tables, diffs as ``<ins>``/``<del>``, every
piece of record text escaped."""

from __future__ import annotations

import html
from collections.abc import Iterable

from pipeline.compare import ArticleChange, Comparison
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


def _md_cell(s: str) -> str:
    return html.escape(" ".join(s.split()), quote=False).replace("|", "\\|")


def _md_table(header: list[str], rows: Iterable[list[str]]) -> list[str]:
    aligns = ["---"] + ["---:"] * (len(header) - 1)
    out = ["| " + " | ".join(map(_md_cell, header)) + " |", "| " + " | ".join(aligns) + " |"]
    out += ["| " + " | ".join(map(_md_cell, r)) + " |" for r in rows]
    return out


def _md_diff(a: ArticleChange) -> str:
    parts = []
    for seg in a.diff:
        text = html.escape(seg.text, quote=False)
        parts.append(
            text
            if seg.op == "equal"
            else f"<{'ins' if seg.op == 'insert' else 'del'}>{text}"
            f"</{'ins' if seg.op == 'insert' else 'del'}>"
        )
    return " ".join(parts)


def render_markdown(comparison: Comparison) -> str:
    """GitHub-flavoured Markdown; diffs use <ins>/<del>, every text from a record is escaped."""
    c = comparison
    title, sub = _header(c)
    out = [f"# {_md_cell(title)}", "", _md_cell(sub), ""]
    for vd in c.diffs:
        out += [f"## {_md_cell(verdict_heading(vd))}", ""]
        for d in _loud(vd):
            flag = "**REGRESSION:** " if d.regression else ""
            out.append(f"- {flag}{_md_cell(d.sentence)}")
        for words, ds in _quiet(vd):
            out.append(
                f"- {_md_cell(words.capitalize())}: " + _md_cell(", ".join(d.label for d in ds))
            )
        out.append("")
    out += ["## Per version", ""]
    out += _md_table(["metric", *[v.label for v in c.versions]],
                     [[label, *cells] for label, cells in version_rows(c)])  # fmt: skip
    out.append("")
    for vd in c.diffs:
        out += [f"## Differences: {_md_cell(vd.candidate)} minus {_md_cell(vd.baseline)}", ""]
        base, cand = short_label(c, vd.baseline), short_label(c, vd.candidate)
        header = ["metric", base, cand, "difference", "95% CI", "W / T / L", "n"]
        out += _md_table([*header, "verdict"], [cells for _, cells in diff_rows(c, vd)])
        out.append("")
        top = _top(c, vd.candidate, TOP_ARTICLES)
        if top:
            out += [f"### Articles that changed most ({_md_cell(vd.candidate)})", ""]
        for a in top:
            name = a.title or a.source or a.article_id or ""
            out.append(f"#### #{a.index + 1} {_md_cell(name)}")
            out.append("")
            facts = _article_facts(a)
            if facts:
                out += [_md_cell(" · ".join(facts)), ""]
            if _text_unchanged(a):
                out += ["Summary text unchanged.", ""]
            elif a.diff:
                out += ["> " + _md_diff(a), ""]
            for field_name, added, lost in _field_changes(a):
                items = [f"<ins>{_md_cell(x)}</ins>" for x in added]
                items += [f"<del>{_md_cell(x)}</del>" for x in lost]
                out.append(f"- {field_name}: " + "; ".join(items))
            out += [f"- {_md_cell(p)}" for p in _plain_changes(a)]
            out.append("")
    notes = [*c.notes, *(f"{v.label}: {n}" for v in c.versions for n in v.notes)]
    if notes:
        out += ["## Notes", ""] + [f"- {_md_cell(n)}" for n in notes] + [""]
    return "\n".join(out).rstrip() + "\n"
