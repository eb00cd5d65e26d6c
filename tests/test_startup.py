"""Start-up: the quick commands import nothing heavy. This checks WHICH modules a fresh process
imports, never how long it takes (timings are in ``python -m benchmarks.startup``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# What `summarise --help`, `prompts list` and `prompts show` must not import: each costs
# start-up time (the openai SDK alone is most of a second) and none of them needs it.
HEAVY = (
    "openai",
    "httpx",
    "httpx2",
    "jsonschema",
    "rich.progress",
    "rich.live",
    "pipeline.engine",
    "pipeline.runner",
    "pipeline.client",
    "pipeline.store",
    "pipeline.cassettes",
    "pipeline.faithfulness",
    "pipeline.extractive",
    "pipeline.articles",
    "pipeline.compare",
    "pipeline.report",
    "vcr",
    "tenacity",
    "sqlite3",
    "bs4",
    "charset_normalizer",
    "rouge_score",
    "trafilatura",
    "feedparser",
    "datasketch",
    "lxml",
    "numpy",
)

_PROBE = """
import json, os, sys
from pipeline.cli import main
sys.argv = ["summarise", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
with open(os.environ["MODULES_OUT"], "w") as f:
    json.dump(sorted(sys.modules), f)
"""


def imported_by(args: list[str], tmp_path: Path) -> set[str]:
    """The modules a fresh ``summarise ARGS`` process has imported when it ends."""
    out = tmp_path / "modules.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["MODULES_OUT"] = str(out)
    empty = tmp_path / "empty"
    empty.mkdir(exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, json.dumps(args)],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return set(json.loads(out.read_text()))


def heavy(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["prompts", "list"],
        ["prompts", "show", "summarise@v2"],
        ["run", "--help"],
        ["compare", "--help"],
    ],
    ids=["help", "prompts-list", "prompts-show", "run-help", "compare-help"],
)
def test_quick_commands_import_nothing_heavy(args: list[str], tmp_path: Path) -> None:
    assert heavy(imported_by(args, tmp_path)) == []


def test_the_probe_sees_heavy_imports_where_there_are_some(tmp_path: Path) -> None:
    # the check above can fail: a command that runs the engine does import it
    modules = imported_by(["run", "-", "--help"], tmp_path)
    assert "click" in modules
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text(json.dumps({"source": "Rain fell on Monday.", "summary": "Rain fell."}) + "\n")
    modules = imported_by(["score", str(pairs)], tmp_path)
    assert "pipeline.faithfulness" in heavy(modules)
