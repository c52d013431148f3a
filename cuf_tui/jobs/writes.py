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

    async def __call__(self, write: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        waited = 0.0
        noted = -LOCK_NOTE_EVERY_S
        delay = 0.05
        while True:
            started = time.monotonic()
            try:
                result = write(*args, **kwargs)
            except StoreLocked as err:
                waited += time.monotonic() - started
                if waited - noted >= LOCK_NOTE_EVERY_S:
                    noted = waited
                    self.log(
                        f"job {self.job_id}: waiting to write: {err} "
                        f"({waited:.0f} s so far); the batch goes on"
                    )
                await asyncio.sleep(delay)
                waited += delay
                delay = min(delay * 2, 1.0)
                continue
            if waited >= 1.0:
                self.log(f"job {self.job_id}: the store took writes again after {waited:.0f} s")
            return result
