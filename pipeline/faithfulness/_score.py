"""The score: :func:`score` runs the checks over a summary's units and combines
their scores (see the package docstring for the formula)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pipeline.faithfulness._canonical import canonical
from pipeline.faithfulness._checks import (
    _check_figure,
    _check_name,
    _check_quote,
    _check_sentence,
)
from pipeline.faithfulness._results import FaithfulnessResult, UnitScore
from pipeline.faithfulness._source import _analyse, _Source
from pipeline.faithfulness._summary import _locate_sentences, _Segment, _segments

REFERENCE_WORDS = 60
"""Summaries longer than this (in sentence words) are scored by their risk per this many words."""


def score(source: str, summary: str | Mapping[str, Any]) -> FaithfulnessResult:
    """How faithful ``summary`` is to ``source``: see the package docstring for the formula."""
    src = _analyse(source)
    _, segments = _segments(summary)
    units: list[UnitScore] = []
    for seg in segments:
        if seg.kind == "sentence":
            units.extend(_check_sentences(seg, src))
        elif seg.kind == "figure":
            units.append(_check_figure(seg, src))
        elif seg.kind == "quote":
            units.append(_check_quote(seg, src))
        elif seg.kind in ("entity", "date"):
            units.append(_check_name(seg, src))
    log_total = sum(math.log(max(u.score, 1e-9)) for u in units)
    if REFERENCE_WORDS:
        n_words = sum(len(u.text.split()) for u in units if u.kind == "sentence")
        log_total *= min(1.0, REFERENCE_WORDS / max(1, n_words))
    total = math.exp(log_total) if src.sentences else 0.0
    if not units:
        total = 1.0
    return FaithfulnessResult(round(min(1.0, max(0.0, total)), 4), _unsupported(units), units)


def _check_sentences(seg: _Segment, src: _Source) -> list[UnitScore]:
    """The sentences of ``seg`` checked in their canonical form (detokenised, truecased
    from the source), their spans mapped back to the text as written."""
    canon = canonical(seg.text, src.forms)
    units = []
    for sent, at in _locate_sentences(canon.text, 0):
        unit = _check_sentence(sent, at, src)
        a, b = canon.original(at, at + len(sent))
        issues = []
        for issue in unit.issues:
            x, y = canon.original(issue.start, issue.start + len(issue.span))
            issues.append(replace(issue, span=seg.text[x:y], start=seg.start + x))
        units.append(replace(unit, text=seg.text[a:b], issues=issues))
    return units


def _unsupported(units: list[UnitScore]) -> list[str]:
    spans: list[tuple[int, str]] = []
    for unit in units:
        whole = next((i for i in unit.issues if i.kind == "sentence"), None)
        if whole is not None:
            spans.append((whole.start, whole.span))
            continue
        spans.extend((i.start, i.span) for i in unit.issues if i.span)
    seen: set[str] = set()
    out: list[str] = []
    for _, span in sorted(spans, key=lambda s: s[0]):
        if span not in seen:
            seen.add(span)
            out.append(span)
    return out
