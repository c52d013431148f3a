"""The workbench driven with Pilot: navigation, filters, search, review keys (checked in the
store), the batch confirmation, live updates from a detached job, and a 10,000-row queue."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from cuf_tui.tui.app import WorkbenchApp, build_app
from cuf_tui.tui.screens.dialogs import (
    ChooseDialog,
    ConfirmBatch,
    HelpDialog,
    NoteDialog,
    TextDialog,
)
from cuf_tui.tui.widgets.detail import InstructionDetail
from cuf_tui.tui.widgets.queue import QueueView
from cuf_tui.tui.widgets.queue_pane import QueuePane
from cuf_tui.workspace import Workspace, ensure_sample_workspace
from tests.batch_helpers import KEY_ENV, SECRET, make_workspace, rows


@pytest.fixture
def sample(private_home: Path) -> Workspace:
    return ensure_sample_workspace(private_home / "sample-workspace")


def pane(app: WorkbenchApp) -> QueuePane:
    """The queue tab of the workbench screen (the app's queries search that screen, whatever
    dialog is on top of it)."""
    return app.query_one(QueuePane)


def queue(app: WorkbenchApp) -> QueueView:
    return pane(app).queue


def detail(app: WorkbenchApp) -> InstructionDetail:
    return pane(app).detail


def reviews(ws: Workspace) -> list[tuple]:
    with sqlite3.connect(ws.db_path) as conn:
        return conn.execute(
            "SELECT instruction_id, model, rating, agrees_with_judge, flagged, note FROM reviews "
            "ORDER BY instruction_id, model"
        ).fetchall()


async def test_moving_through_the_queue_shows_each_instruction(sample: Workspace) -> None:
    app = build_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        assert queue(app).current_id == 1 and detail(app).view.id == 1
        await pilot.press("j", "j", "down")
        await pilot.pause()
        assert queue(app).current_id == 4 and detail(app).view.id == 4
        await pilot.press("k")
        await pilot.pause()
        assert detail(app).view.id == 3
        await pilot.press("end")
        await pilot.pause()
        assert detail(app).view.id == 30
        await pilot.press("home", "pagedown")
        await pilot.pause()
        assert queue(app).current_id > 10
        assert len(detail(app).view.responses) == 4
        await pilot.press("tab")
        assert app.focused is detail(app)


async def test_filters_and_search(sample: Workspace) -> None:
    app = build_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("p")  # instruction-following
        await pilot.pause()
        assert len(queue(app).ids) == 6
        await pilot.press("p", "p")  # complexity
        await pilot.pause()
        assert pane(app).filter.preference == "complexity"
        assert detail(app).view.preference == "complexity"
        await pilot.press("escape")
        await pilot.pause()
        assert len(queue(app).ids) == 30
        await pilot.press("s")  # a list of the statuses: the fourth is unparsed
        await _until(pilot, lambda: isinstance(app.screen, ChooseDialog))
        await pilot.press("down", "down", "down", "enter")
        await pilot.pause()
        assert pane(app).filter.status == "unparsed" and queue(app).ids == [27]
        assert "UNPARSED" in detail(app).text()
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, TextDialog)
        assert "each with its own strengths" not in app.screen.text  # the sample's own words
        assert "All four answers are reasonable" in app.screen.text
        await pilot.press("escape", "escape")
        await pilot.pause()
        await pilot.press("m")  # a list of the models: the first after "all models"
        await _until(pilot, lambda: isinstance(app.screen, ChooseDialog))
        await pilot.press("down", "enter")
        await pilot.pause()
        model = pane(app).filter.model
        assert model is not None
        with sqlite3.connect(sample.db_path) as conn:
            expected = [
                i
                for (i,) in conn.execute(
                    "SELECT i.id FROM instructions i, json_each(i.models) m WHERE m.value = ? "
                    "ORDER BY i.id",
                    (model,),
                )
            ]
        assert queue(app).ids == expected
        await pilot.press("escape", "slash")
        await pilot.press(*"Rust")
        await _until(pilot, lambda: pane(app).filter.search == "Rust")  # searched in a thread
        assert len(queue(app).ids) == 4
        await pilot.press("enter")
        assert app.focused is queue(app)
        await pilot.press("escape")
        await pilot.pause()
        assert pane(app).filter.search == "" and len(queue(app).ids) == 30


async def test_review_keys_write_the_store_and_undo(sample: Workspace) -> None:
    with sqlite3.connect(sample.db_path) as conn:
        judge_said = conn.execute("SELECT * FROM judgment_ratings ORDER BY 1, 2").fetchall()
    app = build_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("j", "j", "l", "4")  # instruction 3, second response
        await pilot.pause()
        second = detail(app).view.responses[1].model
        assert reviews(sample) == [(3, second, 4, 0, 0, None)]
        await pilot.press("l", "a")  # third response: agree with the judge
        await pilot.pause()
        third = detail(app).view.responses[2]
        assert third.human_rating == third.rating and third.agrees
        await pilot.press("x")
        await pilot.pause()
        await pilot.press("n")
        await pilot.pause()
        assert isinstance(app.screen, NoteDialog)
        await pilot.press(*"uses RANK", "enter")
        await pilot.pause()
        stored = {r[1]: r for r in reviews(sample)}
        assert stored[third.model][2:] == (third.rating, 1, 1, "uses RANK")
        await pilot.press("u")  # the note
        await pilot.pause()
        assert {r[1]: r for r in reviews(sample)}[third.model][5] is None
        await pilot.press("u", "u", "u")  # the flag, the agreement, the first rating
        await pilot.pause()
        assert reviews(sample) == []
    # What the judge said is never touched by a review.
    with sqlite3.connect(sample.db_path) as conn:
        assert conn.execute("SELECT * FROM judgment_ratings ORDER BY 1, 2").fetchall() == judge_said


def test_the_review_rules_are_the_services_not_the_screens(sample: Workspace) -> None:
    """A rating agrees with the judge exactly when it is the judge's; agreeing needs a
    rating from the judge; a response without text can be flagged, not rated; undo puts
    the store back."""
    from dataclasses import replace

    from cuf_tui.tui.service import Refused, Undone, Workbench

    with sample.open_store() as store:
        workbench = Workbench(sample, store)
        view = workbench.instruction(1)
        assert view is not None
        judged = view.responses[0]
        assert judged.state == "done" and judged.rating is not None
        other = judged.rating % 5 + 1
        same = {"rating": judged.rating, "agrees_with_judge": 1}
        assert workbench.rating(judged, judged.rating).changes == same
        assert workbench.rating(judged, other).changes == {"rating": other, "agrees_with_judge": 0}
        assert workbench.agreement(judged).changes == same
        with pytest.raises(Refused, match="gave no rating"):
            workbench.agreement(replace(judged, rating=None))
        failed = replace(judged, state="failed")
        with pytest.raises(Refused, match="failed: there is nothing to rate"):
            workbench.rating(failed, 3)
        assert workbench.flag(failed).changes == {"flagged": 1}
        workbench.save(view, judged, workbench.rating(judged, other))
        assert reviews(sample) == [(1, judged.model, other, 0, 0, None)]
        assert workbench.undo() == Undone(1, judged.model)
        assert reviews(sample) == [] and workbench.undo() is None


def test_the_service_knows_nothing_of_textual() -> None:
    import subprocess
    import sys

    code = "import sys, cuf_tui.tui.service; print('textual' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert shown.stdout.strip() == "False", shown.stderr


async def test_next_review_walks_what_needs_review(sample: Workspace) -> None:
    app = build_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        for _ in range(4):  # review every response of #1 in agreement with the judge
            await pilot.press("a", "l")
        await pilot.pause()
        await pilot.press("home", "right_square_bracket")
        await pilot.pause()
        assert queue(app).current_id == 2  # #1 is reviewed and agrees: skipped
        await pilot.press("right_square_bracket")
        await pilot.pause()
        assert queue(app).current_id == 3
        await pilot.press("left_square_bracket", "left_square_bracket")  # back to #2, then
        await pilot.pause()  # nothing before #2 needs review: around to the last that does
        last = queue(app).current_id
        assert last is not None and last > 3
        await pilot.press("right_square_bracket")  # and past the last, around to #2
        await pilot.pause()
        assert queue(app).current_id == 2


async def test_help_lists_the_keys_of_the_focused_pane(sample: Workspace) -> None:
    app = build_app(sample)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpDialog)
        titles = [title for title, _ in app.screen.sections]
        assert titles[0] == "Queue list" and "Queue and review" in titles
        assert titles[-2:] == ["Everywhere", "Queue status column"]
        await pilot.press("escape")
        await pilot.press("f4")
        await pilot.pause()
        assert app.query_one("#tabs").active == "jobs"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    from tests.fake_openai import FakeOpenAI

    monkeypatch.setenv(KEY_ENV, SECRET)
    fake = FakeOpenAI(api_key=SECRET, latency=0.05).start()
    yield fake
    fake.stop()


async def test_a_confirmed_batch_runs_detached_and_the_queue_follows_it(server, tmp_path) -> None:
    root = make_workspace(
        tmp_path / "ws",
        server.base_url,
        ["alpha", "beta"],
        ["judge-json"],
        per_instruction=2,
        max_concurrency=2,
    )
    workspace = Workspace(root)
    app = WorkbenchApp(workspace, workspace.open_store(), poll_interval=0.1)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("G")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmBatch))
        summary = str(app.screen.summary)
        assert "alpha" in summary and "beta" in summary and "20 requests in all" in summary
        await pilot.press("n")  # declined: nothing starts
        await pilot.pause()
        assert rows(root, "SELECT count(*) FROM jobs") == [(0,)]
        await pilot.press("G")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmBatch))
        await pilot.press("y")
        # The worker writes; the workbench only reads and shows it as it lands.
        await _until(pilot, lambda: "2/2" in queue(app).render_line(0).text)
        await _until(pilot, lambda: rows(root, "SELECT state FROM jobs") == [("done",)])
        assert len(server.requests) == 20
        await pilot.press("J")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmBatch))
        assert "judge-json" in str(app.screen.summary)
        await pilot.press("y")
        await _until(
            pilot, lambda: detail(app).view is not None and detail(app).view.judgment is not None
        )
        assert {r.rating for r in detail(app).view.responses} <= {5, 2}
        await pilot.press("f4")
        await pilot.pause()
        assert app.query_one("#jobs-table").row_count == 2


async def _until(pilot, condition, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await pilot.pause(0.05)
        if condition():
            return
    raise AssertionError("timed out")


async def test_a_batch_that_cannot_start_says_why(tmp_path: Path, cli) -> None:
    root = tmp_path / "empty"
    cli("init", root)
    app = build_app(Workspace(root))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert "holds no instructions yet" in detail(app).text()
        await pilot.press("J")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmBatch))
        assert "no judge configured" in app.screen.summary and not app.screen.can_start


async def test_g_on_a_server_that_cannot_be_reached_says_so_and_starts_nothing(
    tmp_path: Path, monkeypatch
) -> None:
    import socket

    monkeypatch.setenv(KEY_ENV, SECRET)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/v1"
    ws = make_workspace(tmp_path / "ws", closed, ["alpha"], per_instruction=1)
    app = build_app(Workspace(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("G")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmBatch))
        assert f"alpha: cannot reach {closed}" in app.screen.summary
        assert not app.screen.can_start
    assert rows(ws, "SELECT count(*) FROM jobs") == [(0,)]


def big_workspace(root: Path, count: int) -> Workspace:
    from cuf_tui.cli import main

    main(["init", str(root)])
    with sqlite3.connect(root / "cuf.db") as conn:
        conn.executemany(
            "INSERT INTO instructions (text, preference, text_sha256, source, models) "
            "VALUES (?, ?, ?, 'bench', ?)",
            [
                (
                    f"Instruction {i}: " + "write a function. " * 40,
                    ("style", "complexity", "readability", "explanation", "instruction-following")[
                        i % 5
                    ],
                    f"{i:064x}",
                    json.dumps(["a", "b"]),
                )
                for i in range(count)
            ],
        )
    return Workspace(root)


async def test_moving_through_ten_thousand_instructions_loads_only_what_is_shown(tmp_path):
    workspace = big_workspace(tmp_path / "big", 10_000)
    app = build_app(workspace)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert len(queue(app).ids) == 10_000
        for _ in range(50):
            await pilot.press("j")
        await pilot.press("pagedown", "pagedown", "end", "k", "home")
        await pilot.pause()
        assert queue(app).rows_loaded <= 400  # a few pages, never all 10,000
        assert detail(app).view.id == queue(app).current_id


def add_bench_grades(ws: Workspace) -> None:
    """Grades by gpt-4 for two models on the sample's bench items: model-a better on style."""
    with sqlite3.connect(ws.db_path) as conn:
        items = conn.execute("SELECT id, preference FROM bench_items ORDER BY id").fetchall()
        for model, base in (("model-a", 6), ("model-b", 7)):
            for item_id, preference in items:
                answer = conn.execute(
                    "INSERT INTO bench_answers (bench_item_id, model, text, state, source) "
                    "VALUES (?, ?, 'answer', 'done', 'test') RETURNING id",
                    (item_id, model),
                ).fetchone()[0]
                rating = base + (3 if preference == "style" and model == "model-a" else 0)
                conn.execute(
                    "INSERT INTO bench_grades (bench_answer_id, judge, reference_model, "
                    "template_sha256, rating, rationale, state) VALUES (?, 'gpt-4', "
                    "'gpt-4-turbo', 'h', ?, 'because', 'done')",
                    (answer, rating),
                )


