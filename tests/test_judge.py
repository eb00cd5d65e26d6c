"""The LLM judge's plumbing: prompt, schema, engine, cassettes. Not its agreement with humans:
no model is reachable here, so that cannot be measured (see README)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.schemas import load_schema
from pipeline.server import FakeOpenAIServer

SOURCE = (
    "North Korea sent at least 3,000 more troops to Russia in January and February, "
    "South Korea's military said on 27 March. Seoul estimates 4,000 casualties."
)
LINES = [
    {
        "id": "faithful",
        "source": SOURCE,
        "summary": (
            "North Korea sent at least 3,000 more troops to Russia, South Korea's military said."
        ),
    },
    {
        "id": "invented",
        "source": SOURCE,
        "summary": "North Korea sent 9,000 troops to Belarus, Kyiv said.",
    },
    {
        "id": "object",
        "source": SOURCE,
        "summary": {
            "headline": "More North Korean troops for Russia",
            "summary": "South Korea's military said 3,000 more troops were sent.",
            "key_points": ["Seoul estimates 4,000 casualties."],
        },
    },
]


def _write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def _invoke(*args: str) -> tuple[int, list[dict[str, object]], str]:
    result = CliRunner().invoke(cli, ["judge", *args])
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, rows, result.stderr


def test_builtin_judge_keeps_fields_and_order_and_validates(tmp_path: Path) -> None:
    code, rows, _ = _invoke(str(_write(tmp_path / "in.jsonl", LINES)))
    assert code == 0
    assert [r["id"] for r in rows] == ["faithful", "invented", "object"]
    schema = load_schema("judgement.v2")
    for row in rows:
        assert row["source"] == SOURCE
        assert schema.errors(row["judgement"]) == []
        assert (row["judge_model"], row["judge_prompt"]) == ("builtin", "judge@v2")
        assert "not a language model" in row["judgement"]["consistency"]["reason"]
        # what the lexical baseline cannot judge is null, never a made-up middle score
        for criterion in ("relevance", "coherence", "fluency"):
            assert row["judgement"][criterion]["score"] is None
            assert row["judgement"][criterion]["reason"].startswith("not assessed")
    by_id = {r["id"]: r["judgement"] for r in rows}
    assert by_id["faithful"]["consistency"]["score"] > by_id["invented"]["consistency"]["score"]
    assert any("9,000" in c for c in by_id["invented"]["unsupported_claims"])


def test_bad_lines_are_written_back_with_a_reason(tmp_path: Path) -> None:
    path = _write(tmp_path / "in.jsonl", [LINES[0], "not json", {"summary": "no source"}])
    code, rows, err = _invoke(str(path))
    assert code == 1
    assert len(rows) == 3
    assert "judgement" in rows[0]
    assert rows[1]["raw"] == "not json" and "line 2" in rows[1]["judge_error"]
    assert "source" in rows[2]["judge_error"]
    assert "1 failed" not in err or "2 failed" in err


def test_judge_prompt_must_be_a_judge(tmp_path: Path) -> None:
    code, _, err = _invoke(str(_write(tmp_path / "in.jsonl", LINES)), "--prompt", "summarise@v2")
    assert code == 2
    assert "summarise@v2 is a summarising prompt" in err
    assert "use `summarise run PATH --prompt summarise@v2`" in err


def test_judge_records_and_replays_through_a_cassette(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _write(tmp_path / "in.jsonl", LINES)
    cassette = tmp_path / "judge.yaml"
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key-000000000000")
    with FakeOpenAIServer() as server:
        code, recorded, _ = _invoke(
            str(path),
            "--model",
            "builtin",
            "--base-url",
            server.base_url,
            "--record",
            str(cassette),
            "--concurrency",
            "1",
        )
        assert code == 0
        assert server.stats.by_status[200] == 3
    monkeypatch.delenv("OPENAI_API_KEY")
    code, replayed, _ = _invoke(str(path), "--replay", str(cassette))
    assert code == 0
    assert [r["judgement"] for r in replayed] == [r["judgement"] for r in recorded]
    text = cassette.read_text()
    assert "sk-test-not-a-real-key" not in text

    other = _write(tmp_path / "other.jsonl", [{"source": SOURCE, "summary": "Something else."}])
    code, rows, _ = _invoke(str(other), "--replay", str(cassette))
    assert code == 1
    error = rows[0]["judge_error"]
    assert error["kind"] == "http_error"
    assert str(cassette) in error["message"] and "judge@v2" in error["message"]


def test_builtin_refuses_judge_v1_rather_than_invent_scores(tmp_path: Path) -> None:
    # judgement.v1 has no null score: the built-in model cannot fill relevance, coherence and
    # fluency honestly, so it refuses, and the line says which prompt to use instead
    code, rows, err = _invoke(str(_write(tmp_path / "in.jsonl", LINES[:1])), "--prompt", "judge@v1")
    assert code == 1
    error = rows[0]["judge_error"]
    assert error["kind"] == "refusal"
    assert "cannot assess relevance, coherence, fluency" in error["message"]
    assert "judge@v2" in error["message"]
    assert "judgement" not in rows[0]


def test_judgement_v2_takes_what_v1_took_and_null() -> None:
    v1, v2 = load_schema("judgement.v1"), load_schema("judgement.v2")
    scored = {
        "consistency": {"score": 4, "reason": "r"},
        "relevance": {"score": 3, "reason": "r"},
        "coherence": {"score": 5, "reason": "r"},
        "fluency": {"score": 2, "reason": "r"},
        "unsupported_claims": [],
    }
    assert v1.errors(scored) == [] and v2.errors(scored) == []
    unassessed = {**scored, "fluency": {"score": None, "reason": "not assessed"}}
    assert v2.errors(unassessed) == [] and v1.errors(unassessed) != []
    assert v2.errors({**scored, "fluency": {"score": 4, "reason": "r"}}) != []  # 1-3 still
    assert v2.errors({**scored, "relevance": {"score": 0, "reason": "r"}}) != []
    strict = v2.strict["$defs"]["score5"]["properties"]["score"]
    assert strict["type"] == ["integer", "null"]
