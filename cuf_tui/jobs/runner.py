"""Running a batch: lease the job, plan its units from the store, send them concurrently per
endpoint, write each result as it completes, heartbeat, and stop cleanly when cancelled.

The foreground command and a detached worker run the same code; what is done is read from
the store, so a job resumes after any interruption by requesting only what is missing.
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
from cuf_tui.store.db import Store
from cuf_tui.store.work import (
    JudgedRating,
    UnitCost,
    assign_models,
    finish_job,
    heartbeat,
    job_row,
    lease_job,
    live_servers,
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
Maker = Callable[[ChatEndpoint], Callable[[Any], Awaitable[None]]]

HEARTBEAT_INTERVAL_S = 2.0
REPAIR_SEPARATOR = "\n\n----- answer to the repair request -----\n\n"


class JobBusy(CufError):
    """Another live worker holds the job."""


@dataclass
class Progress:
    job_id: int
    kind: str
    total: int = 0
    done: int = 0
    failed: int = 0
    in_flight: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)
    last_error: str | None = None
    phase: str | None = None  # e.g. waiting for a model server to start

    @property
    def finished(self) -> int:
        return self.done + self.failed

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.finished / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    state: str  # done, cancelled, failed
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
    from cuf_tui.prompts import load_prompts

    store = workspace.open_store()
    token = uuid.uuid4().hex
    try:
        row = job_row(store, job_id)
        if row is None:
            raise CufError(f"no job {job_id} in {workspace.db_path}")
        if not lease_job(store, job_id, this_worker(), token):
            row = job_row(store, job_id) or row
            if row["state"] == "done":
                raise JobBusy(f"job {job_id} is already done")
            raise JobBusy(
                f"job {job_id} is running in process {row['pid']} "
                f"(last heartbeat {row['heartbeat_at']}); cancel it with `cuf-tui cancel {job_id}`"
            )
        progress = Progress(job_id, row["kind"])
        _stop_abandoned_servers(store, job_id, log)
        try:
            config = workspace.config
            prompts = load_prompts(workspace.root)
            params: dict[str, Any] = json.loads(row["params"])
            batch = _Batch(
                store, job_id, token, prompts, config.workspace.seed, progress, on_progress, log
            )
            batch.log_folder = workspace.root / "logs"
            if row["kind"] == "generate":
                plan = plan_generation(
                    store,
                    config,
                    params.get("models"),
                    params.get("limit"),
                    bool(params.get("retry_failed")),
                )
                if plan.assignments:
                    assign_models(store, plan.assignments)
                work = batch.generation(plan.units, {e.name: e for e in config.models})
            elif row["kind"] == "bench":
                from cuf_tui.jobs.bench_plan import plan_bench

                def bench_plan() -> BenchPlan:
                    return plan_bench(
                        store,
                        config,
                        prompts,
                        params["model"],
                        params.get("judge"),
                        params.get("reference"),
                        params.get("limit"),
                        bool(params.get("retry_failed")),
                    )

                work = batch.bench(bench_plan)
            elif row["kind"] == "judge":
                judge_plan = plan_judging(
                    store,
                    config,
                    prompts,
                    params.get("judge"),
                    params.get("limit"),
                    bool(params.get("retry_failed")),
                )
                work = batch.judging(judge_plan.units, judge_plan.judge)
            else:
                raise CufError(f"job {job_id}: unknown kind {row['kind']!r}")
            start_counting(store, job_id, token, progress.total)
            on_progress(progress)
            log(f"job {job_id} ({row['kind']}): {progress.total} units to request")
            await batch.run_with_heartbeat(work)
        except asyncio.CancelledError:
            finish_job(
                store, job_id, token, "cancelled", "stopped before the end; run again to resume"
            )
            log(f"job {job_id} cancelled: {progress.done} done, {progress.failed} failed")
            raise
        except CufError as err:
            finish_job(store, job_id, token, "failed", str(err))
            log(f"job {job_id} failed: {err}")
            return JobOutcome(job_id, "failed", progress, str(err))
        error = f"{progress.failed} of {progress.total} units failed" if progress.failed else None
        finish_job(store, job_id, token, "done", error)
        log(f"job {job_id} done: {progress.done} done, {progress.failed} failed")
        return JobOutcome(job_id, "done", progress, error)
    finally:
        store.close()


def _stop_abandoned_servers(store: Store, job_id: int, log: Callable[[str], None]) -> None:
    """Stop servers an earlier worker of this job started and never stopped (it died)."""
    for row in live_servers(store, job_id):
        if row["pid"] and managed.stop_abandoned(row["pid"], row["port"]):
            log(f"job {job_id}: stopped {row['model']}'s server (pid {row['pid']}), left running")
        record_server_state(store, row["id"], "stopped", "its worker had died")


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


class _Batch:
    def __init__(
        self,
        store: Store,
        job_id: int,
        token: str,
        prompts: PromptSet,
        seed: int,
        progress: Progress,
        on_progress: ProgressCallback,
        log: Callable[[str], None],
    ) -> None:
        self.store = store
        self.job_id = job_id
        self.token = token
        self.prompts = prompts
        self.seed = seed
        self.progress = progress
        self.on_progress = on_progress
        self.log = log
        self.secrets = Secrets()
        self.endpoints: list[ChatEndpoint] = []
        self.log_folder: Path | None = None
        self.server_rows: dict[int, int] = {}  # id(ManagedServer) -> servers row

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
            ours, cancel = heartbeat(self.store, self.job_id, self.token, self.progress.in_flight)
            self.on_progress(self.progress)
            if not ours:
                self.log(f"job {self.job_id}: another worker took the job over; stopping")
                main.cancel()
                return
            if cancel:
                self.log(f"job {self.job_id}: cancel requested")
                main.cancel()
                return

    async def _drain(
        self, endpoint: ChatEndpoint, units: Sequence[Any], one: Callable[[Any], Awaitable[None]]
    ) -> None:
        queue = deque(units)

        async def worker() -> None:
            while queue:
                unit = queue.popleft()
                self.progress.in_flight += 1
                try:
                    await one(unit)
                finally:
                    self.progress.in_flight -= 1
                self.on_progress(self.progress)

        workers = min(endpoint.capacity, len(queue))
        await asyncio.gather(*(worker() for _ in range(workers)))

    def _endpoint(self, entry: Any) -> ChatEndpoint:
        endpoint = ChatEndpoint(entry, self.secrets)
        self.endpoints.append(endpoint)
        return endpoint

    async def _send(self, entry: ModelEntry, units: Sequence[Any], make_one: Maker) -> None:
        """All of ``units`` to ``entry``: straight to its server, or to servers started now."""
        if not units:
            return
        if entry.managed:
            await self._serve_and_send(entry, units, make_one)
        else:
            endpoint = self._endpoint(entry)
            await self._drain(endpoint, units, make_one(endpoint))

    async def _serve_and_send(
        self, entry: ModelEntry, units: Sequence[Any], make_one: Maker
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
            sending = asyncio.ensure_future(self._drain(endpoint, units, make_one(endpoint)))
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
        key = id(server)
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
        if state in ("failed", "crashed"):
            self.log(f"job {self.job_id}: {server.entry.name}'s server {state}: {detail}")

    def _account(
        self, cost: UnitCost, ok: bool, error: str | None = None, transient: bool = False
    ) -> None:
        self.progress.prompt_tokens += cost.prompt_tokens
        self.progress.completion_tokens += cost.completion_tokens
        self.progress.cost_usd += cost.cost_usd
        if ok:
            self.progress.done += 1
        else:
            self.progress.failed += 1
            self.progress.last_error = error
            if self.progress.failed <= 20:
                kind = "transient, retries used up" if transient else "permanent"
                self.log(f"job {self.job_id}: unit failed ({kind}): {error}")

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
                await self._send(entries[model], by_model[model], self._generate_one)

        async def work() -> None:
            side_by_side = [self._send(entries[m], by_model[m], self._generate_one) for m in beside]
            await _together(in_turn(), *side_by_side)

        return work

    def _generate_one(self, endpoint: ChatEndpoint) -> Callable[[GenerationUnit], Awaitable[None]]:
        sampling = _sampling(endpoint.entry)

        async def one(unit: GenerationUnit) -> None:
            instruction = unit.instruction
            answered = await self._answer(
                endpoint, unit.preference, instruction.key, instruction.text
            )
            save_response(
                self.store,
                self.job_id,
                instruction.id,
                unit.model,
                principle=answered.principle,
                sampling=sampling,
                text=answered.text,
                error=answered.error,
                cost=answered.cost,
                permanent=answered.permanent,
            )
            self._account(answered.cost, answered.error is None, answered.error, answered.transient)

        return one

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
        return _Answered(principle, completion.text, None, _cost(endpoint, [completion]), False)

    # ------------------------------------------------------------------------- CODAL-Bench

    def bench(self, make_plan: Callable[[], BenchPlan]) -> Callable[[], Awaitable[None]]:
        """Answers first (the model under test's server), then grades (the judge's): the
        grades are planned again from the store once the answers are in."""
        plan = make_plan()
        self.progress.total = plan.requests
        for entry in (plan.model if plan.answers else None, plan.judge):
            if entry is not None and not entry.managed:  # fail early on a missing key
                ChatEndpoint(entry, Secrets())

        async def work() -> None:
            if plan.model is not None:
                await self._send(plan.model, plan.answers, self._bench_answer_one)
            grades = make_plan().grades
            self.progress.total = self.progress.finished + len(grades)
            set_total(self.store, self.job_id, self.token, self.progress.total)
            self.on_progress(self.progress)
            await self._send(plan.judge, grades, self._bench_grade_one(plan.reference_model))

        return work

    def _bench_answer_one(
        self, endpoint: ChatEndpoint
    ) -> Callable[[BenchItemRow], Awaitable[None]]:
        sampling = _sampling(endpoint.entry)

        async def one(item: BenchItemRow) -> None:
            preference = cast(Preference, item.preference)
            answered = await self._answer(endpoint, preference, item.key, item.text)
            save_bench_answer(
                self.store,
                self.job_id,
                item.id,
                endpoint.entry.name,
                principle=answered.principle,
                sampling=sampling,
                text=answered.text,
                error=answered.error,
                cost=answered.cost,
                permanent=answered.permanent,
            )
            self._account(answered.cost, answered.error is None, answered.error, answered.transient)

        return one

    def _bench_grade_one(self, reference_model: str) -> Maker:
        def make(endpoint: ChatEndpoint) -> Callable[[GradeUnit], Awaitable[None]]:
            entry = endpoint.entry
            prompt_format = entry.judge_prompt_format
            constrained = response_format(entry, grade_schema(entry.max_tokens))

            async def one(unit: GradeUnit) -> None:
                messages = self.prompts.grade_messages(
                    unit.item.text, unit.preference, unit.reference, unit.answer, prompt_format
                )
                template = self.prompts.grade_template_sha256(unit.preference, prompt_format)
                verdict = await self._ask_judge(
                    endpoint,
                    messages,
                    self.prompts.grade_repair_message(),
                    read_grade,
                    lambda read: read.rating is not None,
                    constrained,
                )
                read = verdict.read
                save_bench_grade(
                    self.store,
                    self.job_id,
                    unit.answer_id,
                    entry.name,
                    reference_model,
                    template,
                    state=verdict.state,
                    rating=read.rating if read else None,
                    rationale=read.rationale if read else None,
                    raw_output=verdict.raw,
                    error=verdict.error,
                    repaired=verdict.repaired,
                    cost=verdict.cost,
                    permanent=verdict.permanent,
                )
                self._account(
                    verdict.cost, verdict.read is not None, verdict.error, verdict.transient
                )

            return one

        return make

    # ----------------------------------------------------------------------------- judging

    def judging(self, units: list[JudgeUnit], judge: ModelEntry) -> Callable[[], Awaitable[None]]:
        self.progress.total = len(units)
        if units and not judge.managed:  # fail early on a missing key
            ChatEndpoint(judge, Secrets())

        async def work() -> None:
            await self._send(judge, units, self._judge_one)

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
        try:
            first = await endpoint.chat(messages, **options)
            completions.append(first)
            raw, found = first.text, read(first.text)
            if readable(found):
                return _Verdict(found, True, raw, False, _cost(endpoint, completions))
            asked_again = [*messages, {"role": "assistant", "content": first.text}, repair]
            second = await endpoint.chat(asked_again, **options)
            completions.append(second)
            raw = first.text + REPAIR_SEPARATOR + second.text
            again = read(second.text)
            if readable(again):
                return _Verdict(again, True, raw, True, _cost(endpoint, completions))
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
        return _Verdict(found, False, raw, False, _cost(endpoint, completions))

    def _judge_one(self, endpoint: ChatEndpoint) -> Callable[[JudgeUnit], Awaitable[None]]:
        entry = endpoint.entry
        judge = entry.name
        prompt_format = entry.judge_prompt_format

        async def one(unit: JudgeUnit) -> None:
            order = list(unit.responses)
            random.Random(f"{self.seed}:order:{judge}:{unit.instruction.key}").shuffle(order)
            count = len(order)
            messages = self.prompts.judge_messages(
                unit.instruction.text,
                unit.preference,
                [unit.responses[m] for m in order],
                prompt_format,
            )
            template = self.prompts.judge_template_sha256(unit.preference, prompt_format)
            constrained = response_format(entry, judgment_schema(count, entry.max_tokens))
            verdict = await self._ask_judge(
                endpoint,
                messages,
                self.prompts.repair_message(count),
                lambda text: read_judge_output(text, count),
                lambda read: read.parsed,
                constrained,
            )
            read = verdict.read
            ratings = (
                [
                    JudgedRating(order[p - 1], p, read.at(p).rating, read.at(p).rationale)
                    for p in range(1, count + 1)
                ]
                if read is not None
                else []
            )
            save_judgment(
                self.store,
                self.job_id,
                unit.instruction.id,
                judge,
                template,
                order_shown=order,
                state=verdict.state,
                raw_output=verdict.raw,
                error=verdict.error,
                ratings=ratings,
                repaired=verdict.repaired,
                cost=verdict.cost,
                permanent=verdict.permanent,
            )
            self._account(verdict.cost, verdict.read is not None, verdict.error, verdict.transient)

        return one


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
    principle: str
    text: str | None
    error: str | None
    cost: UnitCost
    transient: bool  # the failure may pass on another try

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