async def test_bench_scores_and_grades(sample: Workspace) -> None:
    from cuf_tui.analysis.leaderboard import leaderboard
    from cuf_tui.store.grades import gradable_items, grade_rows

    add_bench_grades(sample)
    with sample.open_store() as store:
        rows = leaderboard(grade_rows(store, "gpt-4"), gradable_items(store))
    board = {row.model: row.scores for row in rows}
    assert board["model-a"]["style"].score == 9 and board["model-b"]["style"].score == 7
    assert board["model-b"]["average"].score == 7
    app = build_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f3")
        table = app.query_one("#bench-table")
        await _until(pilot, lambda: table.row_count == 4)  # the sample's two, and these two
        model_b = json.dumps(["model-b", "imported", "unrecorded", "gpt-4", "gpt-4-turbo"])
        model_a = json.dumps(["model-a", "imported", "unrecorded", "gpt-4", "gpt-4-turbo"])
        assert table.get_row_index(model_b) < table.get_row_index(model_a)  # best first
        style_cell = table.get_cell(model_a, "style")
        assert style_cell.plain == "9.00±0.00" and "bold" in str(style_cell.style)
        assert table.get_cell(model_b, "style").plain == "7.00±0.00"
        table.move_cursor(row=table.get_row_index(model_a), column=table.get_column_index("style"))
        await pilot.press("enter")
        await pilot.pause()
        title, grades = app.query_one("#bench-pane").grades_shown
        assert title == "model-a (imported) · style · gpt-4 vs gpt-4-turbo"
        assert [g["rating"] for g in grades] == [9, 9]
        assert all(g["reference"] and g["answer"] == "answer" for g in grades)


