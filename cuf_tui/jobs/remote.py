"""Sending a batch's units through a provider's Batch API (an entry with mode = "batch").

Each kind asks its units exactly as it does online: its `ask` calls `chat` on an endpoint.
Here that endpoint is a :class:`BatchedEndpoint`, whose `chat` puts the request in the next
remote batch and waits for its answer; when every unit is waiting, the requests are written
as JSON Lines (a `custom_id` per request, made from the unit's claim key, so an answer maps
back whatever the order of the output), uploaded, and made a batch. The batches are polled;
their output and error files are downloaded, every line kept in the store before it is used,
and each answer goes back to its unit, which reads, repairs and stores it as online.

Every step is in the store as soon as it happened (the upload, the batch, each answer
line), so a worker killed at any moment resumes without uploading anything twice: a unit
whose request is in a batch waits for that batch, one whose answer was downloaded uses it.
Units an expired (or failed) batch left unanswered are sent once more in this run; then
they fail, transiently, so a later run asks again."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import time
from collections.abc import Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cuf_tui.config import ModelEntry
from cuf_tui.engines.batch_api import BatchApi, request_line
from cuf_tui.engines.openai_client import (
    TRANSIENT_STATUS,
    ChatEndpoint,
    Completion,
    RequestFailed,
    completion_from_body,
    request_settings,
)
from cuf_tui.engines.replies import not_a_completion
from cuf_tui.errors import CufError
from cuf_tui.store.claims import claim_units
from cuf_tui.store.jobs import cancel_requested
from cuf_tui.store.remote_batches import (
    FINISHED,
    KnownUnit,
    RemoteStatus,
    forget_all_answers,
    forget_answers,
    forget_planned,
    known_units,
    open_remote_batches,
    record_answers,
    record_file,
    record_planned,
    record_status,
)

if TYPE_CHECKING:
    from cuf_tui.jobs.scheduler import Batch, Maker, UnitWork
    from cuf_tui.store.db import Store
    from cuf_tui.workspace import Workspace

# The unit whose `ask` is running: its claim key, which names its requests.
CURRENT_UNIT: ContextVar[str] = ContextVar("CURRENT_UNIT")
CLAIM_CHUNK = 500  # units claimed in one transaction
CANCEL_TIMEOUT_S = 60.0  # at most this long cancelling the remote batches on the way out
FORGET_CHUNK = 200  # answer lines let go of in one transaction, once their units are stored
REFUSALS_TO_STOP = 5  # checks of a batch refused in a row before the job stops
# Answer lines that say the request was never run (OpenAI's error file of an expired or
# cancelled batch): the request is sent again, as if the batch had left it out.
NOT_RUN = frozenset({"batch_expired", "batch_cancelled"})


def custom_id_of(claim: str, number: int) -> str:
    """The stable name of a unit's ``number``th request (1: the first, 2: its repair)."""
    return f"cuf-{hashlib.sha256(claim.encode()).hexdigest()[:32]}-{number}"


@dataclass
class _Request:
    custom_id: str
    body: dict[str, Any]
    messages: Sequence[dict[str, str]]
    settings: dict[str, Any]
    purpose: str  # units, resubmitted, repairs
    answer: asyncio.Future[Completion] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


@dataclass
class _Open:
    """A remote batch this run waits on."""

    row: int
    batch_id: str | None
    input_file_id: str | None
    file_name: str
    purpose: str
    status: str = "uploaded"
    adopted: bool = False  # left by an earlier run: its batch may exist unrecorded
    refused: int = 0  # checks in a row refused (a 401, a 404): many end the job
    waiting: dict[str, _Request] = field(default_factory=dict)
    checked: float = 0.0  # monotonic time of the last check


