"""The store's side of batch work: what is left to do, writing each finished unit (with its
job's counters, in one short transaction), and the job rows that workers lease."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cuf_tui.processes import WorkerIdentity, worker_state
from cuf_tui.store.db import Store

NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')"
STALE_ENV = "CUF_TUI_STALE_AFTER_S"  # seconds without a heartbeat before a job is interrupted


def stale_after_s() -> float:
    return float(os.environ.get(STALE_ENV, "15"))


def _stale_cutoff() -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '-{stale_after_s():g} seconds')"


@dataclass(frozen=True)
class InstructionToAnswer:
    id: int
    key: str
    text: str
    preference: str
    models: list[str]


@dataclass(frozen=True)
class UnitCost:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float | None = None


@dataclass(frozen=True)
class ReplyNotes:
    """What the engine said about an answer besides its text."""

    finish_reason: str | None = None  # 'stop'; 'length' means cut off at max_tokens
    replaced_chars: int = 0  # invalid code points (a cut emoji) replaced by U+FFFD

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


PLAIN_REPLY = ReplyNotes()


FINISHED_STATES = ("done", "done with failures")  # a re-run starts a new job after these


# ------------------------------------------------------------------------------- planning


def instructions_in_order(store: Store) -> list[InstructionToAnswer]:
    return [
        InstructionToAnswer(row[0], row[1], row[2], row[3], json.loads(row[4]))
        for row in store.db.execute(
            "SELECT id, text_sha256, text, preference, models FROM instructions ORDER BY id"
        )
    ]


def assign_models(store: Store, assignments: dict[int, list[str]]) -> None:
    """Give instructions that have none the models sampled for them (in one transaction)."""
    with store.transaction():
        store.db.conn.executemany(
            "UPDATE instructions SET models = ? WHERE id = ? AND models = '[]'",
            [
                (json.dumps(models), instruction_id)
                for instruction_id, models in assignments.items()
            ],
        )


def done_responses(store: Store) -> dict[int, dict[str, str]]:
    """instruction id -> model -> text, for the responses that are done."""
    found: dict[int, dict[str, str]] = {}
    for instruction_id, model, text in store.db.execute(
        "SELECT instruction_id, model, text FROM responses WHERE state = 'done'"
    ):
        found.setdefault(instruction_id, {})[model] = text
    return found


def permanently_failed_responses(store: Store) -> set[tuple[int, str]]:
    """(instruction id, model) pairs whose last attempt failed in a way a retry cannot fix."""
    return {
        (row[0], row[1])
        for row in store.db.execute(
            "SELECT instruction_id, model FROM responses WHERE state = 'failed' "
            "AND permanent_failure"
        )
    }


PERMANENT_FAILURE = "permanent failure"


def judgment_states(store: Store, judge: str) -> dict[tuple[int, str], str]:
    """(instruction id, template hash) -> 'done', 'unparsed' or 'permanent failure', for the
    judgments of this judge that a new run should not simply request again."""
    return {
        (row[0], row[1]): row[2]
        for row in store.db.execute(
            "SELECT instruction_id, template_sha256, CASE WHEN state = 'failed' "
            f"THEN '{PERMANENT_FAILURE}' ELSE state END FROM judgments WHERE judge = ? "
            "AND (state IN ('done', 'unparsed') OR (state = 'failed' AND permanent_failure))",
            (judge,),
        )
    }


def mean_completion_tokens(store: Store, table: str, column: str, name: str) -> float | None:
    value = store.scalar(
        f"SELECT avg(completion_tokens) FROM {table} WHERE {column} = ? AND state = 'done' "
        "AND completion_tokens > 0",
        (name,),
    )
    return None if value is None else float(value)


# ---------------------------------------------------------------------------- unit writes


def save_response(
    store: Store,
    job_id: int,
    instruction_id: int,
    model: str,
    *,
    principle: str,
    sampling: dict[str, Any],
    text: str | None,
    error: str | None,
    cost: UnitCost,
    permanent: bool = False,
    notes: ReplyNotes = PLAIN_REPLY,
    claim: UnitClaim | None = None,
) -> bool:
    """Store one generated response, or its failure (``permanent``: a retry cannot fix it),
    count it in its job and release its claim. False: a done response was there already,
    and is kept."""
    state = "done" if error is None else "failed"
    with store.transaction():
        cursor = store.db.execute(
            "INSERT INTO responses (instruction_id, model, principle, text, state, error, source, "
            "prompt_tokens, completion_tokens, cost_usd, latency_ms, sampling, permanent_failure, "
            "finish_reason, replaced_chars) "
            "VALUES (?, ?, ?, ?, ?, ?, 'generated', ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (instruction_id, model) DO UPDATE SET principle = excluded.principle, "
            "text = excluded.text, state = excluded.state, error = excluded.error, "
            "source = excluded.source, prompt_tokens = excluded.prompt_tokens, "
            "completion_tokens = excluded.completion_tokens, cost_usd = excluded.cost_usd, "
            f"latency_ms = excluded.latency_ms, sampling = excluded.sampling, finished_at = {NOW}, "
            "permanent_failure = excluded.permanent_failure, "
            "finish_reason = excluded.finish_reason, replaced_chars = excluded.replaced_chars "
            "WHERE responses.state = 'failed'",
            (
                instruction_id,
                model,
                principle,
                text,
                state,
                error,
                cost.prompt_tokens,
                cost.completion_tokens,
                cost.cost_usd,
                cost.latency_ms,
                json.dumps(sampling, sort_keys=True),
                int(permanent),
                notes.finish_reason,
                notes.replaced_chars,
            ),
        )
        stored = cursor.rowcount == 1
        count_unit(store, job_id, state, cost, truncated=notes.truncated, stored=stored)
        release_claim(store, claim)
    return stored


@dataclass(frozen=True)
class JudgedRating:
    model: str
    position_shown: int
    rating: int | None
    rationale: str


def save_judgment(
    store: Store,
    job_id: int,
    instruction_id: int,
    judge: str,
    template_sha256: str,
    *,
    order_shown: Sequence[str],
    state: str,
    raw_output: str | None,
    error: str | None,
    ratings: Sequence[JudgedRating],
    repaired: bool,
    cost: UnitCost,
    permanent: bool = False,
    notes: ReplyNotes = PLAIN_REPLY,
    claim: UnitClaim | None = None,
) -> bool:
    """Store one judgment (done, unparsed or failed) with its ratings, count it and release
    its claim. False: a judgment that had not failed was there already, and is kept."""
    with store.transaction():
        row = store.db.execute(
            "INSERT INTO judgments (instruction_id, judge, template_sha256, order_shown, "
            "raw_output, state, error, source, prompt_tokens, completion_tokens, cost_usd, "
            "latency_ms, repaired, permanent_failure, finish_reason, replaced_chars) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, 'generated', ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (instruction_id, judge, template_sha256) DO UPDATE SET "
            "order_shown = excluded.order_shown, raw_output = excluded.raw_output, "
            "state = excluded.state, error = excluded.error, source = excluded.source, "
            "prompt_tokens = excluded.prompt_tokens, "
            "completion_tokens = excluded.completion_tokens, "
            "cost_usd = excluded.cost_usd, latency_ms = excluded.latency_ms, "
            f"repaired = excluded.repaired, finished_at = {NOW}, "
            "permanent_failure = excluded.permanent_failure, "
            "finish_reason = excluded.finish_reason, replaced_chars = excluded.replaced_chars "
            "WHERE judgments.state = 'failed' RETURNING id",
            (
                instruction_id,
                judge,
                template_sha256,
                json.dumps(list(order_shown)),
                raw_output,
                state,
                error,
                cost.prompt_tokens,
                cost.completion_tokens,
                cost.cost_usd,
                cost.latency_ms,
                int(repaired),
                int(permanent),
                notes.finish_reason,
                notes.replaced_chars,
            ),
        ).fetchone()
        if row is not None:  # a new judgment, or one that had failed (failures have no ratings)
            store.db.conn.executemany(
                "INSERT INTO judgment_ratings (judgment_id, model, position_shown, rating, "
                "rationale) VALUES (?, ?, ?, ?, ?)",
                [(row[0], r.model, r.position_shown, r.rating, r.rationale) for r in ratings],
            )
        count_unit(store, job_id, state, cost, stored=row is not None)
        release_claim(store, claim)
    return row is not None


def count_unit(
    store: Store,
    job_id: int,
    state: str,
    cost: UnitCost,
    *,
    truncated: bool = False,
    stored: bool = True,
) -> None:
    """Count a unit in its job: ``state`` done, unparsed or failed; a truncated answer is
    done and also counted as needing attention. A result that was not ``stored`` (another
    batch had stored that unit meanwhile) counts its tokens and cost, which were spent, and
    nothing else."""
    counted = int(stored)
    store.db.execute(
        "UPDATE jobs SET done = done + ?, failed = failed + ?, unparsed = unparsed + ?, "
        "truncated = truncated + ?, prompt_tokens = prompt_tokens + ?, "
        "completion_tokens = completion_tokens + ?, cost_usd = cost_usd + ? WHERE id = ?",
        (
            counted * (state == "done"),
            counted * (state == "failed"),
            counted * (state == "unparsed"),
            counted * truncated,
            cost.prompt_tokens,
            cost.completion_tokens,
            cost.cost_usd,
            job_id,
        ),
    )


# ------------------------------------------------------------------------------------ jobs


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


def job_row(store: Store, job_id: int) -> dict[str, Any] | None:
    rows = _with_gone_workers(store.query(f"{_jobs_with_staleness()} WHERE id = ?", (job_id,)))
    return rows[0] if rows else None


def list_jobs(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    return _with_gone_workers(
        store.query(f"{_jobs_with_staleness()} ORDER BY id DESC LIMIT ?", (limit,))
    )


def _jobs_with_staleness() -> str:
    """Job rows plus `stale`: running, but its worker stopped heartbeating (it died)."""
    return (
        "SELECT *, (state = 'running' AND (heartbeat_at IS NULL OR heartbeat_at < "
        f"{_stale_cutoff()})) AS stale FROM jobs"
    )


def _with_gone_workers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Where the worker of a running job ran on this machine, its process says whether the
    job is live, not its heartbeat: a killed worker's job is stale at once, and a live one's
    never (its heartbeat may age while another program holds the store's lock)."""
    for row in rows:
        if row["state"] == "running":
            state = worker_state(row["host"], row["pid"], row["pid_started"])
            if state != "unknown":
                row["stale"] = int(state == "gone")
    return rows


