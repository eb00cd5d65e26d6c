"""Entities: names found as capitalised word runs, typed by simple cues (places, groups,
organisations, events, people), short forms merged into the longest form."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import TypedDict

from pipeline.extractive._sentences import _Sentence
from pipeline.extractive._words import _MONTHS, _SENTENCE_STARTERS, _STOPWORDS, _WEEKDAYS, _wordset


class Entity(TypedDict):
    name: str
    type: str


_COUNTRIES = _wordset("""
Afghanistan Albania Algeria Angola Argentina Armenia Australia Austria Azerbaijan
Bahrain Bangladesh Belarus Belgium Bolivia Bosnia Brazil Britain Bulgaria Cambodia Cameroon
Canada Chad Chile China Colombia Congo Croatia Cuba Cyprus Czechia Denmark Ecuador Egypt
England Eritrea Estonia Ethiopia Europe Africa Asia America Finland France Gaza Georgia Germany
Ghana Greece Guatemala Haiti Honduras Hungary Iceland India Indonesia Iran Iraq Ireland Israel
Italy Jamaica Japan Jordan Kazakhstan Kenya Korea Kosovo Kuwait Kyrgyzstan Laos Latvia Lebanon
Libya Lithuania Luxembourg Madagascar Malawi Malaysia Mali Malta Mexico Moldova Mongolia
Montenegro Morocco Mozambique Myanmar Namibia Nepal Netherlands Nicaragua Niger Nigeria Norway
Oman Pakistan Palestine Panama Paraguay Peru Philippines Poland Portugal Qatar Romania Russia
Rwanda Scotland Senegal Serbia Singapore Slovakia Slovenia Somalia Spain Sudan Sweden
Switzerland Syria Taiwan Tajikistan Tanzania Thailand Tunisia Turkey Turkmenistan Uganda
Ukraine Uruguay Uzbekistan Venezuela Vietnam Wales Yemen Zambia Zimbabwe Crimea Kursk Donbas
Donetsk Luhansk Kharkiv Kherson Kyiv Kiev Moscow Pyongyang Seoul Beijing Tokyo London Paris
Berlin Washington Brussels Rome Madrid Lisbon Dublin Edinburgh Cardiff Belfast Manchester
Liverpool Birmingham Glasgow Leeds Bristol Warsaw Vienna Prague Budapest Athens Ankara
Istanbul Tehran Baghdad Damascus Beirut Jerusalem Cairo Riyadh Dubai Delhi Mumbai Karachi
Islamabad Kabul Dhaka Bangkok Jakarta Manila Hanoi Shanghai Sydney Melbourne Ottawa
Toronto Chicago Boston Texas California Florida Ohio Virginia Nairobi Lagos Johannesburg
Sydney Moscow Minsk Vilnius Riga Tallinn Helsinki Stockholm Oslo Copenhagen Amsterdam Geneva
Zurich Milan Munich Frankfurt Hamburg Barcelona Caracas Havana Lima Bogota Santiago""")
_LOCATIONS = _COUNTRIES | frozenset(
    {
        "United States",
        "United Kingdom",
        "South Korea",
        "North Korea",
        "New York",
        "Los Angeles",
        "San Francisco",
        "New Delhi",
        "Hong Kong",
        "South Africa",
        "Saudi Arabia",
        "Middle East",
        "Latin America",
        "European Union",
        "Kursk Oblast",
        "New Zealand",
        "Northern Ireland",
        "West Bank",
        "Gaza Strip",
        "Sri Lanka",
        "Washington DC",
        "US",
        "UK",
        "USA",
        "EU",
    }
)
_DEMONYMS = _wordset(
    """American British English Scottish Welsh Irish French German Italian Spanish Russian
    Ukrainian Chinese Japanese Korean Indian Pakistani Iranian Iraqi Syrian Israeli
    Palestinian Turkish Greek Polish Dutch Belgian Swiss Swedish Norwegian Danish Finnish
    Canadian Mexican Brazilian Argentine Australian African European Asian Arab Egyptian
    Saudi Afghan Nigerian Kenyan Belarusian Georgian Armenian Taiwanese Vietnamese Thai
    Filipino Indonesian Malaysian Cuban Venezuelan Colombian Chilean Peruvian Portuguese
    Hungarian Czech Romanian Bulgarian Serbian Croatian Western Eastern Muslim Christian
    Jewish Catholic Kurdish Yemeni Lebanese Libyan Sudanese Somali Ethiopian Briton Scot Brit"""
)
_PERSON_TITLES = _wordset(
    """Mr Mrs Ms Miss Dr Prof Professor Sir Dame Lord Lady President Prime Minister Chancellor
    King Queen Prince Princess Pope Senator Sen Rep Governor Gov Mayor General Gen Colonel
    Col Captain Capt Lieutenant Sergeant Judge Justice Secretary Chairman Chief Director
    Rev Bishop Archbishop Ambassador Commander Admiral Coach Manager Leader Chairwoman
    Officer Inspector Detective Det Supt Minister MP MEP MSP"""
)
_PERSON_CUES = _wordset(
    """leader president minister chancellor spokesman spokeswoman spokesperson chief boss
    manager coach director secretary ceo chairman chairwoman founder actor actress singer
    striker midfielder defender goalkeeper player star author judge senator governor mayor
    mr mrs ms dr prof sir"""
)
_ORG_WORDS = _wordset(
    """Inc Ltd Corp Corporation Company Co Plc LLC Group Holdings Bank Ministry Department
    Party Council Committee Commission Agency Authority Office Service Services Association
    Union Federation Institute University College School Academy Foundation Trust Board
    Court Parliament Congress Senate Assembly Army Navy Force Forces Police Staff Chiefs
    Club FC United City Airlines Airways Motors Media News Times Post Guardian Telegraph
    Network Channel Studios Records Organisation Organization Alliance Coalition League
    Fund Reserve Exchange Network Guard Command Bureau Centre Center Hospital Labs Labour
    Conservative Conservatives Democrats Republicans Republican Tory Tories NATO UN BBC CNN"""
)
_EVENT_WORDS = _wordset(
    """War Cup Olympics Games Championship Championships Festival Awards Summit Election
    Conference Open Tournament Grand Prix Series Week Day Revolution Crisis Expo Oscars
    Grammys Trophy League"""
)
_CAP_RUN = re.compile(
    r"[A-Z][\w’'&.-]*[\w]|[A-Z]"  # one capitalised word
)
_DIRECTIONS = _wordset(
    "North South East West Northern Southern Eastern Western Upper Lower Central"
)
_CONNECTORS = frozenset({"of", "for", "de", "la", "du", "von", "van", "al", "bin", "&"})


_NOT_FIRST_NAMES = _wordset(
    """New Old Great Royal National Central United Rugby Premier World Daily Sunday Home
    Foreign Prime Grand Human Good Holy High Low Big Little Super Social Public Private
    Supreme Federal State County City Saint St Fort Mount Lake Port Cape South North East West
    Northern Southern Eastern Western Upper Lower Middle Greater Inner Outer Black White Red
    Green Blue Golden Silver First Second Third Last Next The Vice Deputy Acting Former"""
)
_NOT_LAST_NAMES = _wordset(
    """Park Street Road Square Bridge Hall House Airport Station Island Islands Valley Hill
    Hills River Lake Mountain Mountains Beach Bay Stadium Arena Online Magazine Road Lane
    Avenue Gardens Castle Palace Abbey Cathedral Church Tower Centre Center Square Coast
    Strait Sea Ocean Desert Forest Canal Harbour Harbor Port Heights Prize Award Awards
    Study Report Survey Agreement Act Bill Plan Record Index Programme Program Project Fund
    Scheme Strategy Review Inquiry Treaty Accord Deal Day Week Year Month Season"""
)


def _entity_type(name: str, cue: str, alone: set[str]) -> str:
    """Type a name by simple cues; ``alone`` holds single names seen with a title ("Mr X")
    or as the subject of a speech verb ("X said"), which is how news refers to people."""
    parts = name.split()
    if name in _LOCATIONS or parts[-1] in {"Oblast", "Province", "Region", "County", "State"}:
        return "location"
    demonym = parts[-1] in _DEMONYMS or parts[-1].removesuffix("s") in _DEMONYMS
    if demonym and all(p in _DEMONYMS or p in _DIRECTIONS for p in parts[:-1]):
        return "group"
    if any(p in _ORG_WORDS for p in parts) or re.fullmatch(r"[A-Z]{2,6}", name):
        return "organisation"
    if any(p in _EVENT_WORDS for p in parts[1:]) or parts[-1] in _EVENT_WORDS:
        return "event"
    if parts[0] in _PERSON_TITLES or cue.lower() in _PERSON_CUES:
        return "person"
    if 2 <= len(parts) <= 4 and all(
        p[:1].isupper() and p[1:].replace("-", "").replace("'", "").isalpha() for p in parts
    ):
        if parts[0] in alone or parts[-1] in alone:
            return "person"  # "Gary Locke ... Locke said", "Mr Locke"
        plain = not any(
            p in _LOCATIONS or p in _DEMONYMS or p.removesuffix("s") in _DEMONYMS for p in parts
        )
        if (
            plain
            and len(parts) <= 3
            and parts[0] not in _NOT_FIRST_NAMES
            and parts[-1] not in _NOT_LAST_NAMES
            and not all(p in _PERSON_TITLES for p in parts)
        ):
            return "person"  # two or three plain capitalised words: in news, mostly a person
    return "other"


def _name_runs(sentence: str) -> Iterable[tuple[str, str, bool]]:
    """Capitalised word runs: (name, word before it, starts the sentence)."""
    tokens = list(re.finditer(r"[\w’'&.-]+|[^\w\s]", sentence))
    i = 0
    while i < len(tokens):
        tok = tokens[i].group(0)
        if not _CAP_RUN.fullmatch(tok.rstrip(".")) or not tok[:1].isupper():
            i += 1
            continue
        j = i
        names: list[str] = []
        while j < len(tokens):
            t = tokens[j].group(0)
            bare = re.sub(r"[’']s$", "", t)
            if bare[:1].isupper() and _CAP_RUN.fullmatch(bare.rstrip(".")):
                names.append(bare.rstrip(".") if bare.endswith(".") and len(bare) > 3 else bare)
                j += 1
                if bare != t:  # possessive ends the name
                    break
                continue
            if (
                t in _CONNECTORS
                and names
                and j + 1 < len(tokens)
                and tokens[j + 1].group(0)[:1].isupper()
            ):
                names.append(t)
                j += 1
                continue
            break
        prev = tokens[i - 1].group(0) if i > 0 else ""
        yield " ".join(names), prev, i == 0 or prev in {"“", '"', "(", "‘", ".", "!", "?", ":"}
        i = max(j, i + 1)


def _split_name(name: str) -> list[tuple[str, str]]:
    """Peel demonyms and titles off a run: "Russian President Vladimir Putin"."""
    parts = name.split()
    out: list[tuple[str, str]] = []
    k = 0
    while k < len(parts) - 1 and parts[k] in {"North", "South", "East", "West"} | _DEMONYMS:
        k += 1
    if 0 < k < len(parts) and parts[k - 1] in _DEMONYMS:
        out.append((" ".join(parts[:k]), ""))
        parts = parts[k:]
    # "Labour MP Diane Abbott", "Home Office Minister Tony McNulty": the words before a
    # title are kept only when they name a place or an organisation.
    for k in range(1, len(parts) - 1):
        if parts[k] in _PERSON_TITLES:
            prefix = " ".join(parts[:k])
            if prefix in _LOCATIONS or any(p in _ORG_WORDS for p in parts[:k]):
                out.append((prefix, ""))
            parts = parts[k:]
            break
    cue = ""
    while len(parts) > 2 and parts[0] in _PERSON_TITLES:
        cue = "president"
        parts = parts[1:]
    out.append((" ".join(parts), cue))
    return out


_PERSON_MENTION = re.compile(
    r"\b(?:Mr|Mrs|Ms|Miss|Dr|Sir|Dame|Lord|Lady)\.?\s+([A-Z][\w'’-]+)"
    r"|\b([A-Z][\w'’-]+)\s+(?:said|says|told|added|admitted|insisted|explained|revealed|"
    r"claimed|believes|thinks|wrote|tweeted|replied|laughed|joked|smiled)\b"
)


def _bare(name: str) -> str:
    """A person's name without leading titles ("Mr Howard" -> "Howard")."""
    parts = name.split()
    while len(parts) > 1 and parts[0] in _PERSON_TITLES:
        parts = parts[1:]
    return " ".join(parts)


def _entities(sentences: list[_Sentence], text: str) -> list[Entity]:
    lower_words = {w.lower() for w in re.findall(r"\b[a-z][a-z]+\b", text)}
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    cues: dict[str, str] = {}
    mid_sentence: set[str] = set()  # names seen away from a sentence start
    pos = 0
    for s in sentences:
        if "furniture" in s.flags:
            continue
        for name, prev, initial in _name_runs(s.text):
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
                    cues[piece] = cue or prev
                pos += 1
    # A single word only ever seen opening a sentence is most likely not a name.
    for n in list(counts):
        known = n in _LOCATIONS or n in _DEMONYMS or n.removesuffix("s") in _DEMONYMS
        if " " not in n and n not in mid_sentence and not known:
            del counts[n]
    alone = {
        m.group(1) or m.group(2)
        for m in _PERSON_MENTION.finditer(text)
        if (m.group(1) or m.group(2)) not in _LOCATIONS
    }
    kinds = {n: _entity_type(n, cues[n], alone) for n in counts}
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
