"""The `claims` table: a unit a batch is about to send is claimed (one row per unit, keyed by
what determines it), so another batch over the same units leaves it alone instead of paying
for it again. A claim goes with the unit's result (in the same transaction) or with the end
of its run; a claim whose run is no longer live (its job moved on, its worker is gone) is
free."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from cuf_tui.store.db import NOW, Store
from cuf_tui.store.jobs import running_jobs


def claim_key(kind: str, *ids: object) -> str:
    return json.dumps([kind, *ids])


_STORED_SINCE: dict[str, str] = {
    # A result another batch stored: done (or read, unparsed) ever, or any result since this
    # run planned (a failure it just had is not for this run to repeat).
    "response": "SELECT 1 FROM responses WHERE instruction_id = ? AND model = ? AND "
    "(state = 'done' OR finished_at >= ?)",
    "judgment": "SELECT 1 FROM judgments WHERE instruction_id = ? AND judge = ? AND "
    "template_sha256 = ? AND (state != 'failed' OR finished_at >= ?)",
    "probe": "SELECT 1 FROM probe_judgments WHERE instruction_id = ? AND judge = ? AND "
    "template_sha256 = ? AND probe = 'position' AND rotation = ? AND (state != 'failed' OR "
    "finished_at >= ?)",
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
        live = {(row.id, row.lease_token) for row in running_jobs(store) if not row.stale}
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


def release_run(store: Store, token: str) -> None:
    """The claims a run still holds at its end (units it did not get to)."""
    store.write("DELETE FROM claims WHERE lease_token = ?", (token,))
