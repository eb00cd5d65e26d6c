"""Casing and tokenisation that must not change a score: text rewritten to one canonical
form before it is checked, with a map back to the text as written.

Summaries reach the scorer in more than one spelling of the same claim. SummEval's
system summaries, and the outputs of most summarisers trained on CNN/DailyMail, are
lower-cased and Penn-Treebank tokenised ("paul merson was brought on ... in his team 's
0-0 draw with burnley . he was ` unable to resist ' ... -lrb- 24 -rrb- ..."); a headline
may be in capitals. Whether a summary is faithful does not depend on any of that, so
before the checks run:

- **detokenise** (:func:`detokenise`; the source too): bracket tokens (``-lrb-`` ...
  ``-rcb-``) become brackets, ````` `` ``''`` become ``"``, clitics rejoin their word
  ("team 's" -> "team's", "do n't" -> "don't", "can not" -> "cannot"), a quotation
  mark standing alone between spaces joins the quotation it opens or closes (paired
  left to right; "`" always opens), and the space before closing punctuation or after
  an opening bracket, a currency sign or "#" goes. Only text that shows one of these
  habits is touched.
- **align with the source** (:func:`canonical`, the summary only): "x - y" becomes
  "x-y" where the source writes that word ("rc - 135u", "4 - 6"); a word written in
  lower case (or every word of a text wholly in capitals) takes the casing the source
  gives it in the middle of its sentences, where a capital means a name ("burnley" ->
  "Burnley", "u.s." -> "U.S."), and weekdays and months (but "may" and "march") are
  capitalised unless the source writes them in lower case; and each sentence opens
  with a capital, which is how the sentence splitter finds the sentences of a
  lower-cased text.

A name the source never uses cannot be truecased: in a lower-cased summary it is an
unsupported word (it lowers the sentence's support) but not an unsupported *name*.

Every rewrite keeps, for each character of the new text, the span of the original it
came from (:class:`Canonical`), so the ``unsupported`` spans the scorer reports are
substrings of the summary as the user wrote it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.text import _ABBREVIATIONS

Edit = tuple[int, int, str]
"""Replace ``text[start:end]`` with the string."""


@dataclass(frozen=True, slots=True)
class Canonical:
    """A rewritten text and, per character, the ``[start, end)`` of the original it came from."""

    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    @classmethod
    def of(cls, text: str) -> Canonical:
        return cls(text, tuple(range(len(text))), tuple(range(1, len(text) + 1)))

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The original span behind ``text[start:end]``."""
        if end <= start or start >= len(self.text):
            at = self.starts[start] if start < len(self.text) else (self.ends or (0,))[-1]
            return at, at
        return self.starts[start], self.ends[end - 1]

    def edit(self, edits: Iterable[Edit]) -> Canonical:
        """Apply non-overlapping edits; new characters map to the span they replace."""
        text: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        cursor = 0
        for a, b, new in sorted(edits):
            if a < cursor:
                continue  # overlaps the previous edit
            text.append(self.text[cursor:a])
            starts.extend(self.starts[cursor:a])
            ends.extend(self.ends[cursor:a])
            if new:
                lo = self.starts[a] if a < b else self.original(a, a)[0]
                hi = self.ends[b - 1] if a < b else lo
                text.append(new)
                starts.extend([lo] * len(new))
                ends.extend([hi] * len(new))
            cursor = b
        text.append(self.text[cursor:])
        starts.extend(self.starts[cursor:])
        ends.extend(self.ends[cursor:])
        return Canonical("".join(text), tuple(starts), tuple(ends))


# ------------------------------------------------------------------ detokenising

_BRACKETS = {"lrb": "(", "rrb": ")", "lsb": "[", "rsb": "]", "lcb": "{", "rcb": "}"}
_BRACKET = re.compile(r"-(lrb|rrb|lsb|rsb|lcb|rcb)-", re.IGNORECASE)
_CLITIC = re.compile(r"(?<=\w)( )(?:'s|'re|'ve|'ll|'d|'m|n't)\b|\bcan( )not\b", re.IGNORECASE)
_CLOSING = re.compile(r"(?<=\S)( +)[.,;:!?%)\]}]+(?=\s|$|[\"'`])")
_OPENING = re.compile(r"[(\[{$£€]( +)(?=\S)|#( +)(?=\d)")
_LONE_QUOTE = re.compile(r"(?:(?<=\s)|^)(``|''|`|'|\")(?=\s|$)")
_TOKENISED = re.compile(
    r"-(?:lrb|rrb|lsb|rsb|lcb|rcb)-|``|\w (?:'s|n't|'re|'ve|'ll|'d|'m)\b"
    r"|(?:^|\s)[.,;:!?%`'\"](?:\s|$)|[$£€#] \d",
    re.IGNORECASE,
)


def detokenise(text: str) -> Canonical:
    """``text`` with Penn Treebank tokenisation undone (see the module docstring)."""
    out = Canonical.of(text)
    if _TOKENISED.search(text) is None:
        return out
    out = out.edit(
        (m.start(), m.end(), _BRACKETS[m.group(1).lower()]) for m in _BRACKET.finditer(text)
    )
    out = out.edit(_quote_edits(out.text))
    edits = [
        (m.start(g), m.end(g), "")
        for pattern in (_CLITIC, _CLOSING, _OPENING)
        for m in pattern.finditer(out.text)
        for g in range(1, (pattern.groups or 0) + 1)
        if m.group(g) is not None
    ]
    return out.edit(edits)


