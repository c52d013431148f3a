"""The search index kept in step: the documents of the instructions writes have touched
(noted by triggers in ``search_stale``) made again, in the writer's transaction."""

from __future__ import annotations

import sqlite3

from cuf_tui.store.schema import SEARCH_DOCUMENT

_REFRESH = (
    "DELETE FROM instruction_search WHERE rowid IN (SELECT instruction_id FROM search_stale)",
    f"INSERT INTO instruction_search (rowid, body) {SEARCH_DOCUMENT} "
    "WHERE i.id IN (SELECT instruction_id FROM search_stale)",
    "DELETE FROM search_stale",
)


def index_is_stale(conn: sqlite3.Connection) -> bool:
    """Whether some instruction's document waits to be made again (a program wrote the
    store without going through cuf-tui's transactions, or one is under way)."""
    return conn.execute("SELECT 1 FROM search_stale LIMIT 1").fetchone() is not None


def refresh_search_index(conn: sqlite3.Connection) -> None:
    """Make the touched documents again; inside the caller's transaction."""
    if index_is_stale(conn):
        for statement in _REFRESH:
            conn.execute(statement)
