"""The journal of answers and the leases under faults: a journalled body that is not an
answer, a run that takes over the lease of a run that died, ``kill -9`` between a 200 error
body and its retry.

A journalled body is used instead of paying again only when it is what the live path would
accept as an answer (a JSON object with ``choices`` and no ``error``): an OpenRouter-style
200 error body, kept because it arrived with status 200, is not one.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from recorded_server import RecordedServer, load
from test_answers import V2, Server, article, body, run, summariser

from pipeline.engine import cache_key
from pipeline.schemas import load_schema
from pipeline.server import FakeOpenAIServer
from pipeline.store import Store
from pipeline.store._journal import request_sha256

REPO = Path(__file__).resolve().parent.parent
SEEDS = REPO / "seeds"
SCHEMA = load_schema("summary.v1")
#: OpenRouter's 200 with an upstream 429 in its body (tests/data/providers, a real failure)
_, (UPSTREAM_429,) = load("openrouter__200_error_no_choices")


def _cli(home: Path, *args: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["SUMMARISE_HOME"] = str(home)
    env["OPENAI_API_KEY"] = "test-key-journal"
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_journalled_error_body_is_not_read_as_the_answer_after_a_kill(tmp_path: Path) -> None:
    # failed before the fix: the resumed run took the journalled 200 error body as the model's
    # answer, sent nothing and failed the article as schema_invalid
    home = tmp_path / "home"
    source = tmp_path / "a.txt"
    source.write_text(sorted(SEEDS.glob("*.txt"))[0].read_text(encoding="utf-8"), "utf-8")
    hold = threading.Event()

    def choose(_body: dict[str, Any], n: int) -> Any:
        if n > 0:  # the retry is in flight when the process is killed
            hold.wait(30)
        return UPSTREAM_429

    with RecordedServer([UPSTREAM_429], choose=choose, fit=False) as srv:
        proc = _cli(home, "run", str(source), "--model", "m", "--base-url", srv.base_url)
        while len(srv.requests) < 2:  # bounded by the run: it ends if the retry never goes out
            assert proc.poll() is None, ("the retry never went out", proc.communicate())
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        hold.set()
    journal = Store(home / "summarise.db")
    rows = journal._db.execute("SELECT status_code, body FROM answers").fetchall()
    journal.close()
    assert len(rows) == 1 and '"error"' in rows[0][1]  # the error body was journalled

    with FakeOpenAIServer() as fake:
        again = _cli(
            home,
            "run",
            str(source),
            "--model",
            "m",
            "--base-url",
            fake.base_url,
            "--max-attempts",
            "1",
        )
        out, err = again.communicate(timeout=120)
        assert fake.stats.chat_requests == 1  # asked, as the journal held no answer
    assert again.returncode == 0, err
    (record,) = [json.loads(line) for line in out.splitlines()]
    assert record["status"] == "ok"


def _journal(store: Store, request: dict[str, Any], *bodies: Any) -> None:
    key = cache_key(article().id, V2, SCHEMA, "test-model")
    for b in bodies:
        text = b if isinstance(b, str) else json.dumps(b)
        store.save_answer(key, request_sha256(request), 200, text, 7)


def test_the_answer_journalled_after_an_error_body_is_the_one_reused(tmp_path: Path) -> None:
    # a transient 200 error body, then the retry's answer, then the crash before the commit:
    # the answer is reused, nothing is paid again
    store = Store(tmp_path / "s.db")
    s = summariser(Server())
    _journal(store, s.first_request(article()), UPSTREAM_429.json(), body())
    server = Server()
    (record,) = run(summariser(server), [article()], store)
    assert server.requests == []
    assert record.status == "ok" and record.attempts == 1
    store.close()


def test_journalled_bodies_that_are_not_answers_send_the_request_again(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    s = summariser(Server())
    no_choices = {**body(), "choices": []}
    _journal(store, s.first_request(article()), "<html>bad gateway</html>", no_choices, "[1]")
    server = Server()
    (record,) = run(summariser(server, max_attempts=1), [article()], store)
    assert len(server.requests) == 1
    assert record.status == "ok"
    assert store._db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 0  # consumed
    store.close()


def test_a_run_that_takes_over_a_dead_runs_lease_uses_the_answer_it_journalled(
    tmp_path: Path,
) -> None:
    # failed before the fix: the journal was read once, when the run started; an answer the
    # dead holder journalled later was paid for again by the run that took its lease over
    db = tmp_path / "s.db"
    store = Store(db)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        key = cache_key(article().id, V2, SCHEMA, "test-model")
        store._db.execute(
            "INSERT INTO leases (cache_key, holder, host, pid, expires_at) VALUES (?,?,?,?,?)",
            (key, "the-other-run", __import__("socket").gethostname(), holder.pid, 1e12),
        )
        server = Server()
        s = summariser(server)

        async def go() -> list[Any]:
            from pipeline.engine import run_live

            run_id = store.start_run("run", prompt=s.prompt, model=s.endpoint.model)
            agen = run_live([article()], s, store, run_id=run_id)
            first = asyncio.ensure_future(agen.__anext__())
            await asyncio.sleep(0.3)  # this run waits on the other run's lease
            assert not first.done()
            # the other run's answer arrives and is journalled; then it dies uncommitted
            _journal(store, summariser(Server()).first_request(article()), body())
            holder.kill()
            holder.wait()
            records = [await first] + [r async for r in agen]
            await s.client.close()
            return records

        (record,) = asyncio.run(go())
    finally:
        holder.kill()
        holder.wait()
    assert server.requests == []  # the journalled answer was used: nothing paid twice
    assert record.status == "ok" and record.attempts == 1
    store.close()
