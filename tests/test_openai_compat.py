"""The client reads real OpenAI responses correctly.

``tests/data/openai/`` holds responses recorded from the real OpenAI API by other public
projects (origins in its README), plus one constructed 429. Those cassettes answer *their*
requests, not ours, so they are replayed matching on method and endpoint path only
(:data:`LOOSE`), in recorded order, and every assertion is about what the client makes of the
*response*: structured output parsed and validated against the schema of the cassette's own
request (through the engine, with a matching :class:`Schema`), a refusal, a cut answer, a 401,
400s and a 404 mapped to the record's failure kinds, gzip bodies decoded.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
import yaml
from click.testing import CliRunner
from jsonschema import Draft202012Validator

from pipeline import cassettes
from pipeline.articles import Article, article_id
from pipeline.cli import cli
from pipeline.client import Endpoint
from pipeline.engine import RunSettings, Summariser, run_live
from pipeline.prompts import load_prompt
from pipeline.records import Record
from pipeline.schemas import Schema
from pipeline.store import Attempt, Store

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "tests" / "data" / "openai"
V2 = load_prompt("summarise@v2", REPO / "prompts")
LOOSE = ("method", "endpoint_path")
TEXT = (
    "The city council approved a new cycle lane on Monday after a two-hour debate, the mayor "
    "said. The lane will run for 3 kilometres along the river and cost 1.2 million pounds, "
    "according to council papers. Work is due to start in the spring."
)


def cassette(name: str) -> Path:
    path = DATA / f"{name}.yaml"
    assert path.is_file(), path
    return path


def interactions(path: Path) -> list[dict[str, Any]]:
    data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    return list(data["interactions"])


def request_body(path: Path, n: int = 0) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(interactions(path)[n]["request"]["body"])
    return body


def schema_of(path: Path) -> Schema:
    """A :class:`Schema` for the JSON schema the cassette's own request asked for."""
    js = request_body(path)["response_format"]["json_schema"]
    full = js["schema"]
    Draft202012Validator.check_schema(full)
    return Schema(
        name=js["name"],
        full=full,
        strict=full,
        sha256=hashlib.sha256(json.dumps(full, sort_keys=True).encode()).hexdigest(),
        validator=Draft202012Validator(full),
    )


@contextlib.contextmanager
def replaying(path: Path, *, repeats: bool = False) -> Iterator[Any]:
    """Replay a foreign cassette: method and path match, nothing else; in recorded order
    (with ``repeats``, the recorded answers may be played again)."""
    v = cassettes.make_vcr("none", match_on=LOOSE)
    with v.use_cassette(str(path), allow_playback_repeats=repeats) as cas:
        yield cas


def summariser(path: Path, schema: Schema | None = None, **settings: Any) -> Summariser:
    """The engine on the replay client (``make_client``: a transport vcrpy answers first),
    with the cassette's model, as ``--replay`` builds it."""
    model = cassettes.cassette_info(path)["model"]
    return Summariser(
        V2,
        Endpoint(model=model, replay=str(path)),
        schema=schema,
        settings=RunSettings(**{"backoff_initial_s": 0.0, "backoff_cap_s": 0.0, **settings}),
        scorer=lambda source, summary: {"faithfulness": 1.0, "unsupported": []},
        pricer=lambda model, attempt: None,
    )


def article(n: int = 0) -> Article:
    text = TEXT.replace("Monday", ["Monday", "Tuesday", "Friday"][n])
    return Article(id=article_id(text), source=f"in/{n}.txt", text=text, title=f"Cycle lane {n}")


def summarise(
    s: Summariser, path: Path | None, *, repeats: bool = False
) -> tuple[Record, list[Attempt]]:
    """One article through the engine; ``path``: the cassette that answers (None: the
    summariser's own client does)."""

    async def go() -> tuple[Record, list[Attempt]]:
        try:
            return await s.summarise(article())
        finally:
            await s.client.close()

    if path is None:
        return asyncio.run(go())
    with replaying(path, repeats=repeats):
        return asyncio.run(go())


def recorded_content(path: Path, n: int = 0) -> Any:
    response = interactions(path)[n]["response"]
    raw = response["body"]["string"]
    data = gzip.decompress(raw) if isinstance(raw, bytes) and raw[:2] == b"\x1f\x8b" else raw
    return json.loads(data)["choices"][0]["message"]


