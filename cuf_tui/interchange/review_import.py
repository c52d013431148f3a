"""Human reviews made elsewhere (`--format reviews`): one rating per instruction, model and
reviewer, every line read and matched before any is stored, so another tool's labels can be
measured against the judge."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cuf_tui.core.layouts import FieldError, read_optional_text_field, read_text_field
from cuf_tui.core.records import text_key
from cuf_tui.interchange.importer import read_one
from cuf_tui.interchange.sources import FILE_SUFFIXES, Row, SourceError, load_source
from cuf_tui.store.db import Store
from cuf_tui.store.reviews import save_imported_review

REVIEW_COLUMNS = ("instruction", "instruction_id", "model", "rating", "reviewer", "note", "flagged")
WHAT_A_REVIEW_HOLDS = (
    "a review holds instruction (its text) or instruction_id, model, rating, reviewer, "
    "and optionally note and flagged"
)
CSV_FLAGS = {"true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class ImportedReview:
    instruction_id: int
    model: str
    reviewer: str
    rating: int
    flagged: bool | None  # None: the file does not say (a review held keeps its flag)
    note: str | None  # None: none (a blank note clears one held)
    note_given: bool = True  # False: the file has no note (a review held keeps its note)


@dataclass(frozen=True)
class ReviewsReport:
    source: str
    by_reviewer: dict[str, int]  # reviewer -> reviews in the file, by name
    new: int
    updated: int  # a different review by that reviewer was there; the file's replaced it
    unchanged: int  # the store held this very review already; left as it was
    workbench_replaced: int  # of the updated: reviews made in the workbench

    @property
    def reviews(self) -> int:
        return sum(self.by_reviewer.values())


def import_reviews(store: Store, source: str) -> ReviewsReport:
    """Store the reviews of ``source`` (a .jsonl, .json, .csv or .parquet file), each under
    its reviewer, with ``source`` as where it came from. Every line is checked and matched to
    an instruction and model of the store before anything is written; a review by the same
    reviewer of the same response is replaced, one that is already there is left alone."""
    path = Path(source).expanduser()
    if not path.is_file():
        what = (
            "a folder"
            if path.is_dir()
            else "not a regular file"
            if path.exists()
            else "no such file"
        )
        raise SourceError(
            f"{source}: {what} (reviews are imported from a "
            f"{', '.join(FILE_SUFFIXES[:-1])} or {FILE_SUFFIXES[-1]} file)"
        )
    loaded = load_source(source)
    from_csv = path.suffix.lower() == ".csv"
    instructions = _Instructions(store)
    reviews: list[ImportedReview] = []
    first_line: dict[tuple[int, str, str], Row] = {}
    for row in loaded.rows:
        unknown = [field for field in row.values if field not in REVIEW_COLUMNS]
        if unknown:
            names = ", ".join(repr(str(field)) for field in unknown)
            raise SourceError(
                f"{loaded.name}, {row.where}, field{'s' if len(unknown) > 1 else ''} {names}: "
                f"unknown ({WHAT_A_REVIEW_HOLDS})"
            )
        read = Row(row.where, _from_csv_cells(row.values)) if from_csv else row
        review = read_one(loaded.name, read, lambda v: _read_review(v, instructions))
        key = (review.instruction_id, review.model, review.reviewer)
        if key in first_line:
            raise SourceError(
                f"{loaded.name}, {row.where}: a second review of instruction "
                f"{review.instruction_id}'s {review.model} by {review.reviewer} (the first is "
                f"on {first_line[key].where}); a file holds one review per instruction, model "
                "and reviewer"
            )
        first_line[key] = row
        reviews.append(review)
    return _store_reviews(store, loaded.name, reviews)


def _from_csv_cells(values: dict[str, Any]) -> dict[str, Any]:
    """A CSV cell holds text only: the numbers and the flag, written as text, read as such."""
    read = dict(values)
    for field in ("rating", "instruction_id"):
        cell = read.get(field)
        if isinstance(cell, str) and cell.strip().isascii() and cell.strip().isdigit():
            read[field] = int(cell.strip())
    flag = read.get("flagged")
    if isinstance(flag, str) and flag.strip().lower() in CSV_FLAGS:
        read["flagged"] = CSV_FLAGS[flag.strip().lower()]
    return read


def _read_review(values: dict[str, Any], instructions: _Instructions) -> ImportedReview:
    instruction_id = instructions.find(values)
    model = read_text_field(values, "model")
    models = instructions.models_of(instruction_id)
    if model not in models:
        raise FieldError(
            "model",
            f"instruction {instruction_id} has no model {model!r} "
            f"(it has: {', '.join(models) or 'none'})",
        )
    rating = values.get("rating")
    if rating is None:
        raise FieldError("rating", "missing (an integer from 1 to 5)")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        raise FieldError("rating", f"must be an integer from 1 to 5, not {_shown(rating)}")
    reviewer = read_text_field(values, "reviewer").strip()
    if len(reviewer.splitlines()) > 1:
        raise FieldError("reviewer", f"must be one line, not {_shown(reviewer)}")
    if not reviewer.isprintable():  # an escape, a NUL, an invisible character
        raise FieldError(
            "reviewer", f"must be a name of printable characters, not {_shown(reviewer)}"
        )
    note = read_optional_text_field(values, "note")
    flagged = values.get("flagged")
    if flagged is not None and not isinstance(flagged, bool):
        raise FieldError("flagged", f"must be true or false, not {_shown(flagged)}")
    return ImportedReview(
        instruction_id,
        model,
        reviewer,
        rating,
        flagged,
        note if note and note.strip() else None,
        note_given=values.get("note") is not None,
    )


def _shown(value: object) -> str:
    """A value as the file wrote it (JSON), cut short."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Instructions:
    """The store's instructions, looked up by text or id as the lines name them, each once."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.by_text: dict[str, list[tuple[int, str]]] = {}
        self.models: dict[int, list[str] | None] = {}

    def find(self, values: dict[str, Any]) -> int:
        has_text = values.get("instruction") is not None
        has_id = values.get("instruction_id") is not None
        if has_text and has_id:
            raise FieldError(
                "instruction_id", "give the instruction's text or its instruction_id, not both"
            )
        if not has_text and not has_id:
            raise FieldError(
                "instruction", "missing (give the instruction's text, or its instruction_id)"
            )
        if has_id:
            return self._by_id(values["instruction_id"])
        return self._by_text(read_text_field(values, "instruction"))

    def _by_id(self, instruction_id: object) -> int:
        if (
            isinstance(instruction_id, bool)
            or not isinstance(instruction_id, int)
            or not 1 <= instruction_id < 2**63  # SQLite's integers
        ):
            raise FieldError(
                "instruction_id",
                f"must be an instruction's id (a whole number), not {_shown(instruction_id)}",
            )
        if self._models(instruction_id) is None:
            raise FieldError("instruction_id", f"no instruction has id {instruction_id}")
        return instruction_id

    def _by_text(self, text: str) -> int:
        key = text_key(text)
        if key not in self.by_text:
            self.by_text[key] = [
                (row["id"], row["preference"])
                for row in self.store.query(
                    "SELECT id, preference FROM instructions WHERE text_sha256 = ? ORDER BY id",
                    (key,),
                )
            ]
        found = self.by_text[key]
        if not found:
            raise FieldError(
                "instruction",
                f"no instruction has this text ({_shown(text)}); it must match exactly",
            )
        if len(found) > 1:
            which = ", ".join(f"{i} ({preference})" for i, preference in found)
            raise FieldError(
                "instruction",
                f"the text of {len(found)} instructions, ids {which}; give instruction_id instead",
            )
        return found[0][0]

    def models_of(self, instruction_id: int) -> list[str]:
        return self._models(instruction_id) or []

    def _models(self, instruction_id: int) -> list[str] | None:
        """The instruction's models, then those with a response not among them; None when
        there is no such instruction."""
        if instruction_id not in self.models:
            found = self.store.query(
                "SELECT models FROM instructions WHERE id = ?", (instruction_id,)
            )
            if not found:
                self.models[instruction_id] = None
            else:
                models = [str(m) for m in json.loads(found[0]["models"] or "[]")]
                answered = self.store.query(
                    "SELECT model FROM responses WHERE instruction_id = ? ORDER BY id",
                    (instruction_id,),
                )
                models += [r["model"] for r in answered if r["model"] not in models]
                self.models[instruction_id] = models
        return self.models[instruction_id]


def _store_reviews(store: Store, source: str, reviews: list[ImportedReview]) -> ReviewsReport:
    """Write the reviews in one transaction; a review the store already holds as it is (from
    this source) is not written again, so importing a file twice changes nothing."""
    new = updated = unchanged = workbench_replaced = 0
    with store.transaction():
        for review in reviews:
            held = store.query(
                "SELECT rating, flagged, note, agrees_with_judge, judgment_id, source "
                "FROM reviews WHERE instruction_id = ? AND model = ? AND reviewer = ?",
                (review.instruction_id, review.model, review.reviewer),
            )
            # What the file does not say (a flag, a note) a review held keeps.
            flagged = review.flagged
            if flagged is None:
                flagged = bool(held and held[0]["flagged"])
            note = review.note if review.note_given or not held else held[0]["note"]
            wanted = {
                "rating": review.rating,
                "flagged": int(flagged),
                "note": note,
                "agrees_with_judge": 0,
                "judgment_id": None,
                "source": source,
            }
            # The same review from the same file named another way (a relative path, then
            # an absolute one) is unchanged: the source says where it came from first.
            if held and {**held[0], "source": source} == wanted:
                unchanged += 1
                continue
            if held:
                updated += 1
                workbench_replaced += held[0]["source"] == "workbench"
            else:
                new += 1
            save_imported_review(
                store,
                review.instruction_id,
                review.model,
                review.reviewer,
                review.rating,
                flagged=flagged,
                note=note,
                source=source,
            )
    by_reviewer = Counter(review.reviewer for review in reviews)
    return ReviewsReport(
        source,
        dict(sorted(by_reviewer.items())),
        new,
        updated,
        unchanged,
        workbench_replaced,
    )
