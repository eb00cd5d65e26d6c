"""Measures: what a figure counts, as a short phrase copied from its sentence.

An editor reads ``measure`` as the thing the number is a number *of*: "additional soldiers"
for 3,000, "net profit" for $186m, "UK house prices increased" for 1.1%. The rules, first
that applies (:func:`measure_of`):

1. **the noun phrase after it**: "3,000 additional soldiers", "10 more hours", "80 per
   cent of the bank", "500 of its 777-200LR planes"; after money also "for" or "from"
   ("£264m for health services");
2. **the other half of a pair**: "from 785 to 708", "1.6% and 0.5% respectively", "compared
   with $1.13bn", "10 per cent more (£24,506)", or a clause with nothing but the number
   ("..., but by only 2.8%"): the number counts what the one before it does, and the
   first of a pair what the second's noun phrase says ("30,000 to 50,000 polygons");
3. **the noun before "of"**: "a score of 8.2" -> "score", "an estimate of £4,000";
4. **the subject and its verb**: the words before the number in its clause, with the
   attribution ("Halifax said ..."), the relative pronoun and the trailing preposition,
   adverb or copula dropped: "Net profit was $186m" -> "Net profit", "UK house prices
   increased by 1.1%" -> "UK house prices increased"; a long subject keeps its head
   ("earnings during the last three months of 2004 dropped by 84%" -> "earnings");
5. **the predicate**: "The £88,400 was by far the biggest pot" -> "was by far the biggest
   pot".

Every phrase is the article's own words in order; at most 8 words.
"""

from __future__ import annotations

import re

from pipeline.extractive._numbers import NUMBER
from pipeline.extractive._words import _trim_words, _wordset

MEASURE_WORDS = 8

_NP_STOP = _wordset(
    """to from in on at by for with than and or but while which that who whom whose was were
    is are be been has have had will would could should can may might said says say since
    during after before over under into onto across against between among as if when where
    because about around per a an the this these those their its his her our up down out
    off it they he she we this last next ago earlier later less fewer higher lower
    bigger smaller greater larger cheaper dearer than so then"""
)
_PLURALS = _wordset("people children men women police staff personnel cattle sheep fish data")
_QUANTIFIERS = _wordset("more extra additional further other fewer")
_DETERMINERS = _wordset("its the their his her our my your these those")
_CLAUSE_SEP = re.compile(r"[,;:]\s|\s[—–-]\s|[(—–]")
_RELATIVE = re.compile(r"\b(?:which|that|who|where|when|while|whereas|as)\s", re.IGNORECASE)
_ATTRIBUTION = re.compile(
    r"^.*?\b(?:said|says|say|reported|reports|estimated|estimates|claimed|claims|told|noted|"
    r"added|announced|stated|states|showed|shows|show|believe|believes|revealed|expected|expects|"
    r"predicted|predicts|found|finds)(?:\s+that)?\s+",
    re.IGNORECASE,
)
_TRAILING = _wordset(
    """by to at of from around about some nearly almost just only than over under up down
    below above more less roughly approximately exactly some still now also even just
    average estimated total an a the was were is are be been being stands stood stand
    reached hit totalled totaled amounted numbered topped valued worth cost costs at
    with for on in into as which that who this it these those they he she typically
    usually generally about around them him us me"""
)
# "from 785 to 708", "1.6% and 0.5%", "6,630, or 12.9%", "compared with $1.13bn", "(£24,506)"
_PAIR_BEFORE = re.compile(
    r"(?:\d[\d,.]*(?:%|bn|m|k|p|\s?per\s?cent|\s?million|\s?billion)?\)?,?\s+(?:to|and|or)"
    r"|\d[\d,.]*\s?[–-]|\bcompared\s+(?:with|to)|\bversus|\bagainst|\()\s*$"
)
_PAIR_AFTER = re.compile(r"^\s*(?:to|and|or|-|–)\s")
_PREPOSITIONS = _wordset("of in on at by for with from during since into to")


