"""The output record (DESIGN.md, "The output record"): its fields, JSON form and round trip."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pipeline.records import Record, utc_now

# the example record in DESIGN.md, in its order
DESIGN_FIELDS = [
    "article_id",
    "source",
    "title",
    "prompt",
    "prompt_version",
    "prompt_sha256",
    "schema",
    "model",
    "status",
    "summary",
    "error",
    "checks",
    "attempts",
    "usage",
    "cost_usd",
    "latency_ms",
    "cached",
    "created_at",
    "url",
    "published",
    "author",
    "duplicate_of",
    "batch_id",
]


def make(**changes: Any) -> Record:
    fields: dict[str, Any] = {
        "article_id": "3f2a9c0d1b7e4a55",
        "source": "seeds/000.txt",
        "title": "Séoul says “3,000” more troops",
        "prompt": "summarise",
        "prompt_version": "v2",
        "prompt_sha256": "a" * 64,
        "schema": "summary.v1",
        "model": "builtin",
        "status": "ok",
    }
    return Record(**{**fields, **changes})


def test_fields_follow_the_design_order() -> None:
    data = make().to_dict()
    assert list(data)[: len(DESIGN_FIELDS)] == DESIGN_FIELDS
    assert set(data) - set(DESIGN_FIELDS) == {"mode", "site_name"}


def test_defaults() -> None:
    r = make()
    assert (r.summary, r.error, r.checks, r.cost_usd, r.mode) == (None, None, None, None, None)
    assert (r.attempts, r.latency_ms, r.cached) == (0, 0, False)
    assert r.usage == {"prompt_tokens": 0, "completion_tokens": 0}
    other = make()
    other.usage["prompt_tokens"] = 5
    assert r.usage["prompt_tokens"] == 0  # not a shared default


def test_created_at_is_utc_iso8601_seconds() -> None:
    pattern = r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z"
    assert re.fullmatch(pattern, utc_now())
    assert re.fullmatch(pattern, make().created_at)


@pytest.mark.parametrize(
    "changes",
    [
        {},
        {"summary": {"headline": "H", "key_points": ["a"]}, "checks": {"faithfulness": 0.5}},
        {
            "status": "failed",
            "error": {"kind": "schema_invalid", "message": "m", "last_output": '{"x": 1}'},
            "attempts": 3,
            "usage": {"prompt_tokens": 30, "completion_tokens": 9},
        },
        {"cached": True, "cost_usd": 0.0012, "latency_ms": 40, "mode": "prompt", "title": None},
    ],
)
def test_json_round_trip(changes: dict[str, Any]) -> None:
    r = make(**changes)
    line = r.to_json()
    assert "\n" not in line
    assert Record.from_dict(json.loads(line)) == r


def test_json_keeps_unicode_readable() -> None:
    line = make().to_json()
    assert "Séoul says “3,000” more troops" in line
    assert "\\u" not in line


def test_from_dict_ignores_unknown_keys_and_fills_defaults() -> None:
    data = make().to_dict()
    data["future_field"] = 1
    del data["mode"], data["checks"]
    r = Record.from_dict(data)
    assert (r.mode, r.checks) == (None, None)
    assert r.article_id == "3f2a9c0d1b7e4a55"
