"""End to end with a real model on each local engine: `cuf-tui demo-model` builds the engine
and SmolLM2-135M-Instruct (once per machine, in the cache folder): vLLM's CPU build, or
llama-cpp-python's server on the GGUF file. Then `cuf-tui generate` and `cuf-tui judge` run
with the workbench starting and stopping the server for each batch, and the judge answering
to a JSON schema.

Slow: a few minutes with the cache built, about 5 more the first time on a machine. Deselect
with `-m "not vllm and not llamacpp"` while working on something else; CI runs them.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from cuf_tui.demo.entries import add_to_workspace
from cuf_tui.demo.model import DemoModel, cache_folder, prepare
from cuf_tui.engines.server_processes import group_members
from cuf_tui.jobs.kinds.asking import REPAIR_SEPARATOR
from cuf_tui.workspace import init_workspace

ENGINES = [
    pytest.param("vllm", marks=pytest.mark.vllm),
    pytest.param("llamacpp", marks=pytest.mark.llamacpp),
]
CACHE = cache_folder()  # read before any test changes the environment

INSTRUCTIONS = [
    ("Write a Python function that returns the square of a number.", "readability"),
    ("Write a Python function that checks whether a string is a palindrome.", "complexity"),
    ("Explain what a Python list comprehension is, with one example.", "explanation"),
]


@pytest.fixture(scope="session")
def demo_models() -> dict[str, DemoModel]:
    return {}


@pytest.fixture
def demo_model(request: pytest.FixtureRequest, demo_models: dict[str, DemoModel]) -> DemoModel:
    engine = request.param
    if engine not in demo_models:
        lines: list[str] = []
        try:
            demo_models[engine] = prepare(lines.append, CACHE, engine)
        finally:
            print("\n".join(lines))
    return demo_models[engine]


@pytest.mark.parametrize("demo_model", ENGINES, indirect=True)
def test_generate_and_judge_with_a_real_model_on_the_cpu(cli, tmp_path, demo_model):
    name = demo_model.name
    ws = init_workspace(tmp_path / "demo")
    add_to_workspace(ws, demo_model)
    source = tmp_path / "instructions.jsonl"
    source.write_text(
        "".join(json.dumps({"instruction": i, "preference": p}) + "\n" for i, p in INSTRUCTIONS)
    )
    assert cli("import", source, "-w", ws.root).code == 0

    generated = cli("generate", "-w", ws.root)
    assert generated.code == 0, generated.err
    assert "3 done, 0 failed of 3" in generated.out
    with sqlite3.connect(ws.db_path) as db:
        answers = db.execute(
            "SELECT model, state, text, completion_tokens FROM responses"
        ).fetchall()
    assert len(answers) == 3
    for model, state, text, tokens in answers:
        assert (model, state) == (name, "done")
        assert text.strip() and tokens > 0

    judged = cli("judge", "-w", ws.root)
    assert judged.code == 0, judged.err
    assert "3 done, 0 failed of 3" in judged.out
    with sqlite3.connect(ws.db_path) as db:
        judgments = db.execute("SELECT id, state, raw_output FROM judgments").fetchall()
        ratings = db.execute(
            "SELECT judgment_id, rating, rationale FROM judgment_ratings"
        ).fetchall()
        servers = db.execute("SELECT model, state, pid, log_path FROM servers").fetchall()
    # Every answer is the schema's JSON object (the last one, when a repair was asked for),
    # read as JSON: one rated entry per response. llama.cpp's grammar may let a raw newline
    # into a string, which the reader takes (strict=False).
    assert [state for _, state, _ in judgments] == ["done"] * 3
    for _, _, raw in judgments:
        answer = json.loads(raw.split(REPAIR_SEPARATOR)[-1], strict=False)
        assert len(answer["ratings"]) == 1
        assert answer["ratings"][0]["rating"] in (1, 2, 3, 4, 5)
    assert len(ratings) == 3 and all(1 <= rating <= 5 for _, rating, _ in ratings)

    # Two servers, one per batch, each stopped with nothing of it left running.
    assert [(model, state) for model, state, _, _ in servers] == [(name, "stopped")] * 2
    for _, _, pid, log in servers:
        assert group_members(pid) == []
        assert "Application startup complete" in Path(log).read_text()


@pytest.mark.parametrize("demo_model", ENGINES[:1], indirect=True)
def test_a_bench_run_on_a_real_model(cli, tmp_path, demo_model):
    """CODAL-Bench with SmolLM2 on vLLM as the model under test and as the grader: the
    answers phase and the grades phase each start and stop their server."""
    ws = init_workspace(tmp_path / "bench")
    add_to_workspace(ws, demo_model)
    bench = tmp_path / "codal.jsonl"
    bench.write_text(
        "".join(
            json.dumps(
                {
                    "instruction": instruction,
                    "preference": preference,
                    "gpt-4-turbo_response": reference,
                }
            )
            + "\n"
            for instruction, preference, reference in (
                (
                    "Write a Python function that adds two numbers.",
                    "readability",
                    "```python\ndef add(a: float, b: float) -> float:\n    return a + b\n```",
                ),
                (
                    "Explain what `len()` does in Python.",
                    "explanation",
                    "`len(x)` returns the number of items in a container such as a list.",
                ),
            )
        )
    )
    assert cli("import", bench, "-w", ws.root).code == 0
    run = cli("bench", "--model", demo_model.name, "-w", ws.root)
    assert run.code == 0, run.err
    assert "4 done, 0 failed of 4" in run.out
    with sqlite3.connect(ws.db_path) as db:
        answers = db.execute("SELECT state, text FROM bench_answers").fetchall()
        grades = db.execute("SELECT state, rating, raw_output FROM bench_grades").fetchall()
        servers = db.execute("SELECT state, pid FROM servers").fetchall()
    assert [state for state, _ in answers] == ["done", "done"] and all(t for _, t in answers)
    for state, rating, raw in grades:  # the schema's JSON object, read as JSON
        assert state == "done" and 1 <= rating <= 10
        assert json.loads(raw.split(REPAIR_SEPARATOR)[-1], strict=False)["rating"] == rating
    assert [state for state, _ in servers] == ["stopped", "stopped"]
    assert all(group_members(pid) == [] for _, pid in servers)
    report = cli("bench-report", "--format", "json", "-w", ws.root)
    overall = [r for r in json.loads(report.out) if r["preference"] == "average"]
    assert overall[0]["model"] == demo_model.name and overall[0]["graded"] == 2
