"""Cassettes: scrubbing, matching, ordering, the test fixture, ``--record`` / ``--replay``, and
the shipped run cassettes (``cassettes/runs/summarise-V.yaml``).

The tests that take the ``cassette`` fixture replay ``cassettes/tests/test_cassettes/*.yaml``,
recorded from the project's FakeOpenAIServer; record them again with
``pytest tests/test_cassettes.py --record-mode=rewrite``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gzip
import json
import os
import socket
import subprocess
import sys
import textwrap
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest
import yaml
from click.testing import CliRunner

from pipeline import cassettes, prompts, runner
from pipeline.articles import Article, article_id, iter_articles
from pipeline.cassettes import (
    CassetteError,
    canonical_body,
    endpoint_path,
    find_secrets,
    known_secrets,
    scrub_body,
    scrub_text,
    use_cassette,
)
from pipeline.cli import cli
from pipeline.client import Endpoint
from pipeline.engine import RunSettings, Summariser
from pipeline.prompts import load_prompt
from pipeline.records import Record
from pipeline.server import Fault

REPO = Path(__file__).resolve().parent.parent
RUNS = REPO / "cassettes" / "runs"
RECORD_COMMAND = "python scripts/record_cassettes.py"
V2 = load_prompt("summarise@v2", REPO / "prompts")

ARTICLE_TEXT = (
    "Flood barriers were raised along the River Severn on Tuesday after two days of heavy "
    "rain, the Environment Agency said. The agency issued 14 flood warnings for towns between "
    "Shrewsbury and Gloucester and urged residents to move valuables upstairs. Water levels at "
    "Bewdley reached 4.2 metres by midday, close to the record set in 2000, according to the "
    "agency's gauges. Local councils opened three rest centres for people leaving their homes. "
    "'We expect the river to peak on Wednesday morning,' said Sarah Jones, a flood duty "
    "manager. Forecasters said drier weather would arrive by the weekend."
)


def article(text: str = ARTICLE_TEXT, n: int = 0) -> Article:
    return Article(id=article_id(text), source=f"in/{n}.txt", text=text, title="Severn floods")


def summariser_for(base_url: str, **settings: Any) -> Summariser:
    """The real client path: ``make_client`` builds an httpx2 client on the default transport,
    which vcrpy answers from the cassette (or records, when recording)."""
    return Summariser(
        V2,
        Endpoint(model="builtin", base_url=base_url, api_key="sk-dummy-for-tests"),
        settings=RunSettings(**{"backoff_initial_s": 0.0, "backoff_cap_s": 0.0, **settings}),
        scorer=lambda source, summary: {"faithfulness": 1.0, "unsupported": []},
        pricer=lambda model, attempt: None,
    )


def summarise(s: Summariser, a: Article | None = None) -> tuple[Record, list[Any]]:
    async def go() -> tuple[Record, list[Any]]:
        try:
            return await s.summarise(a or article())
        finally:
            await s.client.close()

    return asyncio.run(go())


# --- scrubbing ---------------------------------------------------------------------------------

REAL_LOOKING = {
    "sk-proj-" + "Ab3dE" * 10: "sk-REDACTED",
    "sk-" + "Zx9" * 16: "sk-REDACTED",
    "sk-svcacct-" + "Qq7" * 12: "sk-REDACTED",
    "sk-abc*********************1234": "sk-REDACTED",  # a key as OpenAI masks it
    "Bearer eyJhbGciOiJIUzI1NiJ9.abc123def456": "Bearer REDACTED",
    "org-" + "AbCdEfGh1234" * 2: "org-REDACTED",
    "proj_" + "AbCdEfGh1234" * 2: "proj_REDACTED",
    "user-" + "AbCdEfGh1234" * 2: "user-REDACTED",
}


@pytest.mark.parametrize(("secret", "placeholder"), REAL_LOOKING.items())
def test_key_like_strings_are_redacted(secret: str, placeholder: str) -> None:
    text = f"error: {secret} is not allowed"
    assert scrub_text(text) == f"error: {placeholder} is not allowed"
    assert find_secrets(text) and not find_secrets(scrub_text(text))


@pytest.mark.parametrize(
    "text",
    [
        "the task-force-coordination-group met on Monday",  # 'sk-' inside a word
        "an org-chart was published",  # too short to be an org id
        "Bearer bonds were sold",
        "sk-REDACTED, org-REDACTED, proj_REDACTED, user-REDACTED, Bearer REDACTED",
        "user-generated content and proj_x",
    ],
)
def test_ordinary_text_and_placeholders_are_left_alone(text: str) -> None:
    assert scrub_text(text) == text
    assert find_secrets(text) == []


def test_exact_secret_values_are_redacted_wherever_they_appear() -> None:
    assert scrub_text("key=my-own-gateway-key!", ["my-own-gateway-key"]) == "key=REDACTED!"


def test_known_secrets_come_from_key_org_and_project_variables() -> None:
    env = {
        "OPENAI_API_KEY": "sk-local-123456",
        "OPENAI_ORG_ID": "org-abcdefgh",
        "OPENAI_PROJECT_ID": "proj_abcdefgh",
        "AZURE_OPENAI_API_KEY": "azure-key-123456",
        "OPENAI_BASE_URL": "http://127.0.0.1:8000/v1",
        "OPENAI_MODEL": "gpt-4o-mini-long-name",
        "OPENAI_API_KEY_SHORT": "x",
    }
    assert set(known_secrets(env)) == {
        "sk-local-123456",
        "org-abcdefgh",
        "proj_abcdefgh",
        "azure-key-123456",
    }


def test_account_fields_in_json_bodies_are_blanked() -> None:
    body = json.dumps({"error": {"message": "no", "organization": "acme-corp"}, "n": 1}).encode()
    out = json.loads(scrub_body(body))
    assert out == {"error": {"message": "no", "organization": "REDACTED"}, "n": 1}
    untouched = b'{"a": 1,   "b": "x"}'
    assert scrub_body(untouched) == untouched  # re-serialised only when something changed


# --- matching ----------------------------------------------------------------------------------


def test_canonical_body_ignores_key_order_and_spacing() -> None:
    a = b'{"model": "m", "messages": [{"role": "user", "content": "hi"}]}'
    b = '{"messages":[{"content":"hi","role":"user"}],"model":"m"}'
    assert canonical_body(a) == canonical_body(b)
    assert canonical_body(b"not json") == "not json"


@pytest.mark.parametrize(
    ("path", "endpoint"),
    [
        ("/v1/chat/completions", "/chat/completions"),
        ("/chat/completions", "/chat/completions"),
        ("/proxy/openai/v1/chat/completions/", "/chat/completions"),
        ("/v1/models", "/models"),
        ("/openai/deployments/x/chat/completions", "/openai/deployments/x/chat/completions"),
    ],
)
def test_endpoint_path_ignores_the_base_url_prefix(path: str, endpoint: str) -> None:
    assert endpoint_path(path) == endpoint


# --- recording through httpx2, scrubbed and decoded ---------------------------------------------

SECRET_HEADERS = {
    "authorization": "Bearer sk-proj-" + "S3cr3t" * 8,
    "api-key": "azure-S3cr3t-" + "9" * 20,
    "openai-organization": "org-" + "S3cr3tOrg" * 3,
    "openai-project": "proj_" + "S3cr3tProj" * 3,
    "cookie": "__cf_bm=S3cr3tCookie",
}


def _completion(content: str = '{"ok": true}') -> dict[str, Any]:
    return {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "created": 0,
        "model": "m",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


def _record_one(
    path: Path,
    response: httpx2.Response,
    body: dict[str, Any],
    secrets: tuple[str, ...] | list[str] = ("S3cr3tCookie",),
) -> dict[str, Any]:
    """Record one exchange through a vcrpy-patched httpx2 MockTransport; return the file."""
    transport = httpx2.MockTransport(lambda request: response)
    with (
        use_cassette(path, "rewrite", secrets=secrets),
        httpx2.Client(transport=transport) as client,
    ):
        got = client.post(
            "https://user:pw@api.example.test/v1/chat/completions?api-key=S3cr3tQuery",
            json=body,
            headers=SECRET_HEADERS,
        )
        assert got.status_code == response.status_code
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
def test_recording_scrubs_headers_and_decodes_bodies(tmp_path: Path, encoding: str) -> None:
    raw = json.dumps(_completion()).encode()
    packed = {"gzip": gzip.compress, "deflate": zlib.compress, "identity": bytes}[encoding](raw)
    response = httpx2.Response(
        200,
        content=packed,
        headers={
            "content-type": "application/json",
            "content-encoding": encoding,
            "openai-organization": "user-" + "S3cr3tUser" * 3,
            "openai-project": "proj_" + "S3cr3tProj" * 3,
            "set-cookie": "__cf_bm=S3cr3tCookie; path=/",
            "x-request-id": "req_123",
            "x-ratelimit-remaining-requests": "499",
            "retry-after-ms": "20",
        },
    )
    data = _record_one(tmp_path / "c.yaml", response, {"model": "m", "messages": []})
    text = (tmp_path / "c.yaml").read_text(encoding="utf-8")
    assert "S3cr3t" not in text and "user:pw" not in text
    (it,) = data["interactions"]
    assert set(it["request"]["headers"]) <= {"content-type", "accept", "accept-encoding"}
    assert "api-key=REDACTED" in it["request"]["uri"]
    headers = {k.lower(): v for k, v in it["response"]["headers"].items()}
    assert set(headers) == {
        "content-type",
        "content-length",
        "x-ratelimit-remaining-requests",
        "retry-after-ms",
    }
    assert json.loads(it["response"]["body"]["string"]) == _completion()
    assert headers["content-length"] == [str(len(raw))]


def test_a_raw_deflate_body_decodes_too(tmp_path: Path) -> None:
    raw = json.dumps(_completion()).encode()
    squeezer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    packed = squeezer.compress(raw) + squeezer.flush()
    response = httpx2.Response(200, content=packed, headers={"content-encoding": "deflate"})
    data = _record_one(tmp_path / "c.yaml", response, {"model": "m"})
    assert json.loads(data["interactions"][0]["response"]["body"]["string"]) == _completion()


def test_a_brotli_body_decodes(tmp_path: Path) -> None:
    import brotli  # a dependency: httpx2 decodes br with it

    raw = json.dumps(_completion()).encode()
    response = httpx2.Response(
        200, content=brotli.compress(raw), headers={"content-encoding": "br"}
    )
    data = _record_one(tmp_path / "c.yaml", response, {"model": "m"})
    assert json.loads(data["interactions"][0]["response"]["body"]["string"]) == _completion()


def test_a_body_that_cannot_be_decoded_is_never_written(tmp_path: Path) -> None:
    response = httpx2.Response(
        200, content=b"\x1f\x9d...", headers={"content-encoding": "compress"}
    )
    with pytest.raises(CassetteError, match="compress-encoded"):
        _record_one(tmp_path / "c.yaml", response, {"model": "m"})
    assert not (tmp_path / "c.yaml").exists()
    # and vcrpy's patches are gone (it saves before unpatching: a raise there would leak them)
    for cls, name in (
        (httpx2.MockTransport, "handle_request"),
        (httpx2.HTTPTransport, "handle_request"),
        (httpx2.AsyncHTTPTransport, "handle_async_request"),
    ):
        assert not hasattr(getattr(cls, name), "__wrapped__"), cls


def test_a_secret_that_slips_through_stops_the_write(tmp_path: Path) -> None:
    response = httpx2.Response(200, json=_completion(), headers={"content-type": "text/plain"})
    # a secret in a *header name* escapes every value filter; the writer's last check catches it
    response.headers["x-ratelimit-s3cr3tcookie"] = "1"
    with pytest.raises(CassetteError, match="secret-looking"):
        _record_one(tmp_path / "c.yaml", response, {"model": "m"}, secrets=["s3cr3tcookie"])
    assert not (tmp_path / "c.yaml").exists()


def test_interactions_are_written_sorted_and_identical_requests_keep_their_order(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    answers = iter([_completion("third"), _completion("first"), _completion("second")])
    bodies = [{"q": "b"}, {"q": "a"}, {"q": "a"}]
    with (
        use_cassette(path, "rewrite"),
        httpx2.Client(
            transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json=next(answers)))
        ) as client,
    ):
        for body in bodies:
            client.post("http://x.test/v1/chat/completions", json=body)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    contents = [
        json.loads(it["response"]["body"]["string"])["choices"][0]["message"]["content"]
        for it in data["interactions"]
    ]
    assert contents == ["first", "second", "third"]
    with use_cassette(path, "none") as cas:  # and they replay in recorded order
        with httpx2.Client(transport=httpx2.MockTransport(_unreachable)) as client:
            got = [client.post("http://y.test/chat/completions", json=b).json() for b in bodies]
        assert cas.misses == []
    assert [g["choices"][0]["message"]["content"] for g in got] == ["third", "first", "second"]


def _unreachable(request: httpx2.Request) -> httpx2.Response:
    raise AssertionError(f"the cassette should have answered {request.url}")


def test_a_request_the_cassette_lacks_never_reaches_the_transport(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with (
        use_cassette(path, "rewrite"),
        httpx2.Client(
            transport=httpx2.MockTransport(lambda r: httpx2.Response(200, json=_completion()))
        ) as client,
    ):
        client.post("http://x.test/v1/chat/completions", json={"q": 1})
    transport = httpx2.MockTransport(_unreachable)
    with use_cassette(path, "none") as cas, httpx2.Client(transport=transport) as client:
        client.post("http://x.test/v1/chat/completions", json={"q": 1})
        with pytest.raises(cassettes.CannotOverwriteExistingCassetteException):
            client.post("http://x.test/v1/chat/completions", json={"q": 1})  # played once
        with pytest.raises(cassettes.CannotOverwriteExistingCassetteException):
            client.post("http://x.test/v1/chat/completions", json={"q": 2})
    assert [json.loads(r.body) for r in cas.misses] == [{"q": 1}, {"q": 2}]


# --- the pytest fixture, on cassettes recorded from FakeOpenAIServer ----------------------------


def test_fixture_replays_a_summary(cassette: Any, recorded_server: Any) -> None:
    record, attempts = summarise(summariser_for(recorded_server.base_url))
    assert record.status == "ok", record.error
    assert record.model == "builtin" and record.summary is not None
    assert [a.outcome for a in attempts] == ["ok"]
    assert cassette.play_count == 1 or not cassette.write_protected


def test_fixture_replays_429_then_200_in_recorded_order(
    cassette: Any, recorded_server: Any
) -> None:
    recorded_server.enqueue(Fault("rate_limit", retry_after_s=0.05), "ok")
    record, attempts = summarise(summariser_for(recorded_server.base_url))
    assert record.status == "ok", record.error
    assert [(a.status_code, a.outcome) for a in attempts] == [(429, "rate_limited"), (200, "ok")]
    requests = [canonical_body(r.body) for r in cassette.requests]
    assert len(requests) == 2 and requests[0] == requests[1]  # identical requests, in order


def test_fixture_replays_an_invalid_then_a_valid_answer_to_identical_requests(
    cassette: Any, recorded_server: Any
) -> None:
    recorded_server.enqueue("schema_invalid", "ok")
    s = summariser_for(recorded_server.base_url)
    body = s._request(V2.render(ARTICLE_TEXT, title="Severn floods"), 1500, "json_schema")
    client = openai.OpenAI(
        base_url=recorded_server.base_url,
        api_key="sk-dummy-for-tests",
        max_retries=0,
        http_client=httpx2.Client(),
    )
    with client:
        answers = [
            json.loads(client.chat.completions.create(**body).choices[0].message.content or "")
            for _ in range(2)
        ]
    assert s.schema.errors(answers[0])  # the broken one first ...
    assert s.schema.errors(answers[1]) == []  # ... then the valid one, as recorded


def test_fixture_replays_a_reask(cassette: Any, recorded_server: Any) -> None:
    recorded_server.enqueue("schema_invalid", "ok")
    record, attempts = summarise(summariser_for(recorded_server.base_url))
    assert record.status == "ok", record.error
    assert [(a.purpose, a.outcome) for a in attempts] == [
        ("first", "schema_invalid"),
        ("reask", "ok"),
    ]


PROBE = """
from pipeline.client import Endpoint
from pipeline.engine import RunSettings, Summariser