def _quote_edits(text: str) -> list[Edit]:
    """A lone quotation mark joins the quotation it opens or closes: "`" and "``" open,
    "''" closes, and "'" or '"' alternate (open, close) within the text."""
    edits: list[Edit] = []
    open_ = False
    for m in _LONE_QUOTE.finditer(text):
        mark = m.group(1)
        opens = mark in ("`", "``") or (mark in ("'", '"') and not open_)
        new = '"' if mark in ("``", "''") else mark
        if opens:
            end = m.end()
            while end < len(text) and text[end] == " ":
                end += 1
            edits.append((m.start(), end, new))
        else:
            start = m.start()
            while start > 0 and text[start - 1] == " ":
                start -= 1
            edits.append((start, m.end(), new))
        open_ = opens
    return edits


# ------------------------------------------------------------------ the source's forms

_WORD = re.compile(r"[^\W\d_]+(?:[’'.\-][^\W\d_]+)*\.?")
_HYPHENATED = re.compile(r"\w+(?:-\w+)+")
_STOP_BEFORE = re.compile(r"[.!?…][\"'”’)\]]*$")
_SENTENCE_START = re.compile(r"(?:^|(?<=[.!?…])[\"'”’)\]]*\s+)([\"'“‘`(\[]*)([^\W\d_])")


@dataclass(frozen=True, slots=True)
class SourceForms:
    """How the source writes its words: ``casing`` (lower-case word -> the form it takes
    away from the start of a sentence or quotation, most often; a word seen only at such
    starts keeps that form) and ``hyphenated`` (its lower-cased hyphenated words)."""

    casing: dict[str, str]
    hyphenated: frozenset[str]


_ALWAYS_NAMES = {
    w.lower(): w
    for w in """Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February
    April June July August September October November December""".split()
}
"""Names in any casing: a lower-cased "sunday" the source lacks is still a date to check."""


def source_forms(sentences: Iterable[str]) -> SourceForms:
    """The :class:`SourceForms` of a source, from its (detokenised) sentences."""
    forms: dict[str, Counter[str]] = {}
    openers: dict[str, str] = {}
    hyphenated: set[str] = set()
    for sentence in sentences:
        for m in _HYPHENATED.finditer(sentence):
            parts = m.group(0).lower().split("-")  # "four-year-old": "four-year", "year-old" too
            hyphenated.update(
                "-".join(parts[i:j])
                for i in range(len(parts))
                for j in range(i + 2, len(parts) + 1)
            )
        for m in _WORD.finditer(sentence):
            word = m.group(0)
            if _opens(sentence[: m.start()]):
                openers.setdefault(word.lower(), word)
            else:
                forms.setdefault(word.lower(), Counter())[word] += 1
    casing = dict(_ALWAYS_NAMES)
    for low, counts in forms.items():
        form, _ = max(counts.items(), key=lambda kv: (kv[1], kv[0] != low))
        casing[low] = form
    for low, form in openers.items():
        casing.setdefault(low, form)
    return SourceForms({k: v for k, v in casing.items() if len(k) == len(v)}, frozenset(hyphenated))


def _opens(prefix: str) -> bool:
    """Whether a word after ``prefix`` opens a sentence or quotation (its capital says nothing)."""
    prefix = prefix.rstrip()
    if not prefix.strip("\"'“‘`(["):
        return True
    if prefix[-1] in '"“‘`([:—':
        return True
    if _STOP_BEFORE.search(prefix[-4:]) is None:
        return False
    return _last_word(prefix) not in _ABBREVIATIONS


def _last_word(prefix: str) -> str:
    last = prefix.rsplit(None, 1)[-1] if prefix.split() else ""
    return last.lower().strip("\"'“‘`(").rstrip(".!?…\"'”’)]")


# ------------------------------------------------------------------ the summary


def canonical(text: str, forms: SourceForms) -> Canonical:
    """``text`` detokenised, its split hyphenated words rejoined and its casing the
    source's (see the module docstring)."""
    out = detokenise(text)
    if " - " in out.text:
        out = out.edit(
            (m.start(2), m.end(2), "-")
            for m in _SPLIT_HYPHEN.finditer(out.text)
            if f"{m.group(1)}-{m.group(3)}".lower() in forms.hyphenated
        )
    return truecase(out, forms.casing)


_SPLIT_HYPHEN = re.compile(r"(?<![\w-])(\w+)( - )(?=(\w+)(?![\w-]))")


def truecase(text: Canonical, casing: dict[str, str]) -> Canonical:
    """Lower-case words (and every word of a text in capitals) in the source's casing;
    every sentence opened with a capital."""
    chars = list(text.text)
    shouting = _is_shouting(text.text)
    for m in _WORD.finditer(text.text):
        word = m.group(0)
        low = word.lower()
        if len(low) != len(word) or not (word == low or shouting):
            continue
        form = casing.get(low) or casing.get(low.rstrip(".")) or casing.get(_possessor(low))
        if form is not None:
            chars[m.start() : m.start() + len(form)] = form
        elif shouting:
            chars[m.start() : m.end()] = low
    cased = "".join(chars)
    for m in _SENTENCE_START.finditer(cased):
        if m.start() == 0 or _last_word(cased[: m.start()]) not in _ABBREVIATIONS:
            i = m.start(2)
            chars[i] = chars[i].upper()
    return Canonical("".join(chars), text.starts, text.ends)


def _possessor(word: str) -> str:
    """ "kyiv's" -> "kyiv"; other words unchanged."""
    return word[:-2] if word.endswith(("'s", "’s")) else word


def _is_shouting(text: str) -> bool:
    """A text in capitals: at least three letters, none of them lower case."""
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 3 and not any(c.islower() for c in letters)
