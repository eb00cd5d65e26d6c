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

import httpx2 as httpx
import openai
import pytest
import yaml
from holdout_replay import HOLDOUT, holdout, names, replay

from pipeline.providers import message_text, message_wait, read_rate_limits
from pipeline.retry import Failure, classify


@dataclass(frozen=True)
class Expect:
    exit_code: int
    kinds: tuple[str, ...]  # the records, in input order
    requests: int  # HTTP requests the server saw
    words: str = ""  # in the first record's error message (or stderr for an ok run)
    mode: str | None = None  # the first record's structured-output mode

    @property
    def n(self) -> int:
        return len(self.kinds)


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
    # cut at the budget every time: one grown-budget retry, then truncated (one article: the
    # recorded 30k-TPM headers, budgets charged up front, pace a second one by ~8 s)
    "openai__gpt-4o_200_length_ratelimit_headers": Expect(1, ("truncated",), 2),
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
    got = replay(name, tmp_path, n=want.n)
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


# -- the general rules the hold-out asked for, on wordings other than the recordings' --------


@pytest.mark.parametrize(
    ("message", "seconds"),
    [
        ("Please retry after 30 seconds.", 30.0),
        ("Requests ... have exceeded call rate limit. Please retry after 1 second.", 1.0),
        ("Quota exceeded for this deployment. Please retry after 2 hours.", 7200.0),
        ("Rate limited. Please try again in 45 seconds", 45.0),
        ("Please try again in 1m30s.", 90.0),
        ("retry after 250ms", 0.25),
        ("Please retry shortly.", None),
        ("The engine is currently overloaded, please try again later", None),
    ],
)
def test_a_wait_in_words_is_read(message: str, seconds: float | None) -> None:
    assert message_wait(message) == seconds


def _http_failure(status: int, body: object, headers: dict[str, str] | None = None) -> Failure:
    """What :func:`pipeline.retry.classify` makes of the SDK's error for this response."""
    request = httpx.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx.Response(status, json=body, headers=headers or {}, request=request)
    cls = {400: openai.BadRequestError, 429: openai.RateLimitError}.get(
        status, openai.APIStatusError
    )
    exc = cls("error", response=response, body=body)
    return classify(exc, request={"model": "m", "messages": [], "max_tokens": 10})


@pytest.mark.parametrize(
    ("message", "retryable", "stop_run"),
    [
        # a daily quota that names no wait: a retry within minutes cannot help
        ("Rate limit exceeded: limit_rpd/some-model/abc.", False, True),  # OpenRouter's name
        # ... but not its per-minute twin
        ("Rate limit exceeded: limit_rpm/some-model/abc. Please retry shortly.", True, False),
        ("You have reached your daily request limit.", False, True),
        ("Rate limit reached on requests per day (RPD): Limit 200, Used 200.", False, True),
        # a per-day limit that refills in seconds is waited for, not a stop
        ("Rate limit reached on requests per day (RPD). Please try again in 8.64s.", True, False),
        # one that says it is a day away stops, saying when
        ("Token rate limit exceeded. Please retry after 86400 seconds.", False, True),
        # an ordinary per-minute 429 is retried
        ("Rate limit reached on tokens per min (TPM). Please try again in 1.2s.", True, False),
    ],
)
def test_429s_are_read_for_how_long_they_last(
    message: str, retryable: bool, stop_run: bool
) -> None:
    f = _http_failure(429, {"error": {"message": message, "code": "429"}})
    assert (f.kind, f.retryable, f.stop_run) == ("rate_limited", retryable, stop_run), f
    if stop_run:
        assert "run the same command again" in f.message


@pytest.mark.parametrize(
    ("status", "body", "kind", "stop_run"),
    [
        # over the context in another provider's words, and a 413 from a proxy
        (
            400,
            {"error": "The maximum prompt length is 8192 but 9000 were given."},
            "too_long",
            False,
        ),
        (413, {"message": "Request Entity Too Large"}, "too_long", False),
        # a usage-policy refusal in other words
        (
            400,
            {"error": {"message": "This request violates our usage policies.", "code": "x"}},
            "refusal",
            False,
        ),
        # another model on too old an api-version
        (
            400,
            {
                "error": {
                    "code": "BadRequest",
                    "message": "Model o3-mini is enabled only for api "
                    "versions 2024-12-01-preview and later",
                }
            },
            "http_error",
            True,
        ),
        # a feature of structured output on too old an api-version: the next mode, no stop
        (
            400,
            {
                "error": {
                    "code": "BadRequest",
                    "message": "Structured output is enabled only for "
                    "api versions 2024-08-01-preview and later",
                }
            },
            "http_error",
            False,
        ),
    ],
)
def test_error_rules_read_the_holdout_kinds_in_other_words(
    status: int, body: object, kind: str, stop_run: bool
) -> None:
    f = _http_failure(status, body)
    assert (f.kind, f.stop_run) == (kind, stop_run), f
    assert not f.retryable


@pytest.mark.parametrize(
    ("content", "text"),
    [
        ("plain", "plain"),
        (None, None),
        ({"headline": "H"}, '{"headline": "H"}'),  # JSON the server already parsed
        ([{"a": 1}], '[{"a": 1}]'),
        (  # content parts: the text, without the model's thinking
            [
                {"type": "thinking", "thinking": [{"type": "text", "text": "hmm"}]},
                {"type": "text", "text": '{"head'},
                {"type": "text", "text": 'line": "H"}'},
            ],
            '{"headline": "H"}',
        ),
        ([{"type": "thinking", "text": "only thoughts"}], None),
        (42, None),
    ],
)
def test_message_content_in_any_shape_is_read_as_text(content: object, text: str | None) -> None:
    assert message_text(content) == text
