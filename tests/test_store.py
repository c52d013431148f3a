"""The store: WAL, busy timeout, versioned forward migrations, and natural unique keys."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cuf_tui.store import SCHEMA_VERSION, StoreError, open_store
from cuf_tui.store import schema as schema_module


def test_a_new_store_is_at_the_current_version_in_wal_mode(tmp_path: Path) -> None:
    with open_store(tmp_path / "cuf.db") as store:
        assert store.schema_version == SCHEMA_VERSION
        assert store.scalar("PRAGMA journal_mode") == "wal"
        assert store.scalar("PRAGMA busy_timeout") >= 5000
        assert store.scalar("PRAGMA foreign_keys") == 1
        tables = set(store.db.table_names())
    assert {
        "instructions",
        "responses",
        "judgments",
        "judgment_ratings",
        "reviews",
        "bench_items",
        "bench_references",
        "bench_answers",
        "bench_grades",
        "jobs",
        "imports",
    } <= tables


def test_migrations_run_forward_from_an_older_version(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "cuf.db"
    with open_store(path) as store:
        store.db.execute(
            "INSERT INTO instructions (text, preference, text_sha256, source) "
            "VALUES ('x', 'style', 'h', 'test')"
        )
    extra = "CREATE TABLE review_sessions (id INTEGER PRIMARY KEY, reviewer TEXT NOT NULL);"
    monkeypatch.setattr(schema_module, "MIGRATIONS", (*schema_module.MIGRATIONS, extra))
    import cuf_tui.store.db as db_module

    monkeypatch.setattr(db_module, "MIGRATIONS", schema_module.MIGRATIONS)
    monkeypatch.setattr(db_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with open_store(path) as store:
        assert store.schema_version == SCHEMA_VERSION + 1
        assert "review_sessions" in store.db.table_names()
        assert store.scalar("SELECT count(*) FROM instructions") == 1


def test_a_failing_migration_leaves_the_store_at_its_version(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "cuf.db"
    open_store(path).close()
    broken = "CREATE TABLE half_done (id INTEGER); INSERT INTO no_such_table VALUES (1);"
    import cuf_tui.store.db as db_module

    monkeypatch.setattr(db_module, "MIGRATIONS", (*schema_module.MIGRATIONS, broken))
    monkeypatch.setattr(db_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} failed"):
        open_store(path)
    monkeypatch.undo()
    with open_store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        assert "half_done" not in store.db.table_names()


def test_a_store_from_a_newer_cuf_tui_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cuf.db"
    open_store(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(StoreError, match="newer than this cuf-tui"):
        open_store(path)


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cuf.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="not a cuf-tui store"):
        open_store(path)


def test_the_same_unit_of_work_cannot_be_stored_twice(tmp_path: Path) -> None:
    with open_store(tmp_path / "cuf.db") as store:
        iid = store.db.execute(
            "INSERT INTO instructions (text, preference, text_sha256, source) "
            "VALUES ('x', 'style', 'h', 't') RETURNING id"
        ).fetchone()[0]
        insert_response = (
            "INSERT INTO responses (instruction_id, model, text, state, source) "
            "VALUES (?, 'm', 'a', 'done', 't')"
        )
        store.db.execute(insert_response, (iid,))
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute(insert_response, (iid,))
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute(
                "INSERT INTO instructions (text, preference, text_sha256, source) "
                "VALUES ('x', 'style', 'h', 'other source')"
            )
        judgment = (
            "INSERT INTO judgments (instruction_id, judge, template_sha256, order_shown, state, "
            "source) VALUES (?, 'j', 'abc', '[]', 'done', 't')"
        )
        store.db.execute(judgment, (iid,))
        with pytest.raises(sqlite3.IntegrityError):
            store.db.execute(judgment, (iid,))


def test_an_error_can_never_pass_for_a_response(tmp_path: Path) -> None:
    with open_store(tmp_path / "cuf.db") as store:
        iid = store.db.execute(
            "INSERT INTO instructions (text, preference, text_sha256, source) "
            "VALUES ('x', 'style', 'h', 't') RETURNING id"
        ).fetchone()[0]
        with pytest.raises(sqlite3.IntegrityError):  # failed without an error message
            store.db.execute(
                "INSERT INTO responses (instruction_id, model, state, source) "
                "VALUES (?, 'm', 'failed', 't')",
                (iid,),
            )
        with pytest.raises(sqlite3.IntegrityError):  # done without text
            store.db.execute(
                "INSERT INTO responses (instruction_id, model, state, error, source) "
                "VALUES (?, 'm', 'done', 'HTTP 500', 't')",
                (iid,),
            )
        with pytest.raises(sqlite3.IntegrityError):  # ratings stay on the 1..5 scale
            store.db.execute(
                "INSERT INTO judgments (instruction_id, judge, template_sha256, order_shown, "
                "state, source) VALUES (?, 'j', 'h', '[]', 'done', 't')",
                (iid,),
            )
            store.db.execute(
                "INSERT INTO judgment_ratings (judgment_id, model, rating) VALUES (1, 'm', 0)"
            )


def test_a_transaction_is_all_or_nothing(tmp_path: Path) -> None:
    with open_store(tmp_path / "cuf.db") as store:
        with pytest.raises(RuntimeError), store.transaction():
            store.db.execute(
                "INSERT INTO instructions (text, preference, text_sha256, source) "
                "VALUES ('x', 'style', 'h', 't')"
            )
            raise RuntimeError("crash in the middle")
        assert store.scalar("SELECT count(*) FROM instructions") == 0


def test_two_connections_share_the_store(tmp_path: Path) -> None:
    path = tmp_path / "cuf.db"
    with open_store(path) as writer, open_store(path) as reader:
        writer.db.execute(
            "INSERT INTO instructions (text, preference, text_sha256, source) "
            "VALUES ('x', 'style', 'h', 't')"
        )
        assert reader.scalar("SELECT count(*) FROM instructions") == 1


def test_a_version_5_store_keeps_its_jobs_and_servers_through_the_jobs_rebuild(
    tmp_path: Path,
) -> None:
    """Version 6 rebuilds `jobs` (a new state); the servers that point at jobs must stay, and
    a job that was 'done' with failures says so."""
    path = tmp_path / "cuf.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "BEGIN;\n" + "\n".join(schema_module.MIGRATIONS[:5]) + "\nPRAGMA user_version = 5;\n"
        "INSERT INTO jobs (id, kind, state, total, done, failed) VALUES "
        "(1, 'generate', 'done', 4, 4, 0), (2, 'judge', 'done', 4, 3, 1), "
        "(3, 'judge', 'done', 2, 0, 2), (4, 'bench', 'running', 9, 1, 0);\n"
        "INSERT INTO servers (job_id, model, engine, replica, port, log_path, state) "
        "VALUES (4, 'm', 'vllm', 1, 8000, 'logs/x.log', 'ready');\nCOMMIT;"
    )
    conn.close()
    with open_store(path) as store:
        assert store.schema_version == SCHEMA_VERSION
        states = store.db.execute("SELECT id, state FROM jobs ORDER BY id").fetchall()
        assert states == [(1, "done"), (2, "done with failures"), (3, "failed"), (4, "running")]
        assert store.db.execute("SELECT job_id, model FROM servers").fetchall() == [(4, "m")]
        assert store.scalar("PRAGMA foreign_keys") == 1
        assert store.db.execute("PRAGMA foreign_key_check").fetchall() == []
        store.write("DELETE FROM jobs WHERE id = 4")  # the foreign key still cascades
        assert store.scalar("SELECT count(*) FROM servers") == 0
