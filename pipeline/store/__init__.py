"""The SQLite store: every run, every result, every attempt with its raw output.

Modules: ``_migrations`` (the append-only migration registry and every table's DDL),
``_store`` (:class:`Store`, the thread-safe handle, and :class:`Attempt`) and ``_journal``
(the journal of answers, and the claims on an article: a live run's lease, read together with
a batch's open request, so that neither transport pays for what the other is paying for).
"""

from __future__ import annotations

from pipeline.store._journal import BATCH_OPEN_STATES, Claim, live_lease
from pipeline.store._migrations import MIGRATIONS, migration
from pipeline.store._store import Attempt, Store, default_db_path

__all__ = [
    "BATCH_OPEN_STATES",
    "MIGRATIONS",
    "Attempt",
    "Claim",
    "Store",
    "default_db_path",
    "live_lease",
    "migration",
]
