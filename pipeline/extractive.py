"""The built-in offline model: a deterministic extractive summariser.

It is a baseline, not a language model. Every string it returns is copied from
the article (sentences, quotes, numbers, names, date phrases; a too-long one is
cut at a word and marked with "…") or is a short, fixed-form caveat built from
the article's own words; nothing is invented.

The public entry point is :func:`summarise`, which returns an object valid
against ``schemas/summary.v1.json``. The output depends only on the input
(no clocks, no randomness, no set-ordering), so the same article always gives
byte-identical JSON.

How the summary is chosen:

1. The text is split into sentences (:func:`pipeline.text.split_sentences`);
   page furniture, captions, datelines, bare dates, questions, colon-ended
   lead-ins and quote-only fragments are marked as unsuitable.
2. Each sentence is scored by position (news puts the main facts first),
   centrality (weighted overlap of its content words with the rest of the
   article), overlap with the title, and a length sanity term.
3. The best sentences are picked greedily, skipping near-duplicates and any
   sentence a caveat flags as a possible contradiction: at least two, then more
   (up to four) while the summary is short (under 65 words, staying within 85),
   listed in article order within the schema's 1,200 characters.

The other fields (figures, entities, quotes, dates, topics, caveats) are found
by small, documented rules in this module.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypedDict

from pipeline.errors import ArticleError
from pipeline.text import normalise_word, split_sentences, words

__all__ = ["MAX_ARTICLE_CHARS", "summarise"]

#: The largest article (in characters) the built-in model accepts. 200,000
#: characters is about 50,000 tokens: several times the longest news feature
#: (long reads run to 30-40k characters), so no real article is refused, while
#: anything larger is almost surely not one article (a book, a site dump, a
#: loader bug). The bound also caps the summariser's time and memory; the work
#: is roughly linear in the text, and 200k characters take well under a second.
MAX_ARTICLE_CHARS = 200_000

_SUMMARY_MAX = 1200
_HEADLINE_MAX = 200
_KEY_POINT_MAX = 400
_EVENT_MAX = 300
_MEASURE_MAX = 300


class Figure(TypedDict):
    value: str
    measure: str
    source: str | None


class Entity(TypedDict):
    name: str
    type: str


class Quote(TypedDict):
    text: str
    speaker: str | None


class DateMention(TypedDict):
    date: str
    event: str


# --------------------------------------------------------------------------- words


def _wordset(text: str) -> frozenset[str]:
    """A frozenset of the whitespace-separated words of ``text`` (for long word lists)."""
    return frozenset(text.split())


_STOPWORDS = _wordset(
    """a about above after again against all almost also although am among an and any are
    around as at away back be became because been before being below between both but by
    can could did do does doing done down during each either else even ever every few for
    from further get gets got had has have having he her here hers herself him himself his
    how however i if in into is it its itself just least less like made make makes many
    may me might more most much must my myself near neither never new no nor not now of
    off often on once one only onto or other others our ours ourselves out over own per
    perhaps put quite rather really said same say says see seen several shall she should
    since so some still such than that the their theirs them themselves then there these
    they this those though through thus to too two under until up upon us very via was we
    well were what whatever when where whether which while who whom whose why will with
    within without would yet you your yours yourself mr mrs ms dr told according added
    including include includes been being year years time times week weeks day days month
    months last next first second third three four five six seven eight nine ten another
    because cent percent per already among lot lots way ways thing things going want wants
    took take takes taken make made come came comes go goes went left right us uk"""
)

_SENTENCE_STARTERS = _wordset(
    """a an the this that these those it its he she they we i you his her their our my
    in on at by for from with after before as if when while but and or so yet however
    although though since because during despite there here what which who how why where
    some many most all both each every no not one two three four five six seven eight
    nine ten more other another such meanwhile also last next earlier later today
    yesterday tomorrow now previously alongside until unless whether once of to up
    according officials police"""
)


def _stem(word: str) -> str:
    """A tiny suffix stripper so "troops"/"troop" and "deployed"/"deploy" match."""
    w = normalise_word(word)
    for suffix, keep in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            if suffix == "s" and w.endswith("ss"):
                return w
            return w[: len(w) - len(suffix)] + keep
    return w


def _content_terms(text: str) -> list[str]:
    """Stemmed content words of ``text`` (stopwords and short tokens dropped)."""
    out: list[str] = []
    for w in words(text):
        lw = normalise_word(w)
        if len(lw) < 3 or lw in _STOPWORDS or not any(c.isalpha() for c in lw):
            continue
        out.append(_stem(lw))
    return out


def _trim_words(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary."""
    text = text.strip()
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:-–—") + "…"


# --------------------------------------------------------------------------- sentences

