"""How well does :func:`pipeline.faithfulness.score` agree with SummEval's experts?

Summary-level correlation as G-Eval (Liu et al., 2023) Table 1 computes it: for each
of the 100 SummEval articles, Spearman's rho and Kendall's tau-b between a metric and
the experts' mean *consistency* over the article's 16 system summaries, then the mean
over articles. An article where either side is constant has no correlation (NaN) and
is skipped; the table says how many.

The split is fixed so the number is not fitted: articles sorted by id, the first 50 are
``dev`` (the scorer was tuned on them), the last 50 are ``held-out``.

Two inputs, the same 1,600 summaries spelt two ways (``INPUTS``):

- ``original``: ``summary_original_tokenized``, the systems' outputs as SummEval released
  them, lower-cased and Penn-Treebank tokenised ("his team 's 0-0 draw with burnley .").
  **The published figures were computed on these**: G-Eval's ``data/summeval.json``
  ``system_output`` and the SummEval copies UniEval and BARTScore evaluate hold this text.
- ``cased``: ``summary``, THumB's detokenised and truecased copy of the same outputs
  (Kasai et al., 2022). Its casing is THumB's, not the systems': it has errors of its own
  ("The Young Lions Face Holland").

Baselines are computed with the same code on the same input, so the comparison is like
for like: ROUGE-1 precision of the summary against the source (rouge-score, stemmed), and
the summary's bigram / trigram copy rate (share of its n-grams found in the source).
The published anchors (G-Eval Table 1, consistency, Spearman) are printed alongside.
:func:`intervals` gives 95% bootstrap intervals over articles of our mean rho and of its
paired difference from each baseline (the published scores have no per-article values
here, so they cannot be paired).

Run from the repo root: ``python -m benchmarks.faithfulness_eval`` (``--input`` picks
``original`` or ``cased``, default both; ``--limit N`` scores only the first N articles,
``--speed`` also times the scorer, ``--ablations`` adds the scorer without its splice
risk and the splice count alone). :func:`invariance` shows how much respelling a summary
(lower case, capitals, the original tokenised text) moves its score. No scipy: rank
correlations are implemented here (average ranks for ties; tau-b).
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from pipeline import faithfulness, stats
from pipeline.faithfulness import _results as faithfulness_results

DATA = Path(__file__).resolve().parent / "data"

ANCHORS: dict[str, float] = {
    "ROUGE-1 (vs reference)": 0.160,
    "BERTScore": 0.110,
    "BARTScore": 0.382,
    "UniEval": 0.446,
    "G-Eval (GPT-4)": 0.507,
}
"""Published summary-level Spearman with SummEval consistency (G-Eval Table 1)."""


@dataclass(frozen=True, slots=True)
class Item:
    article_id: str
    system: str
    summary: str
    consistency: float


INPUTS: dict[str, str] = {
    "original": "summary_original_tokenized",
    "cased": "summary",
}
"""Input name -> the annotation field holding the summary text (see the module docstring)."""
PUBLISHED_INPUT = "original"


@lru_cache(maxsize=2)
def load(field: str = "summary") -> tuple[dict[str, str], dict[str, list[Item]]]:
    """(article text by id, the 16 scored summaries by article id), the summary text taken
    from ``field`` (a value of :data:`INPUTS`)."""
    with gzip.open(DATA / "summeval_articles.jsonl.gz", "rt", encoding="utf-8") as f:
        articles = {row["id"]: row["article"] for row in map(json.loads, f)}
    items: dict[str, list[Item]] = {}
    with gzip.open(DATA / "summeval_annotations.jsonl.gz", "rt", encoding="utf-8") as f:
        for row in map(json.loads, f):
            if not row.get("in_summeval_1600"):
                continue
            item = Item(row["id"], row["system"], row[field], float(row["consistency"]))
            items.setdefault(row["id"], []).append(item)
    missing = set(items) - set(articles)
    if missing:
        raise SystemExit(f"{len(missing)} annotated articles have no text in summeval_articles")
    return articles, items


def splits(limit: int | None = None) -> dict[str, list[str]]:
    """``full``, ``dev`` (first 50 ids in sorted order) and ``held-out`` (the rest)."""
    _, items = load()
    ids = sorted(items)
    if limit is not None:
        ids = ids[:limit]
    half = len(sorted(items)) // 2
    everything = sorted(items)
    dev = [i for i in ids if i in set(everything[:half])]
    held = [i for i in ids if i in set(everything[half:])]
    return {"full": ids, "dev": dev, "held-out": held}


# ----------------------------------------------------------------------- rank statistics


def ranks(xs: Sequence[float]) -> list[float]:
    """1-based ranks, ties given their average rank."""
    order = sorted(range(len(xs)), key=lambda i: xs[i])
    out = [0.0] * len(xs)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and xs[order[j + 1]] == xs[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return math.nan
    return sxy / math.sqrt(sxx * syy)


def spearman(xs: Sequence[float], ys: Sequence[float]) -> float:
    return pearson(ranks(xs), ranks(ys))


def kendall_tau_b(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    concordant = discordant = ties_x = ties_y = 0
    for i in range(n):
        for j in range(i + 1, n):
            dx = xs[i] - xs[j]
            dy = ys[i] - ys[j]
            if dx == 0 and dy == 0:
                continue
            if dx == 0:
                ties_x += 1
            elif dy == 0:
                ties_y += 1
            elif (dx > 0) == (dy > 0):
                concordant += 1
            else:
                discordant += 1
    denom = math.sqrt((concordant + discordant + ties_x) * (concordant + discordant + ties_y))
    if denom == 0:
        return math.nan
    return (concordant - discordant) / denom


# ----------------------------------------------------------------------- metrics

Metric = Callable[[str, str], float]


def ours(source: str, summary: str) -> float:
    return faithfulness.score(source, summary).faithfulness


_WORD = re.compile(r"\w+")


@lru_cache(maxsize=256)
def _source_ngrams(source: str, n: int) -> frozenset[tuple[str, ...]]:
    toks = _WORD.findall(source.lower())
    return frozenset(zip(*(toks[i:] for i in range(n)), strict=False))


def copy_rate(n: int) -> Metric:
    """The share of the summary's n-grams (lower-cased words) found in the source."""

    def metric(source: str, summary: str) -> float:
        toks = _WORD.findall(summary.lower())
        grams = list(zip(*(toks[i:] for i in range(n)), strict=False))
        if not grams:
            return 0.0
        have = _source_ngrams(source, n)
        return sum(g in have for g in grams) / len(grams)

    return metric