def test_missing(cassette, recorded_server):
    import httpx2
    with httpx2.Client() as client:
        client.post(recorded_server.base_url + "/chat/completions", json={"model": "m"})
"""


def test_a_missing_recording_fails_the_test_naming_cassette_and_command(tmp_path: Path) -> None:
    """Runs a probe test through this conftest in a subprocess: it has no cassette."""
    (tmp_path / "test_probe_cassette_miss.py").write_text(textwrap.dedent(PROBE))
    env = {**os.environ, "PYTHONPATH": str(REPO / "tests")}
    proc = subprocess.run(
        # -p no:recording: pytest-recording (if installed) would declare --record-mode too
        [sys.executable, "-m", "pytest", "-q", "-p", "no:recording", "-p", "conftest"]
        + ["-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "cassettes/tests/test_probe_cassette_miss/test_missing.yaml" in out, out
    assert "for POST /v1/chat/completions (model m): record it with `pytest" in out, out
    assert "--record-mode=once" in out, out
    assert not (REPO / "cassettes" / "tests" / "test_probe_cassette_miss").exists()


def test_the_network_guard_refuses_everything_but_loopback(no_network: Any) -> None:
    with pytest.raises(RuntimeError, match="tests never touch the network"):
        socket.create_connection(("192.0.2.1", 443), timeout=0.1)
    with socket.socket() as sock, pytest.raises(RuntimeError, match="192.0.2.1"):
        sock.connect(("192.0.2.1", 80))
    with socket.socket() as sock, pytest.raises(RuntimeError):
        sock.connect_ex(("2001:db8::1", 80, 0, 0))
    with pytest.raises(RuntimeError, match="name lookup of api.openai.com"):
        socket.getaddrinfo("api.openai.com", 443)
    with pytest.raises((RuntimeError, openai.APIConnectionError), match="api.openai.com"):
        openai.OpenAI(api_key="sk-x", max_retries=0, http_client=httpx2.Client()).models.list()
    assert len(no_network.blocked) >= 5
    no_network.blocked.clear()  # seen; the guard would fail this test otherwise
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname(), timeout=1):
            pass
    socket.getaddrinfo("localhost", 80)


# --- --record / --replay through the runner and the CLI ------------------------------------------


def _articles(tmp_path: Path, n: int = 2) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir()
    for i in range(n):
        text = ARTICLE_TEXT.replace("Tuesday", ["Tuesday", "Monday", "Friday"][i])
        (folder / f"{i}.txt").write_text(f"Severn floods {i}\n\n{text}\n", encoding="utf-8")
    return folder


def _records(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """Two articles and a cassette of summarise@v2 over them, recorded from the built-in
    model (its in-process transport is recorded like any other)."""
    folder = _articles(tmp_path)
    path = tmp_path / "run.yaml"
    options = runner.RunOptions(prompt="summarise@v2", model="builtin", record=str(path))
    summary = runner.run(iter_articles([str(folder)]), options)
    assert summary.ok == 2 and path.is_file()
    yield folder, path


@pytest.fixture
def no_builtin(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under --replay the built-in model must never answer."""

    def refuse(body: dict[str, Any]) -> dict[str, Any]:
        raise AssertionError("a replay reached the built-in model")

    monkeypatch.setattr("pipeline.builtin.chat_completion", refuse)


