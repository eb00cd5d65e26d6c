"""The faithfulness scorer does not care how a summary is cased or tokenised.

The real examples come from SummEval (``benchmarks/data/summeval_annotations.jsonl.gz``,
origin in ``benchmarks/data/SOURCES.md``): each system summary as SummEval released it
(lower-cased, Penn Treebank tokenised: ``summary_original_tokenized``, the text the
published correlations were computed on) and THumB's detokenised, truecased copy of it.
"""

from __future__ import annotations

import gzip
import json
import re
import statistics
from pathlib import Path
from typing import Any

import pytest

from pipeline.faithfulness import score
from pipeline.faithfulness._canonical import canonical, detokenise, source_forms

DATA = Path(__file__).resolve().parent.parent / "benchmarks" / "data"

SOURCE = (
    "Seoul says the North fired three missiles into the sea on Tuesday. "
    "The launch programme cost $1.13bn last year, officials said. "
    "About 76% of residents were not worried by the test, a poll found. "
    "'We will respond firmly to any provocation,' said Kim Min-jae, the defence minister. "
    "Kyiv says it is watching the situation closely. "
    "The army has 3,000 troops on the border and 4.2 million reservists. "
    "Its RC-135U plane can't land in Busan (the port city), the four-year-old report said."
)


@pytest.mark.parametrize(
    ("tokenised", "plain"),
    [
        ("his team 's 0-0 draw with burnley .", "his team's 0-0 draw with burnley."),
        ("they do n't know , he said", "they don't know, he said"),
        ("he ca n't and she can not .", "he can't and she cannot."),
        ("the port -lrb- busan -rrb- is shut", "the port (busan) is shut"),
        ("a -LSB- sic -RSB- note", "a [sic] note"),
        ("it cost $ 5 and # 42 million", "it cost $5 and #42 million"),
        ("up 5 % on friday !", "up 5% on friday!"),
        ("he was ` worried it might not be clean ' .", "he was `worried it might not be clean'."),
        ("was `` unsafe and unprofessional '' ; he", 'was "unsafe and unprofessional"; he'),
        ("called it ' very tall ' and ' odd ' .", "called it 'very tall' and 'odd'."),
        # untouched: ordinary text with no tokenisation in it
        ("It's - as he said - 'odd' (really).", "It's - as he said - 'odd' (really)."),
    ],
)
def test_penn_treebank_tokenisation_is_undone(tokenised: str, plain: str) -> None:
    assert detokenise(tokenised).text == plain


def test_rewrites_map_back_to_the_text_as_written() -> None:
    written = "the army has 5,000 troops -lrb- officials said -rrb- , kyiv 's army too ."
    canon = canonical(written, source_forms([SOURCE]))
    assert canon.text == "The army has 5,000 troops (officials said), Kyiv's army too."
    at = canon.text.index("(officials said)")
    a, b = canon.original(at, at + len("(officials said)"))
    assert written[a:b] == "-lrb- officials said -rrb-"
    at = canon.text.index("Kyiv's")
    a, b = canon.original(at, at + len("Kyiv"))
    assert written[a:b] == "kyiv"


@pytest.mark.parametrize(
    ("written", "canonical_text"),
    [
        # names take the source's casing; words the source writes in lower case stay so
        ("kyiv says the army has troops.", "Kyiv says the army has troops."),
        ("KIM MIN-JAE SAID THE NORTH FIRED", "Kim Min-jae said the North fired"),
        # hyphenated words the source writes are rejoined, then cased
        (
            "its rc - 135u plane . a four - year - old report",
            "Its RC-135U plane. A four-year-old report",
        ),
        # a dash the source does not write as a hyphen stays a dash
        ("the sea - and the border", "The sea - and the border"),
        # weekdays and months are names even when the source lacks them
        ("it fired on friday in june.", "It fired on Friday in June."),
        # an abbreviation's stop does not open a sentence
        ("talks at 3 p.m. today.", "Talks at 3 p.m. today."),
    ],
)
def test_summaries_take_the_sources_casing(written: str, canonical_text: str) -> None:
    assert canonical(written, source_forms([SOURCE])).text == canonical_text


