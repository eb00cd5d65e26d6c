"""The fault-injecting OpenAI-compatible server, driven through the real openai SDK."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from pipeline.server import (
    FAULT_KINDS,
    FakeOpenAIServer,
    Fault,
    ResponderError,
    ServerConfig,
    ServerProcess,
    format_duration,
    memoize,
    stub_responder,
)

SCHEMA = {
    "type": "object",
    "properties": {
        "headline": {"type": "string"},
        "key_points": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["headline", "key_points"],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {"name": "summary", "strict": True, "schema": SCHEMA},
}
MSGS = [{"role": "user", "content": "Summarise this article about rivers and rain."}]


def responder(body: dict[str, Any]) -> dict[str, Any]:
    """A fixed answer that fits SCHEMA; refuses a user message saying REFUSE-400."""
    text = body["messages"][-1]["content"]
    if "REFUSE-400" in text:
        raise ResponderError("bad article", param="messages", code="bad_article")
    content = json.dumps({"headline": "Rivers rise", "key_points": ["rain fell", "rivers rose"]})
    return {
        "id": "chatcmpl-test",
        "object": "chat.completion",
        "created": 1,
        "model": body["model"],
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 12, "total_tokens": 22},
    }


def make(config: ServerConfig | None = None, **kw: Any) -> FakeOpenAIServer:
    return FakeOpenAIServer(config, responder=kw.pop("responder", responder), **kw)


@pytest.fixture
def srv() -> Iterator[FakeOpenAIServer]:
    with make() as s:
        yield s


def client(srv: FakeOpenAIServer, **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=srv.base_url, api_key="test-key", max_retries=0, **kw)


def ask(c: openai.OpenAI, content: str = MSGS[0]["content"], **kw: Any) -> Any:
    kw.setdefault("response_format", JSON_SCHEMA_FORMAT)
    return c.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": content}], **kw
    )


HTTP = httpx2.Client(timeout=5)  # one client: building one per call loads CA certs each time


def raw_post(srv: FakeOpenAIServer, body: Any, **kw: Any) -> httpx2.Response:
    return HTTP.post(srv.base_url + "/chat/completions", json=body, **kw)


def test_normal_completion_parses_in_the_sdk(srv: FakeOpenAIServer) -> None:
    r = ask(client(srv))
    assert r.choices[0].finish_reason == "stop"
    assert json.loads(r.choices[0].message.content or "")["headline"] == "Rivers rise"
    assert r.usage is not None and r.usage.total_tokens == 22
    parsed = client(srv).chat.completions.parse(
        model="gpt-4o", messages=MSGS, response_format=JSON_SCHEMA_FORMAT
    )
    assert parsed.choices[0].message.content is not None


ERROR_FAULTS = [
    # kind, status, SDK exception, error type, error code
    ("rate_limit", 429, openai.RateLimitError, "requests", "rate_limit_exceeded"),
    ("insufficient_quota", 429, openai.RateLimitError, "insufficient_quota", "insufficient_quota"),
    ("server_error", 500, openai.InternalServerError, "server_error", None),
    ("unavailable", 503, openai.InternalServerError, "server_error", None),
    ("unauthorized", 401, openai.AuthenticationError, "invalid_request_error", "invalid_api_key"),
    ("forbidden", 403, openai.PermissionDeniedError, "invalid_request_error", None),
    ("bad_request", 400, openai.BadRequestError, "invalid_request_error", None),
    ("not_found", 404, openai.NotFoundError, "invalid_request_error", "model_not_found"),
    ("timeout_408", 408, openai.APIStatusError, "timeout", None),
    ("conflict_409", 409, openai.ConflictError, "invalid_request_error", "conflict"),
    ("unsupported_response_format", 400, openai.BadRequestError, "invalid_request_error", None),
]


@pytest.mark.parametrize(("kind", "status", "exc", "type_", "code"), ERROR_FAULTS)
def test_error_faults(
    srv: FakeOpenAIServer, kind: str, status: int, exc: type[Exception], type_: str, code: Any
) -> None:
    srv.enqueue(kind)
    with pytest.raises(exc) as info:
        ask(client(srv))
    err = info.value
    assert isinstance(err, openai.APIStatusError)
    assert err.status_code == status
    assert isinstance(err.body, dict) and set(err.body) == {"message", "type", "param", "code"}
    assert err.body["type"] == type_
    if code is not None:
        assert err.body["code"] == code
    assert err.response.headers["x-ratelimit-limit-requests"]
    assert ask(client(srv)).choices[0].finish_reason == "stop", "one fault, one request"
    assert srv.stats.by_fault == {kind: 1}
    assert srv.stats.by_status == {status: 1, 200: 1}


def test_error_body_is_openai_format_exactly(srv: FakeOpenAIServer) -> None:
    srv.enqueue("rate_limit")
    r = raw_post(srv, {"model": "gpt-4o", "messages": MSGS})
    assert r.status_code == 429
    assert list(r.json()) == ["error"]
    err = r.json()["error"]
    assert list(err) == ["message", "type", "param", "code"]
    assert err["message"].startswith("Rate limit reached for gpt-4o in organization org-")
    assert "on requests per min (RPM)" in err["message"]
    assert "Please try again in 100ms." in err["message"]
    assert r.headers["retry-after-ms"] == "100" and r.headers["retry-after"] == "1"
    assert r.headers["content-type"] == "application/json"
    assert int(r.headers["content-length"]) == len(r.content)


def test_rate_limit_fault_retry_after_is_configurable(srv: FakeOpenAIServer) -> None:
    srv.enqueue(Fault("rate_limit", retry_after_s=2.5), Fault("rate_limit", retry_after_s=None))
    r = raw_post(srv, {"model": "m", "messages": MSGS})
    assert (r.headers["retry-after"], r.headers["retry-after-ms"]) == ("3", "2500")
    r = raw_post(srv, {"model": "m", "messages": MSGS})
    assert r.status_code == 429 and "retry-after" not in r.headers
    srv.enqueue(Fault("unavailable", retry_after_s=0.25))
    assert raw_post(srv, {"model": "m", "messages": MSGS}).headers["retry-after-ms"] == "250"


def test_drop_is_a_connection_error(srv: FakeOpenAIServer) -> None:
    srv.enqueue("drop")
    with pytest.raises(openai.APIConnectionError) as info:
        ask(client(srv))
    assert not isinstance(info.value, openai.APITimeoutError)
    assert srv.stats.by_fault["drop"] == 1 and srv.stats.by_status == {}


def test_hang_times_out_and_stop_does_not_wait_for_it() -> None:
    srv = make(ServerConfig(hang_s=3600)).start()
    srv.enqueue("hang")
    with pytest.raises(openai.APITimeoutError):
        ask(client(srv, timeout=0.2))
    thread = srv._thread
    assert thread is not None
    srv.stop()  # joins the server's thread for at most 10 s; the hang would last an hour
    assert not thread.is_alive(), "stop() cancels a hang instead of waiting for it"
    assert srv.stats.by_fault["hang"] == 1


def test_slow_answers_after_the_delay() -> None:
    with make() as srv:
        srv.enqueue(Fault("slow", hang_s=3600))
        c = client(srv, timeout=0.2)
        with pytest.raises(openai.APITimeoutError):  # no answer before the delay is over
            ask(c)
        assert srv.stats.in_flight == 1 and srv.stats.by_status == {}
        srv.enqueue(Fault("slow", hang_s=0.01))
        assert ask(client(srv)).choices[0].finish_reason == "stop"  # ... and one after it
        assert srv.stats.by_fault["slow"] == 1 and srv.stats.by_status == {200: 1}


def _content(srv: FakeOpenAIServer, kind: str) -> Any:
    srv.enqueue(kind)
    return ask(client(srv), max_tokens=50).choices[0]


def test_malformed_json(srv: FakeOpenAIServer) -> None:
    choice = _content(srv, "malformed_json")
    assert choice.finish_reason == "stop"
    with pytest.raises(ValueError):
        json.loads(choice.message.content)


def test_fenced_json(srv: FakeOpenAIServer) -> None:
    content = _content(srv, "fenced_json").message.content
    assert content.startswith("```json\n") and json.loads(content[8:-4])["headline"]


def test_schema_invalid_drops_a_required_field_and_breaks_a_type(srv: FakeOpenAIServer) -> None:
    data = json.loads(_content(srv, "schema_invalid").message.content)
    assert "headline" not in data
    assert data["key_points"] == "not-the-right-type"


def test_truncated(srv: FakeOpenAIServer) -> None:
    srv.enqueue("truncated")
    r = ask(client(srv), max_tokens=50)
    assert r.choices[0].finish_reason == "length"
    assert r.usage.completion_tokens == 50
    with pytest.raises(ValueError):
        json.loads(r.choices[0].message.content)
    srv.enqueue("truncated")
    with pytest.raises(openai.LengthFinishReasonError):
        client(srv).chat.completions.parse(
            model="gpt-4o", messages=MSGS, response_format=JSON_SCHEMA_FORMAT
        )


def test_refusal(srv: FakeOpenAIServer) -> None:
    msg = _content(srv, "refusal").message
    assert msg.content is None and msg.refusal.startswith("I'm sorry")


def test_content_filter(srv: FakeOpenAIServer) -> None:
    choice = _content(srv, "content_filter")
    assert choice.finish_reason == "content_filter" and choice.message.content is None


def test_every_fault_kind_is_known() -> None:
    assert set(FAULT_KINDS) >= {k for k, *_ in ERROR_FAULTS} | {"hang", "drop", "refusal"}
    with pytest.raises(ValueError, match="unknown fault"):
        Fault("explode")
    with pytest.raises(ValueError, match="more than 1"):
        ServerConfig(fault_rate={"drop": 0.6, "hang": 0.6})


def test_rate_limit_headers_are_plausible() -> None:
    with make(ServerConfig(rpm=500, tpm=30_000)) as srv:
        r = raw_post(srv, {"model": "m", "messages": MSGS, "max_tokens": 100})
        h = r.headers
        assert (h["x-ratelimit-limit-requests"], h["x-ratelimit-limit-tokens"]) == ("500", "30000")
        assert h["x-ratelimit-remaining-requests"] == "499"
        tokens = -(-len(MSGS[0]["content"]) // 4) + 100
        assert int(h["x-ratelimit-remaining-tokens"]) == 30_000 - tokens
        assert h["x-ratelimit-reset-requests"].endswith("ms")  # 60s/500 = 120ms to refill one
        assert h["x-ratelimit-reset-tokens"].endswith(("ms", "s"))
        assert h["x-request-id"].startswith("req_")
        assert int(h["openai-processing-ms"]) >= 0
        models = HTTP.get(srv.base_url + "/models")
        assert models.headers["x-ratelimit-remaining-requests"] == "499"
        assert srv.stats.records()[-2].tokens == tokens


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (0.12, "120ms"), (1, "1s"), (17.28, "17.28s"), (90.5, "1m30.5s"), (360, "6m0s")],
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_rpm_limit_gives_429_with_retry_after_then_recovers() -> None:
    # 600 RPM = 10/s; a 0.2 s burst window holds 2 requests.
    with make(ServerConfig(rpm=600, burst_window_s=0.2)) as srv:
        c = client(srv)
        ask(c)
        ask(c)
        with pytest.raises(openai.RateLimitError) as info:
            ask(c)
        err = info.value
        assert err.body["type"] == "requests" and err.body["code"] == "rate_limit_exceeded"
        assert "Limit 600" in err.body["message"]
        wait_ms = int(err.response.headers["retry-after-ms"])
        assert 0 < wait_ms <= 100 and err.response.headers["retry-after"] == "1"
        time.sleep(wait_ms / 1000 + 0.01)
        ask(c)
        assert srv.stats.rate_limited == 1 and srv.stats.by_status == {200: 3, 429: 1}
        assert srv.stats.by_fault == {}, "limiter 429s are not injected faults"


def test_tpm_counts_prompt_characters_and_max_tokens() -> None:
    # 6000 TPM = 100 tokens/s; a 1 s window holds 100 tokens.
    with make(ServerConfig(tpm=6000, burst_window_s=1.0)) as srv:
        c = client(srv)
        ask(c, "x" * 200, max_tokens=30)  # 50 + 30 = 80 tokens
        assert srv.stats.tokens == 80
        with pytest.raises(openai.RateLimitError) as info:
            ask(c, "x" * 200, max_completion_tokens=30)
        assert info.value.body["type"] == "tokens" and "(TPM)" in info.value.body["message"]
        assert "Requested 80" in info.value.body["message"]
        assert 0 < int(info.value.response.headers["retry-after-ms"]) <= 600
        with pytest.raises(openai.RateLimitError) as too_large:
            ask(c, "x" * 800)  # 200 tokens never fit in a 100-token bucket
        assert too_large.value.body["message"].startswith("Request too large for gpt-4o")
        assert "retry-after" not in too_large.value.response.headers


def test_burst_window_default_allows_a_full_minute() -> None:
    with make(ServerConfig(rpm=5)) as srv:
        c = client(srv)
        for _ in range(5):
            ask(c)
        with pytest.raises(openai.RateLimitError) as info:
            ask(c)
        assert 9_000 <= int(info.value.response.headers["retry-after-ms"]) <= 12_000


def test_canary_headers_on_every_response() -> None:
    canaries = {
        "openai-organization": "org-CANARY0000",
        "openai-project": "proj_CANARY",
        "set-cookie": "__cf_bm=CANARY; path=/; HttpOnly",
    }
    with make(ServerConfig(canary_headers=canaries, rpm=1)) as srv:
        ok = raw_post(srv, {"model": "m", "messages": MSGS})
        limited = raw_post(srv, {"model": "m", "messages": MSGS})
        models = HTTP.get(srv.base_url + "/models")
        for r in (ok, limited, models):
            assert r.headers["openai-organization"] == "org-CANARY0000"
            assert r.headers["openai-project"] == "proj_CANARY"
            assert "CANARY" in r.headers["set-cookie"]
        assert limited.status_code == 429
        assert "org-CANARY0000" in limited.json()["error"]["message"]


def test_require_api_key() -> None:
    with make(ServerConfig(require_api_key="sk-right-key-123456")) as srv:
        with pytest.raises(openai.AuthenticationError) as info:
            ask(client(srv))
        assert info.value.body["code"] == "invalid_api_key"
        assert "test-key" not in info.value.body["message"]  # masked like OpenAI's
        right = openai.OpenAI(base_url=srv.base_url, api_key="sk-right-key-123456", max_retries=0)
        assert ask(right).choices[0].finish_reason == "stop"
        r = raw_post(srv, {"model": "m", "messages": MSGS})
        assert r.status_code == 401 and "didn't provide an API key" in r.json()["error"]["message"]
        assert srv.stats.by_status == {401: 2, 200: 1}


def test_reject_json_schema_accepts_json_object_and_plain() -> None:
    with make(ServerConfig(reject_json_schema=True)) as srv:
        c = client(srv)
        with pytest.raises(openai.BadRequestError) as info:
            ask(c)
        assert info.value.body["param"] == "response_format"
        assert "'response_format' of type 'json_schema'" in info.value.body["message"]
        assert ask(c, response_format={"type": "json_object"}).choices[0].message.content
        assert ask(c, response_format=openai.omit).choices[0].message.content


def test_reject_json_object_rejects_both_json_modes() -> None:
    with make(ServerConfig(reject_json_object=True, error_style="vllm")) as srv:
        c = client(srv)
        for rf in (JSON_SCHEMA_FORMAT, {"type": "json_object"}):
            with pytest.raises(openai.BadRequestError) as info:
                ask(c, response_format=rf)
            assert info.value.body["object"] == "error" and info.value.body["code"] == 400
            assert "response_format" in info.value.body["message"]
        assert ask(c, response_format=openai.omit).choices[0].message.content


def test_stream_is_refused_with_an_openai_error(srv: FakeOpenAIServer) -> None:
    r = raw_post(srv, {"model": "m", "messages": MSGS, "stream": True})
    assert r.status_code == 400
    assert (
        r.json()["error"]["param"] == "stream" and "not supported" in r.json()["error"]["message"]
    )


def test_responder_error_and_crash_become_openai_errors(srv: FakeOpenAIServer) -> None:
    with pytest.raises(openai.BadRequestError) as info:
        ask(client(srv), "REFUSE-400 please")
    assert info.value.body == {
        "message": "bad article",
        "type": "invalid_request_error",
        "param": "messages",
        "code": "bad_article",
    }
    with make(responder=lambda body: 1 / 0) as broken:  # type: ignore[arg-type,return-value]
        with pytest.raises(openai.InternalServerError):
            ask(client(broken))
        assert broken.stats.responder_errors == 1


def test_queue_then_rules_then_random(srv: FakeOpenAIServer) -> None:
    c = client(srv)
    srv.add_rule("MARKER-7", "server_error", times=2)
    srv.add_rule(None, "unavailable", indices=[5])
    srv.enqueue("ok", "refusal")
    assert ask(c, "MARKER-7").choices[0].finish_reason == "stop"  # "ok" beats the rule
    assert ask(c, "MARKER-7").choices[0].message.refusal
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            ask(c, "text with MARKER-7 inside")
    assert ask(c, "MARKER-7").choices[0].finish_reason == "stop", "times=2 used up"
    with pytest.raises(openai.InternalServerError) as info:
        ask(c)  # chat index 5
    assert info.value.status_code == 503
    assert srv.stats.by_fault == {"refusal": 1, "server_error": 2, "unavailable": 1}


def test_random_mix_is_seeded() -> None:
    def statuses(seed: int) -> list[int]:
        cfg = ServerConfig(seed=seed, fault_rate={"server_error": 0.3, "rate_limit": 0.2})
        with make(cfg) as srv:
            return [raw_post(srv, {"model": "m", "messages": MSGS}).status_code for _ in range(30)]

    first = statuses(1)
    assert first == statuses(1)
    assert {200, 429, 500} <= set(first)


def test_stats_record_bodies_headers_and_arrivals(srv: FakeOpenAIServer) -> None:
    c = client(srv)
    for i in range(3):
        ask(c, f"article {i}")
    assert [b["messages"][0]["content"] for b in srv.stats.bodies()] == [
        "article 0",
        "article 1",
        "article 2",
    ]
    rec = srv.stats.records()[0]
    assert rec.headers["authorization"] == "Bearer test-key"
    assert rec.path == "/v1/chat/completions" and rec.status == 200
    offsets = srv.stats.arrival_offsets()
    assert offsets[0] == 0 and offsets == sorted(offsets)
    assert srv.stats.connections == 1, "the SDK's keep-alive connection is reused"
    snap = srv.stats.snapshot()
    assert snap["total"] == 3 and snap["by_status"] == {"200": 3}


def test_latency_and_concurrency_high_water_mark() -> None:
    # Eight requests that each wait an hour are all in flight at once: the server waits for
    # them concurrently (counted, not timed: a busy machine cannot make this flaky).
    srv = make(ServerConfig(latency_s=3600)).start()
    c = client(srv, timeout=120)
    errors: list[BaseException] = []

    def send() -> None:
        try:
            ask(c)
        except openai.APIError as e:
            errors.append(e)

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    deadline = 600  # polls of 0.05 s: a liveness bound, not a measured duration
    while srv.stats.in_flight < 8 and deadline:
        deadline -= 1
        time.sleep(0.05)
    assert srv.stats.in_flight == 8 and srv.stats.max_in_flight == 8
    srv.stop()  # cancels the eight waits: each client sees its connection dropped
    for t in threads:
        t.join(60)
    assert len(errors) == 8 and srv.stats.by_status == {}


def test_jitter_is_deterministic() -> None:
    def delays() -> list[float]:
        with make(ServerConfig(jitter_s=0.05, seed=3)) as srv:
            return [srv._latency_rng.uniform(0, 0.05) for _ in range(3)]

    assert delays() == delays()


def test_paths_without_v1_models_and_unknown_urls(srv: FakeOpenAIServer) -> None:
    root = srv.base_url.removesuffix("/v1")
    r = HTTP.post(root + "/chat/completions", json={"model": "m", "messages": MSGS})
    assert r.status_code == 200
    assert [m.id for m in client(srv).models.list()] == ["builtin"]
    r = HTTP.get(root + "/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["message"] == "Invalid URL (GET /v1/nope)"
    r = HTTP.post(srv.base_url + "/chat/completions", content=b"{not json")
    assert r.status_code == 400 and "could not parse the JSON body" in r.json()["error"]["message"]


def test_admin_endpoints_drive_the_server_over_http(srv: FakeOpenAIServer) -> None:
    root = srv.base_url.removesuffix("/v1")
    assert HTTP.post(root + "/_fake/faults", json={"enqueue": ["server_error"]}).json() == {
        "queued": 1
    }
    assert raw_post(srv, {"model": "m", "messages": MSGS}).status_code == 500
    stats = HTTP.get(root + "/_fake/stats").json()
    assert stats["by_status"] == {"500": 1} and stats["by_fault"] == {"server_error": 1}
    HTTP.post(root + "/_fake/reset")
    assert srv.stats.total == 0


def test_stub_responder_fills_the_requested_schema() -> None:
    body = {"model": "m", "messages": MSGS, "response_format": JSON_SCHEMA_FORMAT}
    data = json.loads(stub_responder(body)["choices"][0]["message"]["content"])
    assert set(data) == {"headline", "key_points"} and data["key_points"]


def test_default_responder_is_the_builtin_model() -> None:
    pytest.importorskip("pipeline.builtin")
    article = (
        "Title: Floods\n<article>\nHeavy rain fell on Monday. "
        "The river rose by two metres.\n</article>"
    )
    with FakeOpenAIServer() as srv:
        r = ask(client(srv), article, response_format=openai.omit)
        assert r.model == "builtin" and r.choices[0].message.content
        r = raw_post(srv, {"model": "m", "messages": [{"role": "system", "content": "x"}]})
        assert r.status_code == 400 and r.json()["error"]["param"] == "messages"


def test_command_line_server_in_a_child_process() -> None:
    args = ("--stub", "--rpm", "100", "--enqueue", "unavailable")
    with ServerProcess(*args, "--canary-header", "openai-project: proj_CANARY") as proc:
        assert proc.base_url.startswith("http://127.0.0.1:")
        body = {"model": "m", "messages": MSGS}
        r = HTTP.post(proc.base_url + "/chat/completions", json=body)
        assert r.status_code == 503 and r.headers["openai-project"] == "proj_CANARY"
        proc.enqueue("rate_limit")
        assert HTTP.post(proc.base_url + "/chat/completions", json=body).status_code == 429
        r = HTTP.post(proc.base_url + "/chat/completions", json=body)
        assert r.status_code == 200 and r.headers["x-ratelimit-limit-requests"] == "100"
        assert proc.stats()["by_status"] == {"200": 1, "429": 1, "503": 1}
    final = proc.stop() or {}
    assert proc.returncode == 0
    assert final["total"] == 3 and final["by_fault"] == {"rate_limit": 1, "unavailable": 1}


def test_command_line_rejects_bad_fault_names() -> None:
    from pipeline.server import main

    assert main(["--fault-rate", "explode=0.5"]) == 2


def test_memoize_answers_repeats_from_the_cache() -> None:
    calls: list[str] = []

    def counting(body: dict[str, Any]) -> dict[str, Any]:
        calls.append(body["messages"][-1]["content"])
        return responder(body)

    with make(responder=memoize(counting)) as srv:
        c = client(srv)
        for _ in range(3):
            ask(c, "same article")
        srv.enqueue("refusal")
        assert ask(c, "same article").choices[0].message.refusal
        assert ask(c, "same article").choices[0].message.content, "a fault never poisons it"
        assert calls == ["same article"]


def test_restart_after_stop() -> None:
    srv = make().start()
    srv.stop()
    srv.start()
    try:
        assert ask(client(srv)).choices[0].finish_reason == "stop"
    finally:
        srv.stop()
