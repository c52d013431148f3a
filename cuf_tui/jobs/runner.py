"""Running a batch: lease the job, plan its units from the store, claim them, send them
concurrently per endpoint, write each result as it completes, heartbeat, and stop cleanly
when cancelled.

The foreground command and a detached worker run the same code; what is done is read from
the store, so a job resumes after any interruption by requesting only what is missing. A
unit is claimed before it is sent, so two batches over the same units never pay twice; a
reply that cannot be stored is a failed unit, not the end of the batch; a store locked by
someone else is waited for; a store that cannot be written (full, read-only) fails the job
with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

from cuf_tui.config import ModelEntry
from cuf_tui.core.job_words import attention_words
from cuf_tui.core.judge_output import (
    grade_schema,
    judgment_schema,
    read_grade,
    read_judge_output,
)
from cuf_tui.core.preferences import Preference
from cuf_tui.core.prompts import PromptSet
from cuf_tui.engines import managed
from cuf_tui.engines.openai_client import (
    AttemptCounts,
    ChatEndpoint,
    Completion,
    RequestFailed,
    Secrets,
    response_format,
)
from cuf_tui.errors import CufError
from cuf_tui.jobs.bench_plan import BenchPlan, GradeUnit
from cuf_tui.jobs.plan import GenerationUnit, JudgeUnit, plan_generation, plan_judging
from cuf_tui.processes import this_worker
from cuf_tui.store.bench import BenchItemRow, save_bench_answer, save_bench_grade
from cuf_tui.store.db import Store, StoreError, StoreLocked
from cuf_tui.store.work import (
    Claimed,
    JudgedRating,
    ReplyNotes,
    UnitClaim,
    UnitCost,
    assign_models,
    claim_key,
    claim_units,
    finish_job,
    heartbeat,
    job_row,
    lease_job,
    live_servers,
    now_stamp,
    record_server_start,
    record_server_state,
    save_judgment,
    save_response,
    set_total,
    stale_after_s,
    start_counting,
)
from cuf_tui.workspace import Workspace

T = TypeVar("T")
U = TypeVar("U")

HEARTBEAT_INTERVAL_S = 2.0
REPAIR_SEPARATOR = "\n\n----- answer to the repair request -----\n\n"
# How long one write waits for another program's lock before the worker's event loop gets
# control back (it then waits and tries again, logging it, while requests stay in flight).
WRITE_BUSY_TIMEOUT_MS = 250
LOCK_NOTE_EVERY_S = 10.0
CLAIM_CHUNK = 16  # units claimed in one transaction
LOGGED_NOTES = 20  # retry and failure lines logged in full; after that, one in a hundred


class JobBusy(CufError):
    """Another live worker holds the job."""


@dataclass
class Progress:
    job_id: int
    kind: str
    total: int = 0
    done: int = 0  # stored whole (for a judgment: read)
    failed: int = 0
    unparsed: int = 0  # judge answers that could not be read: stored, for review
    truncated: int = 0  # answers cut off at max_tokens: stored (and done), for attention
    in_flight: int = 0
    retries: int = 0  # attempts sent again (429, 5xx, drops, timeouts)
    rate_limited: int = 0  # attempts answered 429
    elsewhere: int = 0  # units another batch was doing or had stored: left to it
    failed_before: int = 0  # of failed: an earlier run of the job had them fail for good
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)
    last_error: str | None = None
    phase: str | None = None  # e.g. waiting for a model server to start

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.unparsed

    @property
    def attention(self) -> str:
        """What was stored but needs a person's look, in words ("" when nothing)."""
        return attention_words(self.unparsed, self.truncated)

    def end_state(self) -> tuple[str, str | None]:
        """How the run ended: done, done with failures, or failed (none succeeded)."""
        if not self.failed:
            return "done", None
        last = f"; last error: {self.last_error}" if self.last_error else ""
        if not (self.done or self.unparsed) and self.failed > self.failed_before:
            return "failed", f"all {self.failed} units failed{last}"
        return "done with failures", f"{self.failed} of {self.total} units failed{last}"

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.finished / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    state: str  # done, done with failures, failed, cancelled
    progress: Progress
    error: str | None = None


ProgressCallback = Callable[[Progress], None]


