#!/usr/bin/env python3
"""Record the shipped run cassettes: ``cassettes/runs/summarise-V.yaml``, one per version V.

No provider is reachable from CI, so the cassettes are recorded from a real HTTP exchange
with the project's own OpenAI-compatible server (``pipeline.server.FakeOpenAIServer`` on
127.0.0.1, answering with the built-in model) through the real command line::

    OPENAI_API_KEY=local-recording-server-dummy-key \\
        summarise run seeds/ --prompt summarise@V --model builtin \\
        --base-url http://127.0.0.1:PORT/v1 --record cassettes/runs/summarise-V.yaml

The records therefore say ``"model": "builtin"``: it is the built-in model, served over HTTP.
Each cassette is then checked the way CI uses it (``summarise run seeds/ --prompt
summarise@V --replay cassettes/runs/summarise-V.yaml``, no key, no network): exit 0, one ok
record per seed, and the same summaries as the recording run.

Usage::

    python scripts/record_cassettes.py                # every version of summarise
    python scripts/record_cassettes.py --version v2   # only these versions
    python scripts/record_cassettes.py --check        # only replay and compare, record nothing

Exit status: 0 when every cassette records and replays cleanly, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = Path("cassettes") / "runs"
DUMMY_KEY = "local-recording-server-dummy-key"
PORT = 18765


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment minus every OPENAI_* setting (so no real key or org id is ever sent)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AZURE_OPENAI"))}
    env["SUMMARISE_HOME"] = str(home)
    env.update(extra)
    return env


def _summarise(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pipeline", "run", *args]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def _n_inputs() -> int:
    sys.path.insert(0, str(ROOT))
    from pipeline.articles import iter_articles

    return sum(1 for _ in iter_articles([str(ROOT / "seeds")]))


def _problems(
    label: str, proc: subprocess.CompletedProcess[str], records: list[Any], n: int
) -> list[str]:
    out = []
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["(no output)"])[-1]
        out.append(f"{label}: exit {proc.returncode}: {tail}")
    if len(records) != n:
        out.append(f"{label}: {len(records)} records for {n} seeds")
    for r in records:
        if r.get("status") != "ok":
            out.append(f"{label}: {r.get('source')}: {(r.get('error') or {}).get('message')}")
    return out


def record(version: str, work: Path, n: int) -> list[str]:
    from pipeline.server import FakeOpenAIServer, ServerConfig

    cassette = RUNS / f"summarise-{version}.yaml"
    out = work / f"record-{version}.jsonl"
    config = ServerConfig(require_api_key=DUMMY_KEY)
    try:  # a fixed port keeps the recorded URIs, and so a re-recording, byte for byte the same
        server = FakeOpenAIServer(config, port=PORT).start()
    except OSError:
        server = FakeOpenAIServer(config).start()
    with server:
        proc = _summarise(
            [
                "seeds/",
                "--prompt",
                f"summarise@{version}",
                "--model",
                "builtin",
                "--base-url",
                server.base_url,
                "--record",
                str(cassette),
                "--out",
                str(out),
                "--quiet",
            ],
            _clean_env(work / f"home-record-{version}", OPENAI_API_KEY=DUMMY_KEY),
        )
        served = server.stats.snapshot()["chat_requests"]
    problems = _problems(f"record {cassette}", proc, _records(out), n)
    print(f"recorded {cassette}: {served} exchange(s) with {server.base_url}")
    return problems


def check(version: str, work: Path, n: int, recorded: bool) -> list[str]:
    cassette = RUNS / f"summarise-{version}.yaml"
    if not (ROOT / cassette).is_file():
        return [f"{cassette} is missing"]
    out = work / f"replay-{version}.jsonl"
    proc = _summarise(
        ["seeds/", "--prompt", f"summarise@{version}", "--replay", str(cassette)]
        + ["--out", str(out), "--quiet"],
        _clean_env(work / f"home-replay-{version}"),
    )
    replayed = _records(out)
    problems = _problems(f"replay {cassette}", proc, replayed, n)
    if recorded and not problems:
        live = {r["source"]: r["summary"] for r in _records(work / f"record-{version}.jsonl")}
        differ = [r["source"] for r in replayed if live.get(r["source"]) != r["summary"]]
        problems += [f"replay {cassette}: {s} differs from the recording run" for s in differ]
    if not problems:
        print(f"replayed {cassette}: {len(replayed)} ok record(s), exit 0")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", action="append", help="only this version (repeatable)")
    parser.add_argument("--check", action="store_true", help="replay only; record nothing")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from pipeline import prompts

    versions = prompts.available(ROOT / "prompts").get("summarise", [])
    chosen = args.version or versions
    unknown = sorted(set(chosen) - set(versions))
    if unknown:
        print(
            f"error: no summarise version {', '.join(unknown)} (have {versions})", file=sys.stderr
        )
        return 1
    n = _n_inputs()
    problems: list[str] = []
    with tempfile.TemporaryDirectory(prefix="record-cassettes-") as tmp:
        work = Path(tmp)
        for version in chosen:
            if not args.check:
                problems += record(version, work, n)
            problems += check(version, work, n, recorded=not args.check)
    stale = sorted(
        p.name
        for p in (ROOT / RUNS).glob("summarise-*.yaml")
        if p.stem.removeprefix("summarise-") not in versions
    )
    problems += [f"{RUNS / name}: no such prompt version any more; delete it" for name in stale]
    for p in problems:
        print(f"problem: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
