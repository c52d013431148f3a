"""Opening a workspace store: WAL, a busy timeout, foreign keys, and forward migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuf_tui.errors import CufError
from cuf_tui.store.schema import MIGRATIONS

if TYPE_CHECKING:
    import sqlite_utils

SCHEMA_VERSION = len(MIGRATIONS)
BUSY_TIMEOUT_MS = 10_000


class StoreError(CufError):
    """The store cannot be opened or used as asked."""


class Store:
    """A workspace's ``cuf.db``. Every read and write of the store goes through one of these."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None) -> None:
        self.db = db
        self.path = path

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All or nothing: the writes inside commit together or not at all."""
        with self.db.atomic():
            yield self

    def query(self, sql: str, params: Any = None) -> list[dict[str, Any]]:
        return list(self.db.query(sql, params or ()))

    def scalar(self, sql: str, params: Any = None) -> Any:
        row = self.db.execute(sql, params or ()).fetchone()
        return None if row is None else row[0]

    @property
    def schema_version(self) -> int:
        return int(self.scalar("PRAGMA user_version"))

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _sqlite_utils() -> Any:
    """sqlite-utils, imported without pandas and numpy when they are not loaded yet.

    sqlite-utils imports them, if installed, only to map their types to column types; the
    store never holds pandas or numpy values, and importing them costs about half a second on
    every start of the workbench. They stay importable for anything else afterwards.
    """
    import sys

    if "sqlite_utils" in sys.modules:
        return sys.modules["sqlite_utils"]
    hidden = [name for name in ("pandas", "numpy") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
    try:
        import sqlite_utils
    finally:
        for name in hidden:
            del sys.modules[name]
    return sqlite_utils


def open_store(path: Path | str | None, *, create: bool = True) -> Store:
    """Open (and bring up to date) the store at ``path``; ``None`` opens one in memory."""
    sqlite_utils = _sqlite_utils()

    if path is not None:
        path = Path(path)
        if not path.exists() and not create:
            raise StoreError(f"{path}: no store here (run `cuf-tui init` to make a workspace)")
        try:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
        except sqlite3.Error as err:
            raise StoreError(f"{path}: cannot open the store: {err}") from None
    else:
        conn = sqlite3.connect(":memory:")
    db = sqlite_utils.Database(conn)
    store = Store(db, path)
    try:
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        if path is not None:
            db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")
        _migrate(store)
    except sqlite3.DatabaseError as err:
        conn.close()
        raise StoreError(f"{path}: not a cuf-tui store ({err})") from None
    except StoreError:
        conn.close()
        raise
    return store


def _migrate(store: Store) -> None:
    version = store.schema_version
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{store.path}: the store has schema version {version}, newer than this cuf-tui "
            f"understands ({SCHEMA_VERSION}); upgrade cuf-tui"
        )
    conn = store.db.conn
    for number in range(version + 1, SCHEMA_VERSION + 1):
        # executescript commits before it runs, so the script carries its own transaction
        # and a failure leaves the store at the previous version.
        script = f"BEGIN;\n{MIGRATIONS[number - 1]}\nPRAGMA user_version = {number};\nCOMMIT;"
        try:
            conn.executescript(script)
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.rollback()
            raise StoreError(
                f"{store.path}: upgrading the store to schema version {number} failed ({err}); "
                f"it is left at version {number - 1}"
            ) from None
