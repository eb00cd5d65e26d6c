"""Is compare's latency verdict stable? Run ``summarise compare`` on the seeds several times in
each order (fresh store each time, so every version is asked), and count the latency verdicts.

Before the versions ran side by side, the verdict flipped between runs and with the order the
versions were listed in ("v2 is faster" on one run, "REGRESSION: v2 is slower" on the next):
the first version paid the warm-up and each met a different load. Now each pair of requests
for an article starts together, the versions taking turns at going first, and each version's
first ``--concurrency`` articles are left out as warm-up.

    python -m benchmarks.compare_latency              # 4 runs in each order
    python -m benchmarks.compare_latency --runs 10
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def once(first: str, second: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        env["SUMMARISE_HOME"] = home
        out = subprocess.run(
            [sys.executable, "-m", "pipeline", "compare", first, second, "seeds/"]
            + ["--format", "json", "-q"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    diff = json.loads(out)["diffs"][0]
    latency: dict[str, object] = next(m for m in diff["metrics"] if m["metric"] == "latency_ms")
    return latency


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=4)
    args = ap.parse_args(argv)
    print("| order | run | latency difference | 95% CI | pairs | verdict |")
    print("| --- | --: | --: | --: | --: | --- |")
    verdicts: Counter[str] = Counter()
    for first, second in (("summarise@v1", "summarise@v2"), ("summarise@v2", "summarise@v1")):
        for n in range(1, args.runs + 1):
            m = once(first, second)
            lo, hi, d = (float(m[k]) for k in ("ci_low", "ci_high", "diff"))  # type: ignore[arg-type]
            verdicts[str(m["verdict"])] += 1
            print(
                f"| {second} minus {first} | {n} | {d:+.0f} ms | [{lo:+.0f}, {hi:+.0f}] ms "
                f"| {m['n']} | {m['verdict']} |"
            )
    print()
    print("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(verdicts.items())))


if __name__ == "__main__":
    main()
