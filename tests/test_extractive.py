"""The built-in extractive model: schema validity, determinism, and the field rules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from pipeline.errors import ArticleError
from pipeline.extractive import MAX_ARTICLE_CHARS, summarise

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "000_8155cee7efb7811f.txt"
VALIDATOR = Draft202012Validator(json.loads((REPO / "schemas" / "summary.v1.json").read_text()))


def _seed() -> tuple[str, str]:
    """(title, body) of the seed article; its first four lines are page furniture."""
    lines = SEED.read_text(encoding="utf-8").split("\n")
    return lines[4].strip(), "\n".join(lines[5:])


def _valid(out: dict[str, Any]) -> None:
    errors = sorted(VALIDATOR.iter_errors(out), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]


@pytest.fixture(scope="module")
def seed_out() -> dict[str, Any]:
    title, body = _seed()
    return summarise(body, title=title)


# --------------------------------------------------------------------------- schema


def test_seed_is_schema_valid(seed_out: dict[str, Any]) -> None:
    _valid(seed_out)


def test_seed_summary_reads_like_a_baseline(seed_out: dict[str, Any]) -> None:
    summary = seed_out["summary"]
    assert summary.startswith("North Korea appears to have deployed at least 3,000 additional")
    assert "according to South Korea’s military" in summary
    assert len(summary) <= 1200
    _, body = _seed()
    flat = " ".join(body.split())
    # Whole sentences copied from the article, in article order.
    positions = [flat.find(s) for s in _sentences_of(summary)]
    assert all(p >= 0 for p in positions) and positions == sorted(positions)
    assert 2 <= len(positions) <= 4
    # The sentence naming "South Korean troops" is flagged, not repeated.
    assert "South Korean troops" not in summary


def _sentences_of(summary: str) -> list[str]:
    from pipeline.text import split_sentences

    return split_sentences(summary)


def test_headline_is_title_or_shortened_lead(seed_out: dict[str, Any]) -> None:
    title, body = _seed()
    assert seed_out["headline"] == title
    no_title = summarise(body)
    assert 5 <= len(no_title["headline"]) <= 200
    assert no_title["headline"].startswith("North Korea appears to have deployed")


LONG_SENTENCE = (
    "The regional council, which met for nine hours in the old town hall on a wet evening, "
    "approved a budget that raises spending on schools, roads, bus services, libraries, "
    "parks, swimming pools, social care and flood defences across every district, while "
    "cutting the allowances paid to councillors and the cost of the mayor's office."
)

EDGE_CASES = {
    "one sentence": "The council approved the new budget on Tuesday after a long debate.",
    "no numbers or quotes": (
        "The sky was grey over the harbour. People walked slowly along the front. "
        "Nobody seemed in a hurry. Later the rain came in from the sea."
    ),
    "huge numbers": (
        "The debt reached $123,456,789,012,345,678,901bn last year, officials said. "
        "A figure of 9999999999999999999999999999999999999999999999999999999999999999 "
        "was printed by mistake. Another 1,000,000,000,000 people were counted."
    ),
    "non-English-ish": (
        "Der Bundestag hat am Freitag ein neues Gesetz beschlossen. Die Opposition "
        "kritisierte das Vorhaben scharf. 東京で大きな地震が発生した。 Ça va très bien, merci."
    ),
    "title-like line only": "Markets rally as inflation cools sharply",
    "one very long sentence": LONG_SENTENCE * 4,
    "furniture and captions": (
        "Scroll down for video\nPHOTO: Getty Images\n\nThe minister resigned on Monday "
        "after weeks of pressure over the contracts. Her deputy will take over until "
        "an election in May, the party said."
    ),
    "punctuation soup": "!!! ??? ... --- *** ### 12 34 56 78 90 !!! ... ???",
    "quotes without speaker": (
        "“This is the end of an era for everyone here,” read a sign at the gate. "
        "The factory closed after 120 years."
    ),
}


@pytest.mark.parametrize("text", list(EDGE_CASES.values()), ids=list(EDGE_CASES))
def test_edge_cases_are_schema_valid(text: str) -> None:
    out = summarise(text)
    _valid(out)
    assert summarise(text) == out


def test_largest_accepted_article_is_valid() -> None:
    _, body = _seed()
    text = (body + "\n\n") * (MAX_ARTICLE_CHARS // (len(body) + 2) + 1)
    text = text[:MAX_ARTICLE_CHARS]
    assert len(text) == MAX_ARTICLE_CHARS
    _valid(summarise(text))


def test_too_long_and_empty_articles_are_refused() -> None:
    with pytest.raises(ArticleError) as too_long:
        summarise("x " * (MAX_ARTICLE_CHARS // 2 + 1))
    assert too_long.value.kind == "too_long"
    for text in ("", "   \n  ", "Hi there."):
        with pytest.raises(ArticleError) as bad:
            summarise(text)
        assert bad.value.kind == "bad_input"


def test_deterministic_to_the_byte() -> None:
    title, body = _seed()
    first = json.dumps(summarise(body, title=title), ensure_ascii=False)
    for _ in range(3):
        assert json.dumps(summarise(body, title=title), ensure_ascii=False) == first


def test_deterministic_across_hash_seeds() -> None:
    """No set or dict ordering leaks into the output (string hashing varies by process)."""
    script = (
        "import json, sys; from pipeline.extractive import summarise; "
        "lines = open(sys.argv[1], encoding='utf-8').read().split('\\n'); "
        "print(json.dumps(summarise('\\n'.join(lines[5:]), title=lines[4]), ensure_ascii=False))"
    )
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run(
            [sys.executable, "-c", script, str(SEED)],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            check=True,
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1


# --------------------------------------------------------------------------- figures


def _figures(text: str) -> dict[str, dict[str, Any]]:
    return {f["value"]: f for f in summarise(text)["figures"]}


FIGURE_CASES = [
    (
        "North Korea appears to have deployed at least 3,000 additional soldiers to Russia "
        "in January and February, according to South Korea’s military statement released "
        "on 27 March.",
        "3,000",
        "South Korea",
    ),
    (
        "North Korea sends at least 3,000 more troops to Russia this year, Seoul says.",
        "3,000",
        "Seoul",
    ),
    ("About 4.2 million people live in the region, according to Yonhap.", "4.2 million", "Yonhap"),
    (
        "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m) for "
        "the three months to December.",
        "$1.13bn (£600m)",
        None,
    ),
    (
        "Quarterly profits at US media giant TimeWarner jumped 76% to $1.13bn (£600m) for "
        "the three months to December.",
        "76%",
        None,
    ),
    ("The army supplied around 220 self-propelled howitzers, officials said.", "220", "officials"),
    ("Some 1,500 people were evacuated, the fire service reported.", "1,500", "the fire service"),
    (
        "Sales rose 5 per cent last year, said Mr Jones, the chief executive.",
        "5 per cent",
        "Mr Jones",
    ),
    (
        "The figure of 40 deaths was reported by the Associated Press on Friday.",
        "40",
        "Associated Press",
    ),
    ("Prices fell 2% in March.", "2%", None),
]


@pytest.mark.parametrize(("text", "value", "source"), FIGURE_CASES)
def test_figure_value_and_source(text: str, value: str, source: str | None) -> None:
    figures = _figures(text)
    assert value in figures, figures
    got = figures[value]["source"]
    if source is None:
        assert got is None
    else:
        assert got is not None and source in got


def test_figure_measure_is_what_is_counted() -> None:
    figures = _figures(FIGURE_CASES[0][0])
    assert "soldiers" in figures["3,000"]["measure"]
    assert _figures("About 4.2 million people live there.")["4.2 million"]["measure"] == "people"


@pytest.mark.parametrize(
    ("text", "absent"),
    [
        ("The firm was founded in 1998 and now employs 220 people.", "1998"),
        ("The law took effect on 27 March 2025 and affects 12 towns.", "2025"),
        ("The law took effect on 27 March 2025 and affects 12 towns.", "27"),
        ("On March 3, 2024, the vote passed with 55 in favour.", "3"),
        ("Revenue grew 27% from its 2003 performance.", "2003"),
        ("The 2014-15 season ended with 80 points.", "2014"),
    ],
)
def test_years_and_date_parts_are_not_figures(text: str, absent: str) -> None:
    figures = _figures(text)
    assert absent not in figures
    assert figures  # the real figure is still found


def test_different_sources_keep_their_own_figures() -> None:
    text = (
        "Previously, Ukraine reported that Pyongyang had initially sent 12,000 soldiers to "
        "Russia, while Seoul’s estimate was more conservative, at 11,000."
    )
    figures = _figures(text)
    assert figures["12,000"]["source"] == "Ukraine"
    assert figures["11,000"]["source"] == "Seoul"
    # the contrasted figure counts the same thing, not the clause around it
    assert figures["11,000"]["measure"] == figures["12,000"]["measure"] == "soldiers"


# --------------------------------------------------------------------------- quotes


QUOTE_CASES = [
    ("“We will pay on time,” Mr Mardas said.", "We will pay on time", "Mr Mardas"),
    (
        "“It is not so good for Dortmund,” said Per Mertesacker.",
        "It is not so good for Dortmund",
        "Per Mertesacker",
    ),
    (
        "The minister said: “The payment will be made in full.”",
        "The payment will be made in full.",
        "The minister",
    ),
    (
        "A spokesperson for the Joint Chiefs of Staff (JCS) noted that “internal equipment "
        "and such parts could be related to Russia,” according to CNN.",
        "internal equipment and such parts could be related to Russia",
        "A spokesperson for the Joint Chiefs of Staff (JCS)",
    ),
    (
        '"We are ready to pay," the Greek government said on Tuesday.',
        "We are ready to pay",
        "the Greek government",
    ),
    (
        "Critics called the plan “a total disaster for everyone” in the end.",
        "a total disaster for everyone",
        None,
    ),
]


@pytest.mark.parametrize(("text", "quote", "speaker"), QUOTE_CASES)
def test_quotes_are_exact_with_speakers(text: str, quote: str, speaker: str | None) -> None:
    quotes = {q["text"]: q["speaker"] for q in summarise(text)["quotes"]}
    assert quote in quotes, quotes
    assert quote in text  # copied exactly
    assert quotes[quote] == speaker


def test_short_quotes_are_skipped() -> None:
    assert summarise("He said “yes” and then left the room in a hurry.")["quotes"] == []


def test_seed_quotes(seed_out: dict[str, Any]) -> None:
    _, body = _seed()
    for q in seed_out["quotes"]:
        assert q["text"] in body
    speakers = {q["text"][:20]: q["speaker"] for q in seed_out["quotes"]}
    assert speakers["internal equipment a"] == "A spokesperson for the Joint Chiefs of Staff (JCS)"
    # Kim's instruction, reported by state media, is not put in South Korea's mouth.
    assert speakers["in keeping with the "] is None


# ------------------------------------------------------------------ entities, dates, topics


def test_seed_entities(seed_out: dict[str, Any]) -> None:
    types = {e["name"]: e["type"] for e in seed_out["entities"]}
    assert types["Kim Jong Un"] == "person"
    assert types["Vladimir Putin"] == "person"
    assert types["Joint Chiefs of Staff"] == "organisation"
    assert types["North Korean"] == "group"
    assert types["Seoul"] == "location"
    assert types["North Korea"] == "location"
    assert "Kim" not in types  # merged into the longest form
    names = [e["name"] for e in seed_out["entities"]]
    assert len(names) == len(set(names))


def test_seed_dates(seed_out: dict[str, Any]) -> None:
    dates = {d["date"]: d["event"] for d in seed_out["dates"]}
    assert "January and February" in dates
    assert "3,000 additional soldiers" in dates["January and February"]
    assert "27 March" in dates
    assert "last year" in dates
    assert "2025" in {
        d["date"] for d in summarise("The law took effect in 2025 after a vote.")["dates"]
    }


def test_topics_are_lower_case_tags(seed_out: dict[str, Any]) -> None:
    assert 1 <= len(seed_out["topics"]) <= 6
    assert all(t == t.lower() for t in seed_out["topics"])
    assert "north korea" in seed_out["topics"] or "russia" in seed_out["topics"]


# --------------------------------------------------------------------------- caveats


def test_caveats_fire_on_the_seed(seed_out: dict[str, Any]) -> None:
    caveats = " ".join(seed_out["caveats"])
    assert "South Korean troops" in caveats
    assert "Sources differ" in caveats and "12,000" in caveats and "11,000" in caveats


CLEAN = (
    "North Korea has sent more troops to Russia, officials in Seoul said on Friday. "
    "The North Korean soldiers are fighting in the Kursk region. North Korea denies the "
    "reports. Analysts say North Korea gains technology in return. South Korea has raised "
    "its alert level. Ukraine estimates that 12,000 soldiers were sent in total."
)


def test_caveats_silent_on_a_clean_article() -> None:
    assert summarise(CLEAN)["caveats"] == []
    _, body = _seed()
    assert summarise(" ".join(body.split()[:60]) + ".")["caveats"] == []


@pytest.mark.parametrize(
    "text",
    [
        CLEAN + " Later, South Korean troops were deployed to the front.",
        (
            "Police said 40 people were hurt, while the hospital’s count was 55. "
            "The march went on into the night."
        ),
    ],
)
def test_caveat_rules_fire(text: str) -> None:
    assert summarise(text)["caveats"]
