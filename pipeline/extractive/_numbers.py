"""Numbers: the pattern of a figure as news writes it, and the numbers that are not
quantities (dates, years, times, calibres, model numbers, ages, phone numbers, labels).

:data:`NUMBER` matches "3,000", "$1.13bn (£600m)", "£446million", "338.5p", "76 per cent",
"$475,000-a-year", "$186m (£98m; 143m euros)": a currency, the digits (never cut inside a
thousands group), a suffix or multiplier written apart or joined, a rate ("-a-year"), and
a converted amount in brackets.

:func:`not_a_quantity` says why a match is not a figure an editor would list, from the
words around it:

- a **date part** or **year**: "27 March", "March 3", "in 1998", "the battle in 1415",
  "on Monday 5", a time ("0400 GMT", "3 pm");
- a **calibre or size that names a thing**: "170 millimeter self-propelled howitzers",
  "240 mm rocket launchers" (a size followed by the noun it describes);
- a **model number**: a bare integer glued to a capitalised word ("Xbox 2", "787
  Dreamliner"), an integer of 100 or more followed by a singular noun ("its new 777
  plane") or after "the" with no noun after it ("the 717.", "the new 777 at a ceremony");
- an **age**: "aged 37", "at the age of 31", "Louis Jordan, 37,", "I'm 35", "will be 35",
  "is now 10 and", "30 year old";
- a **phone number**: a run of digit groups, one starting with 0 ("0845 8 505 505");
- a **label**: a number in quotation marks ("the place marked '3'").
"""

from __future__ import annotations

import re

from pipeline.extractive._words import _MONTHS, _WEEKDAYS, _wordset

SCALE = r"(?:\s?(?:million|billion|trillion|thousand|hundred|crore|lakh)s?)"
_CURRENCY = r"(?:US|A|C|NZ|HK)?[$£€¥₹]"
NUMBER = re.compile(
    r"(?<![\w.,/:\-])"
    rf"(?P<cur>{_CURRENCY}\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)(?![,.]\d)"
    r"(?P<suf>(?:bn|m|tn|trn|k|%)(?![\w])|p(?![\w]|\.[a-z]))?"
    rf"(?P<scale>{SCALE}(?![\w]))?"
    r"(?P<pc>\s(?:per\s?cent|percent|percentage points?))?"
    r"(?P<rate>-(?:a|an|per)-(?:year|month|week|day|hour|head|night|game|match))?"
    rf"(?P<conv>\s\({_CURRENCY}\s?\d[\d,.]*(?:bn|m|tn|k)?{SCALE}?"
    r"(?:;\s?[^()]{1,30})?\))?"
    r"(?![\w/:]|-\w|\.\d)"
)
_DATE_NEIGHBOUR = re.compile(
    rf"(?:\b(?:{_MONTHS})\.?\s*$)|(?:^\s*(?:st|nd|rd|th)?\s*(?:of\s+)?(?:{_MONTHS})\b)"
)
_YEARISH = re.compile(r"^(1[89]\d\d|20\d\d)$")
_OLD_YEAR = re.compile(r"^1[0-7]\d\d$")
_YEAR_BEFORE = _wordset(
    """in since by from until of early late mid the year to and season before after between
    during than"""
)
_NP_STOP_FOR_YEARS = _wordset("to from in on at for by with than and or but was were is are")
_SIZE_UNIT = re.compile(
    r"^\s?(?:mm|millimet(?:er|re)s?|cm|centimet(?:er|re)s?|calibre|caliber|-?inch(?:es)?)"
    r"\s+([a-z][\w-]*)"
)
_SIZE_NOT_NOUN = _wordset(
    """long wide high deep thick tall and or to of in on at by for from with than across
    away apart"""
)
_AGED = re.compile(r"(?:\baged\s(?:over\s|under\s|about\s|around\s|just\s)?|\bage of\s)$")
_AGE_BEFORE = re.compile(
    r"(?:\bI[’']m\s|\bI am\s|\b(?:I|he|she|who)\s+(?:will\s+be|is|was)\s(?:now\s|only\s|just\s)?"
    r"|\b[A-Z][\w’'-]*\s+is\s+now\s|\bturn(?:ed|s)\s)$"
)
_AGE_AFTER = re.compile(r"^(?:-year-old|\s?years?[\s-]old|-years?-old|\s?yrs? old)")
_AGE_END = re.compile(r"^(?:$|[,.;:)]|\s(?:and|so|but|years|when|in|at)\b)")
_UNITS = _wordset(
    """metre metres meter meters mile miles foot feet yard yards kilometre kilometres km kg
    pound pounds ton tons tonne tonnes litre litres gallon gallons acre acres hectare
    hectares degree degrees point points per percent"""
)
_PLURALS = _wordset("people children men women police staff personnel cattle sheep fish data")
_NOT_BRANDS = frozenset(
    [*_MONTHS.split("|"), *_WEEKDAYS.split("|"), "No", "Number", "Page", "Chapter", "Article"]
)


