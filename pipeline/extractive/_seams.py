"""Seams: where a web page's captions, labels and furniture were glued into the running
text with no full stop, so that one "sentence" of the splitter holds several.

A news page copied as text often loses the line breaks around photo captions:
"... to hold an in-out referendum on Europe The most popular policy was ...",
"... ahead of the Grand National Tindall celebrates after watching ...",
"... the Battle of Agincourt Cabinets: A pair of early Victorian items ...".
:func:`split_seams` cuts a sentence at such seams; each piece is then judged on its own
(a piece with no final stop is a caption and is not picked for the summary, and no name
runs across a seam). The rules, each a place where a new sentence plainly starts:

- **opener**: a capitalised "The", "A", "He", "She", "It", "They", "His", "Her", "This",
  ... followed by a lower-case word, right after a word with no punctuation between,
  where that word is not a function word ("on Europe The most popular");
- **title after a number**: "Mr", "Mrs", "Ms", "Dr" right after a number
  ("before 2020 Ms Sturgeon has"), or a capitalised word and a lower-case one after
  "in|since|until|by" and a year ("in 2012 Chief executive Ross McEwan said");
- **capitalised preposition**: "In", "On", "At" and an article, right after a lower-case
  word ("... could sell for less In a study published today");
- **repeated name**: a name already used in the sentence, glued to the end of a
  capitalised run that opens with "the", and followed by a lower-case word
  ("the Grand National Tindall celebrates": Tindall was named earlier);
- **label**: a one- or two-word caption label ("Cabinets:", "New generation:") right
  after a word, followed by a sentence's first word ("... of Agincourt Cabinets: A pair
  ...", not "Grand Theft Auto: San Andreas");
- **adverb**: "However,", "Overall,", "Meanwhile," ... right after a lower-case word
  ("... debate last night Overall, Scots prefer ...");
- **furniture**: "Scroll down for video" or "Watch the video" followed by a capital
  ("Scroll down for video Scottish First Minister ...").

:func:`join_initials` undoes the opposite mistake: the splitter ends a sentence after an
initialism ("L.M." in "artist L.M. Rendall"), which is glued back.
"""

from __future__ import annotations

import re

from pipeline.extractive._words import _wordset

_FUNCTION_WORDS = _wordset(
    """a an the and or but nor of to in on at by for from with as than that which who whom
    whose this these those it its he she they we i you his her their our my your him them
    us me is are was were be been being has have had do does did will would can could
    should may might must not no so if then there here when where while also just only
    very said says told about into onto over under after before between"""
)
_OPENERS = (
    "The|A|An|He|She|It|They|We|His|Her|Their|Its|This|These|Those|There|"
    "When|While|After|Before|But|However|Meanwhile|Although|Despite|If"
)
_OPENER = re.compile(rf"(?<=[\w’'%)])\s+(?=(?:{_OPENERS})\s+[a-z])")
_TITLE_AFTER_NUMBER = re.compile(r"(?<=\d)\s+(?=(?:Mr|Mrs|Ms|Dr)\.?\s+[A-Z])")
# "... stripped of his title in 2012 Chief executive Ross McEwan said": a year, then a new
# sentence's capitalised first word and a lower-case second
_AFTER_YEAR = re.compile(r"\b(?:in|since|until|by) (?:1[89]|20)\d\d(\s+)(?=[A-Z][a-z]+\s[a-z])")
# "... could sell for less In a study published today": a preposition capitalised mid-text
_PREPOSITION = re.compile(r"(?<=[a-z])\s+(?=(?:In|On|At)\s+(?:a|an|the|[a-z]+ing)\s)")
_LABEL = re.compile(
    r"(?<=[\w’'%)])\s+(?=[A-Z][\w’'-]*(?:\s[a-z][\w’'-]*)?:\s+"
    r"(?:A|An|The|Mr|Mrs|Ms|Dr|He|She|It|They|This|His|Her|Their)\s)"
)
# "... debate last night Overall, Scots prefer ...": a sentence adverb opens a new sentence
_ADVERB = re.compile(
    r"(?<=[a-z0-9%)])\s+(?=(?:However|Overall|Meanwhile|Instead|Indeed|Later|Earlier|"
    r"Finally|Separately|Elsewhere|Now|Today|Yesterday),\s)"
)
_FURNITURE = re.compile(r"(?i)\b(?:scroll down for (?:video|more)|watch the video)\s+(?=[A-Z])")
_TOKEN = re.compile(r"[\w’'-]+")
_NAME_LINKS = _wordset("of for and de la du von van al bin")
_SAY_LABELS = _wordset("said says told added explained insisted wrote tweeted")
_INITIALISM_END = re.compile(r"(?:^|\s)(?:[A-Z]\.){2,}$")


