"""An editor's audit of the built-in model's structured fields over the 21 seed articles.

Each seed in ``seeds/`` is loaded as ``summarise run seeds/`` loads it and summarised by
:func:`pipeline.extractive.summarise` (what the built-in model answers, before the prompt's
attribution and contradiction switches). Every output is then checked by the explicit rules
below, one class of error each; the script prints the count per class and, with
``--details``, every flagged item with the rule that flagged it, so each count can be
checked by hand.

Classes (the rule that counts each):

``entity_person_not_person``
    an entity typed ``person`` that the editor's labels (``benchmarks/data/seed_entities.json``,
    written by reading each seed) type otherwise: an organisation, place, event, work, group,
    or a fragment.
``entity_fragment``
    an entity the labels mark ``fragment``: not a clean name (a capitalised run glued
    across a caption or sentence seam, "Europe The"; a sentence word, "Luxurious"; a
    descriptor glued to a name, "Tory Ruth Davidson"; a piece of a longer name,
    "Medical Association"; an abbreviation that names nothing, "PM"; a stray stop, "US.").
``entity_unlabelled``
    an entity name the labels do not know (not an error: extend the labels; it must be 0
    for the two counts above to be complete).
``figure_not_quantity``
    a figure that is not a quantity, judged from the article text around its value's
    first occurrence: a *calibre* (the value followed by mm/millimetre/cm/calibre/inch and
    a noun: "170 millimeter self-propelled howitzers"); a *model number* (a bare integer
    with a capitalised word right before it, "Xbox 2", or right after it, "787 Dreamliner",
    or an integer of 100 or more followed by a singular noun, "777 plane" (not "people",
    "staff" and the like), or "the N" at the end of a clause, "the 717."); an *age*
    ("aged 37", "age of 31", "Name, 37,",
    "I'm 35", "is now 10 and", "30 year old"); a *phone number* (a run of three or more
    digit groups, one starting with 0); a *year* (four digits 1000-2099 after "in", "since",
    "by", "from", "until" or "of").
``measure_fragment``
    a figure whose ``measure`` does not say what the number measures: it contains the
    figure's own number; its brackets do not balance; it runs past 8 words; it ends with a
    function word ("the", "of", "I"); or it is a single word that is a verb form, adverb or
    function word ("coming", "made", "respectively").
``money_missed``
    an amount of money in the article (a currency sign, a number, and an optional
    multiplier written apart or joined: "£446million", "$3bn", "£4,000") that no figure's
    value holds; counted over the whole article while the model lists fewer than 20
    figures (the schema's cap), else only over the summary and key points.
``quote_trailing_punct``
    a quote whose text ends with a comma, semicolon or colon.
``quote_speaker_missed``
    a quote with no speaker that the article attributes by name in the same sentence: the
    quotation ends with a comma, "?" or "!" (or a comma follows its closing mark) and is
    followed by ``said|says|told|added|... Name`` or ``Name said|says|...`` (Name capitalised,
    not a pronoun). A quotation ending with a full stop ends its sentence: what follows
    is not its attribution.
``quote_missed``
    a quotation of at least five words, in double or single quotation marks (straight or
    curly), attributed in the same sentence (as above, or "he said" / "she said"), that no
    output quote holds; counted while the model lists fewer than 10
    quotes (the cap).
``date_event_sentence``
    a date whose ``event`` is longer than 20 words, or is a whole article sentence of more
    than 12 words: the event should say what happened, not repeat the sentence.
``date_duplicate``
    a date listed again: the same date text (case ignored) as an earlier entry.
``summary_run_on``
    a sentence of ``summary`` or ``key_points`` (each distinct sentence once) holding a
    caption seam: (a) a capitalised
    "The", "A", "He", "She", "It", "They", "His", "Her", "This", ... followed by a
    lower-case word, with no punctuation between it and the word before, that word not a
    function word ("on Europe The most popular"); (b) "Mr", "Mrs", "Ms" or "Dr" right after
    a number ("before 2020 Ms Sturgeon"); (c) a capitalised name repeated within the
    sentence whose second mention is glued to the end of a capitalised run that opens with
    "the", and precedes a lower-case word ("the Grand National Tindall celebrates"); (d) a
    "Word:" caption label right after a capitalised word that does not open the sentence
    ("the Battle of Agincourt Cabinets: A pair").

Run from the repo root: ``python -m benchmarks.seed_audit`` (``--details`` lists every flagged
item; ``--json`` prints the counts as JSON).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline import extractive  # noqa: E402
from pipeline.articles import Article, iter_articles  # noqa: E402
from pipeline.text import split_sentences  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
LABELS = Path(__file__).resolve().parent / "data" / "seed_entities.json"

CLASSES = [
    "entity_person_not_person",
    "entity_fragment",
    "figure_not_quantity",
    "measure_fragment",
    "money_missed",
    "quote_trailing_punct",
    "quote_speaker_missed",
    "quote_missed",
    "date_event_sentence",
    "date_duplicate",
    "summary_run_on",
]
INFO = ["entity_unlabelled"]

FUNCTION_WORDS = frozenset(
    """a an the and or but nor of to in on at by for from with as than that which who whom
    whose this these those it its he she they we i you his her their our my your him them us
    me is are was were be been being has have had do does did will would can could should
    may might must not no so if then there here when where while also just only very""".split()
)
PLURALS = frozenset(
    "people men women children police staff crew cattle sheep fish personnel".split()
)
PRONOUNS = frozenset("He She They It We I You The This That There A An".split())
SAY = (
    r"said|says|say|told|tells|added|adds|explained|insisted|admitted|warned|claimed|"
    r"revealed|announced|stated|wrote|replied|continued|confirmed|argued|noted|joked"
)
_NAME = r"[A-Z][\w’'.-]*(?:\s+(?:[A-Z][\w’'.-]*|of|de|van|von))*"


@dataclass(frozen=True)
class Flag:
    seed: str
    cls: str
    item: str
    why: str


# ------------------------------------------------------------------ entities


def _entities(seed: str, out: dict[str, Any], labels: dict[str, dict[str, str]]) -> list[Flag]:
    flags: list[Flag] = []
    gold = labels.get(seed, {})
    for ent in out["entities"]:
        name, kind = ent["name"], ent["type"]
        want = gold.get(name)
        if want is None:
            flags.append(Flag(seed, "entity_unlabelled", f"{name} ({kind})", "not in labels"))
            continue
        if want == "fragment":
            flags.append(Flag(seed, "entity_fragment", f"{name} ({kind})", "labelled fragment"))
        if kind == "person" and want != "person":
            flags.append(
                Flag(seed, "entity_person_not_person", name, f"typed person, labelled {want}")
            )
    return flags


# ------------------------------------------------------------------ figures

_UNIT_ATTRIBUTIVE = re.compile(
    r"^\s?(?:mm|millimet(?:er|re)s?|cm|centimet(?:er|re)s?|calibre|caliber|-?inch)\s+([a-z][\w-]*)"
)
_AGE_BEFORE = re.compile(
    r"(?:\baged\s(?:over\s|under\s|about\s|around\s)?|\bage of\s|\bI[’']m\s|\bI am\s|"
    r"\b(?:is|was)\s(?:now\s)?|\bturn(?:ed|s)\s)$"
)
_AGE_AFTER = re.compile(r"^(?:-year-old|\s?years?[\s-]old|-years?-old)")
_YEAR_BEFORE = re.compile(r"\b(?:in|since|by|from|until|of)\s$", re.IGNORECASE)
_MONTHS = (
    "January February March April May June July August September October November December"
).split()


def _context(text: str, value: str) -> tuple[str, str] | None:
    """60 characters either side of the value's first occurrence as a whole number."""
    m = re.search(rf"(?<![\w.,]){re.escape(value)}(?!\w|[,.]\d)", text)
    if m is None:
        return None
    return text[max(0, m.start() - 60) : m.start()], text[m.end() : m.end() + 60]