def _prev_word(before: str) -> str | None:
    m = re.search(r"(\S+)\s$", before)
    return m.group(1) if m else None


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
    prev = re.search(r"(\w+)\s*$", before)
    prev_word = prev.group(1).lower() if prev else ""
    if _OLD_YEAR.match(num) and prev_word in _YEAR_BEFORE:
        return True  # "the battle in 1415"
    if _YEARISH.match(num):
        # "2,000" has a comma; a bare 1800-2099 is a year unless it plainly counts
        # something: "2000 troops were sent".
        if prev_word in _YEAR_BEFORE:
            return True
        nxt = re.match(r"\s+([a-z][\w-]*)", after)
        return not (nxt and nxt.group(1).endswith("s") and nxt.group(1) not in _NP_STOP_FOR_YEARS)
    return bool(re.match(r"^\s*(?:am|pm|a\.m|p\.m|GMT|BST|ET|EST)\b", after, re.I))


def not_a_quantity(sentence: str, m: re.Match[str]) -> str | None:
    """Why the number ``m`` in ``sentence`` is not a figure, or ``None`` when it is one."""
    if _is_date_number(sentence, m):
        return "date"
    before, after = sentence[: m.start()], sentence[m.end() :]
    size = _SIZE_UNIT.match(after)
    if size and size.group(1) not in _SIZE_NOT_NOUN:
        return "calibre"
    bare = not (
        m.group("cur") or m.group("suf") or m.group("scale") or m.group("pc") or m.group("conv")
    )
    if not bare or "," in m.group("num") or "." in m.group("num"):
        return None
    num = m.group("num")
    if re.search(r"['‘’\"“]$", before) and re.match(r"^['’\"”]", after):
        return "label"
    if _AGED.search(before) or _AGE_AFTER.match(after):
        return "age"
    if _AGE_BEFORE.search(before) and _AGE_END.match(after):
        return "age"
    if re.search(r"\b[A-Z][\w’'.-]*,\s$", before) and re.match(r"^(?:,|\.|\s*$)", after):
        return "age"  # "Louis Jordan, 37, took his sailboat out"
    if re.search(r"(?:^|\s)0\d{2,}\s(?:\d+\s)*$", before) or (
        num.startswith("0") and re.match(r"^\s\d+\s\d+", after)
    ):
        return "phone number"
    prev = _prev_word(before)
    nxt = re.match(r"^\s([A-Za-z][\w-]*)", after)
    next_word = nxt.group(1) if nxt else ""
    # "220 self-propelled howitzers": a plural noun within the next three words counts
    ahead = re.match(r"^((?:\s[a-z][\w-]*){1,3})", after)
    plural_next = any(
        w in _PLURALS or (w.endswith("s") and not w.endswith("ss"))
        for w in (ahead.group(1).split() if ahead else [])
    )
    if prev and re.fullmatch(r"[A-Z][\w-]*", prev) and prev not in _NOT_BRANDS:
        at_start = re.search(r"(?:^|[.!?:]\s+)\S+\s$", before) is not None
        if not at_start and not plural_next:
            return "model number"  # "Xbox 2"
    brand_after = next_word[:1].isupper() and next_word not in _NOT_BRANDS
    if brand_after and not plural_next and re.match(r"^\s[A-Z][a-z]", after):
        return "model number"  # "787 Dreamliner"
    singular = next_word[:1].islower() and not plural_next and next_word not in _UNITS
    if int(num) >= 100 and singular and next_word not in _SIZE_NOT_NOUN | _NP_STOP_FOR_YEARS:
        return "model number"  # "its new long-distance 777 plane"
    the_before = re.search(r"\bthe\s(?:[a-z][\w-]*\s){0,2}$", before)
    if (
        the_before
        and int(num) >= 100
        and re.match(r"^(?:$|[.,;)]|\s(?:at|in|on|for|with)\b)", after)
    ):
        return "model number"  # "its smallest airliner, the 717.", "the new 777 at a ceremony"
    return None