class BatchedEndpoint:
    """What a kind's `ask` sends through in batch mode: `chat` as on a ChatEndpoint."""

    def __init__(self, run: RemoteRun, online: ChatEndpoint | None) -> None:
        self.run = run
        self.entry = run.entry
        self.online = online
        self._asked: dict[str, int] = {}

    async def chat(self, messages: Sequence[dict[str, str]], **overrides: Any) -> Completion:
        unit = CURRENT_UNIT.get()
        number = self._asked.get(unit, 0) + 1
        self._asked[unit] = number
        if number > 1 and self.entry.batch_repair == "online" and self.online is not None:
            return await self.online.chat(messages, **overrides)  # one small request, now
        settings = request_settings(self.entry, overrides)
        body = {"model": self.entry.model, "messages": list(messages), **settings}
        purpose = "units" if number == 1 else "repairs"
        return await self.run.ask(
            _Request(custom_id_of(unit, number), body, messages, settings, purpose)
        )

    def asked(self, unit: str) -> int:
        """How many requests ``unit`` has made in this run."""
        return self._asked.get(unit, 0)

    def cost(self, prompt_tokens: int, completion_tokens: int, *, batched: bool = False) -> float:
        """What tokens cost: through the Batch API (``batched``) or online (a repair)."""
        prices = self.entry.batch_prices if batched else self.entry.price_per_million_tokens
        return (prompt_tokens * prices.input + completion_tokens * prices.output) / 1e6


