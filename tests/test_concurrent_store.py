"""The store under concurrent writers: reviews written while a batch commits many times a
second, a writer that holds the lock longer than the busy timeout, and migrations racing."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cuf_tui.store.claims import claim_key, claim_units
from cuf_tui.store.db import StoreLocked, open_store
from cuf_tui.store.jobs import find_or_create_job
from cuf_tui.store.reviews import current_reviewer, review_of, write_review


def _store_with_instructions(root: Path, count: int = 20) -> Path:
    path = root / "cuf.db"
    with open_store(path) as store, store.transaction():
        for i in range(count):
            store.db.execute(
                "INSERT INTO instructions (text, preference, text_sha256, source, models) "
                "VALUES (?, 'readability', ?, 'test', '[\"a\", \"b\"]')",
                (f"instruction {i}", f"sha{i}"),
            )
    return path


BUSY_WRITER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
conn.execute("PRAGMA busy_timeout = 10000")
job = conn.execute("INSERT INTO jobs (kind) VALUES ('judge') RETURNING id").fetchone()[0]
print("ready", flush=True)
commits, deadline = 0, time.monotonic() + float(sys.argv[2])
while time.monotonic() < deadline:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute("SELECT done FROM jobs WHERE id = ?", (job,)).fetchone()
    conn.execute("UPDATE jobs SET done = done + 1 WHERE id = ?", (job,))
    conn.execute("COMMIT")
    commits += 1
    time.sleep(0.005)  # about 200 commits a second
print(commits, flush=True)
"""


def test_reviews_land_while_a_worker_commits_200_times_a_second(tmp_path: Path) -> None:
    path = _store_with_instructions(tmp_path)
    worker = subprocess.Popen(
        [sys.executable, "-c", BUSY_WRITER, str(path), "4"], stdout=subprocess.PIPE, text=True
    )
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "ready"
    started = time.monotonic()
    with open_store(path) as store:
        for n in range(200):
            # A review reads the review it changes, then writes it (for undo).
            write_review(store, 1 + n % 20, "ab"[n // 20 % 2], rating=1 + n % 5)
            time.sleep(0.005)
    elapsed = time.monotonic() - started
    commits = int(worker.stdout.readline())
    worker.wait(timeout=30)
    assert elapsed < 4, "the reviews did not all land while the worker was committing"
    assert commits > 200, f"the worker committed only {commits} times"
    with open_store(path) as store:
        assert store.scalar("SELECT count(*) FROM reviews") == 40
        assert review_of(store, 20, "b", current_reviewer()) == {
            "rating": 1 + 199 % 5,
            "agrees_with_judge": 0,
            "flagged": 0,
            "note": None,
            "judgment_id": None,
        }


def test_a_write_behind_a_lock_longer_than_the_busy_timeout_says_so_and_writes_nothing(
    tmp_path: Path,
) -> None:
    path = _store_with_instructions(tmp_path, 2)
    holder = sqlite3.connect(path)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with (
            open_store(path, busy_timeout_ms=200) as store,
            pytest.raises(StoreLocked, match="locked by another program"),
        ):
            write_review(store, 1, "a", rating=3)
    finally:
        holder.rollback()
        holder.close()
    with open_store(path) as store:
        assert store.scalar("SELECT count(*) FROM reviews") == 0
        write_review(store, 1, "a", rating=3)  # and once the lock is gone, it goes through
        assert store.scalar("SELECT rating FROM reviews") == 3


def test_two_processes_opening_an_old_store_at_once_both_get_the_new_schema(
    tmp_path: Path,
) -> None:
    path = tmp_path / "cuf.db"
    open_store(path).close()
    errors: list[BaseException] = []

    def opener() -> None:
        try:
            open_store(path).close()
        except BaseException as err:  # noqa: BLE001
            errors.append(err)

    threads = [threading.Thread(target=opener) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []


def test_a_unit_claimed_by_a_live_run_is_not_claimed_by_another(tmp_path: Path) -> None:
    path = _store_with_instructions(tmp_path, 3)
    with open_store(path) as store:
        first = find_or_create_job(store, "generate", {"limit": 1})
        second = find_or_create_job(store, "generate", {"limit": 2})
        for job, token in ((first, "run-1"), (second, "run-2")):
            store.write(
                "UPDATE jobs SET state = 'running', lease_token = ?, heartbeat_at = "
                "strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
                (token, job),
            )
        planned = store.now()
        units = [claim_key("response", i, "a") for i in (1, 2, 3)]
        mine = claim_units(store, first, "run-1", units[:2], planned)
        theirs = claim_units(store, second, "run-2", units, planned)
        assert mine.taken == units[:2]
        assert theirs.taken == units[2:]
        assert theirs.elsewhere == {units[0]: first, units[1]: first}
        # The first run ends (or its lease moves on): its claims are free again.
        store.write("UPDATE jobs SET lease_token = 'run-1b' WHERE id = ?", (first,))
        again = claim_units(store, second, "run-2", units[:1], planned)
        assert again.taken == units[:1]
        # A unit another batch stored since this run planned is not sent again.
        store.write(
            "INSERT INTO responses (instruction_id, model, text, state, source) "
            "VALUES (2, 'a', 'hi', 'done', 'generated')"
        )
        store.write("DELETE FROM claims")
        late = claim_units(store, second, "run-2", units[1:2], planned)
        assert late.taken == [] and late.stored == units[1:2]