def _silent(_: Progress) -> None:
    return None


async def run_job(
    workspace: Workspace,
    job_id: int,
    *,
    on_progress: ProgressCallback = _silent,
    log: Callable[[str], None] = lambda _: None,
) -> JobOutcome:
    """Run job ``job_id`` of ``workspace`` to its end, or until it is cancelled."""
    store = workspace.open_store()
    store.db.execute(f"PRAGMA busy_timeout = {WRITE_BUSY_TIMEOUT_MS}")
    writes = StoreWrites(store, job_id, log)
    token = uuid.uuid4().hex
    try:
        row = job_row(store, job_id)
        if row is None:
            raise CufError(f"no job {job_id} in {workspace.db_path}")
        if not await writes(lease_job, store, job_id, this_worker(), token):
            row = job_row(store, job_id) or row
            if row["state"] in ("done", "done with failures"):
                raise JobBusy(f"job {job_id} is already {row['state']}")
            raise JobBusy(
                f"job {job_id} is running in process {row['pid']} "
                f"(last heartbeat {row['heartbeat_at']}); cancel it with `cuf-tui cancel {job_id}`"
            )
        progress = Progress(job_id, row["kind"])
        resumed = row["started_at"] is not None  # an earlier run of this job got going
        batch = _Batch(store, writes, job_id, token, progress, on_progress, log)
        try:
            await _stop_abandoned_servers(store, writes, job_id, log)
            work = await batch.plan(workspace, row["kind"], json.loads(row["params"]))
            failed_before = batch.skipped_failures if resumed else 0
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
            await writes(start_counting, store, job_id, token, progress.total, failed_before)
            on_progress(progress)
            log(f"job {job_id} ({row['kind']}): {progress.total} units to request")
            await batch.run_with_heartbeat(work)
        except asyncio.CancelledError:
            await _finish(batch, "cancelled", "stopped before the end; run again to resume")
            log(f"job {job_id} cancelled: {_counts(progress)}")
            raise
        except StoreError as err:
            # The store cannot take writes (disk full, read-only, corrupt): nothing
            # half-written stays (each unit is one transaction); say so in one line.
            message = str(err)
            with contextlib.suppress(StoreError):
                finish_job(store, job_id, token, "failed", message)
            log(f"job {job_id} failed: {message}")
            return JobOutcome(job_id, "failed", progress, message)
        except CufError as err:
            await _finish(batch, "failed", str(err))
            log(f"job {job_id} failed: {err}")
            return JobOutcome(job_id, "failed", progress, str(err))
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


async def _finish(batch: _Batch, state: str, error: str | None) -> None:
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


async def _stop_abandoned_servers(
    store: Store, writes: StoreWrites, job_id: int, log: Callable[[str], None]
) -> None:
    """Stop servers an earlier worker of this job started and never stopped (it died)."""
    for row in live_servers(store, job_id):
        if row["pid"] and managed.stop_abandoned(row["pid"], row["port"]):
            log(f"job {job_id}: stopped {row['model']}'s server (pid {row['pid']}), left running")
        await writes(record_server_state, store, row["id"], "stopped", "its worker had died")


async def _together(*work: Awaitable[None]) -> None:
    """Run side by side; the first failure cancels the rest and is raised as it is."""
    try:
        async with asyncio.TaskGroup() as group:
            for item in work:
                group.create_task(_awaited(item))
    except BaseExceptionGroup as failures:
        first: BaseException = failures
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


async def _awaited(item: Awaitable[None]) -> None:
    await item


@dataclass(frozen=True)
class _UnitWork(Generic[U]):
    """How a batch handles one kind of unit on one endpoint."""

    send: Callable[[U], Awaitable[None]]  # request it, record the result (releases its claim)
    fail: Callable[[U, str], Awaitable[None]]  # record it as failed, with this error
    claim: Callable[[U], str]  # what determines it: its claim key


Maker = Callable[[ChatEndpoint], _UnitWork[Any]]