_FURNITURE = re.compile(
    r"(?i)(support us on|subscribe|sign up|newsletter|click here|scroll down|read more|"
    r"share this|follow us|follow @|all rights reserved|cookie|advertisement|"
    r"published:|updated:|last modified|getty images|^image:|^photo:|^picture:|^source:|"
    r"^caption|^video:|^watch:|^listen:|^related:|^see also|^by\s*\.?$|"
    r"^by\s+[A-Z][\w.]*(\s+[A-Z][\w.]*)*\s*\.?$|daily mail reporter|press association)"
)
_DATELINE = re.compile(
    r"^(?:[A-Z][A-Za-z.'’ -]{1,40},\s*)?(?:[A-Z][A-Za-z.'’ -]{1,40}\s*)?"
    r"\((?:CNN|AP|Reuters|AFP|EW\.com|CNET)\)\s*(?:--|—|–|-)?\s*"
)
_BARE_DATE = re.compile(r"^[\d\s/.:\-]+$")
_QUOTE_CHARS = "\"“”‘’'"


@dataclass
class _Sentence:
    index: int
    text: str
    terms: list[str]
    term_set: frozenset[str]
    penalty: float = 0.0
    score: float = 0.0
    flags: list[str] = field(default_factory=list)


def _clean_sentence(text: str) -> str:
    """Drop a wire-style dateline ("LONDON, England (CNN) -- ") from the front."""
    return _DATELINE.sub("", text, count=1).strip()


_PENALTIES = {
    "furniture": 10.0,
    "date": 10.0,
    "caption": 3.0,
    "question": 1.5,
    "lead-in": 3.0,
    "quote-only": 0.8,
    "short": 2.0,
}


def _is_apostrophe(text: str, i: int) -> bool:
    """A ’ or ' between two letters ("don't", "Korea’s") is an apostrophe, not a quote."""
    return (
        text[i] in "’'"
        and 0 < i < len(text) - 1
        and text[i - 1].isalpha()
        and (text[i + 1].isalpha())
    )


def _judge(text: str) -> tuple[float, list[str]]:
    """How unsuitable a sentence is for a summary (0 = fine), with reasons."""
    flags: list[str] = []
    n_words = len(text.split())
    stripped = text.strip()
    if _FURNITURE.search(stripped):
        flags.append("furniture")
    if _BARE_DATE.match(stripped):
        flags.append("date")
    if not stripped.endswith((".", "!", "?", "…", '"', "”", "’", "'", ")")):
        flags.append("caption")  # headlines, captions, bylines: no final stop
    if stripped.endswith("?") or stripped.rstrip(_QUOTE_CHARS).endswith("?"):
        flags.append("question")
    if stripped.endswith(":"):
        flags.append("lead-in")
    if stripped[:1] in "\"“‘'":
        inner = stripped.rstrip(". ")[1:]
        closes = [i for i, c in enumerate(inner) if c in "\"”’'" and not _is_apostrophe(inner, i)]
        if not closes or closes == [len(inner) - 1]:
            flags.append("quote-only")  # a quotation with no attribution in the sentence
    if n_words < 6:
        flags.append("short")
    penalty = sum(_PENALTIES[flag] for flag in flags)
    if n_words > 60:
        penalty += 0.02 * (n_words - 60)
    return penalty, flags


def _prepare(text: str) -> list[_Sentence]:
    out: list[_Sentence] = []
    for raw in split_sentences(text):
        sent = _clean_sentence(raw)
        if not sent:
            continue
        terms = _content_terms(sent)
        penalty, flags = _judge(sent)
        out.append(_Sentence(len(out), sent, terms, frozenset(terms), penalty, 0.0, flags))
    return out


# --------------------------------------------------------------------------- ranking

# Tuned on the dev sets, FRANK's 250 CNN/DM articles and BBC rows 0-999 (see
# benchmarks/rouge_eval.py); BBC rows 1000+ and SummEval's 100 articles are held out.
_W_POSITION = 1.0  # lead sentence = 1, then 1 / (1 + decay * rank)
_POSITION_DECAY = 1.0
_W_CENTRAL = 0.3  # centrality normalised so the most central sentence = 1
_W_TITLE = 1.0  # share of the title's content words the sentence holds
_REDUNDANT = 0.7  # skip a sentence sharing > 70 % of its (smaller) term set with a pick
_SUMMARY_SENTENCES = 4  # at most; at least 2 when the article has them
_SUMMARY_WORDS = 65  # after two sentences, stop once the summary holds this many words
_SUMMARY_FIT = 85  # and add a third or fourth only if the summary stays within this many
_SUSPECT_PENALTY = 1.0  # a sentence flagged by the sibling-qualifier caveat


