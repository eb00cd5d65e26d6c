"""Batch mode keeps the run's own secrets out of the JSONL, the store and the terminal, as a
live run does (DESIGN.md, "Rules that hold everywhere"), even when the server echoes them
inside the answers a batch brings back or inside a row's error.

The key is deliberately not key-shaped: only knowing the run's own secrets can catch it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from batch_support import FAST, SEEDS, server_requests
from test_secrets_run import KEY, PASSWORD, QUERY_KEY, echoing, leaks, texts_of

from pipeline.server import BatchConfig, FakeOpenAIServer, ServerConfig

REPO = Path(__file__).resolve().parent.parent


def _inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for s in sorted(SEEDS.glob("*.txt"))[:2]:
        (folder / s.name).write_text(s.read_text(encoding="utf-8"), encoding="utf-8")
    (folder / "z.txt").write_text(
        "FAIL-ME. The river rose by two metres overnight after heavy rain, officials said.",
        encoding="utf-8",
    )
    return folder


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["OPENAI_API_KEY"] = KEY
    env["SUMMARISE_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "pipeline", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
    )


def _run_batch(
    tmp_path: Path, srv: FakeOpenAIServer, *extra: str
) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """``run --batch`` over :func:`_inputs` with the key in the environment and a base URL
    that carries a password and a key-like query value: (home, out, the finished command)."""
    home, out = tmp_path / "home", tmp_path / "out.jsonl"
    base = srv.base_url.replace("http://", f"http://alice:{PASSWORD}@") + f"?api-key={QUERY_KEY}"
    done = _run(
        home,
        "run",
        str(_inputs(tmp_path)),
        "--batch",
        "--model",
        "m",
        "--base-url",
        base,
        "--out",
        str(out),
        "--poll-interval",
        "0.01",
        *extra,
    )
    return home, out, done


def _echo_errors(body: dict[str, Any]) -> dict[str, Any]:
    """Answers that quote the key; a request for the FAIL-ME article gets a 400 row that
    quotes it too (a provider's error message echoing what it was sent)."""
    if any("FAIL-ME" in str(m.get("content")) for m in body["messages"]):
        from pipeline.server import ResponderError

        raise ResponderError(f"bad request from key {KEY} / {PASSWORD}", status=400)
    return echoing(body)


def test_secrets_echoed_into_batch_answers_reach_no_record_store_or_terminal(
    tmp_path: Path,
) -> None:
    # failed before the fix: the batch path wrote records and attempts without the run's
    # secrets scrubbed (the key, the URL password and the key-like query value all leaked
    # into the JSONL and the store)
    cfg = ServerConfig(batch=BatchConfig(**FAST))
    with FakeOpenAIServer(cfg, responder=echoing) as srv:
        home, out, done = _run_batch(tmp_path, srv, "--max-attempts", "2")
        assert server_requests(srv, "POST", "/batches")  # it did go through the Batch API
    assert done.returncode == 1, done.stderr  # the FAIL-ME article breaks the schema
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(records) == 3
    assert [r["status"] for r in records] == ["ok", "ok", "failed"]
    assert all(r["batch_id"] for r in records)
    assert "REDACTED" in records[0]["summary"]["summary"]
    assert leaks(out.read_text()) == []
    assert leaks(texts_of(home / "summarise.db")) == []
    assert leaks(done.stdout + done.stderr) == []


def test_a_batch_row_error_that_quotes_the_key_is_stored_without_it(tmp_path: Path) -> None:
    cfg = ServerConfig(batch=BatchConfig(**FAST))
    with FakeOpenAIServer(cfg, responder=_echo_errors) as srv:
        home, out, done = _run_batch(tmp_path, srv)
    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["status"] for r in records] == ["ok", "ok", "failed"]
    assert records[2]["error"]["message"].startswith("HTTP 400: bad request from key REDACTED")
    assert leaks(out.read_text() + done.stdout + done.stderr) == []
    assert leaks(texts_of(home / "summarise.db")) == []
