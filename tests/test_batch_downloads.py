"""Batch files are downloaded under their own bounds, not a chat answer's
(``pipeline/batch/_download.py``).

A result file over 8 MiB (the chat response cap) used to end the command: "the response is
over 8,388,608 bytes (Content-Length 10,596,825) and was not read", no record written. Now
files stream through a client of their own (4 GiB, 30 minutes) a line at a time, and only a
single answer line is held to the chat cap: an over-long one is that article's failed record.
"""

from __future__ import annotations

import asyncio
import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from batch_support import FAST, SEEDS, invoke, records, run_args, server_requests

from pipeline.batch._download import MAX_LINE_BYTES, bounded_lines
from pipeline.server import BatchConfig, FakeOpenAIServer, ServerConfig
from pipeline.server._responders import _default_responder

PAD = 520_000  # bytes added to each answer line: 21 seeds make a 10.6 MB result file


@contextmanager
def padded_server(huge_marker: str | None = None) -> Iterator[FakeOpenAIServer]:
    """Answers padded with an extra field (ignored by the reader); an article holding
    ``huge_marker`` gets an answer line over the chat cap."""

    def padded(body: dict[str, Any]) -> dict[str, Any]:
        completion = _default_responder(body)
        huge = huge_marker is not None and huge_marker in json.dumps(body)
        return {**completion, "system_fingerprint": "x" * (9 << 20 if huge else PAD)}

    cfg = ServerConfig(batch=BatchConfig(**FAST))
    with FakeOpenAIServer(cfg, responder=padded) as srv:
        yield srv


def test_a_result_file_over_the_chat_cap_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-downloads")
    with padded_server() as srv:
        result = invoke(*run_args(srv, "--max-attempts", "1"))
        downloads = server_requests(srv, "GET", "/files/")
    assert result.exit_code == 0, result.output
    recs = records(result.output)
    assert len(recs) == 21 and {r["status"] for r in recs} == {"ok"}
    assert len(downloads) == 1  # read once, whole: 21 lines of over 0.5 MB each
    assert 21 * PAD > 10 * 1024 * 1024


def test_one_answer_over_the_cap_fails_its_article_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-downloads")
    folder = tmp_path / "in"
    folder.mkdir()
    seeds = sorted(SEEDS.glob("*.txt"))[:3]
    for s in seeds:
        (folder / s.name).write_text(s.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "z.txt").write_text(
        "HUGE-ANSWER. The river rose by two metres overnight after heavy rain, officials said.",
        encoding="utf-8",
    )
    with padded_server("HUGE-ANSWER") as srv:
        result = invoke(*run_args(srv, "--max-attempts", "1", paths=(str(folder),)))
        batches = server_requests(srv, "POST", "/batches")
    assert result.exit_code == 1, result.output
    recs = records(result.output)
    assert [r["status"] for r in recs] == ["ok", "ok", "ok", "failed"]
    error = recs[3]["error"]
    assert error["kind"] == "http_error" and "response_too_large" in error["message"]
    assert f"over {MAX_LINE_BYTES:,} bytes" in error["message"]
    assert len(batches) == 1  # not resubmitted: the same answer would come back


# -- the line reader -------------------------------------------------------------------------------


async def _stream(parts: list[bytes]) -> AsyncIterator[bytes]:
    for p in parts:
        yield p


def lines_of(parts: list[bytes], cap: int = 100) -> list[str]:
    async def go() -> list[str]:
        return [line async for line in bounded_lines(_stream(parts), cap)]

    return asyncio.run(go())


def test_lines_across_chunks_blank_lines_and_crlf() -> None:
    assert lines_of([b'{"a": 1}\r\n{"b"', b": 2}\n\n", b'\n{"c": 3}']) == [
        '{"a": 1}',
        '{"b": 2}',
        '{"c": 3}',
    ]


def test_an_over_long_line_is_its_requests_error_row() -> None:
    long_line = b'{"id": "x", "custom_id": "req-\\"7\\"", "response": "' + b"y" * 500 + b'"}'
    got = lines_of([b'{"a": 1}\n', long_line[:40], long_line[40:], b'\n{"b": 2}\n'])
    assert got[0] == '{"a": 1}' and got[2] == '{"b": 2}'
    row = json.loads(got[1])
    assert row["custom_id"] == 'req-"7"' and row["response"] is None
    assert row["error"]["code"] == "response_too_large"
    assert lines_of([b"z" * 300]) == ["{}"]  # no custom_id to give the error to


def test_an_over_long_line_costs_at_most_the_cap() -> None:
    chunk = b"y" * 65536

    async def endless_line() -> AsyncIterator[bytes]:
        yield b'{"custom_id": "big", "body": "'
        for _ in range(3200):  # 200 MiB in one line
            yield chunk
        yield b'"}\n{"custom_id": "next"}\n'

    async def go() -> list[str]:
        return [line async for line in bounded_lines(endless_line(), MAX_LINE_BYTES)]

    tracemalloc.start()
    try:
        got = asyncio.run(go())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert json.loads(got[0])["custom_id"] == "big" and got[1] == '{"custom_id": "next"}'
    assert peak < 2 * MAX_LINE_BYTES