def _not_quantity(value: str, before: str, after: str) -> str | None:
    bare = re.fullmatch(r"\d+", value) is not None
    m = _UNIT_ATTRIBUTIVE.match(after)
    if m and m.group(1) not in FUNCTION_WORDS | {"long", "wide", "high", "deep", "thick"}:
        return "calibre"
    if bare:
        n = int(value)
        if re.fullmatch(r"1\d{3}|20\d{2}", value) and _YEAR_BEFORE.search(before):
            return "year"
        if _AGE_BEFORE.search(before) and re.match(r"^(?:$|[,.;)]|\s(?:and|years)\b)", after):
            return "age"
        if re.search(r"\b[A-Z][\w’'.-]*,\s$", before) and re.match(r"^(?:,|\.|\s*$)", after):
            return "age"
        if _AGE_AFTER.match(after):
            return "age"
        in_run = re.search(r"(?:^|\s)0\d{2,}\s(?:\d+\s)*$", before)
        if in_run or (value.startswith("0") and re.match(r"^\s\d+\s\d+", after)):
            return "phone number"
        prev = re.search(r"(\S+)\s$", before)
        if prev and re.fullmatch(r"[A-Z][\w-]*", prev.group(1)):
            at_start = re.search(r"(?:^|[.!?:]\s+)\S+\s$", before) is not None
            nxt = re.match(r"^\s([a-z]+)", after)
            plural_next = nxt is not None and nxt.group(1).endswith("s")
            if (
                not at_start
                and prev.group(1) not in _MONTHS
                and prev.group(1) not in {"No", "Page"}
                and not plural_next
            ):
                return "model number"
        if re.match(r"^\s[A-Z][a-z]", after) and not re.match(
            r"^\s(?:" + "|".join(_MONTHS) + ")", after
        ):
            return "model number"
        nxt = re.match(r"^\s([a-z][a-z-]*)\b", after)
        singular = nxt is not None and not nxt.group(1).endswith("s")
        singular = singular and nxt is not None and nxt.group(1) not in FUNCTION_WORDS | PLURALS
        if n >= 100 and singular:
            return "model number"
        if re.search(r"\bthe\s$", before) and re.match(r"^(?:$|[.,;)])", after):
            return "model number"
    return None


