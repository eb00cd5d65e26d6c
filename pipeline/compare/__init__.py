"""Compare prompt versions over the same articles: metrics, paired differences, per-article diffs.

Input: for each version label (``"summarise@v1"``, ``"summarise@v2"``, ...) the list of output
records (DESIGN.md, "The output record") from running that version over **the same input
list**. The first label is the baseline; every other label is compared with it. Records are
paired by position (record ``i`` of every run came from input ``i``), never by ``article_id``,
which repeats when two inputs hold the same text. Runs of different lengths, or with different
``article_id`` at the same position, are a :class:`CompareError`.

Entry points: :func:`build_comparison`, :func:`load_references`, :func:`regressions`,
:func:`fails_gate`; prices live in :mod:`pipeline.prices`, statistics in :mod:`pipeline.stats`,
renderers in :mod:`pipeline.report`.

Metrics (:data:`METRICS`), one value per article and version:

=====================  ===========  ======  =================================================
key                    better       scope   per-article value
=====================  ===========  ======  =================================================
valid                  higher       all     1 if status is ok, else 0
first_attempt_valid    higher       all     1 if ok with attempts == 1, else 0
attempts               lower        all     attempts (failed records count theirs)
faithfulness           higher       ok      checks.faithfulness (absent/null: no value)
rouge1/rouge2/rougeL   higher       ok      ROUGE F1 (rouge-score, use_stemmer=True) of
                                            summary.summary against the reference
summary_words          neutral      ok      words in summary.summary
compression            neutral      ok      source words / summary words
key_points, figures    neutral      ok      items in summary.key_points / summary.figures
figures_attributed     higher       ok      share of figures whose source is not null
                                            (no value when the summary has no figures)
prompt_tokens,         lower        all     usage.prompt_tokens / usage.completion_tokens
completion_tokens                           (every attempt, as the engine counts them)
cost_usd               lower        all     from the price table and usage; the record's own
                                            cost_usd only when the table has no price
latency_ms             lower        all     latency_ms (a record served from the store
                                            keeps its original call's; 0 there: no value)
=====================  ===========  ======  =================================================

Failed records. A failed article is a failure of that version, never a missing row: it scores
0 on ``valid`` and ``first_attempt_valid`` and keeps its attempts, tokens, cost and latency.
Quality metrics (scope ``ok``) are *excluded* for a failed record, not scored 0: validity
already counts the failure, and a 0 would mix "could not summarise" into "summarised
unfaithfully" and let a few failures swamp the quality signal. To keep the comparison fair the
paired difference of an ``ok``-scope metric uses only the articles **both** versions
summarised; the number left out is shown (``excluded``). Per-version summaries use each
version's own ok records.

Per-version figures (:class:`VersionMetrics`): for each metric the count, mean, p50 and p95
(nearest rank) and total of the per-article values (so ``figures_attributed`` is the mean share
over articles that report figures, the same quantity the paired difference uses).

Differences (:class:`MetricDiff`): mean of candidate minus baseline over the pairs, its paired
bootstrap 95% interval (:mod:`pipeline.stats`: 10,000 resamples, percentile method, seeded), and
wins/ties/losses with the metric's tolerance. ``verdict`` is ``better``/``worse`` (or
``higher``/``lower`` for neutral metrics) when the interval excludes 0, ``no_difference``
otherwise, ``too_few`` with fewer than :data:`pipeline.stats.MIN_PAIRS` pairs, ``no_data``
with none, and for latency ``not_comparable`` when its values were measured under different
conditions (:mod:`._timing`: concurrency, endpoint or day differ). ``regression`` is true when
the verdict is ``worse``. Latency leaves out warm-up: the first ``concurrency`` articles each
version asked in the comparing run (``timings`` from :func:`pipeline.runner.run_versions`).
Metrics are named by key or by the label the reports show (:func:`resolve_metric`).

JSON (``Comparison.to_dict()``; ``summarise compare --format json``)::

    {
      "format_version": 1,
      "baseline": "summarise@v1",
      "labels": ["summarise@v1", "summarise@v2"],
      "settings": {"resamples": 10000, "seed": 0, "level": 0.95, "min_pairs": 5,
                   "percentiles": "nearest-rank", "ci_method": "paired bootstrap, percentile"},
      "metrics": [{"key", "label", "direction": "higher|lower|neutral", "scope": "all|ok",
                   "tolerance", "unit", "decimals"}, ...],
      "versions": [{"label", "prompt", "prompt_version", "prompt_sha256": [..], "models": [..],
                    "articles", "ok", "failed", "cached", "failure_kinds": {kind: count},
                    "metrics": {key: {"n", "mean", "p50", "p95", "total"}},
                    "notes": [..]}, ...],
      "diffs": [{"baseline", "candidate",
                 "metrics": [{"metric", "label", "direction", "n", "excluded",
                              "baseline_mean", "candidate_mean", "diff", "ci_low", "ci_high",
                              "higher", "ties", "lower", "wins", "losses",
                              "verdict", "regression", "sentence"}, ...],
                 "regressions": [metric key, ...]}, ...],
      "articles": [{"index", "article_id", "source", "title", "baseline", "candidate",
                    "status_a", "status_b", "error_a", "error_b",
                    "headline_a", "headline_b", "summary_a", "summary_b",
                    "diff": [{"op": "equal|insert|delete", "text"}] (empty unless both ok),
                    "similarity",
                    "figures_added", "figures_lost", "entities_added", "entities_lost",
                    "quotes_added", "quotes_lost",
                    "figures_reattributed": ["value: old source → new source"],
                    "fields_changed": [summary field, ...], "deltas": {key: number|null},
                    "changed", "change_score"}, ...],
      "references": {"given": bool, "matched": int, "articles": int},
      "prices": {"taken", "note"},
      "notes": [..]
    }

``wins``/``losses`` are null for neutral metrics (use ``higher``/``lower``). Articles are listed
per candidate, most changed first (``change_score``).

Modules: ``_metrics`` (the metric table, formatting, each record's values, names),
``_timing`` (where a latency was measured, warm-up, comparability), ``_results``
(the result types; ``Comparison.to_dict`` is the JSON above), ``_references`` (loading and
matching references), ``_diff`` (how one article's summary changed) and ``_build``
(aggregation, :func:`build_comparison`, the CI gate).
"""

