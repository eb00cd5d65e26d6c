"""Render a :class:`~pipeline.compare.Comparison`: terminal, Markdown, HTML, JSON.

Every renderer shows the same things in the same order: the verdict lines (regressions first),
the per-version metrics side by side, the paired differences with their 95% interval and
wins/ties/losses, then the articles that changed most, with a word-level diff.

Model output and article text are untrusted: the HTML and Markdown escape every piece of it
(``html.escape``), and the terminal renderer never interprets it as rich markup. The HTML page is
one self-contained file: inline CSS and an inline SVG chart, no scripts, fonts, stylesheets or
images from anywhere else, readable without JavaScript (collapsible parts use ``<details>``).

Modules: ``_text`` (what every renderer shares: the verdict words, the rows of the per-version
and differences tables, loud and quiet differences, the articles that changed most and their
facts, the title), ``_terminal`` (:func:`render_table`, rich), ``_markdown``
(:func:`render_markdown`), ``_html`` (:func:`render_html`: the CSS, the SVG chart, the article
blocks) and ``_json`` (:func:`render_json`); :func:`render`, here, picks one by format name.
"""

from __future__ import annotations

import io

from rich.console import Console

from pipeline.compare import Comparison
from pipeline.report._html import HTML_ARTICLES, render_html
from pipeline.report._json import render_json
from pipeline.report._markdown import render_markdown
from pipeline.report._terminal import render_table
from pipeline.report._text import TOP_ARTICLES, diff_rows, short_label, version_rows

__all__ = [
    "HTML_ARTICLES",
    "TOP_ARTICLES",
    "diff_rows",
    "render",
    "render_html",
    "render_json",
    "render_markdown",
    "render_table",
    "short_label",
    "version_rows",
]


def render(comparison: Comparison, fmt: str, *, console: Console | None = None) -> str:
    """Render in ``fmt`` (``table``, ``md``, ``html`` or ``json``) and return the text.

    ``table`` renders into ``console`` (a recording one when None) and returns its plain text.
    """
    if fmt == "json":
        return render_json(comparison)
    if fmt in ("md", "markdown"):
        return render_markdown(comparison)
    if fmt == "html":
        return render_html(comparison)
    if fmt == "table":
        if console is not None:
            render_table(comparison, console)
            return ""
        con = Console(record=True, width=120, file=io.StringIO())
        render_table(comparison, con)
        return con.export_text()
    raise ValueError(f"unknown format {fmt!r}: choose table, md, html or json")