# --- structured output ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["openllmetry__parsed_completion_json_schema", "ddtrace__chat_completion_parse_json_schema"],
)
def test_structured_output_is_parsed_and_validated_against_its_own_schema(name: str) -> None:
    path = cassette(name)
    schema = schema_of(path)
    record, attempts = summarise(summariser(path, schema), path)
    assert record.status == "ok", record.error
    expected = json.loads(recorded_content(path)["content"])
    assert record.summary == expected
    assert schema.errors(record.summary) == []
    assert record.mode == "json_schema"
    assert [(a.status_code, a.outcome) for a in attempts] == [(200, "ok")]
    assert record.usage["prompt_tokens"] > 0 and record.model == request_body(path)["model"]


def test_nested_defs_in_the_schema_are_validated_too() -> None:
    path = cassette("ddtrace__chat_completion_parse_json_schema")
    schema = schema_of(path)
    answer = json.loads(recorded_content(path)["content"])
    assert "$defs" in schema.full and answer["steps"]
    broken = {**answer, "steps": [{"explanation": "no output field"}]}
    assert any("output" in e for e in schema.errors(broken))


def test_an_answer_that_breaks_its_schema_is_reasked_then_fails_schema_invalid() -> None:
    """The real answer, checked against a stricter schema than the one it was asked for."""
    path = cassette("openllmetry__parsed_completion_json_schema")
    strict = schema_of(path)
    stricter = dict(strict.full, properties={**strict.full["properties"]})
    stricter["properties"]["rating"] = {"type": "integer", "maximum": 0}
    schema = Schema("stricter", stricter, stricter, "x", Draft202012Validator(stricter))
    record, attempts = summarise(summariser(path, schema), path)  # 3 recorded answers
    assert record.status == "failed" and record.error is not None
    assert record.error["kind"] == "schema_invalid"
    assert [a.purpose for a in attempts] == ["first", "reask", "reask"]
    assert record.error["last_output"] == recorded_content(path, 2)["content"]


def test_a_refusal_fails_with_kind_refusal_keeping_the_refusal_text() -> None:
    path = cassette("openllmetry__parsed_refused_completion_json_schema")
    refusal = recorded_content(path)["refusal"]
    assert refusal and recorded_content(path)["content"] is None
    record, attempts = summarise(summariser(path, schema_of(path)), path)
    assert record.status == "failed" and record.error is not None
    assert record.error["kind"] == "refusal"
    assert record.error["last_output"] == refusal
    assert len(attempts) == 1  # a refusal is not retried


def test_tool_calls_instead_of_content_is_an_invalid_answer() -> None:
    path = cassette("openllmetry__chat_tools_tool_calls")
    assert recorded_content(path)["tool_calls"]
    record, attempts = summarise(summariser(path, max_reasks=1), path, repeats=True)
    assert record.error is not None and record.error["kind"] == "schema_invalid"
    assert [a.outcome for a in attempts] == ["schema_invalid", "schema_invalid"]


# --- finish_reason length -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "ddtrace__chat_completion_finish_length_max_tokens100",
        "mirascope__chat_completion_finish_length_sync",
        "crewai__chat_completion_finish_length_max_tokens10",
    ],
)
def test_finish_reason_length_is_retried_once_with_double_budget_then_truncated(
    name: str,
) -> None:
    """Each cassette holds one cut answer; replayed for both requests (the model cuts again,
    as it would for an answer longer than either budget), it must end ``truncated`` after
    exactly one bigger-budget retry."""
    path = cassette(name)
    record, attempts = summarise(summariser(path), path, repeats=True)
    assert record.status == "failed" and record.error is not None
    assert record.error["kind"] == "truncated"
    budget = V2.max_output_tokens
    assert f"max_tokens={budget * 2}" in record.error["message"]
    assert [(a.purpose, a.outcome) for a in attempts] == [
        ("first", "truncated"),
        ("budget", "truncated"),
    ]
    assert record.error["last_output"] == recorded_content(path)["content"]


def test_the_length_retry_really_doubles_the_budget() -> None:
    """The same mapping with a transport that serves the recorded response and keeps the
    requests: the second asks for twice the first's max_tokens."""
    path = cassette("mirascope__chat_completion_finish_length_sync")
    recorded = interactions(path)[0]["response"]
    seen: list[dict[str, Any]] = []

    def serve(request: httpx2.Request) -> httpx2.Response:
        seen.append(json.loads(request.content))
        headers = [(k, v) for k, vs in recorded["headers"].items() for v in vs]
        return httpx2.Response(200, headers=headers, content=recorded["body"]["string"])

    client = openai.AsyncOpenAI(
        api_key="sk-test",
        max_retries=0,
        http_client=httpx2.AsyncClient(transport=httpx2.MockTransport(serve)),
    )
    s = summariser(path)
    s.client = client
    record, _ = summarise(s, None)
    assert record.error is not None and record.error["kind"] == "truncated"
    assert [b["max_tokens"] for b in seen] == [V2.max_output_tokens, 2 * V2.max_output_tokens]