def _opener_cuts(sentence: str) -> list[int]:
    cuts = []
    for m in _OPENER.finditer(sentence):
        before = sentence[: m.start()].split()
        if before and before[-1].lower().strip("’'") not in _FUNCTION_WORDS:
            cuts.append(m.end())
    return cuts


def _repeated_name_cuts(sentence: str) -> list[int]:
    if " the " not in sentence and not sentence.startswith("The "):
        return []
    tokens = list(_TOKEN.finditer(sentence))
    words = [t.group(0) for t in tokens]
    cuts: list[int] = []
    i = 1
    while i < len(tokens) - 1:
        size = _repeated_name_at(sentence, tokens, words, i) if words[i][:1].isupper() else 0
        if size:
            cuts.append(tokens[i].start())
            i += size
        else:
            i += 1
    return cuts


def _repeated_name_at(sentence: str, tokens: list[re.Match[str]], words: list[str], i: int) -> int:
    """The length (1 or 2 words) of a name at token ``i`` that repeats an earlier mention
    and is glued to a "the ..." capitalised run; 0 when there is none."""
    if not words[i - 1][:1].isupper() or sentence[tokens[i - 1].end() : tokens[i].start()] != " ":
        return 0
    j = i - 1  # the start of the capitalised run the name is glued to
    while j > 0 and words[j - 1][:1].isupper():
        j -= 1
    if j == 0 or words[j - 1].lower() != "the":
        return 0  # "his son, Louis Jordan was": one name, not two glued together
    for size in (2, 1):
        if i + size >= len(tokens):
            continue
        name, after = words[i : i + size], words[i + size]
        if not after[:1].islower() or after in _NAME_LINKS:
            continue  # "the Canadian Imperial Bank of Commerce": "of" goes on with the name
        if not all(w[:1].isupper() for w in name):
            continue
        pattern = r"\b" + r"\s+".join(map(re.escape, name)) + r"\b"
        if re.search(pattern, sentence[: tokens[j].start()]):
            return size
    return 0


def _label_cuts(sentence: str) -> list[int]:
    cuts = []
    for m in _LABEL.finditer(sentence):
        label = sentence[m.end() :].split(":", 1)[0]
        if label.split()[-1].lower() not in _SAY_LABELS:
            cuts.append(m.end())
    return cuts


def split_seams(sentence: str) -> list[str]:
    """The pieces of ``sentence`` between caption seams (the sentence itself when none)."""
    cuts = set(_opener_cuts(sentence))
    cuts.update(m.end() for m in _TITLE_AFTER_NUMBER.finditer(sentence))
    cuts.update(m.end() for m in _ADVERB.finditer(sentence))
    cuts.update(m.end(1) for m in _AFTER_YEAR.finditer(sentence))
    cuts.update(m.end() for m in _PREPOSITION.finditer(sentence))
    cuts.update(_repeated_name_cuts(sentence))
    cuts.update(_label_cuts(sentence))
    for m in _FURNITURE.finditer(sentence):
        cuts.update((m.start(), m.end()))
    pieces = []
    start = 0
    for cut in sorted(c for c in cuts if 0 < c < len(sentence)):
        piece = sentence[start:cut].strip()
        if piece:
            pieces.append(piece)
        start = cut
    tail = sentence[start:].strip()
    if tail:
        pieces.append(tail)
    return pieces or [sentence]


def join_initials(sentences: list[str]) -> list[str]:
    """Glue back sentences the splitter cut after an initialism ("L.M." / "J.R.R.")."""
    out: list[str] = []
    for s in sentences:
        if out and _INITIALISM_END.search(out[-1]) and s[:1].isupper():
            out[-1] = f"{out[-1]} {s}"
        else:
            out.append(s)
    return out