class RemoteRun:
    """One model's requests of one run: what waits to be sent, the remote batches it waits
    on, and the loop that sends, polls and collects them."""

    def __init__(self, batch: Batch, entry: ModelEntry) -> None:
        self.batch = batch
        self.entry = entry
        self.api = BatchApi(entry, batch.secrets, batch.attempts)
        self.known: dict[str, KnownUnit] = {}
        self.pending: list[_Request] = []
        self.open: dict[int, _Open] = {}
        self.busy = 0  # units running their own code (not waiting on an answer)
        self.wake = asyncio.Event()
        self.resubmitted: set[str] = set()  # sent again in this run (once at most)
        batch.remote_runs.append(self)

    @property
    def name(self) -> str:
        return self.entry.name

    def log(self, line: str) -> None:
        self.batch.log(f"job {self.batch.job_id}: {self.name}: {line}")

    # ------------------------------------------------------------------------ asking

    async def ask(self, request: _Request) -> Completion:
        """The answer to ``request``: one downloaded before, or from the batch that carries
        it, or from the next batch this run makes."""
        known = self.known.get(request.custom_id)
        if known is not None and known.answer is not None:
            return self._read(request, known.answer)
        if known is not None and not known.collected and known.remote_batch in self.open:
            self.open[known.remote_batch].waiting[request.custom_id] = request
        else:
            if known is not None:  # its batch ended without answering it
                request.purpose = "resubmitted"
                self.resubmitted.add(request.custom_id)
            self.pending.append(request)
        self.busy -= 1
        self.wake.set()
        try:
            return await request.answer
        finally:
            self.busy += 1

    def _read(self, request: _Request, line: str) -> Completion:
        """An answer line (of the output or the error file) as the unit's reply."""
        where = f"{self.name} (Batch API)"
        try:
            answer = json.loads(line)
        except ValueError:
            raise RequestFailed(f"{where}: an answer line is not JSON", transient=True) from None
        error = answer.get("error") if isinstance(answer, dict) else None
        response = answer.get("response") if isinstance(answer, dict) else None
        status = response.get("status_code") if isinstance(response, dict) else None
        body = response.get("body") if isinstance(response, dict) else None
        if error or status != 200:
            said = error if error else (body or {}).get("error") if isinstance(body, dict) else None
            message = said.get("message") if isinstance(said, dict) else said
            code = f"HTTP {status}" if isinstance(status, int) else "failed"
            raise RequestFailed(
                self.api.clean(f"{where}: {code}: {message or 'no reason given'}"),
                transient=not isinstance(status, int) or status in TRANSIENT_STATUS,
            )
        problem = not_a_completion(body)
        if problem:
            raise RequestFailed(
                f"{where}: the answer is not a chat completion ({problem})", transient=True
            )
        assert isinstance(body, dict)
        completion = completion_from_body(
            body, request.messages, request.settings, self.entry, self.batch.secrets, where, 0.0
        )
        return dataclasses.replace(completion, batched=True)

    # ------------------------------------------------------------------------ the loop

    async def adopt(self) -> None:
        """Take up the batches an earlier run of the job left open (its worker died). One
        killed during an upload is looked for at the provider by its file's name: found, it
        goes on; not found, it is forgotten and its requests are sent with the others."""
        batch = self.batch
        store = batch.store
        for row in open_remote_batches(store, batch.job_id):
            if row.model != self.name:
                continue
            remote = _Open(
                row.id,
                row.batch_id,
                row.input_file_id,
                row.file_name,
                row.purpose,
                row.status,
                adopted=True,
            )
            if row.input_file_id is None:
                try:
                    file_id = await self.api.find_file(row.file_name)
                except RequestFailed as failure:  # no listing here: a file costs nothing
                    self.log(f"could not look for {row.file_name} ({failure}); sent again")
                    file_id = None
                if file_id is None:
                    await batch.writes(forget_planned, store, row.id)
                    self.log(f"{row.file_name} never arrived at the provider; sent again")
                    continue
                await batch.writes(record_file, store, row.id, file_id)
                remote.input_file_id = file_id
                remote.status = "uploaded"
            self.open[row.id] = remote
        self.known = known_units(store, batch.job_id, self.name)
        if self.open:
            self.log(f"{len(self.open)} remote batches of an earlier run taken up again")

    async def loop(self, units_left: Any) -> None:
        """Send, poll and collect until no unit is left."""
        interval = self.entry.batch_poll_interval
        while units_left():
            if self.pending and (
                self.busy <= 0 or len(self.pending) >= self.entry.batch_max_requests
            ):
                await self._send_pending()
            now = time.monotonic()
            for remote in list(self.open.values()):
                if now - remote.checked < interval:
                    continue
                if remote.batch_id is None:
                    await self._create(remote)
                else:
                    await self._check(remote)
            self._show()
            self.wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), timeout=min(interval, 1.0))

    def _show(self) -> None:
        """The job's progress: requests waiting and remote batches open, over every model
        the batch sends to at once (several models generate side by side)."""
        runs = self.batch.remote_runs
        waiting = sum(run.waiting for run in runs)
        batches = sum(len(run.open) for run in runs)
        progress = self.batch.progress
        progress.in_flight = waiting
        progress.phase = (
            f"{batches} remote batches open, {waiting} requests waiting" if batches else None
        )
        self.batch.on_progress(progress)

    @property
    def waiting(self) -> int:
        """Requests of this model waiting for an answer (sent, or about to be)."""
        return sum(len(r.waiting) for r in self.open.values()) + len(self.pending)

    async def _send_pending(self) -> None:
        """Every waiting request, in batches within the provider's limits."""
        pending, self.pending = self.pending, []
        for purpose in ("units", "resubmitted", "repairs"):
            chosen = [r for r in pending if r.purpose == purpose]
            for chunk in self._within_limits(chosen):
                await self._upload(chunk, purpose)

    def _within_limits(self, requests: list[_Request]) -> list[list[tuple[_Request, bytes]]]:
        chunks: list[list[tuple[_Request, bytes]]] = []
        chunk: list[tuple[_Request, bytes]] = []
        size = 0
        for request in requests:
            line = request_line(request.custom_id, request.body)
            if len(line) > self.entry.batch_max_bytes:
                request.answer.set_exception(
                    RequestFailed(
                        f"{self.name}: the request is {len(line):,} bytes, more than a batch "
                        f"file may hold ({self.entry.batch_max_bytes:,})",
                        transient=False,
                    )
                )
                continue
            if chunk and (
                len(chunk) >= self.entry.batch_max_requests
                or size + len(line) > self.entry.batch_max_bytes
            ):
                chunks.append(chunk)
                chunk, size = [], 0
            chunk.append((request, line))
            size += len(line)
        if chunk:
            chunks.append(chunk)
        return chunks

    async def _upload(self, chunk: list[tuple[_Request, bytes]], purpose: str) -> None:
        """Record the batch to be, upload its file, record the file, make the batch."""
        batch = self.batch
        data = b"".join(line for _, line in chunk)
        custom_ids = [request.custom_id for request, _ in chunk]
        row, name = await batch.writes(
            record_planned,
            batch.store,
            batch.job_id,
            self.name,
            self.api.endpoint,
            purpose,
            custom_ids,
        )
        try:
            file_id = await self.api.upload(name, data)
        except RequestFailed as failure:
            found = await self._arrived(name) if failure.transient else None
            if found is None:
                self.log(f"could not upload {len(chunk)} requests: {failure}")
                await batch.writes(forget_planned, batch.store, row)
                for request, _ in chunk:
                    request.answer.set_exception(failure)
                return
            self.log(f"the upload's reply was lost, but {name} arrived as {found}")
            file_id = found
        await batch.writes(record_file, batch.store, row, file_id)
        remote = _Open(row, None, file_id, name, purpose)
        remote.waiting = {request.custom_id: request for request, _ in chunk}
        self.open[row] = remote
        self.log(f"uploaded {len(chunk)} requests ({len(data):,} bytes) as {file_id} ({purpose})")
        await self._create(remote)

    async def _arrived(self, name: str) -> str | None:
        """The id of the file called ``name`` if it arrived at the provider after all."""
        try:
            return await self.api.find_file(name)
        except RequestFailed:
            return None

    async def _create(self, remote: _Open) -> None:
        """Make the batch of an uploaded file (or, for a file an earlier run uploaded, find
        the batch its worker made and died before recording)."""
        assert remote.input_file_id is not None
        file_id = remote.input_file_id
        try:
            status = await self._made_of(file_id) if remote.adopted else None
            if status is None:
                metadata = {"cuf_job": str(self.batch.job_id), "cuf_model": self.name}
                status = await self.api.create(file_id, metadata)
                self.log(f"batch {status.batch_id} created of {file_id}")
            else:
                self.log(f"batch {status.batch_id} of {file_id} found; not made again")
        except RequestFailed as failure:
            if failure.transient:
                # The batch may have been made with the reply lost: looked for first next time.
                remote.adopted = True
                self.log(f"could not create the batch of {file_id} yet: {failure}")
                remote.checked = time.monotonic()
                return
            await self._fail_all(remote, failure)
            return
        await self._record(remote, status)

    async def _made_of(self, file_id: str) -> RemoteStatus | None:
        """The batch made of ``file_id`` by an earlier attempt whose reply was lost. Where
        the provider lists no batches, none is assumed (the window is a few milliseconds)."""
        try:
            return await self.api.find(file_id)
        except RequestFailed as failure:
            if failure.transient:
                raise
            self.log(
                f"could not look for a batch of {file_id} ({failure}): this provider does not "
                "list batches, so one made by a lost reply cannot be found; making one (if the "
                "lost reply had made one too, cancel it at the provider)"
            )
            return None

    async def _record(self, remote: _Open, status: RemoteStatus) -> None:
        batch = self.batch
        remote.batch_id = status.batch_id
        remote.status = status.status
        remote.checked = time.monotonic()
        await batch.writes(record_status, batch.store, remote.row, status)
        if status.status in FINISHED:
            await self._collect(remote, status)

    async def _check(self, remote: _Open) -> None:
        assert remote.batch_id is not None
        try:
            status = await self.api.retrieve(remote.batch_id)
        except RequestFailed as failure:
            remote.checked = time.monotonic()
            remote.refused = 0 if failure.transient else remote.refused + 1
            if remote.refused >= REFUSALS_TO_STOP and failure.status == 404:
                # The provider no longer knows the batch: what it carried is sent again.
                self.log(f"batch {remote.batch_id} is unknown to the provider: {failure}")
                gone = RemoteStatus(
                    remote.batch_id,
                    "lost",
                    remote.input_file_id,
                    errors="the provider no longer knows this batch",
                )
                await self._record(remote, gone)
                return
            if remote.refused >= REFUSALS_TO_STOP:
                raise CufError(
                    f"{self.name}: batch {remote.batch_id} could not be checked "
                    f"{remote.refused} times in a row ({failure}); it is left as it is at the "
                    "provider, and the same command takes it up again"
                ) from None
            self.log(f"could not check batch {remote.batch_id}: {failure}; trying again")
            return
        remote.refused = 0
        await self._record(remote, status)

    async def _collect(self, remote: _Open, status: RemoteStatus) -> None:
        """A finished batch: its output and error files downloaded and kept, then each
        answer given to its unit; the units it left unanswered sent once more."""
        answers: dict[str, str] = {}
        for file_id in (status.output_file_id, status.error_file_id):
            if not file_id:
                continue
            try:
                data = await self.api.download(file_id)
            except RequestFailed as failure:
                self.log(f"could not download {file_id} of batch {status.batch_id}: {failure}")
                remote.checked = time.monotonic()
                if failure.transient:
                    return  # asked again at the next check
                data = b""
            # JSON Lines end at "\n" only: U+2028 and the like are text inside a line.
            lines = data.decode("utf-8", errors="replace").split("\n")
            named = [(line, *_named(line)) for line in lines]
            if data.strip() and not any(custom_id for _, custom_id, _ in named):
                # Not a file of answers (a proxy's page with a 200): asked again, never read
                # as a batch that answered nothing.
                remote.checked = time.monotonic()
                remote.refused += 1
                if remote.refused >= REFUSALS_TO_STOP:
                    raise CufError(
                        f"{self.name}: {file_id} of batch {status.batch_id} came back "
                        f"{remote.refused} times as no file of answers; the same command "
                        "takes the batch up again"
                    )
                self.log(f"{file_id} of batch {status.batch_id} holds no answers; asked again")
                return
            for line, custom_id, run in named:
                if custom_id is not None and custom_id not in answers and run:
                    answers[custom_id] = self.batch.secrets.remove(line)
        batch = self.batch
        await batch.writes(record_answers, batch.store, remote.row, answers)
        del self.open[remote.row]
        missing = [r for cid, r in remote.waiting.items() if cid not in answers]
        self.log(
            f"batch {status.batch_id} {status.status}: {len(answers)} answers "
            f"({status.completed} completed, {status.failed} failed), {len(missing)} missing"
        )
        for custom_id, request in remote.waiting.items():
            answered = answers.get(custom_id)
            if answered is None:
                continue
            try:
                request.answer.set_result(self._read(request, answered))
            except RequestFailed as failure:
                request.answer.set_exception(failure)
        refused = status.status == "failed"  # the provider refused the batch as it is
        for request in missing:
            if refused or request.custom_id in self.resubmitted:
                request.answer.set_exception(self._unanswered(status, again=not refused))
                continue
            self.resubmitted.add(request.custom_id)
            request.purpose = "resubmitted"
            self.pending.append(request)
        if missing and not refused:
            self.log(
                f"{len(self.pending)} requests batch {status.batch_id} left unanswered "
                "are sent again"
            )

    def _unanswered(self, status: RemoteStatus, *, again: bool) -> RequestFailed:
        """The failure of a request a finished batch did not answer. A batch the provider
        refused (it failed as a whole, say for its size) fails its requests for good: the
        same file would be refused again."""
        said = f" ({status.errors})" if status.errors else ""
        where = f"{self.name}: batch {status.batch_id}"
        if not again:
            return RequestFailed(
                self.api.clean(
                    f"{where} was refused by the provider{said}; if its limits are lower than "
                    "batch_max_requests or batch_max_bytes say, lower them in cuf.toml and run "
                    "again with --retry-failed"
                ),
                transient=False,
            )
        return RequestFailed(
            self.api.clean(
                f"{where} {status.status} again{said} without answering this request; run "
                "the same command to ask again"
            ),
            transient=True,
        )

    async def _fail_all(self, remote: _Open, failure: RequestFailed) -> None:
        self.log(f"batch of {remote.input_file_id} cannot be made: {failure}")
        del self.open[remote.row]
        batch = self.batch
        failed = RemoteStatus("", "failed", remote.input_file_id, errors=str(failure))
        await batch.writes(record_status, batch.store, remote.row, failed)
        await batch.writes(record_answers, batch.store, remote.row, {})
        for request in remote.waiting.values():
            request.answer.set_exception(failure)

    async def cancel_open(self) -> None:
        """Cancel every remote batch still running (the job was cancelled)."""
        for remote in list(self.open.values()):
            if remote.status in FINISHED:
                continue
            try:
                status = await cancel_remote(self.api, remote.batch_id, remote.input_file_id)
            except RequestFailed as failure:
                self.log(f"could not cancel batch {remote.batch_id}: {failure}")
                continue
            if status is None:
                continue
            self.log(f"batch {status.batch_id} cancelled ({status.status})")
            remote.status = status.status
            batch = self.batch
            with contextlib.suppress(CufError):
                await batch.writes(record_status, batch.store, remote.row, status)


