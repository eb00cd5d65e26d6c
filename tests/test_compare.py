"""pipeline.compare (and pipeline.prices) on small hand-made record sets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import compare
from pipeline.compare import CompareError, build_comparison, fails_gate, load_references
from pipeline.errors import ConfigError
from pipeline.prices import cost_usd, default_prices, load_prices

SOURCE = (
    "The city council voted 7-2 on Tuesday to approve a £4.5m plan to rebuild the Elm Street "
    "bridge, which has been closed since March after engineers found cracks. Mayor Ana Ruiz "
    'said: "We cannot leave half the town cut off." Work starts in June and should take 14 '
    "months, according to the council's transport office."
)


def summary(
    text: str,
    *,
    figures: list[tuple[str, str | None]] = (),  # type: ignore[assignment]
    entities: list[str] = (),  # type: ignore[assignment]
    quotes: list[str] = (),  # type: ignore[assignment]
    key_points: int = 2,
) -> dict[str, Any]:
    return {
        "headline": text.split(".")[0][:120],
        "summary": text,
        "key_points": [f"point {i}" for i in range(key_points)],
        "entities": [{"name": e, "type": "other"} for e in entities],
        "figures": [{"value": v, "measure": "x", "source": s} for v, s in figures],
        "quotes": [{"text": q, "speaker": None} for q in quotes],
        "dates": [],
        "topics": ["local"],
        "caveats": [],
    }


def record(
    i: int,
    version: str,
    *,
    article_id: str | None = None,
    ok: bool = True,
    text: str = "The council approved a £4.5m plan to rebuild the Elm Street bridge.",
    faithfulness: float | None = 0.9,
    attempts: int = 1,
    model: str = "gpt-4o-mini",
    usage: tuple[int, int] = (800, 200),
    latency_ms: int = 1000,
    cached: bool = False,
    error_kind: str = "schema_invalid",
    **summary_kw: Any,
) -> dict[str, Any]:
    return {
        "article_id": article_id or f"a{i:015d}",
        "source": f"seeds/{i:03d}_article.txt",
        "title": f"Article {i}",
        "prompt": "summarise",
        "prompt_version": version,
        "prompt_sha256": f"sha-{version}",
        "schema": "summary.v1",
        "model": model,
        "status": "ok" if ok else "failed",
        "summary": summary(text, **summary_kw) if ok else None,
        "error": None
        if ok
        else {"kind": error_kind, "message": "bad", "last_output": '{"headline": 1}'},
        "checks": {"faithfulness": faithfulness, "unsupported": []} if ok else None,
        "attempts": attempts,
        "usage": {"prompt_tokens": usage[0], "completion_tokens": usage[1]},
        "cost_usd": None,
        "latency_ms": latency_ms,
        "cached": cached,
        "created_at": "2026-11-26T15:40:00Z",
    }


def two_runs() -> tuple[dict[str, list[dict[str, Any]]], dict[str, str]]:
    """Six inputs; v2 fails one, needs a retry on another; inputs 4 and 5 hold the same text."""
    v1 = [
        record(0, "v1", faithfulness=0.8, figures=[("£4.5m", None)]),
        record(1, "v1", faithfulness=0.7, attempts=2),
        record(2, "v1", faithfulness=0.9),
        record(3, "v1", faithfulness=0.6, entities=["Ana Ruiz"]),
        record(4, "v1", article_id="dup", faithfulness=0.5),
        record(5, "v1", article_id="dup", faithfulness=0.5, cached=True, latency_ms=0),
    ]
    v2 = [
        record(
            0,
            "v2",
            faithfulness=0.9,
            figures=[("£4.5m", "council"), ("14 months", None)],
            text="The council voted 7-2 to approve a £4.5m plan to rebuild the Elm Street bridge.",
        ),
        record(1, "v2", ok=False, attempts=3),
        record(2, "v2", faithfulness=0.95, usage=(900, 150)),
        record(
            3, "v2", faithfulness=0.7, entities=["Ana Ruiz", "Elm Street"], quotes=["We cannot"]
        ),
        record(
            4, "v2", article_id="dup", faithfulness=0.6, text="Short and different summary here."
        ),
        record(5, "v2", article_id="dup", faithfulness=0.5, cached=True, latency_ms=0),
    ]
    sources = {r["article_id"]: SOURCE for r in v1}
    return {"summarise@v1": v1, "summarise@v2": v2}, sources


def test_version_metrics_count_failures() -> None:
    runs, sources = two_runs()
    c = build_comparison(runs, sources=sources, min_pairs=2)
    v1, v2 = c.versions
    assert (v1.articles, v1.ok, v1.failed) == (6, 6, 0)
    assert (v2.articles, v2.ok, v2.failed, v2.cached) == (6, 5, 1, 1)
    assert v2.failure_kinds == {"schema_invalid": 1}
    assert v1.metrics["valid"].mean == 1.0
    assert v2.metrics["valid"].mean == pytest.approx(5 / 6)
    assert v1.metrics["first_attempt_valid"].mean == pytest.approx(5 / 6)
    assert v2.metrics["first_attempt_valid"].mean == pytest.approx(5 / 6)
    assert v2.metrics["attempts"].mean == pytest.approx(8 / 6)  # the failure's 3 attempts count
    # faithfulness over ok records only: the failed record is excluded, not scored 0
    assert v2.metrics["faithfulness"].n == 5
    assert v2.metrics["faithfulness"].mean == pytest.approx((0.9 + 0.95 + 0.7 + 0.6 + 0.5) / 5)
    # mean share of attributed figures over articles with figures: v2 has 1 of 2 on article 0
    assert v2.metrics["figures_attributed"].mean == 0.5
    assert v1.metrics["figures_attributed"].mean == 0.0
    # a record served from the store with 0 ms was never timed: no latency value
    assert v1.metrics["latency_ms"].n == 5
    assert v1.metrics["prompt_tokens"].total == 6 * 800
    assert v1.prompt_version == "v1" and v1.models == ["gpt-4o-mini"]


def test_paired_differences_use_both_ok_articles() -> None:
    runs, sources = two_runs()
    c = build_comparison(runs, sources=sources, min_pairs=2)
    (d,) = c.diffs
    faith = d.get("faithfulness")
    assert faith.n == 5 and faith.excluded == 1  # input 1 failed under v2
    assert faith.diff == pytest.approx((0.1 + 0.05 + 0.1 + 0.1 + 0.0) / 5)
    assert (faith.wins, faith.losses, faith.ties) == (4, 0, 1)
    assert faith.verdict == "better" and not faith.regression
    assert faith.sentence.startswith("summarise@v2 is more faithful: +0.07 [")
    valid = d.get("valid")
    assert valid.n == 6 and valid.diff == pytest.approx(-1 / 6)
    assert (valid.wins, valid.losses, valid.ties) == (0, 1, 5)
    # one failure in six: the interval reaches 0, so not a real difference
    assert valid.verdict == "no_difference"
    length = d.get("summary_words")
    assert length.direction == "neutral" and length.wins is None and not length.regression
    rouge = d.get("rouge1")
    assert rouge.verdict == "no_data" and rouge.diff is None


def test_pairing_by_position_with_duplicate_ids() -> None:
    runs, sources = two_runs()
    c = build_comparison(runs, sources=sources)
    by_index = {a.index: a for a in c.articles}
    assert len(c.articles) == 6
    # inputs 4 and 5 share article_id "dup" but are paired by position
    assert by_index[4].summary_b == "Short and different summary here."
    assert by_index[5].summary_a == by_index[5].summary_b
    assert not by_index[5].changed
    assert by_index[1].status_b == "failed" and by_index[1].error_b == "schema_invalid"
    assert c.articles[0].index == 1  # the status change ranks first
    assert by_index[0].figures_added == ["14 months"] and by_index[0].figures_lost == []
    assert by_index[3].entities_added == ["Elm Street"]
    assert by_index[3].quotes_added == ["We cannot"]
    ops = {(s.op, s.text) for s in by_index[0].diff}
    assert ("insert", "voted 7-2 to approve") in ops and ("delete", "approved") in ops


def test_runs_that_do_not_line_up_are_errors() -> None:
    runs, sources = two_runs()
    with pytest.raises(CompareError, match="different numbers of articles"):
        build_comparison(
            {"a": runs["summarise@v1"], "b": runs["summarise@v2"][:-1]}, sources=sources
        )
    swapped = list(reversed(runs["summarise@v2"]))
    with pytest.raises(CompareError, match="record 1 is article"):
        build_comparison({"a": runs["summarise@v1"], "b": swapped}, sources=sources)
    with pytest.raises(CompareError, match="at least two versions"):
        build_comparison({"a": runs["summarise@v1"]}, sources=sources)
    assert issubclass(CompareError, ConfigError)


def test_three_versions_compare_to_the_first() -> None:
    runs, sources = two_runs()
    runs["summarise@v3"] = [dict(r, prompt_version="v3") for r in runs["summarise@v1"]]
    c = build_comparison(runs, sources=sources)
    assert [(d.baseline, d.candidate) for d in c.diffs] == [
        ("summarise@v1", "summarise@v2"),
        ("summarise@v1", "summarise@v3"),
    ]
    assert len(c.articles) == 12
    v3 = c.diffs[1].get("faithfulness")
    assert (v3.diff, v3.ci_low, v3.ci_high, v3.verdict) == (0.0, 0.0, 0.0, "no_difference")


def test_faithfulness_absent_is_na() -> None:
    runs, sources = two_runs()
    for recs in runs.values():
        for r in recs:
            r["checks"] = None
    c = build_comparison(runs, sources=sources)
    assert c.versions[0].metrics["faithfulness"].mean is None
    assert "faithfulness not scored" in " ".join(c.versions[0].notes)
    assert c.diffs[0].get("faithfulness").verdict == "no_data"
    assert not fails_gate(c, "faithfulness")


def test_gate_flags_a_real_regression() -> None:
    a = [record(i, "v1", faithfulness=0.9) for i in range(10)]
    b = [record(i, "v2", faithfulness=0.9 - 0.05 - 0.01 * (i % 3)) for i in range(10)]
    c = build_comparison({"v1": a, "v2": b}, sources={})
    d = c.diffs[0].get("faithfulness")
    assert d.verdict == "worse" and d.regression and d.losses == 10
    assert d.sentence.startswith("v2 is less faithful: -0.06 [")
    assert fails_gate(c, "faithfulness")
    assert compare.regressions(c, "faithfulness") == [d]
    assert not fails_gate(c, "valid")
    assert c.diffs[0].regressions == ["faithfulness"]
    with pytest.raises(CompareError, match="unknown metric 'faith'"):
        fails_gate(c, "faith")


def test_costs_from_the_price_table() -> None:
    a = [record(i, "v1", model="gpt-4o-mini", usage=(1_000_000, 1_000_000)) for i in range(3)]
    b = [record(i, "v2", model="builtin", usage=(500, 100)) for i in range(2)]
    b.append(record(2, "v2", model="mystery-7b", usage=(500, 100)))
    c = build_comparison({"v1": a, "v2": b}, sources={})
    assert c.versions[0].metrics["cost_usd"].total == pytest.approx(3 * 0.75)
    cost_b = c.versions[1].metrics["cost_usd"]
    assert (cost_b.n, cost_b.total) == (2, 0.0)
    assert any("mystery-7b" in n and "--prices" in n for n in c.versions[1].notes)
    assert c.prices["taken"] == default_prices().taken


def test_cost_usd_and_lookup() -> None:
    t = default_prices()
    assert cost_usd(t, "gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)
    assert cost_usd(t, "gpt-4o-mini-2024-07-18", 0, 1_000_000) == pytest.approx(0.60)
    assert cost_usd(t, "openai/gpt-4.1-mini", 1_000_000, 1_000_000) == pytest.approx(2.0)
    assert cost_usd(None, "builtin", 10_000, 10_000) == 0.0
    assert cost_usd(t, "llama3:8b", 10, 10) is None
    assert cost_usd(t, None, 10, 10) is None


def test_load_prices_files(tmp_path: Path) -> None:
    j = tmp_path / "p.json"
    j.write_text(json.dumps({"taken": "2026-01", "models": {"gpt-4o": {"input": 1, "output": 2}}}))
    t = load_prices(j)
    assert cost_usd(t, "gpt-4o", 1_000_000, 1_000_000) == 3.0
    assert cost_usd(t, "gpt-4o-mini", 1_000_000, 0) == pytest.approx(0.15)  # defaults kept
    assert t.taken == "2026-01"
    y = tmp_path / "p.yaml"
    y.write_text("llama3:\n  input: 0\n  output: 0\n")
    assert cost_usd(load_prices(y), "llama3", 5, 5) == 0.0
    assert load_prices(None) == default_prices()
    bad = tmp_path / "bad.yaml"
    for text, match in [
        ("gpt-4o: {input: 1}\n", "needs exactly"),
        ("gpt-4o: {input: -1, output: 1}\n", "number >= 0"),
        ("- 1\n", "expected a mapping"),
        ("a: [\n", "bad.yaml, line 2, column 1: .* not valid YAML"),
    ]:
        bad.write_text(text)
        with pytest.raises(ConfigError, match=match):
            load_prices(bad)
    with pytest.raises(ConfigError, match="prices file not found"):
        load_prices(tmp_path / "nope.json")


def write(tmp_path: Path, lines: list[Any]) -> Path:
    p = tmp_path / "refs.jsonl"
    p.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n")
    return p


def test_load_references_keys(tmp_path: Path) -> None:
    p = write(
        tmp_path,
        [
            {"id": "a000000000000000", "reference": "Council backs bridge rebuild."},
            "",
            {"source": "seeds/001_article.txt", "summary": "Second."},
            {"article_id": 7, "highlights": ["Line one.", "Line two."]},
        ],
    )
    refs = load_references(p)
    assert refs["a000000000000000"] == "Council backs bridge rebuild."
    assert refs["seeds/001_article.txt"] == "Second."
    assert refs["7"] == "Line one.\nLine two."


@pytest.mark.parametrize(
    ("lines", "match"),
    [
        (["{not json"], r"refs.jsonl:1: not valid JSON"),
        ([{"id": "x", "reference": "ok"}, "[1, 2]"], r"refs.jsonl:2: expected a JSON object"),
        ([{"reference": "no key"}], "needs one of 'id', 'article_id' or 'source'"),
        ([{"id": "x", "text": "wrong field"}], "'reference', 'summary' or 'highlights'"),
        ([{"id": "x", "reference": 3}], "must be a non-empty string"),
        ([{"id": "x", "reference": "a"}, {"id": "x", "reference": "b"}], "on line 1"),
        (["", "  "], "no references in"),
    ],
)
def test_load_references_errors(tmp_path: Path, lines: list[Any], match: str) -> None:
    with pytest.raises(CompareError, match=match):
        load_references(write(tmp_path, lines))


def test_load_references_missing_file(tmp_path: Path) -> None:
    with pytest.raises(CompareError, match="references file not found"):
        load_references(tmp_path / "missing.jsonl")


def test_rouge_against_matched_references(tmp_path: Path) -> None:
    runs, sources = two_runs()
    text0 = runs["summarise@v1"][0]["summary"]["summary"]
    p = write(
        tmp_path,
        [
            {"id": "a000000000000000", "reference": text0},  # by article_id
            {"source": "002_article.txt", "reference": "Council votes on a bridge."},  # file name
            {"source": "  " + SOURCE.replace(" ", "\n", 3), "reference": "Bridge plan approved."},
        ],
    )
    c = build_comparison(runs, sources=sources, references=load_references(p), min_pairs=2)
    v1 = c.versions[0]
    # every input matches: 0 by id, 2 by file name, the rest by their source text
    assert c.references == {"given": True, "matched": 6, "articles": 6}
    assert v1.metrics["rouge1"].n == 6
    assert c.diffs[0].get("rouge1").n == 5
    by_index = {a.index: a for a in c.articles}
    assert by_index[0].deltas["rouge1"] is not None and by_index[0].deltas["rouge1"] < 0
    vals = compare.article_values(
        runs["summarise@v1"][0], source_text=SOURCE, reference=text0, prices=default_prices()
    )
    assert vals["rouge1"] == vals["rouge2"] == vals["rougeL"] == 1.0
    # "£" is not a word character: 12 summary words ("4.5m" is one), 55 source words
    assert vals["summary_words"] == 12
    assert vals["compression"] == pytest.approx(55 / 12)


def test_to_dict_is_json() -> None:
    runs, sources = two_runs()
    d = build_comparison(runs, sources=sources).to_dict()
    assert d["format_version"] == 1
    assert list(d) == [
        "format_version",
        "baseline",
        "labels",
        "settings",
        "metrics",
        "versions",
        "diffs",
        "articles",
        "references",
        "prices",
        "notes",
    ]
    assert d["diffs"][0]["metrics"][0]["metric"] == "valid"
    assert d["articles"][0]["diff"] == []  # input 1 failed under v2: nothing to diff
    assert d["articles"][1]["diff"][0].keys() == {"op", "text"}
    assert json.loads(json.dumps(d)) == d


def test_format_value() -> None:
    m = compare.METRIC_BY_KEY
    assert compare.format_value(m["valid"], 0.875) == "87.5%"
    assert compare.format_value(m["valid"], -0.125, signed=True) == "-12.5 pp"
    assert compare.format_value(m["faithfulness"], 0.06, signed=True) == "+0.06"
    assert compare.format_value(m["cost_usd"], 0.00042) == "$0.000420"
    assert compare.format_value(m["latency_ms"], 1234.4) == "1,234 ms"
    assert compare.format_value(m["faithfulness"], None) == "n/a"


def test_cached_records_keep_their_original_latency() -> None:
    a = [record(i, "v1", latency_ms=1000 + i, cached=True) for i in range(3)]
    b = [record(i, "v2", latency_ms=900, cached=i == 0) for i in range(3)]
    c = build_comparison({"v1": a, "v2": b}, sources={})
    assert c.versions[0].metrics["latency_ms"].n == 3
    assert c.diffs[0].get("latency_ms").diff == pytest.approx(-101)
