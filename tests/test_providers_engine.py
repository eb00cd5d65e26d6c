"""The engine with real providers' answers: reasoning models learnt from their 400s, a
provider's rejection of its own model's JSON re-asked, errors inside a 200, odd answers,
cached and reasoning tokens, and the probe only where a limit is plausible.

Each server here answers with responses from ``tests/data/providers/`` (origins in its
README); a ``choose`` function makes it behave as the provider does (reject ``max_tokens``,
accept ``max_completion_tokens``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from recorded_server import Recorded, RecordedServer, load

from pipeline.cli import cli
from pipeline.client import Endpoint
from pipeline.engine import RunSettings, Summariser
from pipeline.prompts import load_prompt
from pipeline.providers import REASONING_ALLOWANCE

REPO = Path(__file__).resolve().parent.parent
ARTICLE = (
    "The city council approved a new cycle lane on Monday after a two-hour debate, the mayor "
    "said. The lane will run for 3 kilometres along the river and cost 1.2 million pounds, "
    "according to council papers. Work is due to start in the spring, and the council said "
    "it expected the lane to carry 4,000 cyclists a day within a year of opening."
)


def one(name: str, index: int = 0) -> Recorded:
    return load(name)[1][index]


def articles(tmp_path: Path, n: int) -> Path:
    folder = tmp_path / "in"
    folder.mkdir(exist_ok=True)
    for i in range(n):
        (folder / f"{i:03d}.txt").write_text(
            f"Cycle lane {i}\n\n{ARTICLE} Item number {i}.", encoding="utf-8"
        )
    return folder


def run(
    tmp_path: Path, srv: RecordedServer, model: str, n: int, *extra: str
) -> tuple[int, list[dict[str, Any]], str]:
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(
        cli,
        [
            "run",
            str(articles(tmp_path, n)),
            "--base-url",
            srv.base_url,
            "--model",
            model,
            "--out",
            str(out),
            "--quiet",
            "--no-dedupe",  # the generated articles are near-copies of one another
            *extra,
        ],
        env={"OPENAI_API_KEY": "test-key"},
    )
    records = [json.loads(x) for x in out.read_text().splitlines()] if out.exists() else []
    return result.exit_code, records, result.stderr


# -- a server that behaves as OpenAI's reasoning models do -----------------------------------


def reasoning_server() -> RecordedServer:
    """Rejects ``max_tokens`` and a non-default temperature with OpenAI's recorded 400s;
    answers anything else with gpt-5's recorded 200 (content swapped for a summary)."""
    max_tokens_400 = one("openai__400_max_tokens_unsupported")
    temperature_400 = one("openai__400_temperature_unsupported_value")
    ok = one("openai__gpt-5_200_reasoning_tokens")

    def choose(body: dict[str, Any], n: int) -> Recorded:
        if "max_tokens" in body:
            return max_tokens_400
        if body.get("temperature", 1) != 1:
            return temperature_400
        return ok

    return RecordedServer([ok], choose=choose)