async def cancel_remote(
    api: BatchApi, batch_id: str | None, input_file_id: str | None
) -> RemoteStatus | None:
    """Cancel a remote batch; one whose creation reached the provider unrecorded (its reply
    lost, its worker dead) is looked for by its file first. None: there is no batch."""
    if not batch_id and input_file_id:
        made = await api.find(input_file_id)
        batch_id = made.batch_id if made is not None else None
    if not batch_id:
        return None
    return await api.cancel(batch_id)


async def _stopped(batch: Batch, run: RemoteRun) -> None:
    """The run was stopped. A job cancelled (`cuf-tui cancel`, `c` in Jobs) cancels its
    remote batches; one merely stopped (Ctrl-C, the terminal gone) leaves them running at
    the provider, for the same command to collect."""
    open_batches = [
        r for r in run.open.values() if (r.batch_id or r.input_file_id) and r.status not in FINISHED
    ]
    if not open_batches:
        return
    try:
        cancelled = cancel_requested(batch.store, batch.job_id)
    except CufError:
        cancelled = False
    if not cancelled:
        run.log(
            f"{len(open_batches)} remote batches keep running at the provider: the same "
            f"command collects them, `cuf-tui cancel {batch.job_id}` cancels them"
        )
        return
    with contextlib.suppress(Exception):
        await asyncio.wait_for(asyncio.shield(run.cancel_open()), CANCEL_TIMEOUT_S)