def _looks_plural(word: str) -> bool:
    """A plural noun ends the phrase a number counts ("4,000 casualties have occurred")."""
    if word in _PLURALS:
        return True
    return (
        len(word) > 3
        and word.endswith("s")
        and not word.endswith(("ss", "us", "is", "ous"))
        and word.isalpha()
    )


_PARTICIPLES = _wordset(
    """made sold built taken given held paid won lost kept left found seen done known shown
    run hit cut set put bought brought caught fought taught thought told said spent sent
    lent meant read written driven eaten fallen grown risen thrown worn born"""
)


def _verb_form(word: str, rest: str) -> bool:
    """A verb or adverb where a noun should be: a participle ("made"), an -ly adverb
    ("respectively"), or an -ed/-ing word followed by a preposition or nothing ("compared
    with"; not "unforced errors", "managing director's pay")."""
    if word in _PARTICIPLES or (word.endswith("ly") and not re.match(r"\s+[a-z]", rest)):
        return True
    if word.endswith(("ed", "ing")) and "-" not in word:
        nxt = re.match(r"\s+([a-z][\w’'-]*)", rest)
        return nxt is None or nxt.group(1) in _NP_STOP
    return False


def noun_phrase(sentence: str, end: int, money: bool = False) -> str | None:
    """The noun phrase right after a number ("3,000 additional soldiers"), if there is one;
    after an amount of money also "for ..." / "from ..." ("£264m for health services")."""
    tail = sentence[end:]
    m = re.match(r"\s+(of\s+(?:(?:its|the|their|his|her|our|all)\s+)?)", tail)
    lead = ""
    if m:  # "80 per cent of the bank", "500 of its 777-200LR planes"
        lead = m.group(1)
        tail = tail[m.end() :]
    elif money:
        f = re.match(
            r"\s+((?:for|from)\s+(?:(?:a|an|the|its|their|each|every)\s+)?)(?=[a-z])", tail
        )
        if f:  # "£264m for health services", "£3,370 for a month’s treatment"
            lead = f.group(1)
            tail = tail[f.end() :]
    phrase: list[str] = []
    for tok in re.finditer(r"[^\s,;:.!?()“”\"]+|[,;:.!?()“”\"]", tail):
        w = tok.group(0)
        lw = w.lower()
        if not re.match(r"^[\w’'-]+$", w):
            break
        if lw in _NP_STOP and not (not phrase and lw in _QUANTIFIERS):
            break
        if not phrase and not lead and _verb_form(lw, tail[tok.end() :]):
            break  # "26 per cent compared with ...", "10 made": a verb, not what is counted
        phrase.append(w)
        if len(phrase) >= 6:
            break
        if _looks_plural(lw) and not tail[tok.end() :].startswith(" of "):
            break  # "3,000 additional soldiers" | "220 pieces of ... howitzers"
    while phrase and phrase[-1].lower() in {"of", "and", "or"}:
        phrase.pop()
    if phrase and any(c.isalpha() for c in " ".join(phrase)):
        if phrase[0].lower() in _QUANTIFIERS and len(phrase) == 1:
            return None
        return (lead + " ".join(phrase)).strip()
    return None


def _noun_before_of(sentence: str, start: int) -> str | None:
    """ "a score of 8.2" -> "score"; "an estimate of £4,000" -> "estimate"."""
    m = re.search(
        r"((?:[a-z][\w-]*\s+){1,2})of\s+(?:between\s+(?:\S+\s+and\s+)?)?$", sentence[:start]
    )
    if not m:
        return None
    words = [w for w in m.group(1).split() if w not in _DETERMINERS | {"a", "an"}]
    words = [w for w in words if not w.endswith("ed") or w == words[-1]]
    if not words or words[-1] in _NP_STOP or words[-1] in _TRAILING:
        return None
    return " ".join(words[-2:] if len(words) > 1 and words[-2] not in _NP_STOP else words[-1:])


