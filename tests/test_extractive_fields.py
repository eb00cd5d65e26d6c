"""The built-in model's structured fields, read as an editor would.

Each case is a sentence (or two) taken from the seed articles in ``seeds/`` (the file is
named beside it) and the class of error it once showed: organisations and places typed
``person``, fragments as entities, calibres / model numbers / ages / phone numbers as
figures, ``measure`` as a clause fragment, money amounts missed, quotes with trailing
commas or without the speaker the article names, ``dates[].event`` as the whole sentence,
duplicate dates, and run-on summary sentences glued from captions.
``benchmarks/seed_audit.py`` counts the same classes over all 21 seeds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.articles import Article, iter_articles
from pipeline.extractive import summarise
from pipeline.text import split_sentences

SEEDS = Path(__file__).resolve().parent.parent / "seeds"


def _types(text: str) -> dict[str, str]:
    return {e["name"]: e["type"] for e in summarise(text)["entities"]}


def _seed(name: str) -> dict[str, Any]:
    (article,) = [a for a in iter_articles([SEEDS / name]) if isinstance(a, Article)]
    return summarise(article.text, title=article.title)


# ------------------------------------------------------------------ entity types

NOT_PEOPLE = [
    # 001: a magazine, named by the word before it and by "X's Mr Y"
    (
        "David Learmount, operations and safety editor at industry magazine Flight "
        "International, said the plane was a success. Flight International's Mr Learmount "
        "said more.",
        "Flight International",
    ),
    # 005: "the Inland Revenue"
    (
        "Born in 1912, Lord Callaghan became a clerk at the Inland Revenue. He enlisted in "
        "the Royal Navy in 1942.",
        "Inland Revenue",
    ),
    # 019: "the Gulf Stream"
    (
        "The younger Jordan said he took his sailboat out to the Gulf Stream to find some "
        "better fishing, when it capsized.",
        "Gulf Stream",
    ),
    # 002: "X, which ..."
    (
        "Capital Economics, which has in the past predicted a sharp fall in UK house prices, "
        "branded the findings a temporary surprise.",
        "Capital Economics",
    ),
    # 009: "X (ACRONYM)"
    (
        "Video game giant Electronic Arts (EA) says it wants to become the biggest "
        "entertainment firm in the world.",
        "Electronic Arts",
    ),
    # 006: "X health spokesman"
    (
        "Rhodri Glyn Thomas, Plaid Cymru health spokesman said the target was the same.",
        "Plaid Cymru",
    ),
    # 010: "firm X"
    (
        "Todd Thiemann, spokesman for anti-virus firm Trend Micro, said the move to Windows "
        "in cash machines was notable.",
        "Trend Micro",
    ),
    # 014: a party ("Dems")
    (
        "In last night's TV showdown with the Scottish leaders of Labour, the Tories and Lib "
        "Dems, Ms Sturgeon refused to rule out a second vote.",
        "Lib Dems",
    ),
    # 003: a village ("in X", "St")
    (
        "The incident happened at 0400 GMT on Monday in Chalfont St Peter, Buckinghamshire.",
        "Chalfont St Peter",
    ),
]


@pytest.mark.parametrize(("text", "name"), NOT_PEOPLE, ids=[n for _, n in NOT_PEOPLE])
def test_organisations_and_places_are_not_people(text: str, name: str) -> None:
    types = _types(text)
    assert name in types, types
    assert types[name] != "person"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        # 019: "Jordan" is also a country, but "Louis Jordan, 37," and "Jordan said"
        (
            "Louis Jordan, 37, took his 35-foot sailboat out in late January. The younger "
            "Jordan said he was fine.",
            "Louis Jordan",
        ),
        # 017: a title with "for", then the person
        (
            "New generation: Mr Hardy appeared as Minister for Magic Cornelius Fudge in the films.",
            "Cornelius Fudge",
        ),
        # 014: a party label before a person
        (
            "Scotland's political leaders, Tory Ruth Davidson and Labour's Jim Murphy, faced off.",
            "Ruth Davidson",
        ),
    ],
)
def test_people_stay_people(text: str, name: str) -> None:
    assert _types(text).get(name) == "person"


# ------------------------------------------------------------------ fragments as entities

FRAGMENTS = [
    # 014: a caption glued to the next sentence with no stop
    (
        "Ms Sturgeon has criticised David Cameron's pledge to hold an in-out referendum on "
        "Europe The most popular policy was increasing the minimum wage.",
        ["Europe The"],
        ["Europe"],
    ),
    # 019: a quotation's first words
    ("“Everything I owned got broken -- all my electronics,” Jordan said.", ["Everything I"], []),
    # 016: a sentence adverb before a demonym
    (
        "Instead Canadian inventor Wayne Fromm developed a hand-held extendable selfie stick.",
        ["Instead Canadian"],
        ["Wayne Fromm"],
    ),
    # 018: captions glued: "the Grand National" + "Tindall celebrates ..."
    (
        "Former England rugby captain Mike Tindall and wife Zara Philipps at Aintree ahead "
        "of the Grand National Tindall celebrates after watching his horse Monbeg Dude "
        "finish third in the National Monbeg Dude is now 10.",
        ["Grand National Tindall", "National Monbeg Dude"],
        ["Mike Tindall"],
    ),
    # 007 / 006: a demonym is part of the name, not a group beside a fragment
    (
        "Andre Agassi edged into the fourth round of the Australian Open. Dr Richard Lewis, "
        "Welsh secretary of the British Medical Association (BMA), welcomed the targets.",
        ["Open", "Medical Association"],
        ["Australian Open", "British Medical Association"],
    ),
    # 015: names joined by "and" and by a possessive
    (
        "The drug was approved by the US Food and Drug Administration. Robert Music, chief "
        "executive of Jo’s Cervical Cancer Trust, said it was positive news.",
        ["US Food", "Drug Administration", "Jo", "Cervical Cancer Trust"],
        ["US Food and Drug Administration", "Jo’s Cervical Cancer Trust"],
    ),
    # 003 / 011: a stray full stop, an abbreviation that names nothing
    (
        "We lived in Los Angeles and the US. The loss came as RBS shares fell in the UK. "
        "He had a CV and a TV.",
        ["US.", "UK.", "CV", "TV"],
        [],
    ),
]


@pytest.mark.parametrize(("text", "absent", "present"), FRAGMENTS)
def test_fragments_are_not_entities(text: str, absent: list[str], present: list[str]) -> None:
    names = set(_types(text))
    assert not names & set(absent), names
    assert set(present) <= names, names


# ------------------------------------------------------------------ figures

NOT_FIGURES = [
    # 000: calibres
    (
        "It supplied around 220 pieces of 170 millimeter self-propelled howitzers and "
        "240 mm rocket launchers.",
        ["170", "240"],
        "220",
    ),
    # 001: model numbers
    (
        "US aircraft firm Boeing has unveiled its new long-distance 777 plane. The 787 "
        "Dreamliner plane will carry 300 people. It ended production of its smallest "
        "airliner, the 717. With PS3 and Xbox 2, we can show 30,000 polygons.",
        ["777", "787", "717", "2"],
        "300",
    ),
    # 019 / 005 / 008: ages
    (
        "Louis Jordan, 37, took his 35-foot sailboat out for 66 days. His wife Audrey died "
        "aged 91. He faces his landmark appearance at the age of 31. A 30 year old came.",
        ["37", "91", "31", "30"],
        "66",
    ),
    # 003: a phone number
    (
        "Police want help to find 2 men on 0845 8 505 505 or 0800 555 111.",
        ["0845", "8", "505", "0800", "555", "111"],
        "2",
    ),
    # 017: an old year
    ("The piece shows the battle in 1415 and has 238 lots.", ["1415"], "238"),
]


@pytest.mark.parametrize(("text", "absent", "kept"), NOT_FIGURES)
def test_numbers_that_are_not_quantities(text: str, absent: list[str], kept: str) -> None:
    values = {f["value"] for f in summarise(text)["figures"]}
    assert not values & set(absent), values
    assert kept in values


MEASURES = [
    # 001: a clause fragment with a bracket once
    (
        "Net profit was $186m (£98m; 143m euros) in the quarter.",
        "$186m (£98m; 143m euros)",
        "Net profit",
    ),
    # 002: a pair ("... and 0.5% respectively")
    (
        "Prices in the South East and London fell by 1.6% and 0.5% respectively.",
        "0.5%",
        "Prices in the South East and London fell",
    ),
    ("UK house prices increased by 1.1% in December.", "1.1%", "UK house prices increased"),
    # 015: a verb is not what is counted
    (
        "Avastin can extend the lives of women by 26 per cent compared with chemotherapy.",
        "26 per cent",
        None,
    ),
    # 014: the noun before "of"
    ("The policy was given a score of 8.2 by voters.", "8.2", "score"),
    # 018: a relative clause
    ("Not bad for a horse that cost £12,000.", "£12,000", "horse"),
]


@pytest.mark.parametrize(("text", "value", "measure"), MEASURES)
def test_measure_says_what_is_counted(text: str, value: str, measure: str | None) -> None:
    figures = {f["value"]: f["measure"] for f in summarise(text)["figures"]}
    assert value in figures, figures
    got = figures[value]
    if measure is not None:
        assert got == measure
    assert value not in got
    assert got.count("(") == got.count(")")
    assert len(got.split()) <= 8
    assert got.lower() not in {"compared", "coming", "made", "respectively"}


def test_money_written_with_a_joined_multiplier_is_a_figure() -> None:
    # 011
    text = (
        "Royal Bank of Scotland has racked up £50billion in losses. The giant lurched to a "
        "£446million loss for the first three months. Shares fell to 338.5p. She quit her "
        "$475,000-a-year position."
    )
    figures = {f["value"]: f["measure"] for f in summarise(text)["figures"]}
    assert {"£50billion", "£446million", "338.5p", "$475,000-a-year"} <= set(figures)
    assert figures["£446million"] == "loss"


# ------------------------------------------------------------------ quotes


def test_quote_text_has_no_trailing_comma_and_said_x_names_the_speaker() -> None:
    # 018: single quotation marks, "said X" after
    text = (
        "'Pride is the word I would use,' said Michael Scudamore. 'I am so happy for the "
        "horse. He is unbelievably tough and brave.' The owners are buzzing."
    )
    quotes = {q["text"]: q["speaker"] for q in summarise(text)["quotes"]}
    assert quotes["Pride is the word I would use"] == "Michael Scudamore"
    # the next quotation only goes on with what he said
    assert quotes["I am so happy for the horse. He is unbelievably tough and brave."] == (
        "Michael Scudamore"
    )
    assert all(not q.endswith((",", ";", ":")) for q in quotes)


def test_he_said_means_the_person_just_named() -> None:
    # 010
    text = (
        "But Mr Hirsch from Retail Banking Research said few machines were at risk.\n"
        '"Windows cash machines have been around for several years," he said. '
        '"Most banks simply upgrade as part of their usual replacement cycle."\n'
        "A spokesman for the Association of Payment and Clearing Services said the risk "
        "was minimal. \"There's no concern that there's going to be any type of virus,\" "
        "he said."
    )
    quotes = {q["text"][:20]: q["speaker"] for q in summarise(text)["quotes"]}
    assert quotes["Windows cash machine"] == "Mr Hirsch"
    assert quotes["Most banks simply up"] == "Mr Hirsch"
    # "he" here is the unnamed spokesman: no name is better than Mr Hirsch's
    assert quotes["There's no concern t"] is None


def test_seed_quotes_carry_their_speakers() -> None:
    quotes = {q["text"]: q["speaker"] for q in _seed("018_cnndm_12c2634b.json")["quotes"]}
    assert quotes["Pride is the word I would use"] == "Michael Scudamore"
    assert quotes["I am absolutely delighted"] == "Treadwell"


# ------------------------------------------------------------------ dates


def test_date_event_is_the_clause_not_the_sentence_and_dates_are_listed_once() -> None:
    # 003
    text = (
        "The singer grabbed an intruder who then jumped 30ft (10m) from a first floor window "
        "as the star gave chase at his Buckinghamshire home on Monday. The incident "
        "happened at 0400 GMT on Monday in Chalfont St Peter, Buckinghamshire. At a press "
        "conference on Tuesday, Sharon Osbourne gave details of the stolen jewellery."
    )
    sentences = {s.rstrip(".") for s in split_sentences(text)}
    dates = summarise(text)["dates"]
    assert [d["date"] for d in dates] == ["Monday", "Tuesday"]
    for d in dates:
        assert d["event"].rstrip(".") not in sentences
        assert len(d["event"].split()) <= 13
    assert dates[1]["event"] == "At a press conference on Tuesday"


def test_a_date_alone_in_its_clause_takes_the_clause_after_it() -> None:
    # 002
    text = (
        "On Tuesday, figures from the Bank of England showed that the number of mortgages "
        "approved fell."
    )
    (date,) = summarise(text)["dates"]
    assert "mortgages approved fell" in date["event"]
    assert "Tuesday" not in date["event"]


# ------------------------------------------------------------------ run-on summaries


@pytest.mark.parametrize(
    ("seed", "seams"),
    [
        ("014_cnndm_2b8334fd.json", ["Europe The most", "2020 Ms Sturgeon"]),
        ("018_cnndm_12c2634b.json", ["Grand National Tindall", "National Monbeg Dude"]),
    ],
)
def test_summary_sentences_are_not_glued_from_captions(seed: str, seams: list[str]) -> None:
    out = _seed(seed)
    for text in [out["summary"], *out["key_points"]]:
        for seam in seams:
            assert seam not in text


def test_seed_outputs_are_schema_valid_and_copied() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((SEEDS.parent / "schemas" / "summary.v1.json").read_text())
    validator = Draft202012Validator(schema)
    for path in sorted(SEEDS.iterdir()):
        (article,) = [a for a in iter_articles([path]) if isinstance(a, Article)]
        out = summarise(article.text, title=article.title)
        assert not list(validator.iter_errors(out)), path.name
        flat = " ".join(article.text.split())
        for q in out["quotes"]:
            assert " ".join(q["text"].split()) in flat
        for f in out["figures"]:
            assert f["measure"].rstrip(" …") and " ".join(f["measure"].split()) in flat, (
                path.name,
                f,
            )
