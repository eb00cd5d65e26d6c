"""ROUGE of the built-in model's ``summary`` against reference summaries, beside lead-3.

Both systems are scored by the same code: ROUGE-1/2/L F1 from the ``rouge-score``
package with ``use_stemmer=True``, averaged over articles and printed x100. RL is
given twice:

* ``RL``: plain ``rougeL`` (one LCS over the whole text, sentence breaks ignored);
* ``RLsum``: ``rougeLsum`` (summary-level union LCS over sentences); candidate and
  reference are each newline-joined sentences.

Lead-3 is the first three sentences of the article from the same splitter
(:func:`pipeline.text.split_sentences`) the built-in model uses.

Data (``benchmarks/data``, see ``SOURCES.md``):

* ``frank-cnndm``: FRANK's 250 CNN/DM test articles; references are PTB-tokenised
  highlights (" . " between sentences). **dev** (the ranking weights were tuned here).
* ``bbc[:1000]``: BBC News Summary rows 0-999; the first line (title) is stripped from
  the article and handed to the built-in model as ``title``. **dev**.
* ``bbc[1000:]``: rows 1000-2224, **held-out**.
* ``summeval``: SummEval's 100 CNN/DM articles against the original highlight. **held-out**.
  The row ``lead-3 (SummEval's M0 outputs)`` scores SummEval's own published Lead-3
  summaries with this code, to check the anchor (R1 41.5 / R2 19.1 / RL 26.6 is quoted
  for plain rougeL; this code gives about 42.0 / 19.4 / 26.9 with the stemmer, 41.0 / 19.0
  / 26.5 without: plain rougeL it is, rougeLsum would be about 38).

BBC references are joined without a space ("...$10.9bn.For the..."); a space is put
back after a sentence stop that runs into a capital letter before scoring.

``ms/article`` is wall time per article of the whole ``summarise`` call (every field,
not just the summary), or of the split for lead-3, on this machine, single thread.

Run from the repo root: ``python -m benchmarks.rouge_eval`` (``--limit N`` scores the
first N rows of each set).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from rouge_score import rouge_scorer

from pipeline.extractive import summarise
from pipeline.text import split_sentences

DATA = Path(__file__).resolve().parent / "data"
COMMAND = "python -m benchmarks.rouge_eval"


@dataclass(frozen=True, slots=True)
class Example:
    article: str
    reference: list[str]  # reference sentences
    title: str | None = None
    id: str = ""


@dataclass(frozen=True, slots=True)
class Dataset:
    name: str
    split: str  # "dev" or "held-out"
    examples: list[Example]


def _rows(name: str) -> Iterator[dict[str, Any]]:
    with gzip.open(DATA / name, "rt", encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield json.loads(line)


_GLUED = re.compile(r"([.!?][\"”’')]?)(?=[A-Z\"“‘])")


def unglue(text: str) -> str:
    """Put back the space BBC's summaries lost between sentences ("bn.For" -> "bn. For")."""
    return _GLUED.sub(r"\1 ", text)


def _ptb_sentences(text: str) -> list[str]:
    """Sentences of a PTB-tokenised highlight ("Friday . The club ...")."""
    return [s.strip() for s in re.split(r"(?<=\s[.!?])\s+", text) if s.strip()]


def load_summeval(limit: int | None = None) -> Dataset:
    examples = [
        Example(r["article"], split_sentences(r["reference_highlight"]), id=r["id"])
        for r in _rows("summeval_articles.jsonl.gz")
    ]
    return Dataset("summeval", "held-out", examples[:limit])


def load_bbc(part: str, limit: int | None = None) -> Dataset:
    examples: list[Example] = []
    for r in _rows("bbc_news_summary.jsonl.gz"):
        lines = r["article"].split("\n", 1)
        body = lines[1] if len(lines) > 1 else ""
        examples.append(Example(body, split_sentences(unglue(r["summary"])), lines[0].strip()))
    if part == "dev":
        return Dataset("bbc[:1000]", "dev", examples[:1000][:limit])
    return Dataset("bbc[1000:]", "held-out", examples[1000:][:limit])


def load_frank(limit: int | None = None) -> Dataset:
    examples = [
        Example(r["article"], _ptb_sentences(r["reference"]))
        for r in _rows("frank_cnndm_xsum_articles.jsonl.gz")
        if r["dataset"] == "cnndm"
    ]
    return Dataset("frank-cnndm", "dev", examples[:limit])


def datasets(limit: int | None = None) -> list[Dataset]:
    return [
        load_frank(limit),
        load_bbc("dev", limit),
        load_bbc("held-out", limit),
        load_summeval(limit),
    ]


# --------------------------------------------------------------------------- systems


