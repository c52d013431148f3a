"""`cuf-tui import FILE --format reviews`: human ratings made elsewhere, stored under their
reviewers; every bad line refused whole, with the store exactly as it was."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import cuf_row, query, store_dump, write_jsonl

REVERSE = "Reverse a string in Python."
SORT = "Sort a list of numbers."
TWICE = "Write a hello world program."  # the text of two instructions, under two preferences


@pytest.fixture
def ids(cli, workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A workspace with three instruction texts (one of them twice), each answered by m1..m4;
    the tests run in tmp_path, so a review file is named as a user would type it."""
    rows = [
        cuf_row(REVERSE, "readability"),
        cuf_row(SORT, "complexity"),
        cuf_row(TWICE, "style"),
        cuf_row(TWICE, "explanation"),
    ]
    assert cli("import", write_jsonl(tmp_path / "tasks.jsonl", rows), "-w", workspace).code == 0
    monkeypatch.chdir(tmp_path)
    found = dict(query(workspace, "SELECT text, id FROM instructions WHERE text != ?", (TWICE,)))
    found[TWICE] = [
        i for (i,) in query(workspace, "SELECT id FROM instructions WHERE text = ?", (TWICE,))
    ]
    return found


def stored(workspace: Path) -> list[tuple[Any, ...]]:
    return query(
        workspace,
        "SELECT i.text, r.model, r.reviewer, r.rating, r.flagged, r.note, r.source, "
        "r.agrees_with_judge, r.judgment_id FROM reviews r "
        "JOIN instructions i ON i.id = r.instruction_id ORDER BY r.reviewer, i.id, r.model",
    )


def test_reviews_by_text_and_by_id_are_stored_under_their_reviewers(cli, workspace, ids) -> None:
    write_jsonl(
        Path("reviews.jsonl"),
        [
            {"instruction": REVERSE, "model": "m1", "rating": 4, "reviewer": "alice"},
            {"instruction_id": ids[SORT], "model": "m2", "rating": 2, "reviewer": "alice"},
            {
                "instruction_id": ids[SORT],
                "model": "m2",
                "rating": 5,
                "reviewer": "bob",
                "note": "clean, but no tests",
                "flagged": True,
            },
        ],
    )
    run = cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 0, run.err
    assert run.out.splitlines()[0] == (
        "reviews.jsonl: 3 reviews by 2 reviewers (alice 2, bob 1); 3 new, 0 updated, 0 unchanged"
    )
    assert stored(workspace) == [
        (REVERSE, "m1", "alice", 4, 0, None, "reviews.jsonl", 0, None),
        (SORT, "m2", "alice", 2, 0, None, "reviews.jsonl", 0, None),
        (SORT, "m2", "bob", 5, 1, "clean, but no tests", "reviews.jsonl", 0, None),
    ]


def test_importing_the_same_file_again_changes_nothing_and_says_so(cli, workspace, ids) -> None:
    write_jsonl(
        Path("reviews.jsonl"),
        [
            {"instruction": REVERSE, "model": m, "rating": 3, "reviewer": "alice"}
            for m in ("m1", "m2")
        ],
    )
    assert cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace).code == 0
    before = store_dump(workspace)
    run = cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 0, run.err
    assert "2 reviews by 1 reviewer (alice 2); 0 new, 0 updated, 2 unchanged" in run.out
    assert "nothing changed" in run.out
    assert store_dump(workspace) == before


