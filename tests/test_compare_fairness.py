"""Numbers compare can be trusted with: the versions run side by side (warm-up and load hit
both alike, warm-up left out), latency measured under different conditions gets no verdict,
the CI gate takes the names the report shows, and a heading never makes regressions read as a
win. The differences table keeps metric names whole at 80 columns."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console
from test_compare import record, two_runs

from pipeline import report, runner
from pipeline.articles import iter_articles
from pipeline.cli import cli
from pipeline.compare import METRICS, Timing, build_comparison, fails_gate, resolve_metric
from pipeline.engine import RunSettings
from pipeline.server import FakeOpenAIServer, ServerConfig

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


# --- side by side, warm-up left out --------------------------------------------------------------


def test_compare_runs_the_versions_side_by_side(tmp_path: Path) -> None:
    items = list(iter_articles([str(SEEDS)]))[:8]
    order: list[str] = []
    with FakeOpenAIServer(ServerConfig(latency_s=0.02, keep_requests=100)) as server:
        options = runner.RunOptions(
            base_url=server.base_url,
            model="m",
            db=str(tmp_path / "s.db"),
            settings=RunSettings(concurrency=1),
        )
        runs = runner.run_versions(
            ["summarise@v1", "summarise@v2"],
            items,
            options,
            on_record=lambda ref, r: order.append(ref),
        )
        bodies = server.stats.bodies()
    assert [len(v) for v in runs.records.values()] == [8, 8]
    # the server saw the two versions' requests for each article together, article by article
    versions = ["v2" if "contradict" in json.dumps(b) else "v1" for b in bodies]
    assert len(versions) == 16
    for k in range(8):
        assert sorted(versions[2 * k : 2 * k + 2]) == ["v1", "v2"], versions
    assert set(order[:4]) == {"summarise@v1", "summarise@v2"}
    # one request at a time per version: its first one is its warm-up
    for ts in runs.timings.values():
        assert [t.warmup for t in ts] == [True] + [False] * 7
        assert {(t.concurrency, t.endpoint) for t in ts} == {(1, server.base_url)}


def test_the_gate_takes_turns_and_never_waits_for_a_version_that_will_not_ask() -> None:
    import asyncio

    from pipeline.articles import Article
    from pipeline.runner import _PairGate

    items = [Article(id=f"a{i}", source=f"s{i}", text="x") for i in range(4)]
    # version 1 has a3 stored already: only version 0 asks for it
    gate = _PairGate(items, [{"a0", "a1", "a2", "a3"}, {"a0", "a1", "a2"}], patience=5)
    started: list[tuple[int, str]] = []

    async def ask(version: int, article: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await gate.turn(version, article)
        started.append((version, article))

    async def main() -> None:
        await asyncio.gather(
            *(ask(0, f"a{i}", 0.001 * i) for i in range(4)),
            *(ask(1, f"a{i}", 0.01 + 0.001 * i) for i in range(3)),
        )

    asyncio.run(main())
    assert started[0] == (0, "a3")  # nobody to wait for: it went at once
    order = {a: [v for v, b in started if b == a] for a in ("a0", "a1", "a2")}
    assert order == {"a0": [0, 1], "a1": [1, 0], "a2": [0, 1]}  # turns taken


def test_the_gate_gives_up_on_a_partner_that_never_comes() -> None:
    import asyncio

    from pipeline.articles import Article
    from pipeline.runner import _PairGate

    gate = _PairGate([Article(id="a0", source="s", text="x")], [{"a0"}, {"a0"}], patience=0.05)
    asyncio.run(gate.turn(0, "a0"))  # returns after its patience, alone
    assert gate.expected["a0"] == 0
    asyncio.run(gate.turn(1, "a0"))  # the late one does not wait at all


def test_reused_results_keep_their_warm_up_out(tmp_path: Path) -> None:
    seeds = [str(p) for p in sorted(SEEDS.iterdir())[:7]]
    args = ["compare", "summarise@v1", "summarise@v2", *seeds, "--format", "json", "-q"]
    args += ["--concurrency", "2"]
    first = CliRunner().invoke(cli, args)
    again = CliRunner().invoke(cli, args)  # every record from the store now
    assert first.exit_code == again.exit_code == 0, again.output

    def latency(out: str) -> dict[str, Any]:
        data = json.loads(out)
        assert data["versions"][0]["cached"] in (0, 7)
        return next(m for m in data["diffs"][0]["metrics"] if m["metric"] == "latency_ms")

    a, b = latency(first.stdout), latency(again.stdout)
    assert json.loads(again.stdout)["versions"][0]["cached"] == 7
    assert (a["n"], a["excluded"]) == (b["n"], b["excluded"]) == (5, 2)
    assert (a["diff"], a["verdict"]) == (b["diff"], b["verdict"])


def test_warm_up_is_left_out_of_latency() -> None:
    a = [record(i, "v1", latency_ms=900 if i == 0 else 100) for i in range(6)]
    b = [record(i, "v2", latency_ms=100) for i in range(6)]
    timings = {
        "v1": [Timing(8, "e", "2026-11-26", warmup=i == 0) for i in range(6)],
        "v2": [Timing(8, "e", "2026-11-26", warmup=i == 0) for i in range(6)],
    }
    c = build_comparison({"v1": a, "v2": b}, sources={}, timings=timings)
    d = c.diffs[0].get("latency_ms")
    assert (d.n, d.excluded, d.diff, d.verdict) == (5, 1, 0.0, "no_difference")
    assert c.versions[0].metrics["latency_ms"].n == 5
    assert any("warm-up" in n for n in c.notes)
    without = build_comparison({"v1": a, "v2": b}, sources={})
    assert without.diffs[0].get("latency_ms").n == 6


# --- not comparable ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tb", "fragment"),
    [
        (Timing(8, "e", "2026-11-27"), "on different days (2026-11-26, 2026-11-27)"),
        (Timing(16, "e", "2026-11-26"), "at different concurrency (16, 8)"),
        (Timing(8, "https://other/v1", "2026-11-26"), "on different endpoints"),
    ],
)
def test_latency_from_different_conditions_is_not_comparable(tb: Timing, fragment: str) -> None:
    a = [record(i, "v1", latency_ms=100) for i in range(8)]
    b = [record(i, "v2", latency_ms=400) for i in range(8)]  # "slower": but not comparable
    c = build_comparison(
        {"v1": a, "v2": b},
        sources={},
        timings={"v1": [Timing(8, "e", "2026-11-26")] * 8, "v2": [tb] * 8},
    )
    d = c.diffs[0].get("latency_ms")
    assert (d.verdict, d.regression) == ("not_comparable", False)
    assert fragment in d.sentence
    assert not fails_gate(c, "latency")
    assert "latency" not in c.diffs[0].regressions
    md = report.render_markdown(c)
    assert "latency | 100 ms | 400 ms" in md and "| not comparable |" in md
    assert "REGRESSION:** v2 is slower" not in md


def test_records_alone_give_the_day() -> None:
    a = [record(i, "v1", latency_ms=100) for i in range(8)]
    b = [
        {**record(i, "v2", latency_ms=400), "created_at": "2026-12-01T09:00:00Z"} for i in range(8)
    ]
    d = build_comparison({"v1": a, "v2": b}, sources={}).diffs[0].get("latency_ms")
    assert d.verdict == "not_comparable"


def test_cli_marks_stored_results_from_another_concurrency_not_comparable(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for p in sorted(SEEDS.iterdir())[:6]:
        (folder / p.name).write_bytes(p.read_bytes())
    first = CliRunner().invoke(
        cli, ["run", str(folder), "--prompt", "summarise@v1", "--concurrency", "2", "-q"]
    )
    assert first.exit_code == 0, first.output
    result = CliRunner().invoke(
        cli,
        ["compare", "summarise@v1", "summarise@v2", str(folder), "--format", "json"]
        + ["--fail-on-regression", "latency", "--concurrency", "1"],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    latency = next(m for m in data["diffs"][0]["metrics"] if m["metric"] == "latency_ms")
    assert latency["verdict"] == "not_comparable"
    assert "at different concurrency (1, 2)" in latency["sentence"]
    assert "--fail-on-regression latency: not checked" in result.stderr


# --- the gate takes the report's names -------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["input tokens", "Input Tokens", "input_tokens", "input-tokens", "prompt_tokens"]
)
def test_gate_names_as_the_report_shows_them(name: str) -> None:
    assert resolve_metric(name).key == "prompt_tokens"
    runs, sources = two_runs()
    c = build_comparison(runs, sources=sources)
    assert fails_gate(c, name) == fails_gate(c, "prompt_tokens")


def test_every_label_the_report_shows_is_a_gate_name() -> None:
    for m in METRICS:
        assert resolve_metric(m.label) is m and resolve_metric(m.key) is m


def test_cli_gate_by_label_and_unknown_names(tmp_path: Path) -> None:
    seeds = [str(p) for p in sorted(SEEDS.iterdir())[:6]]
    ok = CliRunner().invoke(
        cli,
        ["compare", "summarise@v1", "summarise@v2", *seeds, "--format", "md"]
        + ["--fail-on-regression", "input tokens"],
    )
    assert ok.exit_code == 1, ok.output  # v2's longer prompt: more input tokens
    assert "regression on input tokens: failing as asked" in ok.stderr
    bad = CliRunner().invoke(
        cli, ["compare", "summarise@v1", "summarise@v2", *seeds, "--fail-on-regression", "speed"]
    )
    assert bad.exit_code == 2
    assert "unknown metric 'speed'" in bad.stderr and "'input tokens'" in bad.stderr


# --- the verdict heading and the terminal table -------------------------------------------------


def test_the_verdict_heading_counts_regressions_first() -> None:
    a = [record(i, "v1", usage=(800, 200), faithfulness=0.9) for i in range(8)]
    b = [record(i, "v2", usage=(900, 300), faithfulness=0.5, latency_ms=2000) for i in range(8)]
    c = build_comparison({"summarise@v1": a, "summarise@v2": b}, sources={})
    md = report.render_markdown(c)
    heading = next(line for line in md.splitlines() if line.startswith("## summarise@v2"))
    assert heading.startswith("## summarise@v2 against summarise@v1: 5 regressions, 0 improvements")
    assert "Verdict: summarise@v2" not in md
    html = report.render_html(c)
    assert "summarise@v2 against summarise@v1: 5 regressions" in html


def _terminal(c: Any, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, record=True, force_terminal=True)
    report.render_table(c, console)
    return console.export_text()


@pytest.mark.parametrize("width", [80, 100, 140])
def test_the_terminal_table_keeps_metric_names_whole(width: int) -> None:
    runs, sources = two_runs()
    c = build_comparison(runs, sources=sources)
    text = _terminal(c, width)
    table = text[text.index("Differences:") :].split("\n\n")[0].splitlines()
    assert all(len(line) <= width for line in table)
    labels = [m.label for m in METRICS if not m.key.startswith("rouge")]
    for label in labels:
        assert any(line.startswith(label + " ") for line in table), (label, table)
    assert "…" not in "\n".join(table)
