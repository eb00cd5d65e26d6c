"""The shared answer path, the journal, leases, bounded re-asks and the engine's events.

- An :class:`Answer` obtained elsewhere (a Batch API line, the journal) becomes a record
  exactly as a live answer does, with no HTTP request; re-asks still go live.
- Every 200 answer is journalled the moment it arrives: a run that dies before it checks the
  answer loses nothing, and the next run pays for nothing twice.
- Two runs on one store never ask the model for the same article twice (leases).
- A runaway answer is quoted in a re-ask, and kept in the store, only within a bound.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import pytest
from openai import AsyncOpenAI

from pipeline.articles import Article, article_id
from pipeline.client import Endpoint
from pipeline.engine import Answer, Event, RunSettings, Summariser, cache_key, run_live
from pipeline.engine._answer import QUOTE_LIMIT, STORE_LIMIT, clip, read_answer, usage_of
from pipeline.prompts import load_prompt
from pipeline.records import Record
from pipeline.schemas import load_schema
from pipeline.store import Store
from pipeline.store._journal import HOST, request_sha256

REPO = Path(__file__).resolve().parent.parent
BASE_URL = "http://model.test/v1"
SCHEMA = load_schema("summary.v1")
V2 = load_prompt("summarise@v2", REPO / "prompts")
VALID: dict[str, Any] = {
    "headline": "Rivers rise after storm",
    "summary": "Heavy rain raised rivers across the county on Monday, officials said.",
    "key_points": ["Rain fell all day."],
    "entities": [{"name": "County council", "type": "organisation"}],
    "figures": [{"value": "40mm", "measure": "rain in one day", "source": "the council"}],
    "quotes": [],
    "dates": [{"date": "Monday", "event": "the storm"}],
    "topics": ["weather"],
    "caveats": [],
}


def body(
    content: Any = VALID, *, finish: str = "stop", usage: dict[str, Any] | None = None
) -> dict[str, Any]:
    text = content if isinstance(content, str) or content is None else json.dumps(content)
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "test-model",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": None},
                "finish_reason": finish,
            }
        ],
        "usage": usage or {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


class Server:
    """Answers every request with ``reply(request body)``; counts and keeps the requests."""

    def __init__(self, reply: Any = None, *, gate: asyncio.Event | None = None) -> None:
        self.reply = reply or (lambda req: body())
        self.requests: list[dict[str, Any]] = []
        self.gate = gate

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        req = json.loads(request.content)
        self.requests.append(req)
        if self.gate is not None:
            await self.gate.wait()
        await asyncio.sleep(0)
        return httpx2.Response(200, json=self.reply(req))


def summariser(server: Server, events: list[Event] | None = None, **settings: Any) -> Summariser:
    client = AsyncOpenAI(
        base_url=BASE_URL,
        api_key="k",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
    )
    return Summariser(
        V2,
        Endpoint(model="test-model", base_url=BASE_URL, api_key="k"),
        client=client,
        settings=RunSettings(**{"backoff_initial_s": 0.0, "backoff_cap_s": 0.0, **settings}),
        scorer=lambda source, summary: {"faithfulness": 1.0, "unsupported": []},
        pricer=lambda model, attempt: (
            (0.5 if attempt.origin == "batch" else 1.0) * attempt.prompt_tokens / 1e6
        ),
        on_event=events.append if events is not None else None,
    )


def article(n: int = 0) -> Article:
    text = f"Heavy rain fell across the county on Monday. Report number {n} of the storm."
    return Article(id=article_id(text), source=f"in/{n}.txt", text=text, title=f"Title {n}")


def run(s: Summariser, items: list[Article], store: Store) -> list[Record]:
    async def go() -> list[Record]:
        run_id = store.start_run("run", prompt=s.prompt, model=s.endpoint.model)
        try:
            return [r async for r in run_live(items, s, store, run_id=run_id)]
        finally:
            await s.client.close()

    return asyncio.run(go())


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    st = Store(tmp_path / "s.db")
    yield st
    st.close()


# --- the answer path -----------------------------------------------------------------------------


def test_an_answer_from_elsewhere_becomes_a_record_without_a_request() -> None:
    server = Server()
    s = summariser(server)
    a = article()

    async def go() -> tuple[Record, Any]:
        try:
            return await s.summarise(a, answer=Answer(body(), latency_ms=7, batch_id="batch_1"))
        finally:
            await s.client.close()

    record, attempts = asyncio.run(go())
    assert server.requests == []
    assert (record.status, record.summary, record.batch_id, record.latency_ms) == (
        "ok",
        VALID,
        "batch_1",
        7,
    )
    assert record.checks == {"faithfulness": 1.0, "unsupported": []}
    assert [(x.purpose, x.origin, x.outcome) for x in attempts] == [("first", "batch", "ok")]
    assert record.cost_usd == pytest.approx(0.5 * 100 / 1e6)  # priced at the batch rate


def test_an_invalid_answer_from_elsewhere_is_reasked_live() -> None:
    server = Server()
    s = summariser(server)
    first = s.first_request(article())

    async def go() -> tuple[Record, Any]:
        try:
            bad = Answer(body({**VALID, "headline": "x"}), batch_id="batch_2")
            return await s.summarise(article(), answer=bad)
        finally:
            await s.client.close()

    record, attempts = asyncio.run(go())
    assert (record.status, record.batch_id, record.attempts) == ("ok", "batch_2", 2)
    assert [(x.origin, x.purpose, x.outcome) for x in attempts] == [
        ("batch", "first", "schema_invalid"),
        ("live", "reask", "ok"),
    ]
    (reask,) = server.requests
    assert reask["messages"][: len(first["messages"])] == first["messages"]
    assert "headline" in reask["messages"][-1]["content"]
    assert record.cost_usd == pytest.approx((0.5 * 100 + 100) / 1e6)


def test_first_request_is_what_the_live_run_sends(store: Store) -> None:
    server = Server()
    s = summariser(server)
    expected = s.first_request(article())
    run(s, [article()], store)
    assert server.requests == [expected]


@pytest.mark.parametrize(
    ("content", "finish", "outcome"),
    [
        (VALID, "stop", "ok"),
        ({**VALID, "headline": "x"}, "stop", "invalid"),
        ("not json", "stop", "invalid"),
        (None, "stop", "invalid"),
        (VALID, "length", "truncated"),
        (None, "content_filter", "refusal"),
    ],
)
def test_read_answer_outcomes(content: Any, finish: str, outcome: str) -> None:
    assert (
        read_answer(body(content, finish=finish), mode="json_schema", schema=SCHEMA).outcome
        == outcome
    )


def test_usage_reads_cached_and_reasoning_tokens() -> None:
    u = usage_of(
        {
            "usage": {
                "prompt_tokens": 1200,
                "completion_tokens": 900,
                "prompt_tokens_details": {"cached_tokens": 1024},
                "completion_tokens_details": {"reasoning_tokens": 640},
            }
        }
    )
    assert (u.prompt_tokens, u.completion_tokens, u.cached_tokens, u.reasoning_tokens) == (
        1200,
        900,
        1024,
        640,
    )
    assert usage_of({"usage": {"prompt_tokens": "x", "completion_tokens": None}}).prompt_tokens == 0


def test_reasoning_and_cached_tokens_reach_the_record_and_the_store(store: Store) -> None:
    usage = {
        "prompt_tokens": 1200,
        "completion_tokens": 900,
        "prompt_tokens_details": {"cached_tokens": 1024},
        "completion_tokens_details": {"reasoning_tokens": 640},
    }
    s = summariser(Server(lambda req: body(usage=usage)))
    (record,) = run(s, [article()], store)
    assert record.usage == {
        "prompt_tokens": 1200,
        "completion_tokens": 900,
        "cached_tokens": 1024,
        "reasoning_tokens": 640,
    }
    key = cache_key(article().id, V2, SCHEMA, "test-model")
    (row,) = store.attempts_for(key)
    assert (row["cached_tokens"], row["reasoning_tokens"], row["origin"]) == (1024, 640, "live")


# --- bounded sizes -------------------------------------------------------------------------------


def test_clip_keeps_head_tail_and_length() -> None:
    text = "a" * 50 + "b" * 50
    short = clip(text, 20)
    assert short is not None and short.startswith("a" * 10) and short.endswith("b" * 10)
    assert "100 characters" in short
    assert clip("small", 20) == "small" and clip(None, 20) is None


def test_a_runaway_invalid_answer_is_quoted_and_stored_within_bounds(store: Store) -> None:
    huge = "x" * 2_000_000  # 2 MB that is not JSON

    def reply(req: dict[str, Any]) -> dict[str, Any]:
        return body(huge)

    server = Server(reply)
    s = summariser(server, max_reasks=2)
    (record,) = run(s, [article()], store)
    assert record.status == "failed" and record.error is not None
    assert record.error["kind"] == "schema_invalid"
    assert len(server.requests) == 3
    for req in server.requests[1:]:  # every re-ask quotes the answer within the bound
        assert len(json.dumps(req)) < QUOTE_LIMIT + 10_000
    assert len(record.error["last_output"]) < STORE_LIMIT + 200
    key = cache_key(article().id, V2, SCHEMA, "test-model")
    assert all(len(row["raw_output"]) < STORE_LIMIT + 200 for row in store.attempts_for(key))
    assert "2,000,000 characters" in record.error["last_output"]


# --- the journal ---------------------------------------------------------------------------------


def test_answers_that_arrived_before_a_crash_are_not_paid_for_again(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    items = [article(n) for n in range(4)]
    # first run: every answer arrives, then the checks never finish (the process "dies")
    store = Store(db)
    server = Server()
    s = summariser(server)
    release = threading.Event()

    def stuck_scorer(source: str, summary: dict[str, Any]) -> dict[str, Any]:
        release.wait(10)  # the checks are still running when the process dies
        return {"faithfulness": 1.0, "unsupported": []}

    s.scorer = stuck_scorer

    async def first() -> None:
        run_id = store.start_run("run", prompt=s.prompt, model=s.endpoint.model)
        agen = run_live(items, s, store, run_id=run_id)
        task = asyncio.ensure_future(agen.__anext__())
        while len(server.requests) < len(items):
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)  # every answer has been read and handed to the checks
        task.cancel()  # the run dies with every answer in, none checked or committed
        await asyncio.gather(task, return_exceptions=True)
        release.set()
        await agen.aclose()
        await s.client.close()

    asyncio.run(first())
    assert store.count("results") == 0
    assert len(store.journal_hashes()) == len(items)
    store.close()

    # second run: served from the journal; no request at all
    store = Store(db)
    server2 = Server()
    records = run(summariser(server2), items, store)
    assert server2.requests == []
    assert [r.status for r in records] == ["ok"] * len(items)
    assert all(r.attempts == 1 for r in records)
    assert store.journal_hashes() == set()  # consumed with the results
    key = cache_key(items[0].id, V2, SCHEMA, "test-model")
    assert [row["origin"] for row in store.attempts_for(key)] == ["stored"]
    store.close()


def test_a_journalled_answer_is_keyed_by_the_request(store: Store) -> None:
    s = summariser(Server())
    req = s.first_request(article())
    other = s.first_request(article(1))
    store.save_answer("k", request_sha256(req), 200, json.dumps(body()), 5)
    assert store.journal_hashes() == {request_sha256(req)}
    assert request_sha256(other) != request_sha256(req)
    assert request_sha256(dict(reversed(list(req.items())))) == request_sha256(req)


# --- leases ------------------------------------------------------------------------------------


def test_two_runs_on_one_store_pay_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    items = [article(n) for n in range(6)]

    class Slow(Server):
        async def __call__(self, request: httpx2.Request) -> httpx2.Response:
            await asyncio.sleep(0.05)  # both runs are in the middle of the same articles
            return await super().__call__(request)

    server = Slow()
    events: list[Event] = []

    async def both() -> list[list[Record]]:
        stores = [Store(db), Store(db)]
        runs = [summariser(server, events), summariser(server, events)]

        async def one(s: Summariser, st: Store) -> list[Record]:
            run_id = st.start_run("run", prompt=s.prompt, model=s.endpoint.model)
            return [r async for r in run_live(items, s, st, run_id=run_id)]

        try:
            return list(
                await asyncio.gather(*(one(s, st) for s, st in zip(runs, stores, strict=True)))
            )
        finally:
            for s, st in zip(runs, stores, strict=True):
                await s.client.close()
                st.close()

    ra, rb = asyncio.run(both())
    assert len(server.requests) == len(items)  # each article asked once across both runs
    assert [r.status for r in ra + rb] == ["ok"] * (2 * len(items))
    assert [r.cached for r in ra + rb].count(True) == len(items)
    assert any("another run" in e.message for e in events)  # the second run waited on leases


def test_a_lease_of_a_dead_process_is_taken_at_once(store: Store) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = int(dead.stdout)
    store._db.execute(
        "INSERT INTO leases (cache_key, holder, host, pid, expires_at) VALUES (?,?,?,?,?)",
        ("k1", "someone-else", HOST, pid, 1e12),
    )
    assert store.claim("k1", "me")
    store._db.execute(
        "INSERT INTO leases (cache_key, holder, host, pid, expires_at) VALUES (?,?,?,?,?)",
        ("k2", "alive-elsewhere", HOST, os.getpid(), 1e12),
    )
    assert not store.claim("k2", "me")
    store._db.execute(
        "INSERT INTO leases (cache_key, holder, host, pid, expires_at) VALUES (?,?,?,?,?)",
        ("k3", "expired", "other-host", 1, 0.0),
    )
    assert store.claim("k3", "me")


def test_leases_are_released_when_a_run_ends(store: Store) -> None:
    s = summariser(Server())
    run(s, [article(n) for n in range(3)], store)
    assert store._db.execute("SELECT COUNT(*) FROM leases").fetchone()[0] == 0


# --- events ------------------------------------------------------------------------------------


def test_events_say_what_the_run_waits_on_and_adapts(store: Store) -> None:
    events: list[Event] = []
    calls = {"n": 0}

    def reply(req: dict[str, Any]) -> dict[str, Any]:
        return body()

    class Scripted(Server):
        async def __call__(self, request: httpx2.Request) -> httpx2.Response:
            calls["n"] += 1
            req = json.loads(request.content)
            self.requests.append(req)
            if "response_format" in req and req["response_format"]["type"] == "json_schema":
                return httpx2.Response(
                    400,
                    json={
                        "error": {
                            "message": "response_format json_schema is not supported",
                            "param": "response_format",
                        }
                    },
                )
            if calls["n"] == 2:
                return httpx2.Response(503, json={"error": {"message": "busy"}})
            return httpx2.Response(200, json=reply(req))

    s = summariser(Scripted(), events)
    run(s, [article()], store)
    kinds = [e.kind for e in events]
    assert "adapted" in kinds and "retrying" in kinds
    adapted = next(e for e in events if e.kind == "adapted")
    assert "json_object" in adapted.message
