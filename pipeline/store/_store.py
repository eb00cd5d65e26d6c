"""The SQLite store: every run, every result, every attempt with its raw output.

One file (``$SUMMARISE_HOME/summarise.db`` unless ``--db`` says otherwise) in WAL mode, so
a crash loses at most the article in flight: each result is committed as it finishes.

Tables (a tiny migration registry, like simonw/llm's: each entry runs once, in order, inside
one write transaction, so two processes opening a new store at once cannot both run it;
a migration therefore uses ``db.execute``, never ``executescript``, which commits):

- ``runs``: one row per ``summarise run`` / ``compare`` invocation, with its settings.
- ``results``: one row per finished article per run: the output record as JSON plus the
  cache key. The newest ``ok`` result for a cache key is what a later run reuses.
- ``attempts``: every request made for a result (transport retries and re-asks alike):
  HTTP status, the raw model output, the error, token usage and latency.

Nothing secret is written here: the API key never enters the store, and the base URL is
stored without user info or query string.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.errors import StoreError
from pipeline.records import Record, utc_now
from pipeline.store import _migrations
from pipeline.store._journal import JournalMixin
from pipeline.store._tx import transaction


def default_db_path() -> Path:
    return Path(os.environ.get("SUMMARISE_HOME") or ".summarise") / "summarise.db"


def _enable_wal(db: sqlite3.Connection) -> None:
    """Switch to WAL. The switch takes the file alone and SQLite does not wait for it (no busy
    handler), so when another process is opening the same new store, try again shortly."""
    for delay in (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(delay)
    db.execute("PRAGMA journal_mode=WAL")


@dataclass(frozen=True)
class Attempt:
    n: int
    purpose: str  # "first" | "retry" | "reask" | "fallback" | "budget"
    mode: str | None
    status_code: int | None
    outcome: str  # "ok" | failure kind | "schema_invalid" | "transient"
    error: str | None
    raw_output: str | None
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    cached_tokens: int = 0  # of prompt_tokens, from the provider's prompt cache
    reasoning_tokens: int = 0  # of completion_tokens
    origin: str = "live"  # "live" | "batch" (a Batch API answer) | "stored" (the journal's)


class Store(JournalMixin):
    """A thread-safe handle on the SQLite store."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else default_db_path()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=10.0
            )
            self._db.execute("PRAGMA busy_timeout=10000")  # first: others may hold the file
            _enable_wal(self._db)
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(
                f"cannot open the store {self.path}: {exc} "
                f"(set --db or SUMMARISE_HOME to a writable folder)"
            ) from exc
        self._lock = threading.Lock()

    def _migrate(self) -> None:
        db = self._db
        db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY)")
        if {r[0] for r in db.execute("SELECT name FROM _migrations")} >= {
            fn.__name__ for fn in _migrations.MIGRATIONS
        }:
            return
        # one process migrates; the others wait, then see it done
        with transaction(db, "BEGIN IMMEDIATE"):
            done = {r[0] for r in db.execute("SELECT name FROM _migrations")}
            for fn in _migrations.MIGRATIONS:
                if fn.__name__ not in done:
                    fn(db)
                    db.execute("INSERT INTO _migrations VALUES (?)", (fn.__name__,))

    def close(self) -> None:
        self._db.close()

    def start_run(
        self,
        command: str,
        *,
        prompt: Any = None,
        model: str = "",
        endpoint: str = "",
        settings: dict[str, Any] | None = None,
    ) -> int:
        with self._lock:
            cur = self._db.execute(
                "INSERT INTO runs (started_at, command, prompt, prompt_version, prompt_sha256,"
                " model, endpoint, settings) VALUES (?,?,?,?,?,?,?,?)",
                (
                    utc_now(),
                    command,
                    getattr(prompt, "name", None),
                    getattr(prompt, "version", None),
                    getattr(prompt, "sha256", None),
                    model,
                    endpoint,
                    json.dumps(settings or {}, sort_keys=True),
                ),
            )
            return int(cur.lastrowid or 0)

    def finish_run(
        self,
        run_id: int,
        *,
        n_articles: int,
        n_ok: int,
        n_failed: int,
        n_cached: int,
        status: str = "finished",
    ) -> None:
        """Close a run's row; ``status`` is ``finished``, ``stopped`` or ``interrupted``."""
        with self._lock:
            self._db.execute(
                "UPDATE runs SET finished_at=?, n_articles=?, n_ok=?, n_failed=?, n_cached=?,"
                " status=? WHERE id=?",
                (utc_now(), n_articles, n_ok, n_failed, n_cached, status, run_id),
            )

    def cached(self, cache_key: str, *, since: str | None = None) -> Record | None:
        """The newest successful record for ``cache_key`` (created at or after ``since``, an
        ISO time, when given), if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT record FROM results WHERE cache_key=? AND status='ok'"
                " AND created_at >= ? ORDER BY id DESC LIMIT 1",
                (cache_key, since or ""),
            ).fetchone()
        return Record.from_dict(json.loads(row[0])) if row else None

    def origin_run(self, cache_key: str, created_at: str) -> dict[str, Any] | None:
        """The run that asked the model for the stored result ``cache_key`` made at
        ``created_at`` (a record served from the store keeps both): its ``settings`` (with
        ``concurrency``), ``endpoint`` and ``started_at``, and ``asked_before``, how many
        articles that run had asked the model for at earlier positions (its warm-up is the
        first ``concurrency``); None when it is not known."""
        with self._lock:
            row = self._db.execute(
                "SELECT runs.settings, runs.endpoint, runs.started_at, results.run_id,"
                " results.position FROM results JOIN runs ON runs.id = results.run_id"
                " WHERE results.cache_key=? AND results.status='ok'"
                " AND json_extract(results.record, '$.created_at')=?"
                " AND json_extract(results.record, '$.cached')=0"
                " ORDER BY results.id LIMIT 1",
                (cache_key, created_at),
            ).fetchone()
            if row is None:
                return None
            (before,) = self._db.execute(
                "SELECT COUNT(*) FROM results WHERE run_id=? AND position<?"
                " AND json_extract(record, '$.cached')=0 AND cache_key NOT LIKE 'bad:%'",
                (row[3], row[4]),
            ).fetchone()
        settings = json.loads(row[0] or "{}")
        return {
            "settings": settings,
            "endpoint": row[1],
            "started_at": row[2],
            "concurrency": settings.get("concurrency"),
            "asked_before": int(before),
        }

    def save_result(
        self,
        run_id: int,
        position: int,
        cache_key: str,
        record: Record,
        attempts: Iterable[Attempt] = (),
        *,
        holder: str | None = None,
    ) -> None:
        """Commit one finished article (its record and every attempt) in one transaction.

        ``holder``, for an article this run asked the model for, releases its lease and
        drops the journal's answers for it: they are in the attempts now."""
        with self._lock:
            db = self._db
            with transaction(db):
                db.execute(
                    "INSERT OR REPLACE INTO results (run_id, position, cache_key, article_id,"
                    " status, record, created_at) VALUES (?,?,?,?,?,?,?)",
                    (
                        run_id,
                        position,
                        cache_key,
                        record.article_id,
                        record.status,
                        record.to_json(),
                        record.created_at,
                    ),
                )
                db.executemany(
                    "INSERT INTO attempts (run_id, cache_key, article_id, n, purpose, mode,"
                    " status_code, outcome, error, raw_output, prompt_tokens, completion_tokens,"
                    " latency_ms, created_at, cached_tokens, reasoning_tokens, origin)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            run_id,
                            cache_key,
                            record.article_id,
                            a.n,
                            a.purpose,
                            a.mode,
                            a.status_code,
                            a.outcome,
                            a.error,
                            a.raw_output,
                            a.prompt_tokens,
                            a.completion_tokens,
                            a.latency_ms,
                            utc_now(),
                            a.cached_tokens,
                            a.reasoning_tokens,
                            a.origin,
                        )
                        for a in attempts
                    ],
                )
                if holder is not None:
                    db.execute("DELETE FROM answers WHERE cache_key=?", (cache_key,))
                    db.execute(
                        "DELETE FROM leases WHERE cache_key=? AND holder=?", (cache_key, holder)
                    )

    def run_records(self, run_id: int) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                "SELECT record FROM results WHERE run_id=? ORDER BY position", (run_id,)
            ).fetchall()
        return [Record.from_dict(json.loads(r[0])) for r in rows]

    def attempts_for(self, cache_key: str) -> list[dict[str, Any]]:
        with self._lock:
            cur = self._db.execute(
                "SELECT * FROM attempts WHERE cache_key=? ORDER BY id", (cache_key,)
            )
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def count(self, table: str) -> int:
        assert table in ("runs", "results", "attempts")
        with self._lock:
            return int(self._db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
