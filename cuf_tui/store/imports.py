"""Imports into the store: instructions with the responses and judgments they carry, and
CODAL-Bench items with their references, each through its table's own writer, and the
`imports` table that records what each import brought. Existing rows are kept."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cuf_tui.core.records import BenchItem, Instruction
from cuf_tui.store.bench import add_bench_item
from cuf_tui.store.db import Store
from cuf_tui.store.instructions import add_instruction
from cuf_tui.store.judgments import JudgedRating, add_imported_judgment
from cuf_tui.store.responses import add_imported_response


@dataclass
class WriteCounts:
    added: int = 0
    already_present: int = 0
    responses_added: int = 0
    judgments_added: int = 0
    references_added: int = 0


def write_instructions(
    store: Store, records: Iterable[Instruction], source: str, judge: str
) -> WriteCounts:
    """Store instructions (and any responses and annotations they carry) inside the caller's
    transaction. ``judge`` names the judge of annotations whose row does not name one."""
    counts = WriteCounts()
    for record in records:
        instruction_id, added = add_instruction(store, record, source)
        if added:
            counts.added += 1
        else:
            counts.already_present += 1
        for response in record.responses:
            counts.responses_added += add_imported_response(
                store, instruction_id, response.model, response.text, source
            )
        if record.annotations or record.judge_output is not None:
            ratings = [
                JudgedRating(a.model, position, a.rating, a.rationale)
                for position, a in enumerate(record.annotations, start=1)
            ]
            counts.judgments_added += add_imported_judgment(
                store,
                instruction_id,
                record.judge or judge,
                [a.model for a in record.annotations],
                record.judge_output,
                ratings,
                source,
            )
    return counts


def write_bench_items(store: Store, records: Iterable[BenchItem], source: str) -> WriteCounts:
    """Store CODAL-Bench items and their reference answers inside the caller's transaction."""
    counts = WriteCounts()
    for record in records:
        _, added, references = add_bench_item(store, record, source)
        if added:
            counts.added += 1
        else:
            counts.already_present += 1
        counts.references_added += references
    return counts


def record_import(
    store: Store, source: str, layout: str, rows_read: int, counts: WriteCounts
) -> None:
    store.db.execute(
        "INSERT INTO imports (source, layout, rows_read, added, already_present) "
        "VALUES (?, ?, ?, ?, ?)",
        (source, layout, rows_read, counts.added, counts.already_present),
    )
