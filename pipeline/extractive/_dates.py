"""Dates: date phrases ("27 March", "last year", "in the 1980s") with what happened then,
one entry per date.

``event`` is what happened, not the sentence again: the clause that holds the date
(between commas, dashes or brackets), without the date itself and its preposition when
that leaves enough to read ("On Tuesday, figures from the Bank of England showed ..." ->
"figures from the Bank of England showed ..."), cut at a word to at most
``EVENT_WORDS`` words (marked "…"). A date the article gives twice is listed once, with its first
event ("Monday" for the burglary, not again for the press conference about it).
"""

from __future__ import annotations

import re
from typing import TypedDict

from pipeline.extractive._sentences import _Sentence
from pipeline.extractive._words import _FULL_MONTHS, _MONTHS, _WEEKDAYS, _trim_words

EVENT_WORDS = 12


class DateMention(TypedDict):
    date: str
    event: str


_DATE_PATTERNS = re.compile(
    "|".join(
        [
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\b\.?(?:,?\s+\d{{4}})?",
            rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?",
            rf"\b(?:(?:early|late|mid-?|the end of|the start of)\s?)?(?:{_FULL_MONTHS})"
            rf"(?:\s+(?:and|or|to)\s+(?:{_FULL_MONTHS}))?(?:\s+\d{{4}})?\b",
            r"\b\d{1,2}/\d{1,2}/\d{2,4}\b",
            r"\b\d{4}-\d{2}-\d{2}\b",
            r"\b(?:early|late|mid-?)\s?(?:19|20)\d\d\b",
            r"(?<![$£€\d,.])\b(?:19|20)\d\d(?:s)?\b(?![,.]\d|%|\s?(?:bn|m|per|million|billion))",
            rf"\b(?:last|next|this|early|late)\s+(?:{_WEEKDAYS})\b|\b(?:{_WEEKDAYS})\b",
            r"\b(?:last|this|next|earlier this|later this|the previous|the following)\s+"
            r"(?:week|weekend|month|year|season|spring|summer|autumn|winter|decade|century)\b",
            r"\b(?:yesterday|today|tomorrow|tonight)\b",
            r"\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten|a few|several)\s+"
            r"(?:days|weeks|months|years|decades)\s+ago\b",
        ]
    ),
    re.IGNORECASE,
)


_CLAUSE = re.compile(r"[,;:]\s|\s[—–-]\s|[()]|\s(?:and|but|while|whereas)\s(?![\d£$€])")
_SAID = re.compile(
    r"^.*?\b(?:said|says|reported|announced|revealed|showed|believe|believes)(?:\s+that)?\s+",
    re.IGNORECASE,
)
_DATE_ONLY = frozenset(
    """on in at by since during of until the this last next early late from to between
    before after around about""".split()
)


def _clauses(sentence: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentence's clauses as (start, end), between commas, dashes, brackets and "and"
    (not inside the date: "January and February")."""
    out: list[tuple[int, int]] = []
    at = 0
    for m in _CLAUSE.finditer(sentence):
        if m.start() < end and m.end() > start:
            continue
        out.append((at, m.start()))
        at = m.end()
    out.append((at, len(sentence)))
    return [(a, b) for a, b in out if sentence[a:b].strip(" .")]


def _event(sentence: str, start: int, end: int) -> str:
    """What happened on the date at ``sentence[start:end]`` (see the module docstring)."""
    clauses = _clauses(sentence, start, end)
    k = next((i for i, (a, b) in enumerate(clauses) if a <= start < b + 1), 0)
    lo, hi = clauses[k] if clauses else (0, len(sentence))
    rest = (sentence[lo:start] + " " + sentence[end:hi]).lower().split()
    if not [w for w in rest if w.strip(",.") not in _DATE_ONLY]:
        # a clause that is only the date: the clause after it tells the event when the
        # date opens the sentence ("On Tuesday, figures ..."), else the one before it
        # ("... have been dispatched (this year)", "tax returns, from 2013, revealed")
        for j in (k + 1,) if k == 0 else (k - 1, k - 2, k + 1):
            if 0 <= j < len(clauses) and len(sentence[slice(*clauses[j])].split()) >= 3:
                lo, hi = clauses[j]
                break
    words = sentence[lo:hi].strip(" ,;:.–—-\"“”‘’'…").split()
    while len(words) > 3 and words[0].lower() in ("and", "but", "so", "while", "whereas"):
        words = words[1:]  # "(…) and it appears that some 3,000 ... dispatched"
    if len(words) > EVENT_WORDS:
        words = _SAID.sub("", " ".join(words)).split() or words
    if len(words) <= EVENT_WORDS:
        return " ".join(words) or sentence.strip()
    # the first EVENT_WORDS words, or a window that ends just after the date
    date_end = len(sentence[lo:end].split()) - (len(sentence[lo:hi].split()) - len(words))
    first = max(0, date_end - EVENT_WORDS) if date_end > EVENT_WORDS else 0
    piece = " ".join(words[first : first + EVENT_WORDS]).rstrip(" ,;:–—-\"“”‘’'")
    return _trim_words(piece + " …", 300) if first + EVENT_WORDS < len(words) else piece


def _dates(sentences: list[_Sentence]) -> list[DateMention]:
    out: list[DateMention] = []
    seen: set[str] = set()
    for s in sentences:
        if "furniture" in s.flags:
            continue
        for m in _DATE_PATTERNS.finditer(s.text):
            date = m.group(0).strip().rstrip(".")
            if not date or len(date) > 80:
                continue
            if date.lower() in {"may", "march"} and not re.search(
                r"(?i)\b(?:in|since|by|until|from|early|late|mid|last|next|this)\s+$",
                s.text[: m.start()],
            ):
                continue
            if date[:1].isupper() and date.lower() in _RELATIVE_DAYS and m.start() > 0:
                continue  # "the newspaper Kathmandu Today": a name, not a date
            key = date.lower()
            if key in seen:  # one entry per date: its first event
                continue
            seen.add(key)
            out.append({"date": date, "event": _event(s.text, m.start(), m.end())})
            if len(out) >= 15:
                return out
    return out


_RELATIVE_DAYS = frozenset({"today", "tonight", "yesterday", "tomorrow"})
