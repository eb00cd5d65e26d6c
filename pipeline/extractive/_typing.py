"""Typing names: the word lists (places, demonyms, titles, organisation and event words)
and :func:`_entity_type`, which types a name by those lists and by the article's own cues
(``_cues``): a person needs a person's cue or the look of a person's name, and a name the
article writes as a thing ("the Gulf Stream", "Capital Economics, which ...") is not one."""

from __future__ import annotations

import re

from pipeline.extractive._cues import Cues
from pipeline.extractive._words import _wordset

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
    Officer Inspector Detective Det Supt Minister MP MEP MSP PM DJ"""
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
    Conservative Conservatives Democrats Republicans Republican Tory Tories NATO UN BBC CNN
    Dems Liberals Greens Nationalists Society Museum Gallery Radio Television Revenue
    Customs Research Administration Democrat"""
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
    Green Blue Golden Silver First Second Third Last Next The Vice Deputy Acting Former
    Sao San Santa Los Las El Le La All Many Some Every Each Any Most Both Several Few
    One Two Three Four Five Six Seven Eight Nine Ten"""
)
_PLACE_SUFFIXES = frozenset({"Oblast", "Province", "Region", "County", "State", "Shire"})
_PLACE_WORDS = frozenset({"St", "Saint", "upon", "on", "le"})
_NOT_LAST_NAMES = _wordset(
    """Park Street Road Square Bridge Hall House Airport Station Island Islands Valley Hill
    Hills River Lake Mountain Mountains Beach Bay Stadium Arena Online Magazine Road Lane
    Avenue Gardens Castle Palace Abbey Cathedral Church Tower Centre Center Square Coast
    Strait Sea Ocean Desert Forest Canal Harbour Harbor Port Heights Prize Award Awards
    Study Report Survey Agreement Act Bill Plan Record Index Programme Program Project Fund
    Scheme Strategy Review Inquiry Treaty Accord Deal Day Week Year Month Season Stream
    Current Revenue Customs Research International Radio TV Television Business Music
    Arts Sports Games Film Films Cinema Theatre Journal Gazette Herald Mail Mirror
    Express Echo Chronicle Tribune Observer Today Tonight Weekly"""
)


def _looks_like_a_person(parts: list[str]) -> bool:
    """Two to four plain capitalised words, none a place, demonym, title-only or a word
    that does not start or end a person's name ("Sao Paolo", "All Creatures Great",
    "Fox Business")."""
    if not 2 <= len(parts) <= 4:
        return False
    if not _plain_words(parts):
        return False
    return not (
        any(p in _LOCATIONS or p in _DEMONYMS or p.removesuffix("s") in _DEMONYMS for p in parts)
        or parts[0] in _NOT_FIRST_NAMES
        or parts[-1] in _NOT_LAST_NAMES
        or all(p in _PERSON_TITLES for p in parts)
        or any(p in _PLACE_WORDS for p in parts[1:-1])
    )


def _entity_type(name: str, cue: str, cues: Cues) -> str:
    """Type a name by the word lists and the article's cues (see the module docstring).

    ``cue`` is the word right before the name's first mention ("striker", "president")."""
    parts = name.split()
    if (
        name in _LOCATIONS
        or parts[-1] in _PLACE_SUFFIXES
        or any(p in _PLACE_WORDS for p in parts[1:-1])
    ):
        return "location"  # "Kursk Oblast", "Chalfont St Peter"
    demonym = parts[-1] in _DEMONYMS or parts[-1].removesuffix("s") in _DEMONYMS
    if demonym and all(p in _DEMONYMS or p in _DIRECTIONS for p in parts[:-1]):
        return "group"
    if any(p in _ORG_WORDS for p in parts) or re.fullmatch(r"[A-Z]{2,6}", name):
        return "organisation"
    if re.fullmatch(r"[A-Z]{2,}s", parts[-1]):
        return "group"  # "SNP MPs"
    if any(p in _EVENT_WORDS for p in parts[1:]) or parts[-1] in _EVENT_WORDS:
        return "event"
    if parts[0] in _PERSON_TITLES or cue.lower() in _PERSON_CUES:
        return "person"
    marked = cues.other_type(name)
    if marked is not None and marked[1]:
        return marked[0]  # "Capital Economics, which ...", "firm Trend Micro"
    place = any(p in _LOCATIONS or p in _DEMONYMS for p in parts)
    said = cues.says_person(name) and not place or parts[-1] in cues.alone
    if len(parts) >= 2 and said and _plain_words(parts):
        # "Gary Locke ... Locke said", "Mr Locke", "Louis Jordan, 37,"; but "Ipsos MORI
        # Scotland said" is an organisation's Scottish office speaking
        return "person"
    if marked is not None:
        return marked[0]  # "the Gulf Stream", "a Six Nations clash", "in Chalfont St Peter"
    if _looks_like_a_person(parts) and len(parts) <= 3:
        return "person"  # two or three plain capitalised words: in news, mostly a person
    return "other"


def _plain_words(parts: list[str]) -> bool:
    """Capitalised words of letters (hyphens, apostrophes and initials' stops allowed)."""
    return all(
        p[:1].isupper() and p[1:].replace("-", "").replace("'", "").replace(".", "").isalpha()
        for p in parts
    )