def _score(sentences: list[_Sentence], title: str | None) -> None:
    """Give every sentence a score: position + centrality + title overlap - penalties."""
    doc = Counter(t for s in sentences for t in s.term_set)
    n = max(1, len(sentences))
    idf = {t: math.log(1.0 + n / c) for t, c in doc.items()}
    title_terms = frozenset(_content_terms(title)) if title else frozenset()
    first_good = next((s.index for s in sentences if s.penalty < 1.0), 0)
    centrality: list[float] = []
    for s in sentences:
        overlap = sum((doc[t] - 1) * idf[t] for t in sorted(s.term_set))
        centrality.append(overlap / math.sqrt(len(s.term_set)) if s.term_set else 0.0)
    top = max(centrality) or 1.0
    for s in sentences:
        central = centrality[s.index] / top
        title_overlap = len(s.term_set & title_terms) / len(title_terms) if title_terms else 0.0
        rank = max(0, s.index - first_good)
        position = 1.0 / (1.0 + _POSITION_DECAY * rank)
        s.score = (
            _W_POSITION * position + _W_CENTRAL * central + _W_TITLE * title_overlap - s.penalty
        )


def _similar(a: _Sentence, b: _Sentence) -> float:
    if not a.term_set or not b.term_set:
        return 0.0
    return len(a.term_set & b.term_set) / min(len(a.term_set), len(b.term_set))


def _ranked(sentences: list[_Sentence], limit: int, max_chars: int) -> list[_Sentence]:
    """Best-first sentences, skipping near-duplicates and ones longer than ``max_chars``."""
    order = sorted(sentences, key=lambda s: (-s.score, s.index))
    chosen: list[_Sentence] = []
    for s in order:
        if len(chosen) >= limit:
            break
        if len(s.text) > max_chars:
            continue
        if any(_similar(s, c) > _REDUNDANT for c in chosen):
            continue
        chosen.append(s)
    return chosen


def _build_summary(sentences: list[_Sentence]) -> str:
    """2-4 ranked sentences in article order, whole sentences, within 1,200 characters."""
    ranked = _ranked(sentences, _SUMMARY_SENTENCES, _SUMMARY_MAX)
    picked: list[_Sentence] = []
    total = 0
    words_so_far = 0
    for s in ranked:
        extra = len(s.text) + (1 if picked else 0)
        if total + extra > _SUMMARY_MAX:
            continue
        if len(picked) >= 2 and s.penalty >= 1.0:
            continue
        if len(picked) >= 2 and words_so_far >= _SUMMARY_WORDS:
            break
        if len(picked) >= 2 and words_so_far + len(s.text.split()) > _SUMMARY_FIT:
            continue
        picked.append(s)
        total += extra
        words_so_far += len(s.text.split())
    if not picked:
        first = sentences[0].text
        return _trim_words(first, _SUMMARY_MAX)
    picked.sort(key=lambda s: s.index)
    return " ".join(s.text for s in picked)


# --------------------------------------------------------------------------- headline


def _shorten(text: str, limit: int) -> str:
    """Shorten a sentence sensibly: drop trailing attribution, then cut at a clause."""
    text = text.strip().rstrip(".")
    if len(text) <= limit:
        return text
    for sep in (", according to ", " - ", " – ", " — ", "; ", ", "):
        head = text[:limit]
        at = head.rfind(sep)
        if at >= 40:
            return text[:at].rstrip(" ,;")
    return _trim_words(text, limit)


def _headline(title: str | None, sentences: list[_Sentence]) -> str:
    if title and len(title.strip()) >= 5:
        return _shorten(" ".join(title.split()), _HEADLINE_MAX)
    lead = next((s for s in sentences if s.penalty < 1.0), None) or max(
        sentences, key=lambda s: (s.score, -s.index)
    )
    head = _shorten(lead.text, _HEADLINE_MAX)
    if len(head) < 5:
        head = _trim_words(lead.text, _HEADLINE_MAX)
    return head if len(head) >= 5 else (head + " …").ljust(5, ".")


def _key_points(sentences: list[_Sentence]) -> list[str]:
    ranked = [s for s in _ranked(sentences, 5, _KEY_POINT_MAX) if s.penalty < 3.0]
    points = [s.text for s in ranked if len(s.text) >= 3]
    if not points:
        best = max(sentences, key=lambda s: (s.score, -s.index))
        points = [_trim_words(best.text, _KEY_POINT_MAX)]
    return [p if len(p) >= 3 else p.ljust(3, ".") for p in points[:5]]


# --------------------------------------------------------------------------- attribution