def rouge1_precision(source: str, summary: str) -> float:
    """ROUGE-1 precision of the summary against the source (rouge-score, Porter stemmer)."""
    return float(_rouge_scorer().score(source, summary)["rouge1"].precision)


@lru_cache(maxsize=1)
def _rouge_scorer() -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rouge1"], use_stemmer=True)


def ours_without_splices(source: str, summary: str) -> float:
    """Ablation: the checks alone (``FUSION = 1``: splices between source sentences are free)."""
    saved = faithfulness_results.FUSION  # set where it is read: the package only re-exports it
    faithfulness_results.FUSION = 1.0
    try:
        return faithfulness.score(source, summary).faithfulness
    finally:
        faithfulness_results.FUSION = saved


def splices_only(source: str, summary: str) -> float:
    """Ablation: minus the number of jumps between source sentences, no other check."""
    return -float(sum(u.jumps for u in faithfulness.score(source, summary).units))


ABLATIONS: dict[str, Metric] = {
    "ablation: checks without splices": ours_without_splices,
    "ablation: splice count only": splices_only,
}

METRICS: dict[str, Metric] = {
    "faithfulness (ours)": ours,
    "ROUGE-1 precision vs source": rouge1_precision,
    "bigram copy rate": copy_rate(2),
    "trigram copy rate": copy_rate(3),
}


# ----------------------------------------------------------------------- evaluation


def metric_scores(
    metric: Metric, ids: Sequence[str], field: str = "summary"
) -> dict[str, list[float]]:
    articles, items = load(field)
    return {i: [metric(articles[i], it.summary) for it in items[i]] for i in ids}


def article_rhos(scores: dict[str, list[float]], ids: Sequence[str]) -> dict[str, float]:
    """Per-article Spearman over ``ids``; articles where either side is constant left out."""
    _, items = load()  # consistency scores are the same whatever the input field
    out: dict[str, float] = {}
    for i in ids:
        rho = spearman(scores[i], [it.consistency for it in items[i]])
        if not math.isnan(rho):
            out[i] = rho
    return out


def correlate(scores: dict[str, list[float]], ids: Sequence[str]) -> dict[str, Any]:
    """Mean per-article Spearman and Kendall tau-b over ``ids``, NaN articles skipped."""
    _, items = load()
    rhos: list[float] = []
    taus: list[float] = []
    skipped = 0
    for i in ids:
        human = [it.consistency for it in items[i]]
        rho = spearman(scores[i], human)
        tau = kendall_tau_b(scores[i], human)
        if math.isnan(rho) or math.isnan(tau):
            skipped += 1
            continue
        rhos.append(rho)
        taus.append(tau)
    return {
        "spearman": sum(rhos) / len(rhos) if rhos else math.nan,
        "kendall": sum(taus) / len(taus) if taus else math.nan,
        "articles": len(rhos),
        "skipped": skipped,
    }


