"""A failed write transaction raises SQLite's own error, and leaves the connection usable.

When a disk fills up (``SQLITE_FULL``) SQLite rolls the whole transaction back itself; a
``ROLLBACK`` after that fails with "cannot rollback - no transaction is active", and that error
replaced the real one (the runner dug the cause out of ``__context__``). Every write
transaction of the store, the journal and batch mode's tables now goes through
:func:`pipeline.store._tx.transaction`, which rolls back only what is still open.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pipeline.batch._tables import Tables
from pipeline.records import Record
from pipeline.store import Attempt, Store
from pipeline.store._tx import transaction

BIG = "x" * 200_000  # more than the pages left


def record(text: str = "") -> Record:
    return Record(
        article_id="a1",
        source="in/a.txt",
        title="A",
        prompt="summarise",
        prompt_version="v2",
        prompt_sha256="f" * 64,
        schema="summary.v1",
        model="builtin",
        status="ok",
        summary={"headline": "Rivers rise", "summary": text},
        error=None,
    )


@pytest.fixture
def st(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "s.db")
    yield s
    s.close()


def full(st: Store) -> None:
    """No page left: the next write that needs one fails with SQLITE_FULL."""
    pages = st._db.execute("PRAGMA page_count").fetchone()[0]
    st._db.execute(f"PRAGMA max_page_count = {pages}")


def roomy(st: Store) -> None:
    st._db.execute("PRAGMA max_page_count = 1073741823")


def job(st: Store) -> int:
    prompt = SimpleNamespace(name="summarise", version="v2", sha256="f" * 64)
    return Tables(st).new_job(token="t1", endpoint="e", model="m", prompt=prompt, run_id=1)


def big_rows(n: int = 1) -> list[tuple[str, str, str, int]]:
    return [(f"c{i}", f"k{i}", BIG, 1) for i in range(n)]


WRITES: dict[str, Callable[[Store], Any]] = {
    "save_result": lambda st: st.save_result(1, 0, "k", record(BIG)),
    "save_result with attempts": lambda st: st.save_result(
        1, 0, "k", record(), [Attempt(1, "first", "json_schema", 200, "ok", None, BIG, 1, 1, 1)]
    ),
    "batch claim": lambda st: Tables(st).claim(st.job, 0, big_rows()),  # type: ignore[attr-defined]
    "batch add_waits": lambda st: Tables(st).add_waits(
        1, [(i, f"k{i}", BIG[:50_000], None) for i in range(8)]
    ),
}


@pytest.mark.parametrize("name", list(WRITES))
def test_a_full_disk_raises_sqlites_own_error_and_the_connection_goes_on(
    st: Store, name: str
) -> None:
    st.start_run("run")
    st.job = job(st)  # type: ignore[attr-defined]
    full(st)
    with pytest.raises(sqlite3.OperationalError) as caught:
        WRITES[name](st)
    assert "full" in str(caught.value)
    assert "cannot rollback" not in str(caught.value)
    assert caught.value.__context__ is None  # no second error on the way out
    assert not st._db.in_transaction
    roomy(st)
    WRITES[name](st)  # the same write works once there is room: nothing was left open


def test_the_journal_and_batch_transactions_roll_back_what_is_still_open(st: Store) -> None:
    st.start_run("run")
    jid = job(st)
    tables = Tables(st)
    # an error SQLite does not roll back itself
    with pytest.raises(sqlite3.IntegrityError), transaction(st._db):
        st._db.execute("UPDATE batch_jobs SET note='half' WHERE id=?", (jid,))
        st._db.execute("INSERT INTO batch_jobs (id) VALUES (?)", (jid,))
    assert not st._db.in_transaction
    assert tables.job(jid).note is None  # the first statement was rolled back
    assert st.claim("key", "holder-1") and not st._db.in_transaction


def test_an_interrupt_right_after_begin_leaves_no_transaction_open(st: Store) -> None:
    class Interrupting:
        """A connection whose BEGIN succeeds, then Ctrl-C arrives."""

        def __init__(self, db: sqlite3.Connection) -> None:
            self.db = db

        def execute(self, sql: str, *args: Any) -> Any:
            cur = self.db.execute(sql, *args)
            if sql.startswith("BEGIN"):
                raise KeyboardInterrupt
            return cur

        @property
        def in_transaction(self) -> bool:
            return self.db.in_transaction

    with pytest.raises(KeyboardInterrupt), transaction(Interrupting(st._db)):  # type: ignore[arg-type]
        pass
    assert not st._db.in_transaction
    st.save_result(st.start_run("run"), 0, "k", record())  # BEGIN works again
