"""The `judgments` and `judgment_ratings` tables: one judgment per (instruction, judge,
template), the order the responses were shown, the judge's raw answer, and a rating and
rationale per response (written here only)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from cuf_tui.store.attempts import Attempt, upsert_attempt
from cuf_tui.store.claims import UnitClaim, release_claim
from cuf_tui.store.db import Store
from cuf_tui.store.jobs import count_unit

PERMANENT_FAILURE = "permanent failure"
IMPORTED_TEMPLATE = "imported"


@dataclass(frozen=True)
class JudgedRating:
    model: str
    position_shown: int
    rating: int | None
    rationale: str


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


def save_judgment(
    store: Store,
    job_id: int,
    instruction_id: int,
    judge: str,
    template_sha256: str,
    attempt: Attempt,
    *,
    order_shown: Sequence[str],
    raw_output: str | None,
    ratings: Sequence[JudgedRating],
    repaired: bool,
    claim: UnitClaim | None = None,
) -> bool:
    """Store one judgment (done, unparsed or failed) with its ratings, count it and release
    its claim. False: a judgment that had not failed was there already, and is kept."""
    with store.transaction():
        judgment_id = upsert_attempt(
            store,
            "judgments",
            {"instruction_id": instruction_id, "judge": judge, "template_sha256": template_sha256},
            {
                "order_shown": json.dumps(list(order_shown)),
                "raw_output": raw_output,
                "source": "generated",
                "repaired": int(repaired),
            },
            attempt,
        )
        if judgment_id is not None:  # new, or replacing a failure (failures have no ratings)
            _add_ratings(store, judgment_id, ratings)
        count_unit(store, job_id, attempt, stored=judgment_id is not None)
        release_claim(store, claim)
    return judgment_id is not None


def add_imported_judgment(
    store: Store,
    instruction_id: int,
    judge: str,
    order_shown: Sequence[str],
    raw_output: str | None,
    ratings: Sequence[JudgedRating],
    source: str,
) -> bool:
    """A judgment made elsewhere (an imported dataset's annotations); an existing one is
    kept. Inside the caller's transaction."""
    rated = any(r.rating is not None for r in ratings)
    row = store.db.execute(
        "INSERT INTO judgments (instruction_id, judge, template_sha256, order_shown, raw_output,"
        " state, source) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (
            instruction_id,
            judge,
            IMPORTED_TEMPLATE,
            json.dumps(list(order_shown)),
            raw_output,
            "done" if rated else "unparsed",
            source,
        ),
    ).fetchone()
    if row is None:
        return False
    _add_ratings(store, int(row[0]), ratings)
    return True


def _add_ratings(store: Store, judgment_id: int, ratings: Sequence[JudgedRating]) -> None:
    store.db.conn.executemany(
        "INSERT INTO judgment_ratings (judgment_id, model, position_shown, rating, rationale) "
        "VALUES (?, ?, ?, ?, ?)",
        [(judgment_id, r.model, r.position_shown, r.rating, r.rationale) for r in ratings],
    )
