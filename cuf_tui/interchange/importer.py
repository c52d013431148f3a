"""`cuf-tui import`: read a source, check every row, then store them all in one transaction."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
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
    read_preference,
    reference_columns,
)
from cuf_tui.core.preferences import PREFERENCES, ROUND_ROBIN, ROUND_ROBIN_ORDER, Preference
from cuf_tui.interchange.sources import LoadedSource, Row, SourceError, load_source
from cuf_tui.store.db import Store
from cuf_tui.store.imports import WriteCounts, record_import, write_bench_items, write_instructions

ImportFormat = Literal["auto", "cuf", "codal", "instructions"]
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
    preference: str | None = None,
    judge: str = DEFAULT_IMPORT_JUDGE,
    label: str | None = None,
) -> ImportReport:
    """Import ``source`` into ``store``. Every row is read and checked before anything is
    written; on any error the store is left exactly as it was. ``label`` is the source name
    stored with each row (the source as given, by default). ``preference`` gives each row
    its preference: one for all, "round-robin" (row i gets the i % 5-th, in the paper's
    order), or the name of the column that holds it."""
    loaded = load_source(source, split=split, limit=limit)
    stored_as = label or loaded.name
    try:
        chosen = detect_layout(loaded.columns) if layout == "auto" else layout
        check_columns(chosen, loaded.columns, preference_given=preference is not None)
        preference_of = _preference_of(preference, loaded.columns)
    except LayoutError as err:
        raise LayoutError(f"{loaded.name}: {err}") from None

    if chosen == "codal":
        references = reference_columns(loaded.columns)
        items = _read_all(
            loaded, lambda i, values: read_codal(values, references, preference_of(i, values))
        )
        with store.transaction():
            counts = write_bench_items(store, items, stored_as)
            record_import(store, stored_as, chosen, len(loaded.rows), counts)
    else:
        read = read_cuf if chosen == "cuf" else read_instruction
        instructions = _read_all(loaded, lambda i, values: read(values, preference_of(i, values)))
        with store.transaction():
            counts = write_instructions(store, instructions, stored_as, judge)
            record_import(store, stored_as, chosen, len(loaded.rows), counts)
    return ImportReport(loaded.name, chosen, layout == "auto", len(loaded.rows), counts)


def _read_all(loaded: LoadedSource, read: Callable[[int, dict[str, object]], T]) -> list[T]:
    records: list[T] = []
    for index, row in enumerate(loaded.rows):
        records.append(read_one(loaded.name, row, functools.partial(read, index)))
    return records


def _preference_of(
    given: str | None, columns: Sequence[str]
) -> Callable[[int, dict[str, object]], Preference | None]:
    """Each row's preference as ``given`` says (None: the row's own `preference` column)."""
    if given is None:
        return lambda index, values: None
    if given in PREFERENCES:
        fixed = given
        return lambda index, values: fixed
    if given == ROUND_ROBIN:
        return lambda index, values: ROUND_ROBIN_ORDER[index % len(ROUND_ROBIN_ORDER)]
    if given not in columns:
        raise LayoutError(
            f"--preference {given!r} is neither a preference ({', '.join(PREFERENCES)}), "
            f"{ROUND_ROBIN}, nor a column (it has {', '.join(columns) or 'none'})"
        )

    def from_column(index: int, values: dict[str, object]) -> Preference:
        try:
            return read_preference({"preference": values.get(given)})
        except FieldError as err:
            raise FieldError(given, err.message) from None

    return from_column


def read_one(name: str, row: Row, read: Callable[[dict[str, object]], T]) -> T:
    try:
        return read(row.values)
    except FieldError as err:
        raise SourceError(f"{name}, {row.where}, {err}") from None
