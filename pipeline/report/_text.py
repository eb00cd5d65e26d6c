"""What every renderer shares: the verdict words, the rows of the per-version and differences
tables, which differences are loud (real) or quiet, the articles that changed most and the facts
shown for each, and the title and subtitle of a report."""

from __future__ import annotations

from pipeline.compare import (
    METRIC_BY_KEY,
    ArticleChange,
    Comparison,
    Metric,
    MetricDiff,
    MetricSummary,
    VersionDiff,
    format_value,
)

TOP_ARTICLES = 5

_VERDICT_WORDS = {
    "better": "better",
    "worse": "worse",
    "higher": "higher",
    "lower": "lower",
    "no_difference": "no real difference",
    "too_few": "too few articles",
    "no_data": "no data",
    "not_comparable": "not comparable",
}


def _version_cell(m: Metric, s: MetricSummary) -> str:
    if s.n == 0 or s.mean is None:
        return "n/a"
    if m.key == "latency_ms":
        return f"p50 {format_value(m, s.p50)} · p95 {format_value(m, s.p95)}"
    if m.unit == "tokens":
        return f"{format_value(m, s.mean)} avg · {format_value(m, s.total)} total"
    if m.unit == "usd":
        return f"{format_value(m, s.total)} total · {format_value(m, s.mean)} avg"
    if m.key == "summary_words":
        return f"{format_value(m, s.mean)} avg · p50 {format_value(m, s.p50)}"
    return format_value(m, s.mean)


def version_rows(c: Comparison) -> list[tuple[str, list[str]]]:
    """The per-version table as (row label, one cell per version)."""
    vs = c.versions
    rows: list[tuple[str, list[str]]] = [
        ("prompt", [f"{v.prompt or '?'} {v.prompt_version or ''}".strip() for v in vs]),
        ("model", [", ".join(v.models) or "?" for v in vs]),
        ("articles", [str(v.articles) for v in vs]),
        ("ok / failed", [f"{v.ok} / {v.failed}" for v in vs]),
        (
            "failure kinds",
            [", ".join(f"{k} {n}" for k, n in v.failure_kinds.items()) or "none" for v in vs],
        ),
        ("served from store", [str(v.cached) for v in vs]),
    ]
    for m in c.metrics:
        if m.key.startswith("rouge") and not c.references.get("given"):
            continue
        rows.append((m.label, [_version_cell(m, v.metrics[m.key]) for v in vs]))
    return rows


def short_label(c: Comparison, label: str) -> str:
    """``summarise@v2`` -> ``v2`` when every version is of the same prompt (for table headers)."""
    names = {lab.split("@", 1)[0] for lab in c.labels}
    if len(names) == 1 and all("@" in lab for lab in c.labels):
        return label.split("@", 1)[1]
    return label


def _ci(m: Metric, d: MetricDiff) -> str:
    if d.ci_low is None:
        return "n/a"
    lo = format_value(m, d.ci_low, signed=True)
    return f"[{lo}, {format_value(m, d.ci_high, signed=True)}]"


def _wtl(d: MetricDiff) -> str:
    if d.n == 0:
        return "-"
    if d.wins is None:  # neutral: how often higher / the same / lower
        return f"{d.higher}\u2191 / {d.ties}= / {d.lower}\u2193"
    return f"{d.wins} / {d.ties} / {d.losses}"


def diff_rows(c: Comparison, vd: VersionDiff) -> list[tuple[MetricDiff, list[str]]]:
    """The differences table: metric, baseline, candidate, difference, CI, W/T/L, n, verdict."""
    out = []
    for d in vd.metrics:
        m = METRIC_BY_KEY[d.metric]
        if d.metric.startswith("rouge") and not c.references.get("given"):
            continue
        verdict = _VERDICT_WORDS[d.verdict]
        if d.regression:
            verdict = "regression"
        elif d.verdict in ("higher", "lower"):
            verdict = m.more if d.verdict == "higher" else m.less
        out.append(
            (
                d,
                [
                    m.label,
                    format_value(m, d.baseline_mean),
                    format_value(m, d.candidate_mean),
                    format_value(m, d.diff, signed=True),
                    _ci(m, d),
                    _wtl(d),
                    f"{d.n}{f' ({d.excluded} excl.)' if d.excluded else ''}",
                    verdict,
                ],
            )
        )
    return out