def test_a_later_file_updates_a_reviewers_rating_and_leaves_the_rest(cli, workspace, ids) -> None:
    first = [
        {"instruction": REVERSE, "model": "m1", "rating": 3, "reviewer": "alice", "flagged": True},
        {"instruction": REVERSE, "model": "m2", "rating": 3, "reviewer": "alice"},
    ]
    write_jsonl(Path("week1.jsonl"), first)
    assert cli("import", "week1.jsonl", "--format", "reviews", "-w", workspace).code == 0
    write_jsonl(
        Path("week2.jsonl"),
        [
            {"instruction": REVERSE, "model": "m1", "rating": 5, "reviewer": "alice"},
            {"instruction": REVERSE, "model": "m1", "rating": 1, "reviewer": "bob"},
        ],
    )
    run = cli("import", "week2.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 0, run.err
    assert "1 new, 1 updated, 0 unchanged" in run.out
    assert stored(workspace) == [
        (REVERSE, "m1", "alice", 5, 1, None, "week2.jsonl", 0, None),  # week 2 says no flag
        (REVERSE, "m2", "alice", 3, 0, None, "week1.jsonl", 0, None),
        (REVERSE, "m1", "bob", 1, 0, None, "week2.jsonl", 0, None),
    ]


def test_a_workbench_review_by_the_same_reviewer_is_replaced_and_named(cli, workspace, ids) -> None:
    query(
        workspace,
        "INSERT INTO reviews (instruction_id, model, reviewer, rating, agrees_with_judge, "
        "flagged, note) VALUES (?, 'm1', 'alice', 2, 1, 1, 'too terse'), "
        "(?, 'm1', 'carol', 4, 1, 0, NULL)",
        (ids[REVERSE], ids[REVERSE]),
    )
    write_jsonl(
        Path("reviews.jsonl"),
        [{"instruction": REVERSE, "model": "m1", "rating": 5, "reviewer": "alice"}],
    )
    run = cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 0, run.err
    assert "0 new, 1 updated, 0 unchanged" in run.out
    assert "1 of the updated were made in the workbench" in run.out
    # The file gives a rating only: alice's flag and note from the workbench stay.
    assert stored(workspace) == [
        (REVERSE, "m1", "alice", 5, 1, "too terse", "reviews.jsonl", 0, None),
        (REVERSE, "m1", "carol", 4, 0, None, "workbench", 1, None),  # another reviewer's: kept
    ]
    write_jsonl(
        Path("reviews.jsonl"),
        [{"instruction": REVERSE, "model": "m1", "rating": 5, "reviewer": "alice",
          "flagged": False, "note": ""}],
    )  # fmt: skip
    run = cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 0 and "0 new, 1 updated" in run.out  # said: the flag and note go
    assert stored(workspace)[0] == (REVERSE, "m1", "alice", 5, 0, None, "reviews.jsonl", 0, None)


def test_csv_json_and_parquet_files_hold_reviews_too(cli, workspace, ids) -> None:
    with Path("reviews.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["instruction_id", "model", "rating", "reviewer", "flagged", "note"])
        writer.writerow([ids[SORT], "m3", "4", "dana", "true", ""])
    Path("reviews.json").write_text(
        json.dumps([{"instruction": REVERSE, "model": "m3", "rating": 2, "reviewer": "dana"}]),
        encoding="utf-8",
    )
    pq.write_table(
        pa.Table.from_pylist(
            [
                {"instruction": REVERSE, "instruction_id": None, "model": "m4", "rating": 1,
                 "reviewer": "dana", "flagged": False},
                {"instruction": None, "instruction_id": ids[SORT], "model": "m4", "rating": 5,
                 "reviewer": "dana", "flagged": True},
            ]
        ),
        "reviews.parquet",
    )  # fmt: skip
    for name, count in (("reviews.csv", 1), ("reviews.json", 1), ("reviews.parquet", 2)):
        run = cli("import", name, "--format", "reviews", "-w", workspace)
        assert run.code == 0, (name, run.err)
        assert f"{count} new" in run.out
    assert stored(workspace) == [
        (REVERSE, "m3", "dana", 2, 0, None, "reviews.json", 0, None),
        (REVERSE, "m4", "dana", 1, 0, None, "reviews.parquet", 0, None),
        (SORT, "m3", "dana", 4, 1, None, "reviews.csv", 0, None),
        (SORT, "m4", "dana", 5, 1, None, "reviews.parquet", 0, None),
    ]


def good(**changes: Any) -> dict[str, Any]:
    return {"instruction": REVERSE, "model": "m1", "rating": 4, "reviewer": "alice"} | changes


def without(field: str) -> dict[str, Any]:
    review = good()
    review.pop(field)
    return review


BAD_LINES: list[tuple[str, Any, str]] = [
    (
        "unknown text",
        good(instruction="Reverse a string in Python"),
        "line 3, field 'instruction': no instruction has this text",
    ),
    ("unknown id", without("instruction") | {"instruction_id": 999}, "no instruction has id 999"),
    (
        "id as text",
        without("instruction") | {"instruction_id": "1"},
        "field 'instruction_id': must be an instruction's id (a whole number), not \"1\"",
    ),
    (
        "both",
        good(instruction_id=1),
        "field 'instruction_id': give the instruction's text or its instruction_id, not both",
    ),
    ("neither", without("instruction"), "field 'instruction': missing"),
    (
        "another model",
        good(model="gpt-5"),
        "field 'model': instruction {REVERSE} has no model 'gpt-5' (it has: m1, m2, m3, m4)",
    ),
    ("rating 6", good(rating=6), "line 3, field 'rating': must be an integer from 1 to 5, not 6"),
    ("rating 0", good(rating=0), "field 'rating': must be an integer from 1 to 5, not 0"),
    ("rating text", good(rating="4"), "field 'rating': must be an integer from 1 to 5, not \"4\""),
    ("rating 4.5", good(rating=4.5), "field 'rating': must be an integer from 1 to 5, not 4.5"),
    ("rating true", good(rating=True), "field 'rating': must be an integer from 1 to 5, not true"),
    ("no rating", without("rating"), "field 'rating': missing"),
    ("no reviewer", without("reviewer"), "field 'reviewer': missing"),
    ("blank reviewer", good(reviewer="  "), "field 'reviewer': empty"),
    ("two-line reviewer", good(reviewer="al\nice"), "field 'reviewer': must be one line"),
    ("flag as text", good(flagged="yes"), "field 'flagged': must be true or false, not \"yes\""),
    ("note not text", good(note=3), "field 'note': expected text"),
    (
        "unknown fields",
        good(score=3, comment="x"),
        "line 3, fields 'score', 'comment': unknown (a review holds instruction",
    ),
    ("not an object", [1, 2], "line 3: expected a JSON object, got a list"),
    ("invalid JSON", '{"instruction": ', "line 3: invalid JSON"),
]


@pytest.mark.parametrize(("line", "expected"), [case[1:] for case in BAD_LINES],
                         ids=[case[0] for case in BAD_LINES])  # fmt: skip
def test_a_bad_line_stops_the_import_and_leaves_the_store_as_it_was(
    cli, workspace, ids, line: Any, expected: str
) -> None:
    write_jsonl(Path("before.jsonl"), [good(reviewer="zed", rating=2)])
    assert cli("import", "before.jsonl", "--format", "reviews", "-w", workspace).code == 0
    before = store_dump(workspace)
    bad = line if isinstance(line, str) else json.dumps(line)
    lines = [good(), good(model="m2"), bad]
    Path("reviews.jsonl").write_text(
        "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines),
        encoding="utf-8",
    )
    run = cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 1
    assert run.err.startswith("cuf-tui: error: reviews.jsonl, line 3")
    assert expected.replace("{REVERSE}", str(ids[REVERSE])) in run.err
    assert len(run.err.strip().splitlines()) == 1
    assert run.out == ""
    assert store_dump(workspace) == before


def test_a_text_of_several_instructions_asks_for_the_id_and_names_them(cli, workspace, ids) -> None:
    write_jsonl(Path("reviews.jsonl"), [good(instruction=TWICE)])
    before = store_dump(workspace)
    run = cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 1
    first, second = ids[TWICE]
    assert (
        f"reviews.jsonl, line 1, field 'instruction': the text of 2 instructions, ids {first} "
        f"(style), {second} (explanation); give instruction_id instead"
    ) in run.err
    assert store_dump(workspace) == before
    write_jsonl(Path("reviews.jsonl"), [without("instruction") | {"instruction_id": second}])
    assert cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace).code == 0
    assert query(workspace, "SELECT instruction_id FROM reviews") == [(second,)]


def test_the_same_review_twice_in_a_file_names_both_lines(cli, workspace, ids) -> None:
    by_id = without("instruction") | {"instruction_id": ids[REVERSE], "rating": 2}
    write_jsonl(Path("reviews.jsonl"), [good(), good(reviewer="bob"), by_id])
    before = store_dump(workspace)
    run = cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 1
    assert (
        f"reviews.jsonl, line 3: a second review of instruction {ids[REVERSE]}'s m1 by alice "
        "(the first is on line 1)"
    ) in run.err
    assert store_dump(workspace) == before


def test_an_empty_or_missing_file_is_refused(cli, workspace, ids) -> None:
    before = store_dump(workspace)
    Path("empty.jsonl").write_text("\n  \n", encoding="utf-8")
    run = cli("import", "empty.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 1 and "empty.jsonl: empty (no rows to import)" in run.err
    run = cli("import", "gone.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 1 and "gone.jsonl: no such file" in run.err
    Path("folder").mkdir()
    run = cli("import", "folder", "--format", "reviews", "-w", workspace)
    assert run.code == 1 and "folder: a folder" in run.err
    assert store_dump(workspace) == before


@pytest.mark.parametrize(
    "option",
    [
        ["--model", "m1"],
        ["--reference", "gpt-4"],
        ["--judge", "gpt-4"],
        ["--preference", "style"],
        ["--partial"],
        ["--split", "train"],
        ["--limit", "1"],
    ],
)
def test_options_of_other_formats_are_refused(cli, workspace, ids, option: list[str]) -> None:
    write_jsonl(Path("reviews.jsonl"), [good()])
    before = store_dump(workspace)
    run = cli("import", "reviews.jsonl", "--format", "reviews", *option, "-w", workspace)
    assert run.code == 1
    assert f"--format reviews takes no {option[0]}:" in run.err
    assert store_dump(workspace) == before


def test_a_reviews_file_imported_without_its_format_is_refused_with_a_hint(
    cli, workspace, ids
) -> None:
    write_jsonl(
        Path("reviews.jsonl"),
        [{"instruction": REVERSE, "model": "m1", "rating": 4, "reviewer": "alice"}],
    )
    before = store_dump(workspace)
    for extra in ([], ["--preference", "style"]):
        run = cli("import", "reviews.jsonl", *extra, "-w", workspace)
        assert run.code == 1 and "--format reviews" in run.err
    assert store_dump(workspace) == before


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('{"instruction_id": 1, "model": "m1", "rating": 1, "rating": 5, "reviewer": "ann"}',
         "the key 'rating' is given twice"),
        ('{"instruction_id": 1180591620717411303424, "model": "m1", "rating": 5, '
         '"reviewer": "ann"}', "instruction_id"),
        ('{"instruction_id": 1, "model": "m1", "rating": 5, "reviewer": "\\u001b[31mred"}',
         "printable"),
        ('{"instruction_id": 1, "model": "m1", "rating": 5, "reviewer": "ann\\u0000x"}',
         "printable"),
        ('{"instruction_id": 1, "model": "m1", "rating": 5, "reviewer": "\\u200b"}',
         "printable"),
    ],
)  # fmt: skip
def test_hostile_lines_are_refused_in_one_line(cli, workspace, ids, line, said) -> None:
    Path("reviews.jsonl").write_text(line + "\n", encoding="utf-8")
    before = store_dump(workspace)
    run = cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 1 and said in run.err and "Traceback" not in run.err
    assert store_dump(workspace) == before


def test_csv_numbers_are_ascii_digits(cli, workspace, ids) -> None:
    for rating in ("²", "５"):
        with Path("reviews.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["instruction_id", "model", "rating", "reviewer"])
            writer.writerow([ids[SORT], "m3", rating, "dana"])
        run = cli("import", "reviews.csv", "--format", "reviews", "-w", workspace)
        assert run.code == 1 and "rating" in run.err and "Traceback" not in run.err


def test_the_same_file_under_another_path_changes_nothing(cli, workspace, ids) -> None:
    write_jsonl(
        Path("reviews.jsonl"),
        [{"instruction": REVERSE, "model": "m1", "rating": 4, "reviewer": "alice"}],
    )
    assert cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace).code == 0
    before = store_dump(workspace)
    again = cli("import", Path("reviews.jsonl").resolve(), "--format", "reviews", "-w", workspace)
    assert again.code == 0 and "0 new, 0 updated, 1 unchanged" in again.out
    assert store_dump(workspace) == before


def test_undo_in_the_workbench_never_removes_a_review_imported_since(cli, workspace, ids):
    from cuf_tui.store.db import open_store
    from cuf_tui.store.reviews import ReviewChanged, restore_review, review_of, write_review

    with open_store(workspace / "cuf.db") as store:
        before = write_review(store, ids[REVERSE], "m1", "ann", rating=4)
        after = review_of(store, ids[REVERSE], "m1", "ann")
    write_jsonl(
        Path("reviews.jsonl"),
        [{"instruction": REVERSE, "model": "m1", "rating": 1, "reviewer": "ann", "note": "x"}],
    )
    assert cli("import", "reviews.jsonl", "--format", "reviews", "-w", workspace).code == 0
    with open_store(workspace / "cuf.db") as store:
        with pytest.raises(ReviewChanged, match="changed since"):
            restore_review(store, ids[REVERSE], "m1", "ann", before, after)
        assert review_of(store, ids[REVERSE], "m1", "ann")["rating"] == 1


def test_a_csv_column_named_twice_is_refused(cli, workspace, ids) -> None:
    Path("twice.csv").write_text(
        f"instruction_id,model,rating,rating,reviewer\n{ids[SORT]},m3,3,4,ann\n", encoding="utf-8"
    )
    before = store_dump(workspace)
    run = cli("import", "twice.csv", "--format", "reviews", "-w", workspace)
    assert run.code == 1 and "'rating' is named twice" in run.err
    assert store_dump(workspace) == before
