"""Memory of a long run: 100,000 articles from one JSONL file, peak RSS and its curve.

The JSONL (short generated articles) is written to a temp folder. The run is the library path
of ``summarise run`` in a child process (:func:`pipeline.runner.run` over
:func:`pipeline.articles.iter_articles`, a store and a ``--out`` JSONL in the temp folder),
with ``check_faithfulness=False``, against :class:`~pipeline.server.FakeOpenAIServer` in a third
process with zero latency and the canned responder (``benchmarks/_common.py``): the scorer and
the built-in model would make this a CPU benchmark of those instead. The input is streamed
(the engine holds a bounded window of articles) and the store commits each result as it
finishes.

The parent samples the child's ``/proc/<pid>/status`` (``VmRSS``, ``VmHWM``) every half second
and counts the records written to ``--out`` so far; it reports RSS when 10k / 50k / 100k
records were out and the peak (``VmHWM``). If the run has not finished within ``--limit``
seconds it is stopped and the table says how far it got.

Run from the repo root: ``python -m benchmarks.memory`` (``--n``, ``--concurrency``,
``--limit``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import REPO, command_line, server_process, table, write_jsonl

MARKS = (1_000, 10_000, 25_000, 50_000, 75_000, 100_000)


def child(args: argparse.Namespace) -> int:
    from pipeline import runner
    from pipeline.articles import iter_articles
    from pipeline.engine import RunSettings

    options = runner.RunOptions(
        model="gpt-bench",
        base_url=args.base_url,
        db=args.db,
        settings=RunSettings(concurrency=args.concurrency, check_faithfulness=False),
        dedupe=args.dedupe,
    )
    with open(args.out, "w", encoding="utf-8") as out:
        summary = runner.run(
            iter_articles([args.input]), options, on_record=runner.write_records(out)
        )
    st = status(os.getpid())  # the last word, after the last record: the parent's sampling
    print(f"rss_kb {st.get('VmRSS', 0)} {st.get('VmHWM', 0)}")  # may miss the final moments
    print(f"done: {summary.n} articles, {summary.ok} ok in {summary.seconds:.1f}s", flush=True)
    return 0 if summary.ok == summary.n else 1


def status(pid: int) -> dict[str, int]:
    out = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])  # kB
    except OSError:
        pass
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.memory")
    p.add_argument("--n", type=int, default=100_000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--limit", type=float, default=600.0, help="seconds before giving up")
    p.add_argument(
        "--dedupe",
        action="store_true",
        help="near-duplicate detection on, as `summarise run` has it by default",
    )
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        raise SystemExit(child(args))

    with tempfile.TemporaryDirectory() as tmp, server_process() as srv:
        src = Path(tmp) / "articles.jsonl"
        write_jsonl(src, args.n)
        out = Path(tmp) / "out.jsonl"
        cmd = [sys.executable, "-m", "benchmarks.memory", "--child", "--input", str(src)]
        cmd += ["--base-url", srv.base_url, "--db", str(Path(tmp) / "store.db")]
        cmd += ["--out", str(out), "--concurrency", str(args.concurrency)]
        cmd += ["--dedupe"] if args.dedupe else []
        env = {**os.environ, "OPENAI_API_KEY": "sk-bench"}
        started = time.monotonic()
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True)
        samples: list[tuple[float, int, int]] = []  # (seconds, records out, VmRSS kB)
        at_mark: dict[int, tuple[float, int]] = {}
        peak = 0
        done = 0
        read = 0
        stopped = False
        while proc.poll() is None:
            time.sleep(0.5)
            st = status(proc.pid)
            if not st:
                continue
            peak = max(peak, st.get("VmHWM", 0))
            if out.exists():
                with out.open("rb") as f:
                    f.seek(read)
                    chunk = f.read()
                read += len(chunk)
                done += chunk.count(b"\n")
            t = time.monotonic() - started
            samples.append((t, done, st["VmRSS"]))
            for mark in MARKS:
                if done >= mark and mark not in at_mark:
                    at_mark[mark] = (t, st["VmRSS"])
            if t > args.limit:
                proc.terminate()
                stopped = True
                break
        proc.wait(30)
        assert proc.stdout is not None
        lines = proc.stdout.read().strip().splitlines()
        elapsed = time.monotonic() - started
        final = sum(1 for _ in out.open("rb")) if out.exists() else 0
        tail = next((x for x in lines if x.startswith("done:")), "")
        end = next((x.split()[1:] for x in lines if x.startswith("rss_kb")), None)
        if end is not None:
            peak = max(peak, int(end[1]))
            for mark in MARKS:
                if final >= mark and mark not in at_mark:
                    at_mark[mark] = (elapsed, int(end[0]))

    rows = [
        [f"{mark:,}", f"{t:.0f}", f"{rss / 1024:.1f}"] for mark, (t, rss) in sorted(at_mark.items())
    ]
    print()
    state = "stopped at the time limit" if stopped else tail
    print(
        f"{args.n:,} articles, concurrency {args.concurrency}, zero-latency server: {final:,} "
        f"records out in {elapsed:.0f} s ({final / elapsed:.0f} articles/s); {state}"
    )
    print()
    print(table(["records out", "at s", "VmRSS MB"], rows))
    print()
    early = [rss for _, n, rss in samples if 0 < n <= 10_000]
    late = [rss for _, n, rss in samples if n > max(10_000, final - 10_000)]
    if early and late:
        print(
            f"peak RSS (VmHWM) {peak / 1024:.1f} MB; RSS over the first 10k records "
            f"{min(early) / 1024:.1f}-{max(early) / 1024:.1f} MB, over the last 10k "
            f"{min(late) / 1024:.1f}-{max(late) / 1024:.1f} MB"
        )
    else:
        print(f"peak RSS (VmHWM) {peak / 1024:.1f} MB")
    print()
    print(f"command: {command_line()}")


if __name__ == "__main__":
    main()
