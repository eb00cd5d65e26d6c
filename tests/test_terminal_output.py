"""`summarise run` on a real (pseudo-)terminal: records and the live status line never share a
line, with stdout and stderr on the same terminal or apart; ``-q`` shows no status at all."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import pytest
from terminal import run_on_terminal, screen

from pipeline.server import FakeOpenAIServer, ServerConfig

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pty")


def env(home: Path) -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    e["SUMMARISE_HOME"] = str(home)
    e.pop("COLUMNS", None)
    return e


@pytest.fixture
def seeds(tmp_path: Path) -> Path:
    """Eight of the seed articles (the display, not the model, is under test)."""
    folder = tmp_path / "seeds"
    folder.mkdir()
    for p in sorted(SEEDS.iterdir())[:8]:
        (folder / p.name).write_bytes(p.read_bytes())
    return folder


def summarise(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", *args]


def status_lines(output: str) -> list[str]:
    return re.findall(r"\x1b\[2K(summarise@v2 · [^\r\n\x1b]*)", output)


def is_record(line: str) -> bool:
    if not line.startswith("{"):
        return False
    record = json.loads(line)  # the whole line is one record: nothing glued before or after
    return "article_id" in record


def test_records_and_the_status_line_never_share_a_line(tmp_path: Path, seeds: Path) -> None:
    # a server that answers slowly, one request at a time: the status line is drawn between
    # records, as in a real run
    with FakeOpenAIServer(ServerConfig(latency_s=0.06)) as server:
        code, output = run_on_terminal(
            summarise("run", str(seeds), "--base-url", server.base_url, "--model", "m",
                      "--concurrency", "1"),
            cwd=tmp_path,
            env=env(tmp_path / "home"),
        )  # fmt: skip
    assert code == 0, output[-2000:]
    drawn = status_lines(output)
    assert len(drawn) >= 3, drawn  # the line was on screen while the run went on
    assert any("/8 " in s for s in drawn)  # with the total, counted from the folder
    lines = [line for line in screen(output) if line.strip()]
    records = [line for line in lines if is_record(line)]
    assert len(records) == 8
    rest = [line for line in lines if not is_record(line)]
    # model 'm' is not in the price table: one note says its cost is null (issue 10)
    notes = [line for line in rest if line.startswith("no price for model 'm'")]
    assert len(notes) == 1, rest
    rest = [line for line in rest if line not in notes]
    # what is left besides the records is the end-of-run table: no status text, no glue
    assert not any("summarise@v2 · m  " in line for line in rest), rest
    assert rest[0].startswith("summarise@v2 · model m") and "articles" in rest[1]


def test_records_to_a_pipe_and_the_status_line_on_the_terminal(tmp_path: Path, seeds: Path) -> None:
    out = tmp_path / "out.jsonl"
    code, output = run_on_terminal(
        ["/bin/sh", "-c", f'"$0" -m pipeline run "$1" > "{out}"', sys.executable, str(seeds)],
        cwd=tmp_path,
        env=env(tmp_path / "home"),
    )
    assert code == 0, output[-2000:]
    assert len([json.loads(line) for line in out.read_text().splitlines()]) == 8
    assert status_lines(output)
    assert '{"article_id"' not in output
    assert [line for line in screen(output) if line.strip()][1].lstrip().startswith("articles")


def test_quiet_shows_no_status_line(tmp_path: Path, seeds: Path) -> None:
    code, output = run_on_terminal(
        summarise("run", str(seeds), "-q"), cwd=tmp_path, env=env(tmp_path / "home")
    )
    assert code == 0
    assert status_lines(output) == [] and "\x1b[2K" not in output
    assert all(is_record(line) for line in screen(output) if line.strip())