def test_an_unlisted_reasoning_model_is_learnt_with_one_extra_request_per_adaptation(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the others wait for the first request's 400 however slow this machine is today
    monkeypatch.setattr("pipeline.engine._transport.REJECTION_WINDOW_S", 60.0)
    with reasoning_server() as srv:
        code, records, stderr = run(tmp_path, srv, "acme-thinker-1", 12, "--concurrency", "4")
        sent = list(srv.requests)
    assert code == 0, stderr
    assert [r["status"] for r in records] == ["ok"] * 12
    assert len(sent) == 12 + 2  # one 400 for max_tokens, one for temperature: run-wide
    assert stderr.count("acme-thinker-1: the server takes 'max_completion_tokens'") == 1
    assert stderr.count("acme-thinker-1: the server does not take 'temperature'") == 1
    final = sent[2:]
    assert all("max_tokens" not in b and "temperature" not in b for b in final)
    v2 = load_prompt("summarise@v2", REPO / "prompts")
    assert {b["max_completion_tokens"] for b in final} == {
        v2.max_output_tokens + REASONING_ALLOWANCE
    }
    # the 400s did not count as failed attempts, and reasoning tokens are stored
    assert all(r["attempts"] in (1, 2, 3) for r in records)
    assert all(r["usage"]["reasoning_tokens"] == 64 for r in records)


def test_a_late_rejection_costs_at_most_one_400_per_request_in_flight(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no rejection window at all, every request of the first round may go out in the
    old shape; each is re-sent once in the learnt shape, and the run still completes."""
    monkeypatch.setattr("pipeline.engine._transport.REJECTION_WINDOW_S", 0.0)
    with reasoning_server() as srv:
        code, records, stderr = run(tmp_path, srv, "acme-thinker-2", 12, "--concurrency", "4")
        sent = len(srv.requests)
    assert code == 0 and [r["status"] for r in records] == ["ok"] * 12
    assert 12 + 2 <= sent <= 12 + 2 * 4
    assert stderr.count("acme-thinker-2: the server takes 'max_completion_tokens'") == 1


def test_a_listed_reasoning_model_needs_no_400(tmp_path: Path) -> None:
    with reasoning_server() as srv:
        code, records, _ = run(tmp_path, srv, "gpt-5-mini", 5)
        sent = list(srv.requests)
    assert code == 0
    assert len(sent) == 5 and all("max_completion_tokens" in b for b in sent)


def test_an_answer_spent_on_reasoning_gets_the_grown_budget(tmp_path: Path) -> None:
    """gpt-5-mini's recorded answer: content '' and finish_reason length, all 50 output
    tokens reasoning. One retry with a doubled budget follows, as for any cut answer."""
    cut = one("openai__gpt-5-mini_200_length_all_reasoning")
    ok = one("openai__gpt-5_200_reasoning_tokens")
    with RecordedServer([cut, ok]) as srv:
        code, records, _ = run(tmp_path, srv, "gpt-5-mini", 1)
        sent = list(srv.requests)
    assert code == 0 and records[0]["status"] == "ok"
    budgets = [b["max_completion_tokens"] for b in sent]
    assert budgets[1] > budgets[0] > 2500  # room to think from the start, then grown


def test_reasoning_effort_is_sent_only_where_accepted() -> None:
    v2 = load_prompt("summarise@v2", REPO / "prompts")
    prompt = type(v2)(**{**v2.__dict__, "parameters": {**v2.parameters, "reasoning_effort": "low"}})
    from pipeline.articles import Article, article_id

    art = Article(id=article_id(ARTICLE), source="a.txt", text=ARTICLE, title="t")

    def first(model: str) -> dict[str, Any]:
        s = Summariser(prompt, Endpoint(model=model, base_url="http://127.0.0.1:9/v1", api_key="k"))
        return s.first_request(art)

    assert first("gpt-5")["reasoning_effort"] == "low"
    assert "reasoning_effort" not in first("gpt-4o-mini")  # known not to take it
    assert first("some-local-model")["reasoning_effort"] == "low"  # sent; dropped if refused


# -- errors in unusual places -----------------------------------------------------------------


def test_groq_json_validate_failed_is_re_asked_with_the_failed_generation(tmp_path: Path) -> None:
    rejected = one("groq__400_json_validate_failed")
    ok = one("groq__200_ratelimit_headers")
    with RecordedServer([rejected, ok]) as srv:
        code, records, _ = run(tmp_path, srv, "llama-3.3-70b-versatile", 1)
        sent = list(srv.requests)
    assert code == 0 and records[0]["status"] == "ok"
    assert len(sent) == 2
    reask = sent[1]["messages"]
    assert (
        reask[-2]["role"] == "assistant"
        and "packetTypeClassificationResult" in reask[-2]["content"]
    )
    assert "Failed to generate JSON" in reask[-1]["content"]


def test_openrouter_error_inside_a_200_is_retried_by_its_code(tmp_path: Path) -> None:
    err = one("openrouter__200_error_no_choices")
    ok = one("openrouter__200_gpt-4o_leading_whitespace")
    with RecordedServer([err, ok]) as srv:
        code, records, _ = run(tmp_path, srv, "openai/gpt-4o", 1)
        sent = len(srv.requests)
    assert code == 0 and records[0]["status"] == "ok"
    assert sent == 2 and records[0]["attempts"] == 2


def test_openrouter_error_inside_a_200_keeps_the_upstream_reason(tmp_path: Path) -> None:
    err = one("openrouter__200_error_no_choices")
    with RecordedServer([err]) as srv:
        code, records, _ = run(tmp_path, srv, "z-ai/glm", 1, "--max-attempts", "2")
    assert code == 1
    error = records[0]["error"]
    assert error["kind"] == "rate_limited"
    assert "BaseTen" in error["message"] and "temporarily rate-limited upstream" in error["message"]


def _variant(name: str, change: Any) -> Recorded:
    rec = one(name)
    body = rec.json()
    change(body)
    return Recorded(rec.status, rec.headers, json.dumps(body))


@pytest.mark.parametrize(
    ("what", "change", "status", "kind"),
    [
        ("empty choices", lambda b: b.update(choices=[]), "failed", "http_error"),
        ("no message", lambda b: b["choices"][0].pop("message"), "failed", "schema_invalid"),
        (
            "content null",
            lambda b: b["choices"][0]["message"].update(content=None),
            "failed",
            "schema_invalid",
        ),
        ("finish_reason null", lambda b: b["choices"][0].update(finish_reason=None), "ok", None),
    ],
)
def test_odd_answers_each_have_a_defined_outcome(
    tmp_path: Path, what: str, change: Any, status: str, kind: str | None
) -> None:
    """Each built from a recorded envelope (Mistral's) with one field changed, as named."""
    rec = _variant("mistral__200_minute_month_headers", change)
    with RecordedServer([rec], fit=status == "ok") as srv:  # a summary only where one is due
        code, records, _ = run(tmp_path, srv, "mistral-tiny", 1, "--max-attempts", "3")
    r = records[0]
    assert r["status"] == status, what
    assert (r["error"] or {}).get("kind") == kind, what


def test_finish_reason_eos_is_a_normal_end(tmp_path: Path) -> None:
    with RecordedServer([one("together__200_finish_eos")]) as srv:
        code, records, _ = run(tmp_path, srv, "mistralai/Mixtral-8x7B-Instruct-v0.1", 1)
    assert code == 0 and records[0]["status"] == "ok"


def test_azure_content_filter_without_a_message_is_a_refusal(tmp_path: Path) -> None:
    with RecordedServer([one("azure__200_content_filter_no_message")]) as srv:
        code, records, _ = run(tmp_path, srv, "gpt-35-turbo", 1)
    assert records[0]["error"]["kind"] == "refusal" and code == 1


# -- tokens and cost --------------------------------------------------------------------------


def test_cached_tokens_are_stored_and_priced_at_the_cached_rate(tmp_path: Path) -> None:
    """dd-trace's recorded gpt-4o answer read 1,152 of 1,220 prompt tokens from the cache
    (and was cut at 100 tokens: the article ends truncated, after the one grown retry)."""
    with RecordedServer([one("openai__gpt-4o_200_prompt_cache_read")]) as srv:
        _, records, _ = run(tmp_path, srv, "gpt-4o", 1)
    r = records[0]
    assert r["usage"]["cached_tokens"] == 2 * 1152 and r["usage"]["prompt_tokens"] == 2 * 1220
    full = (2 * 1220 * 2.50 + 2 * 100 * 10.00) / 1e6
    cached = (2 * (1220 - 1152) * 2.50 + 2 * 1152 * 1.25 + 2 * 100 * 10.00) / 1e6
    assert r["cost_usd"] == pytest.approx(cached) and cached < full


def test_a_model_missing_from_the_price_table_costs_null_with_one_note(tmp_path: Path) -> None:
    with RecordedServer([one("ollama__200_gemma3")]) as srv:
        code, records, stderr = run(tmp_path, srv, "gemma3:4b-unpriced", 3)
    assert code == 0
    assert [r["cost_usd"] for r in records] == [None] * 3
    assert stderr.count("no price for model 'gemma3:4b-unpriced'") == 1


def test_instructions_come_first_and_the_article_last() -> None:
    """Fixed text first, so providers' automatic prefix caching covers it."""
    v2 = load_prompt("summarise@v2", REPO / "prompts")
    from pipeline.articles import Article, article_id

    art = Article(id=article_id(ARTICLE), source="a.txt", text=ARTICLE, title="t")
    s = Summariser(v2, Endpoint(model="gpt-4o", base_url="http://127.0.0.1:9/v1", api_key="k"))
    messages = s.first_request(art)["messages"]
    assert ARTICLE not in messages[0]["content"]
    assert messages[-1]["content"].rstrip().endswith(ARTICLE + "\n</article>") or messages[-1][
        "content"
    ].rstrip().endswith("</article>")
    assert messages[-1]["content"].index(ARTICLE) > len(messages[-1]["content"]) - len(ARTICLE) - 20


# -- long waits -------------------------------------------------------------------------------


def test_a_daily_quota_ends_a_100_article_run_at_once_with_exit_2(tmp_path: Path) -> None:
    with RecordedServer([one("groq__429_tokens_per_day")]) as srv:
        code, records, stderr = run(tmp_path, srv, "llama-3.3-70b-versatile", 100)
        sent = len(srv.requests)
    assert code == 2
    assert len(records) == 100 and {r["error"]["kind"] for r in records} == {"rate_limited"}
    assert sent <= 8  # the requests in flight when it came: nothing after
    assert "resets in 9 min 39 s" in stderr and "run the same command again" in stderr


def test_a_short_wait_is_shown_on_stderr(tmp_path: Path) -> None:
    wait = Recorded(
        429,
        [("retry-after", "1"), ("content-type", "application/json")],
        json.dumps({"error": {"message": "Rate limit reached", "code": "rate_limit_exceeded"}}),
    )
    ok = one("groq__200_ratelimit_headers")
    with RecordedServer([wait, ok]) as srv:
        code, records, stderr = run(tmp_path, srv, "llama-3.1-8b-instant", 1)
    assert code == 0 and records[0]["status"] == "ok"
    assert "waiting 1 s: rate limit" in stderr


# -- the probe --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "probes"),
    [
        (Endpoint(model="gpt-4o-mini", api_key="k"), True),
        (Endpoint(model="m", base_url="https://api.together.xyz/v1", api_key="k"), True),
        (Endpoint(model="m", base_url="http://127.0.0.1:8000/v1", api_key="k"), False),
        (Endpoint(model="builtin"), False),
    ],
)
def test_the_first_request_goes_alone_only_where_a_limit_is_plausible(
    endpoint: Endpoint, probes: bool
) -> None:
    v2 = load_prompt("summarise@v2", REPO / "prompts")
    s = Summariser(v2, endpoint, settings=RunSettings())
    assert s.limiter._probe is probes
    with_rpm = Summariser(v2, endpoint, settings=RunSettings(rpm=600))
    assert with_rpm.limiter._probe is False
