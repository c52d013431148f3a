"""The `remote_batches` and `remote_batch_units` tables: Batch API work a job sent to a
provider. A batch is recorded when its input file is uploaded (before the batch exists, so a
worker killed between the two never uploads it again), updated as the provider reports on
it, and each unit's answer line is kept as soon as it is downloaded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, fields

from cuf_tui.store.db import NOW, Store


@dataclass(frozen=True)
class RemoteStatus:
    """How the provider says a batch stands."""

    batch_id: str
    status: str  # validating, in_progress, finalizing, completed, expired, failed, ...
    input_file_id: str | None = None
    output_file_id: str | None = None
    error_file_id: str | None = None
    total: int = 0
    completed: int = 0
    failed: int = 0
    created_at: int | None = None
    expires_at: int | None = None
    errors: str | None = None  # why the whole batch failed, in the provider's words


# The states in which a batch has ended: the provider's, and "lost" (the provider no longer
# knows it: the workbench's word, never the provider's).
FINISHED = frozenset({"completed", "expired", "failed", "cancelled", "lost"})
# The provider's states in which a batch will still change (and may be cancelled).
OPEN_STATES = frozenset(
    {"uploading", "uploaded", "validating", "in_progress", "finalizing", "cancelling"}
)


@dataclass(frozen=True)
class RemoteBatchRow:
    id: int
    job_id: int
    model: str
    endpoint: str
    file_name: str
    input_file_id: str | None
    batch_id: str | None
    status: str
    purpose: str  # units, resubmitted (missing from an expired batch), repairs
    requests: int
    completed: int
    failed: int
    output_file_id: str | None
    error_file_id: str | None
    error: str | None
    collected: bool
    remote_created_at: int | None
    expires_at: int | None
    submitted_at: str
    checked_at: str | None

    @property
    def open(self) -> bool:
        """Whether the provider may still answer it (its answers are not in yet)."""
        return self.status in OPEN_STATES or (not self.collected and self.batch_id is not None)

    def line(self, now: float) -> str:
        """The batch in words: which, its state and counts, its age and when it expires
        (``now``: seconds since 1970)."""
        name = self.batch_id or f"(not yet made of {self.input_file_id or self.file_name})"
        counts = f"{self.completed + self.failed}/{self.requests} answered"
        if self.failed:
            counts += f" ({self.failed} failed)"
        timing = ""
        if self.remote_created_at is not None and self.status in OPEN_STATES:
            timing = f", age {_span(now - self.remote_created_at)}"
        if self.expires_at is not None and self.status in OPEN_STATES - {"cancelling"}:
            left = self.expires_at - now
            timing += f", expires in {_span(left)}" if left > 0 else ", past its window"
        what = "" if self.purpose == "units" else f" ({self.purpose})"
        error = f": {self.error}" if self.error and self.status == "failed" else ""
        return f"batch {name} of {self.model}{what}: {self.status}{error}, {counts}{timing}"


def _span(seconds: float) -> str:
    """A duration in words a person reads at a glance: 45s, 12m, 3h 20m, 2d 4h."""
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


_COLUMNS = ", ".join(f.name for f in fields(RemoteBatchRow))


def _row(values: Sequence[object]) -> RemoteBatchRow:
    row = RemoteBatchRow(*values)  # type: ignore[arg-type]
    return RemoteBatchRow(**{**row.__dict__, "collected": bool(row.collected)})


def record_planned(
    store: Store,
    job_id: int,
    model: str,
    endpoint: str,
    purpose: str,
    custom_ids: Sequence[str],
) -> tuple[int, str]:
    """A file of ``custom_ids``' requests about to be uploaded: the batch to be, and the
    file's name (unique to it, so a worker killed during the upload can find whether it
    arrived), in one transaction."""
    with store.transaction():
        cursor = store.db.execute(
            "INSERT INTO remote_batches (job_id, model, endpoint, file_name, status, purpose, "
            "requests) VALUES (?, ?, ?, '', 'uploading', ?, ?)",
            (job_id, model, endpoint, purpose, len(custom_ids)),
        )
        row_id = int(cursor.lastrowid or 0)
        # Unique beyond this store: another workspace on the same account (or this one,
        # made again) names its files with the same job and row numbers.
        name = f"cuf-job{job_id}-batch{row_id}-{uuid.uuid4().hex[:16]}.jsonl"
        store.db.execute("UPDATE remote_batches SET file_name = ? WHERE id = ?", (name, row_id))
        store.db.conn.executemany(
            "INSERT INTO remote_batch_units (remote_batch_id, custom_id) VALUES (?, ?)",
            [(row_id, custom_id) for custom_id in custom_ids],
        )
    return row_id, name


def record_file(store: Store, row_id: int, input_file_id: str) -> None:
    """The batch's input file is uploaded."""
    store.write(
        f"UPDATE remote_batches SET input_file_id = ?, status = 'uploaded', checked_at = {NOW} "
        "WHERE id = ?",
        (input_file_id, row_id),
    )


