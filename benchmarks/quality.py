"""Quality in one place: the faithfulness scorer against SummEval's experts, and ROUGE.

Prints three tables:

1. the summary-level correlation of :func:`pipeline.faithfulness.score` (and of
   lexical baselines computed by the same code) with SummEval expert consistency,
   on the full set, the dev half it was tuned on and the held-out half, for both
   spellings of the summaries (``original``: lower-cased and tokenised, what the
   published figures used; ``cased``), beside the published anchors, with bootstrap
   intervals and the effect of respelling a summary (see
   :mod:`benchmarks.faithfulness_eval`);
2. the ROUGE table of :func:`benchmarks.rouge_eval.rouge_table` (the built-in model
   against lead-3), when that module is present;
3. the error counts of :mod:`benchmarks.seed_audit` (the built-in model's structured
   fields over the 21 seeds).

Run from the repo root: ``python -m benchmarks.quality`` (or ``python
benchmarks/quality.py``); ``--limit N`` uses only the first N articles / rows.
Offline; takes about a minute.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repo root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks import faithfulness_eval  # noqa: E402

COMMAND = "python -m benchmarks.quality"


def _rouge_markdown(rows: list[dict[str, Any]]) -> str:
    try:
        from benchmarks.rouge_eval import markdown
    except ImportError:
        keys = list(rows[0]) if rows else []
        lines = ["| " + " | ".join(keys) + " |", "|" + " --- |" * len(keys)]
        lines += ["| " + " | ".join(str(r[k]) for k in keys) + " |" for r in rows]
        return "\n".join(lines)
    return str(markdown(rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--limit", type=int, default=None, help="only the first N articles/rows")
    args = parser.parse_args(argv)

    print("## Faithfulness: correlation with SummEval expert consistency\n")
    inputs = list(faithfulness_eval.INPUTS)
    table = faithfulness_eval.correlation_table(args.limit, inputs=inputs)
    print(faithfulness_eval.markdown(table))
    print()
    print(faithfulness_eval.NOTE)
    print("\n95% bootstrap intervals over articles (10,000 resamples, seeded):\n")
    print(faithfulness_eval.intervals_markdown(faithfulness_eval.intervals(args.limit, inputs)))
    print("\nWhat respelling a summary does to its score:\n")
    print(faithfulness_eval.invariance_markdown(faithfulness_eval.invariance(args.limit)))
    speed = faithfulness_eval.speed(args.limit)
    print(
        f"Scorer speed: {speed['ms_per_summary']:.2f} ms per summary "
        f"({speed['ms_per_article_cold']:.2f} ms for an article's first summary)."
    )

    print("\n## ROUGE: built-in model vs lead-3\n")
    try:
        from benchmarks.rouge_eval import rouge_table
    except ImportError as e:
        print(f"(missing: benchmarks.rouge_eval could not be imported: {e})")
    else:
        print(_rouge_markdown(rouge_table(args.limit)))
        print("\nROUGE F1 x100, rouge-score with use_stemmer=True.")

    print("\n## Structured fields: the seed audit\n")
    from benchmarks import seed_audit

    print(seed_audit.markdown(seed_audit.audit()))
    print("\nRules in benchmarks/seed_audit.py; --details there lists every flagged item.")

    cmd = COMMAND + (f" --limit {args.limit}" if args.limit else "")
    print(f"\nReproduce: `{cmd}` (from the repo root)")


if __name__ == "__main__":
    main()
