"""Writing imported records into the store: instructions with their responses and judgments,
and CODAL-Bench items with their references. Existing rows are kept, never duplicated."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from cuf_tui.core.records import BenchItem, Instruction
from cuf_tui.store.db import Store

IMPORTED_TEMPLATE = "imported"


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
    execute = store.db.execute
    for record in records:
        models = json.dumps(list(record.models))
        row = execute(
            "INSERT INTO instructions (text, preference, text_sha256, source, models) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (record.text, record.preference, record.key, source, models),
        ).fetchone()
        if row is not None:
            instruction_id = row[0]
            counts.added += 1
        else:
            counts.already_present += 1
            instruction_id = execute(
                "SELECT id FROM instructions WHERE text_sha256 = ? AND preference = ?",
                (record.key, record.preference),
            ).fetchone()[0]
            if record.models:
                # An instruction imported bare earlier takes the models a richer source assigns.
                execute(
                    "UPDATE instructions SET models = ? WHERE id = ? AND models = '[]'",
                    (models, instruction_id),
                )
        for response in record.responses:
            cursor = execute(
                "INSERT INTO responses (instruction_id, model, text, state, source) "
                "VALUES (?, ?, ?, 'done', ?) ON CONFLICT DO NOTHING",
                (instruction_id, response.model, response.text, source),
            )
            counts.responses_added += cursor.rowcount
        if record.annotations or record.judge_output is not None:
            counts.judgments_added += _write_judgment(
                store, instruction_id, record, record.judge or judge, source
            )
    return counts


def _write_judgment(
    store: Store, instruction_id: int, record: Instruction, judge: str, source: str
) -> int:
    rated = any(a.rating is not None for a in record.annotations)
    row = store.db.execute(
        "INSERT INTO judgments (instruction_id, judge, template_sha256, order_shown, raw_output,"
        " state, source) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
        (
            instruction_id,
            judge,
            IMPORTED_TEMPLATE,
            json.dumps([a.model for a in record.annotations]),
            record.judge_output,
            "done" if rated else "unparsed",
            source,
        ),
    ).fetchone()
    if row is None:
        return 0
    store.db.conn.executemany(
        "INSERT INTO judgment_ratings (judgment_id, model, position_shown, rating, rationale) "
        "VALUES (?, ?, ?, ?, ?)",
        [
            (row[0], a.model, position, a.rating, a.rationale)
            for position, a in enumerate(record.annotations, start=1)
        ],
    )
    return 1


def write_bench_items(store: Store, records: Iterable[BenchItem], source: str) -> WriteCounts:
    """Store CODAL-Bench items and their reference answers inside the caller's transaction."""
    counts = WriteCounts()
    execute = store.db.execute
    for record in records:
        row = execute(
            "INSERT INTO bench_items (text, preference, text_sha256, source) "
            "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id",
            (record.text, record.preference, record.key, source),
        ).fetchone()
        if row is not None:
            item_id = row[0]
            counts.added += 1
        else:
            counts.already_present += 1
            item_id = execute(
                "SELECT id FROM bench_items WHERE text_sha256 = ? AND preference = ?",
                (record.key, record.preference),
            ).fetchone()[0]
        for reference in record.references:
            cursor = execute(
                "INSERT INTO bench_references (bench_item_id, model, text) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (item_id, reference.model, reference.text),
            )
            counts.references_added += cursor.rowcount
    return counts


def record_import(
    store: Store, source: str, layout: str, rows_read: int, counts: WriteCounts
) -> None:
    store.db.execute(
        "INSERT INTO imports (source, layout, rows_read, added, already_present) "
        "VALUES (?, ?, ?, ?, ?)",
        (source, layout, rows_read, counts.added, counts.already_present),
    )
