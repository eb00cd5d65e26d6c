"""The built-in offline model: Chat Completions in, a schema-valid summary out, every time."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx2
import openai
import pytest

from pipeline import builtin, extractive
from pipeline.articles import Article, iter_articles
from pipeline.client import Endpoint
from pipeline.engine import Summariser
from pipeline.prompts import Prompt, load_prompt
from pipeline.schemas import Schema, load_schema, minimal_instance

REPO = Path(__file__).resolve().parent.parent
SEEDS = [a for a in iter_articles([REPO / "seeds"]) if isinstance(a, Article)]
SHORT = (
    "The council approved 40 new homes on Tuesday, its planning chief said. "
    "Work starts in May and should finish by 2027, according to the developer."
)


@pytest.fixture(scope="module")
def summary() -> Schema:
    return load_schema("summary.v1")


@pytest.fixture(scope="module")
def v1() -> Prompt:
    return load_prompt("summarise@v1", REPO / "prompts")


@pytest.fixture(scope="module")
def v2() -> Prompt:
    return load_prompt("summarise@v2", REPO / "prompts")


def request(
    prompt: Prompt,
    text: str,
    *,
    schema: dict[str, Any] | None = None,
    response_format: dict[str, Any] | None = None,
    title: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "model": "builtin",
        "messages": prompt.render(text, title=title),
        "max_tokens": prompt.max_output_tokens,
        **extra,
    }
    if schema is not None:
        body["response_format"] = {
            "type": "json_schema",
            "json_schema": {"name": "summary", "schema": schema, "strict": True},
        }
    elif response_format is not None:
        body["response_format"] = response_format
    return body


def content_of(completion: dict[str, Any]) -> Any:
    return json.loads(completion["choices"][0]["message"]["content"])


def test_the_seeds_are_there() -> None:
    assert len(SEEDS) >= 20


@pytest.mark.parametrize("article", SEEDS, ids=[Path(a.source).name for a in SEEDS])
def test_every_seed_gets_a_valid_summary(article: Article, v2: Prompt, summary: Schema) -> None:
    completion = builtin.chat_completion(
        request(v2, article.text, schema=summary.strict, title=article.title)
    )
    assert completion["object"] == "chat.completion"
    assert completion["model"] == "builtin"
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "stop"
    assert choice["message"]["role"] == "assistant"
    assert choice["message"]["refusal"] is None
    assert summary.errors(content_of(completion)) == []
    usage = completion["usage"]
    assert usage["prompt_tokens"] > 0 and usage["completion_tokens"] > 0
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize(
    "response_format", [None, {"type": "json_object"}, {"type": "text"}], ids=str
)
def test_without_a_schema_it_still_answers_summary_v1(
    response_format: dict[str, Any] | None, v2: Prompt, summary: Schema
) -> None:
    body = request(v2, SEEDS[0].text, response_format=response_format, title=SEEDS[0].title)
    assert summary.errors(content_of(builtin.chat_completion(body))) == []


def test_deterministic(v2: Prompt, summary: Schema) -> None:
    body = request(v2, SEEDS[3].text, schema=summary.strict, title=SEEDS[3].title)
    first = builtin.chat_completion(body)
    assert builtin.chat_completion(json.loads(json.dumps(body))) == first
    assert first["id"].startswith("chatcmpl-builtin-")
    other = builtin.chat_completion(request(v2, SEEDS[4].text, schema=summary.strict))
    assert other["id"] != first["id"]


@pytest.mark.parametrize(
    "schema",
    [
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["score", "label", "tags"],
            "properties": {
                "score": {"type": "integer"},
                "label": {"type": "string", "enum": ["good", "bad"]},
                "tags": {"type": "array", "items": {"type": "string"}},
            },
        },
        {
            "type": "object",
            "additionalProperties": False,
            "required": ["headline", "note"],
            "properties": {"headline": {"type": "string"}, "note": {"type": ["string", "null"]}},
        },
    ],
    ids=["scores", "partial-summary-keys"],
)
def test_unknown_schema_gets_its_minimal_valid_instance(schema: dict[str, Any], v2: Prompt) -> None:
    answer = content_of(builtin.chat_completion(request(v2, SHORT, schema=schema)))
    assert answer == minimal_instance(schema)


def test_fits_the_summary_to_the_schema_asked_for(v2: Prompt) -> None:
    """A summary-like schema with fewer fields gets only those fields."""
    schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["headline", "summary", "key_points", "mood"],
        "properties": {
            "headline": {"type": "string"},
            "summary": {"type": "string"},
            "key_points": {"type": "array", "items": {"type": "string"}},
            "mood": {"type": "string"},
        },
    }
    answer = content_of(builtin.chat_completion(request(v2, SHORT, schema=schema)))
    assert list(answer) == ["headline", "summary", "key_points", "mood"]
    assert answer["mood"] == "n/a"
    assert answer["key_points"] and "40 new homes" in answer["summary"]


# --- directives: v1 and v2 are told apart ------------------------------------------------------


def test_v1_drops_figure_sources_and_caveats(v1: Prompt, summary: Schema) -> None:
    for article in SEEDS:
        answer = content_of(
            builtin.chat_completion(request(v1, article.text, schema=summary.strict))
        )
        assert all(f["source"] is None for f in answer["figures"]), article.source
        assert answer["caveats"] == [], article.source


def test_v2_keeps_sources_and_caveats(v2: Prompt, summary: Schema) -> None:
    answers = [
        content_of(builtin.chat_completion(request(v2, a.text, schema=summary.strict)))
        for a in SEEDS
    ]
    sourced = [f for a in answers for f in a["figures"] if f["source"]]
    assert len(sourced) >= 5
    assert any(a["caveats"] for a in answers)
    # the seed about troops sent to Russia contradicts itself ("South Korean troops")
    troops = next(
        a for art, a in zip(SEEDS, answers, strict=True) if "000_" in Path(art.source).name
    )
    assert troops["caveats"]
    assert any(
        "Seoul" in (f["source"] or "") or "Ukraine" in (f["source"] or "")
        for f in troops["figures"]
    )


# --- limits ------------------------------------------------------------------------------------


def test_over_long_article_is_a_context_length_error(v2: Prompt) -> None:
    text = "Rain fell. " * (extractive.MAX_ARTICLE_CHARS // 11 + 10)
    with pytest.raises(builtin.BuiltinBadRequest) as info:
        builtin.chat_completion(request(v2, text))
    assert info.value.code == "context_length_exceeded"
    assert "maximum context length" in info.value.message


def test_over_long_article_becomes_a_too_long_record(v2: Prompt) -> None:
    text = "Rain fell. " * (extractive.MAX_ARTICLE_CHARS // 11 + 10)
    article = Article(id="long", source="long.txt", text=text)
    summariser = Summariser(
        v2, Endpoint(model="builtin"), scorer=lambda s, x: {}, pricer=lambda m, a: None
    )

    async def go() -> Any:
        try:
            return await summariser.summarise(article)
        finally:
            await summariser.client.close()

    record, attempts = asyncio.run(go())
    assert record.status == "failed"
    assert record.error is not None and record.error["kind"] == "too_long"
    assert "maximum context length" in record.error["message"]
    assert len(attempts) == 1 and attempts[0].status_code == 400


@pytest.mark.parametrize("budget_key", ["max_tokens", "max_completion_tokens"])
def test_small_budget_cuts_the_answer(budget_key: str, v2: Prompt, summary: Schema) -> None:
    body = request(v2, SEEDS[0].text, schema=summary.strict)
    del body["max_tokens"]
    body[budget_key] = 50
    completion = builtin.chat_completion(body)
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "length"
    assert completion["usage"]["completion_tokens"] == 50
    assert len(choice["message"]["content"]) <= 200
    with pytest.raises(ValueError):
        json.loads(choice["message"]["content"])


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"model": "builtin", "messages": []}, "non-empty array"),
        ({"model": "builtin"}, "non-empty array"),
        ({"model": "builtin", "messages": [{"role": "system", "content": "x"}]}, "user message"),
        (
            {
                "model": "builtin",
                "messages": [{"role": "user", "content": "<article>\n</article>"}],
            },
            "no article text",
        ),
        (
            {
                "model": "builtin",
                "messages": [{"role": "user", "content": "<article>Hi.</article>"}],
            },
            "too short",
        ),
        (
            {"model": "builtin", "stream": True, "messages": [{"role": "user", "content": SHORT}]},
            "does not stream",
        ),
    ],
)
def test_bad_requests(body: dict[str, Any], fragment: str) -> None:
    with pytest.raises(builtin.BuiltinBadRequest, match=fragment):
        builtin.chat_completion(body)


# --- over HTTP: the transport the SDK is handed ------------------------------------------------


def test_handle_answers_400_with_openai_error_body() -> None:
    body = {"model": "builtin", "messages": [{"role": "user", "content": "<article>Hi.</article>"}]}
    response = builtin.handle(
        httpx2.Request("POST", "http://builtin.invalid/v1/chat/completions", json=body)
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "article_too_short"


@pytest.mark.parametrize(
    ("method", "path", "content", "status"),
    [
        ("GET", "/v1/chat/completions", b"", 404),
        ("POST", "/v1/embeddings", b"{}", 404),
        ("POST", "/v1/chat/completions", b"{not json", 400),
        ("POST", "/v1/chat/completions", b"[1, 2]", 400),
    ],
)
def test_handle_rejects_other_requests(method: str, path: str, content: bytes, status: int) -> None:
    response = builtin.handle(
        httpx2.Request(method, "http://builtin.invalid" + path, content=content)
    )
    assert response.status_code == status
    assert "message" in response.json()["error"]


def test_sync_sdk_client_through_the_transport(v2: Prompt, summary: Schema) -> None:
    client = openai.OpenAI(
        base_url=builtin.BASE_URL,
        api_key="k",
        max_retries=0,
        http_client=httpx2.Client(transport=builtin.transport()),
    )
    completion = client.chat.completions.create(**request(v2, SHORT, schema=summary.strict))
    assert completion.model == "builtin"
    assert summary.errors(json.loads(completion.choices[0].message.content or "")) == []


def test_async_sdk_client_through_the_transport(v2: Prompt, summary: Schema) -> None:
    async def go() -> Any:
        client = openai.AsyncOpenAI(
            base_url=builtin.BASE_URL,
            api_key="k",
            max_retries=0,
            http_client=httpx2.AsyncClient(transport=builtin.transport()),
        )
        async with client:
            raw = await client.chat.completions.with_raw_response.create(
                **request(v2, SHORT, schema=summary.strict)
            )
            return raw.headers, raw.parse()

    headers, completion = asyncio.run(go())
    assert headers["x-request-id"] == completion.id
    assert summary.errors(json.loads(completion.choices[0].message.content or "")) == []
