"""pipeline.report: every format renders; the HTML is self-contained and escapes model output."""

from __future__ import annotations

import io
import json
import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest
from rich.console import Console
from test_compare import record, two_runs

from pipeline import report
from pipeline.compare import Comparison, build_comparison

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)> [bold red]markup[/]'


def comparison(hostile: bool = True) -> Comparison:
    runs, sources = two_runs()
    v2 = runs["summarise@v2"]
    if hostile:
        v2[3]["summary"]["summary"] = HOSTILE + " The council voted to approve the bridge plan."
        v2[3]["summary"]["entities"].append({"name": "<b>Evil</b> & Co", "type": "other"})
        v2[3]["title"] = HOSTILE
        for r in runs["summarise@v1"]:
            r["title"] = r["title"] if r is not runs["summarise@v1"][3] else HOSTILE
    return build_comparison(runs, sources=sources, min_pairs=2)


def regression() -> Comparison:
    a = [record(i, "v1", faithfulness=0.9) for i in range(8)]
    b = [record(i, "v2", faithfulness=0.8) for i in range(8)]
    return build_comparison({"summarise@v1": a, "summarise@v2": b}, sources={})


def test_table_renders_and_never_parses_markup() -> None:
    con = Console(record=True, width=140, file=io.StringIO())
    report.render_table(comparison(), con)
    text = con.export_text()
    assert "Per version" in text and "Differences: summarise@v2 minus summarise@v1" in text
    assert "summarise@v2 is more faithful" in text
    assert "[bold red]markup[/]" in text  # shown literally, not as rich markup
    assert "Articles that changed most" in text
    out = report.render(regression(), "table")
    assert "REGRESSION summarise@v2 is less faithful: -0.10 [-0.10, -0.10]" in out


def test_markdown() -> None:
    md = report.render_markdown(comparison())
    lines = md.splitlines()
    assert lines[0] == "# summarise@v2 compared with summarise@v1"
    header = next(i for i, line in enumerate(lines) if line.startswith("| metric | v1 | v2 |"))
    assert lines[header + 1].startswith("| --- | ---: |")
    assert "| faithfulness | 0.66 | 0.73 | +0.07 |" in md  # means over the 5 both-ok articles
    assert "<script>" not in md and "&lt;script&gt;" in md
    assert "<ins>" in md and "<del>" in md
    reg = report.render_markdown(regression())
    assert "- **REGRESSION:** summarise@v2 is less faithful" in reg


def test_json_structure() -> None:
    data = json.loads(report.render_json(comparison()))
    assert data["format_version"] == 1
    assert data["labels"] == ["summarise@v1", "summarise@v2"]
    assert {"versions", "diffs", "articles", "metrics", "settings", "notes"} <= data.keys()
    diff = data["diffs"][0]
    assert {m["metric"] for m in diff["metrics"]} >= {"valid", "faithfulness", "latency_ms"}
    faith = next(m for m in diff["metrics"] if m["metric"] == "faithfulness")
    assert set(faith) >= {"diff", "ci_low", "ci_high", "wins", "ties", "losses", "verdict"}
    assert data["settings"]["resamples"] == 10_000
    assert data["versions"][1]["failure_kinds"] == {"schema_invalid": 1}


_EXTERNAL = re.compile(r"""(?:src|href|xlink:href)\s*=\s*["']?\s*(?:https?:)?//""", re.I)


def test_html_is_self_contained_and_escaped() -> None:
    page = report.render_html(comparison())
    assert page.startswith("<!DOCTYPE html>")
    assert not _EXTERNAL.search(page)
    assert "http://" not in page and "https://" not in page
    assert "<script" not in page.lower()  # no scripts at all, and the model's one is escaped
    assert "<link" not in page.lower() and "@import" not in page and "url(" not in page
    assert "<img" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;Evil&lt;/b&gt; &amp; Co" in page
    assert "<svg" in page and "<details" in page and "<ins>" in page and "<del>" in page
    assert "summarise@v2 is more faithful" in page


def test_html_marks_regressions() -> None:
    page = report.render_html(regression())
    assert '<span class="tag">regression</span>summarise@v2 is less faithful' in page
    assert '<tr class="worse">' in page


def test_render_dispatch() -> None:
    c = comparison(hostile=False)
    assert report.render(c, "json").startswith("{")
    assert report.render(c, "md").startswith("# ")
    assert report.render(c, "html").startswith("<!DOCTYPE html>")
    with pytest.raises(ValueError, match="unknown format"):
        report.render(c, "pdf")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


@pytest.mark.chromium
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed")
def test_html_renders_in_chromium(tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    page.write_text(report.render_html(comparison()), encoding="utf-8")
    png = tmp_path / "report.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={png}",
            "--window-size=1200,1600",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    data = png.read_bytes()
    assert _png_size(data) == (1200, 1600)
    assert len(data) > 20_000  # a blank page compresses to a few KB