def test_replay_needs_no_key_and_ignores_the_environment(
    recorded: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_builtin: None
) -> None:
    folder, path = recorded
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.openai.com/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-not-used-by-a-replay")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(folder),
            "--prompt",
            "summarise@v2",
            "--replay",
            str(path),
            "-q",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    records = _records(out)
    assert [r["status"] for r in records] == ["ok", "ok"]
    assert {r["model"] for r in records} == {"builtin"}


def test_replay_of_an_article_the_cassette_lacks_fails_that_article_only(
    recorded: tuple[Path, Path], tmp_path: Path, no_builtin: None
) -> None:
    folder, path = recorded
    (folder / "9.txt").write_text(
        "A new article\n\n" + ARTICLE_TEXT.replace("Severn", "Wye"), encoding="utf-8"
    )
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli,
        # the new article is a near-copy of a recorded one: asked, not deduplicated
        ["run", str(folder), "--prompt", "summarise@v2", "--replay", str(path), "--out", str(out),
         "--no-dedupe"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    records = _records(out)
    assert [r["status"] for r in records] == ["ok", "ok", "failed"]
    error = records[2]["error"]
    assert error["kind"] == "http_error"
    assert f"the cassette {path} holds no recording of this request" in error["message"]
    assert "summarise@v2" in error["message"]
    assert (
        f"`summarise run PATH... --prompt summarise@v2 --model builtin --record {path}`"
        in error["message"]
    )
    assert "failures by kind: http_error: 1" in result.stderr


def test_replay_with_a_prompt_the_cassette_lacks_fails_every_article(
    recorded: tuple[Path, Path], tmp_path: Path, no_builtin: None
) -> None:
    folder, path = recorded
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(folder),
            "--prompt",
            "summarise@v1",
            "--replay",
            str(path),
            "-q",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 1
    for record in _records(out):
        assert record["status"] == "failed" and record["prompt_version"] == "v1"
        assert "(summarise@v1, model builtin)" in record["error"]["message"]
        assert "--prompt summarise@v1" in record["error"]["message"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--replay", "nowhere.yaml"], "no cassette at nowhere.yaml: record one with"),
        (["--replay", "x.yaml", "--record", "y.yaml"], "--replay and --record exclude each other"),
    ],
)
def test_replay_usage_errors_exit_2(
    args: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "x.yaml").write_text("interactions: []\n")
    folder = _articles(tmp_path, 1)
    result = CliRunner().invoke(cli, ["run", str(folder), *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_empty_cassette_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "empty.yaml").write_text("interactions: []\nversion: 1\n")
    folder = _articles(tmp_path, 1)
    result = CliRunner().invoke(cli, ["run", str(folder), "--replay", str(tmp_path / "empty.yaml")])
    assert result.exit_code == 2
    assert "holds no recorded interactions" in result.stderr


def test_runner_replays_twice_in_one_process_as_compare_does(
    recorded: tuple[Path, Path], no_builtin: None
) -> None:
    folder, path = recorded
    options = runner.RunOptions(prompt="summarise@v2", replay=str(path))
    first = runner.run(iter_articles([str(folder)]), options)
    again = runner.run(
        iter_articles([str(folder)]), dataclasses.replace(options, settings=RunSettings(force=True))
    )
    assert (first.ok, again.ok, again.cached) == (2, 2, 0)


def test_an_article_quoting_a_key_like_string_still_replays(tmp_path: Path) -> None:
    """Request bodies are scrubbed when recorded *and* when matched, so they still match."""
    leaked = "sk-proj-" + "Qw3rTy" * 6
    folder = tmp_path / "articles"
    folder.mkdir()
    text = ARTICLE_TEXT.replace("Sarah Jones", f"Sarah Jones, whose key {leaked} leaked,")
    (folder / "0.txt").write_text(f"Severn floods\n\n{text}\n", encoding="utf-8")
    path = tmp_path / "run.yaml"
    recorded = runner.run(
        iter_articles([str(folder)]),
        runner.RunOptions(prompt="summarise@v2", model="builtin", record=str(path)),
    )
    assert recorded.ok == 1 and leaked not in path.read_text(encoding="utf-8")
    replayed = runner.run(
        iter_articles([str(folder)]),
        runner.RunOptions(prompt="summarise@v2", replay=str(path), db=str(tmp_path / "r.db")),
    )
    assert replayed.ok == 1


@pytest.fixture
def recorded_folder(tmp_path: Path) -> tuple[Path, Path]:
    """Two articles and a folder of cassettes: summarise@v1 and summarise@v2 over them."""
    folder = _articles(tmp_path)
    tapes = tmp_path / "tapes"
    for version in ("v1", "v2"):
        options = runner.RunOptions(
            prompt=f"summarise@{version}", model="builtin", record=str(tapes / f"{version}.yaml")
        )
        assert runner.run(iter_articles([str(folder)]), options).ok == 2
    return folder, tapes


def test_compare_replays_from_a_folder_of_cassettes(
    recorded_folder: tuple[Path, Path], tmp_path: Path, no_builtin: None
) -> None:
    folder, tapes = recorded_folder
    report = tmp_path / "report.json"
    result = CliRunner().invoke(
        cli,
        ["compare", "summarise@v1", "summarise@v2", str(folder), "--replay", str(tapes)]
        + ["--format", "json", "--out", str(report)],
    )
    assert result.exit_code == 0, result.output
    assert "summarise@v1: 2 ok, 0 failed" in result.stderr
    assert "summarise@v2: 2 ok, 0 failed" in result.stderr
    assert report.is_file()


def test_runner_replays_each_version_from_one_folder(
    recorded_folder: tuple[Path, Path], no_builtin: None
) -> None:
    folder, tapes = recorded_folder
    runs = runner.run_versions(
        ["summarise@v1", "summarise@v2"],
        list(iter_articles([str(folder)])),
        runner.RunOptions(replay=str(tapes)),
    )
    assert {ref: [r["status"] for r in records] for ref, records in runs.records.items()} == {
        "summarise@v1": ["ok", "ok"],
        "summarise@v2": ["ok", "ok"],
    }


@pytest.mark.parametrize(
    ("path", "command"),
    [
        ("cassettes/runs/summarise-v2.yaml", "`python scripts/record_cassettes.py`"),
        ("cassettes/runs", "`python scripts/record_cassettes.py`"),
        (
            "elsewhere/run.yaml",
            "`summarise run PATH... --prompt summarise@v2 --model gpt-4o-mini "
            "--record elsewhere/run.yaml`",
        ),
    ],
)
def test_the_rerecord_command_names_the_script_for_shipped_cassettes(
    path: str, command: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    got = cassettes.rerecord_command(path, prompt_ref="summarise@v2", model="gpt-4o-mini")
    assert got == command


# --- the shipped run cassettes ------------------------------------------------------------------


def _versions() -> list[str]:
    return prompts.available(REPO / "prompts").get("summarise", [])


def test_every_summarise_version_has_a_shipped_cassette_and_no_other() -> None:
    want = {f"summarise-{v}.yaml" for v in _versions()}
    have = {p.name for p in RUNS.glob("*.yaml")} if RUNS.is_dir() else set()
    assert want - have == set(), f"missing {sorted(want - have)}: run `{RECORD_COMMAND}`"
    assert have - want == set(), f"no prompt version for {sorted(have - want)}: delete them"


@pytest.mark.parametrize("version", _versions())
def test_shipped_cassette_replays_its_version_over_seeds(
    version: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_builtin: None
) -> None:
    cassette = f"cassettes/runs/summarise-{version}.yaml"
    if not (REPO / cassette).is_file():
        pytest.fail(f"{cassette} is missing: run `{RECORD_COMMAND}`", pytrace=False)
    monkeypatch.chdir(REPO)
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            "seeds/",
            "--prompt",
            f"summarise@{version}",
            "--replay",
            cassette,
            "--out",
            str(out),
            "-q",
        ],
    )
    records = _records(out) if out.is_file() else []
    inputs = list(iter_articles(["seeds/"]))
    bad = [r for r in records if r["status"] != "ok"]
    if result.exit_code != 0 or bad or len(records) != len(inputs):
        first = bad[0]["source"] + ": " + bad[0]["error"]["message"] if bad else result.output
        pytest.fail(
            f"{cassette} no longer replays summarise@{version} over seeds/ (exit "
            f"{result.exit_code}, {len(records)} records for {len(inputs)} inputs, "
            f"{len(bad)} failed; first: {first[:300]}): the seeds or the prompt changed since "
            f"it was recorded; re-record with `{RECORD_COMMAND}`",
            pytrace=False,
        )
    assert {r["model"] for r in records} == {cassettes.cassette_info(REPO / cassette)["model"]}
    assert [r["source"] for r in records] == [i.source for i in inputs]


def test_compare_replays_the_shipped_cassettes_over_seeds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, no_builtin: None
) -> None:
    monkeypatch.chdir(REPO)
    versions = [f"summarise@{v}" for v in _versions()]
    result = CliRunner().invoke(
        cli,
        ["compare", *versions[-2:], "seeds/", "--replay", "cassettes/runs/"]
        + ["--format", "json", "--out", str(tmp_path / "report.json")],
    )
    n = len(list(iter_articles(["seeds/"])))
    lines = [f"{v}: {n} ok, 0 failed" for v in versions[-2:]]
    if result.exit_code != 0 or not all(line in result.stderr for line in lines):
        pytest.fail(
            f"`summarise compare {' '.join(versions[-2:])} seeds/ --replay cassettes/runs/` "
            f"failed (exit {result.exit_code}): {result.stderr[-400:]}; re-record with "
            f"`{RECORD_COMMAND}`",
            pytrace=False,
        )