def correlation_table(
    limit: int | None = None,
    metrics: dict[str, Metric] | None = None,
    inputs: Sequence[str] = ("cased",),
) -> list[dict[str, Any]]:
    """One row per input, metric and split: ``input``, ``metric``, ``split``, ``spearman``,
    ``kendall``, ``articles`` (correlations averaged), ``skipped`` (constant articles)."""
    parts = splits(limit)
    rows: list[dict[str, Any]] = []
    for input_name in inputs:
        for name, metric in (metrics or METRICS).items():
            scores = metric_scores(metric, parts["full"], INPUTS[input_name])
            for split, ids in parts.items():
                row = {"input": input_name, "metric": name, "split": split}
                rows.append({**row, **correlate(scores, ids)})
    return rows


def intervals(
    limit: int | None = None, inputs: Sequence[str] = ("original", "cased")
) -> list[dict[str, Any]]:
    """95% bootstrap intervals (10,000 resamples of articles, seeded) of our mean
    per-article rho, and of its paired difference from each baseline, per input and split."""
    parts = splits(limit)
    rows: list[dict[str, Any]] = []
    for input_name in inputs:
        field = INPUTS[input_name]
        scores = {name: metric_scores(m, parts["full"], field) for name, m in METRICS.items()}
        for split, ids in parts.items():
            mine = article_rhos(scores["faithfulness (ours)"], ids)
            ci = stats.bootstrap_mean_ci(list(mine.values()))
            rows.append(_ci_row(input_name, split, "faithfulness (ours)", ci))
            for name in METRICS:
                if name == "faithfulness (ours)":
                    continue
                theirs = article_rhos(scores[name], ids)
                both = [i for i in mine if i in theirs]
                diff = stats.paired_bootstrap([theirs[i] for i in both], [mine[i] for i in both])
                rows.append(_ci_row(input_name, split, f"ours minus {name}", diff))
    return rows


def _ci_row(input_name: str, split: str, what: str, ci: stats.BootstrapCI) -> dict[str, Any]:
    return {
        "input": input_name,
        "split": split,
        "what": what,
        "mean": ci.mean_diff,
        "low": ci.low,
        "high": ci.high,
        "n": ci.n,
    }


def intervals_markdown(rows: list[dict[str, Any]]) -> str:
    """The intervals as Markdown: one row per input and quantity, one column per split."""
    split_names = ["full", "dev", "held-out"]
    cells: dict[tuple[str, str], dict[str, str]] = {}
    for r in rows:
        if r["mean"] is None:  # no article in this split (--limit)
            text = ""
        elif r["what"] != "faithfulness (ours)":
            text = f"{r['mean']:+.3f} [{r['low']:+.3f}, {r['high']:+.3f}]"
        else:
            text = f"{r['mean']:.3f} [{r['low']:.3f}, {r['high']:.3f}]"
        cells.setdefault((r["input"], r["what"]), {})[r["split"]] = text
    lines = [
        "| input | mean per-article rho | " + " | ".join(split_names) + " |",
        "| --- | --- |" + " ---: |" * len(split_names),
    ]
    for (input_name, what), by_split in cells.items():
        vals = " | ".join(by_split.get(s, "") for s in split_names)
        lines.append(f"| {input_name} | {what} | {vals} |")
    return "\n".join(lines)


def _label(row: dict[str, Any]) -> str:
    return f"{row['input']}: {row['metric']}" if "input" in row else str(row["metric"])


