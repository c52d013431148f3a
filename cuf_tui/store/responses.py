"""The `responses` table: one row per (instruction, model), the text or the failure, with
the attempt's tokens, cost and what the engine said (written here only)."""

from __future__ import annotations

import json
from typing import Any

from cuf_tui.store.attempts import Attempt, upsert_attempt
from cuf_tui.store.claims import UnitClaim, release_claim
from cuf_tui.store.db import Store
from cuf_tui.store.jobs import count_unit


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


def save_response(
    store: Store,
    job_id: int,
    instruction_id: int,
    model: str,
    attempt: Attempt,
    *,
    principle: str | None,
    sampling: dict[str, Any],
    text: str | None,
    claim: UnitClaim | None = None,
    prompt_sha256: str | None = None,
) -> bool:
    """Store one generated response (or its failure), count it in its job and release its
    claim, in one transaction. False: a done response was there already, and is kept."""
    with store.transaction():
        stored = (
            upsert_attempt(
                store,
                "responses",
                {"instruction_id": instruction_id, "model": model},
                {
                    "principle": principle,
                    "text": text,
                    "source": "generated",
                    "sampling": json.dumps(sampling, sort_keys=True),
                    "prompt_sha256": prompt_sha256,
                },
                attempt,
            )
            is not None
        )
        count_unit(store, job_id, attempt, stored=stored)
        release_claim(store, claim)
    return stored


def add_imported_response(
    store: Store, instruction_id: int, model: str, text: str, source: str
) -> bool:
    """A response made elsewhere; an existing one is kept. Inside the caller's transaction."""
    cursor = store.db.execute(
        "INSERT INTO responses (instruction_id, model, text, state, source) "
        "VALUES (?, ?, ?, 'done', ?) ON CONFLICT DO NOTHING",
        (instruction_id, model, text, source),
    )
    return cursor.rowcount == 1
