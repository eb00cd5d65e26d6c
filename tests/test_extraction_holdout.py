"""The hold-out extraction benchmark's own parts: its manifest names every page it needs (and
no page twice), and its copy of the html-news scoring rule scores as that rule says. The pages
are publishers' and are not in the repository, so the benchmark itself is run on demand
(``python -m benchmarks.extraction_holdout``; see benchmarks/README.md)."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"


def _module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "extraction_holdout", BENCH / "extraction_holdout.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_manifest_names_every_page_once_with_its_origin() -> None:
    rows = [
        json.loads(line)
        for line in (BENCH / "extraction_holdout_manifest.jsonl").read_text("utf-8").splitlines()
    ]
    assert len({r["id"] for r in rows}) == len(rows)
    assert len({r["html_sha256"] for r in rows}) == len(rows)
    urls = [r["url"] for r in rows if r["url"]]
    assert len(set(urls)) == len(urls)
    for r in rows:
        assert re.fullmatch(r"[0-9a-f]{64}", r["html_sha256"]), r["id"]
        assert re.fullmatch(r"[0-9a-f]{40}", r["commit"]), r["id"]
        assert r["repo"] and r["html"] and r["truth"] and r["licence"], r["id"]
        assert r["tier"] in ("news", "publisher-list"), r["id"]
    assert sum(r["tier"] == "news" for r in rows) == 22


@pytest.mark.parametrize(
    ("truth", "pred", "expected"),
    [
        ("one two three four five", "one two three four five", (1.0, 1.0)),
        ("one two three four five", None, (None, 0.0)),  # nothing returned: costs recall only
        ("one two three four five", "one two three four", (1.0, 0.5)),
        ("a b", "a b", (1.0, 1.0)),  # 1-3 tokens make one short shingle
        ("a b c d a b c d", "a b c d", (1.0, 0.2)),  # shingles counted with multiplicity
        ("Case Kept here now", "case kept here now", (0.0, 0.0)),
    ],
)
def test_the_scoring_rule(
    truth: str, pred: str | None, expected: tuple[float | None, float | None]
) -> None:
    assert _module().page_pr(truth, pred) == expected


def test_averages_skip_empty_predictions_for_precision_only() -> None:
    m = _module()
    p, r, f = m.aggregate([(1.0, 1.0), (None, 0.0)])
    assert (p, r) == (1.0, 0.5)
    assert f == pytest.approx(2 * 1.0 * 0.5 / 1.5)


# -- the Zyte / Scrapinghub article extraction benchmark (benchmarks/extraction_aeb.py) --------


def _aeb(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH.parent))
    import benchmarks.extraction_aeb as aeb

    return aeb


def test_the_aeb_benchmark_refuses_a_clone_that_is_not_the_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aeb = _aeb(monkeypatch)
    (tmp_path / "html").mkdir()
    (tmp_path / "ground-truth.json").write_text('{"a": {"articleBody": "x", "url": null}}')
    with pytest.raises(ValueError, match=aeb.COMMIT):
        aeb.load(tmp_path)


def test_the_aeb_page_digest_covers_every_page_id_and_byte(monkeypatch: pytest.MonkeyPatch) -> None:
    digest = _aeb(monkeypatch).pages_digest
    base = {"a": b"<p>one</p>", "b": b"<p>two</p>"}
    assert digest(base) == digest(dict(reversed(base.items())))  # order of reading is no matter
    assert digest(base) != digest({**base, "b": b"<p>two!</p>"})
    assert digest(base) != digest({"a": base["a"], "c": base["b"]})
    assert digest(base) != digest({"a": base["a"]})
