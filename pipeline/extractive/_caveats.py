"""Caveats: possible contradictions (a sibling qualifier named once, "South" among many
"North") and figures on which the article's sources differ."""

from __future__ import annotations

import re
from collections import Counter

from pipeline.extractive._attribution import _CONTRAST, _attribution, _possessive_actor
from pipeline.extractive._figures import _NUMBER, _is_date_number, _measure
from pipeline.extractive._sentences import _Sentence
from pipeline.extractive._words import _trim_words

_HEAD_FAMILIES = {
    "troops": frozenset({"troops", "soldiers", "forces", "personnel", "units", "fighters"}),
    "officials": frozenset({"officials", "authorities", "diplomats", "leaders"}),
    "people": frozenset({"people", "citizens", "civilians", "workers", "nationals"}),
}
_QUALIFIED = re.compile(
    r"\b(North|South|East|West|Northern|Southern|Eastern|Western|Upper|Lower)\s+"
    r"([A-Z][a-z]+)(?:[’']s)?(?:\s+([a-z]+))?"
)


def _country_key(word: str) -> str:
    if word.endswith("n") and word[-2:-1] in "aeiou" and len(word) > 4:
        return word[:-1]  # Korean -> Korea, African -> Africa
    return word


def _qualifier_caveats(sentences: list[_Sentence], title: str | None) -> tuple[list[str], set[int]]:
    """Sibling qualifiers of the same head noun, one dominant, the other used once.

    "North Korean soldiers" throughout, then a single "South Korean troops": the
    qualifiers share a base ("Korea") and differ only in a direction word, the
    heads are the same kind of thing (troops/soldiers/forces), the dominant
    qualifier is named at least twice as often... as a rule of thumb: at least 3
    times and 2 more than the other. Reported as a *possible* contradiction.
    """
    mentions: Counter[tuple[str, str]] = Counter()
    headed: dict[tuple[str, str, str], list[tuple[str, int]]] = {}
    texts = [(title, -1)] if title else []
    texts += [(s.text, s.index) for s in sentences if "furniture" not in s.flags]
    for text, index in texts:
        for m in _QUALIFIED.finditer(text):
            key = (m.group(1), _country_key(m.group(2)))
            mentions[key] += 1
            head = (m.group(3) or "").lower()
            for family, members in _HEAD_FAMILIES.items():
                if head in members:
                    headed.setdefault((*key, family), []).append((m.group(0), index))
    caveats: list[str] = []
    suspect: set[int] = set()
    for (direction, base, family), phrases in sorted(headed.items()):
        if len(phrases) != 1:
            continue
        minority = mentions[(direction, base)]
        for (other, other_base, other_family), other_phrases in sorted(headed.items()):
            if other_base != base or other_family != family or other == direction:
                continue
            dominant = mentions[(other, base)]
            if dominant >= 3 and dominant >= minority + 2:
                caveats.append(
                    f"Possible contradiction: the article mostly concerns {other_phrases[0][0]} "
                    f"({other} {base}: {dominant} mentions), but one sentence names "
                    f"{phrases[0][0]} ({direction} {base}: {minority} mentions)."
                )
                suspect.add(phrases[0][1])
                break
    return caveats, suspect


def _figure_caveats(sentences: list[_Sentence]) -> list[str]:
    """Two different figures for the same thing given by different sources."""
    caveats: list[str] = []
    for s in sentences:
        parts = _CONTRAST.split(s.text, maxsplit=1)
        if len(parts) != 2:
            continue
        left, right = parts
        lnums = [m for m in _NUMBER.finditer(left) if not _is_date_number(left, m)]
        rnums = [m for m in _NUMBER.finditer(right) if not _is_date_number(right, m)]
        if not lnums or not rnums:
            continue
        a, b = lnums[-1], rnums[0]
        if a.group(0) == b.group(0) or bool(a.group("suf") == "%") != bool(b.group("suf") == "%"):
            continue
        src_a = _attribution(left) or _possessive_actor(left)
        src_b = _attribution(right) or _possessive_actor(right)
        if not src_a or not src_b or src_a == src_b:
            continue
        measure = _measure(left, a.start(), a.end())
        caveats.append(
            _trim_words(
                f"Sources differ on {measure}: {src_a} gives {a.group(0).strip()}, "
                f"{src_b} gives {b.group(0).strip()}.",
                400,
            )
        )
    return caveats
