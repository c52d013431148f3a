"""`cuf-tui export`: CodeUltraFeedback layout round trips, TRL DPO pairs, and file kinds."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import SAMPLE_CUF, cuf_row, query, read_jsonl, write_jsonl


@pytest.fixture
def sample(cli, workspace: Path) -> Path:
    assert cli("import", SAMPLE_CUF, "-w", workspace).code == 0
    return workspace


def test_cuf_round_trip_is_lossless(cli, sample: Path, tmp_path: Path) -> None:
    first = tmp_path / "first.jsonl"
    assert cli("export", "--format", "cuf", "--out", first, "-w", sample).code == 0
    second_ws = tmp_path / "again"
    assert cli("init", second_ws).code == 0
    assert cli("import", first, "-w", second_ws).code == 0
    second = tmp_path / "second.jsonl"
    assert cli("export", "--format", "cuf", "--out", second, "-w", second_ws).code == 0
    assert first.read_bytes() == second.read_bytes()
    original = {(r["instruction"], r["preference"]): r for r in read_jsonl(SAMPLE_CUF)}
    exported = read_jsonl(first)
    assert len(exported) == len(original) == 30
    for row in exported:
        source = original[(row["instruction"], row["preference"])]
        for column in ("models", "responses", "annotations", "judge", "judge_output"):
            assert row[column] == source[column], column


def test_dpo_pairs_follow_trl_conversational_layout(cli, sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "pairs.jsonl"
    run = cli("export", "--format", "dpo", "--out", out, "-w", sample)
    assert run.code == 0, run.err
    pairs = read_jsonl(out)
    assert "Wrote 29 pairs from 29 instructions (best-worst, ties drop, seed 42)" in run.out
    instructions = {r["instruction"]: r for r in read_jsonl(SAMPLE_CUF)}
    for pair in pairs:
        assert pair["prompt"][0]["role"] == "user" and len(pair["prompt"]) == 1
        assert pair["chosen"][0]["role"] == pair["rejected"][0]["role"] == "assistant"
        assert pair["rating_chosen"] > pair["rating_rejected"]
        assert pair["chosen"] != pair["rejected"]
        assert pair["judge"] == "gpt-3.5-turbo" and pair["judge_template_sha256"] == "imported"
        source = instructions[pair["prompt"][0]["content"]]
        ratings = {a["model"]: a["rating"] for a in source["annotations"]}
        numeric = [int(r) for r in ratings.values() if r != "N/A"]
        assert str(pair["rating_chosen"]) == ratings[pair["model_chosen"]] == str(max(numeric))
        assert str(pair["rating_rejected"]) == ratings[pair["model_rejected"]] == str(min(numeric))
        assert pair["preference"] == source["preference"]


def test_na_ratings_and_single_rating_rows_give_no_pair(cli, workspace, tmp_path) -> None:
    rows = [
        cuf_row("all the same", ratings={"a": "3", "b": "3", "c": "N/A"}),
        cuf_row("one rated", ratings={"a": "4", "b": "N/A"}),
        cuf_row("two rated", ratings={"a": "N/A", "b": "2", "c": "5"}),
        cuf_row("same text", ratings={"a": "5", "b": "1"}, texts={"a": "same", "b": "same"}),
    ]
    assert cli("import", write_jsonl(tmp_path / "in.jsonl", rows), "-w", workspace).code == 0
    out = tmp_path / "pairs.jsonl"
    assert cli("export", "--format", "dpo", "--out", out, "-w", workspace).code == 0
    pairs = read_jsonl(out)
    assert [(p["model_chosen"], p["model_rejected"]) for p in pairs] == [("c", "b")]


def test_a_human_review_replaces_the_judges_rating(cli, workspace, tmp_path) -> None:
    rows = [cuf_row("reviewed", ratings={"a": "5", "b": "1", "c": "N/A"})]
    assert cli("import", write_jsonl(tmp_path / "in.jsonl", rows), "-w", workspace).code == 0
    import sqlite3

    with sqlite3.connect(workspace / "cuf.db") as conn:
        conn.executemany(
            "INSERT INTO reviews (instruction_id, model, rating, flagged, reviewer) "
            "VALUES (1, ?, ?, ?, ?)",
            [
                ("a", 2, 0, "ann"),
                ("a", 1, 0, "bo"),  # with ann's 2: 1.5, a half rounded up
                ("c", 4, 0, "ann"),
                ("c", 3, 0, "bo"),
                ("c", None, 0, "cy"),  # no rating: not counted
                ("b", None, 1, "bo"),
            ],
        )
    out = tmp_path / "pairs.jsonl"
    assert cli("export", "--format", "dpo", "--out", out, "-w", workspace).code == 0
    (pair,) = read_jsonl(out)
    assert (pair["model_chosen"], pair["rating_chosen"]) == ("c", 4)  # 3.5 rounded up
    assert (pair["model_rejected"], pair["rating_rejected"]) == ("b", 1)
    assert pair["human_reviewed"] is True
    assert [r["reviewer"] for r in pair["review_chosen"]] == ["ann", "bo", "cy"]
    assert pair["review_rejected"] == [
        {"rating": None, "reviewer": "bo", "flagged": True, "note": None}
    ]
    assert (
        cli(
            "export",
            "--format",
            "dpo",
            "--out",
            out,
            "--force",
            "--exclude-flagged",
            "-w",
            workspace,
        ).code
        == 0
    )
    (pair,) = read_jsonl(out)
    assert (pair["model_chosen"], pair["model_rejected"]) == ("c", "a")
    assert pair["rating_rejected"] == 2


def test_exports_are_reproducible_and_the_seed_matters(cli, workspace, tmp_path) -> None:
    rows = [
        cuf_row(f"tie {i}", ratings={"a": "5", "b": "5", "c": "5", "d": "1"}) for i in range(30)
    ]
    assert cli("import", write_jsonl(tmp_path / "in.jsonl", rows), "-w", workspace).code == 0
    outputs = []
    for seed, name in ((1, "a"), (1, "b"), (2, "c")):
        out = tmp_path / f"{name}.jsonl"
        assert (
            cli("export", "--format", "dpo", "--out", out, "--seed", seed, "-w", workspace).code
            == 0
        )
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    assert outputs[0] != outputs[2]


def test_strategies_give_different_pair_counts(cli, sample: Path, tmp_path: Path) -> None:
    counts = {}
    for strategy in ("best-worst", "best-random", "all-pairs"):
        out = tmp_path / f"{strategy}.jsonl"
        assert (
            cli(
                "export", "--format", "dpo", "--strategy", strategy, "--out", out, "-w", sample
            ).code
            == 0
        )
        counts[strategy] = len(read_jsonl(out))
    assert counts["best-worst"] == counts["best-random"] == 29
    assert counts["all-pairs"] > 100


def test_parquet_and_datasets_folder_exports(cli, sample: Path, tmp_path: Path) -> None:
    import datasets

    parquet = tmp_path / "pairs.parquet"
    assert cli("export", "--format", "dpo", "--out", parquet, "-w", sample).code == 0
    table = pq.read_table(parquet)
    assert table.num_rows == 29 and "chosen" in table.column_names
    folder = tmp_path / "pairs"
    assert cli("export", "--format", "dpo", "--out", folder, "-w", sample).code == 0
    loaded = datasets.load_from_disk(str(folder))
    assert loaded.num_rows == 29
    assert loaded[0]["prompt"][0]["role"] == "user"
    # Exporting again with --force replaces the folder it wrote before.
    run = cli("export", "--format", "instructions", "--out", folder, "--force", "-w", sample)
    assert run.code == 0, run.err
    assert datasets.load_from_disk(str(folder)).column_names == [
        "instruction",
        "preference",
        "models",
    ]
    # A CUF parquet export imports back as the cuf layout.
    cuf = tmp_path / "cuf.parquet"
    assert cli("export", "--format", "cuf", "--out", cuf, "-w", sample).code == 0
    again = tmp_path / "again"
    assert cli("init", again).code == 0
    run = cli("import", cuf, "-w", again)
    assert "layout cuf" in run.out and "30 imported" in run.out


def test_export_refuses_what_it_should_not_write(cli, sample: Path, tmp_path: Path) -> None:
    precious = tmp_path / "mine"
    precious.mkdir()
    (precious / "notes.txt").write_text("keep me")
    run = cli("export", "--format", "dpo", "--out", precious, "-w", sample)
    assert run.code == 1 and "not a datasets folder; refusing to replace it" in run.err
    assert (precious / "notes.txt").read_text() == "keep me"
    run = cli("export", "--format", "dpo", "--out", tmp_path / "pairs.csv", "-w", sample)
    assert run.code == 1 and "unsupported suffix '.csv'" in run.err
    assert not (tmp_path / "pairs.csv").exists()


def test_an_empty_export_is_an_error_and_writes_nothing(cli, workspace: Path, tmp_path) -> None:
    out = tmp_path / "pairs.jsonl"
    run = cli("export", "--format", "dpo", "--out", out, "-w", workspace)
    assert run.code == 1 and "the store holds no instructions" in run.err
    assert not out.exists()
    assert list(tmp_path.glob(".pairs.jsonl*")) == []


def test_an_existing_export_survives_a_failed_one(cli, sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "pairs.jsonl"
    assert cli("export", "--format", "dpo", "--out", out, "-w", sample).code == 0
    before = out.read_bytes()
    run = cli(
        "export", "--format", "dpo", "--judge", "nobody", "--out", out, "--force", "-w", sample
    )
    assert run.code == 1
    assert "no judgments by 'nobody' (judges in the store: gpt-3.5-turbo)" in run.err
    assert out.read_bytes() == before


def test_instructions_export(cli, sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "instructions.jsonl"
    assert cli("export", "--format", "instructions", "--out", out, "-w", sample).code == 0
    rows = read_jsonl(out)
    assert len(rows) == 30
    assert set(rows[0]) == {"instruction", "preference", "models"}
    assert query(sample, "SELECT count(*) FROM instructions") == [(30,)]
    assert json.dumps(rows[0]["models"])


def _with_a_cut_off_response(cli, workspace: Path, tmp_path: Path) -> None:
    """One instruction rated a 5, b 3, and c 1, where c's answer was cut off at max_tokens."""
    rows = [cuf_row("cut off", ratings={"a": "5", "b": "3"})]
    assert cli("import", write_jsonl(tmp_path / "in.jsonl", rows), "-w", workspace).code == 0
    import sqlite3

    with sqlite3.connect(workspace / "cuf.db") as conn:
        conn.execute(
            "INSERT INTO responses (instruction_id, model, text, state, source, finish_reason) "
            "VALUES (1, 'c', 'def f(', 'done', 'generated', 'length')"
        )
        conn.execute(
            "INSERT INTO judgment_ratings (judgment_id, model, position_shown, rating, rationale) "
            "VALUES (1, 'c', 3, 1, 'it stops in the middle')"
        )
    conn.close()


