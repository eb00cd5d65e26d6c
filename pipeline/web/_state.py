"""What the web stage keeps in the store (tables made by ``m004_web`` in
:mod:`pipeline.store._migrations`), and every query it makes, on the store's own connection
and lock.

- ``web_http``: per address requested, the validators (``ETag``, ``Last-Modified``) of its
  last 200 answer and what that answer gave (``payload``, zlib: a page's extracted item as
  JSON, a feed's or robots.txt's body), so that a 304 is answered from here at no cost.
  ``version`` is the extractor's: a payload made by another version is not reused.
- ``web_urls``: every address (canonical form) each article was seen at, for ``--new``.
- ``web_minhash`` / ``web_lsh``: the near-duplicate index (:mod:`pipeline.web._dedupe`).
"""

from __future__ import annotations

import sqlite3
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from pipeline.records import utc_now
from pipeline.store import Store


@dataclass(frozen=True, slots=True)
class Stored:
    """What the last 200 answer for an address left behind."""

    url: str
    kind: str  # "page" | "feed" | "robots" | "text"
    version: int
    etag: str | None
    last_modified: str | None
    final_url: str | None
    payload: bytes  # decompressed


class WebState:
    """The web stage's queries on one :class:`~pipeline.store.Store`."""

    def __init__(self, store: Store) -> None:
        self._db: sqlite3.Connection = store._db
        self._lock: threading.Lock = store._lock

    # -- conditional GET -------------------------------------------------------------------------
    def stored(self, url: str) -> Stored | None:
        with self._lock:
            row = self._db.execute(
                "SELECT kind, version, etag, last_modified, final_url, payload FROM web_http"
                " WHERE url=?",
                (url,),
            ).fetchone()
        if row is None:
            return None
        kind, version, etag, modified, final, payload = row
        return Stored(url, kind, version, etag, modified, final, zlib.decompress(payload))

    def remember(
        self,
        url: str,
        *,
        kind: str,
        version: int,
        etag: str | None,
        last_modified: str | None,
        final_url: str | None,
        payload: bytes,
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO web_http (url, kind, version, etag, last_modified,"
                " final_url, payload, fetched_at) VALUES (?,?,?,?,?,?,?,?)",
                (
                    url,
                    kind,
                    version,
                    etag,
                    last_modified,
                    final_url,
                    zlib.compress(payload, 6),
                    utc_now(),
                ),
            )

    def forget(self, url: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM web_http WHERE url=?", (url,))

    # -- addresses -------------------------------------------------------------------------------
    def note_urls(self, urls: Iterable[str], article_id: str) -> None:
        now = utc_now()
        rows = [(u, article_id, now) for u in dict.fromkeys(urls) if u]
        if not rows:
            return
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO web_urls (url, article_id, first_seen) VALUES (?,?,?)",
                rows,
            )

    def articles_at(self, url: str) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT article_id FROM web_urls WHERE url=?", (url,)
            ).fetchall()
        return [r[0] for r in rows]

    # -- results ---------------------------------------------------------------------------------
    def summarised_before(self, cache_key: str, run_id: int) -> bool:
        """Whether a run before ``run_id`` has an ``ok`` result for ``cache_key``."""
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM results WHERE cache_key=? AND status='ok' AND run_id<? LIMIT 1",
                (cache_key, run_id),
            ).fetchone()
        return row is not None
