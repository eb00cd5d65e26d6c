"""The offline faithfulness scorer: number normalisation, the checks, the JSONL front end."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from pipeline.faithfulness import (
    FaithfulnessResult,
    parse_numbers,
    score,
    score_jsonl,
    summary_text,
)

SOURCE = (
    "Seoul says the North fired three missiles into the sea on Tuesday. "
    "The launch programme cost $1.13bn last year, officials said. "
    "About 76% of residents were not worried by the test, a poll found. "
    "'We will respond firmly to any provocation,' said Kim Min-jae, the defence minister. "
    "Kyiv says it is watching the situation closely. "
    "The army has 3,000 troops on the border and 4.2 million reservists."
)


# ------------------------------------------------------------------ number normalisation


@pytest.mark.parametrize(
    ("text", "value", "unit"),
    [
        ("3,000", 3000.0, None),
        ("3000", 3000.0, None),
        ("4.2 million", 4_200_000.0, None),
        ("4.2m", 4_200_000.0, None),
        ("$1.13bn", 1.13e9, "$"),
        ("1.13 billion dollars", 1.13e9, "$"),
        ("£5m", 5e6, "£"),
        ("76%", 76.0, "%"),
        ("76 per cent", 76.0, "%"),
        ("76 percent", 76.0, "%"),
        ("three", 3.0, None),
        ("twenty-five", 25.0, None),
        ("a dozen", 12.0, None),
        ("89th", 89.0, None),
    ],
)
def test_number_normalisation(text: str, value: float, unit: str | None) -> None:
    (number,) = parse_numbers(text)
    assert number.values[0] == pytest.approx(value)
    assert number.unit == unit
    assert number.text == text


@pytest.mark.parametrize(
    ("summary_sentence"),
    [
        "The army has 3000 troops on the border.",
        "The army has 4,200,000 reservists.",
        "The launch programme cost 1.13 billion dollars last year.",
        "About 76 per cent of residents were not worried by the test.",
        "The army has three thousand troops on the border.",
    ],
)
def test_equal_numbers_written_differently_are_supported(summary_sentence: str) -> None:
    result = score(SOURCE, summary_sentence)
    assert result.unsupported == []
    assert result.faithfulness > 0.8


# ------------------------------------------------------------------ unsupported claims


@pytest.mark.parametrize(
    ("summary_sentence", "span"),
    [
        # invented number
        ("The army has 3,000 troops and 40 tanks on the border.", "40"),
        # changed number
        ("Seoul says the North fired four missiles into the sea on Tuesday.", "four"),
        ("The launch programme cost $2.5bn last year, officials said.", "$2.5bn"),
        ("About 67% of residents were not worried by the test.", "67%"),
        # changed currency
        ("The launch programme cost £1.13bn last year.", "£1.13bn"),
        # entity absent from the source
        ("Tokyo says the North fired three missiles into the sea on Tuesday.", "Tokyo"),
        # date changed
        ("Seoul says the North fired three missiles into the sea on Friday.", "Friday"),
        # entity swap: Kyiv is in the source, but not as the source of this claim
        ("Kyiv says the North fired three missiles into the sea on Tuesday.", "Kyiv"),
        # negation added, negation dropped
        ("Seoul says the North never fired missiles into the sea.", "never"),
        ("About 76% of residents were worried by the test.", "worried"),
    ],
)
def test_unsupported_claims_are_flagged(summary_sentence: str, span: str) -> None:
    result = score(SOURCE, summary_sentence)
    assert span in result.unsupported
    assert result.faithfulness < 0.7
    assert all(s in summary_text(summary_sentence) for s in result.unsupported)


@pytest.mark.parametrize(
    ("summary_sentence", "flagged"),
    [
        ("Kim Min-jae said: 'We will respond firmly to any provocation.'", None),
        ("Kim Min-jae said: 'We will respond gently to any provocation.'", "We will respond"),
        ("Seoul said: 'We will respond firmly to any provocation.'", "Seoul"),
    ],
)
def test_quotes_in_text(summary_sentence: str, flagged: str | None) -> None:
    result = score(SOURCE, summary_sentence)
    if flagged is None:
        assert result.unsupported == []
        assert result.faithfulness > 0.75
    else:
        assert any(s.startswith(flagged) for s in result.unsupported)


def test_extractive_summary_scores_near_one() -> None:
    summary = (
        "Seoul says the North fired three missiles into the sea on Tuesday. "
        "The army has 3,000 troops on the border and 4.2 million reservists."
    )
    result = score(SOURCE, summary)
    assert result.faithfulness >= 0.95
    assert result.unsupported == []


def test_fabricated_summary_scores_low() -> None:
    summary = (
        "Japan launched a satellite from Okinawa on Sunday. "
        "Prime minister Tanaka praised the 120 engineers who built it."
    )
    result = score(SOURCE, summary)
    assert result.faithfulness < 0.2
    assert len(result.unsupported) == 2  # both sentences, whole


def test_splicing_two_source_sentences_costs_a_little() -> None:
    extractive = score(SOURCE, "Seoul says the North fired three missiles into the sea on Tuesday.")
    spliced = score(SOURCE, "Seoul says the North fired three missiles at the border on Tuesday.")
    (unit,) = spliced.units
    assert extractive.units[0].jumps == 0
    assert unit.jumps >= 1
    assert 0.7 < spliced.faithfulness < extractive.faithfulness == 1.0
    assert spliced.unsupported == []  # a risk, not a proven error


def test_risks_are_judged_per_sixty_words_in_long_summaries() -> None:
    sentence = "Seoul says the North fired three missiles into the sea on Friday. "
    one = score(SOURCE, sentence).faithfulness
    many = score(SOURCE, sentence * 8).faithfulness  # 96 words, one wrong date per 12
    assert one < 0.7
    # judged as a 60-word summary with the same density: five wrong dates, not eight
    assert many == pytest.approx(one**5, abs=1e-3)


# ------------------------------------------------------------------ summary objects


def _summary(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "headline": "North fires three missiles into the sea",
        "summary": "Seoul says the North fired three missiles into the sea on Tuesday.",
        "key_points": ["The army has 3,000 troops on the border."],
        "entities": [{"name": "Seoul", "type": "location"}],
        "figures": [],
        "quotes": [],
        "dates": [{"date": "Tuesday", "event": "the launch"}],
        "topics": ["defence"],
        "caveats": [],
    }
    base.update(fields)
    return base


@pytest.mark.parametrize(
    ("fields", "flagged"),
    [
        ({}, []),
        ({"figures": [{"value": "$1.13bn", "measure": "cost", "source": "officials"}]}, []),
        ({"figures": [{"value": "1.13 billion dollars", "measure": "cost", "source": None}]}, []),
        ({"figures": [{"value": "$2bn", "measure": "cost", "source": None}]}, ["$2bn"]),
        (
            {"figures": [{"value": "3,000", "measure": "troops on the border", "source": "Seoul"}]},
            ["Seoul"],
        ),
        (
            {"quotes": [{"text": "We will respond firmly to any provocation,", "speaker": "Kim"}]},
            [],
        ),
        (
            {"quotes": [{"text": "We will never respond to provocation", "speaker": "Kim"}]},
            ["We will never respond to provocation"],
        ),
        (
            {"quotes": [{"text": "We will respond firmly to any provocation", "speaker": "Biden"}]},
            ["Biden"],
        ),
        ({"entities": [{"name": "Pyongyang", "type": "location"}]}, ["Pyongyang"]),
        ({"dates": [{"date": "12 March 2024", "event": "launch"}]}, ["12", "March", "2024"]),
        ({"key_points": ["The army has 5,000 troops on the border."]}, ["5,000"]),
    ],
)
def test_summary_objects(fields: dict[str, Any], flagged: list[str]) -> None:
    summary = _summary(**fields)
    result = score(SOURCE, summary)
    text = summary_text(summary)
    for span in flagged:
        assert span in result.unsupported
    assert all(span in text for span in result.unsupported)
    if not flagged:
        assert result.unsupported == []
        assert result.faithfulness > 0.9
    else:
        assert result.faithfulness < score(SOURCE, _summary()).faithfulness


def test_a_faithful_paraphrasing_summary_object_is_not_crushed() -> None:
    summary = _summary(
        headline="The North launches three missiles, Seoul says",
        summary=(
            "The North fired three missiles into the sea on Tuesday, according to Seoul. "
            "The launch programme cost $1.13bn last year, officials said."
        ),
        key_points=[
            "About 76% of residents were not worried by the test.",
            "The army keeps 3,000 troops on the border and 4.2 million reservists.",
        ],
        figures=[{"value": "3,000", "measure": "troops on the border", "source": None}],
        quotes=[{"text": "We will respond firmly to any provocation", "speaker": "Kim Min-jae"}],
    )
    result = score(SOURCE, summary)
    assert result.unsupported == []
    assert result.faithfulness > 0.6


def test_summary_text_flattens_the_checkable_fields() -> None:
    text = summary_text(
        _summary(
            figures=[{"value": "$1.13bn", "measure": "cost", "source": "officials"}],
            quotes=[{"text": "We will respond", "speaker": "Kim"}],
        )
    )
    for part in ("North fires", "Seoul says", "3,000 troops", "$1.13bn", "We will respond", "Kim"):
        assert part in text
    assert "defence" not in text  # topics are labels, not claims
    assert summary_text("plain text") == "plain text"


# ------------------------------------------------------------------ properties


@pytest.mark.parametrize(
    "summary",
    [
        "",
        "Seoul says the North fired three missiles.",
        "Nothing here is true: 99 aliens landed in Atlantis.",
        _summary(),
        {"headline": "x"},
        {},
    ],
)
def test_range_and_determinism(summary: Any) -> None:
    first = score(SOURCE, summary)
    second = score(SOURCE, summary)
    assert isinstance(first, FaithfulnessResult)
    assert 0.0 <= first.faithfulness <= 1.0
    assert first == second
    json.dumps(first.to_dict())


def test_empty_source_supports_nothing() -> None:
    result = score("", "The North fired three missiles.")
    assert result.faithfulness == 0.0


# ------------------------------------------------------------------ score_jsonl


def test_score_jsonl_keeps_fields_and_order_and_annotates_bad_lines() -> None:
    lines = [
        json.dumps({"id": "a", "source": SOURCE, "summary": "Kyiv says it is watching.", "x": 1}),
        "not json at all",
        json.dumps({"id": "c", "summary": "no source here"}),
        "",
        json.dumps({"id": "d", "source": SOURCE, "summary": _summary()}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "f", "source": SOURCE, "summary": 42}),
    ]
    out = io.StringIO()
    ok, bad = score_jsonl(io.StringIO("\n".join(lines) + "\n"), out)
    assert (ok, bad) == (2, 4)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(records) == 6  # the blank line is skipped, nothing else is dropped
    assert records[0]["id"] == "a" and records[0]["x"] == 1
    assert 0 <= records[0]["faithfulness"] <= 1 and records[0]["unsupported"] == []
    assert "not JSON" in records[1]["error"] and records[1]["line"] == "not json at all"
    assert records[2]["id"] == "c" and "'source'" in records[2]["error"]
    assert "faithfulness" not in records[2]
    assert records[3]["id"] == "d" and records[3]["summary"] == _summary()
    assert "object" in records[4]["error"]
    assert records[5]["id"] == "f" and "'summary'" in records[5]["error"]
