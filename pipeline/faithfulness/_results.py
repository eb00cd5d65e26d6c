"""The result types and one unit's score: ``FUSION`` and ``PENALTY`` turn a unit's
jumps and issues into its score (:func:`_unit`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

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


def _unit(kind: str, text: str, support: float, issues: list[Issue], jumps: int = 0) -> UnitScore:
    value = FUSION**jumps
    for issue in issues:
        value *= PENALTY.get(issue.kind, 1.0)
    return UnitScore(kind, text, round(support, 4), round(value, 4), issues, jumps)
