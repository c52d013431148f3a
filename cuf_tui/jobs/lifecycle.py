"""A job's run from start to end: lease the job (one live worker at a time), stop servers an
earlier worker of it left behind, plan it from the store, send it, and record how it ended
(done, done with failures, failed, cancelled) with its counts.

The foreground command and a detached worker run the same code; what is done is read from
the store, so a job resumes after any interruption by requesting only what is missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import traceback
import uuid
from collections.abc import Callable

from cuf_tui.engines.openai_client import load_client
from cuf_tui.engines.server_processes import stop_abandoned
from cuf_tui.errors import CufError
from cuf_tui.jobs.kinds import Planning, request_from_params
from cuf_tui.jobs.progress import JobBusy, JobOutcome, Progress, ProgressCallback, silent
from cuf_tui.jobs.scheduler import Batch
from cuf_tui.jobs.writes import WRITE_BUSY_TIMEOUT_MS, StoreWrites
from cuf_tui.processes import this_worker
from cuf_tui.store.claims import release_run
from cuf_tui.store.db import Store, StoreError
from cuf_tui.store.jobs import FINISHED_STATES, finish_job, job_row, lease_job, start_counting
from cuf_tui.store.servers import live_servers, record_server_state
from cuf_tui.workspace import Workspace

LOG_FOLDER = "logs"


async def run_job(
    workspace: Workspace,
    job_id: int,
    *,
    on_progress: ProgressCallback = silent,
    log: Callable[[str], None] = lambda _: None,
) -> JobOutcome:
    """Run job ``job_id`` of ``workspace`` to its end, or until it is cancelled."""
    from cuf_tui.prompts import load_prompts

    store = workspace.open_store(busy_timeout_ms=WRITE_BUSY_TIMEOUT_MS)
    writes = StoreWrites(store, job_id, log)
    token = uuid.uuid4().hex
    try:
        row = job_row(store, job_id)
        if row is None:
            raise CufError(f"no job {job_id} in {workspace.db_path}")
        if not await writes(lease_job, store, job_id, this_worker(), token):
            row = job_row(store, job_id) or row
            if row.state in FINISHED_STATES:
                raise JobBusy(f"job {job_id} is already {row.state}")
            raise JobBusy(
                f"job {job_id} is running in process {row.pid} "
                f"(last heartbeat {row.heartbeat_at}); cancel it with `cuf-tui cancel {job_id}`"
            )
        resumed = row.started_at is not None  # an earlier run of this job got going
        progress = Progress(job_id, row.kind)
        config = workspace.config
        planning = Planning(store, config, load_prompts(workspace.root))
        batch = Batch(
            store,
            writes,
            job_id,
            token,
            progress,
            on_progress,
            log,
            planning.prompts,
            config.workspace.seed,
            workspace.root / LOG_FOLDER,
        )
        try:
            await _stop_abandoned_servers(store, writes, job_id, log)
            request = request_from_params(row.kind, row.params)
            plan = request.plan(planning)
            load_client()  # its import is not the batch's time
            progress.total = plan.requests
            failed_before = plan.skipped_failures if resumed else 0
            if failed_before:
                # Units this job's earlier run had fail in a way a retry cannot fix: left
                # out of this run, but still this job's failures.
                progress.total += failed_before
                progress.failed += failed_before
                progress.failed_before = failed_before
                progress.last_error = (
                    f"{failed_before} units failed before in a way a retry cannot fix "
                    "(their errors are stored with them); --retry-failed asks for them again"
                )
            batch.stored_before = await writes(
                start_counting, store, job_id, token, progress.total, failed_before
            )
            on_progress(progress)
            log(f"job {job_id} ({row.kind}): {progress.total} units to request")
            await batch.run_with_heartbeat(plan.work(batch, planning))
        except asyncio.CancelledError:
            await _finish(batch, "cancelled", "stopped before the end; run again to resume")
            log(f"job {job_id} cancelled: {_counts(progress)}")
            raise
        except StoreError as err:
            # The store cannot take writes (disk full, read-only, corrupt): nothing
            # half-written stays (each unit is one transaction); say so in one line.
            with contextlib.suppress(StoreError):
                finish_job(store, job_id, token, "failed", str(err))
            log(f"job {job_id} failed: {err}")
            return JobOutcome(job_id, "failed", progress, str(err))
        except CufError as err:
            await _finish(batch, "failed", str(err))
            log(f"job {job_id} failed: {err}")
            return JobOutcome(job_id, "failed", progress, str(err))
        except Exception as err:  # a fault no layer foresaw: the job still ends, and says so
            reason = " ".join(f"stopped by an unexpected {type(err).__name__}: {err}".split())
            log(f"job {job_id} failed: {reason}\n{traceback.format_exc().rstrip()}")
            with contextlib.suppress(Exception):
                await _finish(batch, "failed", reason)
            return JobOutcome(job_id, "failed", progress, reason)
        state, error = progress.end_state()
        await _finish(batch, state, error)
        log(f"job {job_id} {state}: {_counts(progress)}")
        if progress.attention:
            log(f"job {job_id}: needs attention: {progress.attention}")
        return JobOutcome(job_id, state, progress, error)
    finally:
        store.close()


def _counts(progress: Progress) -> str:
    counts = f"{progress.done} done, {progress.failed} failed"
    if progress.attention:
        counts += f", {progress.attention}"
    if progress.retries:
        counts += f"; {progress.retries} retries ({progress.rate_limited} after a 429)"
    if progress.elsewhere:
        counts += f"; {progress.elsewhere} left to another batch"
    return counts


async def _finish(batch: Batch, state: str, error: str | None) -> None:
    progress = batch.progress
    batch.attempts_seen()
    await batch.writes(
        finish_job,
        batch.store,
        batch.job_id,
        batch.token,
        state,
        error,
        progress.retries,
        progress.rate_limited,
    )
    await batch.writes(release_run, batch.store, batch.token)


async def _stop_abandoned_servers(
    store: Store, writes: StoreWrites, job_id: int, log: Callable[[str], None]
) -> None:
    """Stop servers an earlier worker of this job started and never stopped (it died)."""
    for server in live_servers(store, job_id):
        if server.pid and stop_abandoned(server.pid, server.port):
            log(f"job {job_id}: stopped {server.model}'s server (pid {server.pid}), left running")
        await writes(record_server_state, store, server.id, "stopped", "its worker had died")
