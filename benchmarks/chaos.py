"""The chaos test at full size: a run of many articles against the fault server, killed many
times (SIGKILL, SIGTERM, SIGINT) at seeded points and resumed until it finishes.

    python -m benchmarks.chaos                                  # 2,000 articles, 20 kills
    python -m benchmarks.chaos --articles 5000 --kills 40 --seeds 3

It is ``tests/test_chaos.py`` (240 articles, 5 kills) made bigger: the same driver
(``tests/chaos_support.py``, whose docstring derives the bound) and the same checks. Prints,
per seed, what was paid for against the bound and the answers lost at each kill; exits 1 when
any promise broke (the broken ones are printed).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=1, help="runs, with seeds 1..N")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=3.0, help="the run's --timeout")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
    from chaos_support import run_chaos

    failed = 0
    for seed in range(1, args.seeds + 1):
        with tempfile.TemporaryDirectory(prefix="summarise-chaos-") as tmp:
            r = run_chaos(
                Path(tmp),
                articles=args.articles,
                kills=args.kills,
                seed=seed,
                concurrency=args.concurrency,
                timeout=args.timeout,
                duplicates=max(3, args.articles // 100),
                process_timeout=900.0,
            )
        kills = Counter(k.signal for k in r.kills)
        lost = [k.lost for k in r.kills]
        print(f"seed {seed}: {r.summary()}")
        print(
            f"  kills: {', '.join(f'{n} {s}' for s, n in sorted(kills.items()))}; answers lost "
            f"per kill: {lost} (C = {r.concurrency}); server in flight at each kill: "
            f"{[k.server_in_flight for k in r.kills]}"
        )
        print(f"  faults: {dict(sorted(r.by_fault.items()))}")
        print(
            f"  every input one ok record in input order: "
            f"{'yes' if not r.problems() else 'NO'}; runs {r.runs}, exits {r.exit_codes}; "
            f"{r.seconds:.0f} s"
        )
        for problem in r.problems():
            failed += 1
            print(f"  BROKEN: {problem}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
