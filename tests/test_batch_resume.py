"""Batch mode killed at every stage (``kill -9`` while uploading, after the batch is created,
while polling, while downloading, while storing; Ctrl-C while waiting) and resumed with the
same command: no batch is created twice, no input is lost or recorded twice.

The command runs in a child process that the test kills; the fake server runs here, and the
moment to kill is read from what the server has seen (or, for storing, from the store)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from batch_support import MODEL, SEEDS, batch_server, server_requests

from pipeline.server import FakeOpenAIServer


def spawn(srv: FakeOpenAIServer, home: Path, out: Path, *paths: str) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        "-c",
        "from pipeline.cli import main; main()",
        "run",
        *(paths or (str(SEEDS),)),
        "--batch",
        "--base-url",
        srv.base_url,
        "--model",
        MODEL,
        "--poll-interval",
        "0.02",
        "--timeout",
        "30",
        "--out",
        str(out),
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["SUMMARISE_HOME"] = str(home)
    return subprocess.Popen(
        args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def until(cond: Callable[[], bool], proc: subprocess.Popen[str], what: str) -> None:
    deadline = time.monotonic() + 60
    while not cond():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"the run ended before {what}: {proc.returncode}\n{err[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"never saw {what}")
        time.sleep(0.005)


def kill9(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL  # killed mid-stage, not finished


def finish(srv: FakeOpenAIServer, home: Path, out: Path, *paths: str) -> tuple[int, str]:
    proc = spawn(srv, home, out, *paths)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


def read(out: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in out.read_text().splitlines() if x.strip()]


def seen(srv: FakeOpenAIServer, method: str, prefix: str, n: int = 1) -> Callable[[], bool]:
    return lambda: len(server_requests(srv, method, prefix)) >= n


def check_resumed(srv: FakeOpenAIServer, out: Path, n: int = 21) -> list[dict[str, Any]]:
    recs = read(out)
    assert len(recs) == n  # one record per input, none lost, none twice
    assert len({r["source"] for r in recs}) == n
    assert all(r["status"] == "ok" for r in recs), [r["error"] for r in recs if r["error"]]
    assert srv.batches.created == 1  # the batch was never created twice
    assert not server_requests(srv, "POST", "/chat/completions")  # nothing asked live
    return recs


@pytest.mark.parametrize("when", ["before the file is stored", "after the file is stored"])
def test_killed_while_uploading(tmp_path: Path, when: str) -> None:
    home, out = tmp_path / "home", tmp_path / "out.jsonl"
    with batch_server() as srv:
        kind = "hang" if when.startswith("before") else "hang_after"
        srv.batches.inject("POST", "/files", kind)
        proc = spawn(srv, home, out)
        until(seen(srv, "POST", "/files"), proc, "the upload")
        kill9(proc)
        code, err = finish(srv, home, out)
        assert code == 0, err
        check_resumed(srv, out)
        uploads = [f for f in srv.batches.files._files.values() if f.purpose == "batch"]
    assert len(uploads) == 1  # a stored upload is found again, not sent twice


def test_killed_after_the_batch_is_created_before_its_id_is_heard(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out.jsonl"
    with batch_server() as srv:
        srv.batches.inject("POST", "/batches", "hang_after")  # created, the answer never sent
        proc = spawn(srv, home, out)
        until(seen(srv, "POST", "/batches"), proc, "the create")
        kill9(proc)
        assert srv.batches.created == 1
        code, err = finish(srv, home, out)
        assert code == 0, err
        check_resumed(srv, out)


def test_killed_while_polling(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out.jsonl"
    with batch_server(request_s=10_000.0) as srv:  # stays in progress until the clock jumps
        proc = spawn(srv, home, out)
        until(seen(srv, "GET", "/batches/", 3), proc, "three polls")
        kill9(proc)
        srv.config.batch.request_s = 0.5
        code, err = finish(srv, home, out)
        assert code == 0, err
        check_resumed(srv, out)


def test_killed_while_downloading(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out.jsonl"
    with batch_server() as srv:
        srv.batches.inject("GET", "/files/*/content", "hang")
        proc = spawn(srv, home, out)
        until(seen(srv, "GET", "/files/"), proc, "the download")
        kill9(proc)
        code, err = finish(srv, home, out)
        assert code == 0, err
        check_resumed(srv, out)


def test_killed_while_storing(tmp_path: Path) -> None:
    articles = tmp_path / "many.jsonl"
    with articles.open("w") as f:
        for i in range(240):
            words = " ".join(f"w{i}x{j}" for j in range(30))
            f.write(json.dumps({"title": f"Story {i}", "text": f"Story {i} says {words}."}) + "\n")
    home, out = tmp_path / "home", tmp_path / "out.jsonl"
    db = home / "summarise.db"

    def some_stored() -> bool:
        if not db.exists():
            return False
        try:
            con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=0.1)
            try:
                n = con.execute("SELECT COUNT(*) FROM results").fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return False
        return n >= 10

    with batch_server() as srv:
        proc = spawn(srv, home, out, str(articles))
        until(some_stored, proc, "the first stored records")
        kill9(proc)
        stored = sqlite3.connect(db).execute("SELECT COUNT(*) FROM results").fetchone()[0]
        assert stored < 240  # killed in the middle of storing
        code, err = finish(srv, home, out, str(articles))
        assert code == 0, err
        recs = check_resumed(srv, out, n=240)
    assert [r["title"] for r in recs] == [f"Story {i}" for i in range(240)]  # input order
    # every answer was checked and stored once: one attempt row per article
    con = sqlite3.connect(db)
    rows = con.execute("SELECT cache_key, COUNT(*) FROM attempts GROUP BY cache_key").fetchall()
    assert len(rows) == 240 and {n for _, n in rows} == {1}


def test_ctrl_c_while_waiting_then_the_same_command(tmp_path: Path) -> None:
    home, out = tmp_path / "home", tmp_path / "out.jsonl"
    with batch_server(request_s=10_000.0) as srv:
        proc = spawn(srv, home, out)
        until(seen(srv, "GET", "/batches/", 2), proc, "two polls")
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 130
        assert "summarise batch collect" in err and "Traceback" not in err
        srv.config.batch.request_s = 0.5
        code, err = finish(srv, home, out)
        assert code == 0, err
        check_resumed(srv, out)
