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
with none. ``regression`` is true when the verdict is ``worse``.

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
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pipeline import stats
from pipeline.errors import ConfigError
from pipeline.prices import PriceTable, default_prices
from pipeline.text import words

FORMAT_VERSION = 1

Direction = Literal["higher", "lower", "neutral"]
Scope = Literal["all", "ok"]
Unit = Literal["rate", "score", "count", "tokens", "usd", "ms", "ratio"]


class CompareError(ConfigError):
    """The runs cannot be compared (different inputs, too few versions, bad references file)."""


@dataclass(frozen=True)
class Metric:
    """One per-article metric: how to read it and which way is better.

    ``up``/``down`` finish the sentence "<candidate> ..." when the candidate is higher/lower
    ("is more faithful", "uses more input tokens"); ``more``/``less`` count the pairs of a
    neutral metric ("3 longer, 2 shorter").
    """

    key: str
    label: str
    direction: Direction
    scope: Scope
    unit: Unit
    up: str
    down: str
    tolerance: float = 0.0
    decimals: int = 2
    more: str = "higher"
    less: str = "lower"


METRICS: tuple[Metric, ...] = (
    Metric("valid", "schema-valid", "higher", "all", "rate", "is valid more often",
           "is valid less often", decimals=1),
    Metric("first_attempt_valid", "valid at first attempt", "higher", "all", "rate",
           "is valid at the first attempt more often", "is valid at the first attempt less often",
           decimals=1),
    Metric("attempts", "attempts", "lower", "all", "count", "needs more attempts",
           "needs fewer attempts"),
    Metric("faithfulness", "faithfulness", "higher", "ok", "score", "is more faithful",
           "is less faithful", 0.01),
    Metric("rouge1", "ROUGE-1 F1", "higher", "ok", "score",
           "is closer to the references (ROUGE-1)", "is further from the references (ROUGE-1)",
           0.005, 3),
    Metric("rouge2", "ROUGE-2 F1", "higher", "ok", "score",
           "is closer to the references (ROUGE-2)", "is further from the references (ROUGE-2)",
           0.005, 3),
    Metric("rougeL", "ROUGE-L F1", "higher", "ok", "score",
           "is closer to the references (ROUGE-L)", "is further from the references (ROUGE-L)",
           0.005, 3),
    Metric("summary_words", "summary length (words)", "neutral", "ok", "count", "is longer",
           "is shorter", 0.0, 1, "longer", "shorter"),
    Metric("compression", "compression ratio", "neutral", "ok", "ratio",
           "compresses more", "compresses less", 0.05, 1, "more", "less"),
    Metric("key_points", "key points", "neutral", "ok", "count", "lists more key points",
           "lists fewer key points", 0.0, 1, "more", "fewer"),
    Metric("figures", "figures", "neutral", "ok", "count", "reports more figures",
           "reports fewer figures", 0.0, 1, "more", "fewer"),
    Metric("figures_attributed", "figures attributed", "higher", "ok", "rate",
           "attributes more of its figures", "attributes fewer of its figures", 0.0, 1),
    Metric("prompt_tokens", "input tokens", "lower", "all", "tokens", "uses more input tokens",
           "uses fewer input tokens", 0.0, 0),
    Metric("completion_tokens", "output tokens", "lower", "all", "tokens",
           "uses more output tokens", "uses fewer output tokens", 0.0, 0),
    Metric("cost_usd", "cost", "lower", "all", "usd", "is more expensive", "is cheaper", 0.0, 6),
    Metric("latency_ms", "latency", "lower", "all", "ms", "is slower", "is faster", 0.0, 0),
)  # fmt: skip
METRIC_BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}


# ---------------------------------------------------------------- formatting


def format_value(metric: Metric, value: float | None, *, signed: bool = False) -> str:
    """Format a value (or, with ``signed``, a difference) of ``metric`` for people: "n/a"."""
    if value is None:
        return "n/a"
    sign = "+" if signed and value > 0 else ("-" if value < 0 else "")
    v = abs(value)
    if metric.unit == "rate":
        return f"{sign}{v * 100:.{metric.decimals}f}{' pp' if signed else '%'}"
    if metric.unit == "usd":
        if v == 0:
            return f"{sign}$0"
        digits = 2 if v >= 1 else 4 if v >= 0.01 else 6
        return f"{sign}${v:,.{digits}f}"
    if metric.unit == "ms":
        return f"{sign}{v:,.0f} ms"
    if metric.unit == "tokens":
        return f"{sign}{v:,.0f}"
    return f"{sign}{v:.{metric.decimals}f}"


