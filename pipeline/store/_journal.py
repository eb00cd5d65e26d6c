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
one on another machine when they expire.
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
from typing import Any

from pipeline.records import utc_now
from pipeline.store._tx import transaction

LEASE_TTL_S = 60.0
HOST = socket.gethostname()


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

    def journal_hashes(self) -> set[str]:
        """The request hashes that have a stored answer not yet turned into a result."""
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT request_sha256 FROM answers")}

    def journal_index(self) -> dict[str, list[int]]:
        """Every stored answer not yet turned into a result: request hash -> the answers'
        ids, oldest first. One request may have several answers: a model that gives the same
        invalid answer twice makes two identical re-asks."""
        index: dict[str, list[int]] = {}
        with self._lock:
            for answer_id, request_hash in self._db.execute(
                "SELECT id, request_sha256 FROM answers ORDER BY id"
            ):
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
    def claim(self, cache_key: str, holder: str, *, ttl: float = LEASE_TTL_S) -> bool:
        """Take the lease on ``cache_key`` unless a live holder has it; True when taken."""
        now = time.time()
        pid = os.getpid()
        with self._lock:
            db = self._db
            with transaction(db, "BEGIN IMMEDIATE"):
                row = db.execute(
                    "SELECT holder, host, pid, expires_at FROM leases WHERE cache_key=?",
                    (cache_key,),
                ).fetchone()
                free = (
                    row is None
                    or row[0] == holder
                    or float(row[3]) < now
                    or (row[1] == HOST and not _alive(int(row[2])))
                )
                if free:
                    db.execute(
                        "INSERT OR REPLACE INTO leases (cache_key, holder, host, pid, expires_at)"
                        " VALUES (?,?,?,?,?)",
                        (cache_key, holder, HOST, pid, now + ttl),
                    )
        return free

    def renew_leases(self, holder: str, *, ttl: float = LEASE_TTL_S) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE leases SET expires_at=? WHERE holder=?", (time.time() + ttl, holder)
            )

    def release_leases(self, holder: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM leases WHERE holder=?", (holder,))