from __future__ import annotations

from pipeline.compare._build import build_comparison, fails_gate, regressions, sentence
from pipeline.compare._diff import article_change, word_diff
from pipeline.compare._metrics import (
    METRIC_BY_KEY,
    METRICS,
    CompareError,
    Direction,
    Metric,
    Scope,
    Unit,
    article_values,
    format_value,
    resolve_metric,
)
from pipeline.compare._references import load_references, match_reference
from pipeline.compare._results import (
    FORMAT_VERSION,
    ArticleChange,
    Comparison,
    DiffSegment,
    MetricDiff,
    MetricSummary,
    Settings,
    VersionDiff,
    VersionMetrics,
)
from pipeline.compare._timing import Timing, latency_check, timing_of

__all__ = [
    "FORMAT_VERSION",
    "METRICS",
    "METRIC_BY_KEY",
    "ArticleChange",
    "CompareError",
    "Comparison",
    "DiffSegment",
    "Direction",
    "Metric",
    "MetricDiff",
    "MetricSummary",
    "Scope",
    "Settings",
    "Timing",
    "Unit",
    "VersionDiff",
    "VersionMetrics",
    "article_change",
    "article_values",
    "build_comparison",
    "fails_gate",
    "format_value",
    "load_references",
    "match_reference",
    "latency_check",
    "regressions",
    "resolve_metric",
    "sentence",
    "timing_of",
    "word_diff",
]
