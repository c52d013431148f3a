"""Opening a workspace store: WAL, a busy timeout, foreign keys, and forward migrations."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cuf_tui.errors import CufError
from cuf_tui.store.schema import MIGRATIONS
from cuf_tui.store.search import refresh_search_index

if TYPE_CHECKING:
    import sqlite_utils

SCHEMA_VERSION = len(MIGRATIONS)
BUSY_TIMEOUT_MS = 10_000
NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"  # the store's clock, as its timestamps read


class StoreError(CufError):
    """The store cannot be opened or used as asked."""


class StoreLocked(StoreError):
    """Another connection held the write lock for longer than this one's busy timeout (a
    VACUUM, a sqlite3 shell inside a transaction). Nothing was written; trying again is safe."""


# SQLite's primary result codes for what is wrong with the store itself, not with a statement.
_STORE_TROUBLE = {
    5: "it is locked by another program",  # SQLITE_BUSY
    6: "a table is locked",  # SQLITE_LOCKED
    8: "it is read-only (check the file's and its folder's permissions)",  # SQLITE_READONLY
    10: "a disk I/O error",  # SQLITE_IOERR
    11: "the file is corrupt (restore a copy, or try `sqlite3 cuf.db .recover`)",  # CORRUPT
    13: "the disk is full",  # SQLITE_FULL
    # SQLITE_CANTOPEN: the file, or the -wal and -shm files SQLite keeps beside it
    14: "it cannot be opened (check the file's and its folder's permissions)",
    26: "it is not a SQLite database",  # SQLITE_NOTADB
}


def store_trouble(
    err: BaseException, path: Path | str | None, doing: str = "write"
) -> StoreError | None:
    """The store-level failure ``err`` stands for, in one line naming the file and what could
    not be done (``doing``: write, open, use); None when ``err`` is about one statement (a
    constraint, a bad value), not about the store."""
    if not isinstance(err, sqlite3.Error):
        return None
    code = getattr(err, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    if primary not in _STORE_TROUBLE:
        text = str(err).lower()
        guessed = {
            "database is locked": 5,
            "readonly database": 8,
            "disk i/o error": 10,
            "malformed": 11,
            "database or disk is full": 13,
            "unable to open": 14,
            "not a database": 26,
        }
        primary = next((c for words, c in guessed.items() if words in text), None)
        if primary is None:
            return None
    what = _STORE_TROUBLE[primary]
    where = path if path is not None else "the store"
    kind = StoreLocked if primary in (5, 6) else StoreError
    return kind(f"{where}: cannot {doing} the store: {what} ({err})")


class Store:
    """A workspace's ``cuf.db``. Every read and write of the store goes through one of these."""

    def __init__(self, db: sqlite_utils.Database, path: Path | None) -> None:
        self.db = db
        self.path = path

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """All or nothing: the writes inside commit together or not at all.

        The write lock is taken up front (BEGIN IMMEDIATE): a transaction that read first
        and wrote later would fail at once, whatever the busy timeout, whenever another
        connection committed in between (WAL mode cannot upgrade a stale snapshot). Store
        failures (locked, full, read-only, corrupt) are raised as StoreError; StoreLocked
        means nothing was written and trying again is safe."""
        conn = self.db.conn
        if conn.in_transaction:  # nested: a savepoint inside the outer transaction
            with self.db.atomic():
                yield self
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as err:
            raise store_trouble(err, self.path) or err from None
        try:
            yield self
            refresh_search_index(conn)  # the documents of what this transaction touched
        except BaseException as err:
            if conn.in_transaction:
                conn.rollback()
            trouble = store_trouble(err, self.path)
            if trouble is not None:
                raise trouble from None
            raise
        try:
            conn.commit()
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.rollback()
            raise store_trouble(err, self.path) or err from None

    def write(self, sql: str, params: Any = None) -> sqlite3.Cursor:
        """One write statement in a transaction of its own (see ``transaction``)."""
        with self.transaction():
            return self.db.execute(sql, params or ())

    def now(self) -> str:
        """The store's clock, in the form its timestamps take."""
        return str(self.scalar(f"SELECT {NOW}"))

    def insert_or_find(
        self, table: str, key: dict[str, Any], columns: dict[str, Any]
    ) -> tuple[int, bool]:
        """The id of ``table``'s row with ``key`` (added with ``columns`` when there is none)
        and whether this call added it; inside the caller's transaction."""
        values = {**key, **columns}
        row = self.db.execute(
            f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))}) "
            "ON CONFLICT DO NOTHING RETURNING id",
            tuple(values.values()),
        ).fetchone()
        if row is not None:
            return int(row[0]), True
        found = self.db.execute(
            f"SELECT id FROM {table} WHERE " + " AND ".join(f"{name} = ?" for name in key),
            tuple(key.values()),
        ).fetchone()
        return int(found[0]), False

    def checkpoint(self) -> None:
        """Move everything written into the file itself and empty the WAL (before the
        store is copied or moved as a whole)."""
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

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


