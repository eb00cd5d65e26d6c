"""Answers kept the moment they arrive, and leases on the articles a run is asking for.

The journal (table ``answers``): a 200 answer is written as soon as its last byte is read,
before it is parsed, validated or scored, and deleted in the transaction that commits its
article's result. After a crash (``kill -9``, power loss) the answers that had arrived are
still there: the next run that would send the same request (same request body, by sha256)
takes the stored answer instead of paying for it again. A crash therefore costs at most the
requests in flight.

Leases (table ``leases``): before a run asks the model for an article it claims the article's
cache key; another run that needs the same article waits for the holder's result and reuses
it instead of paying twice. A lease lasts :data:`LEASE_TTL_S` and its holder renews it while
it lives; a holder that died on this machine (its process is gone) loses its leases at once,
one on another machine when they expire. A run that takes over a dead holder's lease reads
what that holder journalled since.

Batch claims: batch mode claims an article with an open request in a batch
(``batch_requests``, :mod:`pipeline.batch._tables`). The two kinds of claim are read in the
same write transaction as each is taken: a live run does not ask for an article that waits in
an open batch (:func:`batch_hold`: its input is recorded ``in_batch``, naming the batch to
collect), and batch mode puts no request in a batch for an article a live run is asking for
now (:func:`live_lease`: it waits for that run's answer). Neither pays for what the other
is paying for.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pipeline.records import utc_now
from pipeline.store._tx import transaction

LEASE_TTL_S = 60.0
HOST = socket.gethostname()


@dataclass(frozen=True)
class Claim:
    """What :meth:`JournalMixin.claim` found: ``taken`` (true in a boolean context) when this
    holder has the lease now; ``took_over`` when it was another holder's, one that died or
    let it expire: that holder may have journalled answers for the article since this run
    read the journal. ``batch`` (the batch id, or ``job N`` while it is being submitted) and
    ``endpoint`` when the article waits in an open batch: its answer is paid for there, and
    the lease is not taken."""

    taken: bool
    took_over: bool = False
    batch: str | None = None
    endpoint: str | None = None

    def __bool__(self) -> bool:
        return self.taken


#: batch_jobs states in which a job's open requests are a claim on their articles
BATCH_OPEN_STATES = ("building", "prepared", "uploading", "uploaded", "creating", "submitted")


def live_lease(db: sqlite3.Connection, cache_key: str, *, holder: str | None = None) -> bool:
    """Whether a live run other than ``holder`` holds the lease on ``cache_key`` now (its
    lease has not expired and its process, on this machine, is alive). Reads ``db`` as it
    is: the caller holds the store's lock (and, to act on the answer, a write transaction)."""
    row = db.execute(
        "SELECT holder, host, pid, expires_at FROM leases WHERE cache_key=?", (cache_key,)
    ).fetchone()
    return not (
        row is None
        or row[0] == holder
        or float(row[3]) < time.time()
        or (row[1] == HOST and not _alive(int(row[2])))
    )


def batch_hold(db: sqlite3.Connection, cache_key: str) -> tuple[str, str] | None:
    """``(batch, endpoint)`` of the open batch that holds a request for ``cache_key``, if any
    (``job N`` for a job not yet submitted); a job left ``building`` by a process that is
    gone holds nothing. The caller holds the store's lock."""
    rows = db.execute(
        "SELECT j.id, j.batch_id, j.endpoint, j.state, j.note FROM batch_requests r"
        " JOIN batch_jobs j ON j.id = r.job WHERE r.cache_key=? AND r.state='open'"
        f" AND j.state IN ({','.join('?' * len(BATCH_OPEN_STATES))})",
        (cache_key, *BATCH_OPEN_STATES),
    ).fetchall()
    for job_id, batch_id, endpoint, state, note in rows:
        if state == "building":
            words = str(note or "").split()
            pid = int(words[-1]) if len(words) == 2 and words[0] == "pid" else 0
            if pid <= 0 or not _alive(pid):
                continue
        return (str(batch_id) if batch_id else f"job {job_id}"), str(endpoint)
    return None


