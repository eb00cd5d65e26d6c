"""The result types: per-version summaries, per-metric differences, per-article changes,
and :class:`Comparison`, whose ``to_dict`` is the JSON in the package docstring."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from pipeline import stats
from pipeline.compare._metrics import METRICS, Direction, Metric

FORMAT_VERSION = 1


@dataclass(frozen=True)
class MetricSummary:
    """One version's per-article values of one metric."""

    n: int
    mean: float | None
    p50: float | None
    p95: float | None
    total: float | None


@dataclass
class VersionMetrics:
    label: str
    prompt: str | None
    prompt_version: str | None
    prompt_sha256: list[str]
    models: list[str]
    articles: int
    ok: int
    failed: int
    cached: int
    failure_kinds: dict[str, int]
    metrics: dict[str, MetricSummary]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MetricDiff:
    metric: str
    label: str
    direction: Direction
    n: int
    excluded: int
    baseline_mean: float | None
    candidate_mean: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    higher: int
    ties: int
    lower: int
    wins: int | None
    losses: int | None
    verdict: str
    regression: bool
    sentence: str


@dataclass
class VersionDiff:
    baseline: str
    candidate: str
    metrics: list[MetricDiff]

    @property
    def regressions(self) -> list[str]:
        return [m.metric for m in self.metrics if m.regression]

    def get(self, key: str) -> MetricDiff:
        for m in self.metrics:
            if m.metric == key:
                return m
        raise KeyError(key)


@dataclass(frozen=True)
class DiffSegment:
    op: Literal["equal", "insert", "delete"]
    text: str


@dataclass
class ArticleChange:
    index: int
    article_id: str | None
    source: str | None
    title: str | None
    baseline: str
    candidate: str
    status_a: str
    status_b: str
    error_a: str | None
    error_b: str | None
    headline_a: str | None
    headline_b: str | None
    summary_a: str | None
    summary_b: str | None
    diff: list[DiffSegment]
    similarity: float | None
    figures_added: list[str]
    figures_lost: list[str]
    entities_added: list[str]
    entities_lost: list[str]
    quotes_added: list[str]
    quotes_lost: list[str]
    figures_reattributed: list[str]  # "value: old source → new source" for figures in both
    fields_changed: list[str]  # summary fields that differ (both ok), e.g. ["summary", "topics"]
    deltas: dict[str, float | None]
    changed: bool
    change_score: float


@dataclass(frozen=True)
class Settings:
    resamples: int = stats.RESAMPLES
    seed: int = 0
    level: float = stats.LEVEL
    min_pairs: int = stats.MIN_PAIRS
    percentiles: str = "nearest-rank"
    ci_method: str = "paired bootstrap, percentile"


@dataclass
class Comparison:
    baseline: str
    labels: list[str]
    settings: Settings
    versions: list[VersionMetrics]
    diffs: list[VersionDiff]
    articles: list[ArticleChange]
    references: dict[str, Any]
    prices: dict[str, str | None]
    notes: list[str] = field(default_factory=list)
    metrics: tuple[Metric, ...] = METRICS
    format_version: int = FORMAT_VERSION

    def version(self, label: str) -> VersionMetrics:
        for v in self.versions:
            if v.label == label:
                return v
        raise KeyError(label)

    def to_dict(self) -> dict[str, Any]:
        """The JSON structure documented in the module docstring."""
        return {
            "format_version": self.format_version,
            "baseline": self.baseline,
            "labels": list(self.labels),
            "settings": dataclasses.asdict(self.settings),
            "metrics": [dataclasses.asdict(m) for m in self.metrics],
            "versions": [dataclasses.asdict(v) for v in self.versions],
            "diffs": [
                {
                    "baseline": d.baseline,
                    "candidate": d.candidate,
                    "metrics": [dataclasses.asdict(m) for m in d.metrics],
                    "regressions": d.regressions,
                }
                for d in self.diffs
            ],
            "articles": [dataclasses.asdict(a) for a in self.articles],
            "references": dict(self.references),
            "prices": dict(self.prices),
            "notes": list(self.notes),
        }
