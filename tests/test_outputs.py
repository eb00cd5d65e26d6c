"""Outputs and the store under misuse and failure (issue 11, items 4, 8, 9 and 11):
``--out`` naming an input, ``--out`` inside an input folder, unwritable and full ``--out``,
a full or damaged store, SIGTERM and Ctrl-C.

Disk-full cases run twice: with ENOSPC injected (always) and on a real 1 MiB tmpfs (when the
tests run as root and may mount one, as in CI; skipped elsewhere).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.server import FakeOpenAIServer, Fault

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["run", "-q", *args])


def one_line_error(result: Result) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output and "unexpected" not in result.output
    return lines[0]


def articles(folder: Path, n: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    seeds = sorted(SEEDS.glob("*.txt"))[:n]
    for s in seeds:
        shutil.copy(s, folder / s.name)
    return sorted(folder.iterdir())


def jsonl_input(path: Path, n: int = 3) -> Path:
    texts = [p.read_text(encoding="utf-8") for p in sorted(SEEDS.glob("*.txt"))[:n]]
    path.write_text("".join(json.dumps({"text": t}) + "\n" for t in texts), encoding="utf-8")
    return path


# -- item 4: --out never overwrites an input ------------------------------------------------------


@pytest.mark.parametrize("spelling", ["same", "dot", "absolute", "symlink", "hardlink"])
def test_out_naming_an_input_is_refused_before_anything_is_written(
    spelling: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    src = jsonl_input(tmp_path / "in.jsonl")
    before = src.read_bytes()
    out = {
        "same": "in.jsonl",
        "dot": "./sub/../in.jsonl",
        "absolute": str(src),
        "symlink": "link.jsonl",
        "hardlink": "hard.jsonl",
    }[spelling]
    (tmp_path / "sub").mkdir()
    os.symlink(src, tmp_path / "link.jsonl")
    os.link(src, tmp_path / "hard.jsonl")
    result = run("in.jsonl", "--out", out)
    assert result.exit_code == 2, result.output
    assert "is the input" in one_line_error(result) and "--out" in result.stderr
    assert src.read_bytes() == before


def test_out_inside_an_input_folder_is_never_read_back(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    articles(folder, 3)
    out = folder / "records.jsonl"
    for _ in range(2):  # the second run finds last run's output in the folder
        result = run(str(folder), "--out", str(out))
        assert result.exit_code == 0, result.output
        recs = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
        assert len(recs) == 3 and all(r["status"] == "ok" for r in recs)
        assert not any(r["source"].endswith("records.jsonl") for r in recs)


# -- item 8: unwritable and full outputs -----------------------------------------------------------


def test_an_impossible_out_is_a_one_line_error_and_nothing_runs(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    db = tmp_path / "db.sqlite"
    result = run(str(SEEDS), "--out", str(blocker / "out.jsonl"), "--db", str(db))
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert str(blocker / "out.jsonl") in line and "Not a directory" in line
    assert not db.exists() or _results(db) == 0


def _results(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return int(con.execute("SELECT count(*) FROM results").fetchone()[0])


def _intact(db: Path) -> bool:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_out_full_midway_keeps_whole_lines_and_the_store_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.cli import _output

    real_write = os.write
    calls = {"n": 0}

    def full_on_third(fd: int, data: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 3:  # half the third line gets out, then the disk is full
            real_write(fd, bytes(data[: len(data) // 2]))
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(_output.os, "write", full_on_third)
    out = tmp_path / "out.jsonl"
    db = tmp_path / "db.sqlite"
    result = run(str(SEEDS), "--out", str(out), "--db", str(db), "--concurrency", "1")
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert str(out) in line and "No space left on device" in line and "resume" in line
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == 3  # two whole lines, nothing after them
    assert all(json.loads(x)["status"] == "ok" for x in lines[:-1])
    assert _intact(db) and _results(db) >= 2


def test_store_full_midway_is_a_one_line_error_and_the_store_intact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipeline.store import _store

    real_migrate = _store.Store._migrate

    def small_disk(self: Any) -> None:
        real_migrate(self)
        pages = self._db.execute("PRAGMA page_count").fetchone()[0]
        self._db.execute(f"PRAGMA max_page_count = {pages + 6}")  # room for a few articles

    monkeypatch.setattr(_store.Store, "_migrate", small_disk)
    out = tmp_path / "out.jsonl"
    db = tmp_path / "db.sqlite"
    result = run(str(SEEDS), "--out", str(out), "--db", str(db), "--concurrency", "1")
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert str(db) in line and "full" in line and "--db" in line
    assert "cannot rollback" not in line
    written = [json.loads(x) for x in out.read_text(encoding="utf-8").splitlines()]
    assert 0 < len(written) < 21
    assert _intact(db) and _results(db) == len(written)


def test_a_damaged_store_found_midway_is_a_one_line_error(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite"
    folder = tmp_path / "in"
    articles(folder, 5)
    assert run(str(folder), "--db", str(db)).exit_code == 0
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        page = con.execute("PRAGMA page_size").fetchone()[0]
        # only the pages of the stored results and their cache index: the store opens
        # fine, and the damage is met when the run looks its first article up
        damaged = [
            n
            for (n,) in con.execute(
                "SELECT pageno FROM dbstat WHERE name IN ('results', 'results_cache')"
            )
        ]
    assert damaged
    with db.open("r+b") as f:
        for n in damaged:
            f.seek((n - 1) * page)
            f.write(bytes([0xA5]) * page)
    out = tmp_path / "out.jsonl"
    result = run(str(folder), "--db", str(db), "--out", str(out))
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert str(db) in line and "malformed" in line and "move it aside" in line
    assert "cannot open" not in line  # found mid-run, not when the store was opened


@contextlib.contextmanager
def tmpfs(where: Path, size: str, *, read_only: bool = False) -> Iterator[Path]:
    where.mkdir(parents=True, exist_ok=True)
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], capture_output=True)


def cli_subprocess(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run(
        [sys.executable, "-m", "pipeline", "run", "-q", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        **kw,
    )


@pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0, reason="mounts a tmpfs")
def test_on_a_real_full_disk_out_and_store_fail_cleanly(tmp_path: Path) -> None:
    big = tmp_path / "in.jsonl"
    text = (SEEDS / sorted(os.listdir(SEEDS))[1]).read_text(encoding="utf-8")
    big.write_text(
        "".join(json.dumps({"text": f"{text}\n\nStory {n}."}) + "\n" for n in range(40)),
        encoding="utf-8",
    )
    with tmpfs(tmp_path / "small", "64k") as small:
        result = cli_subprocess(
            str(big), "--out", str(small / "out.jsonl"), "--db", str(tmp_path / "db.sqlite")
        )
        assert result.returncode == 2, result.stderr
        assert "No space left on device" in result.stderr and "Traceback" not in result.stderr
        data = (small / "out.jsonl").read_bytes()
        assert data.endswith(b"\n") and all(json.loads(x) for x in data.splitlines())
    assert _intact(tmp_path / "db.sqlite")
    with tmpfs(tmp_path / "small2", "256k") as small:
        result = cli_subprocess(
            str(big), "--out", str(tmp_path / "out2.jsonl"), "--db", str(small / "db.sqlite")
        )
        assert result.returncode == 2, result.stderr
        assert "full" in result.stderr and str(small / "db.sqlite") in result.stderr
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
        assert _intact(small / "db.sqlite")


@pytest.mark.skipif(sys.platform != "linux" or os.geteuid() != 0, reason="mounts a tmpfs")
def test_a_read_only_out_is_a_one_line_error(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "64k", read_only=True) as ro:
        result = run(str(SEEDS), "--out", str(ro / "out.jsonl"))
    assert result.exit_code == 2, result.output
    line = one_line_error(result)
    assert str(ro / "out.jsonl") in line and "Read-only file system" in line


# -- item 9: SIGTERM and Ctrl-C ------------------------------------------------------------------


def _run_status(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return [r[0] for r in con.execute("SELECT status FROM runs ORDER BY id")]


def _start(args: list[str]) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", "-q", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=env,
    )


def _wait_for(predicate: Any, proc: subprocess.Popen[str]) -> None:
    for _ in range(1200):  # polls of 0.05 s: a liveness bound, nothing is timed
        if predicate() or proc.poll() is not None:
            return
        time.sleep(0.05)


@pytest.mark.parametrize(
    ("sig", "code", "force"),
    [
        (signal.SIGTERM, 143, False),
        (signal.SIGINT, 130, True),
        (signal.SIGTERM, 143, True),
    ],
)
def test_a_signal_mid_run_stops_cleanly_and_marks_the_run_interrupted(
    sig: int, code: int, force: bool, tmp_path: Path
) -> None:
    src = jsonl_input(tmp_path / "in.jsonl", 3)
    out = tmp_path / "out.jsonl"
    db = tmp_path / "db.sqlite"
    with FakeOpenAIServer() as srv:
        srv.enqueue("ok", Fault("hang", hang_s=3600))
        args = [
            str(src),
            "--model",
            "builtin",
            "--base-url",
            srv.base_url,
            "--out",
            str(out),
            "--db",
            str(db),
            "--concurrency",
            "1",
        ]
        proc = _start(args + (["--force"] if force else []))
        _wait_for(lambda: out.exists() and out.read_text(encoding="utf-8").count("\n") >= 1, proc)
        _wait_for(lambda: srv.stats.by_fault["hang"] >= 1, proc)  # the hang has begun
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(sig)
        _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == code, stderr
    lines = [x for x in stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    assert ("terminated (SIGTERM)" if sig == signal.SIGTERM else "interrupted") in lines[0]
    if force:
        assert "WITHOUT --force" in lines[0]
    else:
        assert "run the same command to resume" in lines[0]
    assert _run_status(db) == ["interrupted"]
    assert len(out.read_text(encoding="utf-8").splitlines()) == 1


def test_out_is_not_truncated_before_the_first_new_record(tmp_path: Path) -> None:
    src = jsonl_input(tmp_path / "in.jsonl", 2)
    out = tmp_path / "out.jsonl"
    out.write_text('{"earlier": "records"}\n', encoding="utf-8")
    with FakeOpenAIServer() as srv:
        srv.enqueue(Fault("hang", hang_s=3600))
        proc = _start(
            [
                str(src),
                "--model",
                "builtin",
                "--base-url",
                srv.base_url,
                "--out",
                str(out),
                "--db",
                str(tmp_path / "db.sqlite"),
                "--concurrency",
                "1",
            ]
        )
        _wait_for(lambda: srv.stats.by_fault["hang"] >= 1, proc)  # the hang has begun
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert out.read_text(encoding="utf-8") == '{"earlier": "records"}\n'
