"""Ranking: score sentences (position, centrality, title overlap, penalties) and pick the
summary, the headline and the key points."""

from __future__ import annotations

import math
from collections import Counter

from pipeline.extractive._sentences import _Sentence
from pipeline.extractive._words import _content_terms, _trim_words

_SUMMARY_MAX = 1200
_HEADLINE_MAX = 200
_KEY_POINT_MAX = 400

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