def _measure_problem(value: str, measure: str) -> str | None:
    words = measure.split()
    if value and value in measure:
        return "holds the number itself"
    if measure.count("(") != measure.count(")"):
        return "unbalanced brackets"
    if len(words) > 8:
        return f"{len(words)} words"
    if words and words[-1].lower().strip(".,;:") in FUNCTION_WORDS:
        return f"ends with '{words[-1]}'"
    if len(words) == 1:
        w = words[0].lower()
        if w in FUNCTION_WORDS or w.endswith(("ing", "ed", "ly")) or w == "made":
            return "a verb form, adverb or function word"
    return None


_MONEY = re.compile(
    r"(?:US|A|C|NZ|HK)?[$£€¥₹]\s?\d[\d,]*(?:\.\d+)?"
    r"(?:\s?(?:million|billion|trillion|bn|m|tn|k)\b)?"
)


def _norm_money(text: str) -> str:
    t = text.replace(",", "").replace(" ", "").lower()
    t = re.sub(r"^(?:us|a|c|nz|hk)(?=[$£€¥₹])", "", t)
    return t.replace("million", "m").replace("billion", "bn").replace("trillion", "tn")


def _figures(seed: str, text: str, out: dict[str, Any]) -> list[Flag]:
    flags: list[Flag] = []
    for fig in out["figures"]:
        value, measure = fig["value"], fig["measure"]
        ctx = _context(text, value)
        if ctx is not None:
            kind = _not_quantity(value, *ctx)
            if kind:
                flags.append(Flag(seed, "figure_not_quantity", value, kind))
        problem = _measure_problem(value, measure)
        if problem:
            flags.append(Flag(seed, "measure_fragment", f"{value}: {measure}", problem))
    have = {_norm_money(m.group(0)) for f in out["figures"] for m in _MONEY.finditer(f["value"])}
    scope = text
    if len(out["figures"]) >= 20:
        scope = " ".join([out["summary"], *out["key_points"]])
    seen: set[str] = set()
    for m in _MONEY.finditer(scope):
        key = _norm_money(m.group(0))
        if key in have or key in seen:
            continue
        seen.add(key)
        flags.append(Flag(seed, "money_missed", m.group(0), "no figure holds it"))
    return flags


