"""Sentences: split the text, drop datelines, and judge how unsuitable each sentence is
for a summary (furniture, captions, bare dates, questions, lead-ins, quote-only, short)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.extractive._seams import join_initials, split_seams
from pipeline.extractive._words import _content_terms
from pipeline.text import split_sentences

_FURNITURE = re.compile(
    r"(?i)(support us on|subscribe|sign up|newsletter|click here|scroll down|read more|"
    r"share this|follow us|follow @|all rights reserved|cookie|advertisement|"
    r"published:|updated:|last modified|getty images|^image:|^photo:|^picture:|^source:|"
    r"^caption|^video:|^watch:|^listen:|^related:|^see also|^by\s*\.?$|"
    r"^by\s+[A-Z][\w.]*(\s+[A-Z][\w.]*)*\s*\.?$|daily mail reporter|press association)"
)
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Za-z.'’ -]{1,40},\s*)?(?:[A-Z][A-Za-z.'’ -]{1,40}\s*)?"
    r"\((?:CNN|AP|Reuters|AFP|EW\.com|CNET)\)\s*(?:--|—|–|-)?\s*"
)
_BARE_DATE = re.compile(r"^[\d\s/.:\-]+$")
# "Cabinets: A pair of ...", "New generation: Mr Hardy appeared ...": a photo caption's label
_CAPTION_LABEL = re.compile(r"^[A-Z][\w’'-]*(?:\s[A-Za-z][\w’'-]*){0,2}:\s+[A-Z“‘\"']")
_QUOTE_CHARS = "\"“”‘’'"
_SAID = ("said", "says", "told", "added", "explained", "insisted", "wrote")


@dataclass
class _Sentence:
    index: int
    text: str
    terms: list[str]
    term_set: frozenset[str]
    penalty: float = 0.0
    score: float = 0.0
    flags: list[str] = field(default_factory=list)


def _clean_sentence(text: str) -> str:
    """Drop a wire-style dateline ("LONDON, England (CNN) -- ") from the front."""
    return _DATELINE.sub("", text, count=1).strip()


_PENALTIES = {
    "furniture": 10.0,
    "date": 10.0,
    "caption": 3.0,
    "question": 1.5,
    "lead-in": 3.0,
    "quote-only": 0.8,
    "short": 2.0,
}


def _is_apostrophe(text: str, i: int) -> bool:
    """A ’ or ' between two letters ("don't", "Korea’s") is an apostrophe, not a quote."""
    return (
        text[i] in "’'"
        and 0 < i < len(text) - 1
        and text[i - 1].isalpha()
        and (text[i + 1].isalpha())
    )


def _judge(text: str) -> tuple[float, list[str]]:
    """How unsuitable a sentence is for a summary (0 = fine), with reasons."""
    flags: list[str] = []
    n_words = len(text.split())
    stripped = text.strip()
    if _FURNITURE.search(stripped):
        flags.append("furniture")
    if _BARE_DATE.match(stripped):
        flags.append("date")
    if not stripped.endswith((".", "!", "?", "…", '"', "”", "’", "'", ")")):
        flags.append("caption")  # headlines, captions, bylines: no final stop
    elif _CAPTION_LABEL.match(stripped) and not stripped.split(":", 1)[0].endswith(_SAID):
        flags.append("caption")
    if stripped.endswith("?") or stripped.rstrip(_QUOTE_CHARS).endswith("?"):
        flags.append("question")
    if stripped.endswith(":"):
        flags.append("lead-in")
    if stripped[:1] in "\"“‘'":
        inner = stripped.rstrip(". ")[1:]
        closes = [i for i, c in enumerate(inner) if c in "\"”’'" and not _is_apostrophe(inner, i)]
        if not closes or closes == [len(inner) - 1]:
            flags.append("quote-only")  # a quotation with no attribution in the sentence
    if n_words < 6:
        flags.append("short")
    penalty = sum(_PENALTIES[flag] for flag in flags)
    if n_words > 60:
        penalty += 0.02 * (n_words - 60)
    return penalty, flags


def _prepare(text: str) -> list[_Sentence]:
    """The article's sentences, cut at caption seams (see ``_seams``), each judged."""
    out: list[_Sentence] = []
    for raw in join_initials(split_sentences(text)):
        for piece in split_seams(raw):
            sent = _clean_sentence(piece)
            if not sent:
                continue
            terms = _content_terms(sent)
            penalty, flags = _judge(sent)
            out.append(_Sentence(len(out), sent, terms, frozenset(terms), penalty, 0.0, flags))
    return out
