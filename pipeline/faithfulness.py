"""Offline faithfulness scoring: how much of a summary its source article supports.

No model call, no downloads, stdlib only, deterministic. :func:`score` compares a
summary (plain text or a ``summary.v1`` object) with its source and returns a
:class:`FaithfulnessResult`: one number in [0, 1] and the summary's spans that the
source does not support.

The checks, per unit of the summary (a sentence of ``headline``/``summary``/
``key_points`` or plain text; one ``figures``, ``quotes``, ``entities`` or ``dates``
item):

- **support**: the share of the sentence's content words found in the best
  source sentence or the best fusion of two (words lower-cased and lightly
  stemmed, numbers normalised; ``BIGRAM_WEIGHT`` can mix in bigram coverage, off
  by default because it punishes paraphrase and did not help on SummEval).
  Below ``LOW_SUPPORT`` the whole sentence is unsupported.
- **fusion**: the sentence is copied from the source in longest verbatim
  fragments; each time two adjacent fragments come from different source
  sentences (or run backwards within one) is a *jump*. Splicing clauses from
  different places is where summarisers swap who did what, and on SummEval the
  number of jumps is the strongest single predictor of the experts' consistency
  scores that this module found.
- **numbers**: every number, normalised ("3,000" = 3000, "4.2 million" = 4.2e6,
  "$1.13bn" = 1.13e9 dollars, "76%" = "76 per cent", "a dozen" = 12), must occur
  in the source with a compatible unit (rounded source figures such as
  4,213,000 support "4.2 million").
- **entities and dates**: capitalised names, places, months and weekdays must
  occur in the source.
- **negation**: a negation ("not", "no", "never", "denied", ...) added to, or
  dropped from, the source sentence that supports the claim.
- **attribution**: the subject of "X says"/"according to X" must be named near
  the source sentences that make the claim.
- **quotes**: quoted text must occur in the source word for word (case, spacing,
  quote marks and punctuation ignored) and its speaker must be named near it.

The formula. Every check is a risk that the summary says something the source
does not, and ``faithfulness`` is the chance that none of them is real, taking
them as independent::

    unit = FUSION ** jumps * product(PENALTY[kind] for each unsupported item)
    faithfulness = product(unit for every unit) ** min(1, REFERENCE_WORDS / words)

with ``FUSION = 0.95`` and ``PENALTY`` = sentence 0.5, number 0.5, negation 0.5,
quote 0.4, entity 0.6, attribution 0.6, speaker 0.6. A fully extractive summary
scores 1; one invented number halves the score; a faithful but heavily
paraphrased summary loses about 5% per splice (what a lexical check cannot
verify, it does not vouch for). Because it is a product, a summary with more
claims has more chances to go wrong; past ``REFERENCE_WORDS`` (60) words of
sentences the exponent scales the risks down to a 60-word summary's, so a long
summary object is judged by the density of its problems. ``unsupported`` lists each
unsupported number, entity, quote, negation or attribution span, and whole
sentences whose support is below ``LOW_SUPPORT`` (then not the spans inside).
Per-unit details (support, jumps, issues) are in ``FaithfulnessResult.units``.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import IO, Any

from pipeline.text import normalise_word, split_sentences

__all__ = [
    "LOW_SUPPORT",
    "FaithfulnessResult",
    "Issue",
    "UnitScore",
    "parse_numbers",
    "score",
    "score_jsonl",
    "summary_text",
]

LOW_SUPPORT = 0.5
"""A sentence whose support is below this is unsupported as a whole."""

PENALTY = {
    "sentence": 0.5,
    "number": 0.5,
    "entity": 0.6,
    "negation": 0.5,
    "attribution": 0.6,
    "quote": 0.4,
    "speaker": 0.6,
}
"""Multiplier applied to a unit's score for each unsupported item of that kind
("sentence": the sentence's support is below ``LOW_SUPPORT``)."""

FUSION = 0.95
"""Multiplier applied to a sentence's score for each jump between source sentences."""

BIGRAM_WEIGHT = 0.0
"""Weight of bigram coverage (against content-word coverage) in a sentence's support."""

REFERENCE_WORDS = 60
"""Summaries longer than this (in sentence words) are scored by their risk per this many words."""


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Issue:
    """One unsupported item: its kind, the exact span of the summary text, and why."""

    kind: str  # number | entity | negation | attribution | quote | speaker | sentence
    span: str
    start: int  # offset of ``span`` in ``summary_text(summary)``
    reason: str


@dataclass(frozen=True, slots=True)
class UnitScore:
    """The score of one checked unit (a sentence, a figure or a quote)."""

    kind: str  # sentence | figure | quote
    text: str
    support: float
    score: float
    issues: list[Issue] = field(default_factory=list)
    jumps: int = 0  # times its copy alignment leaves one source sentence for another


@dataclass(frozen=True, slots=True)
class FaithfulnessResult:
    """The outcome of :func:`score`."""

    faithfulness: float
    unsupported: list[str]
    units: list[UnitScore] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable copy."""
        return asdict(self)


# --------------------------------------------------------------------------- words


def _wordlist(text: str) -> list[str]:
    return text.split()


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_TOKEN = re.compile(r"\w+(?:[’'.,\-]\w+)*", re.UNICODE)

STOPWORDS = _wordset(
    """a an the and or but if then than so as of at by for from in into on onto to
    up down out over under with without about after before between through during
    is are was were be been being am has have had having do does did doing will would
    shall should can could may might must it its it's this that these those there here
    he him his she her hers they them their theirs we us our ours you your yours i me my
    mine who whom whose which what when where why how all any both each few more most
    other some such only own same too very just also not no nor never s t don now
    one ones said says say told tell tells according while whilst since because
    again further once off per via yet still even ever much many well back get got"""
)

NEGATIONS = _wordset(
    """not no never none nobody nothing neither nor cannot can't won't don't doesn't didn't
    isn't aren't wasn't weren't hasn't haven't hadn't wouldn't shouldn't couldn't
    deny denies denied denying refuse refused refuses without"""
)

ATTRIBUTION_VERBS = _wordset(
    """say says said tell tells told claim claims claimed add adds added insist insists
    insisted announce announces announced state states stated warn warns warned
    admit admits admitted confirm confirms confirmed reveal reveals revealed
    report reports reported argue argues argued explain explains explained
    deny denies denied allege alleges alleged believe believes believed"""
)

_NOT_ONLY = _wordset("just only merely simply solely")

_NAME_SUFFIXES = _wordset(
    """city united fc afc club party university college school street road council county
    department ministry group inc ltd co corp company airport hospital police"""
)

_TITLES = _wordset(
    """mr mrs ms miss dr prof sir lord lady president minister secretary chief the a an
    coach manager captain officer police spokesman spokeswoman spokesperson"""
)


def _norm(word: str) -> str:
    w = normalise_word(word.rstrip(".,-"))
    return w.replace("’", "'")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    """A crude suffix stripper: enough to match 'scores'/'scored'/'scoring'."""
    w = word
    if len(w) <= 3 or not w.isalpha():
        return w
    for suffix in ("ingly", "edly", "ing", "ied", "ies", "ed", "es", "ly", "s"):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            break
    if len(w) > 3 and w[-1] == w[-2] and w[-1] not in "ls":
        w = w[:-1]
    return w.rstrip("e") or w


@dataclass(slots=True)
class _Token:
    text: str  # as written (trailing punctuation stripped)
    norm: str  # lower-cased, possessive stripped
    stem: str
    start: int  # offset in the text it came from
    capital: bool


def _tokens(text: str, base: int = 0) -> list[_Token]:
    out: list[_Token] = []
    for m in _TOKEN.finditer(text):
        raw = m.group(0)  # "3,000" and "U.S" keep inner punctuation
        norm = _norm(raw)
        if not norm:
            continue
        out.append(_Token(raw, norm, _stem(norm), base + m.start(), raw[0].isupper()))
    return out


# --------------------------------------------------------------------------- numbers

_SMALL = {
    w: i
    for i, w in enumerate(
        _wordlist(
            """zero one two three four five six seven eight nine ten eleven twelve thirteen
        fourteen fifteen sixteen seventeen eighteen nineteen"""
        )
    )
}
_TENS = {
    w: 10 * i
    for i, w in enumerate(_wordlist("_ _ twenty thirty forty fifty sixty seventy eighty ninety"))
    if w != "_"
}
_MULT = {
    "hundred": 1e2,
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "millions": 1e6,
    "m": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "billion": 1e9,
    "billions": 1e9,
    "bn": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
}
_CURRENCY = {"$": "$", "£": "£", "€": "€", "us$": "$", "usd": "$", "gbp": "£", "eur": "€"}
_CURRENCY_WORDS = {
    "dollar": "$",
    "dollars": "$",
    "pound": "£",
    "pounds": "£",
    "sterling": "£",
    "euro": "€",
    "euros": "€",
}
_WORDNUM = "|".join(
    sorted([*_SMALL, *_TENS, "dozen", "dozens", "hundred", "thousand"], key=len, reverse=True)
)
_NUMBER = re.compile(
    r"(?P<cur>US\$|\$|£|€)?\s?"
    r"(?:(?P<digits>\d+(?:,\d{3})+(?:\.\d+)?|\d*\.\d+|\d+)(?P<ord>st|nd|rd|th)?"
    r"|(?P<words>\b(?:a\s+|half\s+a\s+)?(?:" + _WORDNUM + r")(?:[\s-](?:" + _WORDNUM + r"))*\b))"
    r"(?:\s?(?P<mult>hundred|thousand|millions?|billions?|trillion|bn|mn|mln|tn|m|k|b)\b)?"
    r"(?:\s?(?P<pct>%|per\s?cent\b|percent\b|percentage points?\b))?"
    r"(?:\s(?P<curword>dollars?|pounds?|sterling|euros?)\b)?",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Number:
    """A number as written and its normalised readings (value, unit)."""

    text: str
    start: int
    values: tuple[float, ...]
    unit: str | None  # "$", "£", "€", "%" or None
    approx: bool  # written with a multiplier ("4.2 million"), so a rounded source supports it
    weak: bool  # "one", "a": too common to flag when missing


def _word_value(words: str) -> float | None:
    parts = re.split(r"[\s-]+", words.lower())
    total = 0.0
    current = 0.0
    seen = False
    for p in parts:
        if p in ("a", "half"):
            continue
        if p in _SMALL:
            current += _SMALL[p]
        elif p in _TENS:
            current += _TENS[p]
        elif p in ("dozen", "dozens"):
            current = (current or 1) * 12
        elif p == "hundred":
            current = (current or 1) * 100
        elif p == "thousand":
            total += (current or 1) * 1000
            current = 0
        else:
            return None
        seen = True
    if not seen:
        return None
    value = total + current
    if words.lower().startswith("half a"):
        value /= 2
    return value


def parse_numbers(text: str) -> list[Number]:
    """Every number in ``text`` with its normalised values.

    >>> [n.values for n in parse_numbers("$1.13bn and 3,000 and 76 per cent")]
    [(1130000000.0,), (3000.0,), (76.0,)]
    """
    out: list[Number] = []
    for m in _NUMBER.finditer(text):
        digits, words = m.group("digits"), m.group("words")
        if digits:
            base = float(digits.replace(",", ""))
            weak = False
        elif words:
            value = _word_value(words)
            if value is None:
                continue
            base = value
            low = words.lower().strip()
            weak = low in ("one", "a", "zero", "dozens") or low.startswith("a ")
        else:
            continue
        mult_word = (m.group("mult") or "").lower()
        unit: str | None = None
        cur = (m.group("cur") or "").lower()
        if cur:
            unit = _CURRENCY.get(cur)
        if m.group("curword"):
            unit = _CURRENCY_WORDS.get(m.group("curword").lower(), unit)
        if m.group("pct"):
            unit = "%"
        values: list[float] = []
        if mult_word:
            values.append(base * _MULT[mult_word])
            if mult_word in ("m", "k", "b") and unit is None:
                values.append(base)  # "100m" sprint, "5k" run: also the bare number
        else:
            values.append(base)
        start = m.start("digits") if digits else m.start("words")
        if m.group("cur"):
            start = m.start("cur")
        text_span = text[start : m.end()].rstrip()
        if (
            not digits
            and not mult_word
            and not m.group("pct")
            and text_span.lower().startswith("a ")
            and base == 12
        ):
            weak = False  # "a dozen" is a real figure
        out.append(
            Number(
                text_span,
                start,
                tuple(values),
                unit,
                bool(mult_word) and mult_word != "hundred",
                weak,
            )
        )
    return out


def _sig_round(x: float, digits: int) -> float:
    if x == 0:
        return 0.0
    return round(x, -int(math.floor(math.log10(abs(x)))) + digits - 1)


def _sig_digits(text: str) -> int:
    m = re.search(r"\d[\d,]*(?:\.\d+)?", text)
    if not m:
        return 2
    d = m.group(0).replace(",", "").replace(".", "").lstrip("0")
    return max(1, len(d.rstrip("0")) if "." not in m.group(0) else len(d))


def _number_supported(num: Number, source: list[Number]) -> bool:
    for s in source:
        if num.unit and s.unit and num.unit != s.unit:
            continue
        for v in num.values:
            for sv in s.values:
                if math.isclose(v, sv, rel_tol=1e-9, abs_tol=1e-9):
                    return True
                if (
                    num.approx
                    and sv >= 1000
                    and math.isclose(_sig_round(sv, _sig_digits(num.text)), v, rel_tol=1e-9)
                ):
                    return True
    return False


def _features(text: str, base: int = 0) -> tuple[list[_Token], list[Number]]:
    """Tokens whose ``stem`` is the comparison key: a number written any way becomes
    one key ("#3000" for "3,000" and "three thousand"); the unit words it spans get
    an empty key and drop out of the overlap counts."""
    tokens = _tokens(text, base)
    numbers = parse_numbers(text)
    if numbers:
        k = 0
        for num in numbers:
            a, b = base + num.start, base + num.start + len(num.text)
            first = True
            while k < len(tokens) and tokens[k].start < a:
                k += 1
            while k < len(tokens) and tokens[k].start < b:
                tokens[k].stem = f"#{num.values[0]:.6g}" if first else ""
                first = False
                k += 1
    return tokens, numbers


# --------------------------------------------------------------------------- source index


@dataclass(slots=True)
class _Sentence:
    text: str
    tokens: list[_Token]
    stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    negated: bool


@dataclass(slots=True)
class _Source:
    text: str
    sentences: list[_Sentence]
    vocab: frozenset[str]  # norm forms
    stems: frozenset[str]
    index: dict[str, list[int]]  # stem -> sentence indices
    numbers: list[Number]
    number_sentences: list[int]  # sentence index of each number
    flat: list[str]  # every token's norm, in order
    flat_sentence: list[int]  # sentence index of each flat token
    positions: dict[str, list[int]]  # norm -> positions in flat
    keys: list[str]  # every token's comparison key (stem or number), in order
    key_sentence: list[int]  # sentence index of each key
    key_positions: dict[str, list[int]]  # key -> positions in keys


def _bigrams(stems: list[str]) -> frozenset[tuple[str, str]]:
    return frozenset(zip(stems, stems[1:], strict=False))


def _is_negated(tokens: Iterable[_Token]) -> bool:
    return any(t.norm in NEGATIONS or t.norm.endswith("n't") for t in tokens)


@lru_cache(maxsize=64)
def _analyse(source: str) -> _Source:
    sentences: list[_Sentence] = []
    numbers: list[Number] = []
    number_sentences: list[int] = []
    flat: list[str] = []
    flat_sentence: list[int] = []
    keys: list[str] = []
    key_sentence: list[int] = []
    index: dict[str, list[int]] = {}
    for i, text in enumerate(split_sentences(source)):
        toks, nums = _features(text)
        stems = [t.stem for t in toks if t.stem]
        content = frozenset(t.stem for t in toks if t.stem and t.norm not in STOPWORDS)
        sentences.append(_Sentence(text, toks, content, _bigrams(stems), _is_negated(toks)))
        for s in content:
            index.setdefault(s, []).append(i)
        for n in nums:
            numbers.append(n)
            number_sentences.append(i)
        for t in toks:
            flat.append(t.norm)
            flat_sentence.append(i)
            if t.stem:
                keys.append(t.stem)
                key_sentence.append(i)
    positions: dict[str, list[int]] = {}
    for p, w in enumerate(flat):
        positions.setdefault(w, []).append(p)
    key_positions: dict[str, list[int]] = {}
    for p, w in enumerate(keys):
        key_positions.setdefault(w, []).append(p)
    vocab = frozenset(flat)
    return _Source(
        source,
        sentences,
        vocab,
        frozenset(_stem(w) for w in vocab),
        index,
        numbers,
        number_sentences,
        flat,
        flat_sentence,
        positions,
        keys,
        key_sentence,
        key_positions,
    )


def _window_tokens(src: _Source, idx: Iterable[int], radius: int) -> set[str]:
    out: set[str] = set()
    n = len(src.sentences)
    for i in idx:
        for j in range(max(0, i - radius), min(n, i + radius + 1)):
            out.update(t.norm for t in src.sentences[j].tokens)
            out.update(t.stem for t in src.sentences[j].tokens)
    return out


def _find_sequence(src: _Source, seq: list[str]) -> list[int]:
    """Start positions in the source's token stream where ``seq`` occurs."""
    if not seq:
        return []
    hits = []
    n = len(seq)
    for p in src.positions.get(seq[0], []):
        if src.flat[p : p + n] == seq:
            hits.append(p)
    return hits


# --------------------------------------------------------------------------- summary units

_SENTENCE_FIELDS = ("headline", "summary", "key_points")


@dataclass(slots=True)
class _Segment:
    kind: str  # sentence | figure | quote | entity | date | other
    text: str
    start: int
    item: Mapping[str, Any] | None = None


def _segments(summary: str | Mapping[str, Any]) -> tuple[str, list[_Segment]]:
    if isinstance(summary, str):
        return summary, [_Segment("sentence", summary, 0)]
    parts: list[tuple[str, str, Mapping[str, Any] | None]] = []
    for key in _SENTENCE_FIELDS:
        value = summary.get(key)
        if isinstance(value, str):
            parts.append(("sentence", value, None))
        elif isinstance(value, list):
            parts.extend(("sentence", v, None) for v in value if isinstance(v, str))
    for fig in summary.get("figures") or []:
        if isinstance(fig, Mapping) and isinstance(fig.get("value"), str):
            line = f"{fig['value']}: {fig.get('measure') or ''}".rstrip(": ")
            if isinstance(fig.get("source"), str) and fig["source"]:
                line += f" (source: {fig['source']})"
            parts.append(("figure", line, fig))
    for quote in summary.get("quotes") or []:
        if isinstance(quote, Mapping) and isinstance(quote.get("text"), str):
            line = f"“{quote['text']}”"
            if isinstance(quote.get("speaker"), str) and quote["speaker"]:
                line += f" ({quote['speaker']})"
            parts.append(("quote", line, quote))
    for ent in summary.get("entities") or []:
        if isinstance(ent, Mapping) and isinstance(ent.get("name"), str):
            parts.append(("entity", ent["name"], ent))
    for date in summary.get("dates") or []:
        if isinstance(date, Mapping) and isinstance(date.get("date"), str):
            parts.append(("date", f"{date['date']}: {date.get('event') or ''}".rstrip(": "), date))
    text = ""
    segments: list[_Segment] = []
    for kind, line, item in parts:
        if text:
            text += "\n"
        segments.append(_Segment(kind, line, len(text), item))
        text += line
    return text, segments


def summary_text(summary: str | Mapping[str, Any]) -> str:
    """The checkable text of a summary: plain text as is; a ``summary.v1`` object as
    one line each for headline, summary, key points, figures, quotes, entities and dates.
    ``unsupported`` spans are substrings of this text."""
    return _segments(summary)[0]


def _locate_sentences(text: str, base: int) -> list[tuple[str, int]]:
    """The sentences of ``text`` with their offsets (``split_sentences`` collapses spaces)."""
    out: list[tuple[str, int]] = []
    cursor = 0
    for sent in split_sentences(text):
        pattern = r"\s+".join(re.escape(p) for p in sent.split())
        m = re.compile(pattern).search(text, cursor)
        if m is None:
            continue
        out.append((text[m.start() : m.end()], base + m.start()))
        cursor = m.end()
    if not out and text.strip():
        out.append((text.strip(), base + text.index(text.strip())))
    return out


# --------------------------------------------------------------------------- checks

_QUOTE_RE = re.compile(
    r"[\"“”„]([^\"“”„]{3,}?)[\"“”]"  # double quotes
    r"|(?:(?<=^)|(?<=[\s(\[:,—-]))[‘'`]([^‘’'`]{3,}?[^\s‘’'`])[’'](?=$|[\s.,;:!?)\]—-])"
)


def _quote_tokens(text: str) -> list[str]:
    return [t.norm for t in _tokens(text)]


def _best_support(
    src: _Source, content: set[str], bigrams: frozenset[tuple[str, str]]
) -> tuple[float, list[int]]:
    """Support of a sentence: coverage by the best source sentence or pair of sentences."""
    if not src.sentences:
        return 0.0, []
    if not content and not bigrams:
        return 1.0, []
    hits: dict[int, int] = {}
    for s in content:
        for i in src.index.get(s, ()):
            hits[i] = hits.get(i, 0) + 1
    top = sorted(hits, key=lambda i: (-hits[i], i))[:4]
    if not top:
        return 0.0, []
    best = (-1.0, [top[0]])
    for a_pos, a in enumerate(top):
        cands: list[list[int]] = [[a]] + [[a, b] for b in top[a_pos + 1 :]]
        for cand in cands:
            stems: set[str] = set()
            bg: set[tuple[str, str]] = set()
            for i in cand:
                stems |= src.sentences[i].stems
                bg |= src.sentences[i].bigrams
            uni = len(content & stems) / len(content) if content else 1.0
            bi = len(bigrams & bg) / len(bigrams) if bigrams else uni
            value = (1 - BIGRAM_WEIGHT) * uni + BIGRAM_WEIGHT * bi
            if len(cand) == 2:
                value -= 0.02  # prefer one sentence when it does as well
            if value > best[0]:
                best = (value, cand)
    return max(0.0, min(1.0, best[0])), sorted(best[1])


def _known(word: str, src: _Source) -> bool:
    """Whether the source uses ``word`` (or, for "Chelsea-and", each of its parts)."""
    if len(word) == 1 or word in src.vocab or _stem(word) in src.stems:
        return True
    parts = [p for p in re.split(r"[-.]", word) if p]
    return len(parts) > 1 and all(
        p in src.vocab or _stem(p) in src.stems or p.rstrip("s") in src.vocab for p in parts
    )


def _entity_spans(
    tokens: list[_Token], text: str, base: int, src: _Source
) -> list[tuple[int, int]]:
    """Offsets of capitalised runs (names, places, months, weekdays) with a word the
    source never uses.

    A run ends at punctuation. A lone capitalised word that opens the sentence (or a
    quotation) is capitalised for that reason alone, so it is left to the support
    score: "Though", "Click", "Residents" are not names.
    """
    spans: list[tuple[int, int]] = []
    run: list[_Token] = []
    run_opens = False
    prev_end = base
    for t in [*tokens, None]:
        gap = text[prev_end - base : t.start - base] if t is not None else "."
        capital = t is not None and t.capital and t.text[0].isalpha() and t.norm not in STOPWORDS
        joined = capital and run and not gap.strip()
        if run and not joined:
            lone_opener = run_opens and len(run) == 1
            unknown = [u for u in run if not _known(u.norm, src)]
            if len(unknown) < len(run):  # "Leicester City" where the source says "Leicester"
                unknown = [u for u in unknown if u.norm not in _NAME_SUFFIXES]
            if not lone_opener and unknown:
                spans.append((run[0].start, run[-1].start + len(run[-1].text)))
            run = []
        if t is None:
            break
        if capital:
            if not run:
                run_opens = t.start == base or bool(re.search(r"[:\"“‘'(\[—-]\s*$", gap))
            run.append(t)
        prev_end = t.start + len(t.text)
    return spans


def _attribution_subject(tokens: list[_Token]) -> list[tuple[int, int]]:
    """(first, last) token indices of the subjects of attribution verbs."""
    out: list[tuple[int, int]] = []
    n = len(tokens)
    for k, t in enumerate(tokens):
        is_according = t.norm == "according" and k + 1 < n and tokens[k + 1].norm == "to"
        if t.norm not in ATTRIBUTION_VERBS and not is_according:
            continue
        if is_according:
            j = k + 2
            while j < n and tokens[j].norm in ("the", "a", "an"):
                j += 1
            first = j
            while j < n and tokens[j].capital:
                j += 1
            if j > first:
                out.append((first, j - 1))
            continue
        # subject before the verb: the nearest capitalised run within four words
        j = k - 1
        while j >= 0 and k - j <= 4 and not tokens[j].capital:
            j -= 1
        if j >= 0 and k - j <= 4 and tokens[j].capital and j > 0 or (j == 0 and k - j <= 2):
            last = j
            while j - 1 >= 0 and tokens[j - 1].capital:
                j -= 1
            if not (j == last and tokens[j].norm in STOPWORDS):
                out.append((j, last))
            continue
        # inverted: '..., said Smith'
        j = k + 1
        while j < n and tokens[j].norm in _TITLES and not tokens[j].capital:
            j += 1
        first = j
        while j < n and tokens[j].capital:
            j += 1
        if j > first:
            out.append((first, j - 1))
    return out


def _name_near(name_tokens: list[_Token], window: set[str]) -> bool:
    wanted = [t for t in name_tokens if t.norm not in STOPWORDS and t.norm not in _TITLES]
    if not wanted:
        return True
    return any(t.norm in window or t.stem in window for t in wanted)


def _negation_flip(tokens: list[_Token], src: _Source, support_idx: list[int]) -> _Token | None:
    """The summary token that shows a negation added to or dropped from the source."""
    if not support_idx:
        return None
    negs = [t for t in tokens if t.norm in NEGATIONS or t.norm.endswith("n't")]
    source_neg = any(src.sentences[i].negated for i in support_idx)
    if negs and not source_neg:
        return negs[0]
    if source_neg and not negs:
        # dropped: a negation in the source right before a word the summary repeats
        by_stem = {t.stem: t for t in tokens if t.norm not in STOPWORDS}
        for i in support_idx:
            toks = src.sentences[i].tokens
            for k, t in enumerate(toks):
                if t.norm in NEGATIONS or t.norm.endswith("n't"):
                    if k + 1 < len(toks) and toks[k + 1].norm in _NOT_ONLY:
                        continue  # "didn't just include": not a denial
                    nxt = [u for u in toks[k + 1 : k + 4] if u.norm not in STOPWORDS]
                    if nxt and nxt[0].stem in by_stem:
                        return by_stem[nxt[0].stem]
    return None


def _jumps(keys: list[str], src: _Source) -> int:
    """How often a sentence, copied from the source in longest fragments, jumps to
    another source sentence (or back within one) between two adjacent fragments.

    Each fragment is the longest run of the sentence found verbatim in the source
    (a tie goes to the source sentence the previous fragment came from); a word the
    source lacks breaks the chain. Fusing clauses from different places is where
    abstractive summarisers swap subjects and objects, so each jump is a risk.
    """
    jumps = 0
    i = 0
    n = len(keys)
    prev_end = -1  # source position of the previous fragment's last word; -1: none
    source = src.keys
    while i < n:
        best_len, best_pos = 0, -1
        for p in src.key_positions.get(keys[i], ()):
            length = 1
            while (
                i + length < n
                and p + length < len(source)
                and (source[p + length] == keys[i + length])
            ):
                length += 1
            if length > best_len or (
                length == best_len
                and prev_end >= 0
                and src.key_sentence[p] == src.key_sentence[prev_end]
                and src.key_sentence[best_pos] != src.key_sentence[prev_end]
            ):
                best_len, best_pos = length, p
        if best_len == 0:
            prev_end = -1
            i += 1
            continue
        if prev_end >= 0 and (
            src.key_sentence[best_pos] != src.key_sentence[prev_end] or best_pos <= prev_end
        ):
            jumps += 1
        prev_end = best_pos + best_len - 1
        i += best_len
    return jumps


def _span(text: str, base: int, start: int, end: int) -> tuple[str, int]:
    return text[start - base : end - base], start


def _check_sentence(sentence: str, base: int, src: _Source) -> UnitScore:
    tokens, numbers = _features(sentence, base)
    content = {t.stem for t in tokens if t.stem and t.norm not in STOPWORDS}
    bigrams = _bigrams([t.stem for t in tokens if t.stem])
    support, support_idx = _best_support(src, content, bigrams)
    issues: list[Issue] = []

    def add(kind: str, start: int, end: int, reason: str) -> None:
        span, at = _span(sentence, base, start, end)
        issues.append(Issue(kind, span, at, reason))

    for num in numbers:
        if not num.weak and not _number_supported(num, src.numbers):
            add("number", base + num.start, base + num.start + len(num.text), "not in the source")
    number_spans = [(i.start, i.start + len(i.span)) for i in issues]
    for a, b in _entity_spans(tokens, sentence, base, src):
        if not any(s <= a < e for s, e in number_spans):
            add("entity", a, b, "name or date not in the source")
    neg = _negation_flip(tokens, src, support_idx)
    if neg is not None:
        why = "negation the source lacks" if neg.norm in NEGATIONS else "the source negates this"
        add("negation", neg.start, neg.start + len(neg.text), why)
    quoted: set[int] = set()  # source sentences holding the summary's verbatim quotes
    for m in _QUOTE_RE.finditer(sentence):
        g = 1 if m.group(1) is not None else 2
        qt = _quote_tokens(m.group(g))
        if len(qt) < 3:
            continue
        hits = _find_sequence(src, qt)
        if not hits:
            add("quote", base + m.start(g), base + m.end(g), "quote not in the source verbatim")
        quoted.update(src.flat_sentence[h] for h in hits)
    for first, last in _attribution_subject(tokens):
        subject = tokens[first : last + 1]
        if any(i.kind == "entity" and i.start == subject[0].start for i in issues):
            continue
        # the claim without its speaker: where does the source make it?
        names = {t.stem for t in subject}
        claim_idx = sorted(quoted) or _best_support(src, content - names, bigrams)[1] or support_idx
        if claim_idx and not _name_near(subject, _window_tokens(src, claim_idx, 1)):
            add(
                "attribution",
                subject[0].start,
                subject[-1].start + len(subject[-1].text),
                "the source attributes this claim to someone else",
            )
    if support < LOW_SUPPORT:
        issues.insert(0, Issue("sentence", sentence, base, "little of it is in the source"))
    return _unit(
        "sentence", sentence, support, issues, _jumps([t.stem for t in tokens if t.stem], src)
    )


def _unit(kind: str, text: str, support: float, issues: list[Issue], jumps: int = 0) -> UnitScore:
    value = FUSION**jumps
    for issue in issues:
        value *= PENALTY.get(issue.kind, 1.0)
    return UnitScore(kind, text, round(support, 4), round(value, 4), issues, jumps)


def _check_figure(seg: _Segment, src: _Source) -> UnitScore:
    item = seg.item or {}
    value = str(item.get("value", ""))
    issues: list[Issue] = []
    nums = parse_numbers(value)
    found: list[int] = []
    for num in nums:
        hits = [
            src.number_sentences[k]
            for k, s in enumerate(src.numbers)
            if _number_supported(num, [s])
        ]
        if hits:
            found.extend(hits)
        elif not num.weak:
            issues.append(
                Issue("number", num.text, seg.start + num.start, "figure not in the source")
            )
    if not nums:
        words = [t for t in _tokens(value) if t.norm not in STOPWORDS]
        if words and not all(t.norm in src.vocab or t.stem in src.stems for t in words):
            issues.append(Issue("number", value, seg.start, "figure not in the source"))
    who = item.get("source")
    if isinstance(who, str) and who.strip() and found and not issues:
        window = _window_tokens(src, found, 2)
        who_tokens = _tokens(who)
        if not _name_near(who_tokens, window):
            at = seg.text.rfind(who)
            issues.append(
                Issue("attribution", who, seg.start + at, "source not named near the figure")
            )
    return _unit("figure", seg.text, 1.0, issues)


def _check_quote(seg: _Segment, src: _Source) -> UnitScore:
    item = seg.item or {}
    text = str(item.get("text", ""))
    issues: list[Issue] = []
    qt = _quote_tokens(text)
    hits = _find_sequence(src, qt) if qt else []
    if qt and not hits:
        issues.append(Issue("quote", text, seg.start + 1, "quote not in the source verbatim"))
    speaker = item.get("speaker")
    if isinstance(speaker, str) and speaker.strip() and hits:
        idx = {src.flat_sentence[h] for h in hits} | {
            src.flat_sentence[h + len(qt) - 1] for h in hits
        }
        window = _window_tokens(src, idx, 2)
        if not _name_near(_tokens(speaker), window):
            at = seg.text.rfind(speaker)
            issues.append(Issue("speaker", speaker, seg.start + at, "speaker not named near it"))
    return _unit("quote", seg.text, 1.0, issues)


def _check_name(seg: _Segment, src: _Source) -> UnitScore:
    """An ``entities`` name or a ``dates`` line: its names and numbers must be in the source."""
    name = seg.text if seg.kind == "entity" else str((seg.item or {}).get("date", ""))
    issues: list[Issue] = []
    tokens, numbers = _features(name, seg.start)
    for num in numbers:
        if not num.weak and not _number_supported(num, src.numbers):
            issues.append(Issue("number", num.text, seg.start + num.start, "not in the source"))
    for t in tokens:
        if not t.stem or t.stem[0] == "#" or t.norm in STOPWORDS:
            continue  # numbers are checked above
        if t.norm not in src.vocab and t.stem not in src.stems:
            issues.append(Issue("entity", t.text, t.start, "not in the source"))
    issues.sort(key=lambda i: i.start)
    return _unit(seg.kind, seg.text, 1.0, issues)


# --------------------------------------------------------------------------- score


def score(source: str, summary: str | Mapping[str, Any]) -> FaithfulnessResult:
    """How faithful ``summary`` is to ``source``: see the module docstring for the formula."""
    src = _analyse(source)
    _, segments = _segments(summary)
    units: list[UnitScore] = []
    for seg in segments:
        if seg.kind == "sentence":
            units.extend(
                _check_sentence(sent, at, src)
                for sent, at in _locate_sentences(seg.text, seg.start)
            )
        elif seg.kind == "figure":
            units.append(_check_figure(seg, src))
        elif seg.kind == "quote":
            units.append(_check_quote(seg, src))
        elif seg.kind in ("entity", "date"):
            units.append(_check_name(seg, src))
    log_total = sum(math.log(max(u.score, 1e-9)) for u in units)
    if REFERENCE_WORDS:
        n_words = sum(len(u.text.split()) for u in units if u.kind == "sentence")
        log_total *= min(1.0, REFERENCE_WORDS / max(1, n_words))
    total = math.exp(log_total) if src.sentences else 0.0
    if not units:
        total = 1.0
    return FaithfulnessResult(round(min(1.0, max(0.0, total)), 4), _unsupported(units), units)


def _unsupported(units: list[UnitScore]) -> list[str]:
    spans: list[tuple[int, str]] = []
    for unit in units:
        whole = next((i for i in unit.issues if i.kind == "sentence"), None)
        if whole is not None:
            spans.append((whole.start, whole.span))
            continue
        spans.extend((i.start, i.span) for i in unit.issues if i.span)
    seen: set[str] = set()
    out: list[str] = []
    for _, span in sorted(spans, key=lambda s: s[0]):
        if span not in seen:
            seen.add(span)
            out.append(span)
    return out


# --------------------------------------------------------------------------- JSONL


def _line_error(line: str) -> tuple[dict[str, Any] | None, str | None]:
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        return None, f"not JSON ({e.msg} at column {e.colno}): write one JSON object per line"
    if not isinstance(obj, dict):
        return None, "not a JSON object: write one object per line with 'source' and 'summary'"
    missing = [k for k in ("source", "summary") if k not in obj]
    if missing:
        names = " and ".join(repr(k) for k in missing)
        return obj, f"missing {names}: each line needs 'source' (article text) and 'summary'"
    if not isinstance(obj["source"], str):
        return obj, "'source' must be the article text as a string"
    if not isinstance(obj["summary"], str | dict):
        return obj, "'summary' must be a string or a summary object"
    return obj, None


def score_jsonl(inp: IO[str], out: IO[str]) -> tuple[int, int]:
    """Score each JSONL line of ``inp`` (``source`` + ``summary``) into ``out``.

    Every line is written back in input order with all its fields, plus
    ``faithfulness`` and ``unsupported``; a bad line gets an ``error`` field instead
    (a line that is not JSON is kept as ``{"line": ..., "error": ...}``). Blank lines
    are skipped. Returns ``(lines_ok, lines_bad)``.
    """
    ok = bad = 0
    for number, line in enumerate(inp, start=1):
        if not line.strip():
            continue
        obj, error = _line_error(line)
        if error is not None:
            bad += 1
            record: dict[str, Any] = dict(obj) if obj is not None else {"line": line.rstrip("\n")}
            record["error"] = f"line {number}: {error}"
        else:
            assert obj is not None
            result = score(obj["source"], obj["summary"])
            record = dict(obj)
            record["faithfulness"] = result.faithfulness
            record["unsupported"] = result.unsupported
            ok += 1
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return ok, bad