# --- 429 then 200 (constructed) -------------------------------------------------------------------


def test_a_429_then_a_200_is_retried_and_succeeds() -> None:
    path = cassette("constructed__chat_completion_429_then_200")
    first = interactions(path)[0]["response"]
    assert first["status"]["code"] == 429 and first["headers"]["retry-after-ms"] == ["120"]
    record, attempts = summarise(summariser(path, schema_of(path)), path)
    assert record.status == "ok", record.error
    assert [(a.purpose, a.status_code, a.outcome) for a in attempts] == [
        ("first", 429, "rate_limited"),
        ("retry", 200, "ok"),
    ]
    assert "Rate limit reached for gpt-4o" in (attempts[0].error or "")
    assert record.summary == json.loads(recorded_content(path, 1)["content"])


# --- 400 / 401 / 404 ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("crewai__chat_completion_400_missing_required_parameter", "Missing required parameter"),
        ("mirascope__chat_completion_400_unsupported_parameter", "Unsupported parameter: 'stop'"),
    ],
)
def test_a_400_fails_the_article_with_the_servers_message_and_is_not_retried(
    name: str, fragment: str
) -> None:
    path = cassette(name)
    record, attempts = summarise(summariser(path), path)
    assert record.error is not None and record.error["kind"] == "http_error"
    assert record.error["message"].startswith(f"HTTP 400: {fragment}")
    assert [(a.status_code, a.outcome) for a in attempts] == [(400, "http_error")]


def test_a_400_does_not_stop_the_run(tmp_path: Path) -> None:
    path = cassette("crewai__chat_completion_400_missing_required_parameter")  # 3 x 400
    records, plays = _batch(path, tmp_path, n=3)
    assert [r.error["kind"] for r in records if r.error] == ["http_error"] * 3
    assert all(r.error and r.error["message"].startswith("HTTP 400") for r in records)
    assert plays == 3


def _batch(path: Path, tmp_path: Path, n: int) -> tuple[list[Record], int]:
    s = summariser(path, concurrency=1)
    store = Store(tmp_path / "compat.db")

    async def go() -> list[Record]:
        run_id = store.start_run("run", prompt=s.prompt, model=s.endpoint.model)
        try:
            return [
                r async for r in run_live([article(i) for i in range(n)], s, store, run_id=run_id)
            ]
        finally:
            await s.client.close()

    try:
        with replaying(path, repeats=False) as cas:
            records = asyncio.run(go())
        return records, cas.play_count
    finally:
        store.close()


@pytest.mark.parametrize(
    "name",
    [
        "mirascope__chat_completion_401_invalid_api_key",
        "ddtrace__chat_completion_401_legacy_httpx_format",  # vcrpy<5 httpx format
        "ddtrace_v0__chat_completion_401_requests",  # recorded with requests (openai 0.27)
    ],
)
def test_a_401_is_auth_and_stops_the_run(name: str, tmp_path: Path) -> None:
    records, plays = _batch(cassette(name), tmp_path, n=3)
    assert plays == 1  # one request, then the run stopped
    assert [r.error["kind"] for r in records if r.error] == ["auth"] * 3
    first, *rest = [r.error["message"] for r in records if r.error]
    assert first.startswith("HTTP 401: Incorrect API key provided") and "OPENAI_API_KEY" in first
    assert all(m.startswith("run stopped") and "HTTP 401" in m for m in rest)