def request_sha256(request: dict[str, Any]) -> str:
    """The identity of a request body: sha256 of its canonical JSON."""
    text = json.dumps(request, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def new_holder() -> str:
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class JournalMixin:
    """The journal and the leases, on :class:`~pipeline.store.Store`'s connection."""

    _db: sqlite3.Connection
    _lock: threading.Lock

    # -- the journal ----------------------------------------------------------------------
    def save_answer(
        self, cache_key: str, request_hash: str, status_code: int, body: str, latency_ms: int
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO answers (cache_key, request_sha256, status_code, body, latency_ms,"
                " created_at) VALUES (?,?,?,?,?,?)",
                (cache_key, request_hash, status_code, body, latency_ms, utc_now()),
            )

    def journal_hashes(self, cache_key: str | None = None) -> set[str]:
        """The request hashes that have a stored answer not yet turned into a result (of one
        article's requests, with ``cache_key``)."""
        with self._lock:
            if cache_key is None:
                rows = self._db.execute("SELECT request_sha256 FROM answers")
            else:
                rows = self._db.execute(
                    "SELECT request_sha256 FROM answers WHERE cache_key=?", (cache_key,)
                )
            return {r[0] for r in rows}

    def journal_index(self, cache_key: str | None = None) -> dict[str, list[int]]:
        """The stored answers not yet turned into a result (of one article's requests, with
        ``cache_key``): request hash -> the answers' ids, oldest first. One request may have
        several answers: a 200 error body and its retry's answer, or the same invalid answer
        twice from a model (its two re-asks are then one request body)."""
        index: dict[str, list[int]] = {}
        with self._lock:
            if cache_key is None:
                rows = self._db.execute("SELECT id, request_sha256 FROM answers ORDER BY id")
            else:
                rows = self._db.execute(
                    "SELECT id, request_sha256 FROM answers WHERE cache_key=? ORDER BY id",
                    (cache_key,),
                )
            for answer_id, request_hash in rows:
                index.setdefault(str(request_hash), []).append(int(answer_id))
        return index

    def stored_answer(self, answer_id: int) -> tuple[int, str, int] | None:
        """(status, body, latency) of one stored answer, if it is still there."""
        with self._lock:
            row = self._db.execute(
                "SELECT status_code, body, latency_ms FROM answers WHERE id=?", (answer_id,)
            ).fetchone()
        return (int(row[0]), str(row[1]), int(row[2] or 0)) if row else None

    # -- leases ---------------------------------------------------------------------------
    def claim(self, cache_key: str, holder: str, *, ttl: float = LEASE_TTL_S) -> Claim:
        """Take the lease on ``cache_key`` unless a live holder has it or the article waits in
        an open batch (see :class:`Claim`): one write transaction, so a live run and a batch
        run claiming the same article at once cannot both have it."""
        now = time.time()
        pid = os.getpid()
        with self._lock, transaction(self._db, "BEGIN IMMEDIATE") as db:
            hold = batch_hold(db, cache_key)
            row = db.execute("SELECT holder FROM leases WHERE cache_key=?", (cache_key,))
            before = row.fetchone()
            free = hold is None and not live_lease(db, cache_key, holder=holder)
            if free:
                db.execute(
                    "INSERT OR REPLACE INTO leases (cache_key, holder, host, pid, expires_at)"
                    " VALUES (?,?,?,?,?)",
                    (cache_key, holder, HOST, pid, now + ttl),
                )
        if hold is not None:
            return Claim(False, batch=hold[0], endpoint=hold[1])
        return Claim(free, took_over=free and before is not None and before[0] != holder)

    def leased(self, cache_key: str) -> bool:
        """Whether a live run holds the lease on ``cache_key`` now (see :func:`live_lease`)."""
        with self._lock:
            return live_lease(self._db, cache_key)

    def renew_leases(self, holder: str, *, ttl: float = LEASE_TTL_S) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE leases SET expires_at=? WHERE holder=?", (time.time() + ttl, holder)
            )

    def release_leases(self, holder: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM leases WHERE holder=?", (holder,))