async def test_the_workbench_keeps_working_under_a_dialog_and_while_quitting(sample, cli):
    app = WorkbenchApp(sample, sample.open_store(), poll_interval=0.05)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        with sqlite3.connect(sample.db_path) as conn:  # another process writes meanwhile
            conn.execute(
                "INSERT INTO reviews (instruction_id, model, flagged, reviewer) "
                "VALUES (2, 'x', 1, 'ann')"
            )
        await pilot.pause(0.3)  # polls and the pre-rendering timer run under the dialog
        assert isinstance(app.screen, HelpDialog)
        await pilot.press("escape", "j")
        await pilot.pause(0.05)
    assert app.return_code in (None, 0)


async def test_the_command_palette_offers_every_action(sample: Workspace) -> None:
    from cuf_tui.tui.commands import ACTIONS, action_owner

    app = build_app(sample)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"flag this")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert rows_of_reviews(sample) == [(1, 1)]
        for _, where, action, _ in ACTIONS:  # every palette entry names an action of its pane
            owner = app if action.startswith("app.") else action_owner(app.screen, where)
            name = action.removeprefix("app.").split("(")[0]
            assert hasattr(owner, "action_" + name), action


def rows_of_reviews(ws: Workspace) -> list[tuple]:
    with sqlite3.connect(ws.db_path) as conn:
        return conn.execute("SELECT instruction_id, flagged FROM reviews").fetchall()


