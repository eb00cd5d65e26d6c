"""Throughput against the bound ``min(C/L, RPM/60, TPM/(60*T))``, and the share of 429s.

Four cases, each against :class:`~pipeline.server.FakeOpenAIServer` in its own process with
the canned responder (``benchmarks/_common.py``):

- ``rpm``: the server allows 1200 RPM, latency 50 ms, client concurrency 32:
  bound = min(32/0.05, 1200/60) = 20 articles/s.
- ``tpm``: the server allows a TPM that fits 10 requests/s of this prompt (T tokens each, as
  the server counts them: prompt characters / 4 + max_tokens), latency 50 ms, concurrency 32.
- ``concurrency-1s``: no server limit, latency 1 s (a language model's answer takes 1-10 s),
  concurrency 32: bound = 32/1 = 32/s. The realistic concurrency-limited case.
- ``concurrency``: no server limit, latency 100 ms, concurrency 8: bound = 8/0.1 = 80/s. A
  stress case: at 80 requests/s the SDK's fixed CPU per request (~1.3 ms here) shows.

The server's limiter (``pipeline/server/_limits.py``, ``_app.py``): one token bucket for
requests and one for tokens, each refilling continuously at limit/60 per second and holding
``burst_window_s`` seconds' worth (the server's default, 60 s, lets a full minute's quota go at
once). Both are charged when a request *arrives* (before the latency), a request that does not
fit is answered 429 with ``retry-after(-ms)`` = the time until it fits, and every response
carries ``x-ratelimit-limit/remaining/reset-*``. These runs use ``burst_window_s = 1``: a
strict server that holds one second's worth, so a client can only reach the bound by pacing,
not by spending a minute's burst.

Beside the engine (:func:`pipeline.runner.run`, fresh store, ``check_faithfulness=False``; with
no ``--rpm``/``--tpm``, i.e. paced by the server's headers alone, and with the limit given),
two naive loops on the plain SDK with its default retries (``max_retries=2``, which honour
``retry-after``): one request at a time, and every article at once through
``asyncio.gather`` (the connection pool opened to 1000). An article that still fails after the
SDK's retries is lost to them. The concurrency cases add the raw SDK loop of ``overhead.py``
held to the same C (a semaphore, no retries, no store).

Throughput is reported two ways: ``total``: ok articles / wall time of the whole run (start-up
and tail included); ``steady``: ok articles completed between 5 s after the start and the last
completion, divided by that window (client-side completion times); where completions arrive
in rounds of C (the concurrency cases) it can read up to one round high, which the concurrency
cases print. 429 share: 429 answers / all chat requests the server saw.

Run from the repo root: ``python -m benchmarks.throughput`` (``--seconds`` sets each run's
target length, ``--cases rpm,tpm,concurrency-1s,concurrency`` selects and orders the cases).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2
import openai

from benchmarks._common import (
    ServerProcess,
    command_line,
    make_articles,
    server_process,
    table,
)
from pipeline import runner
from pipeline.client import Endpoint
from pipeline.engine import RunSettings, Summariser
from pipeline.prompts import load_prompt
from pipeline.records import Record
from pipeline.schemas import load_schema

WARMUP_S = 5.0
CASES = ("rpm", "tpm", "concurrency-1s", "concurrency")


@dataclass
class Result:
    name: str
    ok: int = 0
    failed: int = 0
    wall: float = 0.0
    done_at: list[float] = field(default_factory=list)  # seconds from start, ok articles
    requests: int = 0
    r429: int = 0
    note: str = ""

    @property
    def total_rate(self) -> float:
        return self.ok / self.wall if self.wall else 0.0

    @property
    def steady_rate(self) -> float:
        ts = sorted(self.done_at)
        window = [t for t in ts if t >= WARMUP_S]
        if len(window) < 2:
            return float("nan")
        return (len(window) - 1) / (window[-1] - window[0])


def engine(
    articles: list[Any], srv: ServerProcess, concurrency: int, **limits: float | None
) -> Result:
    res = Result("engine")
    t0 = time.perf_counter()

    def on_record(record: Record) -> None:
        if record.status == "ok":
            res.ok += 1
            res.done_at.append(time.perf_counter() - t0)
        else:
            res.failed += 1

    with tempfile.TemporaryDirectory() as tmp:
        options = runner.RunOptions(
            model="gpt-bench",
            base_url=srv.base_url,
            db=str(Path(tmp) / "store.db"),
            settings=RunSettings(concurrency=concurrency, check_faithfulness=False, **limits),
        )
        t0 = time.perf_counter()
        runner.run(articles, options, on_record=on_record)
        res.wall = time.perf_counter() - t0
    return res


def _requests(articles: list[Any], base_url: str) -> list[dict[str, Any]]:
    """The engine's request bodies (json_schema mode), for the naive loops."""
    prompt = load_prompt("summarise")
    builder = Summariser(prompt, Endpoint(model="gpt-bench", base_url=base_url, api_key="k"))
    out = []
    for a in articles:
        base = prompt.render(a.text, title=a.title, date=a.date, source=a.source)
        out.append(
            builder._request([dict(m) for m in base], prompt.max_output_tokens, "json_schema")
        )
    return out