def _clause_left(sentence: str, start: int) -> str:
    seps = [0, *(m.end() for m in _CLAUSE_SEP.finditer(sentence, 0, start))]
    return sentence[seps[-1] : start]


def _subject(sentence: str, start: int) -> str | None:
    """The clause's subject and verb before the number (rule 4 of the module docstring);
    a clause with none ("Houses in ..., a Co-op and a Tesco, typically cost £239,595")
    takes the sentence's first clause."""
    found = _subject_in(_clause_left(sentence, start))
    if found:
        return found
    first = _CLAUSE_SEP.search(sentence, 0, start)
    return _subject_in(sentence[: first.start()]) if first else None


def _content_free(text: str) -> bool:
    """No word that could say what is counted ("but by only", "which is", "on")."""
    words = [w.lower().strip(",;:–-") for w in text.split()]
    return all(not w or w in _TRAILING or w in _NP_STOP or w.endswith("ly") for w in words)


def _subject_in(left: str) -> str | None:
    left = _ATTRIBUTION.sub("", left)
    rel = list(_RELATIVE.finditer(left))
    if rel:
        after = left[rel[-1].end() :]
        before_words = left[: rel[-1].start()].split()
        if len(after.split()) >= 3 or not before_words:
            left = after
        else:  # "a horse that cost £12,000" -> "horse that cost" -> "horse"
            left = " ".join([*before_words[-2:], *left[rel[-1].start() :].split()])
    words = [w.strip("“”\"'‘’,;:–—-") for w in left.split()]
    words = [w for w in words if w]
    while words and (words[-1].lower() in _TRAILING or words[-1].lower().endswith("ly")):
        words.pop()
    while words and words[0].lower() in {"and", "but", "or", "so", "then", "also", "while"}:
        words = words[1:]
    if not words:
        return None
    if len(words) > MEASURE_WORDS:
        # a long subject: its head, up to the first preposition ("earnings during the last
        # three months of 2004 dropped" -> "earnings")
        head: list[str] = []
        for w in words:
            if w.lower() in _PREPOSITIONS and head:
                break
            head.append(w)
        words = head[:MEASURE_WORDS]
    while len(words) > 1 and words[0].lower() in ("a", "an"):
        words = words[1:]
    if not any(c.isalpha() for c in " ".join(words)):
        return None
    if len(words) == 1 and _verb_form(words[0].lower(), ""):
        return None
    return " ".join(words)


def _predicate(sentence: str, end: int) -> str | None:
    """ "The £88,400 was by far the biggest pot" -> "was by far the biggest pot"."""
    m = _CLAUSE_SEP.search(sentence, end)
    words = sentence[end : m.start() if m else len(sentence)].split()[:6]
    while words and (words[-1].lower() in _NP_STOP or words[-1].lower() in _TRAILING):
        words.pop()
    text = " ".join(words).strip(" .,;:")
    return text if re.search(r"[a-z]{3}", text) else None


def measure_of(sentence: str, start: int, end: int, previous: str | None = None) -> str:
    """What the number at ``sentence[start:end]`` counts (see the module docstring);
    ``previous`` is the measure of the figure before it in the same sentence."""
    money = re.match(r"(?:US|A|C|NZ|HK)?[$£€¥₹]", sentence[start:end]) is not None
    phrase = noun_phrase(sentence, end, money)
    if phrase:
        return _trim_words(phrase, 300)
    before = sentence[:start]
    if previous and (_PAIR_BEFORE.search(before) or _content_free(_clause_left(sentence, start))):
        return previous
    pair = _PAIR_AFTER.match(sentence[end:])
    if pair:
        nxt = NUMBER.match(sentence, end + pair.end())
        if nxt:
            shared = noun_phrase(sentence, nxt.end(), money)
            if shared:
                return shared
    for rule in (_noun_before_of(sentence, start), _subject(sentence, start)):
        if rule:
            return rule
    if previous:
        return previous
    return _predicate(sentence, end) or _trim_words(sentence[start:end].strip(), 300)