async def test_the_bench_guide_replaces_the_empty_message_when_grades_arrive(sample) -> None:
    from textual.widgets import Static

    with sqlite3.connect(sample.db_path) as conn:
        conn.execute("DELETE FROM bench_grades")
    app = WorkbenchApp(sample, sample.open_store(), poll_interval=0.05)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f3")
        text = app.query_one("#bench-grades-text", Static)
        await _until(pilot, lambda: "No CODAL-Bench grades" in str(text.render()))
        add_bench_grades(sample)  # a bench run's worker writes meanwhile
        await _until(pilot, lambda: app.query_one("#bench-table").row_count == 2)
        await _until(pilot, lambda: "Enter on a score lists its grades" in str(text.render()))


def notices(app: WorkbenchApp) -> list[str]:
    """The notices on screen, as the reviewer reads them."""
    return [str(toast.render()) for toast in app.screen.query("Toast")]


async def test_a_review_the_store_refuses_is_a_notice_and_the_key_works_again(sample) -> None:
    app = build_app(sample, busy_timeout_ms=200)  # a write waits 200 ms for the lock
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await pilot.pause()
        model = detail(app).selected_response.model
        holder = sqlite3.connect(sample.db_path, isolation_level=None)  # a sqlite3 shell
        holder.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("4")
            await pilot.pause()
            assert app.is_running and app.return_code is None
            shown = notices(app)
            assert any("Not saved" in n and "rating 4" in n and model in n for n in shown)
            assert any("locked" in n for n in shown)
            assert reviews(sample) == []
            await pilot.press("x", "j", "k")  # other keys go on working meanwhile
            await pilot.pause()
            assert app.is_running and queue(app).current_id == 1
        finally:
            holder.rollback()
            holder.close()
        await pilot.press("4")  # the same key, once the lock is gone
        await pilot.pause()
        assert reviews(sample) == [(1, model, 4, 0, 0, None)]
        holder = sqlite3.connect(sample.db_path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            await pilot.press("u")  # undo refused: it stays available
            await pilot.pause()
            assert any("Not undone" in n for n in notices(app))
        finally:
            holder.rollback()
            holder.close()
        await pilot.press("u")
        await pilot.pause()
        assert reviews(sample) == []
    assert app.return_code in (None, 0)


def add_instruction(ws: Workspace, text: str = "Another instruction.") -> None:
    """What an import or a worker commits from another connection."""
    with sqlite3.connect(ws.db_path) as conn:
        conn.execute(
            "INSERT INTO instructions (text, preference, text_sha256, source, models) "
            "VALUES (?, 'style', ?, 'test', '[]')",
            (text, f"{hash(text):064x}"[-64:]),
        )


async def test_a_reload_between_keys_keeps_the_review_on_the_instruction_shown(sample) -> None:
    app = WorkbenchApp(sample, sample.open_store(), poll_interval=0.05)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("s", "down", "enter")  # the status list: needs review
        await pilot.pause()
        assert pane(app).filter.status == "needs review" and queue(app).current_id == 1
        first, second = (r.model for r in detail(app).view.responses[:2])
        filter_line = app.query_one("#filter-line")
        await pilot.press("a")
        add_instruction(sample)  # a worker commits: the next poll reloads the queue
        await _until(pilot, lambda: "of 31" in str(filter_line.render()))
        await pilot.press("l", "a")  # meant for #1's second response
        await pilot.pause()
        assert queue(app).current_id == 1
        assert {r[:2] for r in reviews(sample)} == {(1, first), (1, second)}


async def test_a_reload_never_moves_the_cursor_off_the_instruction_shown(sample) -> None:
    app = WorkbenchApp(sample, sample.open_store(), poll_interval=0.05)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("s", "down", "enter")  # the status list: needs review
        await pilot.pause()
        await pilot.press("a", "l", "a", "l", "a", "l", "a")  # every response of #1: agreed
        await pilot.pause()
        filter_line = app.query_one("#filter-line")
        add_instruction(sample)
        await _until(pilot, lambda: "of 31" in str(filter_line.render()))
        # #1 no longer needs review, but stays where the reviewer is until they move on.
        assert queue(app).current_id == 1 and detail(app).view.id == 1
        await pilot.press("x")
        await pilot.pause()
        fourth = detail(app).view.responses[3].model
        assert {r[1]: r for r in reviews(sample) if r[0] == 1}[fourth][3:5] == (1, 1)
        await pilot.press("j")
        await pilot.pause()
        assert queue(app).current_id == 2
        add_instruction(sample, "Yet another instruction.")
        await _until(pilot, lambda: "of 32" in str(filter_line.render()))
        assert 1 not in queue(app).ids and queue(app).current_id == 2


async def test_an_instruction_needs_review_until_every_response_is_reviewed(sample) -> None:
    app = build_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("j", "a")  # one response of #2 (of 4) agreed with
        await pilot.press("home", "right_square_bracket")
        await pilot.pause()
        assert queue(app).current_id == 2
        await pilot.press("s", "down", "enter")
        await pilot.pause()
        assert pane(app).filter.status == "needs review" and 2 in queue(app).ids


def add_huge_instruction(ws: Workspace) -> None:
    """#31: a 10 MB instruction; its first response 2 MB, rated with a long rationale."""
    instruction = "Make this run faster:\n\n```python\n" + "x = 1  # pad\n" * 800_000
    instruction += "```\n\nTHE END OF THE INSTRUCTION"
    response = "Here it is:\n\n```python\n" + "y = 2  # pad\n" * 160_000 + "```\nTHE END OF M1"
    with sqlite3.connect(ws.db_path) as conn:
        (instruction_id,) = conn.execute(
            "INSERT INTO instructions (text, preference, text_sha256, source, models) "
            "VALUES (?, 'complexity', 'huge', 'test', '[\"m1\", \"m2\"]') RETURNING id",
            (instruction,),
        ).fetchone()
        conn.executemany(
            "INSERT INTO responses (instruction_id, model, text, state, source) "
            "VALUES (?, ?, ?, 'done', 'test')",
            [(instruction_id, "m1", response), (instruction_id, "m2", "A short answer.")],
        )
        (judgment_id,) = conn.execute(
            "INSERT INTO judgments (instruction_id, judge, template_sha256, order_shown, state, "
            "source) VALUES (?, 'j', 'h', '[\"m1\", \"m2\"]', 'done', 'test') RETURNING id",
            (instruction_id,),
        ).fetchone()
        conn.executemany(
            "INSERT INTO judgment_ratings (judgment_id, model, rating, rationale) "
            "VALUES (?, ?, ?, ?)",
            [
                (judgment_id, "m1", 2, "Too long. " * 5_000 + "THE END OF THE RATIONALE"),
                (judgment_id, "m2", 4, "Fine."),
            ],
        )
    assert len(instruction) > 10_000_000 and len(response) > 2_000_000


async def test_a_huge_text_shows_its_head_at_once_and_the_rest_on_demand(sample) -> None:
    add_huge_instruction(sample)
    app = build_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("end", "k")
        await pilot.pause()
        started = time.monotonic()
        await pilot.press("j")
        await pilot.pause()
        assert time.monotonic() - started < 2.0  # a loose guard: it used to take seconds
        assert detail(app).view.id == 31
        shown = detail(app).text()
        assert "THE END OF" not in shown
        # The instruction, m1's response and its rationale each say what they leave out,
        # above their head and below it.
        assert shown.count("characters: the first") == 3
        assert shown.count("more characters not shown") == 3
        assert shown.count("f: the full text") == 6
        await pilot.press("f")  # the whole of what is shown: as plain text, in a dialog
        await _until(pilot, lambda: isinstance(app.screen, TextDialog))
        view = app.screen.query_one("#full-text")
        await _until(pilot, lambda: view.line_count > 900_000)  # 800,000 + 160,000 lines
        assert any("THE END OF THE INSTRUCTION" in line for line in view.lines)
        assert any("THE END OF M1" in line for line in view.lines)
        await pilot.press("end")
        await pilot.pause()
        bottom = "\n".join(view.render_line(y).text for y in range(view.size.height))
        assert "THE END OF THE RATIONALE" in bottom
        await pilot.press("escape", "escape")
        await pilot.pause()
        assert app.focused is queue(app) and detail(app).view.id == 31


async def test_a_response_cut_off_at_max_tokens_is_marked(sample) -> None:
    with sqlite3.connect(sample.db_path) as conn:
        (models,) = conn.execute("SELECT models FROM instructions WHERE id = 2").fetchone()
        model = json.loads(models)[0]
        conn.execute(
            "UPDATE responses SET finish_reason = 'length' WHERE instruction_id = 2 AND model = ?",
            (model,),
        )
    app = build_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        first, second = queue(app).render_line(0).text, queue(app).render_line(1).text
        assert " T " in second and " T " not in first
        await pilot.press("j")
        await pilot.pause()
        assert detail(app).text().count("cut off at max_tokens") == 1
        assert detail(app).selected_response.model == model
        await pilot.press("question_mark")
        await pilot.pause()
        status_keys = dict(app.screen.sections)["Queue status column"]
        assert any(key == "T" and "max_tokens" in what for key, what in status_keys)


async def test_a_store_that_goes_bad_under_the_workbench_is_a_notice(sample) -> None:
    app = WorkbenchApp(sample, sample.open_store(), poll_interval=0.05)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.pause()
        size = sample.db_path.stat().st_size
        with sample.db_path.open("r+b") as db:  # the disk garbles every page but the first
            db.seek(4096)
            db.write(b"\xa5" * (size - 4096))
        await pilot.press("s", "down", "enter", "p", "j", "4", "f4", "f2")
        await pilot.pause(0.3)
        assert app.is_running and app.return_code is None
        shown = notices(app)
        assert any("corrupt" in n or "malformed" in n for n in shown), shown
    assert app.return_code in (None, 0)


async def test_a_failed_response_cannot_be_rated_but_can_be_flagged(sample) -> None:
    with sqlite3.connect(sample.db_path) as conn:
        (models,) = conn.execute("SELECT models FROM instructions WHERE id = 1").fetchone()
        model = json.loads(models)[0]
        conn.execute(
            "UPDATE responses SET state = 'failed', text = NULL, error = 'HTTP 500: down' "
            "WHERE instruction_id = 1 AND model = ?",
            (model,),
        )
    app = build_app(sample)
    async with app.run_test(size=(160, 48), notifications=True) as pilot:
        await pilot.pause()
        assert detail(app).selected_response.model == model
        await pilot.press("3", "a")
        await pilot.pause()
        assert reviews(sample) == []
        notices = [n.message for n in app._notifications]
        assert any("failed: there is nothing to rate" in message for message in notices)
        await pilot.press("x")
        await pilot.pause()
        assert reviews(sample) == [(1, model, None, 0, 1, None)]


def test_a_workbench_that_crashes_exits_non_zero(sample, capsys) -> None:
    from cuf_tui.cli.workbench import run_workbench

    class Crashing(WorkbenchApp):
        def on_ready(self) -> None:  # the workbench is on screen
            raise RuntimeError("a fault no action caught")

    app = Crashing(sample, sample.open_store())
    assert run_workbench(app, headless=True) == 1
    err = capsys.readouterr().err
    assert "the workbench stopped on an unexpected error" in err
    assert "a fault no action caught" in err  # that fault, not another one


def test_a_workbench_the_user_quits_exits_zero(sample) -> None:
    from cuf_tui.cli.workbench import run_workbench

    class Quitting(WorkbenchApp):
        def on_ready(self) -> None:  # the workbench is on screen: the user quits
            self.call_later(self.exit)

    assert run_workbench(Quitting(sample, sample.open_store()), headless=True) == 0
