"""Numbers: parsing and normalising them (:func:`parse_numbers`), matching a summary's
number against the source's, and the tokens of a text with each number as one key
(``_features``)."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pipeline.faithfulness._words import _Token, _tokens, _wordlist

_SMALL = {
    w: i
    for i, w in enumerate(
        _wordlist(
            """zero one two three four five six seven eight nine ten eleven twelve thirteen
        fourteen fifteen sixteen seventeen eighteen nineteen"""
        )
    )
}
_TENS = {
    w: 10 * i
    for i, w in enumerate(_wordlist("_ _ twenty thirty forty fifty sixty seventy eighty ninety"))
    if w != "_"
}
_MULT = {
    "hundred": 1e2,
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "m": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
}
_CURRENCY = {"$": "$", "£": "£", "€": "€", "us$": "$", "usd": "$", "gbp": "£", "eur": "€"}
_CURRENCY_WORDS = {
    "dollar": "$",
    "dollars": "$",
    "pound": "£",
    "pounds": "£",
    "sterling": "£",
    "euro": "€",
    "euros": "€",
}
_WORDNUM = "|".join(
    sorted([*_SMALL, *_TENS, "dozen", "dozens", "hundred", "thousand"], key=len, reverse=True)
)
_NUMBER = re.compile(
    r"(?P<cur>US\$|\$|£|€)?\s?"
    r"(?:(?P<digits>\d+(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+)(?P<ord>st|nd|rd|th)?"
    r"|(?P<words>\b(?:a\s+|half\s+a\s+)?(?:" + _WORDNUM + r")(?:[\s-](?:" + _WORDNUM + r"))*\b))"
    r"(?:\s?(?P<mult>hundred|thousand|millions?|billions?|trillion|bn|mn|mln|tn|m|k|b)\b)?"
    r"(?:\s?(?P<pct>%|per\s?cent\b|percent\b|percentage points?\b))?"
    r"(?:\s(?P<curword>dollars?|pounds?|sterling|euros?)\b)?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Number:
    """A number as written and its normalised readings (value, unit)."""

    text: str
    start: int
    values: tuple[float, ...]
    unit: str | None  # "$", "£", "€", "%" or None
    approx: bool  # written with a multiplier ("4.2 million"), so a rounded source supports it
    weak: bool  # "one", "a": too common to flag when missing


def _word_value(words: str) -> float | None:
    parts = re.split(r"[\s-]+", words.lower())
    total = 0.0
    current = 0.0
    seen = False
    for p in parts:
        if p in ("a", "half"):
            continue
        if p in _SMALL:
            current += _SMALL[p]
        elif p in _TENS:
            current += _TENS[p]
        elif p in ("dozen", "dozens"):
            current = (current or 1) * 12
        elif p == "hundred":
            current = (current or 1) * 100
        elif p == "thousand":
            total += (current or 1) * 1000
            current = 0
        else:
            return None
        seen = True
    if not seen:
        return None
    value = total + current
    if words.lower().startswith("half a"):
        value /= 2
    return value


def parse_numbers(text: str) -> list[Number]:
    """Every number in ``text`` with its normalised values.

    >>> [n.values for n in parse_numbers("$1.13bn and 3,000 and 76 per cent")]
    [(1130000000.0,), (3000.0,), (76.0,)]
    """
    out: list[Number] = []
    for m in _NUMBER.finditer(text):
        digits, words = m.group("digits"), m.group("words")
        if digits:
            base = float(digits.replace(",", ""))
            weak = False
        elif words:
            value = _word_value(words)
            if value is None:
                continue
            base = value
            low = words.lower().strip()
            weak = low in ("one", "a", "zero", "dozens") or low.startswith("a ")
        else:
            continue
        mult_word = (m.group("mult") or "").lower()
        unit: str | None = None
        cur = (m.group("cur") or "").lower()
        if cur:
            unit = _CURRENCY.get(cur)
        if m.group("curword"):
            unit = _CURRENCY_WORDS.get(m.group("curword").lower(), unit)
        if m.group("pct"):
            unit = "%"
        values: list[float] = []
        if mult_word:
            values.append(base * _MULT[mult_word])
            if mult_word in ("m", "k", "b") and unit is None:
                values.append(base)  # "100m" sprint, "5k" run: also the bare number
        else:
            values.append(base)
        start = m.start("digits") if digits else m.start("words")
        if m.group("cur"):
            start = m.start("cur")
        text_span = text[start : m.end()].rstrip()
        if (
            not digits
            and not mult_word
            and not m.group("pct")
            and text_span.lower().startswith("a ")
            and base == 12
        ):
            weak = False  # "a dozen" is a real figure
        out.append(
            Number(
                text_span,
                start,
                tuple(values),
                unit,
                bool(mult_word) and mult_word != "hundred",
                weak,
            )
        )
    return out


def _sig_round(x: float, digits: int) -> float:
    if x == 0:
        return 0.0
    return round(x, -int(math.floor(math.log10(abs(x)))) + digits - 1)


def _sig_digits(text: str) -> int:
    m = re.search(r"\d[\d,]*(?:\.\d+)?", text)
    if not m:
        return 2
    d = m.group(0).replace(",", "").replace(".", "").lstrip("0")
    return max(1, len(d.rstrip("0")) if "." not in m.group(0) else len(d))


def _number_supported(num: Number, source: list[Number]) -> bool:
    for s in source:
        if num.unit and s.unit and num.unit != s.unit:
            continue
        for v in num.values:
            for sv in s.values:
                if math.isclose(v, sv, rel_tol=1e-9, abs_tol=1e-9):
                    return True
                if (
                    num.approx
                    and sv >= 1000
                    and math.isclose(_sig_round(sv, _sig_digits(num.text)), v, rel_tol=1e-9)
                ):
                    return True
    return False


def _features(text: str, base: int = 0) -> tuple[list[_Token], list[Number]]:
    """Tokens whose ``stem`` is the comparison key: a number written any way becomes
    one key ("#3000" for "3,000" and "three thousand"); the unit words it spans get
    an empty key and drop out of the overlap counts."""
    tokens = _tokens(text, base)
    numbers = parse_numbers(text)
    if numbers:
        k = 0
        for num in numbers:
            a, b = base + num.start, base + num.start + len(num.text)
            first = True
            while k < len(tokens) and tokens[k].start < a:
                k += 1
            while k < len(tokens) and tokens[k].start < b:
                tokens[k].stem = f"#{num.values[0]:.6g}" if first else ""
                first = False
                k += 1
    return tokens, numbers
