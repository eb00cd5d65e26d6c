"""Header: the title and date read from an article's leading lines (see "Header" in the
package docstring)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.articles._normalise import _CREDIT_WORD, _is_furniture, _strip_glued
from pipeline.text import normalise_word, split_sentences, words

_MONTH_NAMES = (
    "january jan|february feb|march mar|april apr|may|june jun|july jul|august aug"
    "|september sep sept|october oct|november nov|december dec"
)
_MONTHS = {
    name: number
    for number, group in enumerate(_MONTH_NAMES.split("|"), start=1)
    for name in group.split()
}
_MONTH = r"(?P<mon>" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\.?"
_WEEKDAY = r"(?:(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?,?\s+)?"
_TIME = r"(?:,?\s+(?:at\s+)?\d{1,2}[:.]\d{2}(?::\d{2})?(?:\s?[ap]\.?m\.?)?(?:\s+[A-Z]{2,5})?)?"
_DATE_FORMS = (
    r"(?P<iso>\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?",
    r"(?P<d1>\d{1,2})[/.](?P<d2>\d{1,2})[/.](?P<y>\d{4})" + _TIME,
    _WEEKDAY + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<y>\d{4})" + _TIME,
    _WEEKDAY + _MONTH + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})" + _TIME,
)
_DATE_LABEL = r"(?:date[d:]?|published(?: on)?|posted(?: on)?|updated|last updated|first published)"
_DATE_LINES = tuple(
    re.compile(r"(?:" + _DATE_LABEL + r"\s*:?\s*)?" + form + r"\s*", re.IGNORECASE)
    for form in _DATE_FORMS
)
_LABELLED_DATE = re.compile(_DATE_LABEL + r"\s*:\s*(?P<raw>.{4,60})", re.IGNORECASE)


def _date_from_line(line: str) -> str | None:
    """The date of a line that is only a date (optionally labelled), else None."""
    for pattern in _DATE_LINES:
        m = pattern.fullmatch(line)
        if not m:
            continue
        groups = m.groupdict()
        if groups.get("iso"):
            return str(groups["iso"])
        year = int(groups["y"])
        if groups.get("mon"):
            return f"{year:04d}-{_MONTHS[groups['mon'].lower()]:02d}-{int(groups['day']):02d}"
        a, b = int(groups["d1"]), int(groups["d2"])
        if a > 12 >= b:
            return f"{year:04d}-{b:02d}-{a:02d}"
        if b > 12 >= a:
            return f"{year:04d}-{a:02d}-{b:02d}"
        return line.split(":", 1)[-1].strip() if ":" in line else line
    m = _LABELLED_DATE.fullmatch(line)
    if m and any(ch.isdigit() for ch in m.group("raw")):
        return m.group("raw").strip()
    return None


_CREDIT_NAME = r"[A-Z][\w'’&.-]*(?:[ /][A-Z&][\w'’&.-]*|\s(?:via|de|van|von|al|bin)){0,5}"
_HEADER_CREDIT = re.compile(
    r"(?:.{0,200}?(?<=[.!?”\"])\s+)?(?:source|"
    + _CREDIT_WORD
    + r")\s?:\s?(?-i:"
    + _CREDIT_NAME
    + ")",
    re.IGNORECASE,
)


def _is_header_credit(line: str) -> bool:
    """A lead-photo caption credit: "Source: Name" or "Caption. Source: Name"."""
    if len(line) > 250 or line.endswith("."):
        return False
    m = _HEADER_CREDIT.fullmatch(line)
    if not m:
        return False
    name = line.rsplit(":", 1)[-1].strip()
    return bool(name) and name[0].isupper() and not any(ch.isdigit() for ch in name)


def _is_headline(line: str) -> bool:
    bare = line.rstrip("”’\"')")
    if bare.endswith(("...", "…")):  # a trailing ellipsis is headline style, not a full stop
        bare = bare.rstrip(".…") or "."
    if not bare or len(line) > 120 or bare[-1] in ".:,;" or len(words(line)) < 2:
        return False
    if re.match(r"(?:https?://|www\.)", line):
        return False
    return len(split_sentences(line)) == 1


def _is_pull_quote(line: str, body: str) -> bool:
    """A line of 6+ words, at least 80 % of which occur in the body."""
    line_words = {normalise_word(w) for w in words(line)}
    if len(line_words) < 6:
        return False
    body_words = {normalise_word(w) for w in words(body)}
    return len(line_words & body_words) >= 0.8 * len(line_words)


@dataclass(slots=True)
class _Header:
    title: str | None
    date: str | None
    lines: list[str]


def _split_header(lines: list[str], *, find_title: bool = True) -> _Header:
    """Take the title and date from the leading lines (see "Header" in the module docstring)."""
    date: str | None = None
    i = 0
    # 1. Leading date and furniture lines.
    while i < len(lines):
        line = _strip_glued(lines[i])
        if not line:
            i += 1
            continue
        found = _date_from_line(line)
        if found is not None:
            date = date or found
        elif not _is_furniture(line):
            break
        i += 1
    rest = lines[i:]
    if not find_title:
        return _Header(None, date, rest)
    # 2. The first block, if a headline ends it.
    end = rest.index("") if "" in rest else len(rest)
    after = rest[end:]
    if end == 0 or end > 6 or not any(after):
        return _Header(None, date, rest)
    kept: list[tuple[str, str | None]] = []
    for line in rest[:end]:
        line = _strip_glued(line)
        if _is_furniture(line) or _is_header_credit(line):
            continue
        kept.append((line, _date_from_line(line)))
    content = [line for line, found in kept if found is None]
    if not content or not _is_headline(content[-1]):
        return _Header(None, date, rest)
    title = content[-1]
    date = date or next((found for _, found in kept if found is not None), None)
    body = "\n".join(after)
    above = [line for line in content[:-1] if not _is_pull_quote(line, body)]
    return _Header(title, date, [*above, "", *after] if above else after)
