"""One write transaction on a connection opened with ``isolation_level=None``.

    with transaction(db):                       # BEGIN ... COMMIT, or ROLLBACK and re-raise
        db.execute("INSERT ...")
    with transaction(db, "BEGIN IMMEDIATE"):    # take the write lock at once
        ...

Two details matter when things go wrong:

- ``BEGIN`` is inside the ``try``: whatever interrupts the block right after it (an
  exception, Ctrl-C) still ends the transaction, so the connection is never left inside one
  (the next ``BEGIN`` would fail with "cannot start a transaction within a transaction").
- ``ROLLBACK`` only when a transaction is still open (``db.in_transaction``). After some errors
  SQLite has already rolled the transaction back itself (``SQLITE_FULL``, ``SQLITE_IOERR``,
  ``SQLITE_NOMEM``, ``SQLITE_BUSY`` in some cases); a ``ROLLBACK`` then fails with "cannot
  rollback - no transaction is active", and that second error would replace the real one.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator


@contextlib.contextmanager
def transaction(db: sqlite3.Connection, begin: str = "BEGIN") -> Iterator[sqlite3.Connection]:
    try:
        db.execute(begin)
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):  # the first error is the one to report
                db.execute("ROLLBACK")
        raise