def lead3(example: Example) -> list[str]:
    return split_sentences(example.article)[:3]


def builtin(example: Example) -> list[str]:
    return split_sentences(summarise(example.article, title=example.title)["summary"])


def builtin_no_title(example: Example) -> list[str]:
    return split_sentences(summarise(example.article)["summary"])


@lru_cache(maxsize=1)
def _summeval_lead3_outputs() -> dict[str, str]:
    """SummEval's own Lead-3 summaries (system M0), by article id."""
    return {
        r["id"]: r["summary"]
        for r in _rows("summeval_annotations.jsonl.gz")
        if r["model_id"] == "M0"
    }


def summeval_m0(example: Example) -> list[str]:
    """The anchor: SummEval's published Lead-3 outputs, scored by this same code."""
    return split_sentences(_summeval_lead3_outputs()[example.id])


SYSTEMS: dict[str, Callable[[Example], list[str]]] = {
    "lead-3": lead3,
    "builtin": builtin,
}


# --------------------------------------------------------------------------- scoring

_SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL", "rougeLsum"], use_stemmer=True)


def score(dataset: Dataset, system: Callable[[Example], list[str]]) -> dict[str, float]:
    """Mean F1 (x100) of ``system`` over ``dataset``, and ms per article."""
    totals = {"R1": 0.0, "R2": 0.0, "RL": 0.0, "RLsum": 0.0}
    elapsed = 0.0
    n = 0
    for ex in dataset.examples:
        t0 = time.perf_counter()
        sents = system(ex)
        elapsed += time.perf_counter() - t0
        s = _SCORER.score("\n".join(ex.reference), "\n".join(sents))
        totals["R1"] += s["rouge1"].fmeasure
        totals["R2"] += s["rouge2"].fmeasure
        totals["RL"] += s["rougeL"].fmeasure
        totals["RLsum"] += s["rougeLsum"].fmeasure
        n += 1
    out = {k: 100.0 * v / max(n, 1) for k, v in totals.items()}
    out["ms"] = 1000.0 * elapsed / max(n, 1)
    return out


def rouge_table(limit: int | None = None) -> list[dict[str, Any]]:
    """One row per (dataset, system): dataset, split, n, system, R1, R2, RL, RLsum, ms."""
    rows: list[dict[str, Any]] = []
    for ds in datasets(limit):
        systems = dict(SYSTEMS)
        if any(ex.title for ex in ds.examples):
            systems["builtin (no title)"] = builtin_no_title
        if ds.name == "summeval":
            _summeval_lead3_outputs()  # load before timing
            systems["lead-3 (SummEval's M0 outputs)"] = summeval_m0
        for name, fn in systems.items():
            r = score(ds, fn)
            rows.append(
                {
                    "dataset": ds.name,
                    "split": ds.split,
                    "n": len(ds.examples),
                    "system": name,
                    **{k: round(v, 2) for k, v in r.items()},
                }
            )
    return rows


def speed(low: int = 3000, high: int = 5000) -> dict[str, float]:
    """Time ``summarise`` (every field) on each benchmark article of ``low``-``high`` chars."""
    times: list[float] = []
    for ds in datasets():
        for ex in ds.examples:
            if low <= len(ex.article) <= high:
                t0 = time.perf_counter()
                summarise(ex.article, title=ex.title)
                times.append(1000.0 * (time.perf_counter() - t0))
    times.sort()
    n = len(times)
    return {
        "n": float(n),
        "median": times[n // 2] if n else 0.0,
        "p95": times[min(n - 1, int(0.95 * n))] if n else 0.0,
        "max": times[-1] if n else 0.0,
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    head = "| dataset | split | n | system | R1 | R2 | RL | RLsum | ms/article |"
    lines = [head, "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['split']} | {r['n']} | {r['system']} | {r['R1']:.2f} "
            f"| {r['R2']:.2f} | {r['RL']:.2f} | {r['RLsum']:.2f} | {r['ms']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--limit", type=int, default=None, help="score the first N rows of each set"
    )
    args = parser.parse_args(argv)
    rows = rouge_table(args.limit)
    print(markdown(rows))
    print()
    print(
        "ROUGE F1 x100, rouge-score with use_stemmer=True. RL = plain rougeL; "
        "RLsum = rougeLsum over newline-joined sentences."
    )
    sp = speed()
    print(
        f"Speed of the whole summarise() call on the {int(sp['n'])} articles of 3,000-5,000 "
        f"characters: median {sp['median']:.1f} ms, p95 {sp['p95']:.1f} ms, "
        f"max {sp['max']:.1f} ms."
    )
    cmd = COMMAND + (f" --limit {args.limit}" if args.limit else "")
    print(f"Reproduce: `{cmd}`")


if __name__ == "__main__":
    main()
