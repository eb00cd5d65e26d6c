"""Figures: the numbers an article gives, what each one counts, and who gives it; dates,
times and years are not figures."""

from __future__ import annotations

import re
from typing import TypedDict

from pipeline.extractive._attribution import _CONTRAST, _attribution, _possessive_actor
from pipeline.extractive._sentences import _Sentence
from pipeline.extractive._words import _MONTHS, _WEEKDAYS, _trim_words, _wordset

_MEASURE_MAX = 300


class Figure(TypedDict):
    value: str
    measure: str
    source: str | None


_SCALE = r"(?:\s(?:million|billion|trillion|thousand|hundred|crore|lakh)s?)"
_NUMBER = re.compile(
    r"(?<![\w.,/:\-])"
    r"(?P<cur>(?:US|A|C|NZ|HK)?[$£€¥₹]\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<suf>(?:bn|m|tn|trn|k|%)(?![\w]))?"
    r"(?P<scale>" + _SCALE + r")?"
    r"(?P<pc>\s(?:per\s?cent|percent|percentage points?))?"
    r"(?P<conv>\s\((?:US|A|C)?[$£€¥₹]\s?\d[\d,.]*(?:bn|m|tn|k)?" + _SCALE + r"?\))?"
    r"(?![\w/:]|-\w|\.\d)"
)
_DATE_NEIGHBOUR = re.compile(
    rf"(?:\b(?:{_MONTHS})\.?\s*$)|(?:^\s*(?:st|nd|rd|th)?\s*(?:of\s+)?(?:{_MONTHS})\b)"
)
_YEARISH = re.compile(r"^(1[89]\d\d|20\d\d)$")
_NP_STOP = _wordset(
    """to from in on at for by with than and or but while which that who whom whose was were
    is are be been has have had will would could should can may might said says say since
    during after before over under into onto across against between among as if when where
    because about around per a an the this these those their its his her our up down out
    off it they he she we this last next ago earlier later more less fewer higher lower
    bigger smaller greater larger cheaper dearer than"""
)


_PLURALS = _wordset("people children men women police staff personnel cattle sheep fish data")


def _looks_plural(word: str) -> bool:
    """A plural noun ends the phrase a number counts ("4,000 casualties have occurred")."""
    if word in _PLURALS:
        return True
    return (
        len(word) > 3
        and word.endswith("s")
        and not word.endswith(("ss", "us", "is", "ous"))
        and word.isalpha()
    )


_CLAUSE_SEP = re.compile(r"[,;:]\s|\s[—–-]\s|[(—]")


def _measure(sentence: str, start: int, end: int) -> str:
    """What a number counts: the noun phrase after it, else the clause around it."""
    return _noun_phrase(sentence, end) or _clause(sentence, start, end)


def _noun_phrase(sentence: str, end: int) -> str | None:
    """The noun phrase right after a number ("3,000 additional soldiers"), if there is one."""
    tail = sentence[end:]
    phrase: list[str] = []
    for tok in re.finditer(r"[^\s,;:.!?()“”\"]+|[,;:.!?()“”\"]", tail):
        w = tok.group(0)
        lw = w.lower()
        if not re.match(r"^[\w’'-]+$", w) or lw in _NP_STOP:
            break
        if phrase and lw.endswith("ed") and "-" not in lw:
            break
        phrase.append(w)
        if len(phrase) >= 6:
            break
        if _looks_plural(lw) and not tail[tok.end() :].startswith(" of "):
            break  # "3,000 additional soldiers" | "220 pieces of ... howitzers"
    while phrase and phrase[-1].lower() in {"of", "and", "or"}:
        phrase.pop()
    if phrase and any(c.isalpha() for c in " ".join(phrase)):
        return " ".join(phrase)
    return None


