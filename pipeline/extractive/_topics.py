"""Topics: up to six tags, the leading entities and then the frequent content words."""

from __future__ import annotations

from collections import Counter

from pipeline.extractive._entities import Entity
from pipeline.extractive._sentences import _Sentence
from pipeline.extractive._words import _STOPWORDS, _content_terms, _stem, _wordset
from pipeline.text import normalise_word, words

_TOPIC_STOP = _wordset(
    """think know believe tell ask seem keep help give gave given find found show shows call
    calls tackle quit former whether likely added says told could would should must might
    expect expects hope hopes need needs used uses using make makes made also around just
    good great best better well much many more most less least very still even back"""
)


def _topics(sentences: list[_Sentence], entities: list[Entity], focus: str) -> list[str]:
    """Up to 3 entity names, then frequent content words; words of ``focus`` (title and
    summary) count double, so the tags follow what the article is about."""
    focus_terms = set(_content_terms(focus))
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    surface: dict[str, str] = {}
    pos = 0
    for s in sentences:
        if s.penalty >= 3.0:
            continue
        for w in words(s.text):
            lw = normalise_word(w)
            if len(lw) < 4 or lw in _STOPWORDS or not lw.isalpha() or w[:1].isupper():
                continue
            if lw.endswith(("ing", "ed", "ly")) or lw in _TOPIC_STOP:
                continue  # most likely verbs and adverbs, poor tags
            stem = _stem(lw)
            counts[stem] += 2 if stem in focus_terms else 1
            if stem not in first:
                first[stem] = pos
                surface[stem] = lw
            pos += 1
    tags: list[str] = []
    for e in entities[:3]:
        tag = e["name"].lower()
        if 2 <= len(tag) <= 40 and tag not in tags and e["type"] != "other":
            tags.append(tag)
    for stem in sorted(counts, key=lambda t: (-counts[t], first[t])):
        if len(tags) >= 6 or counts[stem] < 3:
            break
        tag = surface[stem]
        if tag not in tags and 2 <= len(tag) <= 40:
            tags.append(tag)
    if not tags:
        for stem in sorted(counts, key=lambda t: (-counts[t], first[t]))[:3]:
            tags.append(surface[stem][:40])
    return tags[:6] or ["news"]