_SAY_VERBS = (
    r"said|says|say|reported|reports|report|estimated|estimates|claimed|claims|told|noted|"
    r"added|announced|stated|states|wrote|writes|confirmed|confirms|warned|warns|insisted|"
    r"explained|believes|believed|revealed|revealing"
)
_SUBJECT_BEFORE = re.compile(rf"\b(?:{_SAY_VERBS})\b")
_GENERIC_ACTORS = re.compile(
    r"(?i)\b(officials?|police|analysts?|experts?|researchers?|spokes(?:person|man|woman)|"
    r"ministry|government|military|army|authorities|sources?|scientists?|doctors?|"
    r"prosecutors?|investigators?|witnesses|residents)\b"
)
_PRONOUNS = _wordset("he she they it we i you this that there who which")
_STOP_AFTER_SOURCE = re.compile(
    r"(?i)\s(?:released|published|issued|on|in|at|from|that|which|who|as|when|to|"
    r"and|but|while|after|before|during|last|this|earlier|for)\b.*$"
)
_CLAUSE_BREAK = re.compile(r"[,;:()“”\"]|\bthat\b|\bwhile\b|\band\b|\bbut\b|—|–| - ")


def _clean_actor(text: str) -> str | None:
    actor = text.strip(" ,;:-–—\"“”'’(").strip().rstrip(".")
    actor = re.sub(r"^(?i:and|but|while|as|previously|meanwhile|also|then)\s+", "", actor)
    actor = re.sub(r"\s+(?:also|previously|later|earlier|has|had|have|had|was|is)$", "", actor)
    if not actor or actor.lower() in _PRONOUNS or len(actor) > 200:
        return None
    n_words = len(actor.split())
    if n_words > 10:
        return None
    determiner = re.match(r"(?i)(?:the|a|an)\s", actor) is not None and n_words <= 4
    if not re.search(r"[A-Z]", actor) and not _GENERIC_ACTORS.search(actor) and not determiner:
        return None
    return actor


def _attribution(sentence: str) -> str | None:
    """Who the sentence attributes its claim to, or ``None``.

    Recognises "according to X", "reported by X", "X said/says/reported ...",
    "..., said X" and "X's estimate".
    """
    m = re.search(r"\b(?:according to|reported by|cited by|quoted by)\s+([^,;:.!?]+)", sentence)
    if m:
        actor = _clean_actor(_STOP_AFTER_SOURCE.sub("", m.group(1)))
        if actor:
            return actor
    for v in _SUBJECT_BEFORE.finditer(sentence):
        before = sentence[: v.start()].rstrip()
        # "..., said Mr Smith" / "said the ministry"
        after = sentence[v.end() :]
        inverted = re.match(
            r"\s+((?:the\s+)?[A-Z][\w’'.&-]*(?:\s+(?:of\s+)?[A-Z][\w’'.&-]*)*)", after
        )
        if before.endswith((",", "”", '"', "’")) and inverted:
            actor = _clean_actor(inverted.group(1))
            if actor:
                return actor
        pieces = _CLAUSE_BREAK.split(before)
        subject = pieces[-1] if pieces else before
        if not subject.strip() and len(pieces) >= 2 and before.endswith(")"):
            # "the Joint Chiefs of Staff (JCS) said": keep the bracketed acronym
            subject = before[before.rfind(",") + 1 :] if "," in before else before
        actor = _clean_actor(subject)
        if actor:
            return actor
    m = re.search(
        r"\b((?:[A-Z][\w-]*\s+){0,3}[A-Z][\w-]*)[’']s\s+(?:estimate|figures?|data|count|tally)\b",
        sentence,
    )
    if m:
        return _clean_actor(m.group(1))
    return None


# --------------------------------------------------------------------------- figures

_MONTHS = (
    "January|February|March|April|May|June|July|August|September|October|November|December|"
    "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
)
_FULL_MONTHS = _MONTHS.split("|Jan|")[0]
_WEEKDAYS = "Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday"
_SCALE = r"(?:\s(?:million|billion|trillion|thousand|hundred|crore|lakh)s?)"
_NUMBER = re.compile(
    r"(?<![\w.,/:\-])"
    r"(?P<cur>(?:US|A|C|NZ|HK)?[$£€¥₹]\s?)?"
    r"(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)"
    r"(?P<suf>(?:bn|m|tn|trn|k|%)(?![\w]))?"
    r"(?P<scale>" + _SCALE + r")?"
    r"(?P<pc>\s(?:per\s?cent|percent|percentage points?))?"
    r"(?P<conv>\s\((?:US|A|C)?[$£€¥₹]\s?\d[\d,.]*(?:bn|m|tn|k)?" + _SCALE + r"?\))?"
    r"(?![\w/:]|-\w|\.\d)"
)
_DATE_NEIGHBOUR = re.compile(
    rf"(?:\b(?:{_MONTHS})\.?\s*$)|(?:^\s*(?:st|nd|rd|th)?\s*(?:of\s+)?(?:{_MONTHS})\b)"
)
_YEARISH = re.compile(r"^(1[89]\d\d|20\d\d)$")
_NP_STOP = _wordset(
    """to from in on at for by with than and or but while which that who whom whose was were
    is are be been has have had will would could should can may might said says say since
    during after before over under into onto across against between among as if when where
    because about around per a an the this these those their its his her our up down out
    off it they he she we this last next ago earlier later more less fewer higher lower
    bigger smaller greater larger cheaper dearer than"""
)


