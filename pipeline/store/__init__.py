"""The SQLite store: every run, every result, every attempt with its raw output.

Modules: ``_migrations`` (the append-only migration registry and every table's DDL) and
``_store`` (:class:`Store`, the thread-safe handle, and :class:`Attempt`).
"""

from __future__ import annotations

from pipeline.store._migrations import MIGRATIONS, migration
from pipeline.store._store import Attempt, Store, default_db_path

__all__ = ["MIGRATIONS", "Attempt", "Store", "default_db_path", "migration"]
