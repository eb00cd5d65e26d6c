"""The run's progress: the status line's content from records and synthetic engine events
(rich's terminal is not needed: the line is text), the total counted without reading the
articles, and the display that keeps records and the status line apart."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from terminal import screen

from pipeline.cli._display import StatusLine
from pipeline.progress import RunProgress, count_articles


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Rec:
    status: str = "ok"
    cached: bool = False
    article_id: str = "a"
    source: str = "s"


@dataclass
class Waiting:
    seconds: float
    reason: str
    kind: str = "waiting"


@dataclass
class Retrying:
    article: str
    reason: str
    kind: str = "retrying"


@dataclass
class Note:
    message: str
    kind: str = "note"


@dataclass
class Stopped:
    message: str
    kind: str = "stopped"


def progress(total: int | None = 21) -> tuple[RunProgress, Clock]:
    clock = Clock()
    return RunProgress("summarise@v2 · gpt-4o-mini", total=total, clock=clock), clock


def test_counts_bar_rate_and_time_left() -> None:
    p, clock = progress(20)
    for i in range(10):
        p.record(Rec(status="failed" if i == 3 else "ok", cached=i < 2, article_id=str(i)))
    clock.now += 4.0  # 8 articles asked in 4 s: 2/s; 10 left: 5 s
    line = p.line(120)
    assert line.startswith("summarise@v2 · gpt-4o-mini  10/20 ━━━━━━━━────────  ")
    assert "ok 9 · failed 1 · cached 2 · 2.0/s · 5 s left" in line


def test_unknown_total_says_how_many_are_done() -> None:
    p, clock = progress(None)
    p.record(Rec())
    clock.now += 1
    assert p.line(120) == "summarise@v2 · gpt-4o-mini  1 done  ok 1 · 1.0/s"
    p.set_total(30)
    assert "1/30" in p.line(120)


def test_a_total_that_was_too_small_grows() -> None:
    p, _ = progress(1)
    p.record(Rec())
    p.record(Rec())
    assert p.total == 2


def test_waiting_for_a_rate_limit_counts_down() -> None:
    p, clock = progress()
    p.event(Waiting(26, "rate limit"))
    assert p.line(120).endswith("waiting 26 s: rate limit")
    clock.now += 20
    assert p.line(120).endswith("waiting 6 s: rate limit")
    clock.now += 7
    assert "waiting" not in p.line(120)


def test_retrying_articles_until_their_records_arrive() -> None:
    p, _ = progress()
    for a in ("a1", "a2", "a3"):
        p.event(Retrying(a, "HTTP 503"))
    assert p.line(120).endswith("retrying 3 articles: HTTP 503")
    p.record(Rec(article_id="a2"))
    assert p.line(120).endswith("retrying 2 articles: HTTP 503")
    p.event(Retrying("a1", "timeout"))
    assert p.line(120).endswith("retrying 2 articles")  # two reasons: none named


def test_a_dead_server_is_said_at_once() -> None:
    p, _ = progress()
    for a in range(8):
        p.event(Retrying(str(a), "cannot connect to http://127.0.0.1:9/v1"))
    line = p.line(120)
    assert "0/21" in line and "retrying 8 articles: cannot connect to http://127.0.0.1:9/v1" in line


def test_a_stopped_run_says_why() -> None:
    p, _ = progress()
    p.event(Retrying("a", "x"))
    p.event(Stopped("HTTP 401: invalid API key; check OPENAI_API_KEY"))
    assert p.line(200).endswith("stopped: HTTP 401: invalid API key; check OPENAI_API_KEY")


def test_notes_are_taken_once() -> None:
    p, _ = progress()
    p.event(Note("the server rejects json_schema: using json_object"))
    assert p.take_notes() == ["the server rejects json_schema: using json_object"]
    assert p.take_notes() == []


def test_events_named_by_their_class() -> None:
    class RateLimitWaiting:
        seconds = 3.0
        reason = "rate limit"

    p, _ = progress()
    p.event(RateLimitWaiting())
    assert "waiting 3 s: rate limit" in p.line(120)


@pytest.mark.parametrize("width", [40, 60, 80, 100])
def test_the_line_fits_and_drops_the_bar_then_the_time_left_first(width: int) -> None:
    p, clock = progress(240)
    for i in range(40):
        p.record(Rec(article_id=str(i)))
    clock.now += 20
    p.event(Waiting(26, "rate limit"))
    line = p.line(width)
    assert len(line) <= width
    if width >= 60:
        assert "waiting 26 s: rate limit" in line
    if width < 100:
        assert "━" not in line


# --- the total -------------------------------------------------------------------------------


def test_count_articles(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("x")
    (folder / "sub" / "b.md").write_text("x")
    (folder / ".hidden.txt").write_text("x")
    (folder / "notes.csv").write_text("x")
    (folder / "one.json").write_text('  {"text": "x"}')
    lines = folder / "many.jsonl"
    lines.write_text("\n".join(json.dumps({"text": str(i)}) for i in range(1000)) + "\n\n  \n")
    assert count_articles([folder]) == 1 + 1 + 1 + 1000
    assert count_articles([lines, folder / "a.txt"]) == 1001
    no_newline = tmp_path / "last.jsonl"
    no_newline.write_text('{"text": "a"}\n{"text": "b"}')
    assert count_articles([no_newline]) == 2


@pytest.mark.parametrize(
    ("name", "content"),
    [("list.json", b'[{"text": "a"}]'), ("u16.jsonl", "{}\n".encode("utf-16"))],
)
def test_count_articles_unknown(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    assert count_articles([tmp_path / name]) is None
    assert count_articles(["-"]) is None
    assert count_articles(["https://example.com/feed.xml"]) is None


def test_count_articles_reads_a_long_line_in_chunks(tmp_path: Path) -> None:
    big = tmp_path / "big.jsonl"
    big.write_bytes(b'{"text": "' + b"x" * (3 << 20) + b'"}\n{"text": "y"}\n')
    assert count_articles([big]) == 2


# --- the status line and the records ---------------------------------------------------------


def test_records_never_share_the_status_line() -> None:
    p, clock = progress(3)
    term = io.StringIO()  # stdout and stderr on one terminal: one stream
    line = StatusLine(p, err=term, out=term, width=80, same=True)
    line.refresh()
    for i in range(3):
        p.record(Rec(article_id=str(i)))
        clock.now += 1
        line.write_record(json.dumps({"article_id": str(i)}) + "\n")
        line.refresh()
    line._stopping.set()
    line.stop()
    shown = screen(term.getvalue())
    assert shown == ['{"article_id": "0"}', '{"article_id": "1"}', '{"article_id": "2"}', ""]
    assert "summarise@v2 · gpt-4o-mini  0/3" in term.getvalue()  # it was drawn, then erased


def test_notes_get_their_own_line_above_the_status() -> None:
    p, _ = progress(3)
    term = io.StringIO()
    line = StatusLine(p, err=term, out=term, width=80, same=True)
    line.refresh()
    p.event(Note("the server rejects json_schema: using json_object"))
    line.refresh()
    line.stop()
    assert screen(term.getvalue()) == ["the server rejects json_schema: using json_object", ""]


def test_the_engines_own_events() -> None:
    from pipeline.engine import Event

    p, clock = progress()
    p.event(Event("waiting", "rate limit", seconds=26))
    assert p.line(120).endswith("waiting 26 s: rate limit")
    for a in ("a1", "a2"):
        p.event(Event("retrying", "http_error: retrying", seconds=0.5, article_id=a))
    assert p.line(120).endswith("waiting 26 s: rate limit · retrying 2 articles: http_error")
    p.event(Event("adapted", "the server rejects json_schema structured output: using json_object"))
    assert p.take_notes() == ["the server rejects json_schema structured output: using json_object"]
    p.event(Event("stopped", "cannot connect to http://127.0.0.1:9/v1; check --base-url"))
    assert p.line(120).endswith(
        "stopped: cannot connect to http://127.0.0.1:9/v1; check --base-url"
    )


def test_a_dead_server_on_the_terminal_says_so_before_any_record(tmp_path: Path) -> None:
    import os
    import re
    import sys

    from terminal import run_on_terminal

    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["SUMMARISE_HOME"] = str(tmp_path / "home")
    seeds = Path(__file__).resolve().parent.parent / "seeds"
    code, output = run_on_terminal(
        [sys.executable, "-m", "pipeline", "run", str(seeds / "000_8155cee7efb7811f.txt"),
         str(seeds / "001_bbc_business_069.txt"), "--base-url", "http://127.0.0.1:9/v1",
         "--model", "x", "--max-attempts", "3"],
        cwd=tmp_path,
        env=env,
    )  # fmt: skip
    assert code == 2
    drawn = re.findall(r"\x1b\[2K(summarise@v2 · x [^\r\n\x1b]*)", output)
    before_records = output[: output.index('{"article_id"')]
    # the cause is on the line before any record, not only the failure's kind
    assert "retrying" in before_records, drawn
    assert "articles: cannot connect to http://127.0.0.1" in before_records, drawn
    assert "run stopped: cannot connect to http://127.0.0.1:9/v1" in output
