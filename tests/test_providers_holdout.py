"""The provider hold-out: responses from providers and projects the provider rules were not
developed on (``tests/data/providers_holdout/``, origins in its README), replayed through
``summarise run`` (:mod:`holdout_replay`) and held to what DESIGN.md and issue 10 say must
happen. The expectations were written before the first replay; the README of the data folder
keeps that first result.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from holdout_replay import HOLDOUT, holdout, names, replay

from pipeline.providers import read_rate_limits


@dataclass(frozen=True)
class Expect:
    exit_code: int
    kinds: tuple[str, ...]  # the two records, in input order
    requests: int  # HTTP requests the server saw
    words: str = ""  # in the first record's error message (or stderr for an ok run)
    mode: str | None = None  # the first record's structured-output mode


OK2 = ("ok", "ok")
EXPECTED: dict[str, Expect] = {
    # -- successes: every request answered with the recording (content swapped) -------------
    "cerebras__200_day_and_minute_headers": Expect(0, OK2, 2),
    "mistral__200_ratelimitbysize_headers": Expect(0, OK2, 2),
    "mistral__200_req_minute_headers": Expect(0, OK2, 2),
    "huggingface__200_router_day_hour_minute_headers": Expect(0, OK2, 2),
    "openai__gpt-5-mini_200_ratelimit_headers": Expect(0, OK2, 2),
    "openai__gpt-5.4_200_ratelimit_headers": Expect(0, OK2, 2),
    "portkey__200_gateway_openai_headers": Expect(0, OK2, 2),
    "cloudflare__200_object_content_no_usage": Expect(0, OK2, 2),
    "vllm__200_null_fields": Expect(0, OK2, 2),
    # cut at the budget every time: one grown-budget retry each, then truncated
    "openai__gpt-4o_200_length_ratelimit_headers": Expect(1, ("truncated", "truncated"), 4),
    # -- errors: the recorded error first, then a recorded success --------------------------
    # a wait of a day: stop the run, say when it resets and that the same command resumes
    "azure__429_retry_after_86400_in_message": Expect(
        2, ("rate_limited", "rate_limited"), 1, "run the same command again"
    ),
    # a daily quota without a wait: waiting minutes cannot help either
    "openrouter__429_free_models_per_day": Expect(
        2, ("rate_limited", "rate_limited"), 1, "run the same command again"
    ),
    # billing: stop at once
    "openrouter__402_more_credits_or_fewer_max_tokens": Expect(
        2, ("rate_limited", "rate_limited"), 1, "add credit"
    ),
    # the endpoint cannot serve the model: stop, naming the fix
    "ollama__404_model_not_found": Expect(2, ("http_error", "http_error"), 1, "--model"),
    "azure__400_api_version_too_old_for_model": Expect(
        2, ("http_error", "http_error"), 1, "OPENAI_API_VERSION"
    ),
    # larger than the context (or the whole minute's token window): that article only
    "groq__413_request_too_large_tpm": Expect(1, ("too_long", "ok"), 2),
    "xai__400_maximum_prompt_length": Expect(1, ("too_long", "ok"), 2),
    "deepseek__400_context_length": Expect(1, ("too_long", "ok"), 2),
    "vllm__400_output_plus_prompt_over_context": Expect(1, ("too_long", "ok"), 2),
    "llamacpp__500_exceed_context_size": Expect(1, ("too_long", "ok"), 2),
    # the provider's policy filter refused the prompt: a refusal, not retried
    "openai__400_invalid_prompt_usage_policy": Expect(1, ("refusal", "ok"), 2),
    # a model without a system role: adapted, sent again at once
    "openai__400_o1-mini_no_system_role": Expect(0, OK2, 3, "system"),
    # a strict-schema keyword the server does not take: the next structured-output mode
    "groq__400_json_schema_keyword_unsupported": Expect(0, OK2, 3, mode="json_object"),
    # transient: retried, then answered
    "gemini__429_list_resource_exhausted": Expect(0, OK2, 3),
    "gemini__503_model_overloaded": Expect(0, OK2, 3),
    "openai__500_server_error": Expect(0, OK2, 3),
    "groq__429_tpm_try_again_in_seconds": Expect(0, OK2, 3),
    "meta__429_problem_json_detail": Expect(0, OK2, 3),
}


def test_every_holdout_file_has_an_expectation_an_origin_and_no_secret() -> None:
    readme = (HOLDOUT / "README.md").read_text(encoding="utf-8")
    assert sorted(EXPECTED) == [n for n in names() if n in EXPECTED]
    assert set(names()) == set(EXPECTED)
    key_like = re.compile(
        r"(sk-[A-Za-z0-9]{16,}|Bearer\s+[A-Za-z0-9._-]{16,}|__cf_bm=|org[-_][A-Za-z0-9]{12,}|"
        r"user_[A-Za-z0-9]{12,}|proj_[A-Za-z0-9]{12,})"
    )
    for name in names():
        meta, responses = holdout(name)
        assert responses and meta["replay"] in ("success", "error"), name
        assert meta["kind"] in ("recorded", "quoted", "quoted+documented"), name
        origin = meta["origin"]
        assert origin.get("url") or (origin["repository"] and origin["commit"]), name
        assert f"`{name}.yaml`" in readme, name
        text = (HOLDOUT / f"{name}.yaml").read_text(encoding="utf-8")
        assert not key_like.search(text), name
        for it in yaml.safe_load(text)["interactions"]:
            headers = {k.lower() for k in it["response"].get("headers") or {}}
            assert not headers & {"set-cookie", "authorization", "api-key", "openai-organization"}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_holdout_response_through_summarise_run(tmp_path: Path, name: str) -> None:
    want = EXPECTED[name]
    got = replay(name, tmp_path)
    assert (got.exit_code, tuple(got.kinds), len(got.requests)) == (
        want.exit_code,
        want.kinds,
        want.requests,
    ), f"{got.summary()}\n{got.stderr}"
    if want.words:
        first = got.records[0]
        text = (first.get("error") or {}).get("message") or got.stderr
        assert want.words in text, text
    if want.mode:
        assert got.records[0]["mode"] == want.mode


@pytest.mark.parametrize(
    ("name", "rpm", "tpm"),
    [
        # daily request quota is not a pace; the minute's tokens are
        ("cerebras__200_day_and_minute_headers", None, 60_000),
        ("mistral__200_req_minute_headers", 60, 500_000),
        ("openai__gpt-5-mini_200_ratelimit_headers", 5_000, 4_000_000),
        # only 'remaining' counts, of 2**63 tokens: nothing to pace by
        ("huggingface__200_router_day_hour_minute_headers", None, None),
    ],
)
def test_holdout_rate_limit_headers(name: str, rpm: float | None, tpm: float | None) -> None:
    _, responses = holdout(name)
    limits = read_rate_limits(dict(responses[0].headers))
    assert (limits.rpm, limits.tpm) == (rpm, tpm)