# ---------------------------------------------------------------- result types


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


# ---------------------------------------------------------------- references


def load_references(path: str | Path) -> dict[str, str]:
    """Read reference summaries from a JSONL file, one object a line.

    Each line names its article with ``id``, ``article_id`` or ``source`` and holds the text in
    ``reference``, ``summary`` or ``highlights`` (a string, or a list of strings joined by
    newlines). Blank lines are skipped. The result maps every key a line gives (its ``id`` /
    ``article_id`` and its ``source``) to the reference text.

    Matching (done by :func:`build_comparison`): a record finds its reference under its
    ``article_id``, then its ``source`` as written in the record (a path), then that path's file
    name, then the article's source text itself, all compared with whitespace collapsed. So a
    references file can use the content-hash ids, the seed paths or file names, or carry the
    article text in ``source`` (as ``summarise score`` input does).

    Raises :class:`CompareError` naming the file and line for: a missing or unreadable file, a
    line that is not a JSON object, no key field, no text field, a text that is not a string, two
    lines giving one key different texts, or a file with no references.
    """
    p = Path(path)
    try:
        lines = p.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise CompareError(f"references file not found: {p} (check --references)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise CompareError(f"cannot read references file {p}: {e}") from e
    refs: dict[str, str] = {}
    where: dict[str, int] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        at = f"{p}:{lineno}"
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            raise CompareError(
                f"{at}: not valid JSON ({e.msg}); expected one object a line"
            ) from None
        if not isinstance(obj, dict):
            raise CompareError(f"{at}: expected a JSON object, got {type(obj).__name__}")
        keys = [str(obj[k]) for k in ("id", "article_id", "source") if obj.get(k) not in (None, "")]
        if not keys:
            raise CompareError(f"{at}: needs one of 'id', 'article_id' or 'source'")
        name = next((k for k in ("reference", "summary", "highlights") if k in obj), None)
        if name is None:
            raise CompareError(f"{at}: needs the text in 'reference', 'summary' or 'highlights'")
        text = obj[name]
        if isinstance(text, list) and all(isinstance(t, str) for t in text):
            text = "\n".join(text)
        if not isinstance(text, str) or not text.strip():
            raise CompareError(f"{at}: '{name}' must be a non-empty string")
        for key in keys:
            nk = _norm(key)
            if nk in refs and refs[nk] != text:
                raise CompareError(
                    f"{at}: {key[:60]!r} already has a different reference on line {where[nk]}"
                )
            refs[nk] = text
            where[nk] = lineno
    if not refs:
        raise CompareError(f"no references in {p}: expected JSONL lines with an id and a text")
    return refs


def _norm(s: str) -> str:
    return " ".join(s.split())


def match_reference(
    references: Mapping[str, str], record: Mapping[str, Any], source_text: str | None
) -> str | None:
    """The reference for ``record`` (see :func:`load_references` for the order), or None."""
    candidates: list[str] = []
    if record.get("article_id"):
        candidates.append(str(record["article_id"]))
    src = record.get("source")
    if isinstance(src, str) and src:
        candidates += [src, Path(src).name]
    if source_text:
        candidates.append(source_text)
    for c in candidates:
        ref = references.get(_norm(c))
        if ref is None:
            ref = references.get(c)
        if ref is not None:
            return ref
    return None


# ---------------------------------------------------------------- per-article values


@lru_cache(maxsize=1)
def _rouge() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)


def _num(v: Any) -> float | None:
    if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
        return None
    return float(v)


def _summary(record: Mapping[str, Any]) -> dict[str, Any] | None:
    s = record.get("summary")
    return s if record.get("status") == "ok" and isinstance(s, dict) else None


def _list(summary: Mapping[str, Any] | None, key: str) -> list[Any]:
    v = summary.get(key) if summary else None
    return v if isinstance(v, list) else []


