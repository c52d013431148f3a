"""Starting a batch: in the foreground, or as a detached worker in its own process session
that outlives the terminal (and the SSH connection) that launched it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from cuf_tui.errors import CufError
from cuf_tui.jobs.kinds import BatchRequest
from cuf_tui.jobs.lifecycle import LOG_FOLDER, run_job
from cuf_tui.jobs.progress import JobBusy, JobOutcome, ProgressCallback
from cuf_tui.store.db import Store
from cuf_tui.store.jobs import (
    FINISHED_STATES,
    find_or_create_job,
    job_row,
    request_cancel,
    set_log_path,
)
from cuf_tui.workspace import Workspace


def prepare_job(workspace: Workspace, request: BatchRequest) -> int:
    """The job to run for this request: an unfinished one with the same parameters (which
    resumes it) or a new one. Refuses when a live worker already runs it."""
    kind = request.kind
    with workspace.open_store() as store:
        job_id = find_or_create_job(store, kind, request.params())
        row = job_row(store, job_id)
        if row is not None and row.state == "running" and not row.stale:
            raise JobBusy(
                f"job {job_id} ({kind}, the same batch) is already running in process "
                f"{row.pid}; follow it with `cuf-tui jobs`, "
                f"stop it with `cuf-tui cancel {job_id}`"
            )
    return job_id


def run_in_foreground(
    workspace: Workspace, job_id: int, on_progress: ProgressCallback
) -> JobOutcome:
    """Run the job here, logging to `logs/job-ID.log` as a detached worker does. SIGTERM
    (`cuf-tui cancel`) and SIGHUP (the terminal went away) stop it as Ctrl-C does: what
    finished is kept and the servers it started are stopped; then asyncio.CancelledError is
    raised."""

    async def main(log: Callable[[str], None]) -> JobOutcome:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            for signum in (signal.SIGTERM, signal.SIGHUP):
                loop.add_signal_handler(signum, task.cancel)
        return await run_job(workspace, job_id, on_progress=on_progress, log=log)

    with job_log(workspace, job_id) as log:
        log(f"foreground worker {os.getpid()} starting job {job_id} in {workspace.root}")
        return asyncio.run(main(log))


def log_path_of(workspace: Workspace, job_id: int) -> Path:
    """The job's log file, recorded with the job. A file of that name the job does not know
    of was left by another store's job of the same number (the store was replaced, the logs
    folder kept): it is moved aside, never appended to."""
    logs = workspace.root / LOG_FOLDER
    logs.mkdir(exist_ok=True)
    path = logs / f"job-{job_id}.log"
    with workspace.open_store() as store:
        row = job_row(store, job_id)
        if row is not None and row.log_path != str(path) and path.exists():
            stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
            path.rename(path.with_name(f"job-{job_id}.until-{stamp}.log"))
        set_log_path(store, job_id, str(path))
    return path


@contextlib.contextmanager
def job_log(workspace: Workspace, job_id: int) -> Iterator[Callable[[str], None]]:
    """Lines appended to the job's log file, in the detached worker's format."""
    path = log_path_of(workspace, job_id)
    handle = path.open("a", encoding="utf-8", errors="replace")

    def log(line: str) -> None:
        now = time.time()
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(now))
        # A full disk costs the log its lines, never the batch (the store says why).
        with contextlib.suppress(OSError):
            handle.write(f"{stamp},{int(now % 1 * 1000):03d} INFO {line}\n")
            handle.flush()

    try:
        yield log
    finally:
        with contextlib.suppress(OSError):
            handle.close()


def detach(workspace: Workspace, job_id: int) -> tuple[int, Path]:
    """Start a worker for the job in a new session; returns its pid and log file."""
    log_path = log_path_of(workspace, job_id)
    with log_path.open("ab") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "cuf_tui", "worker", str(job_id), "-w", str(workspace.root)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            cwd=workspace.root,
        )
    # Reap it when it ends, so a long-lived launcher (the workbench) collects no zombies; a
    # launcher that exits first (`--detach`) leaves it to init.
    threading.Thread(target=worker.wait, name=f"reap-job-{job_id}", daemon=True).start()
    return worker.pid, log_path


def work_detached(workspace: Workspace, job_id: int) -> int:
    """The body of a detached worker: run the job, log to stderr, stop on SIGTERM."""
    # Only the worker's own lines: libraries stay at WARNING, so no request line (or header)
    # of theirs reaches the log.
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(message)s", stream=sys.stderr
    )
    logger = logging.getLogger("cuf_tui.worker")
    logger.setLevel(logging.INFO)
    logger.info("worker %d starting job %d in %s", os.getpid(), job_id, workspace.root)

    async def main() -> JobOutcome:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            loop.add_signal_handler(signum, task.cancel)
        last = [time.monotonic()]
        said: list[tuple[int, ...]] = [()]

        def every_ten_seconds(progress: Any) -> None:
            """A progress line at most every 10 s, and while nothing moves (a Batch API job
            waits for hours) one every 10 minutes."""
            now = time.monotonic()
            counts = (progress.done, progress.failed, progress.unparsed, progress.in_flight)
            due = now - last[0] >= 10 if counts != said[0] else now - last[0] >= 600
            if not due:
                return
            last[0] = now
            said[0] = counts
            logger.info(
                "job %d: %d/%d done, %d failed, %d in flight, %.1f req/s%s",
                job_id,
                progress.done,
                progress.total,
                progress.failed,
                progress.in_flight,
                progress.rate,
                f" ({progress.phase})" if progress.phase else "",
            )

        return await run_job(workspace, job_id, on_progress=every_ten_seconds, log=logger.info)

    try:
        outcome = asyncio.run(main())
    except asyncio.CancelledError:
        logger.info("job %d stopped", job_id)
        return 130
    except JobBusy as err:
        logger.info("%s", err)
        return 3
    return 0 if outcome.state == "done" else 1


NO_WORKER = "no worker was running it"


def cancel_job(store: Store, job_id: int) -> str:
    """Stop a job: mark it, and signal its live worker. Returns what was done, in words."""
    before = job_row(store, job_id)
    if before is None:
        raise CufError(f"no job {job_id} in {store.path}")
    if before.state in (*FINISHED_STATES, "failed", "cancelled"):
        raise CufError(f"job {job_id} is already {before.state}; no worker runs it")
    request_cancel(store, job_id)
    # Never signal this process, or pid 1, whatever a row says.
    signalled = before.pid is not None and before.pid not in (0, 1, os.getpid())
    if before.state == "running" and not before.stale and signalled and before.pid:
        with contextlib.suppress(ProcessLookupError):
            os.kill(before.pid, signal.SIGTERM)
        return f"Asked job {job_id} (pid {before.pid}) to stop."
    return f"Job {job_id} cancelled ({NO_WORKER})."


def cancel_with_batches(store: Store, job_id: int) -> tuple[str, bool]:
    """Stop a job, and say whether its remote batches (batch mode) are left for the caller
    to cancel (`jobs.remote.cancel_abandoned`): no worker of it runs to cancel them, or it
    stopped earlier and left them running. Returns what was done, in words, and that."""
    from cuf_tui.store.remote_batches import open_remote_batches

    row = job_row(store, job_id)
    remote = bool(open_remote_batches(store, job_id))
    if row is not None and row.state != "running" and remote:
        return f"Job {job_id} is {row.state}; cancelling the remote batches it left.", True
    said = cancel_job(store, job_id)
    if remote and NO_WORKER not in said:
        return f"{said} Its worker cancels its remote batches at the provider as it stops.", False
    return said, remote
