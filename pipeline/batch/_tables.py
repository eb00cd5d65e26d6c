"""Batch mode's tables in the store (created by ``m002_batches`` in
:mod:`pipeline.store._migrations`) and every query batch mode makes.

- ``batch_jobs``: one row per provider batch we submit. ``state`` is ours: ``building``
  (its file is being written), ``prepared`` (file complete), ``uploading`` (an upload was
  sent), ``uploaded``, ``creating`` (a create was sent), ``submitted`` (the provider's id is
  known), ``done`` (collected) or ``abandoned``. ``status`` is the provider's, last seen.
  ``token`` names the submission in the batch's metadata and the file's name, so that a
  batch created by a process killed before it heard the answer is found, not created again.
- ``batch_requests``: one row per request line: its ``custom_id``, cache key, the article
  (as JSON: collecting needs no input files) and ``state`` (``open``, ``answered``,
  ``failed``, ``resubmitted``, ``abandoned``). A partial unique index allows one open
  request per cache key: no article is ever in two open batches.
- ``batch_waits``: the inputs of a run that wait for an answer (run, position, cache key,
  the input's source and title). A wait is resolved when the run has a result at that
  position.
- ``batch_copies``: the inputs of a run that are later copies of a story (near-duplicates):
  each waits on its first copy's cache key and keeps what its record needs (the first copy's
  article id, the copy's article and its own cache key). A wait is a copy while its cache key
  is the row's ``first_key``; asked on its own, it waits on its own key.
- ``batch_limits``: limits a provider revealed by refusing a batch, per endpoint and model.
- ``batch_learnt``: the structured-output mode and request shape that rows refused for
  their shape taught, per endpoint and model (a job keeps those its own lines were written in).

Every write is its own transaction under the store's lock; the store is shared with the
live engine's writes (:class:`~pipeline.store.Store`).
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.articles import Article
from pipeline.records import Record, utc_now
from pipeline.secrets import scrub_text
from pipeline.store import BATCH_OPEN_STATES, Store, live_lease
from pipeline.store._tx import transaction

OPEN_STATES = BATCH_OPEN_STATES  # a job's open requests claim their articles (the live engine
# reads the same states: pipeline.store._journal.batch_hold)


@dataclass(frozen=True)
class Job:
    id: int
    token: str
    endpoint: str
    model: str
    prompt: str
    prompt_version: str
    prompt_sha256: str
    run_id: int | None
    state: str
    input_file_id: str | None
    batch_id: str | None
    status: str | None
    n_requests: int
    n_bytes: int
    n_tokens: int
    request_counts: dict[str, int] | None
    errors: list[dict[str, Any]] | None
    created_at: str
    submitted_at: str | None
    expires_at: int | None
    note: str | None
    request_mode: str | None = None  # the structured-output mode its lines were written in
    request_shape: str | None = None  # and the request shape (RequestShape JSON)

    @property
    def prompt_ref(self) -> str:
        return f"{self.prompt}@{self.prompt_version}"


@dataclass(frozen=True)
class Request:
    job: int
    line: int
    custom_id: str
    cache_key: str
    article: dict[str, Any]
    state: str
    submissions: int


@dataclass(frozen=True)
class Copy:
    """A waiting input that is a later copy of a story: its own cache key and article, and the
    first copy's article id."""

    cache_key: str
    first_id: str
    article: Article


@dataclass(frozen=True)
class Wait:
    run_id: int
    position: int
    cache_key: str
    source: str
    title: str | None
    copy: Copy | None = None  # a near-duplicate waiting for its first copy's record


_JOB_COLUMNS = (
    "id, token, endpoint, model, prompt, prompt_version, prompt_sha256, run_id, state, "
    "input_file_id, batch_id, status, n_requests, n_bytes, n_tokens, request_counts, errors, "
    "created_at, submitted_at, expires_at, note, request_mode, request_shape"
)


