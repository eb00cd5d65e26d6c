"""Building a comparison: each version's figures, each metric's paired difference and
verdict, :func:`build_comparison`, and the CI gate (:func:`regressions`, :func:`fails_gate`)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any

from pipeline import stats
from pipeline.compare._diff import _error_kind, article_change
from pipeline.compare._metrics import (
    METRICS,
    CompareError,
    Metric,
    _str,
    article_values,
    format_value,
    resolve_metric,
)
from pipeline.compare._references import match_reference
from pipeline.compare._results import (
    ArticleChange,
    Comparison,
    MetricDiff,
    MetricSummary,
    Settings,
    VersionDiff,
    VersionMetrics,
)
from pipeline.compare._timing import Timing, latency_check, timing_of
from pipeline.prices import PriceTable, default_prices


def _version_metrics(
    label: str, records: Sequence[Mapping[str, Any]], values: list[dict[str, float | None]]
) -> VersionMetrics:
    ok = sum(1 for r in records if r.get("status") == "ok")
    kinds = Counter(k for r in records if (k := _error_kind(r)) and r.get("status") != "ok")
    summaries: dict[str, MetricSummary] = {}
    for m in METRICS:
        present = [x for v in values if (x := v[m.key]) is not None]
        d = stats.Distribution.of(present)
        total = sum(present) if present else None
        summaries[m.key] = MetricSummary(d.n, d.mean, d.p50, d.p95, total)
    notes: list[str] = []
    unpriced = sorted(
        {str(r.get("model")) for r, v in zip(records, values, strict=True) if v["cost_usd"] is None}
    )
    if unpriced:
        notes.append(
            f"no price for model {', '.join(unpriced)}: cost is n/a for those records "
            "(pass --prices FILE)"
        )
    if ok and summaries["faithfulness"].n == 0:
        notes.append("faithfulness not scored in these records")
    first = records[0] if records else {}
    return VersionMetrics(
        label=label,
        prompt=_str(first.get("prompt")),
        prompt_version=_str(first.get("prompt_version")),
        prompt_sha256=sorted({str(r["prompt_sha256"]) for r in records if r.get("prompt_sha256")}),
        models=sorted({str(r["model"]) for r in records if r.get("model")}),
        articles=len(records),
        ok=ok,
        failed=len(records) - ok,
        cached=sum(1 for r in records if r.get("cached")),
        failure_kinds=dict(sorted(kinds.items())),
        metrics=summaries,
        notes=notes,
    )


def _metric_diff(
    m: Metric,
    a_vals: list[dict[str, float | None]],
    b_vals: list[dict[str, float | None]],
    *,
    candidate: str,
    settings: Settings,
) -> MetricDiff:
    a: list[float] = []
    b: list[float] = []
    for va, vb in zip(a_vals, b_vals, strict=True):
        x, y = va[m.key], vb[m.key]
        if x is not None and y is not None:
            a.append(x)
            b.append(y)
    ci = stats.paired_bootstrap(
        a, b, resamples=settings.resamples, seed=settings.seed, level=settings.level
    )
    wtl = stats.win_tie_loss(a, b, tolerance=m.tolerance)
    raw = stats.verdict(ci, min_pairs=settings.min_pairs)
    verdict: str = raw
    if not a:
        verdict = "no_data"
    elif m.direction != "neutral" and raw in ("higher", "lower"):
        verdict = "better" if (raw == "higher") == (m.direction == "higher") else "worse"
    wins = losses = None
    if m.direction == "higher":
        wins, losses = wtl.higher, wtl.lower
    elif m.direction == "lower":
        wins, losses = wtl.lower, wtl.higher
    d = MetricDiff(
        metric=m.key,
        label=m.label,
        direction=m.direction,
        n=len(a),
        excluded=len(a_vals) - len(a),
        baseline_mean=stats.mean(a),
        candidate_mean=stats.mean(b),
        diff=ci.mean_diff,
        ci_low=ci.low,
        ci_high=ci.high,
        higher=wtl.higher,
        ties=wtl.tie,
        lower=wtl.lower,
        wins=wins,
        losses=losses,
        verdict=verdict,
        regression=verdict == "worse",
        sentence="",
    )
    return dataclasses.replace(d, sentence=sentence(m, d, candidate=candidate))


def _not_comparable(d: MetricDiff, why: str) -> MetricDiff:
    return dataclasses.replace(
        d,
        verdict="not_comparable",
        regression=False,
        sentence=f"{d.label} not comparable: {why}",
    )


def sentence(m: Metric, d: MetricDiff, *, candidate: str) -> str:
    """The verdict line, e.g. "v2 is more faithful: +0.06 [+0.02, +0.10], 14 wins, 3 losses"."""
    if d.verdict == "no_data":
        return f"{m.label}: no data (no article has a value in both versions)"
    ci = (
        f"{format_value(m, d.diff, signed=True)} "
        f"[{format_value(m, d.ci_low, signed=True)}, {format_value(m, d.ci_high, signed=True)}]"
    )
    if d.wins is not None:
        counts = f"{d.wins} wins, {d.losses} losses, {d.ties} ties"
    else:
        counts = f"{d.higher} {m.more}, {d.lower} {m.less}, {d.ties} same"
    counts += f" (n={d.n})"
    if d.verdict == "too_few":
        return f"too few articles to judge {m.label}: {ci}, {counts}"
    if d.verdict == "no_difference":
        return f"no real difference in {m.label}: {ci}, {counts}"
    phrase = m.up if d.diff is not None and d.diff > 0 else m.down
    return f"{candidate} {phrase}: {ci}, {counts}"


def build_comparison(
    runs: Mapping[str, Sequence[Mapping[str, Any]]],
    *,
    sources: Mapping[str, str],
    references: Mapping[str, str] | None = None,
    prices: PriceTable | None = None,
    seed: int = 0,
    resamples: int = stats.RESAMPLES,
    min_pairs: int = stats.MIN_PAIRS,
    timings: Mapping[str, Sequence[Timing]] | None = None,
) -> Comparison:
    """Compare every run with the first one (the baseline). See the module docstring.

    ``runs`` maps a version label to its records in input order; ``sources`` maps article_id to
    the article text (for compression and reference matching); ``references`` is what
    :func:`load_references` returns; ``prices`` defaults to :func:`pipeline.prices.default_prices`.
    ``timings`` (from :func:`pipeline.runner.run_versions`) says where each record's latency
    was measured: warm-up is left out, and latencies measured under different conditions get
    the verdict ``not_comparable``; without it each record's day is read from ``created_at``.
    """
    labels = list(runs)
    if len(labels) < 2:
        raise CompareError("compare needs at least two versions (a baseline and a candidate)")
    lengths = {label: len(runs[label]) for label in labels}
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise CompareError(f"the runs cover different numbers of articles ({shown}); "
                           "run every version over the same inputs")  # fmt: skip
    base_records = runs[labels[0]]
    for label in labels[1:]:
        for i, (ra, rb) in enumerate(zip(base_records, runs[label], strict=True)):
            ida, idb = ra.get("article_id"), rb.get("article_id")
            if ida and idb and ida != idb:
                raise CompareError(
                    f"record {i + 1} is article {ida} in {labels[0]} but {idb} in {label}; "
                    "run every version over the same inputs in the same order"
                )
    table = prices if prices is not None else default_prices()
    settings = Settings(resamples=resamples, seed=seed, min_pairs=min_pairs)
    refs = references or {}
    matched = 0
    ref_for: list[str | None] = []
    for i, r in enumerate(base_records):
        text = sources.get(str(r.get("article_id")))
        ref = match_reference(refs, r, text) if refs else None
        if ref is None and refs:
            for label in labels[1:]:
                other = runs[label][i]
                ref = match_reference(refs, other, sources.get(str(other.get("article_id"))))
                if ref is not None:
                    break
        matched += ref is not None
        ref_for.append(ref)
    values: dict[str, list[dict[str, float | None]]] = {}
    for label in labels:
        values[label] = [
            article_values(
                r, source_text=sources.get(str(r.get("article_id"))), reference=ref, prices=table
            )
            for r, ref in zip(runs[label], ref_for, strict=True)
        ]
    times = {
        label: list(timings[label]) if timings else [timing_of(r) for r in runs[label]]
        for label in labels
    }
    warm = 0
    for label in labels:
        for v, t in zip(values[label], times[label], strict=True):
            if t.warmup and v["latency_ms"] is not None:
                v["latency_ms"] = None
                warm += 1
    not_comparable = latency_check(
        times, {label: [v["latency_ms"] is not None for v in values[label]] for label in labels}
    )
    versions = [_version_metrics(label, runs[label], values[label]) for label in labels]
    diffs: list[VersionDiff] = []
    articles: list[ArticleChange] = []
    base = labels[0]
    for label in labels[1:]:
        diffs.append(
            VersionDiff(
                base,
                label,
                [
                    _not_comparable(d, not_comparable)
                    if d.metric == "latency_ms" and not_comparable
                    else d
                    for d in (
                        _metric_diff(
                            m, values[base], values[label], candidate=label, settings=settings
                        )
                        for m in METRICS
                    )
                ],
            )
        )
        changes = [
            article_change(i, ra, rb, va, vb, baseline=base, candidate=label)
            for i, (ra, rb, va, vb) in enumerate(
                zip(runs[base], runs[label], values[base], values[label], strict=True)
            )
        ]
        changes.sort(key=lambda c: (-c.change_score, c.index))
        articles.extend(changes)
    notes: list[str] = []
    n = lengths[base]
    if refs and matched < n:
        notes.append(f"references matched {matched} of {n} articles; ROUGE uses those only")
    if not refs:
        notes.append("no references given: ROUGE not computed (pass --references FILE)")
    if warm:
        notes.append(
            f"latency leaves out each version's first requests of this run (warm-up): "
            f"{warm} record(s)"
        )
    if not_comparable:
        notes.append(
            f"latency is not comparable: {not_comparable}; run the versions together "
            "(summarise compare ... --force) to compare it"
        )
    if 0 < n < min_pairs:
        notes.append(f"only {n} articles: verdicts need at least {min_pairs} paired articles")
    return Comparison(
        baseline=base,
        labels=labels,
        settings=settings,
        versions=versions,
        diffs=diffs,
        articles=articles,
        references={"given": bool(refs), "matched": matched, "articles": n},
        prices={"taken": table.taken, "note": table.note},
        notes=notes,
    )


# ---------------------------------------------------------------- CI gate


def regressions(comparison: Comparison, metric: str) -> list[MetricDiff]:
    """The candidates' differences on ``metric`` that are regressions (worse beyond the CI).

    ``metric`` is a key or the name the report shows (:func:`resolve_metric`). Raises
    :class:`CompareError` for an unknown metric name; a neutral metric never regresses, and
    neither does one whose verdict is ``not_comparable``.
    """
    key = resolve_metric(metric).key
    return [d.get(key) for d in comparison.diffs if d.get(key).regression]


def fails_gate(comparison: Comparison, metric: str) -> bool:
    """True when some candidate is worse than the baseline on ``metric`` beyond the 95% CI.

    For ``--fail-on-regression METRIC``: no data or too few pairs is not a failure (the report
    says so in the verdict line).
    """
    return bool(regressions(comparison, metric))