def article_values(
    record: Mapping[str, Any],
    *,
    source_text: str | None,
    reference: str | None,
    prices: PriceTable,
) -> dict[str, float | None]:
    """Every metric of :data:`METRICS` for one record (None where it has no value)."""
    ok = record.get("status") == "ok"
    summary = _summary(record)
    attempts = _num(record.get("attempts"))
    raw_usage = record.get("usage")
    usage: Mapping[str, Any] = raw_usage if isinstance(raw_usage, dict) else {}
    pt, ct = _num(usage.get("prompt_tokens")), _num(usage.get("completion_tokens"))
    vals: dict[str, float | None] = dict.fromkeys(METRIC_BY_KEY)
    vals["valid"] = 1.0 if ok else 0.0
    vals["first_attempt_valid"] = 1.0 if ok and attempts == 1 else 0.0
    vals["attempts"] = attempts
    vals["prompt_tokens"], vals["completion_tokens"] = pt, ct
    price = prices.price_for(record.get("model"))
    if price is not None and pt is not None and ct is not None:
        vals["cost_usd"] = price.cost(int(pt), int(ct))
    else:
        vals["cost_usd"] = _num(record.get("cost_usd"))
    latency = _num(record.get("latency_ms"))
    # A record served from the store keeps the latency of the call that produced it; a cached
    # record with 0 ms was never timed, so it has no value rather than an impossible 0.
    vals["latency_ms"] = None if record.get("cached") and not latency else latency
    if summary is None:
        return vals
    checks = record.get("checks")
    if isinstance(checks, dict):
        vals["faithfulness"] = _num(checks.get("faithfulness"))
    text = _str(summary.get("summary")) or ""
    n_words = len(words(text))
    vals["summary_words"] = float(n_words)
    if source_text and n_words:
        vals["compression"] = len(words(source_text)) / n_words
    if reference is not None and text:
        scores = _rouge().score(reference, text)
        for k in ("rouge1", "rouge2", "rougeL"):
            vals[k] = float(scores[k].fmeasure)
    figures = _list(summary, "figures")
    vals["key_points"] = float(len(_list(summary, "key_points")))
    vals["figures"] = float(len(figures))
    if figures:
        vals["figures_attributed"] = sum(_attributed(f) for f in figures) / len(figures)
    return vals


def _attributed(figure: Any) -> bool:
    return isinstance(figure, dict) and bool(figure.get("source"))


# ---------------------------------------------------------------- per-article diff


def word_diff(a: str, b: str) -> tuple[list[DiffSegment], float]:
    """Word-level diff of ``a`` to ``b`` (difflib) and the similarity ratio (0..1)."""
    wa, wb = a.split(), b.split()
    sm = difflib.SequenceMatcher(None, wa, wb, autojunk=False)
    out: list[DiffSegment] = []
    for op, i1, i2, j1, j2 in sm.get_opcodes():
        if op == "equal":
            out.append(DiffSegment("equal", " ".join(wa[i1:i2])))
            continue
        if i2 > i1:
            out.append(DiffSegment("delete", " ".join(wa[i1:i2])))
        if j2 > j1:
            out.append(DiffSegment("insert", " ".join(wb[j1:j2])))
    return out, sm.ratio()


def _added_lost(a: list[str], b: list[str]) -> tuple[list[str], list[str]]:
    def key(s: str) -> str:
        return _norm(s.strip(" \"'“”‘’").lower())

    ka, kb = {key(x) for x in a}, {key(x) for x in b}
    added = list(dict.fromkeys(x for x in b if key(x) not in ka))
    lost = list(dict.fromkeys(x for x in a if key(x) not in kb))
    return added, lost


def _field(summary: Mapping[str, Any] | None, key: str, sub: str) -> list[str]:
    return [
        str(item[sub]) for item in _list(summary, key) if isinstance(item, dict) and item.get(sub)
    ]


def _reattributed(sa: Mapping[str, Any] | None, sb: Mapping[str, Any] | None) -> list[str]:
    def sources(summary: Mapping[str, Any] | None) -> dict[str, str | None]:
        out: dict[str, str | None] = {}
        for f in _list(summary, "figures"):
            if isinstance(f, dict) and isinstance(f.get("value"), str):
                out.setdefault(_norm(f["value"].lower()), _str(f.get("source")) or None)
        return out

    a_src, b_src = sources(sa), sources(sb)
    shown = {_norm(str(f["value"]).lower()): str(f["value"]) for f in _list(sb, "figures")
             if isinstance(f, dict) and f.get("value")}  # fmt: skip
    return [
        f"{shown.get(k, k)}: {a_src[k] or 'unattributed'} \u2192 {b_src[k] or 'unattributed'}"
        for k in b_src
        if k in a_src and _norm((a_src[k] or "").lower()) != _norm((b_src[k] or "").lower())
    ]


