"""The `servers` table: the model servers a job runs itself (vLLM, llama.cpp): where they
listen, their process group and log, and their state, so they can be shown, and stopped if
their worker died."""

from __future__ import annotations

from dataclasses import dataclass, fields

from cuf_tui.store.db import NOW, Store
from cuf_tui.store.jobs import JobRow, list_jobs


@dataclass(frozen=True)
class ServerRow:
    id: int
    job_id: int
    model: str  # the [[models]] or [[judges]] name
    engine: str
    replica: int
    pid: int | None  # also its process group
    port: int
    log_path: str
    state: str  # starting, ready, stopped, failed, crashed
    detail: str | None
    started_at: str
    ready_at: str | None
    stopped_at: str | None

    def line(self) -> str:
        """The server in words: which, where, in what state, its log."""
        return (
            f"{self.engine} server {self.replica} of {self.model} (port {self.port}, pid "
            f"{self.pid}): {self.state}; log {self.log_path}"
        )


_SERVER_COLUMNS = ", ".join(f.name for f in fields(ServerRow))


def record_server_start(
    store: Store,
    job_id: int,
    model: str,
    engine: str,
    replica: int,
    pid: int | None,
    port: int,
    log_path: str,
) -> int:
    cursor = store.write(
        "INSERT INTO servers (job_id, model, engine, replica, pid, port, log_path, state) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, 'starting')",
        (job_id, model, engine, replica, pid, port, log_path),
    )
    return int(cursor.lastrowid or 0)


def record_server_state(store: Store, server_id: int, state: str, detail: str | None) -> None:
    stamp = "ready_at" if state == "ready" else "stopped_at"
    store.write(
        f"UPDATE servers SET state = ?, detail = COALESCE(?, detail), {stamp} = {NOW} WHERE id = ?",
        (state, detail or None, server_id),
    )


def job_servers(store: Store, job_ids: list[int]) -> dict[int, list[ServerRow]]:
    """The servers of each job, oldest first; a job that ran none has an empty list."""
    found: dict[int, list[ServerRow]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return found
    marks = ",".join("?" * len(job_ids))
    for values in store.db.execute(
        f"SELECT {_SERVER_COLUMNS} FROM servers WHERE job_id IN ({marks}) ORDER BY id",
        tuple(job_ids),
    ):
        server = ServerRow(*values)
        found[server.job_id].append(server)
    return found


def list_jobs_with_servers(store: Store, limit: int = 50) -> list[JobRow]:
    """The latest jobs, each with the servers it ran itself and the Batch API batches it
    sent (oldest first)."""
    from cuf_tui.store.remote_batches import job_remote_batches

    rows = list_jobs(store, limit)
    ids = [row.id for row in rows]
    servers = job_servers(store, ids)
    remote = job_remote_batches(store, ids)
    for row in rows:
        row.servers = servers[row.id]
        row.remote_batches = remote[row.id]
    return rows


def live_servers(store: Store, job_id: int) -> list[ServerRow]:
    """Servers of the job that no one recorded as stopped (their worker may have died)."""
    return [
        ServerRow(*values)
        for values in store.db.execute(
            f"SELECT {_SERVER_COLUMNS} FROM servers WHERE job_id = ? "
            "AND state IN ('starting', 'ready') ORDER BY id",
            (job_id,),
        )
    ]