def forget_planned(store: Store, row_id: int) -> None:
    """A batch whose file never arrived: as if it had not been planned."""
    with store.transaction():
        store.db.execute("DELETE FROM remote_batch_units WHERE remote_batch_id = ?", (row_id,))
        store.db.execute("DELETE FROM remote_batches WHERE id = ?", (row_id,))


def record_status(store: Store, row_id: int, status: RemoteStatus) -> None:
    """What the provider said of the batch, the last time it was asked."""
    store.write(
        "UPDATE remote_batches SET batch_id = ?, status = ?, completed = ?, failed = ?, "
        "output_file_id = ?, error_file_id = ?, error = ?, remote_created_at = ?, "
        f"expires_at = ?, checked_at = {NOW} WHERE id = ?",
        (
            status.batch_id,
            status.status,
            status.completed,
            status.failed,
            status.output_file_id,
            status.error_file_id,
            status.errors,
            status.created_at,
            status.expires_at,
            row_id,
        ),
    )


def record_answers(store: Store, row_id: int, answers: dict[str, str]) -> None:
    """The batch's answer lines (custom_id -> its line), kept before any is used; the batch
    is collected: nothing more will come of it."""
    with store.transaction():
        store.db.conn.executemany(
            "UPDATE remote_batch_units SET answer = ? WHERE remote_batch_id = ? AND custom_id = ?",
            [(line, row_id, custom_id) for custom_id, line in answers.items()],
        )
        store.db.execute("UPDATE remote_batches SET collected = 1 WHERE id = ?", (row_id,))


def forget_answers(store: Store, custom_ids: Sequence[str], job_id: int) -> None:
    """Answer lines whose units are stored now: their text is in the store's own tables."""
    with store.transaction():
        store.db.conn.executemany(
            "UPDATE remote_batch_units SET answer = NULL WHERE custom_id = ? AND "
            "remote_batch_id IN (SELECT id FROM remote_batches WHERE job_id = ?)",
            [(custom_id, job_id) for custom_id in custom_ids],
        )


def forget_all_answers(store: Store, job_id: int, model: str) -> None:
    """Every answer line of the job's batches to ``model`` (its run stored every unit)."""
    store.write(
        "UPDATE remote_batch_units SET answer = NULL WHERE answer IS NOT NULL AND "
        "remote_batch_id IN (SELECT id FROM remote_batches WHERE job_id = ? AND model = ? "
        "AND collected = 1)",
        (job_id, model),
    )


@dataclass(frozen=True)
class KnownUnit:
    """Where a unit's request stands at the provider, from the newest batch that carried it."""

    remote_batch: int  # remote_batches row
    answer: str | None  # its line, once collected
    collected: bool


def known_units(store: Store, job_id: int, model: str) -> dict[str, KnownUnit]:
    """Every custom_id the job sent to ``model``, by the newest batch that carried it."""
    known: dict[str, KnownUnit] = {}
    for custom_id, row_id, answer, collected in store.db.execute(
        "SELECT u.custom_id, u.remote_batch_id, u.answer, b.collected FROM remote_batch_units u "
        "JOIN remote_batches b ON b.id = u.remote_batch_id WHERE b.job_id = ? AND b.model = ? "
        "ORDER BY u.remote_batch_id",
        (job_id, model),
    ):
        known[custom_id] = KnownUnit(int(row_id), answer, bool(collected))
    return known


def job_remote_batches(store: Store, job_ids: Sequence[int]) -> dict[int, list[RemoteBatchRow]]:
    """The remote batches of each job, oldest first."""
    found: dict[int, list[RemoteBatchRow]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return found
    marks = ",".join("?" * len(job_ids))
    for values in store.db.execute(
        f"SELECT {_COLUMNS} FROM remote_batches WHERE job_id IN ({marks}) ORDER BY id",
        tuple(job_ids),
    ):
        row = _row(values)
        found[row.job_id].append(row)
    return found


def remote_batch(store: Store, row_id: int) -> RemoteBatchRow:
    values = store.db.execute(
        f"SELECT {_COLUMNS} FROM remote_batches WHERE id = ?", (row_id,)
    ).fetchone()
    return _row(values)


def open_remote_batches(store: Store, job_id: int) -> list[RemoteBatchRow]:
    """The job's batches the provider may still be working on."""
    return [row for row in job_remote_batches(store, [job_id])[job_id] if row.open]


def waiting_requests(store: Store, model: str) -> tuple[int, list[int]]:
    """Requests to ``model`` in remote batches whose answers are not in yet, and the jobs
    that sent them."""
    count, jobs = 0, set()
    for job_id, requests in store.db.execute(
        "SELECT job_id, requests FROM remote_batches WHERE model = ? AND collected = 0 "
        "AND status NOT IN ('cancelling', 'cancelled')",
        (model,),
    ):
        count += int(requests)
        jobs.add(int(job_id))
    return count, sorted(jobs)
