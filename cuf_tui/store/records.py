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
        instruction_id, added = _insert_or_find(
            store, "instructions", record, source, {"models": models}
        )
        if added:
            counts.added += 1
        else:
            counts.already_present += 1
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
        item_id, added = _insert_or_find(store, "bench_items", record, source, {})
        if added:
            counts.added += 1
        else:
            counts.already_present += 1
        for reference in record.references:
            cursor = execute(
                "INSERT INTO bench_references (bench_item_id, model, text) VALUES (?, ?, ?) "
                "ON CONFLICT DO NOTHING",
                (item_id, reference.model, reference.text),
            )
            counts.references_added += cursor.rowcount
    return counts


def _insert_or_find(
    store: Store,
    table: str,
    record: Instruction | BenchItem,
    source: str,
    extra: dict[str, str],
) -> tuple[int, bool]:
    """The id of the row for ``record`` in ``table`` (keyed by text and preference), and
    whether this call added it."""
    columns = {
        "text": record.text,
        "preference": record.preference,
        "text_sha256": record.key,
        "source": source,
        **extra,
    }
    row = store.db.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))}) "
        "ON CONFLICT DO NOTHING RETURNING id",
        tuple(columns.values()),
    ).fetchone()
    if row is not None:
        return int(row[0]), True
    found = store.db.execute(
        f"SELECT id FROM {table} WHERE text_sha256 = ? AND preference = ?",
        (record.key, record.preference),
    ).fetchone()
    return int(found[0]), False


def record_import(
    store: Store, source: str, layout: str, rows_read: int, counts: WriteCounts
) -> None:
    store.db.execute(
        "INSERT INTO imports (source, layout, rows_read, added, already_present) "
        "VALUES (?, ?, ?, ?, ?)",
        (source, layout, rows_read, counts.added, counts.already_present),
    )
