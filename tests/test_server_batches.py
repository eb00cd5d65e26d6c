"""The fake server's Files and Batch APIs, driven through the real openai SDK
(``client.files``, ``client.batches``) on a frozen, hand-advanced simulated clock."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest

from pipeline.server import BatchConfig, FakeOpenAIServer, ServerConfig, stub_responder

URL = "/v1/chat/completions"


def line(cid: str, text: str = "hello", **body: Any) -> str:
    payload = {"model": "m", "messages": [{"role": "user", "content": text}], **body}
    return json.dumps({"custom_id": cid, "method": "POST", "url": URL, "body": payload})


def jsonl(*lines: str) -> io.BytesIO:
    return io.BytesIO(("\n".join(lines) + "\n").encode())


@pytest.fixture
def server() -> Iterator[FakeOpenAIServer]:
    # time_scale 0: the simulated clock moves only when a test advances it
    cfg = ServerConfig(batch=BatchConfig(time_scale=0.0, request_s=1.0))
    with FakeOpenAIServer(cfg, responder=stub_responder) as srv:
        yield srv


@pytest.fixture
def client(server: FakeOpenAIServer) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base_url, api_key="test", max_retries=0)


def submit(client: openai.OpenAI, *lines: str, **kw: Any) -> Any:
    f = client.files.create(file=("in.jsonl", jsonl(*lines), "application/jsonl"), purpose="batch")
    return client.batches.create(input_file_id=f.id, endpoint=URL, completion_window="24h", **kw)


def rows(client: openai.OpenAI, file_id: str | None) -> list[dict[str, Any]]:
    assert file_id is not None
    return [json.loads(x) for x in client.files.content(file_id).text.splitlines() if x]


def test_a_batch_goes_through_every_status_to_completed(server, client) -> None:
    b = submit(client, line("a", "one"), line("b", "two"), line("c", "three"), metadata={"k": "v"})
    assert (b.status, b.metadata, b.request_counts.total) == ("validating", {"k": "v"}, 0)
    assert b.expires_at == b.created_at + 86_400
    seen = [b.status]
    for _ in range(8):
        server.batches.advance_clock(1.0)
        b = client.batches.retrieve(b.id)
        seen.append(f"{b.status}:{b.request_counts.completed}/{b.request_counts.total}")
    assert seen == [
        "validating",
        "validating:0/0",
        "in_progress:0/3",
        "in_progress:1/3",
        "in_progress:2/3",
        "finalizing:3/3",
        "finalizing:3/3",
        "completed:3/3",
        "completed:3/3",
    ]
    assert b.output_file_id and b.error_file_id is None
    assert b.usage is not None and b.usage.input_tokens > 0
    out = rows(client, b.output_file_id)
    assert [r["custom_id"] for r in out] == ["a", "b", "c"]
    assert all(r["response"]["status_code"] == 200 and r["error"] is None for r in out)
    assert out[0]["response"]["body"]["object"] == "chat.completion"
    assert client.files.retrieve(b.output_file_id).purpose == "batch_output"


@pytest.mark.parametrize(
    ("lines", "code", "line_no"),
    [
        ([line("a"), line("a")], "duplicate_custom_id", 2),
        ([line("a"), "{not json"], "invalid_json_line", 2),
        (
            [json.dumps({"custom_id": "a", "method": "POST", "url": URL})],
            "missing_required_parameter",
            1,
        ),
        ([line("a").replace(URL, "/v1/embeddings")], "invalid_url", 1),
        ([line("a"), line("b", stream=True)], "streaming_unsupported", 2),
    ],
)
def test_a_bad_input_file_fails_the_batch_at_validation(server, client, lines, code, line_no):
    b = submit(client, *lines)
    server.batches.advance_clock(2.0)
    b = client.batches.retrieve(b.id)
    assert b.status == "failed" and b.failed_at is not None
    assert b.errors is not None and b.errors.data
    assert (b.errors.data[0].code, b.errors.data[0].line) == (code, line_no)
    assert b.output_file_id is None and b.error_file_id is None


def test_size_limits_fail_the_batch_with_the_limit_in_the_message() -> None:
    cfg = ServerConfig(batch=BatchConfig(time_scale=0.0, max_requests=2, enqueued_token_limit=10))
    with FakeOpenAIServer(cfg, responder=stub_responder) as srv:
        c = openai.OpenAI(base_url=srv.base_url, api_key="test", max_retries=0)
        many = submit(c, line("a"), line("b"), line("c"))
        big = submit(c, line("x", "word " * 40))
        srv.batches.advance_clock(2.0)
        e1 = c.batches.retrieve(many.id).errors.data[0]
        e2 = c.batches.retrieve(big.id).errors.data[0]
    assert e1.code == "too_many_tasks" and "at most 2 requests" in e1.message
    assert e2.code == "token_limit_exceeded"
    assert "Limit: 10 enqueued tokens" in e2.message


def test_the_enqueued_token_limit_counts_batches_in_progress(server, client) -> None:
    server.config.batch.enqueued_token_limit = 6
    first = submit(client, line("a", "x" * 20))  # 5 tokens
    server.batches.advance_clock(2.0)
    assert client.batches.retrieve(first.id).status == "in_progress"
    second = submit(client, line("b", "y" * 20))
    server.batches.advance_clock(2.0)
    b = client.batches.retrieve(second.id)
    assert b.status == "failed" and b.errors.data[0].code == "token_limit_exceeded"
    server.batches.advance_clock(10.0)  # the first one ends: room again
    third = submit(client, line("c", "z" * 20))
    server.batches.advance_clock(2.0)
    assert client.batches.retrieve(third.id).status != "failed"


def test_an_expired_batch_keeps_its_answers_and_lists_the_rest_as_batch_expired(server, client):
    server.batches.next_batch(expire_after=2)
    b = submit(client, *(line(c) for c in "abcd"))
    server.batches.advance_clock(10.0)
    b = client.batches.retrieve(b.id)
    assert b.status == "expired" and b.expired_at is not None
    assert [r["custom_id"] for r in rows(client, b.output_file_id)] == ["a", "b"]
    errs = rows(client, b.error_file_id)
    assert [r["custom_id"] for r in errs] == ["c", "d"]
    assert {r["error"]["code"] for r in errs} == {"batch_expired"}
    assert all(r["response"] is None for r in errs)


def test_a_batch_expires_when_its_window_closes(server, client) -> None:
    server.config.batch.request_s = 50_000.0
    b = submit(client, line("a"), line("b"), line("c"))
    server.batches.advance_clock(86_401.0)
    b = client.batches.retrieve(b.id)
    assert b.status == "expired"
    assert len(rows(client, b.output_file_id)) == 1  # one answered in the window
    assert len(rows(client, b.error_file_id)) == 2


def test_cancelling_then_cancelled(server, client) -> None:
    b = submit(client, *(line(c) for c in "abcd"))
    server.batches.advance_clock(3.0)  # validated, one answered
    b = client.batches.cancel(b.id)
    assert b.status == "cancelling" and b.cancelling_at is not None
    server.batches.advance_clock(2.0)
    b = client.batches.retrieve(b.id)
    assert b.status == "cancelled"
    assert [r["custom_id"] for r in rows(client, b.output_file_id)] == ["a"]
    assert {r["error"]["code"] for r in rows(client, b.error_file_id)} == {"batch_cancelled"}
    with pytest.raises(openai.BadRequestError, match="Cannot cancel"):
        done = submit(client, line("z"))
        server.batches.advance_clock(10.0)
        client.batches.cancel(done.id)


def test_list_is_paginated_newest_first(server, client) -> None:
    ids = [submit(client, line("a")).id for _ in range(5)]
    page = client.batches.list(limit=2)
    assert [b.id for b in page.data] == ids[::-1][:2] and page.has_more
    assert [b.id for b in client.batches.list(limit=2)] == ids[::-1]  # the SDK pages on


def test_row_faults_land_in_the_right_file(server, client) -> None:
    server.add_rule("FAIL-500", "server_error")
    server.add_rule("BREAK-IT", "schema_invalid")
    server.add_rule("HANG-ME", "hang")
    server.add_rule("REFUSE", "bad_request")
    b = submit(
        client,
        line("ok", "fine"),
        line("e500", "FAIL-500"),
        line("bad", "BREAK-IT"),
        line("hang", "HANG-ME"),
        line("400", "REFUSE"),
    )
    server.batches.advance_clock(20.0)
    b = client.batches.retrieve(b.id)
    assert b.status == "completed"
    assert (b.request_counts.completed, b.request_counts.failed) == (2, 3)
    out = {r["custom_id"]: r for r in rows(client, b.output_file_id)}
    err = {r["custom_id"]: r for r in rows(client, b.error_file_id)}
    assert set(out) == {"ok", "bad"} and set(err) == {"e500", "hang", "400"}
    assert err["e500"]["response"]["status_code"] == 500
    assert err["e500"]["response"]["body"]["error"]["type"] == "server_error"
    assert err["400"]["response"]["status_code"] == 400
    assert err["hang"]["response"] is None and err["hang"]["error"]["code"] == "request_timeout"
    assert (
        out["bad"]["response"]["body"]["choices"][0]["message"]["content"]
        != (out["ok"]["response"]["body"]["choices"][0]["message"]["content"])
    )


def test_api_faults_rate_limit_truncate_and_short(server, client) -> None:
    b = submit(client, *(line(c) for c in "abcdef"))
    server.batches.advance_clock(20.0)
    server.batches.inject("GET", "/batches/*", "rate_limit", retry_after_s=2)
    with pytest.raises(openai.RateLimitError) as info:
        client.batches.retrieve(b.id)
    assert info.value.response.headers["retry-after"] == "2"
    out = client.batches.retrieve(b.id).output_file_id
    server.batches.inject("GET", "/files/*/content", "truncate")
    with pytest.raises(httpx2.HTTPError), client.files.with_streaming_response.content(out) as r:
        list(r.iter_lines())
    server.batches.inject("GET", "/files/*/content", "short")
    assert len(rows(client, out)) == 3
    assert len(rows(client, out)) == 6  # the fault was for one call only


def test_uploads_are_checked_for_batch_format_and_size() -> None:
    cfg = ServerConfig(batch=BatchConfig(time_scale=0.0, max_file_bytes=100))
    with FakeOpenAIServer(cfg, responder=stub_responder) as srv:
        c = openai.OpenAI(base_url=srv.base_url, api_key="test", max_retries=0)
        with pytest.raises(openai.BadRequestError) as big:
            c.files.create(file=("in.jsonl", jsonl(line("a"), line("b")), "x"), purpose="batch")
        with pytest.raises(openai.BadRequestError) as fmt:
            c.files.create(file=("in.csv", io.BytesIO(b"a,b\n"), "text/csv"), purpose="batch")
        with pytest.raises(openai.BadRequestError, match="does not exist"):
            c.batches.create(input_file_id="file-nope", endpoint=URL, completion_window="24h")
        other = c.files.create(
            file=("notes.txt", io.BytesIO(b"hi"), "text/plain"), purpose="user_data"
        )
        with pytest.raises(openai.BadRequestError, match="purpose 'batch'"):
            c.batches.create(input_file_id=other.id, endpoint=URL, completion_window="24h")
    assert big.value.body["code"] == "file_too_large"
    assert "at most 100 bytes" in big.value.body["message"]
    assert fmt.value.body["code"] == "invalid_file_format"


def test_a_server_without_a_batch_api_answers_404() -> None:
    cfg = ServerConfig(batch=BatchConfig(enabled=False))
    with FakeOpenAIServer(cfg, responder=stub_responder) as srv:
        c = openai.OpenAI(base_url=srv.base_url, api_key="test", max_retries=0)
        with pytest.raises(openai.NotFoundError):
            c.files.create(file=("in.jsonl", jsonl(line("a")), "x"), purpose="batch")
        with pytest.raises(openai.NotFoundError):
            c.batches.list()
        # the chat endpoint still answers
        assert c.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])


def test_time_is_compressed_by_the_scale() -> None:
    cfg = ServerConfig(batch=BatchConfig(time_scale=3600.0))  # an hour a second
    with FakeOpenAIServer(cfg, responder=stub_responder) as srv:
        c = openai.OpenAI(base_url=srv.base_url, api_key="test", max_retries=0)
        b = submit(c, line("a"))
        deadline = time.monotonic() + 30
        while b.status != "completed" and time.monotonic() < deadline:
            time.sleep(0.01)
            b = c.batches.retrieve(b.id)
    assert b.status == "completed"


def test_the_command_line_server_turns_the_batch_api_off_or_speeds_it_up() -> None:
    from pipeline.server import ServerProcess

    with ServerProcess("--stub", "--no-batch-api") as off:
        c = openai.OpenAI(base_url=off.base_url, api_key="test", max_retries=0)
        with pytest.raises(openai.NotFoundError):
            c.batches.list()
    with ServerProcess("--stub", "--batch-time-scale", "3600") as fast:
        c = openai.OpenAI(base_url=fast.base_url, api_key="test", max_retries=0)
        b = submit(c, line("a"))
        deadline = time.monotonic() + 30
        while b.status != "completed" and time.monotonic() < deadline:
            time.sleep(0.01)
            b = c.batches.retrieve(b.id)
    assert b.status == "completed"
