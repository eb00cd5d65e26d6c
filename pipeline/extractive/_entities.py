"""Entities: names found as capitalised word runs, typed by simple cues (places, groups,
organisations, events, people), short forms merged into the longest form."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import TypedDict

from pipeline.extractive._cues import name_cues
from pipeline.extractive._sentences import _Sentence
from pipeline.extractive._typing import (
    _CAP_RUN,
    _CONNECTORS,
    _DEMONYMS,
    _DIRECTIONS,
    _EVENT_WORDS,
    _LOCATIONS,
    _ORG_WORDS,
    _PERSON_TITLES,
    _entity_type,
)
from pipeline.extractive._words import _MONTHS, _SENTENCE_STARTERS, _STOPWORDS, _WEEKDAYS, _wordset


class Entity(TypedDict):
    name: str
    type: str


_TOKENS = re.compile(r"[\w’'&./-]+|[^\w\s]")
_INITIALISM = re.compile(r"(?:[A-Z]\.){2,}|[A-Z]\.[A-Z]")
_POSSESSIVE = re.compile(r"(?:[’']s|(?<=s)[’'])$")
_TRAILING_NOT_NAME = frozenset(
    """I The A An Her His Their Its Our My Your He She It They We This That According
    However Meanwhile But And Instead Now Then""".split()
)
_REGNAL = frozenset("King Queen Pope Emperor Tsar Prince Princess".split())


def _capitalised(token: str) -> bool:
    return token[:1].isupper() and _CAP_RUN.fullmatch(token.rstrip(".")) is not None


def _clean_word(token: str) -> str:
    """A run's word: a stray stop dropped ("US." -> "US"), an initialism's kept ("K.C.")."""
    if token.endswith(".") and not _INITIALISM.fullmatch(token):
        return token.rstrip(".")
    return token


def _run_ahead(tokens: list[re.Match[str]], j: int) -> list[str]:
    """The capitalised words (and connectors) from token ``j`` on."""
    words: list[str] = []
    while j < len(tokens):
        t = tokens[j].group(0)
        name_word = _capitalised(t) and not _POSSESSIVE.search(t)
        if not (name_word or (t in _CONNECTORS and words)):
            break
        words.append(_clean_word(t))
        j += 1
    while words and words[-1] in _CONNECTORS:
        words.pop()
    return words


def _names_a_body(words: list[str]) -> bool:
    """Whether a run ends like an organisation's or an event's name ("... Trust")."""
    return bool(words) and (words[-1] in _ORG_WORDS or words[-1] in _EVENT_WORDS)


def _owns_a_name(token: str, tokens: list[re.Match[str]], start: int) -> bool:
    """Whether a possessive is part of an organisation's name: "TaxPayers’ Alliance",
    "Jo’s Cervical Cancer Trust"; not "the South’s Joint Chiefs of Staff" or "Britain's
    National Health Service" (a place's, or "the X's": a possessive, not a name)."""
    if token.endswith(("s’", "s'")):
        return True
    word = _POSSESSIVE.sub("", token)
    if word in _LOCATIONS or word in _DIRECTIONS or word in _DEMONYMS:
        return False
    return not (start > 0 and tokens[start - 1].group(0).lower() == "the")


def _and_joins(left: list[str], right: list[str]) -> bool:
    """Whether "and" joins two runs into one name: the right run (two words or more)
    finishes an organisation's or event's name ("US Food and Drug Administration",
    "Coachella Valley Music and Arts Festival"), or the left one is an organisation "of"
    or "for" something ("Institute for Health and Social Care"); never when the left run
    is already a whole name of its kind ("the Tories and Lib Dems")."""
    if len(right) < 2 or left[-1] in _ORG_WORDS or left[-1] in _EVENT_WORDS:
        return False
    if _names_a_body(right):
        return True
    links = [k for k, w in enumerate(left) if w in ("of", "for")]
    return bool(links) and any(w in _ORG_WORDS for w in left[: links[0]])