_PLURALS = _wordset("people children men women police staff personnel cattle sheep fish data")


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


_CLAUSE_SEP = re.compile(r"[,;:]\s|\s[—–-]\s|[(—]")


def _measure(sentence: str, start: int, end: int) -> str:
    """What a number counts: the noun phrase after it, else the clause around it."""
    tail = sentence[end:]
    phrase: list[str] = []
    for tok in re.finditer(r"[^\s,;:.!?()“”\"]+|[,;:.!?()“”\"]", tail):
        w = tok.group(0)
        lw = w.lower()
        if not re.match(r"^[\w’'-]+$", w) or lw in _NP_STOP:
            break
        if phrase and lw.endswith("ed") and "-" not in lw:
            break
        phrase.append(w)
        if len(phrase) >= 6:
            break
        if _looks_plural(lw) and not tail[tok.end() :].startswith(" of "):
            break  # "3,000 additional soldiers" | "220 pieces of ... howitzers"
    while phrase and phrase[-1].lower() in {"of", "and", "or"}:
        phrase.pop()
    if phrase and any(c.isalpha() for c in " ".join(phrase)):
        return " ".join(phrase)
    # The clause around the number: between clause breaks (a comma inside "£38,831"
    # is not one), at most 10 words before it and 6 after.
    lefts = [m.end() for m in _CLAUSE_SEP.finditer(sentence, 0, start)]
    left = lefts[-1] if lefts else 0
    if len(sentence[left:start].split()) < 3:
        left = lefts[-2] if len(lefts) >= 2 else 0
    right_m = _CLAUSE_SEP.search(sentence, end)
    right = right_m.start() if right_m else len(sentence)
    before = sentence[left:start].split()[-10:]
    after = sentence[end:right].split()[:6]
    clause = " ".join([*before, sentence[start:end].strip(), *after]).strip(" .,;:")
    return _trim_words(clause, _MEASURE_MAX)


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
    if _YEARISH.match(num):
        # "2,000" has a comma; a bare 1800-2099 is a year unless it plainly counts
        # something: "2000 troops were sent".
        nxt = re.match(r"\s+([a-z][\w-]*)", after)
        prev = re.search(r"(\w+)\s*$", before)
        if prev and prev.group(1).lower() in {
            "in",
            "since",
            "by",
            "from",
            "until",
            "of",
            "early",
            "late",
            "mid",
            "the",
            "year",
            "to",
            "and",
            "season",
            "before",
            "after",
            "between",
            "during",
            "than",
        }:
            return True
        return not (nxt and nxt.group(1).endswith("s") and nxt.group(1) not in _NP_STOP)
    return bool(re.match(r"^\s*(?:am|pm|a\.m|p\.m|GMT|BST|ET|EST)\b", after, re.I))


def _clause_source(sentence: str, at: int) -> str | None:
    """The source named in the contrast clause that holds position ``at``, if any."""
    cuts = [m.start() for m in _CONTRAST.finditer(sentence)]
    if not cuts:
        return None
    bounds = [0, *cuts, len(sentence)]
    for lo, hi in zip(bounds, bounds[1:], strict=False):
        if lo <= at < hi:
            part = sentence[lo:hi]
            return _attribution(part) or _possessive_actor(part)
    return None


def _figures(sentences: list[_Sentence]) -> list[Figure]:
    out: list[Figure] = []
    seen: set[str] = set()
    for s in sentences:
        if "furniture" in s.flags or "date" in s.flags:
            continue
        sentence_source: str | None = None
        sentence_source_done = False
        for m in _NUMBER.finditer(s.text):
            if _is_date_number(s.text, m):
                continue
            value = m.group(0).strip()
            if len(value) > 60:
                continue
            measure = _measure(s.text, m.start(), m.end())
            # A contrast ("..., while Seoul's estimate was 11,000") gives each side its own source.
            source = _clause_source(s.text, m.start())
            if source is None:
                if not sentence_source_done:
                    sentence_source = _attribution(s.text)
                    sentence_source_done = True
                source = sentence_source
            if value in seen:  # the same number again is mostly the same thing again
                continue
            seen.add(value)
            out.append({"value": value, "measure": measure, "source": source})
            if len(out) >= 20:
                return out
    return out


