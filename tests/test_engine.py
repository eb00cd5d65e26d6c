"""The engine against scripted servers: re-asks, fallbacks, retries, stops, caching, order.

Every test hands the Summariser an ``AsyncOpenAI`` client on an ``httpx2.MockTransport`` whose
handler (:class:`Server`) answers from a script and keeps every request body it saw.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx2
import pytest
from openai import AsyncOpenAI

from pipeline.articles import Article, BadInput, article_id
from pipeline.client import Endpoint
from pipeline.engine import RunSettings, Summariser, cache_key, extract_json, run_live
from pipeline.prompts import Prompt, load_prompt
from pipeline.records import Record
from pipeline.schemas import load_schema
from pipeline.store import Attempt, Store

REPO = Path(__file__).resolve().parent.parent
BASE_URL = "http://model.test/v1"
SCHEMA = load_schema("summary.v1")
V1 = load_prompt("summarise@v1", REPO / "prompts")
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
INVALID: dict[str, Any] = {**VALID, "headline": "x"}  # minLength 5


# --- the scripted server -----------------------------------------------------------------------

Reply = httpx2.Response | Exception | Callable[[dict[str, Any]], httpx2.Response]


class Server:
    """Answers requests with the scripted replies in order; the last one repeats."""

    def __init__(self, *replies: Reply) -> None:
        assert replies
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        await asyncio.sleep(0)  # let other articles run meanwhile, as a real server would
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx2.Response):
            return reply
        return reply(body)


def answer(
    content: Any = VALID,
    *,
    finish: str = "stop",
    refusal: str | None = None,
    pt: int = 100,
    ct: int = 20,
) -> httpx2.Response:
    text = content if isinstance(content, str) or content is None else json.dumps(content)
    return httpx2.Response(
        200,
        json={
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 1,
            "model": "test-model",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text, "refusal": refusal},
                    "finish_reason": finish,
                }
            ],
            "usage": {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct},
        },
    )


def error(
    status: int,
    message: str = "something went wrong",
    *,
    param: str | None = None,
    code: str | None = None,
    etype: str = "invalid_request_error",
    headers: dict[str, str] | None = None,
) -> httpx2.Response:
    return httpx2.Response(
        status,
        json={"error": {"message": message, "type": etype, "param": param, "code": code}},
        headers=headers,
    )


def summariser(
    server: Server,
    *,
    prompt: Prompt = V2,
    model: str = "test-model",
    **settings: Any,
) -> Summariser:
    client = AsyncOpenAI(
        base_url=BASE_URL,
        api_key="k",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(server)),
    )
    s = Summariser(
        prompt,
        Endpoint(model=model, base_url=BASE_URL, api_key="k"),
        client=client,
        settings=RunSettings(**{"backoff_initial_s": 0.0, "backoff_cap_s": 0.0, **settings}),
        scorer=lambda source, summary: {"faithfulness": 1.0, "unsupported": []},
        pricer=lambda model, attempt: None,
    )
    return s


def article(text: str = "Heavy rain fell across the county on Monday.", n: int = 0) -> Article:
    return Article(id=article_id(text), source=f"in/{n}.txt", text=text, title=f"Title {n}")


def summarise(s: Summariser, a: Article | None = None) -> tuple[Record, list[Attempt]]:
    async def go() -> tuple[Record, list[Attempt]]:
        try:
            return await s.summarise(a or article())
        finally:
            await s.client.close()

    return asyncio.run(go())


def run(s: Summariser, items: Iterable[Article | BadInput], store: Store) -> list[Record]:
    async def go() -> list[Record]:
        run_id = store.start_run("run", prompt=s.prompt, model=s.endpoint.model)
        try:
            return [r async for r in run_live(items, s, store, run_id=run_id)]
        finally:
            await s.client.close()

    return asyncio.run(go())


@pytest.fixture
def store(tmp_path: Path) -> Iterable[Store]:
    st = Store(tmp_path / "engine.db")
    yield st
    st.close()


def last_user(body: dict[str, Any]) -> str:
    return str([m for m in body["messages"] if m["role"] == "user"][-1]["content"])


# --- one article -------------------------------------------------------------------------------


def test_valid_first_answer() -> None:
    server = Server(answer(pt=120, ct=30))
    record, attempts = summarise(server_s := summariser(server))
    assert (record.status, record.attempts, record.error) == ("ok", 1, None)
    assert record.summary == VALID
    assert record.mode == "json_schema"
    assert record.usage == {"prompt_tokens": 120, "completion_tokens": 30}
    assert record.checks == {"faithfulness": 1.0, "unsupported": []}
    assert (record.prompt, record.prompt_version, record.prompt_sha256) == (
        "summarise",
        "v2",
        V2.sha256,
    )
    assert (record.schema, record.model, record.cached) == ("summary.v1", "test-model", False)
    assert [(a.n, a.purpose, a.mode, a.status_code, a.outcome) for a in attempts] == [
        (1, "first", "json_schema", 200, "ok")
    ]
    assert server_s.mode == "json_schema"

    (body,) = server.requests
    assert body["model"] == "test-model"
    assert body["max_tokens"] == V2.max_output_tokens
    assert body["temperature"] == 0
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "summary_v1", "schema": SCHEMA.strict, "strict": True},
    }
    assert [m["role"] for m in body["messages"]] == ["system", "user"]
    assert body["messages"][0]["content"] == V2.system
    assert "<article>\nHeavy rain fell across the county on Monday.\n</article>" in last_user(body)


def test_the_scorer_sees_the_title_and_its_time_is_not_latency(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # simulated time: the engine's clock moves only when the scorer "works" for 10 s
    clock = {"now": 1000.0}
    monkeypatch.setattr(
        "pipeline.engine._summariser.time", SimpleNamespace(perf_counter=lambda: clock["now"])
    )
    seen: list[str] = []

    def slow_scorer(source: str, summary: Any) -> dict[str, Any]:
        seen.append(source)
        clock["now"] += 10.0  # a check far slower than the mocked model call
        return {"faithfulness": 0.5, "unsupported": []}

    s = summariser(Server(answer()))
    s.scorer = slow_scorer
    record, _ = summarise(s)
    assert seen == ["Title 0\n\nHeavy rain fell across the county on Monday."]
    assert record.checks == {"faithfulness": 0.5, "unsupported": []}
    assert clock["now"] == 1010.0 and record.latency_ms == 0


def test_schema_invalid_then_valid_is_reasked_with_the_errors() -> None:
    bad = json.dumps(INVALID)
    server = Server(answer(bad, pt=100, ct=20), answer(VALID, pt=130, ct=25))
    record, attempts = summarise(summariser(server))
    assert (record.status, record.attempts, record.summary) == ("ok", 2, VALID)
    assert [(a.purpose, a.outcome) for a in attempts] == [
        ("first", "schema_invalid"),
        ("reask", "ok"),
    ]
    assert attempts[0].raw_output == bad
    assert "headline: 'x' is too short" in (attempts[0].error or "")
    assert record.usage == {"prompt_tokens": 230, "completion_tokens": 45}

    first, second = server.requests
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][2] == {"role": "assistant", "content": bad}
    feedback = second["messages"][3]
    assert feedback["role"] == "user"
    assert "did not match the required JSON schema" in feedback["content"]
    assert "- headline: 'x' is too short" in feedback["content"]
    assert second["response_format"] == first["response_format"]


@pytest.mark.parametrize("max_reasks", [0, 1, 2, 3])
def test_invalid_every_time_fails_schema_invalid_keeping_the_last_output(max_reasks: int) -> None:
    replies = [answer({**INVALID, "headline": "x" * (i + 1)}) for i in range(max_reasks + 1)]
    server = Server(*replies)
    record, attempts = summarise(summariser(server, max_reasks=max_reasks))
    assert record.status == "failed" and record.summary is None
    assert record.error is not None and record.error["kind"] == "schema_invalid"
    assert f"after {max_reasks} re-ask(s)" in record.error["message"]
    assert "headline" in record.error["message"]
    assert record.error["last_output"] == json.dumps(
        {**INVALID, "headline": "x" * (max_reasks + 1)}
    )
    assert record.attempts == len(server.requests) == 1 + max_reasks
    assert record.usage["prompt_tokens"] == 100 * (1 + max_reasks)


@pytest.mark.parametrize(
    "content",
    ["Sure! Here is the summary.", "", '{"headline": "trunc', "[1, 2, 3]", "null"],
    ids=["prose", "empty", "broken", "array", "null"],
)
def test_an_answer_that_is_not_a_json_object_is_reasked(content: str) -> None:
    server = Server(answer(content), answer(VALID))
    record, attempts = summarise(summariser(server))
    assert (record.status, record.attempts) == ("ok", 2)
    assert attempts[0].outcome == "schema_invalid"
    assert attempts[0].raw_output == content
    feedback = last_user(server.requests[1])
    assert "(root)" in feedback


def test_missing_content_is_reasked() -> None:
    server = Server(answer(None), answer(VALID))
    record, _ = summarise(summariser(server))
    assert (record.status, record.attempts) == ("ok", 2)
    assert "not valid JSON" in last_user(server.requests[1])


def test_length_gets_one_retry_with_double_budget_then_truncated() -> None:
    cut = '{"headline": "Rivers rise after st'
    server = Server(answer(cut, finish="length"), answer(cut + "orm", finish="length"))
    record, attempts = summarise(summariser(server))
    assert record.status == "failed"
    assert record.error is not None and record.error["kind"] == "truncated"
    assert record.error["last_output"] == cut + "orm"
    assert f"max_tokens={2 * V2.max_output_tokens}" in record.error["message"]
    assert [r["max_tokens"] for r in server.requests] == [2500, 5000]
    assert [(a.purpose, a.outcome) for a in attempts] == [
        ("first", "truncated"),
        ("budget", "truncated"),
    ]
    assert record.usage["completion_tokens"] == 40


def test_length_then_complete_is_ok() -> None:
    server = Server(answer('{"headline"', finish="length"), answer(VALID))
    record, _ = summarise(summariser(server))
    assert (record.status, record.attempts) == ("ok", 2)
    assert [r["max_tokens"] for r in server.requests] == [2500, 5000]
    # the bigger budget is a fresh ask, not a re-ask: no conversation is carried over
    assert len(server.requests[1]["messages"]) == 2


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (answer(None, refusal="I can't help with that."), "I can't help with that."),
        (answer(None, finish="content_filter"), "content filter"),
    ],
    ids=["refusal", "content_filter"],
)
def test_refusal_is_not_retried(reply: httpx2.Response, message: str) -> None:
    server = Server(reply, answer(VALID))
    record, attempts = summarise(summariser(server))
    assert record.status == "failed"
    assert record.error is not None and record.error["kind"] == "refusal"
    assert message in record.error["message"]
    assert len(server.requests) == record.attempts == 1
    assert attempts[0].outcome == "refusal"


# --- structured-output fallbacks ---------------------------------------------------------------

REJECTIONS = [
    error(400, "response_format json_schema is not supported", param="response_format"),
    error(400, "Invalid parameter: 'response_format' of type 'json_schema' is not supported."),
    error(422, "this server has no structured output support"),
]


def _json_object_reply(body: dict[str, Any]) -> httpx2.Response:
    return answer(VALID)


@pytest.mark.parametrize("rejection", REJECTIONS, ids=["param", "message", "422"])
def test_json_schema_rejected_falls_back_to_json_object_and_remembers(
    rejection: httpx2.Response, store: Store
) -> None:
    server = Server(rejection, answer(VALID), answer(VALID))
    s = summariser(server, concurrency=1)
    records = run(s, [article("First article text here.", 0), article("Second one.", 1)], store)
    assert [r.status for r in records] == ["ok", "ok"]
    assert [r.mode for r in records] == ["json_object", "json_object"]
    assert [r.attempts for r in records] == [2, 1]
    assert s.mode == "json_object"

    first, fallback, second_article = server.requests
    assert first["response_format"]["type"] == "json_schema"
    for body in (fallback, second_article):
        assert body["response_format"] == {"type": "json_object"}
        system = body["messages"][0]["content"]
        assert system.startswith(V2.system)
        assert json.dumps(SCHEMA.strict, ensure_ascii=False) in system
    attempts = store.attempts_for(cache_key(records[0].article_id, V2, SCHEMA, "test-model"))
    assert [(a["purpose"], a["mode"], a["status_code"]) for a in attempts] == [
        ("first", "json_schema", rejection.status_code),
        ("fallback", "json_object", 200),
    ]


def test_json_object_rejected_too_falls_back_to_prompt_mode(store: Store) -> None:
    prose = "Here you go:\n```json\n" + json.dumps(VALID, indent=2) + "\n```\nAnything else?"
    server = Server(
        error(400, "response_format json_schema unsupported", param="response_format"),
        error(400, "response_format json_object unsupported", param="response_format"),
        answer(prose),
        answer("Sure. " + json.dumps(VALID) + " Hope that helps."),
    )
    s = summariser(server, concurrency=1)
    records = run(s, [article("First article text here.", 0), article("Second one.", 1)], store)
    assert [(r.status, r.mode, r.attempts) for r in records] == [
        ("ok", "prompt", 3),
        ("ok", "prompt", 1),
    ]
    assert records[0].summary == records[1].summary == VALID
    assert [b.get("response_format", {}).get("type") for b in server.requests] == [
        "json_schema",
        "json_object",
        None,
        None,
    ]
    assert (
        json.dumps(SCHEMA.strict, ensure_ascii=False)
        in server.requests[2]["messages"][0]["content"]
    )


def test_every_mode_rejected_fails_http_error() -> None:
    server = Server(error(400, "response_format is not supported", param="response_format"))
    record, _ = summarise(summariser(server))
    assert record.status == "failed"
    assert record.error is not None and record.error["kind"] == "http_error"
    assert "rejects every structured-output mode" in record.error["message"]
    assert len(server.requests) == 3


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        ('  \n{"a": 1}\n ', {"a": 1}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('Here:\n```\n{"a": [1, 2]}\n```\nDone.', {"a": [1, 2]}),
        ('Sure, {"a": {"b": "}"}} and more text {"c": 2}', {"a": {"b": "}"}}),
        ("[1, 2]", [1, 2]),
    ],
)
def test_extract_json(text: str, expected: Any) -> None:
    assert extract_json(text) == expected


@pytest.mark.parametrize("text", ["", "no json here", "{broken", "```json\n{nope\n```"])
def test_extract_json_without_json(text: str) -> None:
    with pytest.raises(ValueError):
        extract_json(text)


# --- transport failures ------------------------------------------------------------------------

TRANSIENT = [
    error(500, "boom", etype="server_error"),
    error(502, "bad gateway", etype="server_error"),
    error(503, "overloaded", etype="server_error"),
    error(429, "slow down", etype="requests", headers={"retry-after-ms": "5"}),
    error(408, "request timeout"),
    error(409, "conflict"),
    httpx2.ConnectError("connection refused"),
    httpx2.ReadTimeout("read timed out"),
]


@pytest.mark.parametrize(
    "failure",
    TRANSIENT,
    ids=["500", "502", "503", "429", "408", "409", "connect", "timeout"],
)
def test_transient_failure_then_ok(failure: Reply) -> None:
    server = Server(failure, answer(VALID))
    record, attempts = summarise(summariser(server))
    assert (record.status, record.summary) == ("ok", VALID)
    assert len(server.requests) == record.attempts == 2
    assert [a.purpose for a in attempts] == ["first", "retry"]
    assert attempts[0].raw_output is None
    assert attempts[1].outcome == "ok"
    assert server.requests[0] == server.requests[1]


def test_transient_failures_stop_at_max_attempts() -> None:
    server = Server(error(503, "overloaded", etype="server_error"))
    record, attempts = summarise(summariser(server, max_attempts=3))
    assert record.status == "failed"
    assert record.error is not None and record.error["kind"] == "http_error"
    assert "HTTP 503" in record.error["message"]
    assert len(server.requests) == record.attempts == 3
    assert {a.status_code for a in attempts} == {503}


@pytest.mark.parametrize(
    ("reply", "kind", "fragment"),
    [
        (error(400, "bad request"), "http_error", "HTTP 400: bad request"),
        (error(422, "unprocessable"), "http_error", "HTTP 422"),
        (error(404, "no such route"), "http_error", "check --model and --base-url"),
        (
            error(400, "maximum context length exceeded", code="context_length_exceeded"),
            "too_long",
            "maximum context length",
        ),
    ],
    ids=["400", "422", "404", "context"],
)
def test_permanent_failure_is_not_retried(reply: httpx2.Response, kind: str, fragment: str) -> None:
    server = Server(reply, answer(VALID))
    record, attempts = summarise(summariser(server))
    assert record.status == "failed"
    assert record.error is not None and record.error["kind"] == kind
    assert fragment in record.error["message"]
    assert len(server.requests) == record.attempts == 1
    assert attempts[0].status_code == reply.status_code


@pytest.mark.parametrize(
    ("reply", "kind", "fragment"),
    [
        (error(401, "Incorrect API key provided"), "auth", "check OPENAI_API_KEY"),
        (error(403, "not allowed"), "auth", "check the key's permissions"),
        (
            error(429, "You exceeded your quota", code="insufficient_quota"),
            "rate_limited",
            "add credit or raise the quota",
        ),
        (
            error(404, "The model `nope` does not exist", code="model_not_found"),
            "http_error",
            "check --model",
        ),
    ],
    ids=["401", "403", "quota", "model"],
)
def test_run_wide_failure_stops_the_run(
    reply: httpx2.Response, kind: str, fragment: str, store: Store
) -> None:
    server = Server(reply, answer(VALID))
    s = summariser(server, concurrency=1)
    items = [article(f"Article number {i} about rain.", i) for i in range(4)]
    records = run(s, items, store)
    assert len(server.requests) == 1
    assert [r.source for r in records] == [a.source for a in items]
    assert all(r.status == "failed" for r in records)
    assert all(r.error is not None and r.error["kind"] == kind for r in records)
    first = records[0].error
    assert first is not None and fragment in first["message"]
    for r in records[1:]:
        assert r.error is not None
        assert r.error["message"].startswith("run stopped")
        assert fragment in r.error["message"]
    assert s.stop_reason is not None and s.stop_reason.kind == kind
    assert store.count("results") == 4


def test_usage_counts_every_attempt() -> None:
    server = Server(
        error(500, "boom", etype="server_error"),
        answer(json.dumps(INVALID), pt=100, ct=10),
        answer('{"cut', finish="length", pt=110, ct=2500),
        answer(VALID, pt=120, ct=30),
    )
    record, attempts = summarise(summariser(server))
    assert record.status == "ok"
    assert record.attempts == len(attempts) == 4
    assert record.usage == {"prompt_tokens": 330, "completion_tokens": 2540}
    assert [a.purpose for a in attempts] == ["first", "retry", "reask", "budget"]


# --- caching, order, one record per input ------------------------------------------------------


def test_second_run_is_served_from_the_store(store: Store) -> None:
    items = [article(f"Article number {i} about rain.", i) for i in range(3)]
    server = Server(answer(VALID))
    first = run(summariser(server), items, store)
    assert [r.cached for r in first] == [False] * 3
    assert len(server.requests) == 3

    again = Server(answer(VALID))
    second = run(summariser(again), items, store)
    assert again.requests == []
    assert [r.cached for r in second] == [True] * 3
    assert [r.status for r in second] == ["ok"] * 3
    assert [r.summary for r in second] == [r.summary for r in first]
    assert [r.article_id for r in second] == [r.article_id for r in first]


def test_force_asks_again(store: Store) -> None:
    items = [article(f"Article number {i} about rain.", i) for i in range(2)]
    run(summariser(Server(answer(VALID))), items, store)
    server = Server(answer(VALID))
    records = run(summariser(server, force=True), items, store)
    assert len(server.requests) == 2
    assert [r.cached for r in records] == [False, False]


@pytest.mark.parametrize("concurrency", [1, 8])
def test_same_text_twice_gives_two_records_the_second_cached(
    concurrency: int, store: Store
) -> None:
    text = "The same article, filed twice under two names."
    items = [
        Article(id=article_id(text), source="a.txt", text=text, title="A"),
        Article(id=article_id(text), source="b.txt", text=text, title="B"),
    ]
    server = Server(answer(VALID))
    records = run(summariser(server, concurrency=concurrency), items, store)
    assert len(server.requests) == 1
    assert [(r.source, r.title, r.cached) for r in records] == [
        ("a.txt", "A", False),
        ("b.txt", "B", True),
    ]
    assert records[0].article_id == records[1].article_id
    assert records[1].summary == records[0].summary


def test_same_text_twice_with_force_asks_once(store: Store) -> None:
    text = "The same article, filed twice under two names."
    items = [article(text, 0), article(text, 1)]
    run(summariser(Server(answer(VALID))), items, store)
    server = Server(answer(VALID))
    records = run(summariser(server, force=True), items, store)
    assert len(server.requests) == 1
    assert [r.cached for r in records] == [False, True]


@pytest.mark.parametrize(
    "change",
    [{"prompt": V1}, {"model": "other-model"}],
    ids=["prompt-hash", "model"],
)
def test_a_different_prompt_or_model_misses_the_cache(change: dict[str, Any], store: Store) -> None:
    items = [article("Article about rain.", 0)]
    run(summariser(Server(answer(VALID))), items, store)
    server = Server(answer(VALID))
    (record,) = run(summariser(server, **change), items, store)
    assert len(server.requests) == 1
    assert record.cached is False


def test_cache_key_covers_article_prompt_schema_model_and_parameters() -> None:
    base = cache_key("a1", V2, SCHEMA, "m")
    assert cache_key("a1", V2, SCHEMA, "m") == base
    other_params = replace(V2, parameters={**V2.parameters, "temperature": 0.5})
    assert len({
        base,
        cache_key("a2", V2, SCHEMA, "m"),
        cache_key("a1", V1, SCHEMA, "m"),
        cache_key("a1", V2, load_schema("judgement.v1"), "m"),
        cache_key("a1", V2, SCHEMA, "m2"),
        cache_key("a1", other_params, SCHEMA, "m"),
    }) == 6  # fmt: skip


def test_failed_results_are_not_reused(store: Store) -> None:
    items = [article("Article about rain.", 0)]
    (failed,) = run(summariser(Server(error(400, "bad request"))), items, store)
    assert failed.status == "failed"
    server = Server(answer(VALID))
    (record,) = run(summariser(server), items, store)
    assert len(server.requests) == 1
    assert (record.status, record.cached) == ("ok", False)


def test_every_input_yields_one_record_in_input_order(store: Store) -> None:
    def by_article(body: dict[str, Any]) -> httpx2.Response:
        text = last_user(body)
        if "refuse" in text:
            return answer(None, refusal="no")
        return answer(VALID)

    items: list[Article | BadInput] = []
    for i in range(12):
        if i % 4 == 1:
            items.append(BadInput(id=f"bad{i}", source=f"in/{i}.bin", message=f"in/{i}.bin: bad"))
        else:
            items.append(article(f"Article {i} about rain{' refuse' if i % 4 == 2 else ''}.", i))
    server = Server(by_article)
    records = run(summariser(server, concurrency=4), items, store)
    assert [r.source for r in records] == [i.source for i in items]
    expected = ["bad_input" if i % 4 == 1 else "refusal" if i % 4 == 2 else None for i in range(12)]
    assert [(r.error or {}).get("kind") for r in records] == expected
    bad = records[1]
    assert (bad.status, bad.summary, bad.article_id) == ("failed", None, "bad1")
    assert bad.error == {"kind": "bad_input", "message": "in/1.bin: bad", "last_output": None}
    assert len(server.requests) == 9
    assert store.count("results") == 12


def test_results_and_attempts_are_stored(store: Store) -> None:
    items = [article("Article about rain.", 0)]
    server = Server(answer(json.dumps(INVALID)), answer(VALID))
    (record,) = run(summariser(server), items, store)
    key = cache_key(record.article_id, V2, SCHEMA, "test-model")
    stored = store.cached(key)
    assert stored is not None and stored.summary == VALID and stored.attempts == 2
    attempts = store.attempts_for(key)
    assert [(a["n"], a["purpose"], a["outcome"]) for a in attempts] == [
        (1, "first", "schema_invalid"),
        (2, "reask", "ok"),
    ]
    assert attempts[0]["raw_output"] == json.dumps(INVALID)
