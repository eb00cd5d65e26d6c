"""Names: capitalised runs (names, places, months, weekdays) the source never uses,
the subjects of attribution verbs, and whether a name occurs near a claim."""

from __future__ import annotations

import re

from pipeline.faithfulness._source import _Source
from pipeline.faithfulness._words import (
    _NAME_SUFFIXES,
    _TITLES,
    ATTRIBUTION_VERBS,
    STOPWORDS,
    _stem,
    _Token,
)


def _known(word: str, src: _Source) -> bool:
    """Whether the source uses ``word`` (or, for "Chelsea-and", each of its parts)."""
    if len(word) == 1 or word in src.vocab or _stem(word) in src.stems:
        return True
    parts = [p for p in re.split(r"[-.]", word) if p]
    return len(parts) > 1 and all(
        p in src.vocab or _stem(p) in src.stems or p.rstrip("s") in src.vocab for p in parts
    )


def _entity_spans(
    tokens: list[_Token], text: str, base: int, src: _Source
) -> list[tuple[int, int]]:
    """Offsets of capitalised runs (names, places, months, weekdays) with a word the
    source never uses.

    A run ends at punctuation. A lone capitalised word that opens the sentence (or a
    quotation) is capitalised for that reason alone, so it is left to the support
    score: "Though", "Click", "Residents" are not names.
    """
    spans: list[tuple[int, int]] = []
    run: list[_Token] = []
    run_opens = False
    prev_end = base
    for t in [*tokens, None]:
        gap = text[prev_end - base : t.start - base] if t is not None else "."
        capital = t is not None and t.capital and t.text[0].isalpha() and t.norm not in STOPWORDS
        joined = capital and run and not gap.strip()
        if run and not joined:
            lone_opener = run_opens and len(run) == 1
            unknown = [u for u in run if not _known(u.norm, src)]
            if len(unknown) < len(run):  # "Leicester City" where the source says "Leicester"
                unknown = [u for u in unknown if u.norm not in _NAME_SUFFIXES]
            if not lone_opener and unknown:
                spans.append((run[0].start, run[-1].start + len(run[-1].text)))
            run = []
        if t is None:
            break
        if capital:
            if not run:
                run_opens = t.start == base or bool(re.search(r"[:\"“‘'(\[—-]\s*$", gap))
            run.append(t)
        prev_end = t.start + len(t.text)
    return spans


def _attribution_subject(tokens: list[_Token]) -> list[tuple[int, int]]:
    """(first, last) token indices of the subjects of attribution verbs."""
    out: list[tuple[int, int]] = []
    n = len(tokens)
    for k, t in enumerate(tokens):
        is_according = t.norm == "according" and k + 1 < n and tokens[k + 1].norm == "to"
        if t.norm not in ATTRIBUTION_VERBS and not is_according:
            continue
        if is_according:
            j = k + 2
            while j < n and tokens[j].norm in ("the", "a", "an"):
                j += 1
            first = j
            while j < n and tokens[j].capital:
                j += 1
            if j > first:
                out.append((first, j - 1))
            continue
        # subject before the verb: the nearest capitalised run within four words
        j = k - 1
        while j >= 0 and k - j <= 4 and not tokens[j].capital:
            j -= 1
        if j >= 0 and k - j <= 4 and tokens[j].capital and j > 0 or (j == 0 and k - j <= 2):
            last = j
            while j - 1 >= 0 and tokens[j - 1].capital:
                j -= 1
            if not (j == last and tokens[j].norm in STOPWORDS):
                out.append((j, last))
            continue
        # inverted: '..., said Smith'
        j = k + 1
        while j < n and tokens[j].norm in _TITLES and not tokens[j].capital:
            j += 1
        first = j
        while j < n and tokens[j].capital:
            j += 1
        if j > first:
            out.append((first, j - 1))
    return out


def _name_near(name_tokens: list[_Token], window: set[str]) -> bool:
    wanted = [t for t in name_tokens if t.norm not in STOPWORDS and t.norm not in _TITLES]
    if not wanted:
        return True
    return any(t.norm in window or t.stem in window for t in wanted)
