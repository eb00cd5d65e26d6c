"""Request lines and the files that hold them: :func:`custom_id`, :func:`request_line`, and
:class:`JobWriter`, which streams lines into job files on disk, one job per batch, starting a
new one before a limit would be passed.

A line is ``{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body"}`` where
``body`` is exactly the first request the live engine would send for the article
(:meth:`~pipeline.engine.Summariser.first_request`), so that a batch answer and a live
answer are answers to the same request. Lines are claimed in the store before they are
written, a few hundred at a time in one transaction: a line whose article is already open in
another batch is left out.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipeline.articles import Article
from pipeline.batch._api import CHAT_URL
from pipeline.batch._limits import Limits, estimate_tokens
from pipeline.batch._tables import Tables, article_from, article_json

FLUSH_EVERY = 500


def custom_id(article_id: str, cache_key: str) -> str:
    """The request's id in a batch: the article id and the start of its cache key."""
    return f"{article_id}-{cache_key[:16]}"


def request_line(cid: str, body: dict[str, Any]) -> bytes:
    line = {"custom_id": cid, "method": "POST", "url": CHAT_URL, "body": body}
    return (json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


def job_file(folder: Path, token: str) -> Path:
    return folder / f"summarise-{token}.jsonl"


def boundary_for(token: str) -> str:
    return f"summarise-{token}"


@dataclass
class _Open:
    job_id: int
    token: str
    path: Path
    handle: IO[bytes]
    lines: int = 0
    size: int = 0
    tokens: int = 0
    pending: list[tuple[bytes, int, tuple[str, str, str, int], Article]] = field(
        default_factory=list
    )


class JobWriter:
    """Writes request lines into job files under ``folder``; each job holds at most what
    ``limits`` allow. :meth:`add` each article, then :meth:`close` (returns the jobs)."""

    def __init__(
        self,
        tables: Tables,
        folder: Path,
        limits: Limits,
        *,
        endpoint: str,
        model: str,
        prompt: Any,
        run_id: int | None,
        first_request: Callable[[Article], dict[str, Any]],
        on_live: Callable[[Article, str], None] | None = None,
        request_mode: str | None = None,
        request_shape: str | None = None,
    ) -> None:
        self.tables = tables
        self.on_live = on_live
        self.request_mode = request_mode  # kept with each job: what its lines were built in
        self.request_shape = request_shape
        self.folder = folder
        self.limits = limits
        self.endpoint = endpoint
        self.model = model
        self.prompt = prompt
        self.run_id = run_id
        self.first_request = first_request
        self.jobs: list[int] = []
        self.too_big: list[tuple[Article, str, str]] = []  # (article, key, why) never fits
        self.claimed_elsewhere = 0
        #: (article, key) a live run is asking for now: in no batch; their inputs wait for
        #: the live answer (see :meth:`~pipeline.batch._driver.BatchDriver.settle_live`)
        self.leased_live: list[tuple[Article, str]] = []
        #: called before lines are claimed (the planner stores the inputs' waits first)
        self.before_flush: Callable[[], None] | None = None
        self._open: _Open | None = None

    def add(self, article: Article, key: str, *, submissions: int = 1) -> None:
        body = self.first_request(article)
        cid = custom_id(article.id, key)
        data = request_line(cid, body)
        tokens = estimate_tokens(body)
        if not self.limits.fits(1, len(data), tokens):
            why = (
                f"its batch request is {len(data):,} bytes and about {tokens:,} prompt tokens; "
                f"a batch here takes at most {self.limits.max_bytes:,} bytes"
                + (
                    f" and {self.limits.max_tokens:,} enqueued tokens"
                    if self.limits.max_tokens
                    else ""
                )
            )
            self.too_big.append((article, key, why))
            return
        cur = self._open
        pending_n = len(cur.pending) if cur else 0
        if cur is not None and not self.limits.fits(
            cur.lines + pending_n + 1, cur.size + len(data), cur.tokens + tokens
        ):
            self._seal()
            cur = None
        if cur is None:
            cur = self._start(cid)
        cur.pending.append((data, tokens, (cid, key, article_json(article), submissions), article))
        cur.size += len(data)
        cur.tokens += tokens
        if len(cur.pending) >= FLUSH_EVERY:
            self._flush()

    def close(self) -> list[int]:
        """Seal the last job; the ids of every job written (each ``prepared``)."""
        if self._open is not None:
            self._seal()
        return list(self.jobs)

    def _start(self, first_cid: str) -> _Open:
        # not the endpoint: a cassette recorded from one server replays against another
        seed = f"{self.model}|{self.prompt.sha256}|{first_cid}|{len(self.jobs)}"
        provisional = hashlib.sha256(seed.encode()).hexdigest()[:12]
        job_id = self.tables.new_job(
            token=f"building-{uuid.uuid4().hex}",
            endpoint=self.endpoint,
            model=self.model,
            prompt=self.prompt,
            run_id=self.run_id,
            note=f"pid {os.getpid()}",
            request_mode=self.request_mode,
            request_shape=self.request_shape,
        )
        # the token also carries the row id: unique in this store, and the same in a fresh
        # store for the same articles (a cassette's recorded requests match a replay's)
        token = f"{provisional}{job_id:06d}"
        self.tables.update_job(job_id, token=token)
        self.folder.mkdir(parents=True, exist_ok=True)
        path = job_file(self.folder, token)
        self._open = _Open(job_id, token, path, path.open("wb"))
        return self._open

    def _flush(self) -> None:
        cur = self._open
        if cur is None or not cur.pending:
            return
        if self.before_flush is not None:
            self.before_flush()
        added = self.tables.claim(cur.job_id, cur.lines + 1, [p[2] for p in cur.pending])
        for (data, tokens, row, article), outcome in zip(cur.pending, added, strict=True):
            if outcome == "added":
                cur.handle.write(data)
                cur.lines += 1
                continue
            cur.size -= len(data)
            cur.tokens -= tokens
            if outcome == "live":
                self.leased_live.append((article, row[1]))
                if self.on_live is not None:
                    self.on_live(article, row[1])
            else:
                self.claimed_elsewhere += 1
        cur.pending.clear()

    def _seal(self) -> None:
        self._flush()
        cur = self._open
        assert cur is not None
        cur.handle.close()
        self._open = None
        if cur.lines == 0:
            self.tables.abandon_job(cur.job_id, "empty: every article was already in a batch")
            cur.path.unlink(missing_ok=True)
            return
        self.tables.seal_job(
            cur.job_id, n_requests=cur.lines, n_bytes=cur.size, n_tokens=cur.tokens
        )
        self.jobs.append(cur.job_id)


def rebuild_file(
    tables: Tables,
    job_id: int,
    path: Path,
    first_request: Callable[[Article], dict[str, Any]],
) -> int:
    """Write a job's file again from its stored requests (the same bytes: the lines are
    built the same way); returns its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as f:
        for req in tables.requests(job_id):
            data = request_line(req.custom_id, first_request(article_from(req.article)))
            f.write(data)
            size += len(data)
    tmp.replace(path)
    return size
