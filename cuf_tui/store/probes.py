"""Probe judgments (the `probe_judgments` and `probe_ratings` tables): instructions judged
again with their responses shown in another order, to measure a judge's position bias. They
are kept apart from the dataset's judgments, so no export, filter or review ever reads them."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from cuf_tui.store.attempts import Attempt, upsert_attempt
from cuf_tui.store.claims import UnitClaim, release_claim
from cuf_tui.store.db import Store
from cuf_tui.store.jobs import count_unit
from cuf_tui.store.judgments import PERMANENT_FAILURE, JudgedRating
from cuf_tui.store.stored import stored_names


@dataclass(frozen=True)
class JudgedOrder:
    """A readable judgment of one instruction: the order the judge saw, and its template."""

    instruction_id: int
    template_sha256: str
    order_shown: list[str]


def judged_orders(store: Store, judge: str) -> list[JudgedOrder]:
    """Every instruction ``judge`` has a readable judgment of (its latest), with the order it
    saw the responses in; judgments whose stored order cannot be read are left out."""
    latest: dict[int, JudgedOrder] = {}
    for instruction_id, template, order in store.db.execute(
        "SELECT instruction_id, template_sha256, order_shown FROM judgments "
        "WHERE judge = ? AND state = 'done' ORDER BY finished_at, id",
        (judge,),
    ):
        names = stored_names(order)
        if names and len(names) > 1:
            latest[instruction_id] = JudgedOrder(instruction_id, template, names)
    return [latest[i] for i in sorted(latest)]


def probe_states(store: Store, judge: str) -> dict[tuple[int, str, int], str]:
    """(instruction id, template, rotation) -> 'done', 'unparsed' or 'permanent failure', for
    the probe judgments of this judge that a new run should not simply request again."""
    return {
        (row[0], row[1], row[2]): row[3]
        for row in store.db.execute(
            "SELECT instruction_id, template_sha256, rotation, CASE WHEN state = 'failed' "
            f"THEN '{PERMANENT_FAILURE}' ELSE state END FROM probe_judgments WHERE judge = ? "
            "AND probe = 'position' AND (state IN ('done', 'unparsed') "
            "OR (state = 'failed' AND permanent_failure))",
            (judge,),
        )
    }


def save_probe_judgment(
    store: Store,
    job_id: int,
    instruction_id: int,
    judge: str,
    template_sha256: str,
    rotation: int,
    attempt: Attempt,
    *,
    order_shown: Sequence[str],
    raw_output: str | None,
    ratings: Sequence[JudgedRating],
    repaired: bool,
    claim: UnitClaim | None = None,
) -> bool:
    """Store one probe judgment with its ratings, count it and release its claim (as
    judgments.save_judgment does for the dataset's)."""
    with store.transaction():
        probe_id = upsert_attempt(
            store,
            "probe_judgments",
            {
                "instruction_id": instruction_id,
                "judge": judge,
                "template_sha256": template_sha256,
                "probe": "position",
                "rotation": rotation,
            },
            {
                "order_shown": json.dumps(list(order_shown)),
                "raw_output": raw_output,
                "repaired": int(repaired),
            },
            attempt,
        )
        if probe_id is not None:
            store.db.conn.executemany(
                "INSERT INTO probe_ratings (probe_judgment_id, model, position_shown, rating, "
                "rationale) VALUES (?, ?, ?, ?, ?)",
                [(probe_id, r.model, r.position_shown, r.rating, r.rationale) for r in ratings],
            )
        count_unit(store, job_id, attempt, stored=probe_id is not None)
        release_claim(store, claim)
    return probe_id is not None


@dataclass(frozen=True)
class PlacedRating:
    """One rating of a response, and where it was shown: in the dataset's judgment
    (rotation 0) or in a probe judgment of the same instruction, template and judge."""

    instruction_id: int
    preference: str
    model: str
    rotation: int
    position: int
    rating: int


def placed_ratings(store: Store, judge: str) -> list[PlacedRating]:
    """Every rating of the instructions ``judge`` was probed on: its original judgment's
    (rotation 0) and each readable probe judgment's, with the position shown."""
    rows = store.db.execute(
        "SELECT p.instruction_id, i.preference, pr.model, p.rotation, pr.position_shown, "
        "pr.rating FROM probe_judgments p JOIN probe_ratings pr ON pr.probe_judgment_id = p.id "
        "JOIN instructions i ON i.id = p.instruction_id "
        "WHERE p.judge = :judge AND p.probe = 'position' AND p.state = 'done' "
        "AND pr.rating IS NOT NULL "
        "UNION ALL "
        "SELECT j.instruction_id, i.preference, jr.model, 0, jr.position_shown, jr.rating "
        "FROM judgments j JOIN judgment_ratings jr ON jr.judgment_id = j.id "
        "JOIN instructions i ON i.id = j.instruction_id "
        "WHERE j.judge = :judge AND j.state = 'done' AND jr.rating IS NOT NULL "
        "AND jr.position_shown IS NOT NULL AND EXISTS (SELECT 1 FROM probe_judgments p "
        "WHERE p.instruction_id = j.instruction_id AND p.judge = j.judge "
        "AND p.template_sha256 = j.template_sha256 AND p.state = 'done') "
        "ORDER BY 1, 4, 3",
        {"judge": judge},
    )
    return [PlacedRating(*row) for row in rows]
