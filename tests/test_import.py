"""`cuf-tui import`: every source kind and layout, idempotence, and bad input that leaves the
store exactly as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import (
    SAMPLE_CODAL,
    SAMPLE_CUF,
    cuf_row,
    query,
    read_jsonl,
    store_dump,
    write_jsonl,
)


def test_cuf_jsonl_imports_instructions_responses_and_annotations(cli, workspace: Path) -> None:
    run = cli("import", SAMPLE_CUF, "-w", workspace)
    assert run.code == 0, run.err
    assert "layout cuf (picked from the columns)" in run.out
    assert "instructions: 30 imported, 0 already present" in run.out
    assert "responses: 120 imported; judgments: 30 imported" in run.out
    rows = read_jsonl(SAMPLE_CUF)
    first = rows[0]
    stored = query(
        workspace,
        "SELECT r.model, r.text, jr.rating, jr.rationale FROM instructions i "
        "JOIN responses r ON r.instruction_id = i.id "
        "JOIN judgments j ON j.instruction_id = i.id "
        "JOIN judgment_ratings jr ON jr.judgment_id = j.id AND jr.model = r.model "
        "WHERE i.text = ? ORDER BY r.id",
        (first["instruction"],),
    )
    expected = [
        (
            r["model"],
            r["response"],
            None if a["rating"] == "N/A" else int(a["rating"]),
            a["rationale"],
        )
        for r, a in zip(first["responses"], first["annotations"], strict=True)
    ]
    assert stored == expected
    assert query(workspace, "SELECT count(*) FROM judgment_ratings WHERE rating IS NULL")[0][0] >= 3
    assert query(workspace, "SELECT count(*) FROM judgments WHERE state = 'unparsed'") == [(1,)]


def test_importing_the_same_source_twice_adds_nothing(cli, workspace: Path) -> None:
    assert cli("import", SAMPLE_CUF, "-w", workspace).code == 0
    before = store_dump(workspace)
    run = cli("import", SAMPLE_CUF, "-w", workspace)
    assert run.code == 0
    assert "instructions: 0 imported, 30 already present" in run.out
    assert "responses: 0 imported; judgments: 0 imported" in run.out
    after = [line for line in store_dump(workspace) if 'INSERT INTO "imports"' not in line]
    assert after == [line for line in before if 'INSERT INTO "imports"' not in line]


def test_codal_bench_imports_items_and_references(cli, workspace: Path) -> None:
    run = cli("import", SAMPLE_CODAL, "-w", workspace)
    assert run.code == 0, run.err
    assert "layout codal" in run.out and "bench items: 10 imported" in run.out
    assert "reference answers: 20 imported" in run.out
    assert query(
        workspace, "SELECT preference, count(*) FROM bench_items GROUP BY 1 ORDER BY 1"
    ) == [
        ("complexity", 2),
        ("explanation", 2),
        ("instruction-following", 2),
        ("readability", 2),
        ("style", 2),
    ]
    assert query(workspace, "SELECT DISTINCT model FROM bench_references ORDER BY 1") == [
        ("gpt-3.5-turbo",),
        ("gpt-4-turbo",),
    ]


def test_instructions_with_one_preference_for_all_rows(
    cli, workspace: Path, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "mine.jsonl", [{"instruction": f"task {i}"} for i in range(5)])
    run = cli("import", source, "-w", workspace, "--preference", "complexity")
    assert run.code == 0, run.err
    assert "layout instructions" in run.out
    assert query(workspace, "SELECT DISTINCT preference, models FROM instructions") == [
        ("complexity", "[]")
    ]


def test_a_later_cuf_import_brings_responses_to_bare_instructions(cli, workspace, tmp_path) -> None:
    row = cuf_row()
    bare = write_jsonl(
        tmp_path / "bare.jsonl",
        [{"instruction": row["instruction"], "preference": row["preference"]}],
    )
    full = write_jsonl(tmp_path / "full.jsonl", [row])
    assert cli("import", bare, "-w", workspace).code == 0
    run = cli("import", full, "-w", workspace)
    assert "0 imported, 1 already present" in run.out and "responses: 4 imported" in run.out
    assert query(workspace, "SELECT models FROM instructions") == [(json.dumps(row["models"]),)]


def test_limit_takes_the_first_rows(cli, workspace: Path) -> None:
    run = cli("import", SAMPLE_CUF, "-w", workspace, "--limit", "3")
    assert run.code == 0 and "3 rows" in run.out
    assert query(workspace, "SELECT count(*) FROM instructions") == [(3,)]


def test_the_layout_can_be_forced(cli, workspace: Path) -> None:
    run = cli("import", SAMPLE_CUF, "-w", workspace, "--format", "instructions")
    assert run.code == 0 and "layout instructions (as asked)" in run.out
    assert query(workspace, "SELECT count(*) FROM responses") == [(0,)]
    run = cli("import", SAMPLE_CODAL, "-w", workspace, "--format", "cuf")
    assert run.code == 1
    assert "needs column(s) annotations, responses" in run.err


def test_json_csv_parquet_and_datasets_folders(cli, workspace: Path, tmp_path: Path) -> None:
    import datasets

    rows = [cuf_row(f"task {i}", pref) for i, pref in enumerate(["style", "explanation"])]
    (tmp_path / "a.json").write_text(json.dumps([rows[0]]), encoding="utf-8")
    with (tmp_path / "b.csv").open("w", encoding="utf-8", newline="") as handle:
        import csv

        writer = csv.writer(handle)
        writer.writerow(["instruction", "preference", "models", "responses", "annotations"])
        writer.writerow(
            [
                rows[1]["instruction"],
                rows[1]["preference"],
                *(json.dumps(rows[1][c]) for c in ("models", "responses", "annotations")),
            ]
        )
    pq.write_table(pa.Table.from_pylist([cuf_row("task 2", "complexity")]), tmp_path / "c.parquet")
    datasets.Dataset.from_list([cuf_row("task 3", "readability")]).save_to_disk(tmp_path / "d")
    datasets.DatasetDict(
        {
            "train": datasets.Dataset.from_list([{"instruction": "task 4", "preference": "style"}]),
            "test": datasets.Dataset.from_list([{"instruction": "task 5", "preference": "style"}]),
        }
    ).save_to_disk(tmp_path / "e")

    for name in ("a.json", "b.csv", "c.parquet", "d"):
        run = cli("import", tmp_path / name, "-w", workspace)
        assert run.code == 0, (name, run.err)
        assert "layout cuf" in run.out and "1 imported" in run.out
    run = cli("import", tmp_path / "e", "-w", workspace)
    assert run.code == 0 and "[train]" in run.out
    run = cli("import", tmp_path / "e", "-w", workspace, "--split", "test")
    assert run.code == 0 and "[test]" in run.out
    run = cli("import", tmp_path / "e", "-w", workspace, "--split", "validation")
    assert run.code == 1 and "no split 'validation' (splits: train, test)" in run.err
    assert query(workspace, "SELECT count(*) FROM instructions") == [(6,)]
    assert query(workspace, "SELECT count(*) FROM responses") == [(16,)]


def _bad_sources(tmp_path: Path) -> list[tuple[str, bytes, str]]:
    good = json.dumps(cuf_row("fine")) + "\n"

    def with_row(change) -> bytes:
        row = cuf_row("broken")
        change(row)
        return (good + json.dumps(row) + "\n").encode()

    return [
        (
            "invalid.jsonl",
            (good + '{"instruction": "x",\n').encode(),
            "invalid.jsonl, line 2: invalid JSON: Expecting property name enclosed in double",
        ),
        (
            "missing.jsonl",
            with_row(lambda r: r.pop("preference")),
            "missing.jsonl, line 2, field 'preference': missing",
        ),
        (
            "unknown.jsonl",
            with_row(lambda r: r.update(preference="speed")),
            "unknown.jsonl, line 2, field 'preference': unknown preference 'speed'",
        ),
        (
            "wrongtype.jsonl",
            with_row(lambda r: r["responses"][0].update(response=42)),
            "wrongtype.jsonl, line 2, field 'responses[0].response': expected text, got a number",
        ),
        (
            "rating.jsonl",
            with_row(lambda r: r["annotations"][3].update(rating="0")),
            "rating.jsonl, line 2, field 'annotations[3].rating'",
        ),
        (
            "latin1.jsonl",
            good.encode() + '{"instruction": "caf\u00e9"}\n'.encode("latin-1"),
            "latin1.jsonl, line 2: not UTF-8 text (byte 0xe9 at column 21)",
        ),
        ("empty.jsonl", b"", "empty.jsonl: empty"),
        ("blank.jsonl", b"\n  \n", "blank.jsonl: empty"),
        (
            "array.jsonl",
            (good + "[1, 2]\n").encode(),
            "array.jsonl, line 2: expected a JSON object",
        ),
        ("nocolumn.jsonl", b'{"prompt": "x"}\n', "nocolumn.jsonl: no 'instruction' column"),
        (
            "short.csv",
            b"instruction,preference\nfine,style\nonly one cell\n",
            "short.csv, line 3: 1 cells where the header has 2",
        ),
        (
            "badcell.csv",
            b"instruction,preference,responses,annotations\nx,style,[oops,[]\n",
            "badcell.csv, line 2, field 'responses': a CSV cell for a list must hold JSON",
        ),
        (
            "array.json",
            b'[{"instruction": "a", "preference": "style"}, 3]',
            "array.json, row 2: expected a JSON object, got a number",
        ),
        (
            "surrogate.jsonl",
            with_row(lambda r: r.update(instruction="x \ud83d")),
            "surrogate.jsonl, line 2, field 'instruction': '\\ud83d' is half of a UTF-16 "
            "surrogate pair",
        ),
        (
            "surrogate2.jsonl",
            with_row(lambda r: r["responses"][1].update(response="ok \udc00 ok")),
            "surrogate2.jsonl, line 2, field 'responses[1].response': '\\udc00' is half of",
        ),
        ("notes.txt", b"instruction\n", "notes.txt: unsupported file type '.txt'"),
        ("broken.parquet", b"PAR1 not really", "broken.parquet: not a readable Parquet file"),
    ]


@pytest.mark.parametrize("case", range(17))
def test_bad_input_names_file_line_and_field_and_leaves_the_store(
    cli, workspace: Path, tmp_path: Path, case: int
) -> None:
    assert cli("import", SAMPLE_CUF, "-w", workspace, "--limit", "2").code == 0
    name, data, message = _bad_sources(tmp_path)[case]
    before = store_dump(workspace)
    source = tmp_path / name
    source.write_bytes(data)
    run = cli("import", source, "-w", workspace)
    assert run.code == 1
    assert run.out == ""
    assert run.err.startswith("cuf-tui: error: ")
    assert message in run.err, run.err
    assert len(run.err.strip().splitlines()) == 1
    assert store_dump(workspace) == before


def test_bad_sources_cover_every_case(tmp_path: Path) -> None:
    assert len(_bad_sources(tmp_path)) == 17


def test_a_missing_path_and_an_unknown_hub_id(cli, workspace: Path) -> None:
    run = cli("import", "./nowhere.jsonl", "-w", workspace)
    assert run.code == 1 and "./nowhere.jsonl: no such file or folder" in run.err
    # A name that is no local path is a Hub id; offline (as here), the Hub's error is reported.
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "cuf_tui",
            "import",
            "no-such-owner/no-such-dataset",
            "-w",
            str(workspace),
        ],
        capture_output=True,
        text=True,
        env={**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"},
        timeout=120,
    )
    assert result.returncode == 1
    assert (
        "no-such-owner/no-such-dataset: not a local file or folder, and loading it as a "
        "Hugging Face dataset failed" in result.stderr
    )
    assert query(workspace, "SELECT count(*) FROM imports") == [(0,)]


def test_a_folder_not_written_by_datasets_is_refused(cli, workspace: Path, tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    run = cli("import", tmp_path / "plain", "-w", workspace)
    assert run.code == 1 and "not one written by datasets.save_to_disk" in run.err


def test_a_workspace_that_does_not_exist_is_an_error(cli, tmp_path: Path) -> None:
    run = cli("import", SAMPLE_CUF, "-w", tmp_path / "nope")
    assert run.code == 1
    assert "not a workspace (no such folder); make one with `cuf-tui init" in run.err
