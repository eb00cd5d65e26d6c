"""The migration registry: each entry runs once, in order, inside one write transaction.

New tables are added by appending a function decorated with :func:`migration` at the end of
this file; a released migration is never edited (a store that ran it will not run it again).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = []


def migration(fn: Callable[[sqlite3.Connection], None]) -> Callable[[sqlite3.Connection], None]:
    MIGRATIONS.append(fn)
    return fn


def _run_script(db: sqlite3.Connection, script: str) -> None:
    """Run ``;``-separated DDL statement by statement, inside the caller's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            db.execute(statement)


@migration
def m001_initial(db: sqlite3.Connection) -> None:
    _run_script(
        db,
        """
        CREATE TABLE runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            command TEXT NOT NULL,
            prompt TEXT, prompt_version TEXT, prompt_sha256 TEXT,
            model TEXT, endpoint TEXT, settings TEXT,
            n_articles INTEGER DEFAULT 0, n_ok INTEGER DEFAULT 0,
            n_failed INTEGER DEFAULT 0, n_cached INTEGER DEFAULT 0
        );
        CREATE TABLE results (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            position INTEGER NOT NULL,
            cache_key TEXT NOT NULL,
            article_id TEXT NOT NULL,
            status TEXT NOT NULL,
            record TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (run_id, position)
        );
        CREATE INDEX results_cache ON results (cache_key, status);
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(id),
            cache_key TEXT NOT NULL,
            article_id TEXT NOT NULL,
            n INTEGER NOT NULL,
            purpose TEXT NOT NULL,
            mode TEXT,
            status_code INTEGER,
            outcome TEXT NOT NULL,
            error TEXT,
            raw_output TEXT,
            prompt_tokens INTEGER DEFAULT 0,
            completion_tokens INTEGER DEFAULT 0,
            latency_ms INTEGER DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE INDEX attempts_key ON attempts (cache_key);
        """,
    )


@migration
def m002_journal_leases_usage(db: sqlite3.Connection) -> None:
    """``answers``: every 200 answer the moment it arrives, until its article's result is
    committed (a crash then costs only the requests in flight); ``leases``: which run is asking
    the model for an article now (two runs on one store never pay twice); the attempts' cached
    and reasoning tokens and origin (live, batch, stored); a run's end state."""
    _run_script(
        db,
        """
        CREATE TABLE answers (
            id INTEGER PRIMARY KEY,
            cache_key TEXT NOT NULL,
            request_sha256 TEXT NOT NULL,
            status_code INTEGER NOT NULL,
            body TEXT NOT NULL,
            latency_ms INTEGER DEFAULT 0,
            created_at TEXT NOT NULL
        );
        CREATE INDEX answers_request ON answers (request_sha256);
        CREATE INDEX answers_key ON answers (cache_key);
        CREATE TABLE leases (
            cache_key TEXT PRIMARY KEY,
            holder TEXT NOT NULL,
            host TEXT NOT NULL,
            pid INTEGER NOT NULL,
            expires_at REAL NOT NULL
        );
        CREATE INDEX leases_holder ON leases (holder);
        ALTER TABLE attempts ADD COLUMN cached_tokens INTEGER DEFAULT 0;
        ALTER TABLE attempts ADD COLUMN reasoning_tokens INTEGER DEFAULT 0;
        ALTER TABLE attempts ADD COLUMN origin TEXT DEFAULT 'live';
        ALTER TABLE runs ADD COLUMN status TEXT DEFAULT 'running'
        """,
    )