def lease_job(store: Store, job_id: int, worker: WorkerIdentity, token: str) -> bool:
    """Take the job for this worker, unless a live worker holds it. Atomic."""
    with store.transaction():
        row = job_row(store, job_id)
        if row is None or row["state"] in FINISHED_STATES:
            return False
        if row["state"] == "running" and not row["stale"]:
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
) -> None:
    """Counts describe the latest run of a job (with the units that failed for good in an
    earlier run of it, which this run leaves out); tokens and cost add up over all runs."""
    store.write(
        "UPDATE jobs SET total = ?, done = 0, failed = ?, unparsed = 0, truncated = 0, "
        "retries = 0, rate_limited = 0 WHERE id = ? AND lease_token = ?",
        (total, failed_before, job_id, token),
    )


def set_total(store: Store, job_id: int, token: str, total: int) -> None:
    """A job whose units are known better once it runs: a bench run's grades, once the
    answers are in; units another batch was already doing."""
    store.write(
        "UPDATE jobs SET total = ? WHERE id = ? AND lease_token = ?", (total, job_id, token)
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
        cancel = store.scalar("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,))
    return True, bool(cancel)


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
        store.db.execute("DELETE FROM claims WHERE lease_token = ?", (token,))


def request_cancel(store: Store, job_id: int) -> dict[str, Any] | None:
    """Ask a job to stop. A job no worker runs is cancelled at once."""
    with store.transaction():
        row = job_row(store, job_id)
        if row is None:
            return None
        if row["state"] == "running" and not row["stale"]:
            store.db.execute("UPDATE jobs SET cancel_requested = 1 WHERE id = ?", (job_id,))
        elif row["state"] not in FINISHED_STATES:
            store.db.execute(
                f"UPDATE jobs SET state = 'cancelled', finished_at = {NOW}, in_flight = 0, "
                "pid = NULL WHERE id = ?",
                (job_id,),
            )
    return job_row(store, job_id)


def set_log_path(store: Store, job_id: int, path: str) -> None:
    store.write("UPDATE jobs SET log_path = ? WHERE id = ?", (path, job_id))


# ------------------------------------------------------------------------------ claims
# A unit a batch is about to send is claimed in `claims` (one row per unit, keyed by what
# determines it), so another batch over the same units skips it instead of paying for it
# again. Claims go with the unit's result (same transaction) or with the end of the run;
# a claim whose run is no longer live (its lease moved on, its heartbeat aged) is free.


def claim_key(kind: str, *ids: object) -> str:
    return json.dumps([kind, *ids])


_STORED_SINCE: dict[str, str] = {
    # A result another batch stored: done (or read, unparsed) ever, or any result since this
    # run planned (a failure it just had is not for this run to repeat).
    "response": "SELECT 1 FROM responses WHERE instruction_id = ? AND model = ? AND "
    "(state = 'done' OR finished_at >= ?)",
    "judgment": "SELECT 1 FROM judgments WHERE instruction_id = ? AND judge = ? AND "
    "template_sha256 = ? AND (state != 'failed' OR finished_at >= ?)",
    "bench_answer": "SELECT 1 FROM bench_answers WHERE bench_item_id = ? AND model = ? AND "
    "(state = 'done' OR finished_at >= ?)",
    "grade": "SELECT 1 FROM bench_grades WHERE bench_answer_id = ? AND judge = ? AND "
    "reference_model = ? AND template_sha256 = ? AND (state != 'failed' OR finished_at >= ?)",
}


@dataclass(frozen=True)
class Claimed:
    taken: list[str]  # claimed for this run: send them
    elsewhere: dict[str, int]  # unit -> the job whose live run holds it
    stored: list[str]  # another batch stored them since this run planned


def claim_units(
    store: Store, job_id: int, token: str, units: Sequence[str], planned_at: str
) -> Claimed:
    """Claim ``units`` (claim_key texts) for this run of the job, in one transaction. A
    claim held by a run that is no longer live (its job moved on, its worker is gone) is
    taken over."""
    claimed = Claimed([], {}, [])
    with store.transaction():
        live = {
            (row["id"], row["lease_token"])
            for row in _with_gone_workers(
                store.query(f"{_jobs_with_staleness()} WHERE state = 'running'")
            )
            if not row["stale"]
        }
        for unit in units:
            kind, *ids = json.loads(unit)
            if store.db.execute(_STORED_SINCE[kind], (*ids, planned_at)).fetchone():
                claimed.stored.append(unit)
                continue
            holder = store.db.execute(
                "SELECT job_id, lease_token FROM claims WHERE unit = ?", (unit,)
            ).fetchone()
            if holder is not None and holder[1] != token and tuple(holder) in live:
                claimed.elsewhere[unit] = int(holder[0])
                continue
            store.db.execute(
                "INSERT INTO claims (unit, job_id, lease_token) VALUES (?, ?, ?) "
                "ON CONFLICT (unit) DO UPDATE SET job_id = excluded.job_id, "
                f"lease_token = excluded.lease_token, claimed_at = {NOW}",
                (unit, job_id, token),
            )
            claimed.taken.append(unit)
    return claimed


@dataclass(frozen=True)
class UnitClaim:
    """A unit claimed by one run of a job: released with its result, by that run only."""

    unit: str
    token: str


def release_claim(store: Store, claim: UnitClaim | None) -> None:
    if claim is not None:
        store.db.execute(
            "DELETE FROM claims WHERE unit = ? AND lease_token = ?", (claim.unit, claim.token)
        )


def now_stamp(store: Store) -> str:
    """The store's clock, in the form its timestamps take."""
    return str(store.scalar(f"SELECT {NOW}"))


# ----------------------------------------------------------------------------- servers


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


def job_servers(store: Store, job_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The servers of each job, oldest first; a job that ran none has an empty list."""
    found: dict[int, list[dict[str, Any]]] = {job_id: [] for job_id in job_ids}
    if not job_ids:
        return found
    marks = ",".join("?" * len(job_ids))
    for row in store.query(
        f"SELECT * FROM servers WHERE job_id IN ({marks}) ORDER BY id", tuple(job_ids)
    ):
        found[row["job_id"]].append(row)
    return found


def list_jobs_with_servers(store: Store, limit: int = 50) -> list[dict[str, Any]]:
    """The latest jobs, each with a `servers` list (what it ran itself, oldest first)."""
    rows = list_jobs(store, limit)
    servers = job_servers(store, [row["id"] for row in rows])
    for row in rows:
        row["servers"] = servers[row["id"]]
    return rows


def live_servers(store: Store, job_id: int) -> list[dict[str, Any]]:
    """Servers of the job that no one recorded as stopped (their worker may have died)."""
    return store.query(
        "SELECT * FROM servers WHERE job_id = ? AND state IN ('starting', 'ready') ORDER BY id",
        (job_id,),
    )