class _Batch:
    def __init__(
        self,
        store: Store,
        writes: StoreWrites,
        job_id: int,
        token: str,
        progress: Progress,
        on_progress: ProgressCallback,
        log: Callable[[str], None],
    ) -> None:
        self.store = store
        self.writes = writes
        self.job_id = job_id
        self.token = token
        self.progress = progress
        self.on_progress = on_progress
        self.log = log
        self.secrets = Secrets()
        self.attempts = AttemptCounts()
        self.attempts.note = self._note
        self.notes_seen = 0
        self.endpoints: list[ChatEndpoint] = []
        self.log_folder: Path | None = None
        self.server_rows: dict[int, int] = {}  # id(ManagedServer) -> servers row
        self.planned_at = ""
        self.skipped_failures = 0  # failed for good before; left out of this run

    async def plan(
        self, workspace: Workspace, kind: str, params: dict[str, Any]
    ) -> Callable[[], Awaitable[None]]:
        """The work of this run, planned from the store as it is now."""
        from cuf_tui.prompts import load_prompts

        config = workspace.config
        self.prompts: PromptSet = load_prompts(workspace.root)
        self.seed = config.workspace.seed
        self.log_folder = workspace.root / "logs"
        # Units stored by another batch after this moment are not sent again (claims).
        self.planned_at = now_stamp(self.store)
        if kind == "generate":
            plan = plan_generation(
                self.store,
                config,
                params.get("models"),
                params.get("limit"),
                bool(params.get("retry_failed")),
            )
            if plan.assignments:
                await self.writes(assign_models, self.store, plan.assignments)
            self.skipped_failures = plan.skipped_failures
            return self.generation(plan.units, {e.name: e for e in config.models})
        if kind == "bench":
            from cuf_tui.jobs.bench_plan import plan_bench

            def bench_plan() -> BenchPlan:
                return plan_bench(
                    self.store,
                    config,
                    self.prompts,
                    params["model"],
                    params.get("judge"),
                    params.get("reference"),
                    params.get("limit"),
                    bool(params.get("retry_failed")),
                )

            return self.bench(bench_plan)
        if kind == "judge":
            judge_plan = plan_judging(
                self.store,
                config,
                self.prompts,
                params.get("judge"),
                params.get("limit"),
                bool(params.get("retry_failed")),
            )
            self.skipped_failures = judge_plan.skipped_failures
            return self.judging(judge_plan.units, judge_plan.judge)
        raise CufError(f"job {self.job_id}: unknown kind {kind!r}")

    # -------------------------------------------------------------------------- scheduling

    async def run_with_heartbeat(self, work: Callable[[], Awaitable[None]]) -> None:
        main = asyncio.current_task()
        assert main is not None
        beat = asyncio.create_task(self._heartbeat(main))
        try:
            await work()
        finally:
            beat.cancel()
            for endpoint in self.endpoints:
                await endpoint.close()

    async def _heartbeat(self, main: asyncio.Task[Any]) -> None:
        while True:
            await asyncio.sleep(min(HEARTBEAT_INTERVAL_S, stale_after_s() / 4))
            self.attempts_seen()
            try:
                ours, cancel = heartbeat(
                    self.store,
                    self.job_id,
                    self.token,
                    self.progress.in_flight,
                    self.progress.retries,
                    self.progress.rate_limited,
                )
            except StoreError:  # locked for now, or worse: the next unit's write says which
                continue
            self.on_progress(self.progress)
            if not ours:
                self.log(f"job {self.job_id}: another worker took the job over; stopping")
                main.cancel()
                return
            if cancel:
                self.log(f"job {self.job_id}: cancel requested")
                main.cancel()
                return

    def attempts_seen(self) -> None:
        self.progress.retries = self.attempts.retries
        self.progress.rate_limited = self.attempts.rate_limited

    def _note(self, line: str) -> None:
        """An attempt that went wrong (a 429 wait, a 5xx, a drop, a timeout): in the log, the
        first LOGGED_NOTES of them, then one in a hundred; all are counted."""
        self.notes_seen += 1
        seen = self.notes_seen
        if seen <= LOGGED_NOTES or seen % 100 == 0:
            self.log(f"job {self.job_id}: {line} (attempt gone wrong no. {seen} in this run)")
        if seen == LOGGED_NOTES:
            self.log(
                f"job {self.job_id}: further attempts gone wrong are logged one in a hundred; "
                "all are counted (retries, 429s in `cuf-tui jobs`)"
            )

    async def _drain(self, endpoint: ChatEndpoint, units: Sequence[U], work: _UnitWork[U]) -> None:
        """Send ``units`` through ``endpoint``, max_concurrency at a time. Each is claimed
        first (in chunks, one transaction each): a unit another live batch holds, or one it
        stored since this run planned, is left to it. A unit whose reply cannot be handled
        or stored is stored as failed and the batch goes on."""
        pending = deque(units)
        ready: deque[U] = deque()
        claiming = asyncio.Lock()

        async def next_unit() -> U | None:
            while not ready:
                if not pending:
                    return None
                async with claiming:
                    if ready or not pending:
                        continue
                    chunk = [pending.popleft() for _ in range(min(CLAIM_CHUNK, len(pending)))]
                    by_key = {work.claim(unit): unit for unit in chunk}
                    claimed = await self.writes(
                        claim_units,
                        self.store,
                        self.job_id,
                        self.token,
                        list(by_key),
                        self.planned_at,
                    )
                    ready.extend(by_key[key] for key in claimed.taken)
                    await self._left_to_others(claimed)
            return ready.popleft()

        async def worker() -> None:
            while (unit := await next_unit()) is not None:
                self.progress.in_flight += 1
                try:
                    await work.send(unit)
                except CufError:  # the store, a server, a configuration: the job's end
                    raise
                except Exception as err:  # noqa: BLE001 - a bad reply fails its unit only
                    message = (
                        f"{endpoint.entry.name}: its reply could not be handled: "
                        f"{type(err).__name__}: {err}"
                    )
                    message = self.secrets.redact(message)
                    await work.fail(unit, message)
                finally:
                    self.progress.in_flight -= 1
                self.on_progress(self.progress)

        workers = min(endpoint.capacity, len(pending))
        await asyncio.gather(*(worker() for _ in range(workers)))

    async def _left_to_others(self, claimed: Claimed) -> None:
        skipped = len(claimed.elsewhere) + len(claimed.stored)
        if not skipped:
            return
        self.progress.elsewhere += skipped
        self.progress.total -= skipped
        await self.writes(set_total, self.store, self.job_id, self.token, self.progress.total)
        if claimed.elsewhere:
            jobs = ", ".join(str(j) for j in sorted(set(claimed.elsewhere.values())))
            self.log(
                f"job {self.job_id}: {len(claimed.elsewhere)} units are in flight in job "
                f"{jobs}; left to it"
            )
        if claimed.stored:
            self.log(
                f"job {self.job_id}: {len(claimed.stored)} units were stored by another batch "
                "since this one planned; not sent again"
            )

    def _endpoint(self, entry: Any) -> ChatEndpoint:
        endpoint = ChatEndpoint(entry, self.secrets, self.attempts)
        self.endpoints.append(endpoint)
        return endpoint

    async def _send(self, entry: ModelEntry, units: Sequence[Any], make_work: Maker) -> None:
        """All of ``units`` to ``entry``: straight to its server, or to servers started now."""
        if not units:
            return
        if entry.managed:
            await self._serve_and_send(entry, units, make_work)
        else:
            endpoint = self._endpoint(entry)
            await self._drain(endpoint, units, make_work(endpoint))

    async def _serve_and_send(
        self, entry: ModelEntry, units: Sequence[Any], make_work: Maker
    ) -> None:
        """Start the model's servers, send it the units, stop the servers. If a server dies
        on the way, stop at once with the end of its log as the error; what was saved stays,
        and a later run requests only the rest."""
        self.progress.phase = f"starting {entry.engine} for {entry.name}"
        self.on_progress(self.progress)
        self.log(f"job {self.job_id}: starting {entry.engine} for {entry.name} ({entry.replicas}x)")
        async with managed.serving(entry, self._server_log(entry), self._server_event) as servers:
            served = entry.model_copy(update={"base_url": [s.launch.base_url for s in servers]})
            endpoint = self._endpoint(served)
            self.progress.phase = None
            self.log(f"job {self.job_id}: {entry.name} ready; sending {len(units)} requests")
            sending = asyncio.ensure_future(self._drain(endpoint, units, make_work(endpoint)))
            watching = asyncio.ensure_future(managed.first_exit(servers))
            try:
                await asyncio.wait({sending, watching}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                watching.cancel()
                if not sending.done():
                    sending.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await sending
            if sending.cancelled():
                dead = watching.result() if watching.done() and not watching.cancelled() else None
                if dead is None:  # cancelled from outside
                    raise asyncio.CancelledError
                raise managed.ServerFailed(dead.died_message())
            sending.result()

    def _server_log(self, entry: ModelEntry) -> Callable[[int], Path]:
        folder = self.log_folder or Path("logs")
        safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in entry.name)
        return lambda replica: folder / f"job-{self.job_id}-{safe}-{replica + 1}.log"

    def _server_event(self, state: str, server: managed.ManagedServer, detail: str) -> None:
        """Record a managed server's state for the Jobs pane; a store that is busy right now
        costs this record, never the batch."""
        key = id(server)
        try:
            if state == "starting":
                self.server_rows[key] = record_server_start(
                    self.store,
                    self.job_id,
                    server.entry.name,
                    server.entry.engine,
                    server.launch.replica,
                    server.pid,
                    server.launch.port,
                    str(server.launch.log_path),
                )
                return
            row = self.server_rows.get(key)
            if row is not None:
                record_server_state(self.store, row, state, detail or None)
        except StoreLocked as err:
            self.log(
                f"job {self.job_id}: {server.entry.name}'s server is {state}; not recorded: {err}"
            )
        if state in ("failed", "crashed"):
            self.log(f"job {self.job_id}: {server.entry.name}'s server {state}: {detail}")

    def _account(self, outcome: _Answered | _Verdict[Any], stored: bool = True) -> None:
        """Count one recorded unit: done, unparsed or failed (and cut off, for an answer).
        A result not ``stored`` (another batch had stored the unit meanwhile) counts only
        what it cost."""
        progress = self.progress
        cost = outcome.cost
        progress.prompt_tokens += cost.prompt_tokens
        progress.completion_tokens += cost.completion_tokens
        progress.cost_usd += cost.cost_usd
        if not stored:
            progress.elsewhere += 1
            progress.total -= 1
            self.log(
                f"job {self.job_id}: another batch stored a unit while this one asked for it; "
                "its result is kept, this one dropped (its tokens are counted)"
            )
            return
        if outcome.state == "done":
            progress.done += 1
        elif outcome.state == "unparsed":
            progress.unparsed += 1
        else:
            progress.failed += 1
            progress.last_error = outcome.error
            if progress.failed <= LOGGED_NOTES:
                kind = "transient, retries used up" if outcome.transient else "permanent"
                self.log(f"job {self.job_id}: unit failed ({kind}): {outcome.error}")
        if outcome.notes.truncated:
            progress.truncated += 1

    def _reply_notes(self, completions: Sequence[Completion], what: str) -> ReplyNotes:
        """What the engine said besides the text of the last reply; odd replies are logged."""
        if not completions:
            return ReplyNotes()
        last = completions[-1]
        for completion in completions:
            if completion.usage_ignored:
                self.log(f"job {self.job_id}: {completion.usage_ignored} ({what})")
        replaced = sum(c.replaced_chars for c in completions)
        if replaced:
            self.log(
                f"job {self.job_id}: {what}: {replaced} invalid code points (a character cut "
                "in half) replaced by U+FFFD"
            )
        return ReplyNotes(last.finish_reason, replaced)

    # -------------------------------------------------------------------------- generation

    def generation(
        self, units: list[GenerationUnit], entries: dict[str, Any]
    ) -> Callable[[], Awaitable[None]]:
        self.progress.total = len(units)
        by_model: dict[str, list[GenerationUnit]] = {}
        for unit in units:
            by_model.setdefault(unit.model, []).append(unit)
        for model in by_model:
            if not entries[model].managed:  # fail early on a missing key
                ChatEndpoint(entries[model], Secrets())
        # Servers the workbench runs take the GPUs one model at a time, unless a model may
        # share them; API models and servers run by others are sent to all the while.
        one_at_a_time = [m for m in by_model if entries[m].managed and not entries[m].share_gpus]
        beside = [m for m in by_model if m not in one_at_a_time]

        async def in_turn() -> None:
            for model in one_at_a_time:
                await self._send(entries[model], by_model[model], self._generation_work)

        async def work() -> None:
            side_by_side = [
                self._send(entries[m], by_model[m], self._generation_work) for m in beside
            ]
            await _together(in_turn(), *side_by_side)

        return work

    def _generation_work(self, endpoint: ChatEndpoint) -> _UnitWork[GenerationUnit]:
        sampling = _sampling(endpoint.entry)

        async def record(unit: GenerationUnit, answered: _Answered) -> None:
            stored = await self.writes(
                save_response,
                self.store,
                self.job_id,
                unit.instruction.id,
                unit.model,
                principle=answered.principle,
                sampling=sampling,
                text=answered.text,
                error=answered.error,
                cost=answered.cost,
                permanent=answered.permanent,
                notes=answered.notes,
                claim=UnitClaim(claim(unit), self.token),
            )
            self._account(answered, stored)

        async def send(unit: GenerationUnit) -> None:
            instruction = unit.instruction
            answered = await self._answer(
                endpoint, unit.preference, instruction.key, instruction.text
            )
            await record(unit, answered)

        async def fail(unit: GenerationUnit, error: str) -> None:
            key = unit.instruction.key
            principle = self.prompts.choose_principle(unit.preference, self.seed, key)
            await record(unit, _Answered.failure(principle, error))

        def claim(unit: GenerationUnit) -> str:
            return claim_key("response", unit.instruction.id, unit.model)

        return _UnitWork(send, fail, claim)

    async def _answer(
        self, endpoint: ChatEndpoint, preference: Preference, key: str, instruction: str
    ) -> _Answered:
        """One answer to an instruction, under a principle of its preference (seeded by the
        instruction, so a re-run picks the same one): generation and bench answers alike."""
        principle = self.prompts.choose_principle(preference, self.seed, key)
        messages = self.prompts.generation_messages(instruction, preference, principle)
        try:
            completion = await endpoint.chat(messages)
        except RequestFailed as failure:
            return _Answered(principle, None, str(failure), UnitCost(), failure.transient)
        notes = self._reply_notes([completion], f"{endpoint.entry.name}'s answer")
        cost = _cost(endpoint, [completion])
        return _Answered(principle, completion.text, None, cost, False, notes)

    # ------------------------------------------------------------------------- CODAL-Bench

    def bench(self, make_plan: Callable[[], BenchPlan]) -> Callable[[], Awaitable[None]]:
        """Answers first (the model under test's server), then grades (the judge's): the
        grades are planned again from the store once the answers are in."""
        plan = make_plan()
        self.skipped_failures = plan.skipped_failures
        self.progress.total = plan.requests
        for entry in (plan.model if plan.answers else None, plan.judge):
            if entry is not None and not entry.managed:  # fail early on a missing key
                ChatEndpoint(entry, Secrets())

        async def work() -> None:
            if plan.model is not None:
                await self._send(plan.model, plan.answers, self._bench_answer_work)
            grades = make_plan().grades
            self.progress.total = self.progress.finished + len(grades)
            await self.writes(set_total, self.store, self.job_id, self.token, self.progress.total)
            self.on_progress(self.progress)
            await self._send(plan.judge, grades, self._bench_grade_work(plan.reference_model))

        return work

    def _bench_answer_work(self, endpoint: ChatEndpoint) -> _UnitWork[BenchItemRow]:
        sampling = _sampling(endpoint.entry)
        model = endpoint.entry.name

        async def record(item: BenchItemRow, answered: _Answered) -> None:
            await self.writes(
                save_bench_answer,
                self.store,
                self.job_id,
                item.id,
                model,
                principle=answered.principle,
                sampling=sampling,
                text=answered.text,
                error=answered.error,
                cost=answered.cost,
                permanent=answered.permanent,
                notes=answered.notes,
                claim=UnitClaim(claim(item), self.token),
            )
            self._account(answered)

        async def send(item: BenchItemRow) -> None:
            preference = cast(Preference, item.preference)
            await record(item, await self._answer(endpoint, preference, item.key, item.text))

        async def fail(item: BenchItemRow, error: str) -> None:
            await record(item, _Answered.failure(None, error))

        def claim(item: BenchItemRow) -> str:
            return claim_key("bench_answer", item.id, model)

        return _UnitWork(send, fail, claim)

    def _bench_grade_work(self, reference_model: str) -> Maker:
        def make(endpoint: ChatEndpoint) -> _UnitWork[GradeUnit]:
            entry = endpoint.entry
            prompt_format = entry.judge_prompt_format
            constrained = response_format(entry, grade_schema(entry.max_tokens))

            def template(unit: GradeUnit) -> str:
                return self.prompts.grade_template_sha256(unit.preference, prompt_format)

            async def record(unit: GradeUnit, verdict: _Verdict[Any]) -> None:
                read = verdict.read
                stored = await self.writes(
                    save_bench_grade,
                    self.store,
                    self.job_id,
                    unit.answer_id,
                    entry.name,
                    reference_model,
                    template(unit),
                    state=verdict.state,
                    rating=read.rating if read else None,
                    rationale=read.rationale if read else None,
                    raw_output=verdict.raw,
                    error=verdict.error,
                    repaired=verdict.repaired,
                    cost=verdict.cost,
                    permanent=verdict.permanent,
                    notes=verdict.notes,
                    claim=UnitClaim(claim(unit), self.token),
                )
                self._account(verdict, stored)

            async def send(unit: GradeUnit) -> None:
                messages = self.prompts.grade_messages(
                    unit.item.text, unit.preference, unit.reference, unit.answer, prompt_format
                )
                verdict = await self._ask_judge(
                    endpoint,
                    messages,
                    self.prompts.grade_repair_message(),
                    read_grade,
                    lambda read: read.rating is not None,
                    constrained,
                )
                await record(unit, verdict)

            async def fail(unit: GradeUnit, error: str) -> None:
                await record(unit, _Verdict.failure(error))

            def claim(unit: GradeUnit) -> str:
                return claim_key(
                    "grade", unit.answer_id, entry.name, reference_model, template(unit)
                )

            return _UnitWork(send, fail, claim)

        return make

    # ----------------------------------------------------------------------------- judging

    def judging(self, units: list[JudgeUnit], judge: ModelEntry) -> Callable[[], Awaitable[None]]:
        self.progress.total = len(units)
        if units and not judge.managed:  # fail early on a missing key
            ChatEndpoint(judge, Secrets())

        async def work() -> None:
            await self._send(judge, units, self._judging_work)

        return work

    async def _ask_judge(
        self,
        endpoint: ChatEndpoint,
        messages: list[dict[str, str]],
        repair: dict[str, str],
        read: Callable[[str], T],
        readable: Callable[[T], bool],
        constrained: dict[str, Any] | None,
    ) -> _Verdict[T]:
        """Ask a judge (or grader); an answer that cannot be read gets one repair request.
        What could not be read is kept verbatim, with the repair's answer or its failure."""
        options = {"response_format": constrained} if constrained else {}
        completions: list[Completion] = []
        raw: str | None = None
        found: T | None = None
        what = f"{endpoint.entry.name}'s judgment"

        def verdict(read: T | None, readable: bool, repaired: bool = False) -> _Verdict[T]:
            cost = _cost(endpoint, completions)
            return _Verdict(read, readable, raw, repaired, cost, notes=notes())

        def notes() -> ReplyNotes:
            return self._reply_notes(completions, what)

        try:
            first = await endpoint.chat(messages, **options)
            completions.append(first)
            raw, found = first.text, read(first.text)
            if readable(found):
                return verdict(found, True)
            asked_again = [*messages, {"role": "assistant", "content": first.text}, repair]
            second = await endpoint.chat(asked_again, **options)
            completions.append(second)
            raw = first.text + REPAIR_SEPARATOR + second.text
            again = read(second.text)
            if readable(again):
                return verdict(again, True, repaired=True)
        except RequestFailed as failure:
            if found is None:
                return _Verdict(
                    None,
                    False,
                    None,
                    False,
                    _cost(endpoint, completions),
                    str(failure),
                    failure.transient,
                )
            raw = f"{raw}{REPAIR_SEPARATOR}(the repair request failed: {failure})"
        return verdict(found, False)

    def _judging_work(self, endpoint: ChatEndpoint) -> _UnitWork[JudgeUnit]:
        entry = endpoint.entry
        judge = entry.name
        prompt_format = entry.judge_prompt_format

        def order_of(unit: JudgeUnit) -> list[str]:
            order = list(unit.responses)
            random.Random(f"{self.seed}:order:{judge}:{unit.instruction.key}").shuffle(order)
            return order

        def template(unit: JudgeUnit) -> str:
            return self.prompts.judge_template_sha256(unit.preference, prompt_format)

        async def record(unit: JudgeUnit, verdict: _Verdict[Any]) -> None:
            order = order_of(unit)
            read = verdict.read
            ratings = (
                [
                    JudgedRating(order[p - 1], p, read.at(p).rating, read.at(p).rationale)
                    for p in range(1, len(order) + 1)
                ]
                if read is not None
                else []
            )
            stored = await self.writes(
                save_judgment,
                self.store,
                self.job_id,
                unit.instruction.id,
                judge,
                template(unit),
                order_shown=order,
                state=verdict.state,
                raw_output=verdict.raw,
                error=verdict.error,
                ratings=ratings,
                repaired=verdict.repaired,
                cost=verdict.cost,
                permanent=verdict.permanent,
                notes=verdict.notes,
                claim=UnitClaim(claim(unit), self.token),
            )
            self._account(verdict, stored)

        async def send(unit: JudgeUnit) -> None:
            order = order_of(unit)
            count = len(order)
            messages = self.prompts.judge_messages(
                unit.instruction.text,
                unit.preference,
                [unit.responses[m] for m in order],
                prompt_format,
            )
            constrained = response_format(entry, judgment_schema(count, entry.max_tokens))
            verdict = await self._ask_judge(
                endpoint,
                messages,
                self.prompts.repair_message(count),
                lambda text: read_judge_output(text, count),
                lambda read: read.parsed,
                constrained,
            )
            await record(unit, verdict)

        async def fail(unit: JudgeUnit, error: str) -> None:
            await record(unit, _Verdict.failure(error))

        def claim(unit: JudgeUnit) -> str:
            return claim_key("judgment", unit.instruction.id, judge, template(unit))

        return _UnitWork(send, fail, claim)


