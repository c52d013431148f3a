"""A worker's writes to the store, which wait out another program's lock without stopping
the batch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

from cuf_tui.store.db import Store, StoreLocked

T = TypeVar("T")

# How long one write waits for another program's lock before the worker's event loop gets
# control back (it then waits and tries again, logging it, while requests stay in flight).
WRITE_BUSY_TIMEOUT_MS = 250
LOCK_NOTE_EVERY_S = 10.0


class StoreWrites:
    """A worker's writes to the store. A lock held by another program (a VACUUM, a sqlite3
    shell in a transaction) is waited out: each try blocks the event loop for at most
    WRITE_BUSY_TIMEOUT_MS, then the worker sleeps and tries again, saying so in the log,
    while its requests stay in flight. Other store failures are raised (StoreError)."""

    def __init__(self, store: Store, job_id: int, log: Callable[[str], None]) -> None:
        self.store = store
        self.job_id = job_id
        self.log = log
        # One wait for a lock, however many writes wait in it: when it began, when it was
        # last noted in the log (None: the store takes writes).
        self.waiting_since: float | None = None
        self.noted_at = 0.0

    async def __call__(self, write: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        delay = 0.05
        while True:
            try:
                result = write(*args, **kwargs)
            except StoreLocked as err:
                self._note_wait(err)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            self._note_end()
            return result

    def _note_wait(self, err: StoreLocked) -> None:
        now = time.monotonic()
        if self.waiting_since is None:
            self.waiting_since = self.noted_at = now
            self.log(f"job {self.job_id}: waiting to write: {err}; the batch goes on")
        elif now - self.noted_at >= LOCK_NOTE_EVERY_S:
            self.noted_at = now
            waited = now - self.waiting_since
            self.log(f"job {self.job_id}: still waiting to write ({waited:.0f} s so far)")

    def _note_end(self) -> None:
        if self.waiting_since is None:
            return
        waited = time.monotonic() - self.waiting_since
        self.waiting_since = None
        self.log(f"job {self.job_id}: the store took writes again after {waited:.1f} s")