def _name_runs(sentence: str) -> Iterable[tuple[str, str, bool, str]]:
    """Capitalised word runs: (name, word before it, starts the sentence, word after it).

    A run goes on over "of", "for", "&" and the like between capitalised words; over "and"
    or a possessive only into an organisation's or event's name ("Institute for Health and
    Social Care", "Jo's Cervical Cancer Trust", "TaxPayers' Alliance"). A stray stop is
    dropped, and a trailing "I", "The", "Her", ... (the next sentence's first word, glued
    on) is not part of the name.
    """
    tokens = list(_TOKENS.finditer(sentence))
    i = 0
    while i < len(tokens):
        first = tokens[i].group(0)
        if not first[:1].isupper() or not (_capitalised(first) or _POSSESSIVE.search(first)):
            i += 1
            continue
        j = i
        names: list[str] = []
        while j < len(tokens):
            t = tokens[j].group(0)
            if _capitalised(t) or (_POSSESSIVE.search(t) and t[:1].isupper()):
                if _POSSESSIVE.search(t):
                    ahead = _run_ahead(tokens, j + 1)
                    if _names_a_body(ahead) and _owns_a_name(t, tokens, i):
                        names.append(t)
                        j += 1
                        continue
                    names.append(_POSSESSIVE.sub("", t))
                    j += 1
                    break  # a possessive ends the name
                names.append(_clean_word(t))
                j += 1
                continue
            nxt = tokens[j + 1].group(0) if j + 1 < len(tokens) else ""
            if t in _CONNECTORS and names and nxt[:1].isupper():
                names.append(t)
                j += 1
                continue
            if t == "and" and names and nxt[:1].isupper():
                ahead = _run_ahead(tokens, j + 1)
                if _and_joins(names, ahead):  # "Food and Drug Administration"
                    names.append(t)
                    j += 1
                    continue
            break
        while names and (names[-1] in _CONNECTORS or names[-1] == "and"):
            names.pop()
        while len(names) > 1 and names[-1] in _TRAILING_NOT_NAME:
            if names[-1] == "I" and any(n in _REGNAL for n in names):
                break  # "King Charles I"
            names.pop()
        prev = tokens[i - 1].group(0) if i > 0 else ""
        initial = i == 0 or prev in {"“", '"', "(", "‘", ".", "!", "?", ":"}
        after = tokens[j].group(0) if j < len(tokens) else ""
        if names:
            yield " ".join(names), prev, initial, after
        i = max(j, i + 1)


def _is_title(word: str) -> bool:
    """ "Minister", "Director-General": a title, or titles joined by hyphens."""
    return word in _PERSON_TITLES or (
        "-" in word and all(p in _PERSON_TITLES for p in word.split("-"))
    )


