"""Cues: what the article's own wording says about a name, read before it is typed.

News copy shows who is a person and what is not by how it writes the name, and these
cues hold for any article, whatever the names:

person
    a title before it ("Mr Learmount", "Dr Mary McCormack"); a speech verb after it
    ("Toshack said", "Jordan told") or before it (", said Michael Scudamore"); an age in
    apposition ("Louis Jordan, 37,"); ", who ..." after it.
not a person
    "the" right before it ("the Gulf Stream", "the Inland Revenue", "the Houston
    Express"); "a"/"an" before it and a noun after it ("a Six Nations clash", "a Franck
    Muller watch"); ", which ..." after it ("Capital Economics, which ..."); its own
    acronym after it ("Electronic Arts (EA)"); a role after it ("Plaid Cymru health
    spokesman", "Flight International's Mr Learmount", "Halifax chief economist"; not
    after "a": "a New Hampshire newspaper"); ", of" before it ("Dominic Hirsch, of Retail
    Banking Research"); an organisation word before or after it ("anti-virus firm Trend
    Micro", "the newspaper Kathmandu Today", "Dominic Winter auctioneers"); a work word
    after it ("the Harry Potter films"); "in" before it ("in Chalfont St Peter": a place);
    "at" before it ("a position at Goldman Sachs").

:func:`name_cues` returns, for the words and names so marked, ``person`` (a set) and
``other`` (name -> the type its cue suggests: organisation, location or other). A name
with a person cue is never retyped by an other-cue.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from pipeline.extractive._words import _wordset

_WORD = r"[A-Z][\w’'&-]*(?:\.[A-Z][\w’'&-]*)*"  # "K.C" in "K.C.": no stop ends a word
_RUN = rf"{_WORD}(?:\s+(?:of\s+|for\s+|and\s+|&\s+)?{_WORD})*"
_SPEECH = (
    r"said|says|told|tells|added|admitted|insisted|explained|revealed|claimed|believes|"
    r"thinks|wrote|tweeted|replied|laughed|joked|smiled|warned|continued|recalled|confirmed"
)
_TITLES = r"Mr|Mrs|Ms|Miss|Dr|Sir|Dame|Lord|Lady|Prof|Professor|Rev|Det|Insp|Sgt|Capt"

_ROLE_WORDS = _wordset(
    """spokesman spokeswoman spokesperson leader chief boss secretary minister mp mps
    candidate chairman chairwoman official officials economist analyst analysts executive
    director manager coach captain president team squad players fans supporters staff
    members member editor reporter correspondent"""
)
_ORG_CUES = _wordset(
    """firm company group giant maker manufacturer retailer chain bank lender airline
    carrier broadcaster newspaper paper website site magazine channel network agency
    charity party club team side band label studio studios publisher developer insurer
    brand supermarket store consultancy consultants watchdog regulator union outfit
    auctioneers auctioneer operator provider"""
)
_WORK_WORDS = _wordset(
    """film films movie movies series show shows game games album albums song single book
    books novel play programme program drama franchise video"""
)
_PLACE_BEFORE = _wordset("in near outside")
_NOT_BETWEEN = _wordset(
    """will would could should can may might must has have had is was are were be to and
    or but as also then who not never"""
)

_THE_NAME = re.compile(rf"\b(?:the|The)\s+({_RUN})")
_A_NAME_NOUN = re.compile(rf"\b(?:a|an)\s+({_RUN})\s+([a-z][\w-]*)")
_NAME_WHICH = re.compile(rf"({_RUN}),\s+which\b")
_NAME_WHO = re.compile(rf"({_RUN}),\s+who\b")
_NAME_ACRONYM = re.compile(rf"({_RUN})\s+\(([A-Z][A-Za-z]{{1,7}})\)")
_NAME_ROLE = re.compile(rf"(\b[Aa]n?\s+)?({_RUN})(?:[’']s)?\s+([a-z][\w-]*)(?:\s+([a-z][\w-]*))?")
_NAME_TITLE_AFTER = re.compile(rf"({_RUN})[’']s\s+(?:{_TITLES})\b")
_OF_NAME = re.compile(rf",\s+of\s+(?:the\s+)?({_RUN})")
_CUE_NAME = re.compile(rf"\b([a-z][\w-]*)\s+({_RUN})")
_NAME_SPEECH = re.compile(rf"({_RUN})\s+(?:{_SPEECH})\b")
_SPEECH_NAME = re.compile(rf"(?:,|”|\"|’|')\s*(?:{_SPEECH})\s+({_RUN})")
_TITLE_NAME = re.compile(rf"\b(?:{_TITLES})\.?\s+({_RUN})")
_NAME_AGE = re.compile(rf"({_RUN}),\s+\d{{1,3}},")


@dataclass
class Cues:
    """Names (and their single words) the article marks as people, and names it marks as
    something else, with the type that cue suggests."""

    person: set[str] = field(default_factory=set)
    alone: set[str] = field(default_factory=set)  # one-word names with a person cue
    other: dict[str, tuple[str, bool]] = field(default_factory=dict)  # name -> (type, strong)

    def says_person(self, name: str) -> bool:
        parts = name.split()
        return name in self.person or parts[0] in self.person or parts[-1] in self.person

    def other_type(self, name: str) -> tuple[str, bool] | None:
        """The type a not-a-person cue suggests, and whether the cue is strong (an
        organisation's marks: ", which", its acronym, a role or organisation word) or weak
        ("the", "a ... noun", a work word, "in")."""
        return self.other.get(name)


def _clean(name: str) -> str:
    """A matched name without a trailing stop (kept on an initialism: "K.C.")."""
    if name.endswith(".") and not re.search(r"(?:^|\s|\.)[A-Z]\.$", name):
        return name.rstrip(".")
    return name


def _initials(name: str) -> str:
    return "".join(w[0] for w in name.split() if w[:1].isupper()).upper()


def name_cues(text: str) -> Cues:
    """The person and not-a-person cues of ``text`` (see the module docstring)."""
    cues = Cues()

    def person(name: str) -> None:
        name = _clean(name)
        cues.person.add(name)
        cues.person.add(name.split()[-1])
        if " " not in name:
            cues.alone.add(name)

    def other(name: str, kind: str, strong: bool = False) -> None:
        name = _clean(name)
        old = cues.other.get(name)
        if old is None or (strong and not old[1]):
            cues.other[name] = (kind, strong)

    for pattern in (_NAME_SPEECH, _SPEECH_NAME, _TITLE_NAME, _NAME_AGE, _NAME_WHO):
        for m in pattern.finditer(text):
            person(m.group(1))
    for m in _THE_NAME.finditer(text):
        other(m.group(1), "other")
    for m in _A_NAME_NOUN.finditer(text):
        if m.group(2) not in _SPEECH.split("|"):
            other(m.group(1), "other")
    for m in _NAME_WHICH.finditer(text):
        other(m.group(1), "organisation", strong=True)
    for m in _NAME_ACRONYM.finditer(text):
        if _initials(m.group(1)).startswith(m.group(2)[:2].upper()):
            other(m.group(1), "organisation", strong=True)
    for m in _NAME_ROLE.finditer(text):
        if m.group(1):
            continue  # "a New Hampshire newspaper": the name qualifies the noun
        first, second = m.group(3), m.group(4)
        # "Halifax chief economist", "Plaid Cymru health spokesman", but not "Ryan Giggs
        # will captain Wales" (a verb between)
        noun = first if first in _ROLE_WORDS | _ORG_CUES | _WORK_WORDS else None
        if noun is None and second and first not in _NOT_BETWEEN:
            noun = second
        if noun in _ROLE_WORDS or noun in _ORG_CUES:
            other(m.group(2), "organisation", strong=True)
        elif noun in _WORK_WORDS:
            other(m.group(2), "other")
    for m in _NAME_TITLE_AFTER.finditer(text):
        other(m.group(1), "organisation", strong=True)
    for m in _OF_NAME.finditer(text):
        other(m.group(1), "organisation", strong=True)
    for m in _CUE_NAME.finditer(text):
        cue = m.group(1)
        if cue in _ORG_CUES:
            other(m.group(2), "organisation", strong=True)
        elif cue in _PLACE_BEFORE and not re.match(r"[’']s\b", text[m.end() :]):
            other(m.group(2), "location")
        elif cue == "at" and not re.match(r"[’']s\b", text[m.end() :]):
            other(m.group(2), "other")  # "a position at Goldman Sachs", "at Twickenham"
    # A cue for a longer run holds for the name inside it that opens it ("the Houston
    # Express on his ship" -> "Houston Express"), so runs are also stored without "of ..."
    for name, (kind, strong) in list(cues.other.items()):
        head = re.split(r"\s+(?:of|for|and|&)\s+", name)[0]
        other(head, kind, strong)
    return cues
