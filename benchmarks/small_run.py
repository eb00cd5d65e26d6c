"""A small run, whole processes, side by side: ``summarise run`` against a 20-line asyncio +
semaphore loop over the same SDK (issue 14, item 12).

The server answers every request after 1 s and has no rate limit (a local model server, or a
hosted API well inside its limits); 240 articles at concurrency 16, so the bound is 15 rounds
of 1 s. Each row is a fresh ``python`` process, start-up included, timed from spawn to exit;
the rows alternate (raw, summarise, raw, summarise, ...) so that load on the machine hits both
alike, and the median of ``--rounds`` is reported with the ratio.

    python -m benchmarks.small_run                 # 240 articles, C=16, 1 s, 3 rounds
    python -m benchmarks.small_run --rounds 5 --articles 240 --concurrency 16 --latency 1

The raw loop (``python -m benchmarks.small_run raw URL FILE C``) sends the same requests the
engine sends (rendered by the same prompt) and validates each answer with the same compiled
schema; it has no store, retries, pacing, faithfulness check or output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import command_line, server_process, table, write_jsonl


def raw_loop(url: str, path: str, concurrency: int) -> int:
    """The 20-line loop: every article's request under a semaphore of C, answers validated."""
    import openai

    from pipeline.articles import iter_articles
    from pipeline.prompts import load_prompt
    from pipeline.schemas import load_schema

    prompt = load_prompt("summarise")
    schema = load_schema(prompt.schema)
    fmt = {"type": "json_schema", "json_schema": {"name": "summary", "schema": schema.strict}}
    fmt["json_schema"]["strict"] = True  # type: ignore[index]
    bodies = [
        {
            "model": "gpt-4o-mini",
            "messages": prompt.render(a.text, title=a.title, date=a.date, source=a.source),
            "max_tokens": prompt.max_output_tokens,
            "temperature": prompt.parameters.get("temperature", 0),
            "extra_body": {"response_format": fmt},
        }
        for a in iter_articles([path])
        if not hasattr(a, "kind")  # a BadInput has a kind; there are none here
    ]

    async def go() -> int:
        client = openai.AsyncOpenAI(base_url=url, api_key="sk-bench", max_retries=0)
        sem = asyncio.Semaphore(concurrency)

        async def one(req: dict[str, object]) -> bool:
            async with sem:
                c = await client.chat.completions.create(**req)  # type: ignore[call-overload]
            return bool(schema.validator.is_valid(json.loads(c.choices[0].message.content or "")))

        try:
            return sum(await asyncio.gather(*(one(b) for b in bodies)))
        finally:
            await client.close()

    return asyncio.run(go())


def _timed(argv: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    p = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(argv[:4])} failed ({p.returncode}):\n{p.stderr[-2000:]}")
    return wall


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "raw":
        url, path, c = sys.argv[2], sys.argv[3], int(sys.argv[4])
        ok = raw_loop(url, path, c)
        print(ok)
        sys.exit(0 if ok else 1)
    ap = argparse.ArgumentParser(prog="python -m benchmarks.small_run")
    ap.add_argument("--articles", type=int, default=240)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency", type=float, default=1.0)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    bound = -(-a.articles // a.concurrency) * a.latency
    with tempfile.TemporaryDirectory() as tmp, server_process(latency=a.latency) as srv:
        src = Path(tmp) / "articles.jsonl"
        write_jsonl(src, a.articles)
        env = {**os.environ, "OPENAI_API_KEY": "sk-bench", "SUMMARISE_HOME": tmp}
        raw = [sys.executable, "-m", "benchmarks.small_run", "raw", srv.base_url, str(src)]
        raw.append(str(a.concurrency))
        walls: dict[str, list[float]] = {"raw": [], "summarise": []}
        for i in range(a.rounds):
            walls["raw"].append(_timed(raw, env))
            tool = [sys.executable, "-m", "pipeline", "run", str(src), "--base-url", srv.base_url]
            tool += ["--concurrency", str(a.concurrency), "-q", "--out", os.devnull]
            tool += ["--db", str(Path(tmp) / f"run{i}.db")]
            walls["summarise"].append(_timed(tool, env))
    raw_s = statistics.median(walls["raw"])
    tool_s = statistics.median(walls["summarise"])
    print(command_line())
    print(
        f"{a.articles} articles, C={a.concurrency}, server latency {a.latency:g} s, no rate "
        f"limit; bound {bound:g} s; whole processes, median of {a.rounds} alternating rounds\n"
    )
    rows = [
        ["raw asyncio + semaphore loop", f"{raw_s:.2f} s", "1.00", _all(walls["raw"])],
        ["summarise run", f"{tool_s:.2f} s", f"{tool_s / raw_s:.3f}", _all(walls["summarise"])],
    ]
    print(table(["process", "median wall", "vs raw", "each round"], rows))


def _all(values: list[float]) -> str:
    return ", ".join(f"{v:.2f}" for v in values)


if __name__ == "__main__":
    main()