def _split_name(name: str) -> list[tuple[str, str]]:
    """Peel demonyms, titles and employers off a run: "Russian President Vladimir Putin",
    "Minister for Magic Cornelius Fudge", "Paul Miller of Thames Valley Police"."""
    parts = name.split()
    out: list[tuple[str, str]] = []
    k = 0
    while k < len(parts) - 1 and parts[k] in {"North", "South", "East", "West"} | _DEMONYMS:
        k += 1
    rest = parts[k:]
    # "Russian President Vladimir Putin" is peeled; "Australian Open", "British Medical
    # Association" and "European Union" are one name.
    peel = _is_title(rest[0]) or (
        len(rest) >= 2 and not any(p in _ORG_WORDS or p in _EVENT_WORDS for p in rest)
    )
    if 0 < k < len(parts) and parts[k - 1] in _DEMONYMS and peel:
        out.append((" ".join(parts[:k]), ""))
        parts = rest
    # "Tory Ruth Davidson", "Liberal Democrat Willie Rennie": a party before a person
    for k in range(1, len(parts) - 1):
        rest = parts[k:]
        if parts[k - 1] in _ORG_WORDS and not any(
            w in _ORG_WORDS or w in _EVENT_WORDS or w in _LOCATIONS or w in _CONNECTORS
            for w in rest
        ):
            if not _is_title(rest[0]):
                out.append((" ".join(parts[:k]), ""))
                parts = rest
            break
    # "Labour MP Diane Abbott", "Home Office Minister Tony McNulty": the words before a
    # title are kept only when they name a place or an organisation ("Sentara Norfolk
    # General Hospital" is an organisation's name, not a general's).
    for k in range(1 if parts[-1] not in _ORG_WORDS else len(parts), len(parts) - 1):
        if _is_title(parts[k]):
            prefix = " ".join(parts[:k])
            if prefix in _LOCATIONS or any(p in _ORG_WORDS for p in parts[:k]):
                out.append((prefix, ""))
            parts = parts[k:]
            break
    cue = ""
    while len(parts) > 2 and _is_title(parts[0]):
        cue = "president"
        parts = parts[1:]
        if parts[0] in _CONNECTORS and len(parts) > 1:
            # "Director-General of The Royal Photographic Society": the employer;
            # "Minister for Magic Cornelius Fudge": a longer title, then the person
            after = parts[1:]
            if any(p in _ORG_WORDS for p in after):
                return [*out, (" ".join(after), "")]
            parts = after[1:] if len(after) > 2 else after
    # "Paul Miller of Thames Valley Police", "Ipsos Mori for BBC Scotland": two names
    for k, p in enumerate(parts):
        if p in ("of", "for") and k >= 2:
            left, right = parts[:k], parts[k + 1 :]
            plain_left = not any(
                w in _ORG_WORDS or w in _EVENT_WORDS or w in _LOCATIONS for w in left
            )
            if plain_left and any(w in _ORG_WORDS for w in right):
                return [*out, (" ".join(left), cue), (" ".join(right), "")]
            break
    out.append((" ".join(parts), cue))
    return out


# Abbreviations that name a thing, not an entity: "a TV debate", "his GPS", "the PM".
_COMMON_ACRONYMS = _wordset(
    """TV DVD CD GPS CV PM AM OK ATM CEO MP ID PC GMT BST UTC EST PST CET SMS PIN VAT GDP
    HIV DNA IT AI UFO VIP FAQ HQ RIP PS PPS NB"""
)


def _bare(name: str) -> str:
    """A person's name without leading titles ("Mr Howard" -> "Howard")."""
    parts = name.split()
    while len(parts) > 1 and parts[0] in _PERSON_TITLES:
        parts = parts[1:]
    return " ".join(parts)


# Words that end a company's name and never stand alone ("Dominic Winter and Co").
_NAME_SUFFIXES = _wordset("Co Inc Ltd Corp Plc LLC PLC LLP Bros")


def _a_name_alone(word: str, lower_words: set[str]) -> bool:
    """Whether a single capitalised word can be a name on its own: not a common
    abbreviation ("TV", "GPS") or a plural one ("ATMs", "MPs"), and not a word the article
    also writes in lower case, i.e. a common word capitalised by its place ("Owners",
    "Tumours", "Dozens" after a caption; a place or demonym is always a name)."""
    if word in _LOCATIONS or word in _DEMONYMS:
        return True
    if word in _COMMON_ACRONYMS or word in _NAME_SUFFIXES or re.fullmatch(r"[A-Z]{2,}s", word):
        return False
    low = word.lower()
    return not (low in lower_words or (low.endswith("s") and low[:-1] in lower_words))


