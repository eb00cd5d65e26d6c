"""Poison inputs: each bad item becomes its own ``bad_input`` (or ``too_long``) record naming
the file and line, and the run goes on (issue 11, items 2, 3, 6 and 11).

Every case goes through the real command line with the built-in model and checks the whole
output: one record per input, in input order, the good articles summarised.
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pipeline.articles import Article, BadInput, iter_articles
from pipeline.cli import cli

GOOD = "Heavy rain fell across the county on Monday, and the river rose by two metres overnight."
GOOD2 = "The council voted on Tuesday to close three libraries, citing a shortfall of £2 million."


def run(*args: str, input: bytes | None = None) -> Result:
    return CliRunner().invoke(cli, ["run", "-q", *args], input=input)


def out_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def line(obj: Any) -> bytes:
    return json.dumps(obj).encode() + b"\n"


POISON_LINES = {
    "lone-surrogate": b'{"text": "Rain \\ud83d fell on the town all day and all night long."}\n',
    "lone-surrogate-title": b'{"text": "' + GOOD.encode() + b'", "title": "\\udc00"}\n',
    "deep-nesting": b'{"text": "x", "deep": ' + b"[" * 100_000 + b"]" * 100_000 + b"}\n",
    "huge-integer": b'{"text": "x", "n": ' + b"7" * 5000 + b"}\n",
    "huge-integer-text": b'{"text": ' + b"7" * 5000 + b"}\n",
}


@pytest.mark.parametrize("name", list(POISON_LINES))
def test_a_poison_jsonl_line_is_that_lines_bad_input_and_the_run_goes_on(
    name: str, tmp_path: Path
) -> None:
    src = tmp_path / "in.jsonl"
    src.write_bytes(line({"text": GOOD}) + POISON_LINES[name] + line({"text": GOOD2}))
    out = tmp_path / "out.jsonl"
    result = run(str(src), "--out", str(out))
    assert result.exit_code == 1, result.output
    recs = out_records(out)
    assert [r["source"] for r in recs] == [f"{src}:1", f"{src}:2", f"{src}:3"]
    assert [r["status"] for r in recs] == ["ok", "failed", "ok"]
    assert recs[1]["error"]["kind"] == "bad_input"
    assert recs[1]["error"]["message"].startswith(f"{src}:2: ")


@pytest.mark.parametrize("name", list(POISON_LINES))
def test_a_poison_line_on_stdin_is_its_own_record(name: str) -> None:
    data = line({"text": GOOD}) + POISON_LINES[name] + line({"text": GOOD2})
    result = run("-", input=data)
    assert result.exit_code == 1, result.output
    recs = [json.loads(x) for x in result.stdout.splitlines()]
    assert [r["source"] for r in recs] == ["-:1", "-:2", "-:3"]
    assert [r["status"] for r in recs] == ["ok", "failed", "ok"]


@pytest.mark.parametrize("name", list(POISON_LINES))
def test_a_poison_json_file_is_one_bad_input(name: str, tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(GOOD, encoding="utf-8")
    (folder / "b.json").write_bytes(POISON_LINES[name])
    (folder / "c.txt").write_text(GOOD2, encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(str(folder), "--out", str(out))
    assert result.exit_code == 1, result.output
    recs = out_records(out)
    assert [r["status"] for r in recs] == ["ok", "failed", "ok"]
    assert recs[1]["error"]["kind"] == "bad_input"


def test_a_json_list_with_a_poison_item_fails_that_item_only(tmp_path: Path) -> None:
    src = tmp_path / "list.json"
    src.write_bytes(
        b'[{"text": "' + GOOD.encode() + b'"}, {"text": "bad \\udc80 text here"}, '
        b'{"text": "' + GOOD2.encode() + b'"}]'
    )
    items = list(iter_articles([src]))
    assert [type(i).__name__ for i in items] == ["Article", "BadInput", "Article"]
    assert items[1].source == f"{src}#2"


@pytest.mark.skipif(sys.platform == "darwin", reason="macOS refuses non-UTF-8 file names")
def test_a_file_whose_name_is_not_utf8_is_read_and_shown_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(GOOD, encoding="utf-8")
    bad_name = os.fsencode(folder) + b"/caf\xe9.txt"
    with open(bad_name, "wb") as f:
        f.write(GOOD2.encode())
    (folder / "z.txt").write_text(GOOD + " Again.", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = run(str(folder), "--out", str(out))
    assert result.exit_code == 0, result.output
    recs = out_records(out)
    assert [r["status"] for r in recs] == ["ok", "ok", "ok"]
    assert recs[1]["source"] == f"{folder}/caf\\xe9.txt"
    assert "Traceback" not in result.output


def test_a_fifo_in_a_folder_is_a_bad_input_and_never_opened(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.txt").write_text(GOOD, encoding="utf-8")
    os.mkfifo(folder / "b.txt")  # opening it for reading would wait for a writer forever
    (folder / "c.jsonl").write_bytes(line({"text": GOOD2}))
    items = list(iter_articles([folder]))
    assert [type(i) for i in items] == [Article, BadInput, Article]
    assert isinstance(items[1], BadInput)
    assert "not a regular file" in items[1].message and "named pipe" in items[1].message
    assert stat.S_ISFIFO(os.stat(folder / "b.txt").st_mode)


def test_a_fifo_named_on_the_command_line_is_a_bad_input(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.jsonl"
    os.mkfifo(fifo)
    out = tmp_path / "out.jsonl"
    result = run(str(fifo), "--out", str(out))
    assert result.exit_code == 1, result.output
    (rec,) = out_records(out)
    assert rec["error"]["kind"] == "bad_input" and "named pipe" in rec["error"]["message"]


def test_utf16_jsonl_with_a_bom_is_read(tmp_path: Path) -> None:
    for encoding in ("utf-16-le", "utf-16-be"):
        src = tmp_path / f"{encoding}.jsonl"
        text = line({"text": GOOD}).decode() + line({"text": GOOD2, "title": "Café"}).decode()
        src.write_bytes("\ufeff".encode(encoding) + text.encode(encoding))
        items = list(iter_articles([src]))
        assert [type(i) for i in items] == [Article, Article], items
        assert isinstance(items[1], Article) and items[1].title == "Café"
        assert [i.source for i in items] == [f"{src}:1", f"{src}:2"]


# -- sizes: capped before they cost ------------------------------------------------------------

MiB = 1024 * 1024


def traced(fn: Any) -> tuple[Any, int]:
    """``fn()`` and the peak bytes Python allocated while it ran (counted, not timed)."""
    import tracemalloc

    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_50mb_html_file_is_too_long_before_a_byte_is_parsed(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    big = folder / "big.html"
    with big.open("wb") as f:  # sparse: 50 MB on paper, nothing on disk
        f.write(b"<html><body><p>")
        f.truncate(50 * MiB)
    (folder / "ok.txt").write_text(GOOD, encoding="utf-8")
    items, peak = traced(lambda: list(iter_articles([folder])))
    assert [type(i) for i in items] == [BadInput, Article]
    assert isinstance(items[0], BadInput) and items[0].kind == "too_long"
    assert "52,428,800 bytes" in items[0].message and "not read" in items[0].message
    assert peak < 1 * MiB, f"{peak:,} bytes allocated for a file that is never read"


class LazyStream:
    """Standard input holding a JSON line of ``size`` bytes, made as it is read (never whole)."""

    def __init__(self, before: bytes, size: int, after: bytes) -> None:
        self.parts = [before, b'{"text": "', size, b'"}\n', after]
        self.largest = 0

    def _take(self, limit: int) -> bytes:
        while self.parts:
            head = self.parts[0]
            if isinstance(head, int):
                n = head if limit < 0 else min(head, limit)
                self.parts[0] = head - n
                if self.parts[0] == 0:
                    self.parts.pop(0)
                return b"x" * n
            if not head:
                self.parts.pop(0)
                continue
            n = len(head) if limit < 0 else min(len(head), limit)
            self.parts[0] = head[n:]
            return head[:n]
        return b""

    def readline(self, limit: int = -1) -> bytes:
        out = b""
        while limit < 0 or len(out) < limit:
            piece = self._take(-1 if limit < 0 else limit - len(out))
            if not piece:
                break
            nl = piece.find(b"\n")
            if nl >= 0 and nl + 1 < len(piece):  # give back what follows the newline
                self.parts.insert(0, piece[nl + 1 :])
                piece = piece[: nl + 1]
            out += piece
            if out.endswith(b"\n"):
                break
        self.largest = max(self.largest, len(out))
        return out

    def read(self, size: int = -1) -> bytes:
        return self.readline(size)


def test_a_200mb_jsonl_line_on_stdin_costs_at_most_the_cap() -> None:
    from pipeline.articles._safe import MAX_ARTICLE_BYTES

    stream = LazyStream(line({"text": GOOD}), 200 * MiB, line({"text": GOOD2}))
    items, peak = traced(lambda: list(iter_articles(["-"], stdin=stream)))  # type: ignore[arg-type]
    assert [type(i) for i in items] == [Article, BadInput, Article]
    assert isinstance(items[1], BadInput) and items[1].kind == "too_long"
    assert items[1].source == "-:2" and "209,715,213 bytes" in items[1].message
    assert stream.largest <= MAX_ARTICLE_BYTES + 1
    assert peak < 3 * MAX_ARTICLE_BYTES, f"{peak:,} bytes allocated"


def test_an_oversized_jsonl_line_in_a_file_fails_that_line_only(tmp_path: Path) -> None:
    from pipeline.articles._safe import MAX_ARTICLE_BYTES

    src = tmp_path / "in.jsonl"
    with src.open("wb") as f:
        f.write(line({"text": GOOD}))
        f.write(b'{"text": "' + b"y" * (3 * MAX_ARTICLE_BYTES) + b'"}\n')
        f.write(line({"text": GOOD2}))
    items, peak = traced(lambda: list(iter_articles([src])))
    assert [type(i) for i in items] == [Article, BadInput, Article]
    assert isinstance(items[1], BadInput) and items[1].kind == "too_long"
    assert items[1].source == f"{src}:2"
    assert peak < 3 * MAX_ARTICLE_BYTES, f"{peak:,} bytes allocated"
