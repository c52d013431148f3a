"""The workspace's SQLite store: the single source of truth for every unit of work."""

from cuf_tui.store.db import SCHEMA_VERSION, Store, StoreError, open_store

__all__ = ["SCHEMA_VERSION", "Store", "StoreError", "open_store"]