def _named(line: str) -> tuple[str | None, bool]:
    """An answer line's custom_id (None: no line of an answer), and whether its request was
    run (not so for one its batch expired or was cancelled before)."""
    try:
        answer = json.loads(line)
    except ValueError:
        return None, False
    if not isinstance(answer, dict) or not isinstance(answer.get("custom_id"), str):
        return None, False
    error = answer.get("error")
    return answer["custom_id"], not (isinstance(error, dict) and error.get("code") in NOT_RUN)


async def send_batched(
    batch: Batch, entry: ModelEntry, units: Sequence[Any], make_work: Maker
) -> None:
    """All of ``units`` to ``entry`` through its provider's Batch API: each unit claimed,
    asked, and its answer recorded as online; the batch's remote work cancelled if the job is."""
    run = RemoteRun(batch, entry)
    online = batch.endpoint_for(entry) if entry.batch_repair == "online" else None
    endpoint = BatchedEndpoint(run, online)
    work: UnitWork[Any, Any] = make_work(endpoint)  # type: ignore[arg-type]
    await run.adopt()

    taken: list[Any] = []
    for start in range(0, len(units), CLAIM_CHUNK):
        chunk = units[start : start + CLAIM_CHUNK]
        by_key = {work.claim(unit): unit for unit in chunk}
        claimed = await batch.writes(
            claim_units, batch.store, batch.job_id, batch.token, list(by_key), batch.planned_at
        )
        taken.extend(by_key[key] for key in claimed.taken)
        await batch.left_to_others(claimed)

    failures: list[BaseException] = []
    stored: list[str] = []

    async def one(unit: Any) -> None:
        key = work.claim(unit)
        CURRENT_UNIT.set(key)
        try:
            try:
                result = await work.ask(unit)
            except CufError:
                raise
            except Exception as err:  # noqa: BLE001 - a bad answer fails its unit only
                result = work.failure(unit, batch.unusable(entry.name, err))
            await batch.record(work, unit, result, entry.name)
            asked = endpoint.asked(key)
            stored.extend(custom_id_of(key, number) for number in range(1, asked + 1))
            if len(stored) >= FORGET_CHUNK:  # their answer lines are in the store's tables now
                done, stored[:] = list(stored), []
                await batch.writes(forget_answers, batch.store, done, batch.job_id)
            batch.on_progress(batch.progress)
        except BaseException as err:
            failures.append(err)
            raise
        finally:
            run.busy -= 1
            run.wake.set()

    run.busy = len(taken)
    tasks = [asyncio.ensure_future(one(unit)) for unit in taken]
    looping = asyncio.ensure_future(
        run.loop(lambda: not all(t.done() for t in tasks) and not failures)
    )
    answered: asyncio.Future[Any] = asyncio.gather(*tasks)
    try:
        # The loop ending in a fault (not only the units) ends the batch, never hangs it.
        either: set[asyncio.Future[Any]] = {answered, looping}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if looping.done() and not answered.done():
            looping.result()
        await answered
        await looping
        # Every unit of the run is stored: no answer line of the job's is needed again.
        await batch.writes(forget_all_answers, batch.store, batch.job_id, entry.name)
    except BaseException:
        looping.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(answered, looping, *tasks, return_exceptions=True)
        if not failures or isinstance(failures[0], asyncio.CancelledError):
            await _stopped(batch, run)
        raise
    finally:
        if stored:  # answer lines of stored units: their text is in the store's tables now
            with contextlib.suppress(CufError):
                await batch.writes(forget_answers, batch.store, stored, batch.job_id)
        await run.api.close()


