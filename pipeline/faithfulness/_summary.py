"""The summary's units: a summary (plain text or a ``summary.v1`` object) as one text
(:func:`summary_text`) cut into segments to check, and a segment's sentences with
their offsets."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline.text import split_sentences

_SENTENCE_FIELDS = ("headline", "summary", "key_points")


@dataclass(slots=True)
class _Segment:
    kind: str  # sentence | figure | quote | entity | date | other
    text: str
    start: int
    item: Mapping[str, Any] | None = None


def _segments(summary: str | Mapping[str, Any]) -> tuple[str, list[_Segment]]:
    if isinstance(summary, str):
        return summary, [_Segment("sentence", summary, 0)]
    parts: list[tuple[str, str, Mapping[str, Any] | None]] = []
    for key in _SENTENCE_FIELDS:
        value = summary.get(key)
        if isinstance(value, str):
            parts.append(("sentence", value, None))
        elif isinstance(value, list):
            parts.extend(("sentence", v, None) for v in value if isinstance(v, str))
    for fig in summary.get("figures") or []:
        if isinstance(fig, Mapping) and isinstance(fig.get("value"), str):
            line = f"{fig['value']}: {fig.get('measure') or ''}".rstrip(": ")
            if isinstance(fig.get("source"), str) and fig["source"]:
                line += f" (source: {fig['source']})"
            parts.append(("figure", line, fig))
    for quote in summary.get("quotes") or []:
        if isinstance(quote, Mapping) and isinstance(quote.get("text"), str):
            line = f"“{quote['text']}”"
            if isinstance(quote.get("speaker"), str) and quote["speaker"]:
                line += f" ({quote['speaker']})"
            parts.append(("quote", line, quote))
    for ent in summary.get("entities") or []:
        if isinstance(ent, Mapping) and isinstance(ent.get("name"), str):
            parts.append(("entity", ent["name"], ent))
    for date in summary.get("dates") or []:
        if isinstance(date, Mapping) and isinstance(date.get("date"), str):
            parts.append(("date", f"{date['date']}: {date.get('event') or ''}".rstrip(": "), date))
    text = ""
    segments: list[_Segment] = []
    for kind, line, item in parts:
        if text:
            text += "\n"
        segments.append(_Segment(kind, line, len(text), item))
        text += line
    return text, segments


def summary_text(summary: str | Mapping[str, Any]) -> str:
    """The checkable text of a summary: plain text as is; a ``summary.v1`` object as
    one line each for headline, summary, key points, figures, quotes, entities and dates.
    ``unsupported`` spans are substrings of this text."""
    return _segments(summary)[0]


def _locate_sentences(text: str, base: int) -> list[tuple[str, int]]:
    """The sentences of ``text`` with their offsets (``split_sentences`` collapses spaces)."""
    out: list[tuple[str, int]] = []
    cursor = 0
    for sent in split_sentences(text):
        pattern = r"\s+".join(re.escape(p) for p in sent.split())
        m = re.compile(pattern).search(text, cursor)
        if m is None:
            continue
        out.append((text[m.start() : m.end()], base + m.start()))
        cursor = m.end()
    if not out and text.strip():
        out.append((text.strip(), base + text.index(text.strip())))
    return out
