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


@migration
def m003_batches(db: sqlite3.Connection) -> None:
    """Batch mode (:mod:`pipeline.batch`): the provider batches we submit, their request
    lines, the inputs of each run that wait for an answer, and the limits learnt."""
    _run_script(
        db,
        """
        CREATE TABLE batch_jobs (
            id INTEGER PRIMARY KEY,
            token TEXT NOT NULL UNIQUE,
            endpoint TEXT NOT NULL,
            model TEXT NOT NULL,
            prompt TEXT NOT NULL, prompt_version TEXT NOT NULL, prompt_sha256 TEXT NOT NULL,
            run_id INTEGER,
            state TEXT NOT NULL,
            input_file_id TEXT,
            batch_id TEXT UNIQUE,
            status TEXT,
            n_requests INTEGER NOT NULL DEFAULT 0,
            n_bytes INTEGER NOT NULL DEFAULT 0,
            n_tokens INTEGER NOT NULL DEFAULT 0,
            request_counts TEXT,
            errors TEXT,
            output_file_id TEXT,
            error_file_id TEXT,
            created_at TEXT NOT NULL,
            submitted_at TEXT,
            expires_at INTEGER,
            finished_at TEXT,
            note TEXT
        );
        CREATE INDEX batch_jobs_state ON batch_jobs (state);
        CREATE TABLE batch_requests (
            job INTEGER NOT NULL REFERENCES batch_jobs(id),
            line INTEGER NOT NULL,
            custom_id TEXT NOT NULL,
            cache_key TEXT NOT NULL,
            article TEXT NOT NULL,
            state TEXT NOT NULL,
            submissions INTEGER NOT NULL DEFAULT 1,
            PRIMARY KEY (job, custom_id)
        );
        CREATE UNIQUE INDEX batch_requests_open ON batch_requests (cache_key)
            WHERE state = 'open';
        CREATE TABLE batch_waits (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            position INTEGER NOT NULL,
            cache_key TEXT NOT NULL,
            source TEXT NOT NULL,
            title TEXT,
            PRIMARY KEY (run_id, position)
        );
        CREATE INDEX batch_waits_key ON batch_waits (cache_key);
        CREATE TABLE batch_limits (
            endpoint TEXT NOT NULL,
            model TEXT NOT NULL,
            name TEXT NOT NULL,
            value INTEGER NOT NULL,
            reason TEXT,
            learnt_at TEXT NOT NULL,
            PRIMARY KEY (endpoint, model, name)
        )
        """,
    )


@migration
def m004_web(db: sqlite3.Connection) -> None:
    """Web input (:mod:`pipeline.web._state`): conditional-GET state per address, the
    addresses each article was seen at, and the near-duplicate index (MinHash signatures and
    their LSH bands)."""
    _run_script(
        db,
        """
        CREATE TABLE web_http (
            url TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            version INTEGER NOT NULL,
            etag TEXT,
            last_modified TEXT,
            final_url TEXT,
            payload BLOB NOT NULL,
            fetched_at TEXT NOT NULL
        );
        CREATE TABLE web_urls (
            url TEXT NOT NULL,
            article_id TEXT NOT NULL,
            first_seen TEXT NOT NULL,
            PRIMARY KEY (url, article_id)
        ) WITHOUT ROWID;
        CREATE TABLE web_minhash (
            article_id TEXT PRIMARY KEY,
            signature BLOB NOT NULL,
            added_at TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE web_lsh (
            band INTEGER NOT NULL,
            bucket INTEGER NOT NULL,
            article_id TEXT NOT NULL,
            PRIMARY KEY (band, bucket, article_id)
        ) WITHOUT ROWID
        """,
    )


@migration
def m005_web_dedupe(db: sqlite3.Connection) -> None:
    """Near-duplicates (:mod:`pipeline.web._dedupe`): each stored fingerprint keeps its
    opening (JSON: the opening words, the lead's length, the numbers: the lead and figures
    checks), the fingerprint version it was made with, and its place in the order
    fingerprints were added (the first copy of a story is the earliest)."""
    _run_script(
        db,
        """
        ALTER TABLE web_minhash ADD COLUMN lead TEXT NOT NULL DEFAULT '';
        ALTER TABLE web_minhash ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE web_minhash ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;
        CREATE INDEX web_minhash_seq ON web_minhash (seq)
        """,
    )


@migration
def m006_batch_request_shape(db: sqlite3.Connection) -> None:
    """Batch mode adapts like a live run (:mod:`pipeline.batch._collect`): each job keeps the
    structured-output mode and the request shape its lines were written in (so its file is
    rebuilt byte for byte and its answers are read in that mode), and ``batch_learnt`` keeps
    what rows refused for their shape taught, per endpoint and model, for later commands."""
    _run_script(
        db,
        """
        ALTER TABLE batch_jobs ADD COLUMN request_mode TEXT;
        ALTER TABLE batch_jobs ADD COLUMN request_shape TEXT;
        CREATE TABLE batch_learnt (
            endpoint TEXT NOT NULL,
            model TEXT NOT NULL,
            mode TEXT NOT NULL,
            shape TEXT NOT NULL,
            learnt_at TEXT NOT NULL,
            PRIMARY KEY (endpoint, model)
        )
        """,
    )


@migration
def m007_batch_copies(db: sqlite3.Connection) -> None:
    """Near-duplicates in batch mode (:mod:`pipeline.batch._driver`): an input that is a later
    copy of a story sends no request; its wait (``batch_waits``) is on the first copy's cache
    key, and this row keeps what its record needs when that answer comes, maybe in another
    process (``summarise batch collect``): the first copy's article id (``duplicate_of``), the
    copy itself (JSON) and its own cache key (it is asked on its own if the first fails)."""
    _run_script(
        db,
        """
        CREATE TABLE batch_copies (
            run_id INTEGER NOT NULL REFERENCES runs(id),
            position INTEGER NOT NULL,
            cache_key TEXT NOT NULL,
            first_key TEXT NOT NULL,
            first_id TEXT NOT NULL,
            article TEXT NOT NULL,
            PRIMARY KEY (run_id, position)
        );
        CREATE INDEX batch_copies_key ON batch_copies (cache_key)
        """,
    )
