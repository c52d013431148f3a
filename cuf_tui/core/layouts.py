"""The dataset layouts people already use, read row by row into records.

Layouts: ``cuf`` (CodeUltraFeedback), ``codal`` (CODAL-Bench), ``instructions`` (an
instruction and a preference per row). Each reader takes one row as a dict and either
returns a record or raises :class:`FieldError` naming the field that is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, Literal

from cuf_tui.core.preferences import PREFERENCES, Preference
from cuf_tui.core.records import Annotation, BenchItem, Instruction, Response, rating_from_dataset
from cuf_tui.errors import CufError

Layout = Literal["cuf", "codal", "instructions"]
LAYOUTS: Final[tuple[Layout, ...]] = ("cuf", "codal", "instructions")

REFERENCE_SUFFIX: Final = "_response"


class FieldError(ValueError):
    """One field of one row is missing or wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"field '{field}': {message}")
        self.field = field
        self.message = message


class LayoutError(CufError):
    """The columns of a source fit no layout, or not the one asked for."""


def detect_layout(columns: Iterable[str]) -> Layout:
    """Pick the layout whose columns a source has; raise LayoutError when none fits."""
    names = set(columns)
    if {"reviewer", "rating"} <= names:
        # Never read as instructions: the ratings would be dropped without a word.
        raise LayoutError(
            f"this looks like a file of reviews (columns: {_listing(names)}); import it with "
            "--format reviews"
        )
    if "instruction" not in names:
        raise LayoutError(
            f"no 'instruction' column (columns: {_listing(names)}); every layout needs one"
        )
    if {"responses", "annotations"} <= names:
        return "cuf"
    if reference_columns(names):
        return "codal"
    return "instructions"


def reference_columns(columns: Iterable[str]) -> list[str]:
    """CODAL-Bench's reference answer columns, ``<model>_response``, in a stable order."""
    return sorted(
        c for c in columns if c.endswith(REFERENCE_SUFFIX) and len(c) > len(REFERENCE_SUFFIX)
    )


def check_columns(layout: Layout, columns: Iterable[str], preference_given: bool) -> None:
    """Fail early, before any row is read, when a source lacks a column its layout needs."""
    names = set(columns)
    needed = {"instruction"}
    if not preference_given:
        needed.add("preference")
    if layout == "cuf":
        needed |= {"responses", "annotations"}
    missing = sorted(needed - names)
    if missing:
        hint = (
            " (or give every row one with --preference NAME, round-robin or a column)"
            if "preference" in missing
            else ""
        )
        raise LayoutError(
            f"the {layout} layout needs column(s) {', '.join(missing)}{hint}; "
            f"this source has {_listing(names)}"
        )
    if layout == "codal" and not reference_columns(names):
        raise LayoutError(
            "the codal layout needs at least one '<model>_response' column; "
            f"this source has {_listing(names)}"
        )


def read_instruction(row: Mapping[str, Any], preference: Preference | None = None) -> Instruction:
    """An instruction to answer (the ``instructions`` layout)."""
    return Instruction(text=_text(row, "instruction"), preference=_preference(row, preference))


def read_cuf(row: Mapping[str, Any], preference: Preference | None = None) -> Instruction:
    """A CodeUltraFeedback row: an instruction, its responses and the judge's annotations.

    Annotations are matched to responses by model name, never by position.
    """
    text = _text(row, "instruction")
    pref = _preference(row, preference)

    responses: list[Response] = []
    seen: set[str] = set()
    for i, item in enumerate(_list(row, "responses")):
        where = f"responses[{i}]"
        entry = _mapping(item, where)
        model = _text(entry, "model", where)
        if model in seen:
            raise FieldError(f"{where}.model", f"model {model!r} answers twice")
        seen.add(model)
        responses.append(
            Response(model=model, text=_text(entry, "response", where, allow_blank=True))
        )

    models: tuple[str, ...]
    if row.get("models") is None:
        models = tuple(r.model for r in responses)
    else:
        models = tuple(_text_list(row, "models"))
        if len(set(models)) != len(models):
            raise FieldError("models", "a model is listed twice")
        extra = [m for m in seen if m not in models]
        if extra:
            raise FieldError(
                "responses", f"response from {extra[0]!r}, which is not in 'models' {list(models)}"
            )

    annotations: list[Annotation] = []
    rated: set[str] = set()
    for i, item in enumerate(_list(row, "annotations")):
        where = f"annotations[{i}]"
        entry = _mapping(item, where)
        model = _text(entry, "model", where)
        if model not in seen:
            raise FieldError(f"{where}.model", f"no response from model {model!r} to annotate")
        if model in rated:
            raise FieldError(f"{where}.model", f"model {model!r} is annotated twice")
        rated.add(model)
        try:
            rating = rating_from_dataset(entry.get("rating"))
        except ValueError as err:
            raise FieldError(f"{where}.rating", str(err)) from None
        rationale = entry.get("rationale")
        if rationale is None:
            rationale = ""
        if not isinstance(rationale, str):
            raise FieldError(
                f"{where}.rationale", f"expected text, got {describe_value(rationale)}"
            )
        annotations.append(Annotation(model=model, rating=rating, rationale=rationale))

    judge = _optional_text(row, "judge")
    judge_output = _optional_text(row, "judge_output")
    return Instruction(
        text=text,
        preference=pref,
        models=models,
        responses=tuple(responses),
        annotations=tuple(annotations),
        judge=judge,
        judge_output=judge_output,
    )


