"""Live runs and batch runs on one store never pay twice for one article.

The live engine claims an article with a lease (``leases``) before it asks; batch mode claims
it with an open request in a batch (``batch_requests``). Each respects the other's claim, in
the same write transaction as its own:

- a live run meets an article that waits in an open batch: it does not ask; the input's
  record is failed with kind ``in_batch``, naming the batch and the command that collects it
  (the answer is paid for already; after the collect, the same run serves it from the store);
- a batch run meets an article a live run is asking for now: it puts no request for it in a
  batch and waits for the live run's answer, which its input then gets from the store; if the
  live run ends without an answer (it failed, or died), the batch asks for it itself.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from batch_support import MODEL, SEEDS, batch_server, invoke, query, records, run_args

from pipeline.articles import iter_articles
from pipeline.engine import cache_key
from pipeline.prompts import load_prompt
from pipeline.schemas import load_schema
from pipeline.server import BatchConfig, FakeOpenAIServer, ServerConfig

REPO = Path(__file__).resolve().parent.parent


def live_args(srv: FakeOpenAIServer, *extra: str) -> list[str]:
    return ["run", str(SEEDS), "--base-url", srv.base_url, "--model", MODEL, *extra]


def chat_requests(srv: FakeOpenAIServer) -> int:
    return int(srv.stats.chat_requests)


def test_a_live_run_does_not_pay_for_articles_waiting_in_an_open_batch(tmp_path: Path) -> None:
    # failed before the fix: the live run asked the model for all 21 articles again
    with batch_server(validating_s=1e9) as srv:  # the batch stays open
        submitted = invoke(*run_args(srv, "--no-wait"))
        assert submitted.exit_code == 0, submitted.output
        (batch_id,) = [line for line in submitted.output.splitlines() if line.startswith("batch_")]
        live = invoke(*live_args(srv))
        assert chat_requests(srv) == 0  # nothing paid twice
        assert live.exit_code == 1  # these inputs have no answer yet
        recs = records(live.output)
        assert len(recs) == 21
        assert {r["status"] for r in recs} == {"failed"}
        assert {r["error"]["kind"] for r in recs} == {"in_batch"}
        message = recs[0]["error"]["message"]
        assert batch_id in message and "summarise batch collect" in message
        assert "in_batch: 21" in live.output  # the summary counts them by kind

        # collected, the answers serve the next live run from the store: still no live request
        srv.config.batch.validating_s = 2.0
        srv.batches.advance_clock(1e10)
        collected = invoke(
            "batch", "collect", "--base-url", srv.base_url, "--poll-interval", "0.01"
        )
        assert collected.exit_code == 0, collected.output
        again = invoke(*live_args(srv))
        assert again.exit_code == 0, again.output
        assert [r["cached"] for r in records(again.output)] == [True] * 21
        assert chat_requests(srv) == 0


def test_a_stale_building_job_of_a_dead_process_claims_nothing(tmp_path: Path) -> None:
    # a batch run killed while it wrote its file: its requests are no claim on the articles
    with batch_server(validating_s=1e9) as srv:
        assert invoke(*run_args(srv, "--no-wait")).exit_code == 0
        home = Path(os.environ["SUMMARISE_HOME"])
        dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], **_out())
        db = __import__("sqlite3").connect(home / "summarise.db")
        db.execute(
            "UPDATE batch_jobs SET state='building', note=?", (f"pid {dead.stdout.strip()}",)
        )
        db.commit()
        db.close()
        live = invoke(*live_args(srv))
        assert live.exit_code == 0, live.output
        assert chat_requests(srv) == 21


def _out() -> dict[str, Any]:
    return {"capture_output": True, "text": True}


def test_a_batch_run_waits_for_the_articles_a_live_run_is_asking_for(tmp_path: Path) -> None:
    # failed before the fix: the articles the live run held leases on went into the batch too
    home = Path(os.environ["SUMMARISE_HOME"])
    cfg = ServerConfig(
        latency_s=0.4,
        batch=BatchConfig(time_scale=200.0, validating_s=2.0, request_s=0.5, finalizing_s=2.0),
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["SUMMARISE_HOME"] = str(home)
    with FakeOpenAIServer(cfg) as srv:
        live = subprocess.Popen(
            [sys.executable, "-m", "pipeline", *live_args(srv, "--concurrency", "2")],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # the live run holds leases on the articles it asks; the wait is bounded by the run
        # itself (it ends, and the assertion says so, if it never asks three)
        while chat_requests(srv) < 3:
            assert live.poll() is None, live.communicate()
            time.sleep(0.01)
        outputs: list[tuple[str, str]] = []  # drained meanwhile: a full pipe would stall it
        reader = threading.Thread(target=lambda: outputs.append(live.communicate(timeout=120)))
        reader.start()
        batched = invoke(*run_args(srv))
        reader.join(timeout=120)
        ((live_out, live_err),) = outputs
        rows = srv.batches.rows_answered
        asked_live = chat_requests(srv)
    assert batched.exit_code == 0, batched.output
    assert rows + asked_live == 21  # every article paid for once, by one of the two runs
    assert asked_live >= 3  # the live run claims its whole window of articles up front
    batch_recs = records(batched.output)
    assert [r["status"] for r in batch_recs] == ["ok"] * 21
    from_live = [r for r in batch_recs if r["batch_id"] is None]
    assert len(from_live) == asked_live and all(r["cached"] for r in from_live)
    live_recs = [json.loads(x) for x in live_out.splitlines()]
    assert len(live_recs) == 21
    kinds = [r["status"] if r["status"] == "ok" else r["error"]["kind"] for r in live_recs]
    assert set(kinds) <= {"ok", "in_batch"} and kinds.count("ok") == asked_live
    assert live.returncode == (1 if "in_batch" in kinds else 0), live_err


def test_a_batch_run_asks_itself_when_the_live_holder_dies_without_an_answer(
    tmp_path: Path,
) -> None:
    home = Path(os.environ["SUMMARISE_HOME"])
    first = next(iter(iter_articles([str(SEEDS)])))
    prompt = load_prompt("summarise")
    key = cache_key(first.id, prompt, load_schema(prompt.schema), MODEL)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with batch_server() as srv:
            from pipeline.store import Store

            store = Store(home / "summarise.db")
            store._db.execute(
                "INSERT INTO leases (cache_key, holder, host, pid, expires_at) VALUES (?,?,?,?,?)",
                (key, "a-live-run", socket.gethostname(), holder.pid, 1e12),
            )
            store.close()

            def kill_later() -> None:  # once the other articles' batch exists
                deadline = time.monotonic() + 60
                while srv.batches.created < 1 and time.monotonic() < deadline:
                    time.sleep(0.01)
                holder.kill()
                holder.wait()  # reaped: a zombie still answers kill(pid, 0)

            threading.Thread(target=kill_later, daemon=True).start()
            batched = invoke(*run_args(srv))
            assert batched.exit_code == 0, batched.output
            assert srv.batches.rows_answered == 21  # the orphaned article went into a batch
            assert chat_requests(srv) == 0
            recs = records(batched.output)
            assert [r["status"] for r in recs] == ["ok"] * 21
            assert all(r["batch_id"] for r in recs)
            assert srv.batches.created == 2  # the held article waited for its own batch
    finally:
        holder.kill()
        holder.wait()
    assert query(home, "SELECT state FROM batch_requests ORDER BY rowid") == [("answered",)] * 21