_WAIT_COLUMNS = (
    "w.run_id, w.position, w.cache_key, w.source, w.title, c.cache_key, c.first_id, c.article"
)
# a wait is a copy while it waits on its first copy's key (asked alone, it waits on its own)
_COPY_JOIN = (
    "LEFT JOIN batch_copies c ON c.run_id=w.run_id AND c.position=w.position"
    " AND c.first_key=w.cache_key"
)


def _wait(row: tuple[Any, ...]) -> Wait:
    run_id, position, key, source, title, own_key, first_id, article = row
    copy = None
    if own_key is not None:
        copy = Copy(own_key, first_id, article_from(json.loads(article)))
    return Wait(run_id, position, key, source, title, copy)


def _job(row: tuple[Any, ...]) -> Job:
    values = list(row)
    values[15] = json.loads(values[15]) if values[15] else None
    values[16] = json.loads(values[16]) if values[16] else None
    return Job(*values)


class Tables:
    """Batch mode's queries over one store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        # the store's own connection and lock: one writer, shared with save_result
        self._db: sqlite3.Connection = store._db
        self._lock: threading.Lock = store._lock
        # a provider's words kept with a job (errors, notes) lose the run's own secrets, as
        # records do (the store is a ScrubbingStore in every command; key-like strings always)
        self._scrub: Callable[[str], str] = getattr(store, "scrub", scrub_text)

    # -- jobs -------------------------------------------------------------------------------------

    def new_job(
        self,
        *,
        token: str,
        endpoint: str,
        model: str,
        prompt: Any,
        run_id: int | None,
        note: str | None = None,
        request_mode: str | None = None,
        request_shape: str | None = None,
    ) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO batch_jobs (token, endpoint, model, prompt, prompt_version,"
                " prompt_sha256, run_id, state, created_at, note, request_mode, request_shape)"
                " VALUES (?,?,?,?,?,?,?,'building',?,?,?,?)",
                (
                    token,
                    endpoint,
                    model,
                    prompt.name,
                    prompt.version,
                    prompt.sha256,
                    run_id,
                    utc_now(),
                    note,
                    request_mode,
                    request_shape,
                ),
            )
            return int(cur.lastrowid or 0)

    def job(self, job_id: int) -> Job:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE id=?", (job_id,)
            ).fetchone()
        if row is None:
            raise KeyError(job_id)
        return _job(row)

    def job_by_batch(self, batch_id: str) -> Job | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE batch_id=?", (batch_id,)
            ).fetchone()
        return _job(row) if row else None

    def jobs(
        self,
        *,
        states: Iterable[str] | None = None,
        endpoint: str | None = None,
        ids: Iterable[int] | None = None,
    ) -> list[Job]:
        sql = f"SELECT {_JOB_COLUMNS} FROM batch_jobs WHERE 1=1"
        args: list[Any] = []
        if states is not None:
            st = list(states)
            sql += f" AND state IN ({','.join('?' * len(st))})"
            args += st
        if endpoint is not None:
            sql += " AND endpoint=?"
            args.append(endpoint)
        if ids is not None:
            chosen = list(ids)
            if not chosen:
                return []
            sql += f" AND id IN ({','.join('?' * len(chosen))})"
            args += chosen
        with self._lock:
            rows = self._db.execute(sql + " ORDER BY id", args).fetchall()
        return [_job(r) for r in rows]

    def update_job(self, job_id: int, **fields: Any) -> None:
        if not fields:
            return
        for key in ("request_counts", "errors"):
            if key in fields and fields[key] is not None:
                fields[key] = json.dumps(fields[key], sort_keys=True)
        for key in ("errors", "note"):
            if isinstance(fields.get(key), str):
                fields[key] = self._scrub(fields[key])
        sets = ", ".join(f"{k}=?" for k in fields)
        with self._lock:
            self._db.execute(f"UPDATE batch_jobs SET {sets} WHERE id=?", [*fields.values(), job_id])

    def seal_job(self, job_id: int, *, n_requests: int, n_bytes: int, n_tokens: int) -> None:
        """The job's file is complete: ``building`` -> ``prepared``."""
        self.update_job(
            job_id, state="prepared", n_requests=n_requests, n_bytes=n_bytes, n_tokens=n_tokens
        )

    def abandon_job(self, job_id: int, note: str) -> int:
        """Give a job up (its file was never complete, or it can never be submitted): its
        open requests are freed for another batch. Returns how many were freed."""
        with self._lock, transaction(self._db):
            cur = self._db.execute(
                "UPDATE batch_requests SET state='abandoned' WHERE job=? AND state='open'",
                (job_id,),
            )
            self._db.execute(
                "UPDATE batch_jobs SET state='abandoned', note=?, finished_at=? WHERE id=?",
                (self._scrub(note), utc_now(), job_id),
            )
        return int(cur.rowcount)

    def enqueued_tokens(self, endpoint: str, model: str) -> int:
        """Prompt tokens in our batches that the provider is working on now."""
        with self._lock:
            row = self._db.execute(
                "SELECT COALESCE(SUM(n_tokens), 0) FROM batch_jobs WHERE endpoint=? AND model=?"
                " AND state='submitted' AND COALESCE(status, '') IN"
                " ('validating', 'in_progress', 'finalizing', 'cancelling', '')",
                (endpoint, model),
            ).fetchone()
        return int(row[0])

    # -- requests ---------------------------------------------------------------------------------

    def claim(
        self, job_id: int, first_line: int, rows: list[tuple[str, str, str, int]]
    ) -> list[str]:
        """Add request lines ``(custom_id, cache_key, article JSON, submissions)`` to a job
        in one write transaction, numbered from ``first_line``; for each row, ``added``, or
        why not (no line number used): ``batch`` (the article is open in another batch: no
        article is ever in two open batches) or ``live`` (a live run is asking for it now:
        :func:`~pipeline.store._journal.live_lease`, read in the same transaction as the
        live engine's claims, so the two never both pay)."""
        added: list[str] = []
        line = first_line
        with self._lock, transaction(self._db, "BEGIN IMMEDIATE"):
            for cid, key, article, submissions in rows:
                if live_lease(self._db, key):
                    added.append("live")
                    continue
                try:
                    self._db.execute(
                        "INSERT INTO batch_requests (job, line, custom_id, cache_key,"
                        " article, state, submissions) VALUES (?,?,?,?,?,'open',?)",
                        (job_id, line, cid, key, article, submissions),
                    )
                    added.append("added")
                    line += 1
                except sqlite3.IntegrityError:
                    added.append("batch")
        return added

    def open_request(self, cache_key: str) -> Request | None:
        with self._lock:
            row = self._db.execute(
                "SELECT job, line, custom_id, cache_key, article, state, submissions"
                " FROM batch_requests WHERE cache_key=? AND state='open'",
                (cache_key,),
            ).fetchone()
        return _request(row) if row else None

    def request(self, job_id: int, custom_id: str) -> Request | None:
        with self._lock:
            row = self._db.execute(
                "SELECT job, line, custom_id, cache_key, article, state, submissions"
                " FROM batch_requests WHERE job=? AND custom_id=?",
                (job_id, custom_id),
            ).fetchone()
        return _request(row) if row else None

    def requests(self, job_id: int, *, state: str | None = None) -> Iterator[Request]:
        """The job's requests in line order, read in pages (a job may hold 50,000)."""
        last = 0
        while True:
            sql = (
                "SELECT job, line, custom_id, cache_key, article, state, submissions"
                " FROM batch_requests WHERE job=? AND line>?"
            )
            args: list[Any] = [job_id, last]
            if state is not None:
                sql += " AND state=?"
                args.append(state)
            with self._lock:
                rows = self._db.execute(sql + " ORDER BY line LIMIT 500", args).fetchall()
            if not rows:
                return
            for row in rows:
                yield _request(row)
            last = rows[-1][1]

    def count_requests(self, job_id: int, state: str) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM batch_requests WHERE job=? AND state=?", (job_id, state)
            ).fetchone()
        return int(row[0])

    def set_request_state(self, job_id: int, custom_id: str, state: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE batch_requests SET state=? WHERE job=? AND custom_id=?",
                (state, job_id, custom_id),
            )

    # -- waits and results ------------------------------------------------------------------------

    def add_wait(
        self, run_id: int, position: int, cache_key: str, source: str, title: str | None
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO batch_waits (run_id, position, cache_key, source, title)"
                " VALUES (?,?,?,?,?)",
                (run_id, position, cache_key, source, title),
            )

    def add_waits(
        self,
        run_id: int,
        waits: list[tuple[int, str, str, str | None]],
        copies: Iterable[tuple[int, str, str, str, str]] = (),
    ) -> None:
        """Many ``(position, cache_key, source, title)`` waits of one run, one transaction,
        with the ``(position, own cache key, first key, first id, article JSON)`` of those that
        are copies (their wait's key is the first key): never a copy's wait without its row."""
        if not waits:
            return
        with self._lock, transaction(self._db):
            self._db.executemany(
                "INSERT OR REPLACE INTO batch_waits (run_id, position, cache_key, source,"
                " title) VALUES (?,?,?,?,?)",
                [(run_id, p, k, s, t) for p, k, s, t in waits],
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO batch_copies (run_id, position, cache_key, first_key,"
                " first_id, article) VALUES (?,?,?,?,?,?)",
                [(run_id, p, k, fk, fid, a) for p, k, fk, fid, a in copies],
            )

    def ask_alone(self, wait: Wait) -> Wait:
        """A copy whose first copy got no summary waits for its own article from now on (a
        live run asks such a copy itself); returned as that plain wait."""
        assert wait.copy is not None
        with self._lock:
            self._db.execute(
                "UPDATE batch_waits SET cache_key=? WHERE run_id=? AND position=?",
                (wait.copy.cache_key, wait.run_id, wait.position),
            )
        return dataclasses.replace(wait, cache_key=wait.copy.cache_key, copy=None)

    def article_for(self, cache_key: str) -> Article | None:
        """The article of the newest request made for ``cache_key``, else of a copy with that
        key (a copy asked on its own has no request until it is sent), if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT article FROM batch_requests WHERE cache_key=? ORDER BY rowid DESC LIMIT 1",
                (cache_key,),
            ).fetchone()
            if row is None:
                row = self._db.execute(
                    "SELECT article FROM batch_copies WHERE cache_key=? LIMIT 1", (cache_key,)
                ).fetchone()
        return article_from(json.loads(row[0])) if row else None

    def unresolved(self, cache_key: str) -> list[Wait]:
        """The waits for ``cache_key`` that have no result yet, in (run, position) order."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_WAIT_COLUMNS} FROM batch_waits w {_COPY_JOIN}"
                " WHERE w.cache_key=? AND NOT EXISTS (SELECT 1 FROM results r"
                " WHERE r.run_id=w.run_id AND r.position=w.position)"
                " ORDER BY w.run_id, w.position",
                (cache_key,),
            ).fetchall()
        return [_wait(r) for r in rows]

    def unresolved_of_run(self, run_id: int, *, limit: int = 1000, after: int = -1) -> list[Wait]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_WAIT_COLUMNS} FROM batch_waits w {_COPY_JOIN}"
                " WHERE w.run_id=? AND w.position>? AND NOT EXISTS (SELECT 1 FROM results r"
                " WHERE r.run_id=w.run_id AND r.position=w.position)"
                " ORDER BY w.position LIMIT ?",
                (run_id, after, limit),
            ).fetchall()
        return [_wait(r) for r in rows]

    def count_unresolved(self, run_id: int) -> int:
        with self._lock:
            row = self._db.execute(
                "SELECT COUNT(*) FROM batch_waits w WHERE w.run_id=? AND NOT EXISTS"
                " (SELECT 1 FROM results r WHERE r.run_id=w.run_id AND r.position=w.position)",
                (run_id,),
            ).fetchone()
        return int(row[0])

    def jobs_for_run(self, run_id: int) -> list[int]:
        """The open jobs that hold an answer some unresolved wait of the run needs."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT r.job FROM batch_waits w JOIN batch_requests r"
                " ON r.cache_key=w.cache_key AND r.state='open' WHERE w.run_id=? AND NOT EXISTS"
                " (SELECT 1 FROM results x WHERE x.run_id=w.run_id AND x.position=w.position)",
                (run_id,),
            ).fetchall()
        return sorted(int(r[0]) for r in rows)

    def runs_of_job(self, job_id: int) -> list[int]:
        """The runs with waits on this job's requests (any state)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT DISTINCT w.run_id FROM batch_requests r JOIN batch_waits w"
                " ON w.cache_key=r.cache_key WHERE r.job=?",
                (job_id,),
            ).fetchall()
        return sorted(int(r[0]) for r in rows)

    def has_result(self, run_id: int, position: int) -> bool:
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM results WHERE run_id=? AND position=?", (run_id, position)
            ).fetchone()
        return row is not None

    def iter_records(self, run_id: int) -> Iterator[Record]:
        """The run's records in input order, read in pages (a run may hold 100,000)."""
        last = -1
        while True:
            with self._lock:
                rows = self._db.execute(
                    "SELECT position, record FROM results WHERE run_id=? AND position>?"
                    " ORDER BY position LIMIT 500",
                    (run_id, last),
                ).fetchall()
            if not rows:
                return
            for _, rec in rows:
                yield Record.from_dict(json.loads(rec))
            last = rows[-1][0]

    def run_info(self, run_id: int) -> dict[str, Any] | None:
        with self._lock:
            cur = self._db.execute("SELECT * FROM runs WHERE id=?", (run_id,))
            row = cur.fetchone()
            cols = [c[0] for c in cur.description]
        return dict(zip(cols, row, strict=True)) if row else None

    # -- limits -----------------------------------------------------------------------------------

    def learnt_limits(self, endpoint: str, model: str) -> dict[str, int]:
        with self._lock:
            rows = self._db.execute(
                "SELECT name, value FROM batch_limits WHERE endpoint=? AND model IN (?, '*')",
                (endpoint, model),
            ).fetchall()
        return {str(n): int(v) for n, v in rows}

    def learnt_request(self, endpoint: str, model: str) -> tuple[str, str] | None:
        """``(mode, shape JSON)`` that refused batch rows taught for this endpoint and model."""
        with self._lock:
            row = self._db.execute(
                "SELECT mode, shape FROM batch_learnt WHERE endpoint=? AND model=?",
                (endpoint, model),
            ).fetchone()
        return (str(row[0]), str(row[1])) if row else None

    def learn_request(self, endpoint: str, model: str, mode: str, shape: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO batch_learnt (endpoint, model, mode, shape, learnt_at)"
                " VALUES (?,?,?,?,?)",
                (endpoint, model, mode, shape, utc_now()),
            )

    def learn_limit(self, endpoint: str, model: str, name: str, value: int, reason: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO batch_limits (endpoint, model, name, value, reason,"
                " learnt_at) VALUES (?,?,?,?,?,?)",
                (endpoint, model, name, value, reason, utc_now()),
            )


def article_json(article: Article) -> str:
    return json.dumps(dataclasses.asdict(article), ensure_ascii=False, sort_keys=True)


def article_from(data: dict[str, Any]) -> Article:
    """An :class:`Article` from its stored JSON (fields it does not know are ignored)."""
    known = {f.name for f in dataclasses.fields(Article)}
    return Article(**{k: v for k, v in data.items() if k in known})


def _request(row: tuple[Any, ...]) -> Request:
    job, line, cid, key, article, state, submissions = row
    return Request(int(job), int(line), str(cid), str(key), json.loads(article), state, submissions)