# ------------------------------------------------------------------ quotes

_AFTER_NAMED = re.compile(rf"^,?\s*(?:(?:{SAY})\s+(?:the\s+)?({_NAME})|({_NAME})\s+(?:{SAY})\b)")
_QUOTATION = re.compile(
    r"“([^“”]+)”"
    r"|‘((?:[^‘’]|’(?=\w))+)’"
    r"|(?:^|(?<=[\s(]))\"([^\"]+)\""
    r"|(?:^|(?<=[\s(]))'((?:[^']|(?<=\w)'(?=\w))+)'(?=[\s.,;:!?)]|$)"
)


def _attributed_after(quote: str, after: str) -> str | None:
    """The speaker named right after a quotation in the same sentence ("..., said X" /
    "...," X said), "pronoun" for "he said" / "she said", else None. A quotation that ends
    with a full stop ends its sentence: what follows is not its attribution."""
    lead = re.match(r"^[,?!]?[\"”’']*[,?!]?", after)
    mark = lead.group(0) if lead else ""
    if not (quote.rstrip().endswith((",", "?", "!")) or re.search(r"[,?!]", mark)):
        return None
    after = after[len(mark) :]
    m = _AFTER_NAMED.match(after)
    if m:
        name = m.group(1) or m.group(2)
        if name.split()[0] not in PRONOUNS:
            return name
    if re.match(rf"^,?\s*(?:he|she)\s+(?:{SAY})\b", after):
        return "pronoun"
    return None