def _ptb_lower(text: str) -> str:
    """A summary as CNN/DailyMail summarisers write it: lower-cased, PTB-tokenised."""
    out = re.sub(r"n't\b", " n't", text.lower())
    out = re.sub(r"'s\b", " 's", out)
    out = re.sub(r"(?<=\s)'(?!s\b)(?=\w)|(?<=\w)'(?=[\s.,;:!?]|$)", " ' ", out)
    out = re.sub(r"([.,;:!?%])(?=\s|$)", r" \1", out)
    out = out.replace("(", "-lrb- ").replace(")", " -rrb-")
    return " ".join(out.split())


SUMMARIES = [
    # faithful
    "Seoul says the North fired three missiles into the sea on Tuesday.",
    "The army has 3,000 troops on the border and 4.2 million reservists.",
    "Its RC-135U plane can't land in Busan (the port city), the report said.",
    # invented number, changed date, negation added, negation dropped
    "The army has 5,000 troops on the border.",
    "Seoul says the North fired three missiles into the sea on Friday.",
    "Seoul says the North never fired missiles into the sea.",
    "About 76% of residents were worried by the test.",
    # attribution swapped to a name the source uses elsewhere
    "Kyiv says the North fired three missiles into the sea on Tuesday.",
    # a quote changed
    "Kim Min-jae said: 'We will respond gently to any provocation.'",
]


@pytest.mark.parametrize("summary", SUMMARIES)
@pytest.mark.parametrize("spell", [str.lower, str.upper, _ptb_lower], ids=["lower", "upper", "ptb"])
def test_casing_and_tokenisation_do_not_change_the_verdict(summary: str, spell: Any) -> None:
    written = score(SOURCE, summary)
    respelt_summary = spell(summary)
    respelt = score(SOURCE, respelt_summary)
    assert respelt.faithfulness == pytest.approx(written.faithfulness, abs=0.01)
    assert [s.lower() for s in _words(respelt.unsupported)] == [
        s.lower() for s in _words(written.unsupported)
    ]
    assert all(span in respelt_summary for span in respelt.unsupported)


def _words(spans: list[str]) -> list[str]:
    return ["".join(c for c in s if c.isalnum()) for s in spans]


def _summeval(n_articles: int) -> list[tuple[str, str, str]]:
    """(article, cased summary, original tokenised summary) for the first articles by id."""
    with gzip.open(DATA / "summeval_articles.jsonl.gz", "rt", encoding="utf-8") as f:
        articles = {row["id"]: row["article"] for row in map(json.loads, f)}
    rows: list[dict[str, Any]] = []
    with gzip.open(DATA / "summeval_annotations.jsonl.gz", "rt", encoding="utf-8") as f:
        rows = [r for r in map(json.loads, f) if r["in_summeval_1600"]]
    ids = sorted({r["id"] for r in rows})[:n_articles]
    return [
        (articles[r["id"]], r["summary"], r["summary_original_tokenized"])
        for r in rows
        if r["id"] in ids
    ]


def test_real_system_summaries_score_alike_however_spelt() -> None:
    # 80 SummEval summaries. Before the scorer canonicalised its input, lower-casing moved
    # the score by 0.11 on average here, and the original tokenised text by 0.13.
    examples = _summeval(5)
    assert len(examples) == 80
    lowered, original = [], []
    for article, cased, tokenised in examples:
        base = score(article, cased).faithfulness
        lowered.append(abs(base - score(article, cased.lower()).faithfulness))
        original.append(abs(base - score(article, tokenised).faithfulness))
    assert statistics.mean(lowered) < 0.02
    assert statistics.mean(original) < 0.02