# --------------------------------------------------------------------------- entities

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


# --------------------------------------------------------------------------- quotes

# Curly quotes pair unambiguously; a straight quote opens only after a space or bracket
# and closes only before a space or punctuation, so '..." he said. "...' never pairs
# the text between two quotations.
_QUOTE = re.compile(
    r"“([^“”]+)”"
    r"|(?:^|(?<=[\s(\[—–-]))\"(?=[^\s\"])([^\"]*?[^\s\"])\"(?=$|[\s.,;:!?)\]—–-])"
)


def _quotes(text: str, sentences: list[_Sentence]) -> list[Quote]:
    out: list[Quote] = []
    seen: set[str] = set()
    for para in re.split(r"\n\s*\n|\n", text):
        para = " ".join(para.split())
        if not para:
            continue
        para_sents = split_sentences(para)
        offsets: list[tuple[int, int]] = []
        cursor = 0
        for ps in para_sents:
            at = para.find(ps, cursor)
            at = cursor if at < 0 else at
            offsets.append((at, at + len(ps)))
            cursor = at + len(ps)
        for m in _QUOTE.finditer(para):
            quoted = (m.group(1) or m.group(2) or "").strip()
            if len(quoted.split()) < 3 or len(quoted) > 600 or quoted in seen:
                continue
            seen.add(quoted)
            # The sentence(s) the quote sits in, with the quote itself blanked out.
            lo = next((a for a, b in offsets if a <= m.start() < b), 0)
            hi = next((b for a, b in offsets if a < m.end() <= b), len(para))
            context = para[lo : m.start()] + " “QUOTE” " + para[m.end() : hi]
            out.append({"text": quoted, "speaker": _speaker(context)})
            if len(out) >= 10:
                return out
    return out


def _speaker(context: str) -> str | None:
    after = context.split("“QUOTE”", 1)[1] if "“QUOTE”" in context else ""
    before = context.split("“QUOTE”", 1)[0]
    # ', X said' / ', said X' after the quote.
    m = re.match(rf"\s*[,.]?\s*((?:[A-Z][\w’'.-]*\s*){{1,5}})\s+(?:{_SAY_VERBS})\b", after)
    if m:
        actor = _clean_actor(m.group(1))
        if actor:
            return actor
    m = re.match(
        rf"\s*[,.]?\s*(?:{_SAY_VERBS})\s+((?:the\s+)?[A-Z][\w’'.-]*(?:\s+[A-Z][\w’'.-]*)*)",
        after,
    )
    if m:
        actor = _clean_actor(m.group(1))
        if actor:
            return actor
    # 'X said: “...”' / 'X noted that “...”' before the quote.
    m = re.search(rf"([^,;.“”\"]+?)\s+(?:{_SAY_VERBS})(?:\s+that)?\s*[:,]?\s*$", before)
    if m:
        actor = _clean_actor(_CLAUSE_BREAK.split(m.group(1))[-1] or m.group(1))
        if actor:
            return actor
    return _attribution(before) or _attribution(re.split(r"(?<=[.!?])\s", after, maxsplit=1)[0])


# --------------------------------------------------------------------------- dates

_DATE_PATTERNS = re.compile(
    "|".join(
        [
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTHS})\b\.?(?:,?\s+\d{{4}})?",
            rf"\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?\b(?:,?\s+\d{{4}})?",
            rf"\b(?:(?:early|late|mid-?|the end of|the start of)\s?)?(?:{_FULL_MONTHS})"
            rf"(?:\s+(?:and|or|to)\s+(?:{_FULL_MONTHS}))?(?:\s+\d{{4}})?\b",
            r"\b\d{1,2}/\d{1,2}/\d{2,4}\b",
            r"\b\d{4}-\d{2}-\d{2}\b",
            r"\b(?:early|late|mid-?)\s?(?:19|20)\d\d\b",
            r"(?<![$£€\d,.])\b(?:19|20)\d\d(?:s)?\b(?![,.]\d|%|\s?(?:bn|m|per|million|billion))",
            rf"\b(?:last|next|this|early|late)\s+(?:{_WEEKDAYS})\b|\b(?:{_WEEKDAYS})\b",
            r"\b(?:last|this|next|earlier this|later this|the previous|the following)\s+"
            r"(?:week|weekend|month|year|season|spring|summer|autumn|winter|decade|century)\b",
            r"\b(?:yesterday|today|tomorrow|tonight)\b",
            r"\b(?:\d+|two|three|four|five|six|seven|eight|nine|ten|a few|several)\s+"
            r"(?:days|weeks|months|years|decades)\s+ago\b",
        ]
    ),
    re.IGNORECASE,
)


