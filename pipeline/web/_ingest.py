"""Inputs to items: paths are read as files (``pipeline.articles``), URLs are fetched, and a
feed becomes its entries; one item per article, in input order, streaming.

:class:`WebSource` is both an async iterable (the live engine consumes it in its own loop, so
pages are fetched while the model works) and a plain iterable (batch mode and ``compare``;
the fetching then runs in a thread of its own). Up to ``window`` addresses are fetched ahead
of the consumer; the order of the items is the order of the inputs, and within a feed, the
order of :func:`~pipeline.web._feeds.newest`.

What becomes of an address:

- an HTML page: one article (:func:`pipeline.articles.html_article`; the record's ``source``
  is the address as given, ``url`` the page's canonical address);
- a feed: one article per entry chosen (``--limit``), each entry's link fetched unless the
  entry holds the whole article; metadata the page lacks comes from the entry and the feed
  (title, date, author; the feed's title as the site name);
- ``text/plain``: one article, read as a ``.txt`` file;
- anything else, and every failure (robots.txt, DNS, refused, timeouts, 4xx, 5xx after
  retries, too large, binary, no article text, not a feed, an entry linking to a feed, an
  entry with neither link nor text): one ``bad_input`` item naming the address and why.

A 304 answer rebuilds the item from what the store kept for that address (no body, no
extraction). With :meth:`WebSource.skip_known`, an address already summarised is not fetched
at all (``--new``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import hashlib
import json
import queue
import threading
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import httpx2

from pipeline.articles import Article, BadInput, html_article, iter_articles, load_article_text
from pipeline.articles._decode import _looks_binary
from pipeline.store import Store
from pipeline.web._feeds import Entry, Feed, looks_like_feed, newest, parse_feed
from pipeline.web._fetch import ROBOTS_AGENT, Fetched, Fetcher, FetchFailed, WebOptions
from pipeline.web._robots import Robots
from pipeline.web._state import Stored, WebState
from pipeline.web._urls import canonical_url, is_url

Item = Article | BadInput
Job = Callable[[], Awaitable[list[Any]]]  # -> items and further jobs, in order

#: the extraction's version: a page stored by another version is fetched and extracted again
EXTRACTOR_VERSION = 1
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_UNKNOWN_TYPES = frozenset({None, "application/octet-stream", "binary/octet-stream"})


@dataclass
class WebStats:
    requests: int = 0  # HTTP requests sent (robots.txt and retries included)
    not_modified: int = 0  # 304 answers
    pages: int = 0  # pages extracted (200 answers)
    skipped: int = 0  # addresses not fetched: already summarised (--new)


def _bad(source: str, reason: str, url: str | None = None) -> BadInput:
    ident = hashlib.sha256(source.encode("utf-8", "replace")).hexdigest()[:16]
    return BadInput(id=ident, source=source, message=f"{source}: {reason}", url=url)


def _item_json(item: Item) -> bytes:
    if isinstance(item, BadInput):
        reason = item.message.removeprefix(item.source + ": ")
        data: dict[str, Any] = {"_bad": reason, "url": item.url}
    else:
        data = dataclasses.asdict(item)
    return json.dumps(data, ensure_ascii=False).encode("utf-8")


def _item_from(payload: bytes, source: str) -> Item:
    data = json.loads(payload)
    if "_bad" in data:
        return _bad(source, data["_bad"], data.get("url"))
    data["source"] = source
    known = {f.name for f in dataclasses.fields(Article)}
    return Article(**{k: v for k, v in data.items() if k in known})


class WebSource:
    """Paths and URLs, in order, to one item per article (see the module docstring)."""

    def __init__(
        self,
        inputs: Sequence[str | Path],
        *,
        options: WebOptions | None = None,
        db: str | Path | None = None,
        stdin: IO[bytes] | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        url_files: Sequence[str | Path] = (),
        exclude: Sequence[str | Path] = (),
    ) -> None:
        self.inputs = list(inputs)
        self.exclude = list(exclude)  # files a folder walk skips (a run's own --out)
        self.url_files = [Path(f) for f in url_files]
        self.options = options or WebOptions()
        self.db = db
        self.stdin = stdin
        self.transport = transport
        self.stats = WebStats()
        self._known: Callable[[str], bool] | None = None
        self._state: WebState | None = None
        self._fetcher: Fetcher | None = None
        self._robots: Robots | None = None

    def skip_known(self, known: Callable[[str], bool]) -> None:
        """Do not fetch an address when ``known(canonical address)`` (summarised before)."""
        self._known = known

    @property
    def has_urls(self) -> bool:
        return bool(self.url_files) or any(is_url(str(i)) for i in self.inputs)

    # -- iteration ------------------------------------------------------------------------------
    def __aiter__(self) -> AsyncIterator[Item]:
        return self._items()

    def __iter__(self) -> Iterator[Item]:
        if not self.has_urls:  # nothing to fetch: no thread, no loop
            return iter_articles(self.inputs, stdin=self.stdin, exclude=self.exclude)
        return _in_thread(self._items, self.options.window)

    async def _items(self) -> AsyncIterator[Item]:
        store = Store(self.db) if self.has_urls else None
        try:
            self._state = WebState(store) if store is not None else None
            async with Fetcher(self.options, transport=self.transport) as fetcher:
                self._fetcher = fetcher
                self._robots = Robots(self._robots_txt, ROBOTS_AGENT)
                try:
                    async for item in _ordered(self._jobs(), self.options.window):
                        yield item
                finally:
                    self.stats.requests = fetcher.requests
                    self.stats.not_modified = fetcher.not_modified
        finally:
            if store is not None:
                store.close()

    def _jobs(self) -> Iterator[Item | Job]:
        for given in self.inputs:
            text = str(given).strip()
            if is_url(text):
                yield _guarded(text, functools.partial(self._address, text))
            else:
                yield from iter_articles([given], stdin=self.stdin, exclude=self.exclude)
        for path in self.url_files:
            yield from self._url_file(path)

    def _url_file(self, path: Path) -> Iterator[Item | Job]:
        """``--urls FILE``: one address per line (blank lines and ``#`` comments skipped),
        read line by line; a line that is not an http(s) URL is that line's bad input."""
        try:
            with path.open("rb") as f:
                for number, raw in enumerate(f, start=1):
                    line = raw.decode("utf-8", "replace").strip().lstrip("\ufeff")
                    if not line or line.startswith("#"):
                        continue
                    if is_url(line):
                        yield _guarded(line, functools.partial(self._address, line))
                    else:
                        where = f"{path}:{number}"
                        yield _bad(where, "not an http(s) URL; give one URL per line")
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            yield _bad(str(path), f"cannot read the URL list ({reason})")

    # -- one address ----------------------------------------------------------------------------
    def _skip(self, url: str) -> bool:
        if self._known is not None and self._known(canonical_url(url)):
            self.stats.skipped += 1
            return True
        return False

    async def _address(self, url: str) -> list[Any]:
        """A top-level address: a page, a feed (its entries, as further jobs) or a failure."""
        if self._skip(url):
            return []
        try:
            got, stored = await self._get(url, kinds=("page", "text", "feed"))
        except FetchFailed as exc:
            return [_bad(url, exc.reason, url)]
        if stored is not None:  # 304: what this address gave last time
            if stored.kind == "feed":
                return self._entries(url, stored.payload, got.url, None)
            item = _item_from(stored.payload, url)
            self._note(item, url, got.url)
            return [item]
        kind = _kind(got)
        assert got.body is not None
        if kind == "feed":
            self._keep(got, "feed", got.body)
            return self._entries(url, got.body, got.url, got.content_type)
        return [await self._page(url, got, kind)]

    def _entries(self, url: str, body: bytes, final: str, content_type: str | None) -> list[Any]:
        feed = parse_feed(body, url=final, content_type=content_type)
        if isinstance(feed, str):
            return [_bad(url, feed, url)]
        return [
            _guarded(e.link or url, functools.partial(self._entry, url, feed, e))
            for e in newest(feed.entries, self.options.limit)
        ]

    async def _entry(self, feed_url: str, feed: Feed, entry: Entry) -> list[Any]:
        source = entry.link or f"{feed_url}#{entry.id or entry.position}"
        own = entry.whole_content
        if entry.link and own is None:
            if self._skip(entry.link):
                return []
            try:
                got, stored = await self._get(entry.link, kinds=("page", "text", "feed"))
            except FetchFailed as exc:
                return [_bad(source, exc.reason, entry.link)]
            item: Item
            if stored is not None and stored.kind == "feed":
                item = _bad(source, "the entry links to a feed, not an article", entry.link)
            elif stored is not None:
                item = _item_from(stored.payload, source)
            else:
                kind = _kind(got)
                if kind == "feed":
                    item = _bad(source, "the entry links to a feed, not an article", entry.link)
                else:
                    item = await self._page(source, got, kind, note=False, date=entry.published)
            final = got.url
        else:
            html = own or entry.content or entry.summary
            if not html:
                return [_bad(source, "the feed entry has neither a link nor any text", None)]
            if entry.link and self._skip(entry.link):
                return []
            item = await asyncio.to_thread(
                html_article, source, html.encode("utf-8"), url=entry.link, date=entry.published
            )
            final = entry.link or feed_url
        if isinstance(item, Article):
            item = dataclasses.replace(
                item,
                title=item.title or entry.title,
                date=item.date or entry.published,
                author=item.author or entry.author,
                site_name=item.site_name or feed.title,
                url=item.url or entry.link,
            )
            self._note(item, entry.link, final)
        return [item]

    async def _page(
        self, source: str, got: Fetched, kind: str, *, note: bool = True, date: str | None = None
    ) -> Item:
        assert got.body is not None
        item: Item
        if kind == "page":
            item = await asyncio.to_thread(
                html_article, source, got.body, url=got.url, charset=got.charset, date=date
            )
            self.stats.pages += 1
        elif kind == "text":
            item = next(iter(load_article_text(source, got.body, suffix=".txt")))
        else:
            item = _bad(source, kind, got.url)
        if isinstance(item, Article) and item.url is None:
            item = dataclasses.replace(item, url=got.url)
        if isinstance(item, BadInput) and item.url is None:
            item = dataclasses.replace(item, url=got.url)
        if kind in ("page", "text"):
            self._keep(got, kind, _item_json(item))
        if note:
            self._note(item, source, got.url)
        return item

    # -- the store ------------------------------------------------------------------------------
    async def _get(
        self, url: str, *, kinds: tuple[str, ...], robots: bool = True
    ) -> tuple[Fetched, Stored | None]:
        """Fetch ``url``, conditionally where the store kept validators (for an answer of one
        of ``kinds``) for an address on the way; on 304 also return what the store kept for
        the address that answered."""
        assert self._fetcher is not None and self._robots is not None
        state = self._state
        kept: dict[str, Stored] = {}

        def validators(address: str) -> tuple[str | None, str | None] | None:
            stored = state.stored(address) if state is not None else None
            if stored is None or stored.version != EXTRACTOR_VERSION or stored.kind not in kinds:
                return None
            if not (stored.etag or stored.last_modified):
                return None
            kept[address] = stored
            return stored.etag, stored.last_modified

        gate = self._robots.refusal if robots else None
        got = await self._fetcher.get(url, validators=validators, gate=gate)
        if got.status == 304:
            return got, kept[got.url]
        return got, None

    def _keep(self, got: Fetched, kind: str, payload: bytes) -> None:
        if self._state is None:
            return
        if got.etag or got.last_modified:
            self._state.remember(
                got.url,
                kind=kind,
                version=EXTRACTOR_VERSION,
                etag=got.etag,
                last_modified=got.last_modified,
                final_url=got.url,
                payload=payload,
            )
        else:
            self._state.forget(got.url)

    def _note(self, item: Item, *addresses: str | None) -> None:
        if self._state is None or not isinstance(item, Article):
            return
        urls = [canonical_url(a) for a in (*addresses, item.url) if a and is_url(a)]
        self._state.note_urls(urls, item.id)

    async def _robots_txt(self, url: str) -> Fetched:
        got, stored = await self._get(url, kinds=("robots",), robots=False)
        if stored is not None:
            got.body = stored.payload
        elif got.body is not None:
            self._keep(got, "robots", got.body)
        return got


def _kind(got: Fetched) -> str:
    """``page``, ``feed`` or ``text``; else the reason it is none of them."""
    body = got.body or b""
    ctype = got.content_type
    if ctype in _HTML_TYPES:
        head = body[:512].lstrip().lower()
        return "feed" if head.startswith(b"<?xml") and looks_like_feed(None, body) else "page"
    if looks_like_feed(ctype, body):
        return "feed"
    if ctype == "text/plain":
        return "text"
    if ctype in _UNKNOWN_TYPES:
        if _looks_binary(body):
            return "a binary body, not a web page or a feed"
        head = body[:2048].lstrip().lower()
        if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<p", b"<article")):
            return "page"
        return "text"
    return f"not a web page or a feed (content type {ctype}); pass the article's own page"


def _guarded(source: str, job: Job) -> Job:
    """``job``, with an unexpected error turned into that address's failed item."""

    async def run() -> list[Any]:
        try:
            return await job()
        except FetchFailed as exc:
            return [_bad(source, exc.reason, source)]
        except Exception as exc:  # a bug must not cost the other articles
            return [_bad(source, f"unexpected {type(exc).__name__}: {exc}", source)]

    return run


async def _ordered(jobs: Iterator[Item | Job], window: int) -> AsyncIterator[Item]:
    """Items in order, running up to ``window`` jobs ahead; a job's results (items and
    further jobs) take its place in the order."""
    line: deque[Any] = deque()
    source = iter(jobs)
    done = False
    window = max(1, window)

    def fill() -> None:
        nonlocal done
        while not done and len(line) < window:
            try:
                line.append(next(source))
            except StopIteration:
                done = True
        running = 0
        for n, entry in enumerate(line):
            if running >= window:
                break
            if isinstance(entry, Article | BadInput):
                continue
            if not isinstance(entry, asyncio.Future):
                line[n] = asyncio.ensure_future(entry())
            running += 1

    try:
        while True:
            fill()
            if not line:
                return
            head = line.popleft()
            if isinstance(head, Article | BadInput):
                yield head
                continue
            task = head if isinstance(head, asyncio.Future) else asyncio.ensure_future(head())
            line.extendleft(reversed(await task))
    finally:
        for entry in line:
            if isinstance(entry, asyncio.Future):
                entry.cancel()


_END = object()


class _Failure:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def _in_thread(make: Callable[[], AsyncIterator[Item]], window: int) -> Iterator[Item]:
    """Iterate an async iterator from plain code: it runs in a thread with its own event
    loop, at most ``window`` items ahead."""
    box: queue.Queue[Any] = queue.Queue(maxsize=max(1, window))
    stop = threading.Event()

    def put(value: Any) -> bool:
        while not stop.is_set():
            try:
                box.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    async def pump() -> None:
        agen = make()
        try:
            async for item in agen:
                if not put(item):
                    return
        finally:
            await agen.aclose()  # type: ignore[attr-defined]

    def main() -> None:
        try:
            asyncio.run(pump())
        except BaseException as exc:  # handed to the consumer, raised there
            put(_Failure(exc))
        finally:
            put(_END)

    worker = threading.Thread(target=main, name="summarise-web", daemon=True)
    worker.start()
    try:
        while True:
            value = box.get()
            if value is _END:
                return
            if isinstance(value, _Failure):
                raise value.exc
            yield value
    finally:
        stop.set()
        worker.join(timeout=30)
