"""The sample data: sample_data/*.jsonl is what tools/make_sample_data.py makes from its single
source, the TOML in tools/sample_source/; the shipped sample workspace builds from it; and
every row passes the project's own import."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from cuf_tui.resources import sample_data_dir
from cuf_tui.store.queries import table_counts
from cuf_tui.workspace import Workspace, ensure_sample_workspace
from tests.conftest import read_jsonl, write_jsonl

ROOT = Path(__file__).resolve().parent.parent
TOOL = ROOT / "tools" / "make_sample_data.py"
SAMPLE = sample_data_dir()


def _tool() -> ModuleType:
    if not TOOL.is_file():  # an sdist carries sample_data/ and tests/ but not tools/
        pytest.skip("tools/ is not here")
    spec = importlib.util.spec_from_file_location("make_sample_data", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _counts(root: Path) -> dict[str, int]:
    with Workspace(root).open_store() as store:
        return table_counts(store)


def test_the_shipped_jsonl_is_what_the_toml_source_makes() -> None:
    tool = _tool()
    built = tool.build()
    # Every shipped JSONL file is made from the source: none is a copy nothing checks.
    assert set(built) == {path.name for path in (ROOT / "sample_data").glob("*.jsonl")}
    for name, text in built.items():
        shipped = (ROOT / "sample_data" / name).read_bytes()
        assert shipped == text.encode("utf-8"), (
            f"sample_data/{name} differs from tools/sample_source/: "
            "run `python tools/make_sample_data.py`"
        )
    assert tool.main(["--check"]) == 0


def test_the_sample_workspace_builds_from_sample_data(tmp_path: Path) -> None:
    root = tmp_path / "sample"
    workspace = ensure_sample_workspace(root)
    assert workspace.root == root
    assert workspace.config.workspace.name == "sample"
    counts = _counts(root)
    assert {name: n for name, n in counts.items() if n} == {
        "instructions": 30,
        "responses": 120,
        "judgments": 30,
        "judgments_unparsed": 1,
        "bench_items": 10,
        "bench_references": 20,
        "bench_answers": 20,
        "bench_grades": 20,
    }
    with workspace.open_store() as store:
        unreadable = store.scalar("SELECT count(*) FROM bench_grades WHERE state = 'unparsed'")
    assert unreadable == 1


def test_every_sample_row_passes_the_import(cli, workspace: Path, tmp_path: Path) -> None:
    """Each file through `cuf-tui import` into a fresh workspace: every row is checked before
    anything is stored, so exit 0 and the counts mean every row passed."""
    for name in ("codeultrafeedback.jsonl", "codal_bench.jsonl"):
        run = cli("import", SAMPLE / name, "-w", workspace)
        assert run.code == 0, run.err
    # The graded answers, model by model, as answers to the bench items just imported.
    graded = read_jsonl(SAMPLE / "codal_bench_graded.jsonl")
    for model in dict.fromkeys(row["model"] for row in graded):
        rows = [row for row in graded if row["model"] == model]
        path = write_jsonl(tmp_path / f"{model}.jsonl", rows)
        run = cli("import", path, "--format", "answers", "--model", model, "-w", workspace)
        assert run.code == 0, run.err
        assert f"{len(rows)} rows" in run.out
    counts = _counts(workspace)
    assert (counts["instructions"], counts["responses"], counts["judgments"]) == (30, 120, 30)
    assert (counts["bench_items"], counts["bench_references"]) == (10, 20)
    assert counts["bench_answers"] == len(graded) == 20


def test_every_sample_judgment_keeps_the_answer_its_ratings_are_read_from() -> None:
    import json

    from cuf_tui.core.judge_output import read_judge_output
    from cuf_tui.resources import sample_data_dir

    rows = [
        json.loads(line)
        for line in (sample_data_dir() / "codeultrafeedback.jsonl").read_text().splitlines()
    ]
    for row in rows:
        assert row["judge_output"], row["instruction"][:40]
        read = read_judge_output(row["judge_output"], len(row["annotations"]))
        got = [read.at(i + 1).rating for i in range(len(row["annotations"]))]
        expected = [None if a["rating"] == "N/A" else int(a["rating"]) for a in row["annotations"]]
        assert got == expected
