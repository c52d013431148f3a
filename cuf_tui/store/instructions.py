"""The `instructions` table: instructions in queue order, and the models assigned to answer
each (written here only, by a batch's plan or by an import that brings them)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from cuf_tui.core.records import Instruction
from cuf_tui.store.db import Store


@dataclass(frozen=True)
class InstructionToAnswer:
    id: int
    key: str
    text: str
    preference: str
    models: list[str]


def instructions_in_order(store: Store) -> list[InstructionToAnswer]:
    return [
        InstructionToAnswer(row[0], row[1], row[2], row[3], json.loads(row[4]))
        for row in store.db.execute(
            "SELECT id, text_sha256, text, preference, models FROM instructions ORDER BY id"
        )
    ]


def assign_models(store: Store, assignments: dict[int, list[str]]) -> None:
    """Give instructions that have none the models chosen for them (in one transaction);
    an instruction that has models keeps them."""
    with store.transaction():
        store.db.conn.executemany(
            "UPDATE instructions SET models = ? WHERE id = ? AND models = '[]'",
            [
                (json.dumps(models), instruction_id)
                for instruction_id, models in assignments.items()
                if models
            ],
        )


def add_instruction(store: Store, record: Instruction, source: str) -> tuple[int, bool]:
    """The id of ``record``'s row (added now, with the models it names, unless an equal
    instruction is there) and whether it was added; inside the caller's transaction."""
    instruction_id, added = store.insert_or_find(
        "instructions",
        {"text_sha256": record.key, "preference": record.preference},
        {"text": record.text, "source": source, "models": json.dumps(list(record.models))},
    )
    if not added and record.models:
        # An instruction imported bare earlier takes the models a richer source assigns.
        assign_models(store, {instruction_id: list(record.models)})
    return instruction_id, added