@dataclass(frozen=True)
class _Verdict(Generic[T]):
    """What a judge's request came to: ``read`` is None when no answer came at all."""

    read: T | None
    readable: bool
    raw: str | None
    repaired: bool
    cost: UnitCost
    error: str | None = None
    transient: bool = False
    notes: ReplyNotes = field(default_factory=ReplyNotes)

    @classmethod
    def failure(cls, error: str) -> _Verdict[Any]:
        """A judgment or grade whose reply could not be handled (a retry may do better)."""
        return cls(None, False, None, False, UnitCost(), error, transient=True)

    @property
    def state(self) -> str:
        if self.read is None:
            return "failed"
        return "done" if self.readable else "unparsed"

    @property
    def permanent(self) -> bool:
        return self.error is not None and not self.transient


@dataclass(frozen=True)
class _Answered:
    principle: str | None
    text: str | None
    error: str | None
    cost: UnitCost
    transient: bool  # the failure may pass on another try
    notes: ReplyNotes = field(default_factory=ReplyNotes)

    @classmethod
    def failure(cls, principle: str | None, error: str) -> _Answered:
        """An answer whose reply could not be handled (a retry may do better)."""
        return cls(principle, None, error, UnitCost(), transient=True)

    @property
    def state(self) -> str:
        return "done" if self.error is None else "failed"

    @property
    def permanent(self) -> bool:
        return self.error is not None and not self.transient


def _sampling(entry: ModelEntry) -> dict[str, Any]:
    """The sampling settings stored with an answer."""
    return {"temperature": entry.temperature, "top_p": entry.top_p, "max_tokens": entry.max_tokens}


def _cost(endpoint: ChatEndpoint, completions: Sequence[Completion]) -> UnitCost:
    prompt = sum(c.prompt_tokens for c in completions)
    completion = sum(c.completion_tokens for c in completions)
    latency = sum(c.latency_ms for c in completions) if completions else None
    return UnitCost(prompt, completion, endpoint.cost(prompt, completion), latency)
