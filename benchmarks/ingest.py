"""Web ingest throughput against a local site with 200 ms latency: pages fetched per second at
the per-host limit, and a 1,000-entry feed polled twice (the second time with conditional
requests only), then once more with ``--new``.

    python -m benchmarks.ingest                 # about 4 minutes
    python -m benchmarks.ingest --pages 100 --entries 200 --latency 0.2   # quicker

The site (:class:`pipeline.web._site.LocalSite`) runs **in its own process** on 127.0.0.1, so
the client's CPU (fetching, decompressing, extracting with trafilatura) and the server's do
not share one interpreter; every answer waits ``--latency`` seconds before it is sent. Pages
are the BBC articles of ``benchmarks/data`` in a news-site template (navigation, share links,
related stories, footer), gzip-encoded, each with an ETag and a Last-Modified. The bound for
one host is ``per_host / latency`` pages a second.

Rows:

- **pages**: ``WebSource`` over ``--pages`` page URLs on one host (fetch + extraction, no
  model), at ``--per-host`` 4 (the default) and 8.
- **feed, poll 1 / poll 2 / poll 3 --new**: ``summarise run FEED`` (the library path,
  ``pipeline.runner.run``, built-in model, one store) over a feed of ``--entries`` entries:
  the first poll fetches everything; the second sends conditional requests and is answered
  304 (no body, no extraction; records from the store); the third, with ``--new``, does not
  fetch the known entries at all.
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import multiprocessing as mp
import sys
import tempfile
import time
import urllib.request
from email.utils import formatdate
from pathlib import Path
from typing import Any

from benchmarks._common import REPO

DATA = REPO / "benchmarks" / "data" / "bbc_news_summary.jsonl.gz"


def _stories(n: int) -> list[tuple[str, list[str]]]:
    out = []
    with gzip.open(DATA, "rt", encoding="utf-8") as fh:
        for line in fh:
            row = json.loads(line)
            paras = [p.strip() for p in row["article"].split("\n") if p.strip()][1:]
            out.append((row["title"], paras))
    return [out[i % len(out)] for i in range(n)]


def _page(title: str, paras: list[str], n: int) -> str:
    body = "".join(f"<p>{html.escape(p)}</p>" for p in paras)
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        '<meta property="og:site_name" content="Example News">'
        f'<meta property="article:published_time" content="2025-03-{1 + n % 28:02d}T09:00:00Z">'
        f"<title>{html.escape(title)} - Example News</title></head><body>"
        '<header><a href="/">Home</a><nav><a href="/uk">UK</a> <a href="/world">World</a></nav>'
        f"</header><main><article><h1>{html.escape(title)}</h1>{body}</article>"
        '<aside><h2>Related</h2><ul><li><a href="/r1">Markets fall</a></li></ul></aside></main>'
        "<footer>© 2025 Example News</footer></body></html>"
    )


def _serve(latency: float, n_pages: int, n_entries: int, port_box: Any) -> None:
    from pipeline.web._site import LocalSite

    stories = _stories(max(n_pages, n_entries))
    with LocalSite(latency_s=latency, admin=True) as site:
        site.add(
            "/robots.txt", "User-agent: *\nAllow: /\n", content_type="text/plain", conditional=True
        )
        for n, (title, paras) in enumerate(stories):
            site.add(f"/p/{n}", _page(title, paras, n), conditional=True, encoding="gzip")
        items = []
        for n in range(n_entries):
            title = html.escape(stories[n][0])
            stamp = formatdate(1_740_000_000 - n * 60, usegmt=True)
            items.append(
                f"<item><title>{title}</title><link>{site.url(f'/p/{n}')}</link>"
                f"<pubDate>{stamp}</pubDate></item>"
            )
        feed = (
            '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>Example News</title>" + "".join(items) + "</channel></rss>"
        )
        site.add("/feed.xml", feed, content_type="application/rss+xml", conditional=True)
        port_box.put(site.url("/"))
        while True:
            time.sleep(3600)


def _admin(base: str, what: str) -> dict[str, Any]:
    with urllib.request.urlopen(base + "_site/" + what, timeout=30) as r:  # noqa: S310 - loopback
        return dict(json.loads(r.read()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=200)
    ap.add_argument("--entries", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.2)
    args = ap.parse_args(argv)

    from pipeline import runner
    from pipeline.engine import RunSettings
    from pipeline.web import WebOptions, WebSource

    box: Any = mp.get_context("spawn").Queue()
    proc = mp.get_context("spawn").Process(
        target=_serve, args=(args.latency, args.pages, args.entries, box), daemon=True
    )
    proc.start()
    base = box.get(timeout=300)
    rows = []
    try:
        for per_host in (4, 8):
            with tempfile.TemporaryDirectory() as tmp:
                _admin(base, "reset")
                urls = [f"{base}p/{n}" for n in range(args.pages)]
                source = WebSource(
                    urls, options=WebOptions(per_host=per_host), db=Path(tmp) / "s.db"
                )
                started = time.perf_counter()
                got = list(source)
                seconds = time.perf_counter() - started
                counts = _admin(base, "stats")
                bound = per_host / args.latency
                rows.append(
                    (
                        f"pages, per-host {per_host}",
                        len(got),
                        seconds,
                        f"{len(got) / seconds:.1f} pages/s (bound {bound:.0f}: "
                        f"{len(got) / seconds / bound:.0%}); {counts['max_in_flight']} in flight "
                        "at most",
                        counts,
                    )
                )
        with tempfile.TemporaryDirectory() as tmp:
            db = str(Path(tmp) / "s.db")
            feed = base + "feed.xml"
            for label, new in (
                ("feed, poll 1", False),
                ("feed, poll 2", False),
                ("feed, poll 3 --new", True),
            ):
                _admin(base, "reset")
                options = runner.RunOptions(
                    db=db, settings=RunSettings(concurrency=8), new=new, dedupe=True
                )
                records: list[Any] = []
                source = WebSource([feed], db=db)
                started = time.perf_counter()
                summary = runner.run(source, options, on_record=records.append)
                seconds = time.perf_counter() - started
                counts = _admin(base, "stats")
                rows.append(
                    (
                        label,
                        summary.n,
                        seconds,
                        f"{summary.cached} from the store, {source.stats.pages} pages extracted, "
                        f"{source.stats.skipped} skipped as known",
                        counts,
                    )
                )
    finally:
        proc.terminate()

    print(
        f"`python -m benchmarks.ingest --pages {args.pages} --entries {args.entries} "
        f"--latency {args.latency}`\n"
    )
    print(
        f"Local site in its own process, {args.latency * 1000:.0f} ms a response; gzip pages "
        "with ETag and Last-Modified.\n"
    )
    print("| run | records | seconds | requests (304) | bytes received | notes |")
    print("| --- | ---: | ---: | ---: | ---: | --- |")
    for label, n, seconds, note, counts in rows:
        n304 = counts["statuses"].get("304", 0)
        print(
            f"| {label} | {n:,} | {seconds:.1f} | {counts['requests']:,} ({n304:,}) | "
            f"{counts['bytes']:,} | {note} |"
        )
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
