"""CODAL-Bench in the store: what a bench run must still do, its writes, and the grades a
leaderboard is computed from."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cuf_tui.store.db import Store
from cuf_tui.store.work import (
    NOW,
    PLAIN_REPLY,
    ReplyNotes,
    UnitClaim,
    UnitCost,
    count_unit,
    release_claim,
)


@dataclass(frozen=True)
class BenchItemRow:
    id: int
    key: str  # text_sha256
    text: str
    preference: str


def bench_items(store: Store) -> list[BenchItemRow]:
    return [
        BenchItemRow(*row)
        for row in store.db.execute(
            "SELECT id, text_sha256, text, preference FROM bench_items ORDER BY id"
        )
    ]


def reference_models(store: Store) -> dict[str, int]:
    """Reference answer models of the imported bench, with how many items each covers."""
    return {
        row[0]: row[1]
        for row in store.db.execute(
            "SELECT model, count(*) FROM bench_references GROUP BY model ORDER BY model"
        )
    }


def answered_models(store: Store) -> list[str]:
    """Models with answers to the bench, whether generated or imported."""
    return [
        row[0] for row in store.db.execute("SELECT DISTINCT model FROM bench_answers ORDER BY 1")
    ]


def references(store: Store, model: str) -> dict[int, str]:
    return {
        row[0]: row[1]
        for row in store.db.execute(
            "SELECT bench_item_id, text FROM bench_references WHERE model = ?", (model,)
        )
    }


def answer_states(store: Store, model: str) -> dict[int, tuple[str, bool, int, str | None]]:
    """item id -> (state, permanent failure, answer id, text) of ``model``'s answers."""
    return {
        row[0]: (row[1], bool(row[2]), row[3], row[4])
        for row in store.db.execute(
            "SELECT bench_item_id, state, permanent_failure, id, text FROM bench_answers "
            "WHERE model = ?",
            (model,),
        )
    }


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


def save_bench_answer(
    store: Store,
    job_id: int,
    item_id: int,
    model: str,
    *,
    principle: str | None,
    sampling: dict[str, Any] | None,
    text: str | None,
    error: str | None,
    cost: UnitCost,
    source: str = "generated",
    permanent: bool = False,
    notes: ReplyNotes = PLAIN_REPLY,
    claim: UnitClaim | None = None,
) -> int:
    """Store one answer of a model under test (or its failure); returns its id. A done
    answer is never replaced."""
    state = "done" if error is None else "failed"
    with store.transaction():
        cursor = store.db.execute(
            "INSERT INTO bench_answers (bench_item_id, model, principle, text, state, error, "
            "source, prompt_tokens, completion_tokens, cost_usd, latency_ms, sampling, "
            "permanent_failure, finish_reason, replaced_chars) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (bench_item_id, model) DO UPDATE SET principle = excluded.principle, "
            "text = excluded.text, state = excluded.state, error = excluded.error, "
            "source = excluded.source, prompt_tokens = excluded.prompt_tokens, "
            "completion_tokens = excluded.completion_tokens, cost_usd = excluded.cost_usd, "
            f"latency_ms = excluded.latency_ms, sampling = excluded.sampling, finished_at = {NOW}, "
            "permanent_failure = excluded.permanent_failure, "
            "finish_reason = excluded.finish_reason, replaced_chars = excluded.replaced_chars "
            "WHERE bench_answers.state = 'failed'",
            (
                item_id,
                model,
                principle,
                text,
                state,
                error,
                source,
                cost.prompt_tokens,
                cost.completion_tokens,
                cost.cost_usd,
                cost.latency_ms,
                json.dumps(sampling, sort_keys=True) if sampling is not None else None,
                int(permanent),
                notes.finish_reason,
                notes.replaced_chars,
            ),
        )
        if job_id:
            stored = cursor.rowcount == 1
            count_unit(store, job_id, state, cost, truncated=notes.truncated, stored=stored)
        release_claim(store, claim)
        answer_id = store.scalar(
            "SELECT id FROM bench_answers WHERE bench_item_id = ? AND model = ?", (item_id, model)
        )
    return int(answer_id)


def save_imported_bench_answer(
    store: Store, item_id: int, model: str, text: str, source: str
) -> int:
    """An answer made elsewhere, attached to a bench item; a done answer is kept."""
    return save_bench_answer(
        store,
        0,
        item_id,
        model,
        principle=None,
        sampling=None,
        text=text,
        error=None,
        cost=UnitCost(),
        source=source,
    )


def save_bench_grade(
    store: Store,
    job_id: int,
    answer_id: int,
    judge: str,
    reference_model: str,
    template: str,
    *,
    state: str,
    rating: int | None,
    rationale: str | None,
    raw_output: str | None,
    error: str | None,
    repaired: bool,
    cost: UnitCost,
    permanent: bool = False,
    notes: ReplyNotes = PLAIN_REPLY,
    claim: UnitClaim | None = None,
) -> bool:
    """Store one grade, once per (answer, judge, reference, template); a failed one may be
    replaced by a later run, a done or unparsed one never (False: it was kept)."""
    with store.transaction():
        cursor = store.db.execute(
            "INSERT INTO bench_grades (bench_answer_id, judge, reference_model, template_sha256, "
            "rating, rationale, raw_output, state, error, prompt_tokens, completion_tokens, "
            "cost_usd, latency_ms, repaired, permanent_failure, finish_reason, replaced_chars) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (bench_answer_id, judge, reference_model, template_sha256) DO UPDATE SET "
            "rating = excluded.rating, rationale = excluded.rationale, "
            "raw_output = excluded.raw_output, state = excluded.state, error = excluded.error, "
            "prompt_tokens = excluded.prompt_tokens, "
            "completion_tokens = excluded.completion_tokens, "
            "cost_usd = excluded.cost_usd, latency_ms = excluded.latency_ms, "
            "repaired = excluded.repaired, permanent_failure = excluded.permanent_failure, "
            "finish_reason = excluded.finish_reason, replaced_chars = excluded.replaced_chars, "
            f"finished_at = {NOW} WHERE bench_grades.state = 'failed'",
            (
                answer_id,
                judge,
                reference_model,
                template,
                rating,
                rationale,
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
        )
        stored = cursor.rowcount == 1
        if job_id:
            count_unit(store, job_id, state, cost, stored=stored)
        release_claim(store, claim)
    return stored


@dataclass(frozen=True)
class GradeRow:
    """One grade as a leaderboard sees it."""

    model: str
    judge: str
    reference_model: str
    item_id: int
    preference: str
    rating: int | None  # None: unparsed
    state: str  # done or unparsed


def grade_rows(
    store: Store, judge: str | None = None, reference_model: str | None = None
) -> list[GradeRow]:
    """Every done or unparsed grade (failed ones are work still to do, not results)."""
    return [
        GradeRow(*row)
        for row in store.db.execute(
            "SELECT a.model, g.judge, g.reference_model, b.id, b.preference, g.rating, g.state "
            "FROM bench_grades g JOIN bench_answers a ON a.id = g.bench_answer_id "
            "JOIN bench_items b ON b.id = a.bench_item_id "
            "WHERE g.state IN ('done', 'unparsed') AND (? IS NULL OR g.judge = ?) "
            "AND (? IS NULL OR g.reference_model = ?) ORDER BY a.model, b.id",
            (judge, judge, reference_model, reference_model),
        )
    ]
