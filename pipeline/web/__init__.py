"""Web input: pages and feeds to the same :class:`~pipeline.articles.Article` items the file
loaders yield; the engine never learns where an article came from.

``summarise run URL ...`` and ``--urls FILE``: an HTML page is one article (main text and
metadata by :func:`pipeline.articles.html_article`), an RSS or Atom feed one article per entry
chosen (newest first, ``--limit``), every failure one ``bad_input`` item naming the address
and why. Fetching is polite and bounded (``httpx2``: a User-Agent naming the tool, robots.txt
honoured, at most ``per_host`` requests per origin at once, redirects, size, time and
retries bounded), and conditional: what the store kept for an address answers a 304.
``--new`` leaves out what an earlier run summarised (by canonical URL and by content hash);
near-duplicate detection gives a later copy of a story the first copy's summary.

Modules, one job each
---------------------
``_urls`` (URL or path, canonical URLs, origins), ``_fetch`` (:class:`Fetcher`,
:class:`WebOptions`: HTTP), ``_robots`` (robots.txt), ``_feeds`` (feedparser, entries newest
first), ``_state`` (the store's web tables and queries), ``_ingest`` (:class:`WebSource`:
inputs to items, in order, fetching ahead), ``_new`` (:class:`NewOnly`: ``--new``),
``_dedupe`` (:class:`Dedupe`: syndicated copies summarised once, MinHash + LSH), ``_site``
(:class:`LocalSite`: a local web site for tests and benchmarks).
"""

from __future__ import annotations

from pipeline.web._dedupe import Dedupe, Fingerprint
from pipeline.web._feeds import Entry, Feed, newest, parse_feed
from pipeline.web._fetch import USER_AGENT, Fetcher, FetchFailed, WebOptions
from pipeline.web._ingest import EXTRACTOR_VERSION, WebSource, WebStats
from pipeline.web._new import NewOnly
from pipeline.web._state import WebState
from pipeline.web._urls import canonical_url, is_url, origin

__all__ = [
    "EXTRACTOR_VERSION",
    "USER_AGENT",
    "Dedupe",
    "Entry",
    "Feed",
    "FetchFailed",
    "Fetcher",
    "Fingerprint",
    "NewOnly",
    "WebOptions",
    "WebSource",
    "WebState",
    "WebStats",
    "canonical_url",
    "is_url",
    "newest",
    "origin",
    "parse_feed",
]
