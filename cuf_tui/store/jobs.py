"""The `jobs` table: a batch's row, found again by its parameters so that a re-run resumes
it; leased by one worker at a time (heartbeat, host, pid and process start time, so a dead
worker is seen); its counts, tokens and cost; cancelling; how it ended."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

from cuf_tui.processes import WorkerIdentity, worker_state
from cuf_tui.store.attempts import Attempt
from cuf_tui.store.db import NOW, Store

if TYPE_CHECKING:
    from cuf_tui.store.remote_batches import RemoteBatchRow
    from cuf_tui.store.servers import ServerRow

STALE_ENV = "CUF_TUI_STALE_AFTER_S"  # seconds without a heartbeat before a job is interrupted
FINISHED_STATES = ("done", "done with failures")  # a re-run starts a new job after these


def stale_after_s() -> float:
    return float(os.environ.get(STALE_ENV, "15"))


def stale_cutoff() -> str:
    """SQL for the moment before which a heartbeat is too old."""
    return f"strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{stale_after_s():g} seconds')"


@dataclass
class JobRow:
    """A batch as the store holds it, with whether its worker is gone (``stale``)."""

    id: int
    kind: str
    params: str  # JSON: the request's parameters, the job's identity
    state: str
    total: int
    done: int
    failed: int
    unparsed: int
    truncated: int
    retries: int
    rate_limited: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    error: str | None
    pid: int | None
    host: str | None
    pid_started: str | None
    heartbeat_at: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    lease_token: str | None
    cancel_requested: int
    in_flight: int
    log_path: str | None
    stale: bool = False  # running, but its worker has stopped (died, killed)
    servers: list[ServerRow] = field(default_factory=list)  # the model servers it ran
    # Its Batch API batches (mode = "batch"), oldest first.
    remote_batches: list[RemoteBatchRow] = field(default_factory=list)

    @property
    def what(self) -> str:
        """The batch in a few words: its kind and whom it asks ("judge gpt-4", "bench m")."""
        try:
            params = json.loads(self.params)
        except ValueError:
            return self.kind
        if not isinstance(params, dict):
            return self.kind
        whom = params.get("judge") if self.kind in ("judge", "probe") else params.get("model")
        if self.kind == "generate" and isinstance(params.get("models"), list):
            whom = ", ".join(str(m) for m in params["models"])
        return f"{self.kind} {whom}" if isinstance(whom, str) and whom else self.kind

    @property
    def shown_state(self) -> str:
        return "interrupted" if self.stale else self.state

    @property
    def finished(self) -> int:
        """Units of its latest run that are stored, whatever became of them."""
        return self.done + self.failed + self.unparsed


_JOB_COLUMNS = [
    f.name for f in fields(JobRow) if f.name not in ("stale", "servers", "remote_batches")
]


def job_params_text(params: dict[str, Any]) -> str:
    return json.dumps(params, sort_keys=True)


def find_or_create_job(store: Store, kind: str, params: dict[str, Any]) -> int:
    """The unfinished job with these parameters (so a re-run resumes it), or a new one."""
    text = job_params_text(params)
    with store.transaction():
        row = store.db.execute(
            "SELECT id FROM jobs WHERE kind = ? AND params = ? AND state NOT IN (?, ?) "
            "ORDER BY id DESC LIMIT 1",
            (kind, text, *FINISHED_STATES),
        ).fetchone()
        if row is not None:
            return int(row[0])
        created = store.db.execute(
            "INSERT INTO jobs (kind, params) VALUES (?, ?) RETURNING id", (kind, text)
        ).fetchone()
    return int(created[0])


def job_row(store: Store, job_id: int) -> JobRow | None:
    rows = _job_rows(store, "WHERE id = ?", (job_id,))
    return rows[0] if rows else None


def list_jobs(store: Store, limit: int = 50) -> list[JobRow]:
    return _job_rows(store, "ORDER BY id DESC LIMIT ?", (limit,))


def running_jobs(store: Store) -> list[JobRow]:
    return _job_rows(store, "WHERE state = 'running'", ())


def _job_rows(store: Store, rest: str, params: tuple[Any, ...]) -> list[JobRow]:
    """Job rows; a running one is stale when its worker stopped heartbeating, or, where its
    worker ran on this machine, when that process is gone (its heartbeat may age while
    another program holds the store's lock, and a killed worker is seen at once)."""
    rows = []
    cutoff = stale_cutoff()
    for values in store.db.execute(
        f"SELECT {', '.join(_JOB_COLUMNS)}, (state = 'running' AND (heartbeat_at IS NULL OR "
        f"heartbeat_at < {cutoff})) FROM jobs {rest}",
        params,
    ):
        row = JobRow(*values[:-1])
        row.stale = bool(values[-1])
        if row.state == "running":
            worker = worker_state(row.host, row.pid, row.pid_started)
            if worker != "unknown":
                row.stale = worker == "gone"
        rows.append(row)
    return rows


def lease_job(store: Store, job_id: int, worker: WorkerIdentity, token: str) -> bool:
    """Take the job for this worker, unless a live worker holds it. Atomic."""
    with store.transaction():
        row = job_row(store, job_id)
        if row is None or row.state in FINISHED_STATES:
            return False
        if row.state == "running" and not row.stale:
            return False
        store.db.execute(
            "UPDATE jobs SET state = 'running', pid = ?, host = ?, pid_started = ?, "
            f"lease_token = ?, heartbeat_at = {NOW}, started_at = {NOW}, finished_at = NULL, "
            "error = NULL, cancel_requested = 0, in_flight = 0 WHERE id = ?",
            (worker.pid, worker.host, worker.started, token, job_id),
        )
    return True


def start_counting(
    store: Store, job_id: int, token: str, total: int, failed_before: int = 0
) -> int:
    """A run of a job begins: what earlier runs stored stays counted (a resumed job shows
    36/80, the 19 it had and this run's 17 of 61), failures are this run's (with the units
    an earlier run had fail for good, which this run leaves out), retries are this run's;
    tokens and cost add up over all runs. Returns the units stored before this run."""
    with store.transaction():
        before = int(
            store.scalar("SELECT done FROM jobs WHERE id = ? AND lease_token = ?", (job_id, token))
            or 0
        )
        store.db.execute(
            "UPDATE jobs SET total = done + ?, failed = ?, retries = 0, rate_limited = 0 "
            "WHERE id = ? AND lease_token = ?",
            (total, failed_before, job_id, token),
        )
    return before


def set_total(store: Store, job_id: int, token: str, total: int, before: int = 0) -> None:
    """A job whose units are known better once it runs: a bench run's grades, once the
    answers are in; units another batch was already doing. ``before``: the units earlier
    runs stored."""
    store.write(
        "UPDATE jobs SET total = ? WHERE id = ? AND lease_token = ?",
        (before + total, job_id, token),
    )


def heartbeat(
    store: Store, job_id: int, token: str, in_flight: int, retries: int = 0, rate_limited: int = 0
) -> tuple[bool, bool]:
    """Renew the lease (with the run's retry counts); returns (still ours, cancel requested)."""
    with store.transaction():
        cursor = store.db.execute(
            f"UPDATE jobs SET heartbeat_at = {NOW}, in_flight = ?, retries = ?, rate_limited = ? "
            "WHERE id = ? AND lease_token = ? AND state = 'running'",
            (in_flight, retries, rate_limited, job_id, token),
        )
        if cursor.rowcount != 1:
            return False, False
        cancel = cancel_requested(store, job_id)
    return True, cancel


def cancel_requested(store: Store, job_id: int) -> bool:
    """Whether someone asked the job to stop (`cuf-tui cancel`, `c` in Jobs)."""
    return bool(store.scalar("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)))


def finish_job(
    store: Store,
    job_id: int,
    token: str,
    state: str,
    error: str | None,
    retries: int = 0,
    rate_limited: int = 0,
) -> None:
    with store.transaction():
        store.db.execute(
            f"UPDATE jobs SET state = ?, error = ?, finished_at = {NOW}, in_flight = 0, "
            "pid = NULL, retries = ?, rate_limited = ? WHERE id = ? AND lease_token = ?",
            (state, error, retries, rate_limited, job_id, token),
        )


def request_cancel(store: Store, job_id: int) -> JobRow | None:
    """Ask a job to stop. A job no worker runs is cancelled at once."""
    with store.transaction():
        row = job_row(store, job_id)
        if row is None:
            return None
        if row.state == "running" and not row.stale:
            store.db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
        elif row.state not in FINISHED_STATES:
            store.db.execute(
                f"UPDATE jobs SET state = 'cancelled', finished_at = {NOW}, in_flight = 0, "
                "pid = NULL WHERE id = ?",
                (job_id,),
            )
    return job_row(store, job_id)


def set_log_path(store: Store, job_id: int, path: str) -> None:
    store.write("UPDATE jobs SET log_path = ? WHERE id = ?", (path, job_id))


def count_unit(store: Store, job_id: int, attempt: Attempt, *, stored: bool = True) -> None:
    """Count a unit in its job by how its attempt ended (done, unparsed, failed; a done
    answer cut off at max_tokens is also counted as needing attention). A result that was
    not ``stored`` (another batch had stored the unit meanwhile) counts its tokens and cost,
    which were spent, and nothing else."""
    if not job_id:
        return
    counted = int(stored)
    cost = attempt.cost
    store.db.execute(
        "UPDATE jobs SET done = done + ?, failed = failed + ?, unparsed = unparsed + ?, "
        "truncated = truncated + ?, prompt_tokens = prompt_tokens + ?, "
        "completion_tokens = completion_tokens + ?, cost_usd = cost_usd + ? WHERE id = ?",
        (
            counted * (attempt.state == "done"),
            counted * (attempt.state == "failed"),
            counted * (attempt.state == "unparsed"),
            counted * attempt.notes.truncated,
            cost.prompt_tokens,
            cost.completion_tokens,
            cost.cost_usd,
            job_id,
        ),
    )