def _error_kind(record: Mapping[str, Any]) -> str | None:
    err = record.get("error")
    return str(err.get("kind")) if isinstance(err, dict) and err.get("kind") else None


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def article_change(
    index: int,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    va: Mapping[str, float | None],
    vb: Mapping[str, float | None],
    *,
    baseline: str,
    candidate: str,
) -> ArticleChange:
    """How record ``b`` (candidate) differs from record ``a`` (baseline) for one input."""
    sa, sb = _summary(a), _summary(b)
    ta = _str(sa.get("summary")) if sa else None
    tb = _str(sb.get("summary")) if sb else None
    segments: list[DiffSegment] = []
    similarity: float | None = None
    if ta is not None and tb is not None:  # a diff against a failure says nothing
        segments, similarity = word_diff(ta, tb)
    fig_add, fig_lost = _added_lost(_field(sa, "figures", "value"), _field(sb, "figures", "value"))
    ent_add, ent_lost = _added_lost(_field(sa, "entities", "name"), _field(sb, "entities", "name"))
    q_add, q_lost = _added_lost(_field(sa, "quotes", "text"), _field(sb, "quotes", "text"))
    deltas = {
        k: (vb[k] - va[k]) if va.get(k) is not None and vb.get(k) is not None else None  # type: ignore[operator]
        for k in METRIC_BY_KEY
    }
    status_a, status_b = str(a.get("status")), str(b.get("status"))
    reattributed = _reattributed(sa, sb)
    n_fields = sum(map(len, (fig_add, fig_lost, ent_add, ent_lost, q_add, q_lost, reattributed)))
    headline_a = _str(sa.get("headline")) if sa else None
    headline_b = _str(sb.get("headline")) if sb else None
    fields_changed = (
        [k for k in dict.fromkeys([*sa, *sb]) if sa.get(k) != sb.get(k)] if sa and sb else []
    )
    changed = status_a != status_b or bool(fields_changed) or _error_kind(a) != _error_kind(b)
    score = (10.0 if status_a != status_b else 0.0) + (
        (1 - similarity) if similarity is not None else 0.0
    )
    score += abs(deltas["faithfulness"] or 0.0) + 0.05 * n_fields + 0.01 * len(fields_changed)
    return ArticleChange(
        index=index,
        article_id=_str(b.get("article_id")) or _str(a.get("article_id")),
        source=_str(b.get("source")) or _str(a.get("source")),
        title=_str(b.get("title")) or _str(a.get("title")),
        baseline=baseline,
        candidate=candidate,
        status_a=status_a,
        status_b=status_b,
        error_a=_error_kind(a),
        error_b=_error_kind(b),
        headline_a=headline_a,
        headline_b=headline_b,
        summary_a=ta,
        summary_b=tb,
        diff=segments,
        similarity=similarity,
        figures_added=fig_add,
        figures_lost=fig_lost,
        entities_added=ent_add,
        entities_lost=ent_lost,
        quotes_added=q_add,
        quotes_lost=q_lost,
        figures_reattributed=reattributed,
        fields_changed=fields_changed,
        deltas=deltas,
        changed=changed,
        change_score=round(score, 6),
    )


# ---------------------------------------------------------------- aggregation


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
) -> Comparison:
    """Compare every run with the first one (the baseline). See the module docstring.

    ``runs`` maps a version label to its records in input order; ``sources`` maps article_id to
    the article text (for compression and reference matching); ``references`` is what
    :func:`load_references` returns; ``prices`` defaults to :func:`pipeline.prices.default_prices`.
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
                    _metric_diff(m, values[base], values[label], candidate=label, settings=settings)
                    for m in METRICS
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


def _metric(key: str) -> Metric:
    try:
        return METRIC_BY_KEY[key]
    except KeyError:
        known = ", ".join(METRIC_BY_KEY)
        raise CompareError(f"unknown metric {key!r}; choose one of: {known}") from None


def regressions(comparison: Comparison, metric: str) -> list[MetricDiff]:
    """The candidates' differences on ``metric`` that are regressions (worse beyond the CI).

    Raises :class:`CompareError` for an unknown metric name; a neutral metric never regresses.
    """
    _metric(metric)
    return [d.get(metric) for d in comparison.diffs if d.get(metric).regression]


def fails_gate(comparison: Comparison, metric: str) -> bool:
    """True when some candidate is worse than the baseline on ``metric`` beyond the 95% CI.

    For ``--fail-on-regression METRIC``: no data or too few pairs is not a failure (the report
    says so in the verdict line).
    """
    return bool(regressions(comparison, metric))