def read_codal(
    row: Mapping[str, Any], references: Sequence[str], preference: Preference | None = None
) -> BenchItem:
    """A CODAL-Bench item and its reference answers, one per ``<model>_response`` column.

    An empty or null reference cell means that model has no reference for this item.
    """
    found: list[Response] = []
    for column in references:
        value = row.get(column)
        if value is None or (isinstance(value, str) and not value.strip()):
            continue
        if not isinstance(value, str):
            raise FieldError(column, f"expected text, got {describe_value(value)}")
        found.append(Response(model=column[: -len(REFERENCE_SUFFIX)], text=value))
    return BenchItem(
        text=_text(row, "instruction"),
        preference=_preference(row, preference),
        references=tuple(found),
    )


def read_preference(row: Mapping[str, Any]) -> Preference:
    """A row's `preference` field, checked."""
    return _preference(row, None)


def _preference(row: Mapping[str, Any], given: Preference | None) -> Preference:
    if given is not None:
        return given
    value = row.get("preference")
    if value is None:
        raise FieldError("preference", "missing")
    if not isinstance(value, str):
        raise FieldError("preference", f"expected text, got {describe_value(value)}")
    if value not in PREFERENCES:
        raise FieldError(
            "preference",
            f"unknown preference {value!r} (expected one of: {', '.join(PREFERENCES)})",
        )
    return value


def _text(row: Mapping[str, Any], name: str, where: str = "", allow_blank: bool = False) -> str:
    field = f"{where}.{name}" if where else name
    if name not in row or row[name] is None:
        raise FieldError(field, "missing")
    value = row[name]
    if not isinstance(value, str):
        raise FieldError(field, f"expected text, got {describe_value(value)}")
    if not allow_blank and not value.strip():
        raise FieldError(field, "empty")
    return value


def read_text_field(row: Mapping[str, Any], name: str) -> str:
    """A required, non-blank text field of a row; FieldError names it otherwise."""
    return _text(row, name)


def read_optional_text_field(row: Mapping[str, Any], name: str) -> str | None:
    """An optional text field of a row (None when absent or null)."""
    return _optional_text(row, name)


def _optional_text(row: Mapping[str, Any], name: str) -> str | None:
    value = row.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise FieldError(name, f"expected text, got {describe_value(value)}")
    return value


def _list(row: Mapping[str, Any], name: str) -> list[Any]:
    if name not in row or row[name] is None:
        raise FieldError(name, "missing")
    value = row[name]
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Sequence):
        raise FieldError(name, f"expected a list, got {describe_value(value)}")
    return list(value)


def _text_list(row: Mapping[str, Any], name: str) -> list[str]:
    items = _list(row, name)
    for i, item in enumerate(items):
        if not isinstance(item, str) or not item.strip():
            raise FieldError(f"{name}[{i}]", f"expected a model name, got {describe_value(item)}")
    return items


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FieldError(where, f"expected an object, got {describe_value(value)}")
    return value


def describe_value(value: Any) -> str:
    """What kind of value this is, in words for an error message ("a list", "null")."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        return f"text ({value[:30]!r})" if value.strip() else "empty text"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, Sequence):
        return "a list"
    return type(value).__name__


def _listing(names: Iterable[str]) -> str:
    shown = sorted(names)
    return ", ".join(shown) if shown else "no columns"