def _clause(sentence: str, start: int, end: int) -> str:
    """The clause around a number, for a number no noun follows."""
    # The clause around the number: between clause breaks (a comma inside "£38,831"
    # is not one), at most 10 words before it and 6 after.
    lefts = [m.end() for m in _CLAUSE_SEP.finditer(sentence, 0, start)]
    left = lefts[-1] if lefts else 0
    if len(sentence[left:start].split()) < 3:
        left = lefts[-2] if len(lefts) >= 2 else 0
    right_m = _CLAUSE_SEP.search(sentence, end)
    right = right_m.start() if right_m else len(sentence)
    before = sentence[left:start].split()[-10:]
    after = sentence[end:right].split()[:6]
    clause = " ".join([*before, sentence[start:end].strip(), *after]).strip(" .,;:")
    return _trim_words(clause, _MEASURE_MAX)


def _is_date_number(sentence: str, m: re.Match[str]) -> bool:
    if m.group("cur") or m.group("suf") or m.group("scale") or m.group("pc"):
        return False
    num = m.group("num")
    before = sentence[: m.start()]
    after = sentence[m.end() :]
    if _DATE_NEIGHBOUR.search(before) or _DATE_NEIGHBOUR.match(after):
        return True
    if re.match(rf"^\s*(?:{_WEEKDAYS})", after) or re.search(rf"(?:{_WEEKDAYS}),?\s*$", before):
        return True
    if _YEARISH.match(num):
        # "2,000" has a comma; a bare 1800-2099 is a year unless it plainly counts
        # something: "2000 troops were sent".
        nxt = re.match(r"\s+([a-z][\w-]*)", after)
        prev = re.search(r"(\w+)\s*$", before)
        if prev and prev.group(1).lower() in {
            "in",
            "since",
            "by",
            "from",
            "until",
            "of",
            "early",
            "late",
            "mid",
            "the",
            "year",
            "to",
            "and",
            "season",
            "before",
            "after",
            "between",
            "during",
            "than",
        }:
            return True
        return not (nxt and nxt.group(1).endswith("s") and nxt.group(1) not in _NP_STOP)
    return bool(re.match(r"^\s*(?:am|pm|a\.m|p\.m|GMT|BST|ET|EST)\b", after, re.I))


def _clause_source(sentence: str, at: int) -> str | None:
    """The source named in the contrast clause that holds position ``at``, if any."""
    cuts = [m.start() for m in _CONTRAST.finditer(sentence)]
    if not cuts:
        return None
    bounds = [0, *cuts, len(sentence)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        if lo <= at < hi:
            part = sentence[lo:hi]
            return _attribution(part) or _possessive_actor(part)
    return None


def _figures(sentences: list[_Sentence]) -> list[Figure]:
    out: list[Figure] = []
    seen: set[str] = set()
    for s in sentences:
        if "furniture" in s.flags or "date" in s.flags:
            continue
        sentence_source: str | None = None
        sentence_source_done = False
        counted: str | None = None  # what the sentence's last figure with a noun counts
        for m in _NUMBER.finditer(s.text):
            if _is_date_number(s.text, m):
                continue
            value = m.group(0).strip()
            if len(value) > 60:
                continue
            # A contrast ("..., while Seoul's estimate was 11,000") gives each side its own source.
            source = _clause_source(s.text, m.start())
            noun = _noun_phrase(s.text, m.end())
            if noun is not None:
                counted = noun
                measure = noun
            elif counted is not None and source is not None:
                # "12,000 soldiers ..., while Seoul's estimate was 11,000": another source's
                # figure for the same thing
                measure = counted
            else:
                measure = _clause(s.text, m.start(), m.end())
            if source is None:
                if not sentence_source_done:
                    sentence_source = _attribution(s.text)
                    sentence_source_done = True
                source = sentence_source
            if value in seen:  # the same number again is mostly the same thing again
                continue
            seen.add(value)
            out.append({"value": value, "measure": measure, "source": source})
            if len(out) >= 20:
                return out
    return out
