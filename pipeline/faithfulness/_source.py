"""The source index: the source's sentences, tokens, numbers and positions, built once
per source (``_analyse``, cached), and look-ups in it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from pipeline.faithfulness._canonical import SourceForms, detokenise, source_forms
from pipeline.faithfulness._numbers import Number, _features
from pipeline.faithfulness._words import NEGATIONS, STOPWORDS, _stem, _Token
from pipeline.text import split_sentences


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
    forms: SourceForms  # how the source writes its words (casing, hyphenated words)


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
    split = split_sentences(detokenise(source).text)
    for i, text in enumerate(split):
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
        source_forms(split),
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
