"""Reading rows of the known layouts into records, and the errors that name the field."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cuf_tui.core.layouts import (
    FieldError,
    LayoutError,
    detect_layout,
    read_codal,
    read_cuf,
    read_instruction,
)
from cuf_tui.core.preferences import PREFERENCES, rating_level
from cuf_tui.core.records import rating_from_dataset, rating_to_dataset
from tests.conftest import cuf_row


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", 1), ("5", 5), (" 3 ", 3), (4, 4), ("N/A", None), ("n/a", None), (None, None)],
)
def test_dataset_ratings_are_read(value: object, expected: int | None) -> None:
    assert rating_from_dataset(value) == expected


@pytest.mark.parametrize("value", ["0", "6", "3.5", "", "five", 0, 6, 2.0, True, [3]])
def test_unreadable_ratings_are_errors_not_numbers(value: object) -> None:
    with pytest.raises(ValueError):
        rating_from_dataset(value)


@given(st.one_of(st.none(), st.integers(1, 5)))
def test_rating_strings_round_trip(rating: int | None) -> None:
    assert rating_from_dataset(rating_to_dataset(rating)) == rating


def test_no_rating_is_none_not_zero() -> None:
    record = read_cuf(cuf_row(ratings={"a": "N/A", "b": "2"}))
    by_model = {a.model: a.rating for a in record.annotations}
    assert by_model == {"a": None, "b": 2}


def test_annotations_match_responses_by_model_name_not_position() -> None:
    row = cuf_row(ratings={"alpha": "5", "beta": "1"})
    row["annotations"].reverse()
    record = read_cuf(row)
    assert [r.model for r in record.responses] == ["alpha", "beta"]
    assert {a.model: a.rating for a in record.annotations} == {"alpha": 5, "beta": 1}


def test_an_annotation_for_a_model_without_a_response_is_an_error() -> None:
    row = cuf_row(ratings={"a": "5", "b": "1"})
    row["annotations"][1]["model"] = "ghost"
    with pytest.raises(FieldError) as err:
        read_cuf(row)
    assert err.value.field == "annotations[1].model"
    assert "ghost" in str(err.value)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda r: r.pop("instruction"), "instruction"),
        (lambda r: r.update(instruction="   "), "instruction"),
        (lambda r: r.update(instruction=17), "instruction"),
        (lambda r: r.update(preference="speed"), "preference"),
        (lambda r: r.update(preference=None), "preference"),
        (lambda r: r.update(responses="not a list"), "responses"),
        (lambda r: r["responses"].__setitem__(0, "text"), "responses[0]"),
        (lambda r: r["responses"][1].pop("response"), "responses[1].response"),
        (lambda r: r["responses"][1].update(response=3), "responses[1].response"),
        (lambda r: r["responses"][2].update(model="m1"), "responses[2].model"),
        (lambda r: r["annotations"][0].update(rating="7"), "annotations[0].rating"),
        (lambda r: r["annotations"][0].update(rationale=5), "annotations[0].rationale"),
        (lambda r: r["annotations"].append(dict(r["annotations"][0])), "annotations[4].model"),
        (lambda r: r.update(models=["m1", "m1", "m2", "m3"]), "models"),
        (lambda r: r.update(models=["m1", "m2"]), "responses"),
        (lambda r: r.update(models=[1, 2]), "models[0]"),
    ],
)
def test_bad_cuf_rows_name_the_field(change, field: str) -> None:
    row = cuf_row()
    change(row)
    with pytest.raises(FieldError) as err:
        read_cuf(row)
    assert err.value.field == field


def test_preference_given_for_all_rows_overrides_the_column() -> None:
    assert read_instruction({"instruction": "x"}, "style").preference == "style"
    assert (
        read_instruction({"instruction": "x", "preference": "nope"}, "style").preference == "style"
    )


def test_codal_rows_take_every_reference_column_and_skip_empty_ones() -> None:
    row = {
        "instruction": "Sort a list.",
        "preference": "complexity",
        "gpt-4-turbo_response": "use sorted()",
        "gpt-3.5-turbo_response": None,
        "claude-3_response": "",
    }
    item = read_codal(row, ["claude-3_response", "gpt-3.5-turbo_response", "gpt-4-turbo_response"])
    assert [(r.model, r.text) for r in item.references] == [("gpt-4-turbo", "use sorted()")]
    with pytest.raises(FieldError) as err:
        read_codal(row | {"claude-3_response": 12}, ["claude-3_response"])
    assert err.value.field == "claude-3_response"


@pytest.mark.parametrize(
    ("columns", "layout"),
    [
        (["instruction", "preference", "models", "responses", "annotations"], "cuf"),
        (["instruction", "preference", "gpt-4-turbo_response"], "codal"),
        (["instruction", "preference"], "instructions"),
        (["instruction"], "instructions"),
    ],
)
def test_layout_is_detected_from_columns(columns: list[str], layout: str) -> None:
    assert detect_layout(columns) == layout


def test_no_instruction_column_fits_no_layout() -> None:
    with pytest.raises(LayoutError, match="no 'instruction' column"):
        detect_layout(["prompt", "chosen"])


def test_every_preference_has_five_named_levels() -> None:
    assert rating_level("instruction-following", 4) == "Highly Compliant"
    assert rating_level("complexity", 5) == "Optimally Efficient"
    for preference in PREFERENCES:
        assert len({rating_level(preference, r) for r in range(1, 6)}) == 5
    with pytest.raises(ValueError):
        rating_level("style", 0)
