"""Every resilience path of a run, against real HTTP servers on 127.0.0.1.

Most tests drive :func:`pipeline.runner.run` (the library behind ``summarise run``) against
:class:`pipeline.server.FakeOpenAIServer` and assert at the *server*: how many requests came,
what they carried, when they arrived. The CLI tests run ``python -m pipeline`` in a
subprocess. The last section brings a second, independent fault server written here on
``http.server`` with its own seeded fault mix.

Waits are kept tiny (``retry-after`` of tens of ms, backoff base 10 ms via ``RunSettings``);
nothing asserts a duration measured on the client, only gaps and counts seen by a server.
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from pipeline import builtin, runner
from pipeline.articles import Article, article_id, iter_articles
from pipeline.engine import RunSettings, RunSummary
from pipeline.records import Record
from pipeline.server import FakeOpenAIServer, Fault, RequestRecord, ServerConfig
from pipeline.store import Store

REPO = Path(__file__).resolve().parent.parent
KEY = "sk-test-resilience"
FAST = RunSettings(
    concurrency=4,
    check_faithfulness=False,
    backoff_initial_s=0.01,
    backoff_cap_s=0.05,
)


# -- articles and runs -------------------------------------------------------------------------


def text_of(i: int) -> str:
    return (
        f"ART-{i:03d} The council of Riverton approved a budget of {i + 10} million dollars "
        f"on Monday. Mayor Jane Doe said the plan would pay for {i + 3} new schools by 2027. "
        "Opposition members criticised the spending, according to local reports. "
        f"The vote passed by seven votes to two after a debate that lasted {i % 5 + 2} hours."
    )


def make_articles(n: int) -> list[Article]:
    out = []
    for i in range(n):
        text = text_of(i)
        out.append(
            Article(id=article_id(text), source=f"gen/{i:03d}.txt", text=text, title=f"Vote {i}")
        )
    return out


def marker(body: Any) -> str | None:
    """The ART-nnn marker of the article a request body asks about."""
    for m in body.get("messages", []) if isinstance(body, dict) else []:
        content = m.get("content") or ""
        if m.get("role") == "user" and "ART-" in content:
            i = content.index("ART-")
            return str(content[i : i + 7])
    return None


def chat(srv: FakeOpenAIServer) -> list[RequestRecord]:
    return [r for r in srv.stats.records() if r.path.endswith("/chat/completions")]


def per_article(records: list[RequestRecord]) -> Counter[str | None]:
    return Counter(marker(r.body) for r in records)


@pytest.fixture(autouse=True)
def _key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)


def run(
    srv: FakeOpenAIServer,
    articles: list[Article],
    tmp_path: Path,
    *,
    timeout: float = 10.0,
    **settings: Any,
) -> tuple[RunSummary, list[Record], Store]:
    """One library run against ``srv``; the store stays open for the test to inspect."""
    store = Store(tmp_path / "store.db")
    options = runner.RunOptions(
        model="gpt-test",
        base_url=srv.base_url,
        timeout=timeout,
        settings=replace(FAST, **settings),
    )
    records: list[Record] = []
    summary = runner.run(articles, options, on_record=records.append, store=store)
    return summary, records, store


def attempts_of(store: Store, run_id: int) -> list[dict[str, Any]]:
    db = sqlite3.connect(store.path)
    db.row_factory = sqlite3.Row
    rows = db.execute("SELECT * FROM attempts WHERE run_id=? ORDER BY id", (run_id,)).fetchall()
    db.close()
    return [dict(r) for r in rows]


def last_user(body: dict[str, Any]) -> str:
    return str([m for m in body["messages"] if m["role"] == "user"][-1]["content"])


# -- transport retries ---------------------------------------------------------------------------


def test_429_retry_after_is_honoured_at_the_server(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.enqueue(Fault("rate_limit", retry_after_s=0.25))
        summary, records, store = run(srv, make_articles(1), tmp_path)
        reqs = chat(srv)
    assert [r.status for r in reqs] == [429, 200]
    assert reqs[1].t - reqs[0].t >= 0.25  # the gap the server saw, not a client clock
    (rec,) = records
    assert (rec.status, rec.attempts) == ("ok", 2)
    rows = attempts_of(store, summary.run_id)
    assert [(a["purpose"], a["status_code"], a["outcome"]) for a in rows] == [
        ("first", 429, "rate_limited"),
        ("retry", 200, "ok"),
    ]


def test_429_pauses_every_sender_not_only_the_one_that_got_it(tmp_path: Path) -> None:
    with FakeOpenAIServer(ServerConfig(latency_s=0.1)) as srv:
        srv.add_rule(None, Fault("rate_limit", retry_after_s=0.5), indices=[6])
        _, records, _ = run(srv, make_articles(12), tmp_path, concurrency=4)
        reqs = chat(srv)
    assert all(r.status == "ok" for r in records)
    limited = next(r for r in reqs if r.status == 429)
    # after the 429 reached the client, nobody sent anything for retry-after: what arrived
    # meanwhile are at most the other three senders' requests already on their way
    soon = [r for r in reqs if limited.t < r.t < limited.t + 0.45]
    assert len(soon) <= 3
    retried = next(r for r in reqs if r.t > limited.t and r.body == limited.body)
    assert retried.t - limited.t >= 0.5


@pytest.mark.parametrize("fault", ["server_error", "unavailable", "timeout_408", "conflict_409"])
def test_5xx_408_409_are_retried(fault: str, tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.enqueue(fault, fault)
        summary, records, store = run(srv, make_articles(1), tmp_path)
        reqs = chat(srv)
    assert len(reqs) == 3
    assert records[0].status == "ok" and records[0].attempts == 3
    assert reqs[0].body == reqs[1].body == reqs[2].body  # a transport retry resends as is
    assert [a["purpose"] for a in attempts_of(store, summary.run_id)] == [
        "first",
        "retry",
        "retry",
    ]


def test_hang_past_the_timeout_is_retried(tmp_path: Path) -> None:
    with FakeOpenAIServer(ServerConfig(hang_s=5)) as srv:
        srv.enqueue("hang")
        summary, records, store = run(srv, make_articles(1), tmp_path, timeout=0.3)
        assert len(chat(srv)) == 2
    assert records[0].status == "ok"
    rows = attempts_of(store, summary.run_id)
    assert [(a["status_code"], a["outcome"]) for a in rows] == [(None, "timeout"), (200, "ok")]


def test_persistent_hang_ends_as_timeout_within_max_attempts(tmp_path: Path) -> None:
    with FakeOpenAIServer(ServerConfig(hang_s=5)) as srv:
        srv.add_rule(None, "hang")
        summary, records, _ = run(srv, make_articles(1), tmp_path, timeout=0.2, max_attempts=3)
        assert len(chat(srv)) == 3
    (rec,) = records
    assert rec.status == "failed" and rec.error is not None
    assert rec.error["kind"] == "timeout" and rec.attempts == 3
    assert summary.stopped is None  # a slow server is not an unreachable one


def test_dropped_connection_is_retried(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.enqueue("drop")
        summary, records, store = run(srv, make_articles(1), tmp_path)
        assert len(chat(srv)) == 2
    assert records[0].status == "ok"
    first = attempts_of(store, summary.run_id)[0]
    assert (first["outcome"], first["status_code"]) == ("http_error", None)
    assert "dropped" in first["error"]


@pytest.mark.parametrize("fault", ["server_error", "bad_request"])
def test_max_attempts_is_respected(fault: str, tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.add_rule(None, fault)
        _, records, _ = run(srv, make_articles(2), tmp_path, max_attempts=3)
        counts = per_article(chat(srv))
    # 500 is retried up to the budget; 400 is never retried
    assert set(counts.values()) == ({3} if fault == "server_error" else {1})
    assert all(r.error and r.error["kind"] == "http_error" for r in records)
    assert [r.attempts for r in records] == [3, 3] if fault == "server_error" else [1, 1]


# -- re-asks -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "expect"),
    [("malformed_json", "not valid JSON"), ("schema_invalid", "is a required property")],
)
def test_bad_answer_is_reasked_with_the_errors(fault: str, expect: str, tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.enqueue(fault)
        summary, records, store = run(srv, make_articles(1), tmp_path)
        first, second = (r.body for r in chat(srv))
    assert records[0].status == "ok" and records[0].attempts == 2
    assert expect in last_user(second)
    assistant = [m for m in second["messages"] if m["role"] == "assistant"]
    assert len(assistant) == 1 and assistant[0]["content"]  # the bad answer, sent back
    assert second["messages"][: len(first["messages"])] == first["messages"]
    rows = attempts_of(store, summary.run_id)
    assert [(a["purpose"], a["outcome"]) for a in rows] == [
        ("first", "schema_invalid"),
        ("reask", "ok"),
    ]
    assert rows[0]["raw_output"]  # the bad answer is kept


def test_reasks_are_bounded(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.add_rule(None, "schema_invalid")
        _, records, _ = run(srv, make_articles(1), tmp_path, max_reasks=2)
        assert len(chat(srv)) == 3  # the first answer and two re-asks
    (rec,) = records
    assert rec.error is not None and rec.error["kind"] == "schema_invalid"
    assert rec.error["last_output"]


def test_transport_error_between_reasks_adds_nothing_to_the_conversation(
    tmp_path: Path,
) -> None:
    with FakeOpenAIServer() as srv:
        srv.enqueue("schema_invalid", "server_error", "drop")
        _, records, _ = run(srv, make_articles(1), tmp_path)
        bodies = [r.body for r in chat(srv)]
    assert records[0].status == "ok" and len(bodies) == 4
    # the re-ask, then its two transport retries: the same body each time, one assistant turn
    assert bodies[1] == bodies[2] == bodies[3]
    assert [m["role"] for m in bodies[1]["messages"]] == ["system", "user", "assistant", "user"]


def test_transport_errors_alone_never_reask(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.enqueue("server_error", "drop", "rate_limit")
        summary, records, store = run(srv, make_articles(1), tmp_path)
        bodies = [r.body for r in chat(srv)]
    assert records[0].status == "ok"
    assert all(b == bodies[0] for b in bodies)
    assert "reask" not in {a["purpose"] for a in attempts_of(store, summary.run_id)}


# -- finish reasons ------------------------------------------------------------------------------


def test_truncated_then_a_bigger_budget(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.enqueue("truncated")
        _, records, _ = run(srv, make_articles(1), tmp_path)
        first, second = (r.body for r in chat(srv))
    assert records[0].status == "ok"
    assert second["max_tokens"] == 2 * first["max_tokens"]
    assert second["messages"] == first["messages"]  # a cut answer is not re-asked


def test_truncated_twice_is_truncated(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.add_rule(None, "truncated")
        _, records, _ = run(srv, make_articles(1), tmp_path)
        assert len(chat(srv)) == 2
    (rec,) = records
    assert rec.error is not None and rec.error["kind"] == "truncated"


@pytest.mark.parametrize("fault", ["refusal", "content_filter"])
def test_refusal_is_final_after_one_request(fault: str, tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.add_rule(None, fault)
        _, records, _ = run(srv, make_articles(1), tmp_path)
        assert len(chat(srv)) == 1
    (rec,) = records
    assert rec.error is not None and rec.error["kind"] == "refusal" and rec.attempts == 1


# -- structured-output fallbacks -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "modes"),
    [
        ({"reject_json_schema": True}, ["json_schema", "json_object"]),
        ({"reject_json_object": True}, ["json_schema", "json_object", None]),
        ({"reject_json_object": True, "error_style": "vllm"}, ["json_schema", "json_object", None]),
    ],
    ids=["no-json-schema", "no-json-mode", "no-json-mode-vllm-errors"],
)
def test_response_format_fallback_is_learnt_once_per_run(
    config: dict[str, Any], modes: list[str | None], tmp_path: Path
) -> None:
    n = 6
    with FakeOpenAIServer(ServerConfig(**config)) as srv:
        summary, records, store = run(srv, make_articles(n), tmp_path)
        reqs = chat(srv)
    working = modes[-1] or "prompt"
    assert all(r.status == "ok" and r.mode == working for r in records)
    # the first article found the working mode; every other article went straight to it
    assert len(reqs) == n + len(modes) - 1
    seen = [(r.body.get("response_format") or {}).get("type") for r in reqs]
    assert seen[: len(modes)] == modes
    assert set(seen[len(modes) :]) == {modes[-1]}
    rows = attempts_of(store, summary.run_id)
    assert [a["mode"] for a in rows[: len(modes)]] == [m or "prompt" for m in modes]
    assert {a["status_code"] for a in rows[: len(modes) - 1]} == {400}
    if working == "prompt":  # the schema travels in the prompt instead
        assert "JSON Schema" in reqs[-1].body["messages"][0]["content"]


# -- whole-run stops -----------------------------------------------------------------------------


def test_401_mid_run_stops_at_once_and_a_later_run_resumes(tmp_path: Path) -> None:
    n, ok_first, concurrency = 14, 5, 4
    with FakeOpenAIServer(ServerConfig(latency_s=0.05)) as srv:
        srv.add_rule(None, "unauthorized", indices=range(ok_first, 10_000))
        summary, records, store = run(srv, make_articles(n), tmp_path, concurrency=concurrency)
        reqs = chat(srv)
        counts = per_article(reqs)
        # no retry storm: every article asked at most once, only what was in flight then
        assert max(counts.values()) == 1
        assert ok_first < len(reqs) <= ok_first + concurrency
        assert Counter(r.status for r in reqs)[200] == ok_first
        assert [r.article_id for r in records] == [a.id for a in make_articles(n)]
        kinds = Counter(r.error["kind"] if r.error else "ok" for r in records)
        assert kinds == {"ok": ok_first, "auth": n - ok_first}
        assert summary.stopped is not None and "401" in summary.stopped
        # every request the server saw is stored as an attempt
        rows = attempts_of(store, summary.run_id)
        assert len(rows) >= len(reqs)
        assert {a["outcome"] for a in rows} <= {"ok", "auth"}
        store.close()

        srv.clear_faults()
        srv.stats.reset()
        summary2, records2, _ = run(srv, make_articles(n), tmp_path, concurrency=concurrency)
        again = per_article(chat(srv))
    assert summary2.ok == n and summary2.cached == ok_first
    assert sum(again.values()) == n - ok_first and max(again.values()) == 1
    done_before = {marker_of(r) for r in records if r.status == "ok"}
    assert not done_before & set(again)


def marker_of(record: Record) -> str:
    i = int(record.source.split("/")[-1].split(".")[0])
    return f"ART-{i:03d}"


def test_insufficient_quota_stops_the_run(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        srv.add_rule(None, "insufficient_quota")
        summary, records, _ = run(srv, make_articles(9), tmp_path, concurrency=3)
        assert len(chat(srv)) <= 3  # never retried, nothing sent after the stop
    assert all(r.error and r.error["kind"] == "rate_limited" for r in records)
    assert summary.stopped is not None and "quota" in summary.stopped


def test_same_article_twice_in_one_run_is_asked_once(tmp_path: Path) -> None:
    arts = make_articles(3)
    twin = replace(arts[0], source="gen/twin.txt")
    with FakeOpenAIServer(ServerConfig(latency_s=0.05)) as srv:
        _, records, _ = run(srv, [arts[0], twin, arts[1], arts[2]], tmp_path)
        assert len(chat(srv)) == 3
    assert [r.source for r in records] == [
        "gen/000.txt",
        "gen/twin.txt",
        "gen/001.txt",
        "gen/002.txt",
    ]
    assert records[1].cached and records[1].summary == records[0].summary


# -- pacing --------------------------------------------------------------------------------------


def test_pacing_from_the_servers_headers_avoids_429s(tmp_path: Path) -> None:
    # a strict server: 1200 RPM with only one second of burst (20 requests); no --rpm given
    with FakeOpenAIServer(ServerConfig(rpm=1200, burst_window_s=1.0)) as srv:
        _, records, _ = run(srv, make_articles(40), tmp_path, concurrency=16)
        reqs = chat(srv)
    assert all(r.status == "ok" for r in records)
    assert srv.stats.rate_limited <= 1
    span = reqs[-1].t - reqs[0].t
    assert span >= (len(reqs) - 21) / 20  # never faster than the limit beyond the burst


def test_user_rpm_spaces_requests_from_the_start(tmp_path: Path) -> None:
    with FakeOpenAIServer() as srv:
        run(srv, make_articles(8), tmp_path, concurrency=8, rpm=600)
        t = [r.t for r in chat(srv)]
    # 600 RPM at 98% is one request every ~0.102 s. A late send (a busy machine) can shorten the
    # gap after it, never the schedule: request i goes no earlier than i gaps after the first
    # (less a little slack), and no two go together, as a burst at t=0 would.
    gaps = [b - a for a, b in zip(t, t[1:], strict=False)]
    assert min(gaps) >= 0.04, gaps
    assert all(ti - t[0] >= i * 0.1 - 0.03 for i, ti in enumerate(t)), gaps


# -- the command line ----------------------------------------------------------------------------


def cli(*args: str, env_extra: dict[str, str] | None = None, **kw: Any) -> subprocess.Popen[str]:
    env = {**os.environ, "OPENAI_API_KEY": KEY, **(env_extra or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "run", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def write_jsonl(path: Path, n: int) -> list[Article]:
    arts = make_articles(n)
    with path.open("w") as f:
        for a in arts:
            f.write(json.dumps({"title": a.title, "text": a.text}) + "\n")
    return arts


def test_cli_refused_connection_is_one_line_naming_the_url(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    write_jsonl(tmp_path / "in.jsonl", 5)
    p = cli(
        str(tmp_path / "in.jsonl"),
        "--base-url",
        url,
        "--db",
        str(tmp_path / "s.db"),
        "--out",
        str(tmp_path / "out.jsonl"),
        "--max-attempts",
        "2",
        "-q",
    )
    _, err = p.communicate(timeout=60)
    assert p.returncode == 2  # stopped by the endpoint: exit 2 (DESIGN.md, exit status)
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if url in ln]
    assert len(lines) == 1 and "cannot connect" in lines[0] and "--base-url" in lines[0]
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert len(out) == 5 and {r["error"]["kind"] for r in out} == {"http_error"}


def test_cli_insufficient_quota_exits_2_and_resumes(tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    arts = write_jsonl(src, 6)
    args = [str(src), "--db", str(tmp_path / "s.db"), "--out", str(tmp_path / "out.jsonl")]
    with FakeOpenAIServer() as srv:
        srv.add_rule(None, "insufficient_quota")
        p = cli(*args, "--base-url", srv.base_url, "--concurrency", "2", "-q")
        _, err = p.communicate(timeout=60)
        assert p.returncode == 2, err
        assert "quota" in err and "Traceback" not in err
        assert len(chat(srv)) <= 2
        out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
        assert [r["error"]["kind"] for r in out] == ["rate_limited"] * 6

        srv.clear_faults()
        srv.stats.reset()
        p = cli(*args, "--base-url", srv.base_url, "-q")
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        assert len(chat(srv)) == 6
    out = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["article_id"] for r in out] == [a.id for a in arts]
    assert all(r["status"] == "ok" for r in out)


def test_kill_9_mid_run_then_the_same_command_finishes_the_batch(tmp_path: Path) -> None:
    n = 40
    src = tmp_path / "in.jsonl"
    arts = write_jsonl(src, n)
    db = tmp_path / "s.db"
    out = tmp_path / "out.jsonl"
    with FakeOpenAIServer(ServerConfig(latency_s=0.1)) as srv:
        args = [str(src), "--db", str(db), "--out", str(out), "--base-url", srv.base_url]
        args += ["--concurrency", "4", "-q"]
        p = cli(*args, start_new_session=True)
        deadline = time.monotonic() + 30
        committed = 0
        while committed < 10 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.02)
            committed = count_results(db)
        assert p.poll() is None, "the run ended before it could be killed"
        os.kill(p.pid, signal.SIGKILL)
        p.communicate(timeout=10)
        first = per_article(chat(srv))
        finished = finished_markers(db)
        assert 10 <= len(finished) < n

        srv.stats.reset()
        p = cli(*args)
        _, err = p.communicate(timeout=60)
        assert p.returncode == 0, err
        second = per_article(chat(srv))

    records = [json.loads(x) for x in out.read_text().splitlines()]
    assert [r["article_id"] for r in records] == [a.id for a in arts]  # all, once, in order
    assert all(r["status"] == "ok" for r in records)
    # nothing finished before the kill was asked again; everything else exactly once
    assert not finished & set(second)
    # (an answer that arrived before the kill but was not yet committed is served from the
    # journal, not asked again: asked 0 times now, once before)
    for i in range(n):
        art = f"ART-{i:03d}"
        if art not in finished:
            assert second[art] == 1 or (second[art] == 0 and first[art] == 1), art
    assert max(first.values()) == 1  # and nothing was asked twice before the kill
    cached = {f"ART-{i:03d}" for i, r in enumerate(records) if r["cached"]}
    assert cached == finished


def count_results(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        con = sqlite3.connect(db, timeout=1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM results").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def finished_markers(db: Path) -> set[str]:
    con = sqlite3.connect(db)
    rows = con.execute("SELECT record FROM results WHERE status='ok'").fetchall()
    con.close()
    out = set()
    for (raw,) in rows:
        rec = json.loads(raw)
        line = int(rec["source"].rsplit(":", 1)[1])
        out.add(f"ART-{line - 1:03d}")
    return out


# -- an independent server with its own fault mix ----------------------------------------------


class _MixHandler(http.server.BaseHTTPRequestHandler):
    """A minimal Chat Completions endpoint: answers with the built-in model, and before that
    draws a fault for each request from an RNG seeded by (seed, request body, how many times
    this body came): 429 with retry-after-ms, 500, a dropped connection, or a 200 whose JSON
    breaks the schema. Independent of pipeline.server."""

    protocol_version = "HTTP/1.1"
    server: _MixServer

    def log_message(self, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length)
        body = json.loads(raw)
        digest = hashlib.sha256(raw).hexdigest()
        with self.server.lock:
            seen = self.server.seen[digest]
            self.server.seen[digest] += 1
        draw = random.Random(f"{self.server.seed}:{digest}:{seen}").random()
        fault = "ok"
        for kind, p in self.server.mix:
            if draw < p:
                fault = kind
                break
            draw -= p
        with self.server.lock:
            self.server.faults[fault] += 1
        if fault == "drop":
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if fault == "429":
            self._send(
                429,
                {"error": {"message": "slow down", "type": "requests", "code": None}},
                {"retry-after-ms": "20", "retry-after": "1"},
            )
            return
        if fault == "500":
            self._send(500, {"error": {"message": "oops", "type": "server_error"}})
            return
        completion = builtin.chat_completion(body)
        if fault == "schema":
            data = json.loads(completion["choices"][0]["message"]["content"])
            data.pop("headline", None)
            data["key_points"] = "not a list"
            completion["choices"][0]["message"]["content"] = json.dumps(data)
        self._send(200, completion)

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


class _MixServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, seed: int, mix: list[tuple[str, float]]) -> None:
        super().__init__(("127.0.0.1", 0), _MixHandler)
        self.seed = seed
        self.mix = mix
        self.lock = threading.Lock()
        self.seen: Counter[str] = Counter()
        self.faults: Counter[str] = Counter()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"


@pytest.fixture
def mix_server() -> Iterator[_MixServer]:
    srv = _MixServer(seed=7, mix=[("429", 0.15), ("500", 0.1), ("drop", 0.1), ("schema", 0.1)])
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()


def test_an_independent_fault_server_gives_the_clean_runs_results(
    mix_server: _MixServer, tmp_path: Path
) -> None:
    items = list(iter_articles([str(REPO / "seeds")]))
    clean: list[Record] = []
    runner.run(
        items,
        runner.RunOptions(model="builtin", db=str(tmp_path / "clean.db"), settings=FAST),
        on_record=clean.append,
    )
    assert all(r.status == "ok" for r in clean)

    faulty: list[Record] = []
    summary = runner.run(
        items,
        runner.RunOptions(
            model="builtin",
            base_url=mix_server.base_url,
            db=str(tmp_path / "faulty.db"),
            settings=replace(FAST, max_attempts=8),
        ),
        on_record=faulty.append,
    )
    assert [r.source for r in faulty] == [r.source for r in clean]  # one each, in order
    assert summary.stopped is None
    for got, want in zip(faulty, clean, strict=True):
        if got.status == "ok":
            assert got.summary == want.summary
        else:  # only a kind these faults can cause, after the whole budget
            assert got.error is not None
            assert got.error["kind"] in ("rate_limited", "http_error", "schema_invalid")
            if got.error["kind"] == "schema_invalid":  # re-asks are bounded before the budget
                assert got.attempts <= 8
            else:  # a transport fault fails only when the whole budget is spent
                assert got.attempts == 8
    assert sum(r.status == "ok" for r in faulty) >= len(items) - 1
    assert all(mix_server.faults[k] > 0 for k in ("429", "500", "drop", "schema"))