def _event(sentence: str, start: int, end: int) -> str:
    if len(sentence) <= _EVENT_MAX:
        return sentence
    lo = max(0, start - 140)
    if lo > 0:
        lo = sentence.find(" ", lo) + 1
    return _trim_words(sentence[lo:], _EVENT_MAX)


def _dates(sentences: list[_Sentence]) -> list[DateMention]:
    out: list[DateMention] = []
    seen: set[tuple[str, str]] = set()
    for s in sentences:
        if "furniture" in s.flags:
            continue
        for m in _DATE_PATTERNS.finditer(s.text):
            date = m.group(0).strip().rstrip(".")
            if not date or len(date) > 80:
                continue
            if date.lower() in {"may", "march"} and not re.search(
                r"(?i)\b(?:in|since|by|until|from|early|late|mid|last|next|this)\s+$",
                s.text[: m.start()],
            ):
                continue
            event = _event(s.text, m.start(), m.end())
            key = (date.lower(), event)
            if key in seen:
                continue
            seen.add(key)
            out.append({"date": date, "event": event})
            if len(out) >= 15:
                return out
    return out


# --------------------------------------------------------------------------- topics


_TOPIC_STOP = _wordset(
    """think know believe tell ask seem keep help give gave given find found show shows call
    calls tackle quit former whether likely added says told could would should must might
    expect expects hope hopes need needs used uses using make makes made also around just
    good great best better well much many more most less least very still even back"""
)


def _topics(sentences: list[_Sentence], entities: list[Entity], focus: str) -> list[str]:
    """Up to 3 entity names, then frequent content words; words of ``focus`` (title and
    summary) count double, so the tags follow what the article is about."""
    focus_terms = set(_content_terms(focus))
    counts: Counter[str] = Counter()
    first: dict[str, int] = {}
    surface: dict[str, str] = {}
    pos = 0
    for s in sentences:
        if s.penalty >= 3.0:
            continue
        for w in words(s.text):
            lw = normalise_word(w)
            if len(lw) < 4 or lw in _STOPWORDS or not lw.isalpha() or w[:1].isupper():
                continue
            if lw.endswith(("ing", "ed", "ly")) or lw in _TOPIC_STOP:
                continue  # most likely verbs and adverbs, poor tags
            stem = _stem(lw)
            counts[stem] += 2 if stem in focus_terms else 1
            if stem not in first:
                first[stem] = pos
                surface[stem] = lw
            pos += 1
    tags: list[str] = []
    for e in entities[:3]:
        tag = e["name"].lower()
        if 2 <= len(tag) <= 40 and tag not in tags and e["type"] != "other":
            tags.append(tag)
    for stem in sorted(counts, key=lambda t: (-counts[t], first[t])):
        if len(tags) >= 6 or counts[stem] < 3:
            break
        tag = surface[stem]
        if tag not in tags and 2 <= len(tag) <= 40:
            tags.append(tag)
    if not tags:
        for stem in sorted(counts, key=lambda t: (-counts[t], first[t]))[:3]:
            tags.append(surface[stem][:40])
    return tags[:6] or ["news"]


# --------------------------------------------------------------------------- caveats

_HEAD_FAMILIES = {
    "troops": frozenset({"troops", "soldiers", "forces", "personnel", "units", "fighters"}),
    "officials": frozenset({"officials", "authorities", "diplomats", "leaders"}),
    "people": frozenset({"people", "citizens", "civilians", "workers", "nationals"}),
}
_QUALIFIED = re.compile(
    r"\b(North|South|East|West|Northern|Southern|Eastern|Western|Upper|Lower)\s+"
    r"([A-Z][a-z]+)(?:[’']s)?(?:\s+([a-z]+))?"
)


def _country_key(word: str) -> str:
    if word.endswith("n") and word[-2:-1] in "aeiou" and len(word) > 4:
        return word[:-1]  # Korean -> Korea, African -> Africa
    return word