def _entities(sentences: list[_Sentence], text: str) -> list[Entity]:
    lower_words = {w.lower() for w in re.findall(r"\b[a-z][a-z]+\b", text)}
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    prevs: dict[str, str] = {}
    mid_sentence: set[str] = set()  # names seen away from a sentence start
    pos = 0
    for s in sentences:
        if "furniture" in s.flags:
            continue
        for name, prev, initial, after in _name_runs(s.text):
            if prev == "," and after in ("at", "of", "for") and len(name.split()) > 1:
                continue  # "Dr Mary McCormack, Consultant Clinical Oncologist at ...": a role
            parts = name.split()
            while parts and (parts[-1] in _CONNECTORS):
                parts.pop()
            while parts and (parts[0] in _CONNECTORS):
                parts = parts[1:]
            if any(re.search(r"^I[’']|[’'](?:ve|ll|re|m|d)$", p) for p in parts):
                continue  # "I’ve", "We’ll": contractions, not names
            # A capitalised sentence opener that is a common word is not a name.
            while (
                parts
                and initial
                and (parts[0].lower() in _SENTENCE_STARTERS or parts[0].lower() in lower_words)
                and parts[0] not in _LOCATIONS
                and parts[0] not in _DEMONYMS
            ):
                parts = parts[1:]
                initial = False
            if not parts:
                continue
            if len(parts) == 1 and (
                parts[0] in _DIRECTIONS
                or re.search(r"-[a-z]", parts[0])
                or parts[0].lower() in _STOPWORDS
                or parts[0].lower() in _SENTENCE_STARTERS
                or len(parts[0]) < 2
                or parts[0] in _PERSON_TITLES
                or re.match(rf"^(?:{_MONTHS}|{_WEEKDAYS})$", parts[0])
                or not _a_name_alone(parts[0], lower_words)
            ):
                continue
            for piece, cue in _split_name(" ".join(parts)):
                if not piece or len(piece) > 120 or piece in _PERSON_TITLES:
                    continue
                counts[piece] += 1
                if not initial or piece != " ".join(parts[: len(piece.split())]):
                    mid_sentence.add(piece)
                if piece not in first:
                    first[piece] = pos
                    prevs[piece] = cue or prev
                pos += 1
    # A single word only ever seen opening a sentence is most likely not a name.
    for n in list(counts):
        known = n in _LOCATIONS or n in _DEMONYMS or n.removesuffix("s") in _DEMONYMS
        if " " not in n and n not in mid_sentence and not known:
            del counts[n]
    cues = name_cues(text)
    kinds = {n: _entity_type(n, prevs[n], cues) for n in counts}
    # "Frank Jordan" and "Louis Jordan" are people and "Jordan said": that "Jordan" is
    # their surname, not the country
    surnames = {n.split()[-1] for n, k in kinds.items() if k == "person" and " " in n}
    for n, k in kinds.items():
        if " " not in n and k != "person" and n in surnames and n in cues.person:
            kinds[n] = "person"
    # Merge short forms into the longest form that holds them: "Kim" and "Mr Kim"
    # into "Kim Jong Un"; the type of a titled short form wins over "other".
    bare = {n: tuple(_bare(n).split()) for n in counts}
    names = sorted(counts, key=lambda n: (-len(bare[n]), first[n], n))
    holders: dict[str, list[str]] = {}  # word -> names holding it, longest first
    for n in names:
        for w in dict.fromkeys(bare[n]):
            holders.setdefault(w, []).append(n)
    merged: dict[str, str] = {}
    for n in names:
        short = bare[n]
        target = n
        for longer in holders.get(short[0], ()):
            size = len(short)
            if len(bare[longer]) <= size:
                break
            inside = any(
                bare[longer][i : i + size] == short for i in range(len(bare[longer]) - size + 1)
            )
            if inside and (kinds[n] == kinds[longer] or "other" in (kinds[n], kinds[longer])):
                target = merged.get(longer, longer)
                if kinds[target] == "other" and kinds[n] == "person":
                    kinds[target] = "person"
                break
        merged[n] = target
    total: Counter[str] = Counter()
    for n, c in counts.items():
        total[merged[n]] += c
        first[merged[n]] = min(first[merged[n]], first[n])
    ranked = sorted(total, key=lambda n: (-total[n], first[n], n))
    return [{"name": n, "type": kinds[n]} for n in ranked[:25]]
