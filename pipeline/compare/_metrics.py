"""What is measured: the metric table (:data:`METRICS`), how a value is shown
(:func:`format_value`), and every metric's value for one record (:func:`article_values`)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from pipeline.errors import ConfigError
from pipeline.prices import PriceTable
from pipeline.text import words

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


def _spelling(name: str) -> str:
    return " ".join(re.sub(r"[-_]+", " ", name.lower()).split())


def resolve_metric(name: str) -> Metric:
    """A metric by the name the report shows ("input tokens", "ROUGE-1 F1", "latency") or by
    its key ("prompt_tokens"); case, ``-``, ``_`` and spaces do not matter."""
    want = _spelling(name)
    for m in METRICS:
        if want in (_spelling(m.key), _spelling(m.label)):
            return m
    shown = ", ".join(repr(m.label) for m in METRICS)
    raise CompareError(
        f"unknown metric {name!r}: use a name the report shows ({shown}), "
        f"in quotes when it has spaces, e.g. --fail-on-regression 'input tokens'"
    )


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


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None