def _norm_quote(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _quotes(seed: str, text: str, out: dict[str, Any]) -> list[Flag]:
    flags: list[Flag] = []
    for q in out["quotes"]:
        quote = q["text"]
        if quote.rstrip().endswith((",", ";", ":")):
            flags.append(Flag(seed, "quote_trailing_punct", quote[-40:], "ends with punctuation"))
        if q["speaker"] is None:
            at = text.find(quote)
            if at >= 0:
                after = text[at + len(quote) : at + len(quote) + 80]
                named = _attributed_after(quote, after)
                if named and named != "pronoun":
                    flags.append(Flag(seed, "quote_speaker_missed", quote[:60], named))
    if len(out["quotes"]) < 10:
        have = [_norm_quote(q["text"]) for q in out["quotes"]]
        for m in _QUOTATION.finditer(text):
            inner = next(g for g in m.groups() if g is not None)
            if len(inner.split()) < 5:
                continue
            if not _attributed_after(inner, text[m.end() : m.end() + 80]):
                continue
            norm = _norm_quote(inner)
            if not any(norm in h or h in norm for h in have if h):
                flags.append(Flag(seed, "quote_missed", inner[:60], "attributed quotation"))
    return flags


# ------------------------------------------------------------------ dates


def _dates(seed: str, text: str, out: dict[str, Any]) -> list[Flag]:
    flags: list[Flag] = []
    sentences = {s.strip().rstrip(".") for s in split_sentences(text)}
    seen: set[str] = set()
    for d in out["dates"]:
        event = d["event"]
        n = len(event.split())
        if n > 20 or (n > 12 and event.strip().rstrip(".") in sentences):
            flags.append(
                Flag(seed, "date_event_sentence", f"{d['date']}: {event[:50]}", f"{n} words")
            )
        key = d["date"].strip().lower()
        if key in seen:
            flags.append(Flag(seed, "date_duplicate", d["date"], "listed before"))
        seen.add(key)
    return flags


# ------------------------------------------------------------------ run-on sentences

_OPENERS = "The|A|An|He|She|It|They|We|His|Her|Their|Its|This|These|Those|There"
_SEAM_OPENER = re.compile(rf"(?<=[\w’'])\s(?:{_OPENERS})\s[a-z]")
_SEAM_TITLE = re.compile(r"\d\s(?:Mr|Mrs|Ms|Dr)\s[A-Z]")
_SEAM_LABEL = re.compile(r"[A-Z][\w-]*\s[A-Z][\w-]*:\s[A-Z]")


def _seams(sentence: str) -> list[str]:
    found: list[str] = []
    for m in _SEAM_OPENER.finditer(sentence):
        prev = sentence[: m.start()].split()[-1].lower().strip("’'")
        if prev not in FUNCTION_WORDS:
            found.append("opener: " + sentence[max(0, m.start() - 20) : m.end() + 10].strip())
    found += ["title: " + m.group(0) for m in _SEAM_TITLE.finditer(sentence)]
    found += ["label: " + m.group(0) for m in _SEAM_LABEL.finditer(sentence) if m.start() > 0]
    tokens = list(re.finditer(r"[\w’'-]+", sentence))
    for i in range(1, len(tokens) - 1):
        for size in (1, 2):
            if i + size >= len(tokens):
                continue
            name = [t.group(0) for t in tokens[i : i + size]]
            before, after = tokens[i - 1].group(0), tokens[i + size].group(0)
            glued = sentence[tokens[i - 1].end() : tokens[i].start()] == " "
            if not (glued and before[:1].isupper() and after[:1].islower()):
                continue
            if not all(w[:1].isupper() for w in name) or name[0] in PRONOUNS:
                continue
            j = i - 1  # the start of the capitalised run the name is glued to
            while j > 0 and tokens[j - 1].group(0)[:1].isupper():
                j -= 1
            if j == 0 or tokens[j - 1].group(0).lower() != "the":
                continue  # "his son, Louis Jordan was": a name, not "the Grand National Tindall"
            pattern = r"\b" + r"\s+".join(map(re.escape, name)) + r"\b"
            if re.search(pattern, sentence[: tokens[j].start()]):
                found.append("repeated name: " + " ".join([before, *name, after]))
    return found


def _run_on(seed: str, out: dict[str, Any]) -> list[Flag]:
    """One flag per distinct sentence of the summary and key points with a seam."""
    flags: list[Flag] = []
    seen: set[str] = set()
    for text in [out["summary"], *out["key_points"]]:
        for sentence in split_sentences(text):
            seams = _seams(sentence)
            if seams and sentence not in seen:
                seen.add(sentence)
                flags.append(Flag(seed, "summary_run_on", sentence[:60], "; ".join(seams)))
    return flags


# ------------------------------------------------------------------ the audit


def seeds() -> list[Article]:
    return [a for a in iter_articles([ROOT / "seeds"]) if isinstance(a, Article)]


def audit() -> list[Flag]:
    labels: dict[str, dict[str, str]] = json.loads(LABELS.read_text(encoding="utf-8"))
    flags: list[Flag] = []
    for article in seeds():
        seed = Path(article.source).name
        out = extractive.summarise(article.text, title=article.title)
        text = article.text
        flags += _entities(seed, out, labels)
        flags += _figures(seed, text, out)
        flags += _quotes(seed, text, out)
        flags += _dates(seed, text, out)
        flags += _run_on(seed, out)
    return flags


def counts(flags: list[Flag]) -> dict[str, int]:
    c = Counter(f.cls for f in flags)
    return {cls: c.get(cls, 0) for cls in [*CLASSES, *INFO]}


def markdown(flags: list[Flag]) -> str:
    c = counts(flags)
    lines = ["| class | errors over 21 seeds |", "| --- | ---: |"]
    lines += [f"| {cls} | {c[cls]} |" for cls in CLASSES]
    lines.append(f"| **total** | **{sum(c[cls] for cls in CLASSES)}** |")
    lines.append(f"| (unlabelled entities, not counted) | {c['entity_unlabelled']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--details", action="store_true", help="list every flagged item")
    parser.add_argument("--json", action="store_true", help="print the counts as JSON")
    args = parser.parse_args(argv)
    flags = audit()
    if args.json:
        print(json.dumps(counts(flags), indent=1))
        return
    print(markdown(flags))
    if args.details:
        for f in sorted(flags, key=lambda f: (f.cls, f.seed)):
            print(f"{f.cls}\t{f.seed}\t{f.item}\t[{f.why}]")


if __name__ == "__main__":
    main()
