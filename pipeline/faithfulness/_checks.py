"""The checks, one per kind of unit: a sentence (support, numbers, entities,
negation, quotes, attribution, jumps), a figure, a quote, an entity or date."""

from __future__ import annotations

import re

from pipeline.faithfulness._names import (
    _attribution_subject,
    _entity_spans,
    _name_near,
)
from pipeline.faithfulness._numbers import _features, _number_supported, parse_numbers
from pipeline.faithfulness._results import Issue, UnitScore, _unit
from pipeline.faithfulness._source import _bigrams, _find_sequence, _Source, _window_tokens
from pipeline.faithfulness._summary import _Segment
from pipeline.faithfulness._support import _best_support, _jumps, _negation_flip
from pipeline.faithfulness._words import NEGATIONS, STOPWORDS, _tokens

LOW_SUPPORT = 0.5
"""A sentence whose support is below this is unsupported as a whole."""


_QUOTE_RE = re.compile(
    r"[\"“”„]([^\"“”„]{3,}?)[\"“”]"  # double quotes
    r"|(?:(?<=^)|(?<=[\s(\[:,—-]))[‘'`]([^‘’'`]{3,}?[^\s‘’'`])[’'](?=$|[\s.,;:!?)\]—-])"
)


def _quote_tokens(text: str) -> list[str]:
    return [t.norm for t in _tokens(text)]


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
