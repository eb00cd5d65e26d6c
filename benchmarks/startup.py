"""Start-up: how long the quick commands take as whole processes, next to Python itself.

``summarise --help``, ``prompts list`` and ``prompts show`` should start in about the time
Python needs to start (target: under 0.3 s on the project's machine); they must not import the
openai SDK, the engine, jsonschema or rich's progress display (``tests/test_startup.py``
checks which modules they import). Every command runs as a fresh process, the commands taking
turns round after round so that the machine's load hits them alike; the table gives the median
and the ratio to ``python -c pass`` measured in the same run. ``import openai`` is shown for
scale: it is what every command paid before.

    python -m benchmarks.startup              # 15 rounds
    python -m benchmarks.startup --rounds 30
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _summarise() -> list[str]:
    """The installed console script beside this Python (what a user runs), else ``-m``."""
    script = Path(sys.executable).with_name("summarise")
    if script.exists():
        return [str(script)]
    found = shutil.which("summarise")
    return [found] if found else [sys.executable, "-m", "pipeline"]


def commands() -> list[tuple[str, list[str]]]:
    s = _summarise()
    py = sys.executable
    return [
        ("python -c pass", [py, "-c", "pass"]),
        ("summarise --help", [*s, "--help"]),
        ("summarise prompts list", [*s, "prompts", "list"]),
        ("summarise prompts show summarise@v2", [*s, "prompts", "show", "summarise@v2"]),
        ("python -c 'import openai' (for scale)", [py, "-c", "import openai"]),
    ]


def measure(rounds: int) -> dict[str, list[float]]:
    cmds = commands()
    times: dict[str, list[float]] = {name: [] for name, _ in cmds}
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    with tempfile.TemporaryDirectory() as empty:  # outside the checkout: no ./prompts
        env["SUMMARISE_HOME"] = str(Path(empty) / "home")
        for _name, argv in cmds:  # one unmeasured run each: .pyc files written, caches warm
            subprocess.run(argv, cwd=empty, env=env, capture_output=True, check=True)
        for _ in range(rounds):
            for name, argv in cmds:
                start = time.perf_counter()
                subprocess.run(argv, cwd=empty, env=env, capture_output=True, check=True)
                times[name].append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=15)
    args = ap.parse_args(argv)
    times = measure(args.rounds)
    base = statistics.median(times["python -c pass"])
    print(f"{args.rounds} rounds, median wall time of a fresh process ({sys.executable})")
    print()
    print("| command | median | p90 | × `python -c pass` |")
    print("| --- | --: | --: | --: |")
    for name, ts in times.items():
        ts = sorted(ts)
        med = statistics.median(ts)
        p90 = ts[min(len(ts) - 1, int(0.9 * len(ts)))]
        print(f"| `{name}` | {med * 1000:.0f} ms | {p90 * 1000:.0f} ms | {med / base:.1f}× |")


if __name__ == "__main__":
    main()