def naive(articles: list[Any], srv: ServerProcess, *, gather: bool, budget_s: float) -> Result:
    res = Result("naive gather" if gather else "naive sequential")
    bodies = _requests(articles, srv.base_url)
    limits = httpx2.Limits(max_connections=1000, max_keepalive_connections=1000)

    async def go() -> None:
        client = openai.AsyncOpenAI(
            base_url=srv.base_url,
            api_key="sk-bench",
            http_client=httpx2.AsyncClient(limits=limits, timeout=120),
        )  # the SDK's defaults otherwise: max_retries=2, honouring retry-after
        t0 = time.perf_counter()

        async def one(req: dict[str, Any]) -> None:
            try:
                await client.chat.completions.create(**req)
            except openai.APIError:
                res.failed += 1
                return
            res.ok += 1
            res.done_at.append(time.perf_counter() - t0)

        try:
            if gather:
                await asyncio.gather(*(one(b) for b in bodies))
            else:
                for b in bodies:
                    if time.perf_counter() - t0 > budget_s:
                        res.note = f"stopped after {budget_s:.0f} s ({res.ok + res.failed} sent)"
                        break
                    await one(b)
        finally:
            res.wall = time.perf_counter() - t0
            await client.close()

    asyncio.run(go())
    return res


def bounded_raw(articles: list[Any], srv: ServerProcess, concurrency: int) -> Result:
    """The minimal loop the engine is measured against in ``overhead.py``: the SDK with no
    retries under a semaphore of C, the compiled validator on each answer, no store."""
    res = Result(f"raw SDK loop, semaphore of {concurrency}")
    bodies = _requests(articles, srv.base_url)
    schema = load_schema(load_prompt("summarise").schema)

    async def go() -> None:
        client = openai.AsyncOpenAI(base_url=srv.base_url, api_key="sk-bench", max_retries=0)
        sem = asyncio.Semaphore(concurrency)
        t0 = time.perf_counter()

        async def one(req: dict[str, Any]) -> None:
            async with sem:
                completion = await client.chat.completions.create(**req)
            if schema.validator.is_valid(json.loads(completion.choices[0].message.content or "")):
                res.ok += 1
                res.done_at.append(time.perf_counter() - t0)
            else:
                res.failed += 1

        try:
            await asyncio.gather(*(one(b) for b in bodies))
        finally:
            res.wall = time.perf_counter() - t0
            await client.close()

    asyncio.run(go())
    return res


def measure(srv: ServerProcess, fn: Callable[[], Result]) -> Result:
    time.sleep(2.0)  # let the server's buckets refill (they hold one second's worth)
    srv.reset()
    res = fn()
    stats = srv.stats()
    res.requests = int(stats["chat_requests"])
    res.r429 = int(stats["by_status"].get("429", 0))
    return res


def tokens_per_request(articles: list[Any], srv: ServerProcess) -> float:
    """T: the tokens the server charges for one of these requests (prompt/4 + max_tokens)."""
    srv.reset()
    naive(articles[:5], srv, gather=False, budget_s=60)
    stats = srv.stats()
    return float(stats["tokens"]) / max(1, int(stats["chat_requests"]))


def run_case(case: str, seconds: float) -> tuple[str, list[Result], float, str]:
    os.environ["OPENAI_API_KEY"] = "sk-bench"
    if case == "rpm":
        c, latency, rpm = 32, 0.05, 1200
        bound = min(c / latency, rpm / 60)
        arts = make_articles(int(bound * seconds))
        title = f"rate-limited: server 1200 RPM (1 s burst), latency 50 ms, C={c}"
        with server_process(latency=latency, rpm=rpm, burst=1.0) as srv:
            results = [
                measure(srv, lambda: engine(arts, srv, c)),
                measure(srv, lambda: engine(arts, srv, c, rpm=float(rpm))),
                measure(srv, lambda: naive(arts, srv, gather=False, budget_s=seconds)),
                measure(srv, lambda: naive(arts, srv, gather=True, budget_s=seconds)),
            ]
        results[0].name, results[1].name = "engine, no --rpm (headers)", f"engine, --rpm {rpm}"
        return title, results, bound, ""
    if case == "tpm":
        c, latency = 32, 0.05
        probe_arts = make_articles(5)
        with server_process(latency=latency) as srv:
            t = tokens_per_request(probe_arts, srv)
        tpm = int(10 * 60 * t)  # 10 requests/s of this prompt
        bound = min(c / latency, tpm / (60 * t))
        arts = make_articles(int(bound * seconds))
        title = (
            f"token-limited: server {tpm:,} TPM (1 s burst), T = {t:.0f} tokens/request, "
            f"latency 50 ms, C={c}"
        )
        with server_process(latency=latency, tpm=tpm, burst=1.0) as srv:
            results = [
                measure(srv, lambda: engine(arts, srv, c)),
                measure(srv, lambda: engine(arts, srv, c, tpm=float(tpm))),
                measure(srv, lambda: naive(arts, srv, gather=False, budget_s=seconds)),
                measure(srv, lambda: naive(arts, srv, gather=True, budget_s=seconds)),
            ]
        results[0].name, results[1].name = "engine, no --tpm (headers)", f"engine, --tpm {tpm}"
        return title, results, bound, ""
    if case == "concurrency-1s":
        return _concurrency_case(32, 1.0, seconds)
    return _concurrency_case(8, 0.1, seconds)


