"""The SQLite store: migrations, runs, results, attempts, the cache lookup, WAL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.errors import StoreError
from pipeline.records import Record
from pipeline.store import MIGRATIONS, Attempt, Store, default_db_path
from pipeline.store import _migrations as store_module


def record(status: str = "ok", headline: str = "Rivers rise", **extra: object) -> Record:
    return Record(
        article_id="a1",
        source="in/a.txt",
        title="A",
        prompt="summarise",
        prompt_version="v2",
        prompt_sha256="f" * 64,
        schema="summary.v1",
        model="builtin",
        status=status,
        summary={"headline": headline} if status == "ok" else None,
        error=None
        if status == "ok"
        else {"kind": "http_error", "message": "x", "last_output": "y"},
        **extra,  # type: ignore[arg-type]
    )


def attempt(n: int, outcome: str = "ok", raw: str | None = "{}") -> Attempt:
    return Attempt(
        n, "first" if n == 1 else "reask", "json_schema", 200, outcome, None, raw, 10, 5, 7
    )


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "deep" / "folder" / "s.db"


@pytest.fixture
def st(db: Path) -> Iterator[Store]:
    s = Store(db)
    yield s
    s.close()


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_migrations_run_once(db: Path) -> None:
    Store(db).close()
    Store(db).close()  # a second open finds everything in place
    assert {"runs", "results", "attempts", "_migrations"} <= tables(db)
    with sqlite3.connect(db) as conn:
        done = [r[0] for r in conn.execute("SELECT name FROM _migrations")]
    assert done == [fn.__name__ for fn in MIGRATIONS]


def test_a_new_migration_runs_once_on_an_existing_store(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(db).close()
    calls: list[str] = []

    def m999_notes(conn: sqlite3.Connection) -> None:
        calls.append("ran")
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")

    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, m999_notes])
    Store(db).close()
    Store(db).close()
    assert calls == ["ran"]
    assert "notes" in tables(db)


def test_wal_mode(st: Store, db: Path) -> None:
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_default_path_is_under_summarise_home(_isolated_home: Path) -> None:
    assert default_db_path() == _isolated_home / "summarise.db"
    s = Store()
    try:
        assert s.path == _isolated_home / "summarise.db"
        assert s.path.is_file()
    finally:
        s.close()


def test_unusable_path_is_a_store_error(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    with pytest.raises(StoreError) as info:
        Store(blocker / "s.db")
    assert "set --db or SUMMARISE_HOME" in info.value.message
    assert info.value.exit_code == 2


def test_runs_are_recorded(st: Store, db: Path) -> None:
    run_id = st.start_run("run", model="builtin", endpoint="builtin", settings={"force": False})
    st.finish_run(run_id, n_articles=3, n_ok=2, n_failed=1, n_cached=1)
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT command, model, settings, n_articles, n_ok, n_failed, n_cached, finished_at"
            " FROM runs WHERE id=?",
            (run_id,),
        ).fetchone()
    assert row[:7] == ("run", "builtin", '{"force": false}', 3, 2, 1, 1)
    assert row[7] is not None
    assert st.start_run("compare") == run_id + 1


def test_results_and_attempts_persist_across_opens(db: Path) -> None:
    s = Store(db)
    run_id = s.start_run("run")
    s.save_result(run_id, 1, "k2", record(headline="second"), [attempt(1)])
    s.save_result(
        run_id, 0, "k1", record(headline="first"), [attempt(1, "schema_invalid"), attempt(2)]
    )
    s.close()

    s = Store(db)
    try:
        assert [r.summary for r in s.run_records(run_id)] == [
            {"headline": "first"},
            {"headline": "second"},
        ]
        rows = s.attempts_for("k1")
        assert [(a["n"], a["purpose"], a["outcome"], a["raw_output"]) for a in rows] == [
            (1, "first", "schema_invalid", "{}"),
            (2, "reask", "ok", "{}"),
        ]
        assert rows[0]["prompt_tokens"] == 10 and rows[0]["run_id"] == run_id
        assert (s.count("runs"), s.count("results"), s.count("attempts")) == (1, 2, 3)
    finally:
        s.close()


def test_cached_returns_the_newest_ok_record(st: Store) -> None:
    assert st.cached("k") is None
    run_id = st.start_run("run")
    st.save_result(run_id, 0, "k", record("failed"))
    assert st.cached("k") is None
    st.save_result(run_id, 1, "k", record(headline="older"))
    st.save_result(run_id, 2, "k", record(headline="newer"))
    st.save_result(run_id, 3, "k", record("failed"))
    st.save_result(run_id, 4, "other", record(headline="other key"))
    hit = st.cached("k")
    assert hit is not None
    assert hit.summary == {"headline": "newer"}
    assert hit.status == "ok"


def test_saving_the_same_position_again_replaces_it(st: Store) -> None:
    run_id = st.start_run("run")
    st.save_result(run_id, 0, "k", record(headline="first"))
    st.save_result(run_id, 0, "k", record(headline="again"))
    assert [r.summary for r in st.run_records(run_id)] == [{"headline": "again"}]


def test_a_failed_save_leaves_nothing_behind(st: Store) -> None:
    run_id = st.start_run("run")
    broken = Attempt(1, "first", "json_schema", 200, "ok", None, object(), 1, 1, 1)  # type: ignore[arg-type]
    with pytest.raises(sqlite3.Error):
        st.save_result(run_id, 0, "k", record(), [attempt(1), broken])
    assert (st.count("results"), st.count("attempts")) == (0, 0)
    st.save_result(run_id, 0, "k", record(), [attempt(1)])  # the store is still usable
    assert st.count("results") == 1


def test_records_round_trip_through_the_store(st: Store) -> None:
    original = record(
        checks={"faithfulness": 0.9, "unsupported": ["x"]},
        attempts=2,
        usage={"prompt_tokens": 3, "completion_tokens": 4},
        cost_usd=0.0,
        latency_ms=12,
        mode="json_object",
    )
    run_id = st.start_run("run")
    st.save_result(run_id, 0, "k", original)
    assert st.cached("k") == original


def test_opening_a_new_store_from_several_connections_at_once(tmp_path: Path) -> None:
    """Two `summarise` commands started together on a fresh SUMMARISE_HOME: neither fails with
    "table runs already exists" or "database is locked", and each migration runs once."""
    for trial in range(8):
        path = tmp_path / f"race{trial}.db"
        barrier = threading.Barrier(4)
        errors: list[BaseException] = []

        def open_store(
            p: Path = path, b: threading.Barrier = barrier, errs: list[BaseException] = errors
        ) -> None:
            b.wait()
            try:
                Store(p).close()
            except BaseException as exc:  # collected and asserted below
                errs.append(exc)

        threads = [threading.Thread(target=open_store) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        with sqlite3.connect(path) as conn:
            names = [r[0] for r in conn.execute("SELECT name FROM _migrations")]
        assert names == [fn.__name__ for fn in MIGRATIONS]


def test_a_failing_migration_leaves_nothing_half_done(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    Store(db).close()

    def m999_broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY)")  # fails: already exists

    monkeypatch.setattr(store_module, "MIGRATIONS", [*MIGRATIONS, m999_broken])
    with pytest.raises(StoreError, match="already exists"):
        Store(db)
    assert "notes" not in tables(db)
    monkeypatch.setattr(store_module, "MIGRATIONS", list(MIGRATIONS))
    Store(db).close()  # the store still opens with the migrations it had
