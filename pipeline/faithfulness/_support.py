"""How a summary sentence stands against the source sentences it comes from: its
support (content-word coverage by the best source sentence or pair), a negation
added or dropped, and its jumps between source sentences."""

from __future__ import annotations

from pipeline.faithfulness._source import _Source
from pipeline.faithfulness._words import _NOT_ONLY, NEGATIONS, STOPWORDS, _Token

BIGRAM_WEIGHT = 0.0
"""Weight of bigram coverage (against content-word coverage) in a sentence's support."""


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
