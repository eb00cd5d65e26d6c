"""Words: the tokeniser, the crude stemmer and the word lists (stopwords, negations,
attribution verbs, titles, name suffixes)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from pipeline.text import normalise_word


def _wordlist(text: str) -> list[str]:
    return text.split()


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TOKEN = re.compile(r"\w+(?:[’'.,\-]\w+)*", re.UNICODE)

STOPWORDS = _wordset(
    """a an the and or but if then than so as of at by for from in into on onto to
    up down out over under with without about after before between through during
    is are was were be been being am has have had having do does did doing will would
    shall should can could may might must it its it's this that these those there here
    he him his she her hers they them their theirs we us our ours you your yours i me my
    mine who whom whose which what when where why how all any both each few more most
    other some such only own same too very just also not no nor never s t don now
    one ones said says say told tell tells according while whilst since because
    again further once off per via yet still even ever much many well back get got"""
)

NEGATIONS = _wordset(
    """not no never none nobody nothing neither nor cannot can't won't don't doesn't didn't
    isn't aren't wasn't weren't hasn't haven't hadn't wouldn't shouldn't couldn't
    deny denies denied denying refuse refused refuses without"""
)

ATTRIBUTION_VERBS = _wordset(
    """say says said tell tells told claim claims claimed add adds added insist insists
    insisted announce announces announced state states stated warn warns warned
    admit admits admitted confirm confirms confirmed reveal reveals revealed
    report reports reported argue argues argued explain explains explained
    deny denies denied allege alleges alleged believe believes believed"""
)

_NOT_ONLY = _wordset("just only merely simply solely")

_NAME_SUFFIXES = _wordset(
    """city united fc afc club party university college school street road council county
    department ministry group inc ltd co corp company airport hospital police"""
)

_TITLES = _wordset(
    """mr mrs ms miss dr prof sir lord lady president minister secretary chief the a an
    coach manager captain officer police spokesman spokeswoman spokesperson"""
)


def _norm(word: str) -> str:
    w = normalise_word(word.rstrip(".,-"))
    return w.replace("’", "'")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A crude suffix stripper: enough to match 'scores'/'scored'/'scoring'."""
    w = word
    if len(w) <= 3 or not w.isalpha():
        return w
    for suffix in ("ingly", "edly", "ing", "ied", "ies", "ed", "es", "ly", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "ls":
        w = w[:-1]
    return w.rstrip("e") or w


@dataclass(slots=True)
class _Token:
    text: str  # as written (trailing punctuation stripped)
    norm: str  # lower-cased, possessive stripped
    stem: str
    start: int  # offset in the text it came from
    capital: bool


def _tokens(text: str, base: int = 0) -> list[_Token]:
    out: list[_Token] = []
    for m in _TOKEN.finditer(text):
        raw = m.group(0)  # "3,000" and "U.S" keep inner punctuation
        norm = _norm(raw)
        if not norm:
            continue
        out.append(_Token(raw, norm, _stem(norm), base + m.start(), raw[0].isupper()))
    return out
