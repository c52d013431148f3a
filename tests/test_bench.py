"""CODAL-Bench runs (`cuf-tui bench`), answers imported from elsewhere, and the leaderboard,
against the loopback fault-injecting server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cuf_tui.analysis.leaderboard import OVERALL, leaderboard
from cuf_tui.core.preferences import PREFERENCES
from tests.batch_helpers import make_workspace, model_entry, rows, wait_for
from tests.fake_openai import expected_rating


def bench_workspace(
    root: Path, base_url: str, models: list[str], judges: list[str], items: int = 10, **extra
) -> Path:
    return make_workspace(
        root, base_url, models, judges, instructions=[], bench_items=items, seed=5, **extra
    )


def test_a_bench_run_answers_then_grades_each_item_once(cli, server, tmp_path):
    ws = bench_workspace(tmp_path / "ws", server.base_url, ["alpha-flaky500"], ["judge-markdown"])
    run = cli("bench", "--model", "alpha-flaky500", "--reference", "gpt-4-turbo", "-w", ws)
    assert run.code == 0, run.err
    assert "20 done, 0 failed of 20" in run.out
    answers = rows(ws, "SELECT bench_item_id, model, state, text, principle FROM bench_answers")
    assert len(answers) == 10 and all(a[2] == "done" for a in answers)
    assert all(a[3].endswith("-- answered by alpha-flaky500") and a[4] for a in answers)
    grades = rows(ws, "SELECT judge, reference_model, rating, rationale, state FROM bench_grades")
    assert len(grades) == 10
    expected = 2 * expected_rating("alpha-flaky500")
    assert {g[:3] for g in grades} == {("judge-markdown", "gpt-4-turbo", expected)}
    assert all(g[4] == "done" and "material" in g[3] for g in grades)
    # The grader saw the reference it was asked for, and the answer under test.
    graded = [r for r in server.requests if r.model == "judge-markdown"]
    assert all("Reference" in r.messages[1]["content"] for r in graded)
    assert all("gpt-4-turbo" in r.messages[1]["content"] for r in graded)

    again = cli("bench", "--model", "alpha-flaky500", "--reference", "gpt-4-turbo", "-w", ws)
    assert "Nothing to do" in again.out
    # Another reference is another grade of the same answers; the answers are not redone.
    before = len(server.requests)
    other = cli("bench", "--model", "alpha-flaky500", "--reference", "gpt-3.5-turbo", "-w", ws)
    assert other.code == 0, other.err
    assert "5 done, 0 failed of 5" in other.out  # only odd items have a gpt-3.5 reference
    assert "5 bench items have no reference answer from gpt-3.5-turbo" in other.err
    assert all(r.model == "judge-markdown" for r in server.requests[before:])
    assert rows(ws, "SELECT count(*) FROM bench_grades") == [(15,)]
    assert rows(ws, "SELECT count(*) FROM bench_answers") == [(10,)]


def test_several_references_must_be_chosen(cli, server, tmp_path):
    ws = bench_workspace(tmp_path / "ws", server.base_url, ["alpha"], ["judge-markdown"])
    run = cli("bench", "--model", "alpha", "-w", ws)
    assert run.code != 0
    assert "choose a reference with --reference" in run.err and "gpt-4-turbo (10 items)" in run.err
    assert rows(ws, "SELECT count(*) FROM jobs") == [(0,)]


def test_unreadable_grades_are_repaired_once_then_kept_as_unparsed(cli, server, tmp_path):
    ws = bench_workspace(
        tmp_path / "ws", server.base_url, ["beta"], ["judge-garbage", "judge-garbagealways"]
    )
    for judge in ("judge-garbage", "judge-garbagealways"):
        run = cli(
            "bench", "--model", "beta", "--judge", judge, "--reference", "gpt-4-turbo", "-w", ws
        )
        assert run.code == 0, run.err
    states = dict(
        rows(
            ws,
            "SELECT judge, group_concat(DISTINCT state || ':' || repaired || ':' || "
            "coalesce(rating, 'none')) FROM bench_grades GROUP BY judge",
        )
    )
    assert states == {
        "judge-garbage": f"done:1:{2 * expected_rating('beta')}",
        "judge-garbagealways": "unparsed:0:none",
    }
    raw = rows(ws, "SELECT raw_output FROM bench_grades WHERE state = 'unparsed' LIMIT 1")[0][0]
    assert "A fine answer overall" in raw and "answer to the repair request" in raw


def test_the_report_counts_unparsed_grades_as_zero_and_gives_the_readable_mean_beside(
    cli, server, tmp_path
):
    ws = bench_workspace(
        tmp_path / "ws", server.base_url, ["alpha", "delta"], ["judge-markdown"], items=10
    )
    for model in ("alpha", "delta"):
        run = cli("bench", "--model", model, "--reference", "gpt-4-turbo", "-w", ws)
        assert run.code == 0, run.err
    # Two of delta's grades become unreadable.
    import sqlite3

    with sqlite3.connect(ws / "cuf.db") as db:
        db.execute(
            "UPDATE bench_grades SET rating = NULL, state = 'unparsed' WHERE id IN (SELECT g.id "
            "FROM bench_grades g JOIN bench_answers a ON a.id = g.bench_answer_id "
            "WHERE a.model = 'delta' ORDER BY g.id LIMIT 2)"
        )
    report = cli("bench-report", "--format", "json", "-w", ws)
    assert report.code == 0, report.err
    records = {(r["model"], r["preference"]): r for r in json.loads(report.out)}
    alpha = records[("alpha", OVERALL)]
    assert alpha["score"] == 10.0 and alpha["ci95_low"] == alpha["ci95_high"] == 10.0
    assert alpha["unparsed"] == 0 and alpha["graded"] == 10 and alpha["rank"] == 1
    delta = records[("delta", OVERALL)]
    assert delta["mean_readable"] == 2.0 and delta["unparsed"] == 2 and delta["graded"] == 10
    # Two preferences of two items each lost one grade: (1 + 1 + 2 + 2 + 2) / 5.
    assert delta["score"] == pytest.approx(1.6) and delta["rank"] == 2
    table = cli("bench-report", "-w", ws).out
    assert "judge judge-markdown, reference gpt-4-turbo" in table
    assert table.index("alpha") < table.index("delta")  # best first
    out = tmp_path / "board.md"
    assert cli("bench-report", "--format", "markdown", "--out", out, "-w", ws).code == 0
    assert out.read_text().startswith("### CODAL-Bench") and "| alpha |" in out.read_text()


def test_intervals_narrow_with_more_items():
    from tests.test_bench_score import Grade

    def width(n: int) -> float:
        grades = [Grade("m", "style", 1 + 9 * (i % 2), i) for i in range(n)]
        overall = leaderboard(grades, {"r": {"style": set(range(n))}})[0].scores[OVERALL]
        return overall.ci_high - overall.ci_low

    assert width(100) < width(10)
    same = leaderboard([Grade("m", "style", 7, i) for i in range(3)], {"r": {"style": {0, 1, 2}}})
    assert same[0].overall.ci_low == same[0].overall.ci_high == 7.0  # no spread, no interval


def test_answers_made_elsewhere_are_attached_and_graded(cli, server, tmp_path):
    ws = bench_workspace(tmp_path / "ws", server.base_url, [], ["judge-json"], items=4)
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        "".join(
            json.dumps(
                {
                    "instruction": f"Bench task {i}: write a parser for format {i}.",
                    "response": f"My parser {i}.\n-- answered by gamma",
                }
            )
            + "\n"
            for i in range(4)
        )
    )
    run = cli("import", answers, "--format", "answers", "--model", "gamma-external", "-w", ws)
    assert run.code == 0, run.err
    assert "4 attached, 0 already present" in run.out
    # gamma-external is not in [[models]]: its answers exist, so only grades are requested.
    bench = cli("bench", "--model", "gamma-external", "--reference", "gpt-4-turbo", "-w", ws)
    assert bench.code == 0, bench.err
    assert "4 done, 0 failed of 4" in bench.out
    assert {r.model for r in server.requests} == {"judge-json"}
    assert rows(ws, "SELECT DISTINCT rating, state FROM bench_grades") == [
        (2 * expected_rating("gamma"), "done")
    ]
    again = cli("import", answers, "--format", "answers", "--model", "gamma-external", "-w", ws)
    assert "0 attached, 4 already present" in again.out
    # A model with no answers and no [[models]] entry cannot be benched.
    missing = cli("bench", "--model", "nobody", "--reference", "gpt-4-turbo", "-w", ws)
    assert missing.code != 0 and "no model named 'nobody'" in missing.err


def test_answers_that_match_no_item_leave_the_store_untouched(cli, tmp_path):
    from tests.conftest import store_dump

    ws = bench_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", [], [], items=2)
    before = store_dump(ws)
    answers = tmp_path / "answers.jsonl"
    answers.write_text(
        json.dumps({"instruction": "Bench task 0: write a parser for format 0.", "response": "a"})
        + "\n"
        + json.dumps({"instruction": "Something else", "response": "b"})
        + "\n"
    )
    run = cli("import", answers, "--format", "answers", "--model", "x", "-w", ws)
    assert run.code != 0
    assert "line 2" in run.err and "no bench item has this instruction" in run.err
    assert store_dump(ws) == before
    assert cli("import", answers, "--format", "answers", "-w", ws).code != 0  # no --model


def test_a_killed_bench_run_resumes_without_redoing_anything(cli, server, tmp_path, monkeypatch):
    monkeypatch.setenv("CUF_TUI_STALE_AFTER_S", "1")
    ws = bench_workspace(
        tmp_path / "ws",
        server.base_url,
        ["gamma-slow"],
        ["judge-markdown"],
        items=30,
        max_concurrency=2,
        request_timeout=0.3,
    )
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cuf_tui",
            "bench",
            "--model",
            "gamma-slow",
            "--reference",
            "gpt-4-turbo",
            "-w",
            str(ws),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ,
    )
    wait_for(lambda: rows(ws, "SELECT count(*) FROM bench_answers")[0][0] >= 4, what="four answers")
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    kept = rows(ws, "SELECT bench_item_id FROM bench_answers WHERE state = 'done'")
    assert kept
    time.sleep(1.2)
    before = len(server.requests)
    run = cli("bench", "--model", "gamma-slow", "--reference", "gpt-4-turbo", "-w", ws)
    assert run.code == 0, run.err
    again = [r for r in server.requests[before:] if r.model == "gamma-slow"]
    asked = {r.messages[-1]["content"] for r in again}
    ids = ",".join(str(k) for (k,) in kept)
    done_before = {t for (t,) in rows(ws, f"SELECT text FROM bench_items WHERE id IN ({ids})")}
    assert not asked & done_before  # nothing answered before is asked again
    assert rows(ws, "SELECT count(*), count(DISTINCT bench_item_id) FROM bench_answers") == [
        (30, 30)
    ]
    assert rows(ws, "SELECT count(*), count(DISTINCT bench_answer_id) FROM bench_grades") == [
        (30, 30)
    ]


async def test_b_in_the_workbench_runs_a_bench_and_shows_its_scores(server, tmp_path):
    from cuf_tui.tui.app import WorkbenchApp
    from cuf_tui.tui.screens.dialogs import ChooseDialog, ConfirmBatch
    from cuf_tui.workspace import Workspace
    from tests.test_tui import _until

    root = bench_workspace(tmp_path / "ws", server.base_url, ["alpha"], ["judge-json"], items=5)
    workspace = Workspace(root)
    app = WorkbenchApp(workspace, workspace.open_store(), poll_interval=0.1)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("B")
        await _until(pilot, lambda: isinstance(app.screen, ChooseDialog))
        labels = [label for _, label in app.screen.options]
        assert labels == [
            "alpha  vs reference gpt-3.5-turbo (2 items)",
            "alpha  vs reference gpt-4-turbo (5 items)",
        ]
        await pilot.press("j", "enter")  # gpt-4-turbo
        await _until(pilot, lambda: isinstance(app.screen, ConfirmBatch))
        summary = str(app.screen.summary)
        assert "alpha answers 5 bench items; judge-json grades 5 answers against gpt-4-turbo" in (
            summary
        )
        await pilot.press("y")
        await _until(pilot, lambda: rows(root, "SELECT state FROM jobs") == [("done",)])
        await pilot.press("f3")
        table = app.query_one("#bench-table")
        await _until(pilot, lambda: table.row_count == 1)
        (row,) = app.query_one("#bench-pane").shown_rows
        assert (row.model, row.protocol, row.judge) == ("alpha", "paper", "judge-json")
        key = json.dumps(row.key)
        assert table.get_cell(key, "average").plain == "10.00±0.00"


def test_a_local_grader_is_held_to_the_grade_schema(cli, server, tmp_path):
    ws = bench_workspace(tmp_path / "ws", server.base_url, ["alpha"], [], items=3)
    entry = model_entry("judges", "judge-vllm", server.base_url)
    with (ws / "cuf.toml").open("a") as config:  # a vLLM server someone else runs
        config.write(entry.replace('engine = "openai"', 'engine = "vllm"'))
    dry = cli("bench", "--model", "alpha", "--reference", "gpt-4-turbo", "--dry-run", "-w", ws)
    assert dry.code == 0, dry.err
    assert "alpha (answers)" in dry.out and "judge-vllm (grades)" in dry.out
    assert not server.requests
    assert "200 tokens per grade" in dry.out
    run = cli("bench", "--model", "alpha", "--reference", "gpt-4-turbo", "-w", ws)
    assert run.code == 0, run.err
    graded = [r for r in server.requests if r.model == "judge-vllm"]
    assert len(graded) == 3
    for request in graded:
        schema = request.response_format["json_schema"]["schema"]
        assert schema["properties"]["rating"]["enum"] == list(range(1, 11))
        assert list(schema["properties"]) == ["rationale", "rating"]
        assert '{"rationale":' in request.messages[1]["content"]  # the prompt asks for JSON
    assert rows(ws, "SELECT DISTINCT rating, rationale FROM bench_grades") == [
        (2 * expected_rating("alpha"), f"constrained grade {2 * expected_rating('alpha')}")
    ]


def test_limit_takes_the_first_items_that_need_work(cli, server, tmp_path):
    ws = bench_workspace(tmp_path / "ws", server.base_url, ["alpha"], ["judge-markdown"])
    run = cli("bench", "--model", "alpha", "--reference", "gpt-4-turbo", "--limit", "3", "-w", ws)
    assert run.code == 0, run.err
    assert "6 done, 0 failed of 6" in run.out
    assert rows(ws, "SELECT bench_item_id FROM bench_answers ORDER BY 1") == [(1,), (2,), (3,)]
    more = cli("bench", "--model", "alpha", "--reference", "gpt-4-turbo", "--limit", "3", "-w", ws)
    assert "6 done, 0 failed of 6" in more.out
    assert rows(ws, "SELECT count(*) FROM bench_grades") == [(6,)]


def test_graded_answers_with_a_rating_off_the_scale_are_refused_whole(tmp_path):
    from cuf_tui.errors import CufError
    from cuf_tui.interchange.bench_import import import_graded_answers
    from cuf_tui.workspace import Workspace
    from tests.conftest import store_dump

    ws = bench_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", [], [], items=2)
    before = store_dump(ws)
    graded = tmp_path / "graded.jsonl"
    row = {
        "instruction": "Bench task 0: write a parser for format 0.",
        "preference": PREFERENCES[0],
        "model": "m",
        "answer": "a",
        "judge": "j",
        "reference_model": "gpt-4-turbo",
        "rating": 7,
    }
    graded.write_text(json.dumps(row) + "\n" + json.dumps(row | {"rating": 11}) + "\n")
    with Workspace(ws).open_store() as store, pytest.raises(CufError) as refused:
        import_graded_answers(store, str(graded))
    assert "line 2" in str(refused.value) and "'rating'" in str(refused.value)
    assert store_dump(ws) == before