@pytest.fixture
def loose_replay(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """``--replay`` on the command line, matching foreign cassettes on method and path."""
    plays: list[int] = []

    @contextlib.contextmanager
    def loose(path: str | Path) -> Iterator[Any]:
        with replaying(Path(path), repeats=True) as cas:
            yield cas
        plays.append(cas.play_count)

    monkeypatch.setattr(cassettes, "replaying", loose)
    return plays


def _run_cli(path: Path, tmp_path: Path, n: int = 3) -> tuple[Any, list[dict[str, Any]]]:
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(n):
        a = article(i)
        (folder / f"{i}.txt").write_text(f"{a.title}\n\n{a.text}\n", encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli,
        ["run", str(folder), "--replay", str(path), "--concurrency", "1", "--out", str(out)],
    )
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return result, records


def test_a_401_through_the_command_line_stops_the_run_and_names_the_fix(
    tmp_path: Path, loose_replay: list[int]
) -> None:
    result, records = _run_cli(cassette("mirascope__chat_completion_401_invalid_api_key"), tmp_path)
    assert result.exit_code == 2  # a run stopped by the account (DESIGN.md, exit status)
    assert loose_replay == [1]
    assert [r["error"]["kind"] for r in records] == ["auth"] * 3
    assert "run stopped: HTTP 401: Incorrect API key provided" in result.stderr
    assert "check OPENAI_API_KEY" in result.stderr


def test_a_404_model_not_found_stops_the_run_naming_model(
    tmp_path: Path, loose_replay: list[int]
) -> None:
    path = cassette("otelcontrib__chat_completion_404_model_not_found")
    assert cassettes.cassette_info(path)["model"] == "this-model-does-not-exist"
    result, records = _run_cli(path, tmp_path)
    assert result.exit_code == 2  # an unknown model stops the run: exit 2
    assert loose_replay == [1]
    assert {r["model"] for r in records} == {"this-model-does-not-exist"}
    assert [r["error"]["kind"] for r in records] == ["http_error"] * 3
    message = records[0]["error"]["message"]
    assert "HTTP 404: The model `this-model-does-not-exist` does not exist" in message
    assert "--model" in message
    assert "run stopped" in records[1]["error"]["message"] and "--model" in result.stderr


# --- what the SDK itself reads --------------------------------------------------------------------


def _sdk(path: Path, *, n: int = 0, **extra: Any) -> Any:
    body = {**request_body(path, n), **extra}
    client = openai.OpenAI(
        api_key="sk-test",
        max_retries=0,
        http_client=httpx2.Client(transport=httpx2.MockTransport(_unreachable)),
    )
    with replaying(path), client:
        return client.chat.completions.create(**body)


def _unreachable(request: httpx2.Request) -> httpx2.Response:
    raise AssertionError("the cassette should have answered")


def test_a_cassette_recorded_with_requests_replays_through_httpx2() -> None:
    path = cassette("ddtrace_v0__chat_completion_requests")  # openai 0.27 on requests, gzip
    completion = _sdk(path)
    assert [c.finish_reason for c in completion.choices] == ["stop", "stop"]
    assert all(c.message.content for c in completion.choices)


def test_a_streamed_answer_cut_at_max_tokens_ends_with_length() -> None:
    path = cassette("mirascope__chat_completion_finish_length_stream")
    assert request_body(path)["stream"] is True
    chunks = list(_sdk(path))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert text and finishes[-1] == "length"


GZIPPED = [
    "openllmetry__parsed_completion_json_schema",
    "openllmetry__parsed_refused_completion_json_schema",
    "ddtrace__chat_completion_parse_json_schema",
    "ddtrace__chat_completion_finish_length_max_tokens100",
    "mirascope__chat_completion_finish_length_sync",
    "ddtrace_v0__chat_completion_requests",
]


@pytest.mark.parametrize("name", GZIPPED)
def test_gzip_bodies_decode_on_replay_and_are_stored_decoded_when_recorded(
    name: str, tmp_path: Path
) -> None:
    """Replayed as recorded (gzip bytes, content-encoding gzip), the SDK reads the JSON; served
    live and recorded through this project's writer, the cassette holds plain JSON with no
    content-encoding, and that replays to the same completion."""
    path = cassette(name)
    recorded = interactions(path)[0]["response"]
    raw = recorded["body"]["string"]
    assert isinstance(raw, bytes) and raw[:2] == b"\x1f\x8b"
    assert any(k.lower() == "content-encoding" for k in recorded["headers"])
    expected = json.loads(gzip.decompress(raw))
    assert _sdk(path).model_dump()["choices"] == _choices(expected)

    headers = [(k, v) for k, vs in recorded["headers"].items() for v in vs]
    live = httpx2.MockTransport(lambda r: httpx2.Response(200, headers=headers, content=raw))
    ours = tmp_path / "ours.yaml"
    with cassettes.use_cassette(ours, "rewrite"), httpx2.Client(transport=live) as client:
        client.post("https://api.openai.com/v1/chat/completions", json=request_body(path))
    (it,) = interactions(ours)
    assert not any(k.lower() == "content-encoding" for k in it["response"]["headers"])
    assert json.loads(it["response"]["body"]["string"]) == expected
    assert not any(
        k.lower() in ("set-cookie", "openai-organization") for k in it["response"]["headers"]
    )
    assert _sdk(ours).model_dump()["choices"] == _choices(expected)


def _choices(expected: dict[str, Any]) -> list[dict[str, Any]]:
    """The SDK's view of the recorded choices (its model fills optional fields)."""
    completion = openai.types.chat.ChatCompletion.model_validate(expected)
    return [c.model_dump() for c in completion.choices]
