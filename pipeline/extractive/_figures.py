"""Figures: the numbers an article gives, what each one counts (``_measures``), and who
gives it; numbers that are not quantities (dates, years, calibres, model numbers, ages,
phone numbers: ``_numbers``) are left out."""

from __future__ import annotations

import re
from typing import TypedDict

from pipeline.extractive._attribution import _CONTRAST, _attribution, _possessive_actor
from pipeline.extractive._measures import measure_of, noun_phrase
from pipeline.extractive._numbers import NUMBER, not_a_quantity
from pipeline.extractive._sentences import _Sentence

# Re-exported for ``_caveats``.
_NUMBER = NUMBER


class Figure(TypedDict):
    value: str
    measure: str
    source: str | None


def _is_date_number(sentence: str, m: re.Match[str]) -> bool:
    """Whether the number is not a quantity (kept under its old name for ``_caveats``)."""
    return not_a_quantity(sentence, m) is not None


def _measure(sentence: str, start: int, end: int) -> str:
    """What a number counts (see ``_measures``)."""
    return measure_of(sentence, start, end)


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


def _conversion(sentence: str, m: re.Match[str]) -> bool:
    """ "30ft (10m)": a number in brackets right after another, the same quantity again."""
    return re.search(r"\d[\w%]*\s?\($", sentence[: m.start()]) is not None


def _figures(sentences: list[_Sentence]) -> list[Figure]:
    out: list[Figure] = []
    seen: set[str] = set()
    for s in sentences:
        if "furniture" in s.flags or "date" in s.flags:
            continue
        sentence_source: str | None = None
        sentence_source_done = False
        previous: str | None = None  # the measure of the sentence's previous figure
        for m in NUMBER.finditer(s.text):
            if not_a_quantity(s.text, m) or _conversion(s.text, m):
                continue
            value = m.group(0).strip()
            if len(value) > 60:
                continue
            # A contrast ("..., while Seoul's estimate was 11,000") gives each side its own
            # source, and the contrasted figure counts what the first one did.
            source = _clause_source(s.text, m.start())
            contrast = previous is not None and source is not None
            measure = measure_of(s.text, m.start(), m.end(), previous)
            if contrast and previous and measure != previous and not _has_noun(s.text, m):
                measure = previous
            previous = measure
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


def _has_noun(sentence: str, m: re.Match[str]) -> bool:
    return noun_phrase(sentence, m.end()) is not None