def _contains_folded(text: str | None, needle: str) -> bool:
    return text is not None and needle in text.lower()


def _searchable(text: str | None) -> str | None:
    return text.replace("\x00", " ") if text is not None else None


def _text(raw: bytes) -> str:
    """A stored text as Python reads it: a value that is not UTF-8 (cut mid-character, or
    written by another tool) reads with its bad bytes replaced, instead of failing the
    whole read it is part of."""
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode(errors="replace")


def open_store(
    path: Path | str | None, *, create: bool = True, busy_timeout_ms: int = BUSY_TIMEOUT_MS
) -> Store:
    """Open (and bring up to date) the store at ``path``; ``None`` opens one in memory.

    ``busy_timeout_ms``: how long a write waits for another connection's lock before
    StoreLocked (a batch worker waits less, and retries without blocking its event loop)."""
    sqlite_utils = _sqlite_utils()

    if path is not None:
        path = Path(path)
        if not path.exists() and not create:
            raise StoreError(f"{path}: no store here (run `cuf-tui init` to make a workspace)")
        try:
            conn = sqlite3.connect(path, timeout=busy_timeout_ms / 1000)
        except sqlite3.Error as err:
            raise StoreError(f"{path}: cannot open the store: {err}") from None
    else:
        conn = sqlite3.connect(":memory:")
    # Text search that folds case beyond ASCII ("ÜNÏ" finds "ünï"; SQLite's LIKE folds ASCII
    # only) letter by letter, as the search index does (ß stays ß): contains_folded(text,
    # needle) with ``needle`` already lowered.
    conn.create_function("contains_folded", 2, _contains_folded, deterministic=True)
    conn.create_function("searchable", 1, _searchable, deterministic=True)
    conn.text_factory = _text
    db = sqlite_utils.Database(conn)
    store = Store(db, path)
    try:
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
        if path is not None:
            db.enable_wal()
            db.execute("PRAGMA synchronous = NORMAL")
        _migrate(store)
        db.execute("PRAGMA foreign_keys = ON")
    except sqlite3.DatabaseError as err:
        conn.close()
        # A file that is not SQLite at all is not a store; anything else (read-only, corrupt,
        # a folder where SQLite cannot make its -wal and -shm files) is trouble with the store.
        trouble = None if "not a database" in str(err) else store_trouble(err, path, "open")
        raise trouble or StoreError(f"{path}: not a cuf-tui store ({err})") from None
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
        script = (
            f"BEGIN IMMEDIATE;\n{MIGRATIONS[number - 1]}\nPRAGMA user_version = {number};\nCOMMIT;"
        )
        try:
            conn.executescript(script)
        except sqlite3.Error as err:
            if conn.in_transaction:
                conn.rollback()
            if store.schema_version >= number:  # another process upgraded it meanwhile
                continue
            raise StoreError(
                f"{store.path}: upgrading the store to schema version {number} failed ({err}); "
                f"it is left at version {number - 1}"
            ) from None