def test_dpo_leaves_out_cut_off_responses_and_says_so(cli, workspace, tmp_path) -> None:
    _with_a_cut_off_response(cli, workspace, tmp_path)
    out = tmp_path / "pairs.jsonl"
    run = cli("export", "--format", "dpo", "--out", out, "-w", workspace)
    assert run.code == 0, run.err
    (pair,) = read_jsonl(out)
    assert (pair["model_chosen"], pair["model_rejected"]) == ("a", "b")
    assert "left out 1 response cut off at max_tokens (--include-truncated keeps them)" in run.out
    assert len(run.out.strip().splitlines()) == 1

    run = cli(
        "export", "--format", "dpo", "--out", out, "--force", "--include-truncated", "-w", workspace
    )
    assert run.code == 0, run.err
    (pair,) = read_jsonl(out)
    assert (pair["model_chosen"], pair["model_rejected"]) == ("a", "c")
    assert "left out" not in run.out


def test_dpo_says_when_only_cut_off_responses_could_make_a_pair(cli, workspace, tmp_path):
    rows = [cuf_row("only one whole", ratings={"a": "5"})]
    assert cli("import", write_jsonl(tmp_path / "in.jsonl", rows), "-w", workspace).code == 0
    import sqlite3

    with sqlite3.connect(workspace / "cuf.db") as conn:
        conn.execute(
            "INSERT INTO responses (instruction_id, model, text, state, source, finish_reason) "
            "VALUES (1, 'c', 'def f(', 'done', 'generated', 'length')"
        )
        conn.execute(
            "INSERT INTO judgment_ratings (judgment_id, model, position_shown, rating) "
            "VALUES (1, 'c', 2, 1)"
        )
    conn.close()
    out = tmp_path / "pairs.jsonl"
    run = cli("export", "--format", "dpo", "--out", out, "-w", workspace)
    assert run.code == 1
    assert "1 response cut off at max_tokens left out; --include-truncated keeps them" in run.err
    assert not out.exists()


def test_the_cuf_export_keeps_cut_off_responses(cli, workspace, tmp_path) -> None:
    _with_a_cut_off_response(cli, workspace, tmp_path)
    out = tmp_path / "cuf.jsonl"
    run = cli("export", "--format", "cuf", "--out", out, "-w", workspace)
    assert run.code == 0, run.err
    (row,) = read_jsonl(out)
    assert {"model": "c", "response": "def f("} in row["responses"]
    assert "left out" not in run.out
