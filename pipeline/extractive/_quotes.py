"""Quotes and dates: quotations with their speakers, and date phrases with the sentence
that tells what happened then."""

from __future__ import annotations

import re
from typing import TypedDict

from pipeline.extractive._attribution import _CLAUSE_BREAK, _SAY_VERBS, _attribution, _clean_actor
from pipeline.extractive._sentences import _Sentence
from pipeline.extractive._words import _FULL_MONTHS, _MONTHS, _WEEKDAYS, _trim_words
from pipeline.text import split_sentences

_EVENT_MAX = 300


class Quote(TypedDict):
    text: str
    speaker: str | None


class DateMention(TypedDict):
    date: str
    event: str


# -- quotes -----------------------------------------------------------------------------------

# Curly quotes pair unambiguously; a straight quote opens only after a space or bracket
# and closes only before a space or punctuation, so '..." he said. "...' never pairs
# the text between two quotations.
_QUOTE = re.compile(
    r"“([^“”]+)”"
    r"|(?:^|(?<=[\s(\[—–-]))\"(?=[^\s\"])([^\"]*?[^\s\"])\"(?=$|[\s.,;:!?)\]—–-])"
)


def _quotes(text: str, sentences: list[_Sentence]) -> list[Quote]:
    out: list[Quote] = []
    seen: set[str] = set()
    for para in re.split(r"\n\s*\n|\n", text):
        para = " ".join(para.split())
        if not para:
            continue
        para_sents = split_sentences(para)
        offsets: list[tuple[int, int]] = []
        cursor = 0
        for ps in para_sents:
            at = para.find(ps, cursor)
            at = cursor if at < 0 else at
            offsets.append((at, at + len(ps)))
            cursor = at + len(ps)
        for m in _QUOTE.finditer(para):
            quoted = (m.group(1) or m.group(2) or "").strip()
            if len(quoted.split()) < 3 or len(quoted) > 600 or quoted in seen:
                continue
            seen.add(quoted)
            # The sentence(s) the quote sits in, with the quote itself blanked out.
            lo = next((a for a, b in offsets if a <= m.start() < b), 0)
            hi = next((b for a, b in offsets if a < m.end() <= b), len(para))
            context = para[lo : m.start()] + " “QUOTE” " + para[m.end() : hi]
            out.append({"text": quoted, "speaker": _speaker(context)})
            if len(out) >= 10:
                return out
    return out


def _speaker(context: str) -> str | None:
    after = context.split("“QUOTE”", 1)[1] if "“QUOTE”" in context else ""
    before = context.split("“QUOTE”", 1)[0]
    # ', X said' / ', said X' after the quote.
    m = re.match(rf"\s*[,.]?\s*((?:[A-Z][\w’'.-]*\s*){{1,5}})\s+(?:{_SAY_VERBS})\b", after)
    if m:
        actor = _clean_actor(m.group(1))
        if actor:
            return actor
    m = re.match(
        rf"\s*[,.]?\s*(?:{_SAY_VERBS})\s+((?:the\s+)?[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*)",
        after,
    )
    if m:
        actor = _clean_actor(m.group(1))
        if actor:
            return actor
    # 'X said: “...”' / 'X noted that “...”' before the quote.
    m = re.search(rf"([^,;.“”\"]+?)\s+(?:{_SAY_VERBS})(?:\s+that)?\s*[:,]?\s*$", before)
    if m:
        actor = _clean_actor(_CLAUSE_BREAK.split(m.group(1))[-1] or m.group(1))
        if actor:
            return actor
    return _attribution(before) or _attribution(re.split(r"(?<=[.!?])\s", after, maxsplit=1)[0])


# -- dates ------------------------------------------------------------------------------------

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


def _event(sentence: str, start: int, end: int) -> str:
    if len(sentence) <= _EVENT_MAX:
        return sentence
    lo = max(0, start - 140)
    if lo > 0:
        lo = sentence.find(" ", lo) + 1
    return _trim_words(sentence[lo:], _EVENT_MAX)


def _dates(sentences: list[_Sentence]) -> list[DateMention]:
    out: list[DateMention] = []
    seen: set[tuple[str, str]] = set()
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
            event = _event(s.text, m.start(), m.end())
            key = (date.lower(), event)
            if key in seen:
                continue
            seen.add(key)
            out.append({"date": date, "event": event})
            if len(out) >= 15:
                return out
    return out
