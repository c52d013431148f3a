"""CODAL-Bench results made elsewhere: a model's answers (`--format answers`), answers with
their grades (the sample workspace's), and grades alone as the paper's scripts write them
(`--format grades`). Every row is read and matched before anything is written."""

from __future__ import annotations

from dataclasses import dataclass

from cuf_tui.core.layouts import (
    FieldError,
    LayoutError,
    read_optional_text_field,
    read_text_field,
)
from cuf_tui.interchange.importer import read_one
from cuf_tui.interchange.sources import Row, SourceError, load_source
from cuf_tui.store.db import Store

ANSWER_COLUMNS = ("response", "answer", "output")


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
        answer = read_one(loaded.name, row, lambda v: read_text_field(v, answer_column))
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
        (item_id, read_one(loaded.name, row, _read_graded_answer))
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

        instruction = read_one(self.source_name, row, lambda v: read_text_field(v, "instruction"))
        wanted = row.values.get("preference")
        found = [i for i, p in self.by_text.get(text_key(instruction), []) if wanted in (None, p)]
        if not found:
            raise SourceError(
                f"{self.source_name}, {row.where}: no bench item has this instruction"
                + (f" with preference {wanted!r}" if wanted is not None else "")
                + " (import the CODAL-Bench items first)"
            )
        return found


GRADE_TEXT_COLUMNS = ("judgement", "judgment", "judge_output")


@dataclass(frozen=True)
class GradesReport:
    source: str
    rows: int
    matched_by: str  # "order" (line i grades the i-th bench item) or "instruction"
    graded: int  # new grades stored
    unreadable: int  # of which "N/A": counted 0 in the paper's score
    already_present: int  # a grade by this judge against this reference was there; kept
    bench_items: int


def import_grades(
    store: Store,
    source: str,
    model: str,
    judge: str,
    reference: str,
    *,
    partial: bool = False,
    label: str | None = None,
) -> GradesReport:
    """A model's CODAL-Bench grades made elsewhere, as the paper's scripts write them: one
    line per bench item with a `rating` (1-10 or "N/A") and the judge's text (`judgement`).
    Line i grades the i-th bench item in the order the bench was imported, unless the lines
    carry an `instruction` (then each is matched by it). A file with more or fewer lines than
    the bench is refused unless ``partial``. Every line is read and matched before anything
    is written; grades already there are kept."""
    from cuf_tui.store.bench import bench_items, generated_answers, reference_models

    loaded = load_source(source)
    if "rating" not in loaded.columns:
        raise LayoutError(
            f"{loaded.name}: grades need a 'rating' column (a whole number 1-10, or \"N/A\"); "
            f"it has {', '.join(loaded.columns) or 'none'}"
        )
    items = bench_items(store)
    if not items:
        raise LayoutError("the store holds no CODAL-Bench items: import the bench first")
    known = reference_models(store)
    if reference not in known:
        raise LayoutError(
            f"--reference {reference!r}: the bench has no reference answers by it "
            f"(it has: {', '.join(known) or 'none'})"
        )
    if generated_answers(store, model):
        raise LayoutError(
            f"--model {model!r} has bench answers made in this workspace; grades made "
            "elsewhere are of other answers: import them under another name "
            f"(e.g. --model {model}-published)"
        )
    text_column = next((c for c in GRADE_TEXT_COLUMNS if c in loaded.columns), None)
    if "instruction" in loaded.columns:
        find = _BenchItems(store, loaded.name)
        targets = [_one_item(find, row, loaded.name) for row in loaded.rows]
        matched_by = "instruction"
    else:
        if len(loaded.rows) > len(items) or (len(loaded.rows) < len(items) and not partial):
            raise LayoutError(
                f"{loaded.name}: {len(loaded.rows)} lines, but the bench holds {len(items)} "
                "items; line i grades the i-th bench item, so the counts must match"
                + ("" if len(loaded.rows) > len(items) else " (--partial takes fewer)")
            )
        targets = [item.id for item in items[: len(loaded.rows)]]
        matched_by = "order"
    _check_targets(store, loaded.name, loaded.rows, targets, reference)
    grades = [
        (item_id, read_one(loaded.name, row, lambda v: _read_paper_grade(v, text_column)))
        for item_id, row in zip(targets, loaded.rows, strict=True)
    ]
    return _store_grades(store, loaded.name, label, model, judge, reference, grades, matched_by)


def _check_targets(
    store: Store, name: str, rows: list[Row], targets: list[int], reference: str
) -> None:
    """Every line grades an item that has the reference's answer, and no item twice."""
    from cuf_tui.store.bench import references

    answered = references(store, reference)
    first_line: dict[int, Row] = {}
    for row, item_id in zip(rows, targets, strict=True):
        if item_id not in answered:
            raise SourceError(
                f"{name}, {row.where}: grades bench item {item_id}, which has no reference "
                f"answer by {reference}; a grade against {reference} cannot be of it"
            )
        if item_id in first_line:
            raise SourceError(
                f"{name}, {row.where}: grades the same bench item as {first_line[item_id].where}"
            )
        first_line[item_id] = row


def _one_item(find: _BenchItems, row: Row, name: str) -> int:
    found = find(row)
    if len(found) > 1:
        raise SourceError(
            f"{name}, {row.where}: the instruction is the text of {len(found)} bench items; "
            "add a 'preference' column to tell them apart"
        )
    return found[0]


def _read_paper_grade(
    values: dict[str, object], text_column: str | None
) -> tuple[int | None, str | None]:
    if "rating" not in values or values["rating"] is None:
        raise FieldError("rating", 'missing (a whole number from 1 to 10, or "N/A")')
    rating = values["rating"]
    if isinstance(rating, str) and rating.strip().upper() in ("N/A", "NA"):
        rating = None
    elif isinstance(rating, str) and rating.strip().isdigit():  # CSV holds text only
        rating = int(rating.strip())
    if rating is not None and (
        isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 10
    ):
        raise FieldError("rating", f'expected a whole number from 1 to 10 or "N/A", got {rating!r}')
    text = read_optional_text_field(values, text_column) if text_column else None
    return rating, text


def _store_grades(
    store: Store,
    name: str,
    label: str | None,
    model: str,
    judge: str,
    reference: str,
    grades: list[tuple[int, tuple[int | None, str | None]]],
    matched_by: str,
) -> GradesReport:
    from cuf_tui.core.judge_output import read_grade
    from cuf_tui.store.attempts import Attempt
    from cuf_tui.store.bench import answer_states, bench_items, save_imported_bench_answer
    from cuf_tui.store.grades import save_bench_grade
    from cuf_tui.store.judgments import IMPORTED_TEMPLATE

    answers = answer_states(store, model)
    stored = unreadable = 0
    with store.transaction():
        for item_id, (rating, text) in grades:
            state = answers.get(item_id)
            if state is not None and state[0] == "done":
                answer_id = state[2]
            else:  # the grade came without its answer: an empty one stands for it
                answer_id = save_imported_bench_answer(store, item_id, model, "", label or name)
            kept = save_bench_grade(
                store,
                0,
                answer_id,
                judge,
                reference,
                IMPORTED_TEMPLATE,
                Attempt("unparsed" if rating is None else "done"),
                rating=rating,
                rationale=read_grade(text).rationale if text else None,
                raw_output=text,
                repaired=False,
            )
            stored += kept
            unreadable += kept and rating is None
    return GradesReport(
        name,
        len(grades),
        matched_by,
        stored,
        unreadable,
        len(grades) - stored,
        len(bench_items(store)),
    )
