"""CODAL-Bench in the store: `bench_items` and their `bench_references` (written at import),
and `bench_answers`, a tested model's answer to each item, generated or imported (written
here only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cuf_tui.core.records import BenchItem
from cuf_tui.store.attempts import Attempt, upsert_attempt
from cuf_tui.store.claims import UnitClaim, release_claim
from cuf_tui.store.db import Store
from cuf_tui.store.jobs import count_unit


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


def generated_answers(store: Store, model: str) -> int:
    """How many of ``model``'s bench answers were made by a bench run here."""
    return int(
        store.scalar(
            "SELECT count(*) FROM bench_answers WHERE model = ? AND source = 'generated'",
            (model,),
        )
    )


def answer_protocol(alias: str = "a") -> str:
    """SQL for an answer's protocol: the one recorded, else 'unrecorded' (made before
    protocols were recorded) or 'imported'."""
    return (
        f"coalesce({alias}.protocol, CASE WHEN {alias}.source = 'generated' THEN 'unrecorded' "
        "ELSE 'imported' END)"
    )


def answer_protocols(store: Store, model: str) -> dict[str, int]:
    """How many of ``model``'s done answers were made under each protocol."""
    return {
        row[0]: row[1]
        for row in store.db.execute(
            f"SELECT {answer_protocol()}, count(*) FROM bench_answers a "
            "WHERE a.model = ? AND a.state = 'done' GROUP BY 1",
            (model,),
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


def save_bench_answer(
    store: Store,
    job_id: int,
    item_id: int,
    model: str,
    attempt: Attempt,
    *,
    principle: str | None,
    sampling: dict[str, Any] | None,
    text: str | None,
    source: str = "generated",
    protocol: str | None = None,
    claim: UnitClaim | None = None,
) -> int:
    """Store one answer of a model under test (or its failure), count it in its job (if
    any) and release its claim; returns the answer's id. A done answer is never replaced."""
    with store.transaction():
        answer_id = upsert_attempt(
            store,
            "bench_answers",
            {"bench_item_id": item_id, "model": model},
            {
                "principle": principle,
                "text": text,
                "source": source,
                "sampling": json.dumps(sampling, sort_keys=True) if sampling is not None else None,
                "protocol": protocol,
            },
            attempt,
        )
        count_unit(store, job_id, attempt, stored=answer_id is not None)
        release_claim(store, claim)
        if answer_id is None:
            answer_id = int(
                store.scalar(
                    "SELECT id FROM bench_answers WHERE bench_item_id = ? AND model = ?",
                    (item_id, model),
                )
            )
    return answer_id


def save_imported_bench_answer(
    store: Store, item_id: int, model: str, text: str, source: str
) -> int:
    """An answer made elsewhere, attached to a bench item; a done answer is kept."""
    return save_bench_answer(
        store,
        0,
        item_id,
        model,
        Attempt("done"),
        principle=None,
        sampling=None,
        text=text,
        source=source,
    )


def add_bench_item(store: Store, record: BenchItem, source: str) -> tuple[int, bool, int]:
    """The id of ``record``'s item (added unless an equal one is there), whether it was
    added, and how many of its reference answers were new; inside the caller's
    transaction."""
    item_id, added = store.insert_or_find(
        "bench_items",
        {"text_sha256": record.key, "preference": record.preference},
        {"text": record.text, "source": source},
    )
    references = 0
    for reference in record.references:
        cursor = store.db.execute(
            "INSERT INTO bench_references (bench_item_id, model, text) VALUES (?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (item_id, reference.model, reference.text),
        )
        references += cursor.rowcount
    return item_id, added, references