def format_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table: one line per input and metric, Spearman/Kendall for each split."""
    split_names = ["full", "dev", "held-out"]
    by_metric: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_metric.setdefault(_label(row), {})[row["split"]] = row
    head = f"{'metric':<42}" + "".join(f"{s + ' rho':>14}{s + ' tau':>14}" for s in split_names)
    lines = [head, "-" * len(head)]
    for name, cells in by_metric.items():
        line = f"{name:<42}"
        for s in split_names:
            c = cells.get(s)
            line += f"{c['spearman']:>14.3f}{c['kendall']:>14.3f}" if c else f"{'':>28}"
        lines.append(line)
    for name, rho in ANCHORS.items():
        label = f"{PUBLISHED_INPUT}: {name} (published)"
        lines.append(f"{label:<42}{rho:>14.3f}{'':>14}")
    full = next(iter(by_metric.values())).get("full", {})
    skipped = {r["skipped"] for r in rows if r["split"] == "full"}
    lines.append(
        f"Mean over {full.get('articles', '?')} articles (16 summaries each; "
        f"{'/'.join(str(s) for s in sorted(skipped))} skipped as constant). "
        "dev = first 50 article ids in sorted order (tuned on), held-out = last 50."
    )
    return "\n".join(lines)


def markdown(rows: list[dict[str, Any]]) -> str:
    """The correlation table as Markdown, published anchors last."""
    split_names = ["full", "dev", "held-out"]
    by_metric: dict[str, dict[str, dict[str, Any]]] = {}
    for row in rows:
        by_metric.setdefault(_label(row), {})[row["split"]] = row
    head = "| metric | " + " | ".join(f"{s} rho | {s} tau" for s in split_names) + " | skipped |"
    lines = [head, "| --- |" + " ---: |" * (2 * len(split_names) + 1)]
    for name, cells in by_metric.items():
        vals = []
        for s in split_names:
            c = cells.get(s)
            vals += [f"{c['spearman']:.3f}", f"{c['kendall']:.3f}"] if c else ["", ""]
        skipped = cells.get("full", {}).get("skipped", "")
        lines.append(f"| {name} | " + " | ".join(vals) + f" | {skipped} |")
    for name, rho in ANCHORS.items():
        label = f"{PUBLISHED_INPUT}: {name} (published)"
        lines.append(f"| {label} | {rho:.3f} |" + " |" * (2 * len(split_names)))
    return "\n".join(lines)


def invariance(limit: int | None = None) -> list[dict[str, Any]]:
    """How much the spelling of a summary moves its score: for each of the 1,600 cased
    summaries, ``|score(cased) - score(respelt)|`` where respelt is the cased text
    lower-cased, upper-cased, or the original tokenised text; mean and share over 0.05."""
    articles, items = load(INPUTS["cased"])
    _, original = load(INPUTS["original"])
    variants: dict[str, list[float]] = {"lower-cased": [], "upper-cased": [], "original": []}
    for i in splits(limit)["full"]:
        for k, it in enumerate(items[i]):
            base = ours(articles[i], it.summary)
            respelt = {
                "lower-cased": it.summary.lower(),
                "upper-cased": it.summary.upper(),
                "original": original[i][k].summary,
            }
            for name, text in respelt.items():
                variants[name].append(abs(base - ours(articles[i], text)))
    return [
        {
            "respelt as": name,
            "summaries": len(diffs),
            "mean |diff|": sum(diffs) / len(diffs),
            "share over 0.05": sum(d > 0.05 for d in diffs) / len(diffs),
        }
        for name, diffs in variants.items()
    ]


def invariance_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| cased summary respelt as | summaries | mean abs. score change | share changed > 0.05 |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['respelt as']} | {r['summaries']} | {r['mean |diff|']:.4f} "
            f"| {100 * r['share over 0.05']:.1f}% |"
        )
    return "\n".join(lines)


NOTE = (
    "Summary-level correlation with SummEval expert consistency (G-Eval Table 1 protocol): "
    "per article, Spearman rho / Kendall tau-b over its 16 system summaries, averaged over "
    "articles; 'skipped' = articles where the metric or the experts are constant (NaN). "
    "dev = first 50 article ids in sorted order (the scorer was tuned on these), "
    "held-out = last 50. Published anchors are full-set Spearman, computed on the "
    "'original' input (lower-cased, tokenised), so only 'original' rows compare with them."
)
COMMAND = "python -m benchmarks.faithfulness_eval"


def speed(limit: int | None = None, field: str = "summary") -> dict[str, float]:
    """Milliseconds per summary for :func:`pipeline.faithfulness.score` (first call per
    article includes the source analysis; later calls reuse its cache, as a run does)."""
    articles, items = load(field)
    ids = splits(limit)["full"]
    faithfulness._analyse.cache_clear()
    t0 = time.perf_counter()
    n = 0
    for i in ids:
        for it in items[i]:
            faithfulness.score(articles[i], it.summary)
            n += 1
    warm = (time.perf_counter() - t0) * 1000 / n
    t0 = time.perf_counter()
    for i in ids:
        faithfulness._analyse.cache_clear()
        faithfulness.score(articles[i], items[i][0].summary)
    cold = (time.perf_counter() - t0) * 1000 / len(ids)
    return {"ms_per_summary": warm, "ms_per_article_cold": cold, "summaries": n}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="score the first N articles")
    parser.add_argument("--speed", action="store_true", help="also time the scorer")
    parser.add_argument("--ablations", action="store_true", help="also score the ablations")
    parser.add_argument(
        "--input", choices=sorted(INPUTS), action="append", help="summary text (default: both)"
    )
    args = parser.parse_args(argv)
    inputs = args.input or list(INPUTS)
    metrics = {**METRICS, **ABLATIONS} if args.ablations else METRICS
    print(format_table(correlation_table(args.limit, metrics, inputs)))
    print()
    print(intervals_markdown(intervals(args.limit, inputs)))
    print()
    print(invariance_markdown(invariance(args.limit)))
    if args.speed:
        s = speed(args.limit)
        print(
            f"speed: {s['ms_per_summary']:.2f} ms per summary over {s['summaries']:.0f} summaries"
            f" ({s['ms_per_article_cold']:.2f} ms for an article's first summary)"
        )


if __name__ == "__main__":
    main()
