"""Batch mode at scale, and what it costs.

``python -m benchmarks.batch`` (``--n 100000``): N generated articles from one JSONL file
through ``summarise run --batch``'s library path (:func:`pipeline.batch.run`, a store and a
``--out`` JSONL in a temp folder) in a child process, against
:class:`~pipeline.server.FakeOpenAIServer` in a third process: its Batch API on a fast
simulated clock, answering with the canned responder of ``benchmarks/_common.py`` (the
built-in model would make this a benchmark of itself). Faithfulness checks are off, as in
``benchmarks.memory``: with them, add what ``benchmarks.overhead`` measures for the scorer.

The parent samples the child's ``/proc/<pid>/status`` every half second and reports peak RSS
(``VmHWM``) and RSS by phase; the child reports, from its batch events, how long our side
spent per article: planning (reading the input, building each request line, claiming it in
the store, writing the job files), collecting (streaming the output files, parsing, schema
validation, storing each record), and writing the records out; and its CPU time per article.
Waiting for the provider is not our time and is reported apart.

``python -m benchmarks.batch --cost`` (``--n 1000``): the same N articles live
(:func:`pipeline.runner.run`) and batched, each in a fresh store, model ``gpt-4o-mini``,
then the cost of each from the store: the attempts' stored usage priced with the default
price table (each attempt at its tier: ``origin='batch'`` at the Batch API's price), next to
the sum of the records' ``cost_usd``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks._common import REPO, canned_responder, command_line, table, write_jsonl
from benchmarks.memory import status

MODEL = "gpt-4o-mini"


# -- the server, in its own process ------------------------------------------------------------


def serve(argv: list[str]) -> int:
    from pipeline.server import BatchConfig, FakeOpenAIServer, ServerConfig

    p = argparse.ArgumentParser(prog="python -m benchmarks.batch serve")
    p.add_argument("--files", required=True)
    args = p.parse_args(argv)
    config = ServerConfig(
        keep_requests=16,
        batch=BatchConfig(
            time_scale=100.0,
            validating_s=1.0,
            request_s=0.0,  # answered as fast as the server can: the client is measured
            finalizing_s=1.0,
            files_dir=args.files,
        ),
    )
    srv = FakeOpenAIServer(config, responder=canned_responder).start()
    print(f"listening on {srv.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        srv.stop()
    return 0


class Server:
    def __init__(self, folder: Path) -> None:
        cmd = [sys.executable, "-m", "benchmarks.batch", "serve", "--files", str(folder)]
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            raise RuntimeError(f"the server did not start: {line!r}")
        self.base_url = line.removeprefix("listening on ")

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# -- the client, in its own process ------------------------------------------------------------


def child(args: argparse.Namespace) -> int:
    from pipeline import batch, runner
    from pipeline.articles import iter_articles
    from pipeline.batch import BatchEvent, BatchSettings
    from pipeline.engine import RunSettings

    t0 = time.perf_counter()
    marks: dict[str, float] = {}
    collecting: dict[int, float] = {}
    spans = {"collect": 0.0}
    jobs = 0

    log = open(args.events, "a", encoding="utf-8")  # noqa: SIM115 - closed at exit

    def report(kind: str, **kw: Any) -> None:
        st = status(os.getpid())
        line = {"event": kind, "t": round(time.perf_counter() - t0, 3), "rss_kb": st.get("VmRSS")}
        log.write(json.dumps({**line, **kw}) + "\n")
        log.flush()

    def on_event(e: BatchEvent) -> None:
        nonlocal jobs
        now = time.perf_counter()
        if e.kind == "planned":
            marks["planned"] = now
            report("planned", message=e.message)
        elif e.kind == "submitted":
            jobs += 1
            marks.setdefault("first_submitted", now)
            marks["submitted"] = now
            report("submitted", message=e.message)
        elif e.kind == "collecting" and e.job is not None:
            collecting[e.job.id] = now
            report("collecting", message=e.message)
        elif e.kind == "collected" and e.job is not None:
            spans["collect"] += now - collecting.pop(e.job.id, now)
            marks["collected"] = now
            report("collected", message=e.message)
        elif e.kind in ("learnt", "split", "note", "resubmitted"):
            report(e.kind, message=e.message)

    options = runner.RunOptions(
        model=MODEL,
        base_url=args.base_url,
        db=args.db,
        timeout=300.0,
        settings=RunSettings(concurrency=8, check_faithfulness=False),
    )
    settings = BatchSettings(poll_interval_s=1.0, poll_cap_s=5.0, folder=Path(args.db).parent)
    with open(args.out, "w", encoding="utf-8") as out:
        write = runner.write_records(out)
        result = batch.run(
            iter_articles([args.input]), options, settings, on_record=write, on_event=on_event
        )
    end = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    summary = result.summary
    report(
        "done",
        n=summary.n,
        ok=summary.ok,
        batches=jobs,
        plan_s=marks["planned"] - t0,
        submit_s=marks["submitted"] - marks["planned"],
        collect_s=spans["collect"],
        emit_s=end - marks["collected"],
        wait_s=marks["collected"] - marks["submitted"] - spans["collect"],
        total_s=end - t0,
        cpu_s=usage.ru_utime + usage.ru_stime,
        hwm_kb=status(os.getpid()).get("VmHWM"),
    )
    return 0 if summary.ok == summary.n else 1


def scale(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = folder / "articles.jsonl"
        write_jsonl(src, args.n)
        (folder / "server").mkdir()
        with Server(folder / "server") as srv:
            cmd = [sys.executable, "-m", "benchmarks.batch", "--child", "--input", str(src)]
            cmd += ["--base-url", srv.base_url, "--db", str(folder / "client" / "store.db")]
            log = folder / "events.jsonl"
            cmd += ["--out", str(folder / "out.jsonl"), "--events", str(log)]
            (folder / "client").mkdir()
            log.touch()
            env = {**os.environ, "OPENAI_API_KEY": "sk-bench"}
            proc = subprocess.Popen(cmd, cwd=REPO, env=env)
            peak = 0
            events: list[dict[str, Any]] = []
            with log.open(encoding="utf-8") as feed:
                while True:
                    running = proc.poll() is None
                    st = status(proc.pid) if running else {}
                    peak = max(peak, st.get("VmHWM", 0))
                    for line in feed.readlines():
                        events.append(json.loads(line))
                        e = events[-1]
                        print(
                            f"  {e['t']:8.1f}s  {(e['rss_kb'] or 0) / 1024:6.1f} MB  "
                            f"{e['event']}  {e.get('message', '')}",
                            flush=True,
                        )
                    if not running:
                        break
                    time.sleep(0.5)
            records = sum(1 for _ in (folder / "out.jsonl").open("rb"))
    done = next(e for e in events if e["event"] == "done")
    n = done["n"]
    peak = max(peak, done.get("hwm_kb") or 0)
    per = {k: done[k] / n * 1000 for k in ("plan_s", "collect_s", "emit_s", "cpu_s")}
    print()
    print(
        f"{n:,} articles, {done['ok']:,} ok, {records:,} records out, {done['batches']} batches, "
        f"peak RSS (VmHWM) {peak / 1024:.0f} MB"
    )
    print()
    rows = [
        [
            "plan: read, build each line, claim it in the store, write the job files",
            f"{done['plan_s']:.1f}",
            f"{per['plan_s']:.3f}",
        ],
        ["upload and create (the provider's side included)", f"{done['submit_s']:.1f}", "-"],
        ["waiting for the provider (not our time)", f"{done['wait_s']:.1f}", "-"],
        [
            "collect: stream the files, parse, validate, store each record",
            f"{done['collect_s']:.1f}",
            f"{per['collect_s']:.3f}",
        ],
        ["write the records out, in input order", f"{done['emit_s']:.1f}", f"{per['emit_s']:.3f}"],
        ["CPU time of the whole client process", f"{done['cpu_s']:.1f}", f"{per['cpu_s']:.3f}"],
    ]
    print(table(["phase", "seconds", "ms / article"], rows))
    print()
    by_event = [(e["event"], e["rss_kb"] / 1024) for e in events]
    first = next((r for k, r in by_event if k == "planned"), 0.0)
    print(
        "RSS at each event (MB): "
        + ", ".join(f"{k} {r:.0f}" for k, r in by_event if k != "done")
        + f"; after planning {first:.0f}"
    )
    print()
    print(f"command: {command_line()}")


# -- cost: the same articles live and batched ---------------------------------------------------


def cost(args: argparse.Namespace) -> None:
    from pipeline import batch, prices, runner
    from pipeline.articles import iter_articles
    from pipeline.batch import BatchSettings
    from pipeline.engine import RunSettings

    table_ = prices.load_prices(None)
    out_rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        src = folder / "articles.jsonl"
        write_jsonl(src, args.n)
        (folder / "server").mkdir()
        os.environ["OPENAI_API_KEY"] = "sk-bench"
        with Server(folder / "server") as srv:
            results: dict[str, tuple[float, float, int, int]] = {}
            for how in ("live", "batched"):
                db = folder / how / "store.db"
                db.parent.mkdir()
                options = runner.RunOptions(
                    model=MODEL,
                    base_url=srv.base_url,
                    db=str(db),
                    settings=RunSettings(concurrency=16, check_faithfulness=False),
                )
                records: list[float] = []

                def add(r: Any, records: list[float] = records) -> None:
                    records.append(r.cost_usd or 0.0)

                if how == "live":
                    runner.run(
                        iter_articles([str(src)]),
                        options,
                        on_record=add,
                    )
                else:
                    batch.run(
                        iter_articles([str(src)]),
                        options,
                        BatchSettings(poll_interval_s=0.5, folder=db.parent),
                        on_record=add,
                    )
                con = sqlite3.connect(db)
                rows = con.execute(
                    "SELECT prompt_tokens, completion_tokens, cached_tokens, origin FROM attempts"
                ).fetchall()
                con.close()
                stored = 0.0
                pt = ct = 0
                for p, c, cached, origin in rows:
                    tier = "batch" if origin == "batch" else "standard"
                    stored += (
                        prices.cost_usd(table_, MODEL, p, c, cached_tokens=cached or 0, tier=tier)
                        or 0.0
                    )
                    pt, ct = pt + p, ct + c
                results[how] = (stored, sum(records), pt, ct)
    for how, (stored, rec, pt, ct) in results.items():
        out_rows.append([how, f"{pt:,}", f"{ct:,}", f"${stored:.4f}", f"${rec:.4f}"])
    ratio = results["batched"][0] / results["live"][0]
    print()
    print(f"{args.n:,} articles, model {MODEL}, default price table ({table_.taken}):")
    print()
    print(
        table(
            ["run", "tokens in", "tokens out", "cost from stored usage", "sum of cost_usd"],
            out_rows,
        )
    )
    print()
    print(f"batched / live = {ratio:.3f}")
    print()
    print(f"command: {command_line()}")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "serve":
        raise SystemExit(serve(sys.argv[2:]))
    p = argparse.ArgumentParser(prog="python -m benchmarks.batch")
    p.add_argument("--n", type=int)
    p.add_argument("--cost", action="store_true", help="live vs batched cost of the same articles")
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--input", help=argparse.SUPPRESS)
    p.add_argument("--base-url", help=argparse.SUPPRESS)
    p.add_argument("--db", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--events", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        raise SystemExit(child(args))
    if args.cost:
        args.n = args.n or 1_000
        cost(args)
    else:
        args.n = args.n or 100_000
        scale(args)


if __name__ == "__main__":
    main()