def _qualifier_caveats(sentences: list[_Sentence], title: str | None) -> tuple[list[str], set[int]]:
    """Sibling qualifiers of the same head noun, one dominant, the other used once.

    "North Korean soldiers" throughout, then a single "South Korean troops": the
    qualifiers share a base ("Korea") and differ only in a direction word, the
    heads are the same kind of thing (troops/soldiers/forces), the dominant
    qualifier is named at least twice as often... as a rule of thumb: at least 3
    times and 2 more than the other. Reported as a *possible* contradiction.
    """
    mentions: Counter[tuple[str, str]] = Counter()
    headed: dict[tuple[str, str, str], list[tuple[str, int]]] = {}
    texts = [(title, -1)] if title else []
    texts += [(s.text, s.index) for s in sentences if "furniture" not in s.flags]
    for text, index in texts:
        for m in _QUALIFIED.finditer(text):
            key = (m.group(1), _country_key(m.group(2)))
            mentions[key] += 1
            head = (m.group(3) or "").lower()
            for family, members in _HEAD_FAMILIES.items():
                if head in members:
                    headed.setdefault((*key, family), []).append((m.group(0), index))
    caveats: list[str] = []
    suspect: set[int] = set()
    for (direction, base, family), phrases in sorted(headed.items()):
        if len(phrases) != 1:
            continue
        minority = mentions[(direction, base)]
        for (other, other_base, other_family), other_phrases in sorted(headed.items()):
            if other_base != base or other_family != family or other == direction:
                continue
            dominant = mentions[(other, base)]
            if dominant >= 3 and dominant >= minority + 2:
                caveats.append(
                    f"Possible contradiction: the article mostly concerns {other_phrases[0][0]} "
                    f"({other} {base}: {dominant} mentions), but one sentence names "
                    f"{phrases[0][0]} ({direction} {base}: {minority} mentions)."
                )
                suspect.add(phrases[0][1])
                break
    return caveats, suspect


_CONTRAST = re.compile(r"\b(?:while|whereas|but|however|compared with)\b")


def _figure_caveats(sentences: list[_Sentence]) -> list[str]:
    """Two different figures for the same thing given by different sources."""
    caveats: list[str] = []
    for s in sentences:
        parts = _CONTRAST.split(s.text, maxsplit=1)
        if len(parts) != 2:
            continue
        left, right = parts
        lnums = [m for m in _NUMBER.finditer(left) if not _is_date_number(left, m)]
        rnums = [m for m in _NUMBER.finditer(right) if not _is_date_number(right, m)]
        if not lnums or not rnums:
            continue
        a, b = lnums[-1], rnums[0]
        if a.group(0) == b.group(0) or bool(a.group("suf") == "%") != bool(b.group("suf") == "%"):
            continue
        src_a = _attribution(left) or _possessive_actor(left)
        src_b = _attribution(right) or _possessive_actor(right)
        if not src_a or not src_b or src_a == src_b:
            continue
        measure = _measure(left, a.start(), a.end())
        caveats.append(
            _trim_words(
                f"Sources differ on {measure}: {src_a} gives {a.group(0).strip()}, "
                f"{src_b} gives {b.group(0).strip()}.",
                400,
            )
        )
    return caveats


def _possessive_actor(text: str) -> str | None:
    m = re.search(
        r"\b((?:the\s+)?(?:[A-Z][\w-]*\s+){0,3}[\w-]+)[’']s\s+(?:[a-z]+\s+)?"
        r"(?:estimate|figure|count|tally|number)",
        text,
    )
    return m.group(1) if m else None


# --------------------------------------------------------------------------- entry point


def summarise(text: str, *, title: str | None = None, date: str | None = None) -> dict[str, Any]:
    """Summarise one article into a ``summary.v1`` object.

    ``title`` becomes the headline when given; ``date`` (the publication date) is
    accepted for interface parity and not otherwise used. Raises
    :class:`~pipeline.errors.ArticleError` (``too_long``) above
    :data:`MAX_ARTICLE_CHARS`, and (``bad_input``) when the text holds fewer than
    20 characters of words, which is too little to summarise.
    """
    if len(text) > MAX_ARTICLE_CHARS:
        raise ArticleError(
            f"article has {len(text):,} characters; the built-in model accepts at most "
            f"{MAX_ARTICLE_CHARS:,}",
            kind="too_long",
        )
    sentences = _prepare(text)
    if not sentences or len(" ".join(s.text for s in sentences)) < 20:
        raise ArticleError("article is empty or too short to summarise (under 20 characters)")
    qualifier_caveats, suspect = _qualifier_caveats(sentences, title)
    for s in sentences:
        if s.index in suspect:  # don't repeat a sentence we flag as a possible contradiction
            s.penalty += _SUSPECT_PENALTY
            s.flags.append("suspect")
    _score(sentences, title)
    summary = _build_summary(sentences)
    if len(summary) < 20:
        summary = _trim_words(" ".join(s.text for s in sentences), _SUMMARY_MAX)
    entities = _entities(sentences, text)
    caveats = (qualifier_caveats + _figure_caveats(sentences))[:5]
    return {
        "headline": _headline(title, sentences),
        "summary": summary,
        "key_points": _key_points(sentences),
        "entities": entities,
        "figures": _figures(sentences),
        "quotes": _quotes(text, sentences),
        "dates": _dates(sentences),
        "topics": _topics(sentences, entities, f"{title or ''} {summary}"),
        "caveats": caveats,
    }
