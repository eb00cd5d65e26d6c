"""The run's input is read off the event loop (``pipeline/engine/_input.py``).

Items used to be read in the event loop's thread: a stdin whose producer stalled (``tail -f
feed.jsonl | summarise run -``) froze every request in flight, since the loop sat in
``readline``. Now a reader thread reads ahead (a bounded buffer) and the loop keeps asking,
checking and storing while the input waits. Asserted on counts the server and the store see,
never on durations.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.engine._input import numbered, read_in_thread
from pipeline.server import FakeOpenAIServer

REPO = Path(__file__).resolve().parent.parent
PATIENCE = 60.0  # seconds to wait for a count before calling it stuck (never a pass/fail time)


def line(i: int) -> bytes:
    text = (
        f"STDIN-{i:03d} The harbour authority of Porthaven said on Tuesday that {i + 2} ships "
        f"were delayed by the storm, and that repairs to the north pier would cost {i + 5} "
        "million pounds. The mayor said the town would ask the government for help."
    )
    return (json.dumps({"text": text}) + "\n").encode()


def wait_until(what: Any, goal: int) -> int:
    deadline = time.monotonic() + PATIENCE
    value = what()
    while value < goal and time.monotonic() < deadline:
        time.sleep(0.02)
        value = what()
    return int(value)


def results(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with contextlib.closing(sqlite3.connect(db, timeout=5)) as con:
            return int(con.execute("SELECT COUNT(*) FROM results").fetchone()[0])
    except sqlite3.Error:
        return 0


@contextlib.contextmanager
def stdin_run(tmp_path: Path, srv: FakeOpenAIServer) -> Iterator[subprocess.Popen[bytes]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["OPENAI_API_KEY"] = "sk-input-thread-test"
    p = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "-", "--out", str(tmp_path / "out.jsonl")]
        + ["--db", str(tmp_path / "s.db"), "--base-url", srv.base_url, "--model", "m"]
        + ["--concurrency", "2", "-q"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=env,
        start_new_session=True,
    )
    try:
        yield p
    finally:
        if p.poll() is None:
            p.kill()
        p.wait(timeout=30)
        for pipe in (p.stdin, p.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def test_a_stalled_stdin_does_not_hold_up_the_articles_already_read(tmp_path: Path) -> None:
    first, rest = 5, 4
    with FakeOpenAIServer() as srv, stdin_run(tmp_path, srv) as p:
        assert p.stdin is not None
        p.stdin.write(b"".join(line(i) for i in range(first)))
        p.stdin.flush()  # ... and then nothing: the producer stalls, stdin stays open
        answered = wait_until(lambda: srv.stats.by_status[200], first)
        stored = wait_until(lambda: results(tmp_path / "s.db"), first)
        assert p.poll() is None  # still waiting for the rest of its input
        # before: nothing at all was asked while the loop sat in readline
        assert (answered, stored) == (first, first)
        _, err = p.communicate(b"".join(line(i) for i in range(first, first + rest)), 120)
        assert p.returncode == 0, err
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["source"] for r in out] == [f"-:{i + 1}" for i in range(first + rest)]
    assert all(r["status"] == "ok" for r in out)


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_run_waiting_on_a_stalled_stdin_stops_on_a_signal(
    tmp_path: Path, sig: signal.Signals, code: int
) -> None:
    with FakeOpenAIServer() as srv, stdin_run(tmp_path, srv) as p:
        assert p.stdin is not None
        p.stdin.write(line(0) + line(1))
        p.stdin.flush()
        assert wait_until(lambda: results(tmp_path / "s.db"), 2) == 2
        os.kill(p.pid, sig)
        _, err = p.communicate(timeout=60)  # the reader blocked in readline keeps nothing alive
    text = err.decode()
    assert p.returncode == code, text
    assert "Fatal Python error" not in text and "Traceback" not in text
    assert "resume" in text


# -- the reader itself ---------------------------------------------------------------------------


def test_items_come_in_order_and_a_reading_error_is_raised_where_the_item_was() -> None:
    def items() -> Iterator[int]:
        yield from range(100)
        raise ValueError("line 101 is broken")

    async def go() -> list[int]:
        got = []
        with pytest.raises(ValueError, match="line 101"):
            async for n, item in numbered(items(), ahead=4):
                assert n == item
                got.append(item)
        return got

    assert asyncio.run(go()) == list(range(100))


def test_the_loop_runs_while_a_read_blocks_and_reading_ahead_is_bounded() -> None:
    gate = threading.Event()
    produced: list[int] = []

    def items() -> Iterator[int]:
        for n in range(10_000):
            if n == 3:
                gate.wait(PATIENCE)  # a read that blocks (a stalled pipe)
            produced.append(n)
            yield n

    async def go() -> tuple[list[int], int]:
        got: list[int] = []
        ticks = 0
        reader = read_in_thread(items(), ahead=8)

        async def consume() -> None:
            async for item in reader:
                got.append(item)
                if len(got) == 20:
                    return

        task = asyncio.ensure_future(consume())
        while len(got) < 3:  # the items before the block arrive
            await asyncio.sleep(0.001)
        for _ in range(200):  # the loop goes on while the reader is stuck in its read
            await asyncio.sleep(0)
            ticks += 1
        assert len(got) == 3 and len(produced) == 3
        gate.set()
        await task
        await reader.aclose()
        return got, ticks

    got, ticks = asyncio.run(go())
    assert got == list(range(20)) and ticks == 200
    time.sleep(0.3)  # the reader saw it was stopped
    assert len(produced) <= 20 + 8 + 1  # never more than ``ahead`` beyond what was taken
