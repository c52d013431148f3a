"""The `bench_grades` table: a judge's 1-10 grade of a bench answer against a reference
answer, once per (answer, judge, reference, template) (written here only), and the grades a
leaderboard is computed from."""

from __future__ import annotations

from dataclasses import dataclass

from cuf_tui.store.attempts import Attempt, upsert_attempt
from cuf_tui.store.bench import answer_protocol
from cuf_tui.store.claims import UnitClaim, release_claim
from cuf_tui.store.db import Store
from cuf_tui.store.jobs import count_unit


def grade_states(
    store: Store, judge: str, reference_model: str
) -> dict[tuple[int, str], tuple[str, bool]]:
    """(answer id, template) -> (state, permanent failure) of this judge's grades."""
    return {
        (row[0], row[1]): (row[2], bool(row[3]))
        for row in store.db.execute(
            "SELECT bench_answer_id, template_sha256, state, permanent_failure FROM bench_grades "
            "WHERE judge = ? AND reference_model = ?",
            (judge, reference_model),
        )
    }


def save_bench_grade(
    store: Store,
    job_id: int,
    answer_id: int,
    judge: str,
    reference_model: str,
    template: str,
    attempt: Attempt,
    *,
    rating: int | None,
    rationale: str | None,
    raw_output: str | None,
    repaired: bool,
    claim: UnitClaim | None = None,
    grading: str | None = None,
) -> bool:
    """Store one grade (done, unparsed or failed), count it and release its claim; a failed
    one may be replaced by a later run, a done or unparsed one never (False: it was kept)."""
    with store.transaction():
        stored = (
            upsert_attempt(
                store,
                "bench_grades",
                {
                    "bench_answer_id": answer_id,
                    "judge": judge,
                    "reference_model": reference_model,
                    "template_sha256": template,
                },
                {
                    "rating": rating,
                    "rationale": rationale,
                    "raw_output": raw_output,
                    "repaired": int(repaired),
                    "grading": grading,
                },
                attempt,
            )
            is not None
        )
        count_unit(store, job_id, attempt, stored=stored)
        release_claim(store, claim)
    return stored


@dataclass(frozen=True)
class GradeRow:
    """One grade as a leaderboard sees it."""

    model: str
    protocol: str  # how the answer was made (see bench_answers.protocol)
    grading: str  # the grading recipe's hash, 'imported', or 'unrecorded' (older grades)
    judge: str
    reference_model: str
    item_id: int
    preference: str
    rating: int | None  # None: unparsed
    state: str  # done or unparsed


ANSWER_PROTOCOL = answer_protocol("a")
# A grade made before grading recipes were recorded, or imported.
GRADING = (
    "coalesce(g.grading, CASE WHEN g.template_sha256 = 'imported' THEN 'imported' "
    "ELSE 'unrecorded' END)"
)


def grade_rows(
    store: Store, judge: str | None = None, reference_model: str | None = None
) -> list[GradeRow]:
    """Every done or unparsed grade (failed ones are work still to do, not results), oldest
    first."""
    return [
        GradeRow(*row)
        for row in store.db.execute(
            f"SELECT a.model, {ANSWER_PROTOCOL}, {GRADING}, g.judge, g.reference_model, b.id, "
            "b.preference, g.rating, g.state FROM bench_grades g "
            "JOIN bench_answers a ON a.id = g.bench_answer_id "
            "JOIN bench_items b ON b.id = a.bench_item_id "
            "WHERE g.state IN ('done', 'unparsed') AND (? IS NULL OR g.judge = ?) "
            "AND (? IS NULL OR g.reference_model = ?) ORDER BY a.model, b.id, g.id",
            (judge, judge, reference_model, reference_model),
        )
    ]


def graded_by(store: Store) -> tuple[list[str], list[str]]:
    """The judges and the reference models of the stored grades."""
    judges = [r[0] for r in store.db.execute("SELECT DISTINCT judge FROM bench_grades ORDER BY 1")]
    references = [
        r[0]
        for r in store.db.execute("SELECT DISTINCT reference_model FROM bench_grades ORDER BY 1")
    ]
    return judges, references


def gradable_items(store: Store) -> dict[str, dict[str, set[int]]]:
    """Per reference model, the bench items of each preference that have its reference
    answer (what a complete run is graded on)."""
    items: dict[str, dict[str, set[int]]] = {}
    for model, preference, item_id in store.db.execute(
        "SELECT r.model, b.preference, b.id FROM bench_references r "
        "JOIN bench_items b ON b.id = r.bench_item_id"
    ):
        items.setdefault(model, {}).setdefault(preference, set()).add(item_id)
    return items
