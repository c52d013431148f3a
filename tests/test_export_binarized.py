"""`cuf-tui export --format binarized`: the paper's binarized layout, ties kept or dropped, and
the train/test split stratified by preference, read back with `datasets`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from cuf_tui.core.preferences import PREFERENCES
from tests.conftest import read_jsonl, write_jsonl

MODELS = ["m-a", "m-b", "m-c", "m-d"]


def graded_rows(count: int) -> list[dict]:
    """CodeUltraFeedback rows whose ratings make every case: a clear best and worst, every
    rating tied (each fifth row), and N/A ratings (each seventh row)."""
    rows = []
    for i in range(count):
        ratings = [1 + (i + k) % 5 for k in range(4)]
        if i % 5 == 0:
            ratings = [3, 3, 3, 3]
        annotations = [
            {
                "model": model,
                "rating": "N/A" if i % 7 == 0 and k < 2 else str(rating),
                "rationale": f"why {k}",
            }
            for k, (model, rating) in enumerate(zip(MODELS, ratings, strict=True))
        ]
        rows.append(
            {
                "instruction": f"Task {i}: write function {i}.",
                "preference": PREFERENCES[i % 5],
                "models": MODELS,
                "responses": [{"model": m, "response": f"answer {i} by {m}"} for m in MODELS],
                "annotations": annotations,
            }
        )
    return rows


def expected_pairs(rows: list[dict], ties: str) -> int:
    pairs = 0
    for row in rows:
        rated = [int(a["rating"]) for a in row["annotations"] if a["rating"] != "N/A"]
        if len(rated) >= 2 and (len(set(rated)) > 1 or ties == "keep"):
            pairs += 1
    return pairs


@pytest.fixture
def graded(cli, workspace: Path, tmp_path: Path) -> tuple[Path, list[dict]]:
    rows = graded_rows(200)
    source = write_jsonl(tmp_path / "graded.jsonl", rows)
    assert cli("import", source, "-w", workspace).code == 0
    return workspace, rows


def test_binarized_keeps_every_column_and_ties_by_default(cli, graded, tmp_path) -> None:
    from datasets import load_dataset

    workspace, rows = graded
    out = tmp_path / "binarized.jsonl"
    run = cli("export", "--format", "binarized", "--out", out, "-w", workspace)
    assert run.code == 0, run.err
    assert "ties keep" in run.out
    loaded = load_dataset("json", data_files=str(out), split="train")
    assert loaded.num_rows == expected_pairs(rows, "keep") == 200
    for column in ("instruction", "preference", "models", "responses", "annotations"):
        assert column in loaded.column_names
    for column in ("chosen", "rejected", "rating_chosen", "rating_rejected"):
        assert column in loaded.column_names
    assert {"model_chosen", "model_rejected"} <= set(loaded.column_names)
    source = {r["instruction"]: r for r in rows}
    ties = 0
    for row in loaded:
        assert isinstance(row["chosen"], str) and isinstance(row["rejected"], str)
        assert row["chosen"] != row["rejected"]
        ratings = {
            a["model"]: int(a["rating"])
            for a in source[row["instruction"]]["annotations"]
            if a["rating"] != "N/A"
        }
        assert row["rating_chosen"] == ratings[row["model_chosen"]] == max(ratings.values())
        assert row["rating_rejected"] == ratings[row["model_rejected"]] == min(ratings.values())
        assert (
            row["chosen"]
            == f"answer {row['instruction'].split(':')[0][5:]} by {row['model_chosen']}"
        )
        ties += row["rating_chosen"] == row["rating_rejected"]
    assert ties == 40  # each fifth row ties

    dropped = tmp_path / "dropped.jsonl"
    run = cli(
        "export", "--format", "binarized", "--ties", "drop", "--out", dropped, "-w", workspace
    )
    assert run.code == 0, run.err
    assert len(read_jsonl(dropped)) == expected_pairs(rows, "drop") == 160
    assert "40 instructions gave no pair (fewer than two rated responses, or tied)" in run.out


def test_dpo_drops_ties_unless_told_to_keep_them(cli, graded, tmp_path) -> None:
    workspace, rows = graded
    for ties, expected in (("drop", 160), ("keep", 200)):
        out = tmp_path / f"dpo-{ties}.jsonl"
        args = ["export", "--format", "dpo", "--out", out, "-w", workspace]
        run = cli(*args, *([] if ties == "drop" else ["--ties", "keep"]))
        assert run.code == 0, run.err
        assert len(read_jsonl(out)) == expected_pairs(rows, ties) == expected


def test_the_split_is_stratified_by_preference_and_seeded(cli, graded, tmp_path) -> None:
    from datasets import load_dataset, load_from_disk

    workspace, rows = graded
    out = tmp_path / "cuf-binarized.jsonl"
    args = ["export", "--format", "binarized", "--test-size", "0.05", "-w", workspace]
    run = cli(*args, "--out", out)
    assert run.code == 0, run.err
    assert "train 190, test 10" in run.out
    train, test = tmp_path / "cuf-binarized-train.jsonl", tmp_path / "cuf-binarized-test.jsonl"
    splits = load_dataset("json", data_files={"train": str(train), "test": str(test)})
    assert (splits["train"].num_rows, splits["test"].num_rows) == (190, 10)
    # 40 pairs of each preference: 2 of each in test.
    assert Counter(splits["test"]["preference"]) == {p: 2 for p in PREFERENCES}
    assert not set(splits["train"]["instruction"]) & set(splits["test"]["instruction"])
    first = set(splits["test"]["instruction"])

    # The same seed gives the same split; a datasets folder holds both splits.
    folder = tmp_path / "hf"
    run = cli(*args, "--out", f"{folder}/")
    assert run.code == 0, run.err
    saved = load_from_disk(str(folder))
    assert set(saved) == {"train", "test"}
    assert set(saved["test"]["instruction"]) == first
    assert saved["train"].num_rows == 190

    # --format hf: the same, as a datasets folder whatever the path says.
    hf = tmp_path / "hf-dataset.d"
    run = cli("export", "--format", "hf", "--test-size", "0.05", "--out", hf, "-w", workspace)
    assert run.code == 0, run.err
    assert set(load_from_disk(str(hf))["test"]["instruction"]) == first

    other = tmp_path / "other.jsonl"
    run = cli(*args, "--seed", "7", "--out", other)
    assert run.code == 0, run.err
    assert {r["instruction"] for r in read_jsonl(tmp_path / "other-test.jsonl")} != first


def test_a_split_that_would_overwrite_is_refused_before_any_work(cli, graded, tmp_path) -> None:
    workspace, _ = graded
    (tmp_path / "pairs-test.jsonl").write_text("keep me\n")
    run = cli(
        "export",
        "--format",
        "binarized",
        "--test-size",
        "0.05",
        "--out",
        tmp_path / "pairs.jsonl",
        "-w",
        workspace,
    )
    assert run.code != 0 and "pairs-test.jsonl: exists" in run.err
    assert (tmp_path / "pairs-test.jsonl").read_text() == "keep me\n"
    assert not (tmp_path / "pairs-train.jsonl").exists()
    tiny = cli(
        "export",
        "--format",
        "binarized",
        "--test-size",
        "0.001",
        "--out",
        tmp_path / "tiny.jsonl",
        "-w",
        workspace,
    )
    assert tiny.code != 0 and "leaves the test split empty" in tiny.err
    assert not list(tmp_path.glob("tiny*"))
    bad = cli(
        "export",
        "--format",
        "binarized",
        "--test-size",
        "1.5",
        "--out",
        tmp_path / "x.jsonl",
        "-w",
        workspace,
    )
    assert bad.code != 0 and "between 0 and 1" in bad.err


def test_reviews_travel_with_the_rows_and_flags_can_keep_a_response_out(
    cli, graded, tmp_path, monkeypatch
) -> None:
    from cuf_tui.store.db import open_store
    from cuf_tui.store.reviews import write_review

    workspace, rows = graded
    first = tmp_path / "before.jsonl"
    assert cli("export", "--format", "binarized", "--out", first, "-w", workspace).code == 0
    pair = read_jsonl(first)[1]  # a pair with a clear best and worst
    instruction_id = 2
    assert pair["instruction"] == rows[1]["instruction"]
    monkeypatch.setenv("CUF_TUI_REVIEWER", "ada")
    with open_store(workspace / "cuf.db") as store:
        write_review(store, instruction_id, pair["model_chosen"], flagged=1, note="copies a blog")
        write_review(store, instruction_id, pair["model_rejected"], rating=1)

    kept = tmp_path / "kept.jsonl"
    assert cli("export", "--format", "binarized", "--out", kept, "-w", workspace).code == 0
    row = read_jsonl(kept)[1]
    assert row["model_chosen"] == pair["model_chosen"]  # flags change nothing unless asked
    assert row["review_chosen"] == [
        {"rating": None, "reviewer": "ada", "flagged": True, "note": "copies a blog"}
    ]
    (rejected,) = row["review_rejected"]
    assert rejected["rating"] == 1 and rejected["reviewer"] == "ada"
    assert {r["model"] for r in row["reviews"]} == {pair["model_chosen"], pair["model_rejected"]}

    out = tmp_path / "unflagged.jsonl"
    run = cli("export", "--format", "binarized", "--exclude-flagged", "--out", out, "-w", workspace)
    assert run.code == 0, run.err
    row = next(r for r in read_jsonl(out) if r["instruction"] == pair["instruction"])
    assert pair["model_chosen"] not in (row["model_chosen"], row["model_rejected"])
    assert pair["model_chosen"] not in {r["model"] for r in row["responses"]}
    dpo = tmp_path / "dpo.jsonl"
    args = ["export", "--format", "dpo", "--exclude-flagged", "--out", dpo, "-w", workspace]
    assert cli(*args).code == 0
    assert all(
        pair["model_chosen"] not in (r["model_chosen"], r["model_rejected"])
        for r in read_jsonl(dpo)
        if r["prompt"][0]["content"] == pair["instruction"]
    )

    reviewed = tmp_path / "reviewed.jsonl"
    run = cli("export", "--format", "cuf", "--reviewed-only", "--out", reviewed, "-w", workspace)
    assert run.code == 0, run.err
    (only,) = read_jsonl(reviewed)
    assert [r["model"] for r in only["responses"]] == [pair["model_rejected"]]
    assert only["models"] == [pair["model_rejected"]]


def test_an_export_the_review_filters_empty_says_so(cli, graded, tmp_path, monkeypatch) -> None:
    from cuf_tui.store.db import open_store
    from cuf_tui.store.reviews import write_review

    workspace, _ = graded
    with open_store(workspace / "cuf.db") as store:
        every = store.db.execute("SELECT instruction_id, model FROM responses").fetchall()
        for instruction_id, model in every:
            write_review(store, instruction_id, model, flagged=1)
    out = tmp_path / "none.jsonl"
    run = cli("export", "--format", "dpo", "--exclude-flagged", "--out", out, "-w", workspace)
    assert run.code != 0 and not out.exists()
    said = " ".join(run.err.split())
    assert f"--exclude-flagged left out the {len(every)} responses a reviewer flagged" in said
    assert "ratings by any judge" not in said  # the judge is not to blame
    run = cli("export", "--format", "cuf", "--reviewed-only", "--out", out, "-w", workspace)
    said = " ".join(run.err.split())
    assert run.code != 0 and "--reviewed-only kept only the 0 responses a reviewer rated" in said


def test_review_filters_on_the_instructions_layout_are_refused(cli, graded, tmp_path) -> None:
    workspace, _ = graded
    out = tmp_path / "instructions.jsonl"
    for option in ("--exclude-flagged", "--reviewed-only"):
        run = cli("export", "--format", "instructions", option, "--out", out, "-w", workspace)
        assert run.code != 0 and not out.exists()
        assert f"{option} chooses among responses" in " ".join(run.err.split())
