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
    read_optional_text_field,
    read_text_field,
    reference_columns,
)
from cuf_tui.core.preferences import Preference
from cuf_tui.core.records import Instruction
from cuf_tui.interchange.sources import LoadedSource, Row, SourceError, load_source
from cuf_tui.store.db import Store
from cuf_tui.store.imports import WriteCounts, record_import, write_bench_items, write_instructions

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
    from cuf_tui.store.bench import answer_states, save_imported_bench_answer

    loaded = load_source(source, split=split, limit=limit)
    answer_column = next((c for c in ANSWER_COLUMNS if c in loaded.columns), None)
    if "instruction" not in loaded.columns or answer_column is None:
        raise LayoutError(
            f"{loaded.name}: answers need an 'instruction' column and a 'response' (or 'answer', "
            f"'output') column; it has {', '.join(loaded.columns) or 'none'}"
        )
    find = _BenchItems(store, loaded.name)
    matched: list[tuple[int, str]] = []
    for row in loaded.rows:
        answer = _read_one(loaded.name, row, lambda v: read_text_field(v, answer_column))
        matched += [(item_id, answer) for item_id in find(row)]
    before = answer_states(store, model)
    already = sum(1 for item_id, _ in matched if before.get(item_id, ("",))[0] == "done")
    with store.transaction():
        for item_id, answer in matched:
            save_imported_bench_answer(store, item_id, model, answer, label or loaded.name)
    return AnswersReport(loaded.name, len(loaded.rows), len(matched) - already, already)


@dataclass(frozen=True)
class _GradedAnswer:
    model: str
    answer: str
    judge: str
    reference_model: str
    rating: int | None
    rationale: str | None
    judge_output: str | None


def _read_graded_answer(values: dict[str, object]) -> _GradedAnswer:
    rating = values.get("rating")
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 10
    ):
        raise FieldError("rating", f"expected a whole number from 1 to 10 or null, got {rating!r}")
    return _GradedAnswer(
        model=read_text_field(values, "model"),
        answer=read_text_field(values, "answer"),
        judge=read_text_field(values, "judge"),
        reference_model=read_text_field(values, "reference_model"),
        rating=rating,
        rationale=read_optional_text_field(values, "rationale"),
        judge_output=read_optional_text_field(values, "judge_output"),
    )


def import_graded_answers(store: Store, source: str, label: str | None = None) -> int:
    """Bench answers with their grades, as the sample workspace ships them (instruction,
    preference, model, answer, judge, reference_model, rating or null, rationale,
    judge_output); the grades' template is recorded as 'imported'. Every row is read and
    matched before anything is written."""
    from cuf_tui.store.attempts import Attempt
    from cuf_tui.store.bench import save_imported_bench_answer
    from cuf_tui.store.grades import save_bench_grade
    from cuf_tui.store.judgments import IMPORTED_TEMPLATE

    loaded = load_source(source)
    find = _BenchItems(store, loaded.name)
    graded = [
        (item_id, _read_one(loaded.name, row, _read_graded_answer))
        for row in loaded.rows
        for item_id in find(row)
    ]
    with store.transaction():
        for item_id, grade in graded:
            answer_id = save_imported_bench_answer(
                store, item_id, grade.model, grade.answer, label or loaded.name
            )
            save_bench_grade(
                store,
                0,
                answer_id,
                grade.judge,
                grade.reference_model,
                IMPORTED_TEMPLATE,
                Attempt("unparsed" if grade.rating is None else "done"),
                rating=grade.rating,
                rationale=grade.rationale,
                raw_output=grade.judge_output,
                repaired=False,
            )
    return len(loaded.rows)


class _BenchItems:
    """Finds the bench items a row is about: by its instruction text, and its preference
    when the row gives one. A row that matches none is an error naming the row."""

    def __init__(self, store: Store, source_name: str) -> None:
        from cuf_tui.store.bench import bench_items

        self.source_name = source_name
        self.by_text: dict[str, list[tuple[int, str]]] = {}
        for item in bench_items(store):
            self.by_text.setdefault(item.key, []).append((item.id, item.preference))

    def __call__(self, row: Row) -> list[int]:
        from cuf_tui.core.records import text_key

        instruction = _read_one(self.source_name, row, lambda v: read_text_field(v, "instruction"))
        wanted = row.values.get("preference")
        found = [i for i, p in self.by_text.get(text_key(instruction), []) if wanted in (None, p)]
        if not found:
            raise SourceError(
                f"{self.source_name}, {row.where}: no bench item has this instruction"
                + (f" with preference {wanted!r}" if wanted is not None else "")
                + " (import the CODAL-Bench items first)"
            )
        return found