def cancel_abandoned(workspace: Workspace, job_id: int) -> list[str]:
    """Cancel the remote batches a job no worker runs left open (its worker died, or it was
    cancelled while none ran); what was done, a line each."""
    from cuf_tui.engines.openai_client import AttemptCounts
    from cuf_tui.engines.replies import Secrets

    config = workspace.config
    entries = {entry.name: entry for entry in (*config.models, *config.judges)}
    said: list[str] = []

    async def cancel_all(store: Store) -> None:
        for row in open_remote_batches(store, job_id):
            if row.status in FINISHED or not (row.batch_id or row.input_file_id):
                continue
            entry = entries.get(row.model)
            if entry is None or entry.mode != "batch":
                said.append(
                    f"batch {row.batch_id} of {row.model}: not cancelled, cuf.toml no longer "
                    "has that entry in batch mode; cancel it at the provider"
                )
                continue
            api = BatchApi(entry, Secrets(), AttemptCounts())
            try:
                status = await cancel_remote(api, row.batch_id, row.input_file_id)
            except (RequestFailed, CufError) as failure:
                said.append(
                    f"batch {row.batch_id or row.file_name} of {row.model}: "
                    f"not cancelled: {failure}"
                )
                continue
            finally:
                await api.close()
            if status is None:
                continue
            record_status(store, row.id, status)
            said.append(f"batch {status.batch_id} of {row.model}: {status.status}")

    with workspace.open_store() as store:
        if open_remote_batches(store, job_id):
            asyncio.run(cancel_all(store))
    return said