def _concurrency_case(
    c: int, latency: float, seconds: float
) -> tuple[str, list[Result], float, str]:
    bound = c / latency
    arts = make_articles(int(bound * seconds))
    ms = latency * 1000
    title = f"concurrency-limited: no server limit, latency {ms:.0f} ms, C={c}"
    with server_process(latency=latency) as srv:
        results = [
            measure(srv, lambda: engine(arts, srv, c)),
            measure(srv, lambda: bounded_raw(arts, srv, c)),
            measure(srv, lambda: naive(arts, srv, gather=False, budget_s=seconds / 2)),
            measure(srv, lambda: naive(arts, srv, gather=True, budget_s=seconds)),
        ]
    results[0].name = "engine"
    results[3].note = "unbounded: not held to C, so not comparable with the C/L bound"
    seq = results[2]
    l_obs = seq.wall / max(1, seq.ok)  # the round trip one request at a time really takes
    eng = results[0]
    extra = (
        f"The round trip the sequential loop measured is {l_obs * 1000:.1f} ms (the server's "
        f"{ms:.0f} ms plus both sides' processing), so C/L with the measured L is "
        f"{c / l_obs:.1f}/s: the engine's total rate is {eng.total_rate / (c / l_obs):.1%} "
        f"of that, its steady rate {eng.steady_rate / (c / l_obs):.1%}."
    )
    window = [t for t in sorted(eng.done_at) if t >= WARMUP_S]
    if len(window) >= 2:
        span = window[-1] - window[0]
        extra += (
            f" Completions arrive in rounds of up to C={c} every ~{ms:.0f} ms (a fixed latency "
            f"keeps the requests in step), so the steady column (completions - 1 over the span "
            f"from the first to the last in the window) can read up to one round high: for the "
            f"engine {c} / ({span:.1f} s x {bound:.0f}/s) = {c / (span * bound):.1%} of the "
            f"bound."
        )
    return title, results, bound, extra


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.throughput")
    p.add_argument("--seconds", type=float, default=40.0, help="target length of each run")
    p.add_argument(
        "--cases",
        default=",".join(CASES),
        help=f"comma-separated, from {', '.join(CASES)} (default: all, in that order)",
    )
    args = p.parse_args()
    cases = [x.strip() for x in args.cases.split(",") if x.strip()]
    unknown = [x for x in cases if x not in CASES]
    if unknown:
        p.error(f"unknown case(s) {', '.join(unknown)}; choose from {', '.join(CASES)}")
    for case in cases:
        title, results, bound, extra = run_case(case, args.seconds)
        rows = []
        for r in results:
            share = r.r429 / r.requests if r.requests else 0.0
            rows.append(
                [
                    r.name,
                    f"{r.ok}",
                    f"{r.failed}",
                    f"{r.wall:.1f}",
                    f"{r.total_rate:.2f}",
                    f"{r.total_rate / bound:.1%}",
                    f"{r.steady_rate:.2f}",
                    f"{r.steady_rate / bound:.1%}",
                    f"{r.requests}",
                    f"{share:.2%}",
                    r.note,
                ]
            )
        print()
        print(f"### {title}; bound {bound:.1f} articles/s")
        print()
        print(
            table(
                [
                    "client",
                    "ok",
                    "failed",
                    "wall s",
                    "total ok/s",
                    "of bound",
                    "steady ok/s",
                    "of bound",
                    "requests",
                    "429 share",
                    "note",
                ],
                rows,
            ),
            flush=True,
        )
        if extra:
            print()
            print(extra, flush=True)
    print()
    print(f"command: {command_line()}")


if __name__ == "__main__":
    main()
