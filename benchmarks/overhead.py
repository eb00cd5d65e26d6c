"""Client overhead: the engine (``summarise run``'s library path) against a minimal raw-SDK loop.

Both send the same requests (the engine's own request bodies, ``json_schema`` mode, strict
schema) to the same zero-latency :class:`~pipeline.server.FakeOpenAIServer` running in its own
process with the canned responder (``benchmarks/_common.py``; the built-in model's CPU time
would otherwise dominate), at the same concurrency:

- ``raw``: ``AsyncOpenAI.chat.completions.create`` under an ``asyncio.Semaphore``, then
  ``json.loads`` and the compiled validator's ``is_valid``. No store, no retries, no pacing.
  A second raw row passes ``response_format`` through ``extra_body``, as the engine does.
- ``engine``: :func:`pipeline.runner.run` with a fresh SQLite store in a temp folder (so
  nothing is cached), ``check_faithfulness=False``: pacing, the retry layer, re-ask checks,
  the store's per-result commit (record + attempts), in-order emission.
- ``engine + faithfulness``: the same with the faithfulness scorer on each record (it runs in
  a worker thread), timed separately on fewer articles.

Each repetition runs the variants back to back in alternating order; the first table gives
the median over repetitions of wall time per article and CPU time per article (this process
only: the server has its own process). ``gc.collect(); gc.freeze()`` runs before every variant
alike (the engine freezes the heap at the start of a run; the raw loop gets the same).

The second table is event-loop lag, measured where the loop is *not* saturated (server latency
50 ms, so the loop idles between answers and a late tick means something blocked it): a ticker
task asks to wake every 5 ms and records how late it wakes (p50 / p99 / max). At zero latency
the client is CPU-bound by design and every tick waits its turn behind ready callbacks, so lag
there says nothing about blocking.

Run from the repo root: ``python -m benchmarks.overhead`` (``--n``, ``--reps``,
``--concurrency``, ``--faith-n``; ``--ablate`` adds engine rows with the lease claims, the
answer journal and the record scrub switched off, to show what each costs).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks._common import command_line, make_articles, median, pct, server_process, table
from pipeline import runner
from pipeline.client import Endpoint
from pipeline.engine import RunSettings, Summariser
from pipeline.prompts import load_prompt
from pipeline.records import Record
from pipeline.schemas import load_schema

TICK_S = 0.005


@dataclass
class Sample:
    wall: float
    cpu: float
    n: int
    lags: list[float] = field(default_factory=list)


async def ticker(lags: list[float]) -> None:
    loop = asyncio.get_running_loop()
    due = loop.time() + TICK_S
    while True:
        await asyncio.sleep(max(0.0, due - loop.time()))
        now = loop.time()
        lags.append(now - due)
        due = now + TICK_S


def raw_loop(
    articles: list[Any],
    base_url: str,
    concurrency: int,
    *,
    lag: bool = False,
    extra_body: bool = False,
) -> Sample:
    prompt = load_prompt("summarise")
    schema = load_schema(prompt.schema)
    endpoint = Endpoint(model="gpt-bench", base_url=base_url, api_key="sk-bench")
    # only to build byte-identical request bodies; its client is the plain SDK client
    builder = Summariser(prompt, endpoint, settings=RunSettings(concurrency=concurrency))
    client = builder.client
    lags: list[float] = []

    async def go() -> None:
        tick = asyncio.ensure_future(ticker(lags)) if lag else None
        sem = asyncio.Semaphore(concurrency)

        async def one(article: Any) -> None:
            base = prompt.render(
                article.text, title=article.title, date=article.date, source=article.source
            )
            req = builder._request([dict(m) for m in base], prompt.max_output_tokens, "json_schema")
            if extra_body:  # as the engine passes it: same JSON, no typed-param transform
                req["extra_body"] = {"response_format": req.pop("response_format")}
            async with sem:
                completion = await client.chat.completions.create(**req)
            data = json.loads(completion.choices[0].message.content or "")
            if not schema.validator.is_valid(data):
                raise AssertionError("invalid answer")

        try:
            await asyncio.gather(*(one(a) for a in articles))
        finally:
            if tick is not None:
                tick.cancel()
            await client.close()

    gc.collect()
    gc.freeze()
    w0, c0 = time.perf_counter(), time.process_time()
    asyncio.run(go())
    return Sample(time.perf_counter() - w0, time.process_time() - c0, len(articles), lags)


def engine_run(
    articles: list[Any],
    base_url: str,
    concurrency: int,
    *,
    faithfulness: bool = False,
    lag: bool = False,
) -> Sample:
    lags: list[float] = []
    started: list[asyncio.Task[None]] = []
    ok = 0

    def on_record(record: Record) -> None:
        nonlocal ok
        ok += record.status == "ok"
        if lag and not started:  # called inside the run's event loop: start the ticker there
            started.append(asyncio.get_running_loop().create_task(ticker(lags)))

    with tempfile.TemporaryDirectory() as tmp:
        options = runner.RunOptions(
            model="gpt-bench",
            base_url=base_url,
            db=str(Path(tmp) / "store.db"),
            settings=RunSettings(concurrency=concurrency, check_faithfulness=faithfulness),
        )
        gc.collect()
        gc.freeze()
        w0, c0 = time.perf_counter(), time.process_time()
        runner.run(articles, options, on_record=on_record)
        sample = Sample(time.perf_counter() - w0, time.process_time() - c0, len(articles), lags)
    if ok != len(articles):
        raise AssertionError(f"only {ok} of {len(articles)} ok")
    return sample


@contextlib.contextmanager
def without(*parts: str) -> Iterator[None]:
    """The engine with some of its per-article safety work switched off, to see what each
    costs (``--ablate``; never how the tool runs): ``leases`` (the claim that keeps two runs
    from paying twice), ``journal`` (each answer stored the moment it arrives) and ``scrub``
    (secrets taken out of each record and attempt before it is stored)."""
    from pipeline import secrets
    from pipeline.store import _journal

    saved = (
        _journal.JournalMixin.claim,
        _journal.JournalMixin.save_answer,
        secrets.ScrubbingStore.save_result,
    )

    def unscrubbed(self: Any, *args: Any, **kw: Any) -> None:
        self._store.save_result(*args, **kw)

    if "leases" in parts:
        _journal.JournalMixin.claim = lambda self, key, holder, **kw: _journal.Claim(True)  # type: ignore[method-assign,assignment]
    if "journal" in parts:
        _journal.JournalMixin.save_answer = lambda self, *a, **kw: None  # type: ignore[method-assign]
    if "scrub" in parts:
        secrets.ScrubbingStore.save_result = unscrubbed  # type: ignore[method-assign]
    try:
        yield
    finally:
        (
            _journal.JournalMixin.claim,
            _journal.JournalMixin.save_answer,
            secrets.ScrubbingStore.save_result,
        ) = saved  # type: ignore[method-assign]


def ablated(articles: list[Any], concurrency: int, *parts: str) -> Callable[[str], Sample]:
    def go(url: str) -> Sample:
        with without(*parts):
            return engine_run(articles, url, concurrency)

    return go


def summarise_samples(samples: list[Sample]) -> dict[str, float]:
    lags = [x for s in samples for x in s.lags]
    return {
        "wall_ms": median([s.wall / s.n * 1000 for s in samples]),
        "cpu_ms": median([s.cpu / s.n * 1000 for s in samples]),
        "lag_p50": pct(lags, 0.5) * 1000,
        "lag_p99": pct(lags, 0.99) * 1000,
        "lag_max": max(lags) * 1000 if lags else float("nan"),
    }


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.overhead")
    p.add_argument("--n", type=int, default=3000, help="articles per repetition")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--concurrency", type=int, default=8)
    p.add_argument("--faith-n", type=int, default=600, help="articles for the scorer rows")
    p.add_argument("--lag-n", type=int, default=800, help="articles per lag run (50 ms server)")
    p.add_argument(
        "--ablate",
        action="store_true",
        help="add engine rows without the lease claims, the answer journal, the record scrub",
    )
    args = p.parse_args()
    os.environ["OPENAI_API_KEY"] = "sk-bench"
    articles = make_articles(args.n)
    few = articles[: args.faith_n]
    variants: dict[str, Callable[[str], Sample]] = {
        "raw SDK loop": lambda url: raw_loop(articles, url, args.concurrency),
        "raw SDK loop, response_format in extra_body": lambda url: raw_loop(
            articles, url, args.concurrency, extra_body=True
        ),
        "engine (runner.run + store)": lambda url: engine_run(articles, url, args.concurrency),
    }
    if args.ablate:
        for parts in (("leases",), ("journal",), ("scrub",), ("leases", "journal", "scrub")):
            name = "engine without " + ", ".join(parts)
            variants[name] = ablated(articles, args.concurrency, *parts)
    faith: dict[str, Callable[[str], Sample]] = {
        "engine, faithfulness off": lambda url: engine_run(few, url, args.concurrency),
        "engine, faithfulness on": lambda url: engine_run(
            few, url, args.concurrency, faithfulness=True
        ),
    }
    results: dict[str, list[Sample]] = {k: [] for k in [*variants, *faith]}
    with server_process() as srv:
        raw_loop(articles[:200], srv.base_url, args.concurrency)  # warm-up: imports, sockets
        engine_run(articles[:200], srv.base_url, args.concurrency)
        for rep in range(args.reps):
            order = list(variants) if rep % 2 == 0 else list(reversed(variants))
            for name in order:
                results[name].append(variants[name](srv.base_url))
            for name in list(faith) if rep % 2 == 0 else list(reversed(faith)):
                results[name].append(faith[name](srv.base_url))
            print(
                f"rep {rep + 1}/{args.reps}: "
                + ", ".join(
                    f"{k}: {v[-1].wall / v[-1].n * 1000:.3f} ms" for k, v in results.items()
                ),
                flush=True,
            )
    lag_variants: dict[str, Callable[[str], Sample]] = {
        "raw SDK loop": lambda url: raw_loop(
            articles[: args.lag_n], url, args.concurrency, lag=True
        ),
        "engine": lambda url: engine_run(articles[: args.lag_n], url, args.concurrency, lag=True),
        "engine, faithfulness on": lambda url: engine_run(
            articles[: args.lag_n], url, args.concurrency, faithfulness=True, lag=True
        ),
    }
    lag_results: dict[str, Sample] = {}
    with server_process(latency=0.05) as srv:
        for name, fn in lag_variants.items():
            lag_results[name] = fn(srv.base_url)

    stats = {k: summarise_samples(v) for k, v in results.items()}
    raw = stats["raw SDK loop"]
    rows = []
    for name, s in stats.items():
        base = raw if name in variants else stats["engine, faithfulness off"]
        rows.append(
            [
                name,
                f"{s['wall_ms']:.3f}",
                f"{s['wall_ms'] / base['wall_ms']:.2f}x",
                f"{s['cpu_ms']:.3f}",
                f"{s['cpu_ms'] / base['cpu_ms']:.2f}x",
            ]
        )
    print()
    print(
        f"Overhead: {args.n} articles per run ({args.faith_n} for the faithfulness rows), "
        f"concurrency {args.concurrency}, zero-latency server, median of {args.reps} "
        "interleaved runs"
    )
    print()
    headers = ["variant", "wall ms/article", "vs base", "CPU ms/article", "vs base"]
    print(table(headers, rows))
    print()
    print("base: the raw loop for the engine rows, faithfulness off for the last two")
    print()
    print(
        f"Event-loop lag: {args.lag_n} articles, concurrency {args.concurrency}, server latency "
        f"50 ms, a {TICK_S * 1000:.0f} ms ticker"
    )
    print()
    lag_rows = []
    for name, sample in lag_results.items():
        s = summarise_samples([sample])
        lag_rows.append(
            [
                name,
                f"{sample.n / sample.wall:.0f}",
                f"{s['lag_p50']:.2f}",
                f"{s['lag_p99']:.2f}",
                f"{s['lag_max']:.2f}",
            ]
        )
    print(table(["variant", "articles/s", "lag p50 ms", "lag p99 ms", "lag max ms"], lag_rows))
    print()
    print(f"command: {command_line()}")


if __name__ == "__main__":
    main()
