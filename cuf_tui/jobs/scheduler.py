"""Sending a batch's units: claimed in chunks, `max_concurrency` at a time per server (the one
place that limit is kept), through the model's own servers or ones started for the batch;
each result written as it completes, with the store's writes waiting out a foreign lock;
counted; and a reply that cannot be handled failing its unit only."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cuf_tui.config import ModelEntry
from cuf_tui.engines import managed
from cuf_tui.engines.openai_client import AttemptCounts, ChatEndpoint, Completion
from cuf_tui.engines.replies import Secrets
from cuf_tui.errors import CufError
from cuf_tui.jobs.progress import Progress, ProgressCallback
from cuf_tui.jobs.writes import StoreWrites
from cuf_tui.store.attempts import Attempt, ReplyNotes, UnitCost
from cuf_tui.store.claims import Claimed, claim_units
from cuf_tui.store.db import Store, StoreError, StoreLocked
from cuf_tui.store.jobs import heartbeat, set_total, stale_after_s
from cuf_tui.store.servers import record_server_start, record_server_state

if TYPE_CHECKING:
    from cuf_tui.core.prompts import PromptSet

T = TypeVar("T")
U = TypeVar("U")
R = TypeVar("R")

HEARTBEAT_INTERVAL_S = 2.0
CLAIM_CHUNK = 16  # units claimed in one transaction
LOGGED_NOTES = 20  # retry and failure lines logged in full; after that, one in a hundred

Work = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class UnitWork(Generic[U, R]):
    """How a batch handles one kind of unit on one endpoint."""

    ask: Callable[[U], Awaitable[R]]  # send its request(s): what came back
    record: Callable[[U, R], Awaitable[None]]  # store it, count it, release its claim
    failure: Callable[[U, str], R]  # a result that says it failed, with this error
    claim: Callable[[U], str]  # what determines it: its claim key


Maker = Callable[[ChatEndpoint], UnitWork[Any, Any]]


class Batch:
    """One run of a job: what every kind of unit is sent and recorded through."""

    def __init__(
        self,
        store: Store,
        writes: StoreWrites,
        job_id: int,
        token: str,
        progress: Progress,
        on_progress: ProgressCallback,
        log: Callable[[str], None],
        prompts: PromptSet,
        seed: int,
        log_folder: Path,
    ) -> None:
        self.store = store
        self.writes = writes
        self.job_id = job_id
        self.token = token
        self.progress = progress
        self.on_progress = on_progress
        self.log = log
        self.prompts = prompts
        self.seed = seed
        self.log_folder = log_folder
        self.secrets = Secrets()
        self.attempts = AttemptCounts()
        self.attempts.note = self._note
        self.notes_seen = 0
        self.endpoints: list[ChatEndpoint] = []
        self.server_rows: dict[int, int] = {}  # id(ManagedServer) -> servers row
        # Units stored by another batch after this moment are not sent again (claims).
        self.planned_at = store.now()
        self.stored_before = 0  # units earlier runs of the job stored (its counts keep them)
        self.remote_runs: list[Any] = []  # the models it sends through a Batch API

    # ------------------------------------------------------------------------- the run

    async def run_with_heartbeat(self, work: Work) -> None:
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

    async def set_total(self, total: int) -> None:
        """The run's units, once known better (a bench's grades after its answers)."""
        self.progress.total = total
        await self.writes(set_total, self.store, self.job_id, self.token, total, self.stored_before)
        self.on_progress(self.progress)

    # ---------------------------------------------------------------------- sending

    async def send(self, entry: ModelEntry, units: Sequence[Any], make_work: Maker) -> None:
        """All of ``units`` to ``entry``: straight to its servers, or to servers started now."""
        if not units:
            return
        if entry.mode == "batch":
            from cuf_tui.jobs.remote import send_batched

            await send_batched(self, entry, units, make_work)
        elif entry.managed:
            await self._serve_and_send(entry, units, make_work)
        else:
            endpoint = self.endpoint_for(entry)
            await self._drain(endpoint, units, make_work(endpoint))

    def endpoint_for(self, entry: ModelEntry) -> ChatEndpoint:
        endpoint = ChatEndpoint(entry, self.secrets, self.attempts)
        self.endpoints.append(endpoint)
        return endpoint

    async def _drain(
        self, endpoint: ChatEndpoint, units: Sequence[U], work: UnitWork[U, R]
    ) -> None:
        """Send ``units`` through ``endpoint`` with ``endpoint.capacity`` workers: each takes
        the next unit and sends it, so no more than max_concurrency requests are ever in
        flight per server; a result is recorded in the background while its worker sends
        the next one. Each unit is claimed first (in chunks, one transaction each): a unit
        another live batch holds, or one it stored since this run planned, is left to it.
        A unit whose reply cannot be handled or stored is stored as failed."""
        pending = deque(units)
        ready: deque[U] = deque()
        claiming = asyncio.Lock()
        recording: set[asyncio.Task[None]] = set()
        failures: list[BaseException] = []  # a store that cannot take a write stops the batch

        workers = min(endpoint.capacity, len(pending))
        chunk_size = max(CLAIM_CHUNK, workers)

        async def claim_more() -> None:
            async with claiming:
                if len(ready) >= workers or not pending:
                    return
                chunk = [pending.popleft() for _ in range(min(chunk_size, len(pending)))]
                by_key = {work.claim(unit): unit for unit in chunk}
                claimed = await self.writes(
                    claim_units, self.store, self.job_id, self.token, list(by_key), self.planned_at
                )
                ready.extend(by_key[key] for key in claimed.taken)
                await self.left_to_others(claimed)

        async def next_unit() -> U | None:
            while not ready:
                if not pending:
                    return None
                await claim_more()
            unit = ready.popleft()
            if pending and len(ready) < workers and not claiming.locked():
                # Claim the next chunk while these units are in flight, so that no worker
                # waits for a claim when it is ready for its next unit.
                refill = asyncio.ensure_future(claim_more())
                recording.add(refill)
                refill.add_done_callback(recorded)
            return unit

        async def record(unit: U, result: R) -> None:
            await self.record(work, unit, result, endpoint.entry.name)
            self.on_progress(self.progress)

        async def worker() -> None:
            while not failures and (unit := await next_unit()) is not None:
                self.progress.in_flight += 1
                try:
                    result = await work.ask(unit)
                except CufError:
                    raise
                except Exception as err:  # noqa: BLE001 - a bad reply fails its unit only
                    result = work.failure(unit, self.unusable(endpoint.entry.name, err))
                finally:
                    self.progress.in_flight -= 1
                task = asyncio.ensure_future(record(unit, result))
                recording.add(task)
                task.add_done_callback(recorded)

        def recorded(task: asyncio.Task[None]) -> None:
            recording.discard(task)
            failure = None if task.cancelled() else task.exception()
            if failure is not None:
                failures.append(failure)

        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            # Every result that came back is stored before the batch moves on (or stops).
            while recording:
                await asyncio.gather(*list(recording), return_exceptions=True)
        if failures:
            raise failures[0]

    def unusable(self, name: str, err: Exception) -> str:
        """The error of a unit whose reply from ``name`` could not be handled."""
        return self.secrets.redact(
            f"{name}: its reply could not be handled: {type(err).__name__}: {err}"
        )

    async def record(self, work: UnitWork[U, R], unit: U, result: R, name: str) -> None:
        """Store a unit's result; one that cannot be stored is stored as failed. A fault of
        the store, a server or the configuration ends the job."""
        try:
            await work.record(unit, result)
        except CufError:
            raise
        except Exception as err:  # noqa: BLE001 - a reply that cannot be stored fails
            await work.record(unit, work.failure(unit, self.unusable(name, err)))

    async def left_to_others(self, claimed: Claimed) -> None:
        skipped = len(claimed.elsewhere) + len(claimed.stored)
        if not skipped:
            return
        self.progress.elsewhere += skipped
        await self.set_total(self.progress.total - skipped)
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
            endpoint = self.endpoint_for(served)
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
        safe = "".join(c if c.isalnum() or c in "-._" else "_" for c in entry.name)
        return lambda replica: self.log_folder / f"job-{self.job_id}-{safe}-{replica + 1}.log"

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
            name = server.entry.name
            self.log(f"job {self.job_id}: {name}'s server is {state}; not recorded: {err}")
        if state in ("failed", "crashed"):
            self.log(f"job {self.job_id}: {server.entry.name}'s server {state}: {detail}")

    # ------------------------------------------------------------------- accounting

    def account(self, attempt: Attempt, stored: bool = True) -> None:
        """Count one recorded unit by how its attempt ended (done, unparsed or failed; and
        cut off, for an answer). A result not ``stored`` (another batch had stored the unit
        meanwhile) counts only what it cost."""
        progress = self.progress
        cost = attempt.cost
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
        if attempt.state == "done":
            progress.done += 1
        elif attempt.state == "unparsed":
            progress.unparsed += 1
        else:
            progress.failed += 1
            progress.last_error = attempt.error
            if progress.failed <= LOGGED_NOTES:
                kind = "permanent" if attempt.permanent else "transient, retries used up"
                self.log(f"job {self.job_id}: unit failed ({kind}): {attempt.error}")
        if attempt.notes.truncated:
            progress.truncated += 1

    def reply_notes(self, completions: Sequence[Completion], what: str) -> ReplyNotes:
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

    def cost(self, endpoint: ChatEndpoint, completions: Sequence[Completion]) -> UnitCost:
        prompt = sum(c.prompt_tokens for c in completions)
        completion = sum(c.completion_tokens for c in completions)
        latency = sum(c.latency_ms for c in completions) if completions else None
        # Each at its own price: an answer through the Batch API at the batch price, a
        # repair sent online beside it at the online one.
        cost = sum(
            endpoint.cost(c.prompt_tokens, c.completion_tokens, batched=c.batched)
            for c in completions
        )
        return UnitCost(prompt, completion, cost, latency)