_LOUD = ("worse", "better", "higher", "lower")


def _loud(vd: VersionDiff) -> list[MetricDiff]:
    """The real differences, regressions first."""
    return sorted(
        (d for d in vd.metrics if d.verdict in _LOUD), key=lambda d: _LOUD.index(d.verdict)
    )


def _quiet(vd: VersionDiff) -> list[tuple[str, list[MetricDiff]]]:
    """The rest, grouped: ("no real difference", [...]), ("too few articles", [...])."""
    groups = []
    for verdict in ("no_difference", "too_few", "not_comparable"):
        ds = [d for d in vd.metrics if d.verdict == verdict]
        if ds:
            groups.append((_VERDICT_WORDS[verdict], ds))
    return groups


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def verdict_heading(vd: VersionDiff) -> str:
    """The verdict's heading, counts first, so that regressions never read as a win:
    "summarise@v2 against summarise@v1: 3 regressions, 1 improvement, 12 no real difference"."""
    by = {v: sum(1 for d in vd.metrics if d.verdict == v) for v in _VERDICT_WORDS}
    parts = [
        _count(by["worse"], "regression", "regressions"),
        _count(by["better"], "improvement", "improvements"),
    ]
    if by["higher"] + by["lower"]:
        parts.append(_count(by["higher"] + by["lower"], "neutral change", "neutral changes"))
    parts.append(f"{by['no_difference']} no real difference")
    for verdict in ("too_few", "not_comparable", "no_data"):
        if by[verdict]:
            parts.append(f"{by[verdict]} {_VERDICT_WORDS[verdict]}")
    return f"{vd.candidate} against {vd.baseline}: " + ", ".join(parts)


def _top(c: Comparison, candidate: str, limit: int) -> list[ArticleChange]:
    return [a for a in c.articles if a.candidate == candidate and a.changed][:limit]


def _field_changes(a: ArticleChange) -> list[tuple[str, list[str], list[str]]]:
    return [
        (name, added, lost)
        for name, added, lost in (
            ("figures", a.figures_added, a.figures_lost),
            ("entities", a.entities_added, a.entities_lost),
            ("quotes", a.quotes_added, a.quotes_lost),
        )
        if added or lost
    ]


def _plain_changes(a: ArticleChange) -> list[str]:
    out = []
    if a.figures_reattributed:
        out.append("figure sources: " + "; ".join(a.figures_reattributed))
    shown = {"summary", "headline", "figures", "entities", "quotes"}
    other = [f for f in a.fields_changed if f not in shown]
    if other:
        out.append("also changed: " + ", ".join(other))
    return out


def _text_unchanged(a: ArticleChange) -> bool:
    return a.summary_a is not None and a.summary_a == a.summary_b


def _article_facts(a: ArticleChange) -> list[str]:
    facts = []
    if a.status_a != a.status_b:
        facts.append(f"status {a.status_a} \u2192 {a.status_b}")
    for label, status, err in (
        (a.baseline, a.status_a, a.error_a),
        (a.candidate, a.status_b, a.error_b),
    ):
        if status != "ok":
            facts.append(f"{label} failed: {err or 'unknown'}")
    faith = a.deltas.get("faithfulness")
    if faith is not None and abs(faith) >= 0.005:
        facts.append(f"faithfulness {faith:+.2f}")
    if a.similarity is not None:
        facts.append(f"{a.similarity:.0%} same words")
    return facts


def _header(c: Comparison) -> tuple[str, str]:
    others = ", ".join(c.labels[1:])
    title = f"{others} compared with {c.baseline}"
    n = c.versions[0].articles
    s = c.settings
    sub = (
        f"{n} articles, paired by input. Differences are candidate minus baseline, with a "
        f"{s.level:.0%} paired bootstrap interval ({s.resamples:,} resamples, percentile method, "
        f"seed {s.seed}); a difference is real when the interval excludes 0 "
        f"(and at least {s.min_pairs} articles pair up)."
    )
    return title, sub
