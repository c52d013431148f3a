"""`cuf-tui import`: read a source, check every row, then store them all in one transaction."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from cuf_tui.core.layouts import (
    FieldError,
    Layout,
    LayoutError,
    check_columns,
    detect_layout,
    read_codal,
    read_cuf,
    read_instruction,
    reference_columns,
)
from cuf_tui.core.preferences import Preference
from cuf_tui.core.records import Instruction
from cuf_tui.interchange.sources import LoadedSource, Row, SourceError, load_source
from cuf_tui.store.db import Store
from cuf_tui.store.records import WriteCounts, record_import, write_bench_items, write_instructions

ImportFormat = Literal["auto", "cuf", "codal", "instructions"]
ANSWER_COLUMNS = ("response", "answer", "output")
DEFAULT_IMPORT_JUDGE = "imported"

T = TypeVar("T")


@dataclass(frozen=True)
class ImportReport:
    source: str
    layout: Layout
    detected: bool  # the layout was picked from the columns, not asked for
    rows: int
    counts: WriteCounts

    @property
    def what(self) -> str:
        return "bench items" if self.layout == "codal" else "instructions"


def import_source(
    store: Store,
    source: str,
    *,
    layout: ImportFormat = "auto",
    split: str | None = None,
    limit: int | None = None,
    preference: Preference | None = None,
    judge: str = DEFAULT_IMPORT_JUDGE,
    label: str | None = None,
) -> ImportReport:
    """Import ``source`` into ``store``. Every row is read and checked before anything is
    written; on any error the store is left exactly as it was. ``label`` is the source name
    stored with each row (the source as given, by default)."""
    loaded = load_source(source, split=split, limit=limit)
    stored_as = label or loaded.name
    try:
        chosen = detect_layout(loaded.columns) if layout == "auto" else layout
        check_columns(chosen, loaded.columns, preference_given=preference is not None)
    except LayoutError as err:
        raise LayoutError(f"{loaded.name}: {err}") from None

    if chosen == "codal":
        references = reference_columns(loaded.columns)
        items = _read_all(loaded, lambda values: read_codal(values, references, preference))
        with store.transaction():
            counts = write_bench_items(store, items, stored_as)
            record_import(store, stored_as, chosen, len(loaded.rows), counts)
    else:
        reader: Callable[[dict[str, object]], Instruction] = (
            (lambda values: read_cuf(values, preference))
            if chosen == "cuf"
            else (lambda values: read_instruction(values, preference))
        )
        instructions = _read_all(loaded, reader)
        with store.transaction():
            counts = write_instructions(store, instructions, stored_as, judge)
            record_import(store, stored_as, chosen, len(loaded.rows), counts)
    return ImportReport(loaded.name, chosen, layout == "auto", len(loaded.rows), counts)


def _read_all(loaded: LoadedSource, read: Callable[[dict[str, object]], T]) -> list[T]:
    records: list[T] = []
    for row in loaded.rows:
        records.append(_read_one(loaded.name, row, read))
    return records


def _read_one(name: str, row: Row, read: Callable[[dict[str, object]], T]) -> T:
    try:
        return read(row.values)
    except FieldError as err:
        raise SourceError(f"{name}, {row.where}, {err}") from None


@dataclass(frozen=True)
class AnswersReport:
    source: str
    rows: int
    attached: int
    already_present: int  # the model had a done answer for that item; kept


def import_answers(
    store: Store,
    source: str,
    model: str,
    *,
    split: str | None = None,
    limit: int | None = None,
    label: str | None = None,
) -> AnswersReport:
    """Attach answers produced elsewhere (rows of instruction + response) to the bench items
    with the same instruction text, as ``model``'s answers, ready to be graded. Every row is
    matched before anything is written; a row that matches no bench item is an error."""
    from cuf_tui.core.layouts import read_text_field
    from cuf_tui.core.records import text_key
    from cuf_tui.store.bench import answer_states, save_imported_bench_answer

    loaded = load_source(source, split=split, limit=limit)
    stored_as = label or loaded.name
    answer_column = next((c for c in ANSWER_COLUMNS if c in loaded.columns), None)
    if "instruction" not in loaded.columns or answer_column is None:
        raise LayoutError(
            f"{loaded.name}: answers need an 'instruction' column and a 'response' (or 'answer', "
            f"'output') column; it has {', '.join(loaded.columns) or 'none'}"
        )
    items: dict[str, list[tuple[int, str]]] = {}
    for item_id, key, preference in store.db.execute(
        "SELECT id, text_sha256, preference FROM bench_items"
    ):
        items.setdefault(key, []).append((item_id, preference))
    matched: list[tuple[int, str]] = []
    for row in loaded.rows:

        def read(values: dict[str, object], column: str = answer_column) -> tuple[str, str]:
            return read_text_field(values, "instruction"), read_text_field(values, column)

        instruction, answer = _read_one(loaded.name, row, read)
        wanted = row.values.get("preference")
        found = [i for i, p in items.get(text_key(instruction), []) if wanted in (None, p)]
        if not found:
            raise SourceError(
                f"{loaded.name}, {row.where}: no bench item has this instruction"
                + (f" with preference {wanted!r}" if wanted is not None else "")
                + " (import the CODAL-Bench items first)"
            )
        matched += [(item_id, answer) for item_id in found]
    before = answer_states(store, model)
    already = sum(1 for item_id, _ in matched if before.get(item_id, ("",))[0] == "done")
    with store.transaction():
        for item_id, answer in matched:
            save_imported_bench_answer(store, item_id, model, answer, stored_as)
    return AnswersReport(loaded.name, len(loaded.rows), len(matched) - already, already)


def import_graded_answers(store: Store, source: str, label: str | None = None) -> int:
    """Bench answers with their grades, as the sample workspace ships them (instruction,
    preference, model, answer, judge, reference_model, rating or null, rationale,
    judge_output); the grades' template is recorded as 'imported'. All or nothing."""
    from cuf_tui.core.layouts import read_text_field
    from cuf_tui.core.records import text_key
    from cuf_tui.store.bench import save_bench_grade, save_imported_bench_answer
    from cuf_tui.store.work import UnitCost

    loaded = load_source(source)
    stored_as = label or loaded.name
    items = {
        (key, preference): item_id
        for item_id, key, preference in store.db.execute(
            "SELECT id, text_sha256, preference FROM bench_items"
        )
    }
    with store.transaction():
        for row in loaded.rows:
            values = row.values

            def read(v: dict[str, object]) -> tuple[str, ...]:
                return tuple(
                    read_text_field(v, name)
                    for name in ("instruction", "preference", "model", "answer", "judge")
                ) + (read_text_field(v, "reference_model"),)

            instruction, preference, model, answer, judge, reference = _read_one(
                loaded.name, row, read
            )
            item_id = items.get((text_key(instruction), preference))
            if item_id is None:
                raise SourceError(f"{loaded.name}, {row.where}: no bench item has this instruction")
            answer_id = save_imported_bench_answer(store, item_id, model, answer, stored_as)
            rating = values.get("rating")
            save_bench_grade(
                store,
                0,
                answer_id,
                judge,
                reference,
                "imported",
                state="done" if isinstance(rating, int) else "unparsed",
                rating=rating if isinstance(rating, int) else None,
                rationale=str(values.get("rationale") or "") or None,
                raw_output=str(values.get("judge_output") or "") or None,
                error=None,
                repaired=False,
                cost=UnitCost(),
            )
    return len(loaded.rows)
