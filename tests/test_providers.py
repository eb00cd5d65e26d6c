"""Real providers: responses recorded from (or quoted from) OpenAI's reasoning models, Azure,
Groq, Ollama, vLLM, llama.cpp, LM Studio, OpenRouter, Together, Mistral and DeepSeek, served
by a local server and read through the real SDK and :mod:`pipeline.providers`.

Origins are in ``tests/data/providers/README.md``; :mod:`recorded_server` serves them.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

import openai
import pytest
import yaml
from click.testing import CliRunner
from recorded_server import DATA, RecordedServer, load

from pipeline import providers
from pipeline.cli import cli
from pipeline.client import Endpoint, make_client, resolve_endpoint
from pipeline.errors import ConfigError
from pipeline.prices import cost_usd, default_prices, missing_price_note
from pipeline.providers import (
    SYSTEM_ROLE,
    Adaptation,
    RequestShape,
    adaptation_for,
    classify_error,
    error_fields,
    read_rate_limits,
)
from pipeline.ratelimit import Limiter
from pipeline.retry import BodyError, Failure, classify

FILES = sorted(p.stem for p in DATA.glob("*.yaml"))
REQUEST = {
    "model": "m",
    "messages": [{"role": "user", "content": "hello"}],
    "max_tokens": 1200,
    "temperature": 0.2,
}
ARTICLE = (
    "The city council approved a new cycle lane on Monday after a two-hour debate, the mayor "
    "said. The lane will run for 3 kilometres along the river and cost 1.2 million pounds, "
    "according to council papers. Work is due to start in the spring, and the council said "
    "it expected the lane to carry 4,000 cyclists a day within a year of opening."
)


# -- the data ---------------------------------------------------------------------------------


def test_every_recording_names_its_provider_and_origin_in_the_readme() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    per_provider: dict[str, int] = {}
    for name in FILES:
        meta, responses = load(name)
        assert responses, name
        assert meta["kind"] in ("recorded", "quoted", "documented", "quoted+documented"), name
        origin = meta["origin"]
        assert origin.get("url") or (origin["repository"] and origin["commit"]), name
        assert f"`{name}.yaml`" in readme, f"{name} is not in tests/data/providers/README.md"
        per_provider[meta["provider"]] = per_provider.get(meta["provider"], 0) + 1
    for provider in ("openai", "azure", "groq", "ollama", "vllm", "llama.cpp", "lm-studio"):
        assert provider in per_provider
    for provider in ("openai", "azure", "groq", "ollama", "vllm", "openrouter", "together"):
        assert per_provider[provider] >= 2, provider
    for provider in ("mistral", "deepseek"):
        assert per_provider[provider] >= 2, provider


def test_no_recording_holds_a_secret() -> None:
    key_like = re.compile(
        r"(sk-[A-Za-z0-9]{16,}|Bearer\s+[A-Za-z0-9._-]{16,}|__cf_bm=|org-[A-Za-z0-9]{12,})"
    )
    for path in DATA.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        assert not key_like.search(text), path.name
        data = yaml.safe_load(text)
        for it in data["interactions"]:
            for side in ("request", "response"):
                names = {k.lower() for k in (it[side].get("headers") or {})}
                assert not names & {"authorization", "api-key", "cookie", "set-cookie"}, path.name
                assert not names & {"openai-organization", "openai-project"}, path.name


# -- errors, through the real SDK -------------------------------------------------------------


def _failure(name: str, index: int = 0, request: dict[str, Any] | None = None) -> Failure:
    """Send ``request`` to a server answering with recorded response ``index`` of ``name``;
    classify what the SDK raises (or the error a 200 answer carries)."""
    _, responses = load(name)
    req = dict(request or REQUEST)

    async def go(url: str) -> Failure:
        client = make_client(Endpoint(model=req["model"], base_url=url, api_key="test-key"))
        try:
            raw = await client.chat.completions.with_raw_response.create(**req)
        except openai.APIError as exc:
            return classify(exc, url=url, request=req)
        finally:
            await client.close()
        data = json.loads(raw.http_response.text)
        found = providers.body_error(data)
        assert found is not None, f"{name}: a 200 with no error"
        return classify(BodyError(found, raw.headers), url=url, request=req)

    with RecordedServer([responses[index]], fit=False) as srv:
        return asyncio.run(go(srv.base_url))


@pytest.mark.parametrize(
    ("name", "index", "kind", "retryable", "stop_run", "words"),
    [
        ("azure__400_content_filter_prompt", 0, "refusal", False, False, "content management"),
        (
            "azure__gpt-5-nano_200_then_404_deployment_not_found",
            1,
            "http_error",
            False,
            True,
            "--model",
        ),
        ("groq__429_tokens_per_day", 0, "rate_limited", False, True, "run the same command"),
        ("vllm__400_context_length", 0, "too_long", False, False, "maximum context length"),
        ("vllm__400_max_tokens_negative", 0, "too_long", False, False, "got -186"),
        ("llamacpp__400_exceed_context_size", 0, "too_long", False, False, "context size"),
        ("lmstudio__400_context_keep", 0, "too_long", False, False, "context length"),
        ("openrouter__429_upstream_rate_limited", 0, "rate_limited", True, False, "Google"),
        ("openrouter__200_error_no_choices", 0, "rate_limited", True, False, "BaseTen"),
        ("deepseek__402_insufficient_balance", 0, "rate_limited", False, True, "add credit"),
    ],
)
def test_recorded_errors_are_classified_by_what_they_mean(
    name: str, index: int, kind: str, retryable: bool, stop_run: bool, words: str
) -> None:
    f = _failure(name, index)
    assert (f.kind, f.retryable, f.stop_run) == (kind, retryable, stop_run), f
    assert words in f.message


def test_openrouter_keeps_the_upstream_reason_and_provider() -> None:
    f = _failure("openrouter__429_upstream_rate_limited")
    assert "temporarily rate-limited upstream" in f.message
    assert "upstream provider Google" in f.message


def test_groq_json_validate_failed_is_an_invalid_answer_to_re_ask() -> None:
    f = _failure("groq__400_json_validate_failed")
    assert (f.kind, f.reask, f.retryable) == ("schema_invalid", True, False)
    assert f.last_output is not None and "packetTypeClassificationResult" in f.last_output


def test_a_daily_quota_says_when_it_resets() -> None:
    f = _failure("groq__429_tokens_per_day")
    assert f.retry_after == 579
    assert "resets in 9 min 39 s" in f.message


@pytest.mark.parametrize(
    ("name", "request_extra", "change"),
    [
        (
            "openai__400_max_tokens_unsupported",
            {},
            Adaptation("max_tokens", "max_completion_tokens"),
        ),
        ("openai__400_temperature_unsupported_value", {}, Adaptation("temperature")),
        ("openai__400_temperature_unsupported_parameter", {}, Adaptation("temperature")),
        (
            "openai__gpt-5-mini_400_unsupported_stop_then_200",
            {"stop": ["4242"]},
            Adaptation("stop"),
        ),
    ],
)
def test_a_400_about_one_parameter_becomes_an_adaptation(
    name: str, request_extra: dict[str, Any], change: Adaptation
) -> None:
    f = _failure(name, 0, {**REQUEST, **request_extra})
    assert f.adapt == change
    assert not f.retryable and not f.stop_run


def test_a_400_about_a_parameter_the_request_lacks_is_not_adapted() -> None:
    f = _failure("openai__gpt-5-mini_400_unsupported_stop_then_200")  # no 'stop' sent
    assert f.adapt is None and f.kind == "http_error"


@pytest.mark.parametrize(
    ("message", "param", "req", "change"),
    [
        # wordings of a model nobody listed
        (
            "Unknown parameter: 'max_completion_tokens'.",
            None,
            {"max_completion_tokens": 9},
            Adaptation("max_completion_tokens", "max_tokens"),
        ),
        (
            "Unsupported parameter: 'max_tokens' is not supported with this model.",
            "max_tokens",
            {"max_tokens": 9},
            Adaptation("max_tokens", "max_completion_tokens"),
        ),
        (
            "Unrecognized request argument supplied: reasoning_effort",
            None,
            {"reasoning_effort": "low"},
            Adaptation("reasoning_effort"),
        ),
        (
            "'temperature' does not support 0 with this model. "
            "Only the default (1) value is supported.",
            None,
            {"temperature": 0},
            Adaptation("temperature"),
        ),
        ("top_p is not supported for this model", None, {"top_p": 1}, Adaptation("top_p")),
        # an output budget over the model's maximum is capped there (OpenAI's two wordings)
        (
            "Invalid 'max_tokens': integer above maximum value. Expected a value <= 16384, "
            "but got 20000 instead.",
            "max_tokens",
            {"max_tokens": 20000},
            Adaptation("max_tokens", cap=16384),
        ),
        (
            "max_tokens is too large: 5000. This model supports at most 4096 completion "
            "tokens, whereas you provided 5000.",
            "max_tokens",
            {"max_tokens": 5000},
            Adaptation("max_tokens", cap=4096),
        ),
        # o1-mini took no system message
        (
            "Unsupported value: 'messages[0].role' does not support 'system' with this model.",
            "messages[0].role",
            {
                "messages": [
                    {"role": "system", "content": "rules"},
                    {"role": "user", "content": "a"},
                ]
            },
            Adaptation(SYSTEM_ROLE),
        ),
        # an objection to a value is not a refusal of the parameter
        ("temperature must be between 0 and 2", "temperature", {"temperature": 5}, None),
        # never adapted away
        ("Invalid value for 'messages'", "messages", {"messages": []}, None),
        (
            "Unsupported parameter: 'response_format'",
            "response_format",
            {"response_format": {}},
            None,
        ),
        ("This model's maximum context length is 8192 tokens", None, {"max_tokens": 9}, None),
    ],
)
def test_adaptation_rules(
    message: str, param: Any, req: dict[str, Any], change: Adaptation | None
) -> None:
    assert adaptation_for(message, param, req) == change


def test_request_shape_learns_once_and_applies_to_every_request() -> None:
    shape = RequestShape.for_model("my-unlisted-model")
    assert shape.apply(REQUEST) == REQUEST
    assert shape.learn(Adaptation("max_tokens", "max_completion_tokens"))
    assert not shape.learn(Adaptation("max_tokens", "max_completion_tokens"))  # told once
    assert shape.learn(Adaptation("temperature"))
    sent = shape.apply(REQUEST)
    assert sent == {"model": "m", "messages": REQUEST["messages"], "max_completion_tokens": 1200}
    assert shape.reasoning
    # an older server that only knows max_tokens undoes the rename
    assert shape.learn(Adaptation("max_completion_tokens", "max_tokens"))
    assert "max_tokens" in shape.apply(REQUEST)


@pytest.mark.parametrize(
    ("model", "renamed", "dropped"),
    [
        ("gpt-5-mini", True, True),
        ("o3", True, True),
        ("openai/o1", True, True),
        ("o4-mini-2025-04-16", True, True),
        ("gpt-4o-mini", False, False),
        ("llama3.1:8b", False, False),
        ("gpt-5-chat-latest", False, False),
    ],
)
def test_known_model_table_short_cuts_the_first_400(
    model: str, renamed: bool, dropped: bool
) -> None:
    sent = RequestShape.for_model(model).apply(REQUEST)
    assert ("max_completion_tokens" in sent) is renamed
    assert ("temperature" not in sent) is dropped


# -- rate-limit headers -----------------------------------------------------------------------


def _headers(name: str, index: int = 0) -> dict[str, str]:
    _, responses = load(name)
    return dict(responses[index].headers)


@pytest.mark.parametrize(
    ("name", "rpm", "tpm", "charges_output"),
    [
        ("openai__gpt-5_200_reasoning_tokens", 5000, 2_000_000, True),
        ("azure__200_ratelimit_headers", 120, 120_000, True),
        ("groq__200_ratelimit_headers", 14_400, 30_000, True),  # requests per day: a high ceiling
        ("together__200_per_second_limits", 600, 180_000, False),  # per second
        ("together__200_finish_eos", 120, None, False),
        ("mistral__200_minute_month_headers", 360, 2_000_000, False),  # 60 per 10 s; month ignored
        ("ollama__200_gemma3", None, None, False),
        ("openrouter__200_gpt-4o_leading_whitespace", None, None, False),
        ("deepseek__200_reasoner", None, None, False),
    ],
)
def test_rate_limit_headers_of_every_dialect(
    name: str, rpm: float | None, tpm: float | None, charges_output: bool
) -> None:
    limits = read_rate_limits(_headers(name))
    assert (limits.rpm, limits.tpm, limits.charges_output) == (rpm, tpm, charges_output)


def test_headers_that_cannot_be_read_are_ignored() -> None:
    together = read_rate_limits(_headers("together__200_per_second_limits"))
    assert together.requests.remaining is None  # 'remaining 19' above 'limit 10': not trusted
    azure = read_rate_limits(_headers("azure__200_ratelimit_headers"))
    assert azure.requests.reset_s is None  # a unit-less '500' is not read as 500 s
    junk = read_rate_limits(
        {"x-ratelimit-limit-requests": "lots", "x-ratelimit-reset-tokens": "soon"}
    )
    assert (junk.rpm, junk.tokens.reset_s) == (None, None)


def _run_limiter(headers: dict[str, str], n: int, prompt_chars: int, max_out: int) -> float:
    """Simulated time for ``n`` requests after one answer carrying ``headers``."""
    now = [0.0]

    async def sleep(s: float) -> None:
        now[0] += s

    async def go() -> float:
        lim = Limiter(clock=lambda: now[0], sleep=sleep, probe=False)
        lim.observe(
            headers,
            estimated_prompt=prompt_chars // 4,
            actual_prompt=prompt_chars // 4,
            actual_output=400,
        )
        for _ in range(n):
            await lim.acquire(lim.estimate(prompt_chars, max_out))
            lim.release()
        return now[0]

    return asyncio.run(go())


def test_three_articles_against_togethers_headers_take_seconds_not_a_minute() -> None:
    spent = _run_limiter(_headers("together__200_per_second_limits"), 3, 6_000, 1_200)
    assert spent < 3.0, spent  # simulated seconds; read as per minute it would be about 80


def test_openai_style_limits_charge_the_output_budget_up_front() -> None:
    h = {"x-ratelimit-limit-requests": "10000", "x-ratelimit-limit-tokens": "60000"}
    # 20 requests of 1,500 prompt + 1,200 output tokens at 60,000 TPM: output is charged
    charged = _run_limiter(h, 20, 6_000, 1_200)
    mistral = {
        "x-ratelimit-limit-tokens-minute": "60000",
        "x-ratelimit-limit-req-10-second": "1000",
    }
    used = _run_limiter(mistral, 20, 6_000, 1_200)
    assert charged > used > 0


# -- whole runs through the command line ------------------------------------------------------


def _articles(tmp_path: Path, n: int) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(n):
        (folder / f"{i}.txt").write_text(
            f"Cycle lane {i}\n\n"
            + ARTICLE.replace("Monday", ["Monday", "Tuesday", "Friday", "Sunday"][i % 4])
            + f" Item {i}.",
            encoding="utf-8",
        )
    return folder


def _run(
    tmp_path: Path, srv: RecordedServer, model: str, n: int = 3, *extra: str
) -> tuple[int, list[dict[str, Any]], str]:
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(_articles(tmp_path, n)),
            "--base-url",
            srv.base_url,
            "--model",
            model,
            "--out",
            str(out),
            "--quiet",
            *extra,
        ],
        env={"OPENAI_API_KEY": "test-key"},
    )
    records = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    return result.exit_code, records, result.output


@pytest.mark.parametrize(
    "name",
    [
        "openai__gpt-5_200_reasoning_tokens",
        "azure__200_ratelimit_headers",
        "groq__200_ratelimit_headers",
        "ollama__200_gemma3",
        "ollama__200_json_schema_with_reasoning",
        "openrouter__200_gpt-4o_leading_whitespace",
        "together__200_per_second_limits",
        "together__200_finish_eos",
        "mistral__200_minute_month_headers",
        "mistral__200_stop",
        "deepseek__200_reasoner",
    ],
)
def test_a_run_against_each_recorded_success_completes(tmp_path: Path, name: str) -> None:
    """The recorded envelope and headers, with the content swapped for a valid summary."""
    _, responses = load(name)
    model = responses[0].json().get("model", "m")
    n = 3 if name.startswith("together") else 1  # Together: three articles pace in seconds
    with RecordedServer(responses[:1]) as srv:
        code, records, output = _run(tmp_path, srv, model, n)
    assert code == 0, output
    assert [r["status"] for r in records] == ["ok"] * n
    usage = responses[0].json().get("usage") or {}
    if usage.get("prompt_tokens"):
        assert records[0]["usage"]["prompt_tokens"] == usage["prompt_tokens"]


@pytest.mark.parametrize(
    ("name", "kind", "words"),
    [
        ("deepseek__402_insufficient_balance", "rate_limited", "add credit"),
        ("groq__429_tokens_per_day", "rate_limited", "run the same command again"),
        ("azure__gpt-5-nano_200_then_404_deployment_not_found", "http_error", "deployment"),
    ],
)
def test_a_stopped_account_records_every_article_and_exits_2(
    tmp_path: Path, name: str, kind: str, words: str
) -> None:
    _, responses = load(name)
    stopping = [r for r in responses if r.status != 200][0]
    with RecordedServer([stopping]) as srv:
        code, records, output = _run(tmp_path, srv, "m", 10, "--concurrency", "4")
        sent = len(srv.requests)
    assert code == 2, output
    assert len(records) == 10
    assert {r["status"] for r in records} == {"failed"}
    assert {r["error"]["kind"] for r in records} == {kind}
    assert words in records[0]["error"]["message"]
    assert sent <= 4  # it stopped at once: only what was in flight


@pytest.mark.parametrize(
    "name",
    ["vllm__400_context_length", "llamacpp__400_exceed_context_size", "lmstudio__400_context_keep"],
)
def test_a_context_overflow_fails_that_article_as_too_long(tmp_path: Path, name: str) -> None:
    _, responses = load(name)
    with RecordedServer(responses) as srv:
        code, records, _ = _run(tmp_path, srv, "local", 2)
        sent = len(srv.requests)
    assert code == 1
    assert [r["error"]["kind"] for r in records] == ["too_long", "too_long"]
    assert sent == 2  # not retried


# -- Azure ------------------------------------------------------------------------------------


def test_azure_older_api_from_its_environment_variables() -> None:
    env = {
        "AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com",
        "AZURE_OPENAI_API_KEY": "az-key",
        "OPENAI_API_VERSION": "2024-10-21",
    }
    ep = resolve_endpoint(model="my-deployment", env=env)
    assert (ep.azure_endpoint, ep.api_version, ep.model) == (
        env["AZURE_OPENAI_ENDPOINT"],
        "2024-10-21",
        "my-deployment",
    )
    assert "az-key" not in repr(ep) and "az-key" not in ep.label
    assert isinstance(make_client(ep), openai.AsyncAzureOpenAI)
    with pytest.raises(ConfigError, match="OPENAI_API_VERSION"):
        resolve_endpoint(model="d", env={**env, "OPENAI_API_VERSION": ""})
    with pytest.raises(ConfigError, match="--model DEPLOYMENT"):
        resolve_endpoint(env=env)


def test_azure_run_uses_the_deployment_path_and_scrubs_the_api_key(tmp_path: Path) -> None:
    _, responses = load("azure__200_ratelimit_headers")
    cassette = tmp_path / "azure.yaml"
    with RecordedServer(responses) as srv:
        endpoint = srv.base_url.removesuffix("/v1")
        result = CliRunner().invoke(
            cli,
            [
                "run",
                str(_articles(tmp_path, 2)),
                "--model",
                "my-deployment",
                "--quiet",
                "--record",
                str(cassette),
                "--out",
                str(tmp_path / "o.jsonl"),
            ],
            env={
                "AZURE_OPENAI_ENDPOINT": endpoint,
                "AZURE_OPENAI_API_KEY": "az-secret-key-123456",
                "OPENAI_API_VERSION": "2024-10-21",
            },
        )
        paths = list(srv.paths)
    assert result.exit_code == 0, result.output
    assert paths and all(
        p.startswith("/openai/deployments/my-deployment/chat/completions?api-version=2024-10-21")
        for p in paths
    )
    text = cassette.read_text(encoding="utf-8")
    assert "az-secret-key-123456" not in text
    assert "api-version=2024-10-21" in text


def test_azure_v1_api_is_an_ordinary_base_url() -> None:
    ep = resolve_endpoint(
        model="gpt-4.1-mini",
        base_url="https://res.openai.azure.com/openai/v1/",
        env={"OPENAI_API_KEY": "k", "AZURE_OPENAI_ENDPOINT": "https://res.openai.azure.com"},
    )
    assert ep.azure_endpoint is None and ep.base_url == "https://res.openai.azure.com/openai/v1/"
    assert type(make_client(ep)) is openai.AsyncOpenAI


# -- cost -------------------------------------------------------------------------------------


def test_cached_tokens_are_priced_at_the_cached_rate_and_batch_at_half() -> None:
    t = default_prices()
    full = cost_usd(t, "gpt-4o-mini", 1_000_000, 0)
    half_cached = cost_usd(t, "gpt-4o-mini", 1_000_000, 0, cached_tokens=500_000)
    assert full == pytest.approx(0.15)
    assert half_cached == pytest.approx(0.5 * 0.15 + 0.5 * 0.075)
    assert cost_usd(t, "gpt-4o-mini", 1_000_000, 1_000_000, tier="batch") == pytest.approx(0.375)
    assert t.taken and "openai.com/api/pricing" in t.note


def test_a_model_with_no_price_costs_null_with_one_note() -> None:
    t = default_prices()
    assert cost_usd(t, "llama3.1:8b-unpriced", 1000, 1000) is None
    note = missing_price_note(t, "llama3.1:8b-unpriced")
    assert note is not None and "cost_usd is null" in note and "--prices FILE" in note
    assert missing_price_note(t, "llama3.1:8b-unpriced") is None  # once
    assert missing_price_note(t, "gpt-4o-mini") is None  # priced


@pytest.mark.parametrize(
    ("base_url", "rpm", "needed"),
    [
        (None, None, True),  # api.openai.com
        ("https://api.groq.com/openai/v1", None, True),
        ("https://res.openai.azure.com/openai/v1/", None, True),
        ("https://api.groq.com/openai/v1", 600.0, False),  # --rpm paces from the start
        ("http://localhost:11434/v1", None, False),  # Ollama
        ("http://127.0.0.1:8000/v1", None, False),  # vLLM on this machine
        ("http://192.168.1.20:8080/v1", None, False),  # llama.cpp on the home network
    ],
)
def test_the_probe_goes_only_where_a_rate_limit_is_plausible(
    base_url: str | None, rpm: float | None, needed: bool
) -> None:
    from pipeline.ratelimit import probe_needed

    assert probe_needed(base_url, rpm=rpm) is needed


def test_a_model_without_a_system_role_gets_the_instructions_in_the_user_message() -> None:
    shape = RequestShape.for_model("o1-mini-like")
    assert shape.learn(Adaptation(SYSTEM_ROLE)) and not shape.learn(Adaptation(SYSTEM_ROLE))
    req = {"messages": [{"role": "system", "content": "RULES"}, {"role": "user", "content": "ART"}]}
    assert shape.apply(req)["messages"] == [{"role": "user", "content": "RULES\n\nART"}]


def test_a_cap_holds_for_every_later_request() -> None:
    shape = RequestShape.for_model("gpt-3.5-turbo")
    assert shape.learn(Adaptation("max_tokens", cap=4096))
    assert shape.apply({"max_tokens": 5000})["max_tokens"] == 4096
    assert shape.apply({"max_tokens": 2500})["max_tokens"] == 2500


@pytest.mark.parametrize(
    ("status", "body", "rule"),
    [
        # Together (documented wording of its input validation)
        (
            400,
            {
                "error": {
                    "message": "Input validation error: `inputs` tokens + `max_new_tokens` "
                    "must be <= 8193. Given: 7500 `inputs` tokens and 2500 `max_new_tokens`",
                    "type": "invalid_request_error",
                    "param": "max_tokens",
                }
            },
            "too_long",
        ),
        # Google's OpenAI-compatible endpoint answers with a list (documented shape)
        (
            400,
            [
                {
                    "error": {
                        "code": 400,
                        "message": "The input token count (1048577) exceeds the maximum "
                        "number of tokens allowed (1048576).",
                        "status": "INVALID_ARGUMENT",
                    }
                }
            ],
            "too_long",
        ),
        # vLLM's unknown model (its documented NotFoundError body)
        (
            404,
            {
                "object": "error",
                "message": "The model `llama-9` does not exist.",
                "type": "NotFoundError",
                "param": None,
                "code": 404,
            },
            "unknown_model",
        ),
    ],
)
def test_error_rules_read_other_servers_wordings(status: int, body: Any, rule: str) -> None:
    found = classify_error(status, error_fields(json.dumps(body)))
    assert found is not None and found.name == rule


def test_a_too_long_400_naming_max_tokens_is_not_adapted() -> None:
    body = {
        "error": {
            "message": "Input validation error: `inputs` tokens + `max_new_tokens` "
            "must be <= 8193.",
            "param": "max_tokens",
        }
    }
    f = error_fields(json.dumps(body))
    assert adaptation_for(f.message, f.param, {"max_tokens": 2500}) is None


def test_googles_retry_delay_sets_the_wait() -> None:
    body = [
        {
            "error": {
                "code": 429,
                "message": "You exceeded your current quota, please check your plan and "
                "billing details.",
                "status": "RESOURCE_EXHAUSTED",
                "details": [
                    {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "42s"}
                ],
            }
        }
    ]
    assert error_fields(json.dumps(body)).retry_delay == 42.0
