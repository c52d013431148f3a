"""The Jobs pane tells the truth: a job whose units all failed is failed, not a full green
bar; unparsed judgments and cut-off answers are shown as needing attention."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from textual.widgets import DataTable

from cuf_tui.tui.app import build_app
from cuf_tui.workspace import Workspace
from tests.batch_helpers import make_workspace
from tests.test_tui import _until


def cell(table: DataTable, job: int, column: int) -> str:
    value = table.get_row(str(job))[column]
    return getattr(value, "plain", str(value))


async def test_the_jobs_pane_shows_failed_and_attention_as_they_are(cli, server, tmp_path):
    tasks = [{"instruction": f"Task {i}", "preference": "style"} for i in range(3)]
    failing = make_workspace(
        tmp_path / "ws",
        server.base_url,
        ["always500", "cutoff"],
        ["judge-garbagealways"],
        instructions=tasks,
        per_instruction=1,
        max_retries=0,
    )
    # Foreground batches run their own event loop: outside this test's.
    run = await asyncio.to_thread(cli, "generate", "--model", "always500", "-w", failing)
    assert run.code == 1  # job 1: every unit failed
    run = await asyncio.to_thread(cli, "generate", "--model", "cutoff", "-w", failing)
    assert run.code == 0  # job 2: done, its answers cut off
    app = build_app(Workspace(Path(failing)))
    async with app.run_test(size=(160, 40)) as pilot:
        await pilot.press("f4")
        await pilot.pause()
        table = app.query_one("#jobs-table", DataTable)
        headers = [str(column.label) for column in table.columns.values()]
        state, progress = headers.index("state"), headers.index("progress")
        failed, attention = headers.index("failed"), headers.index("attention")
        error = headers.index("error")
        # Job 1: nothing succeeded.
        assert cell(table, 1, state) == "failed"
        assert cell(table, 1, failed) != "0"
        assert cell(table, 1, error).startswith("all 1 units failed")  # its start; whole below
        table.move_cursor(row=[str(k.value) for k in table.rows].index("1"))
        await pilot.pause()
        log = str(app.query_one("#job-log").render())
        assert f"always500 at {server.base_url}: HTTP 500" in " ".join(log.split())
        # Job 2: done, but its answers were cut off at max_tokens.
        assert cell(table, 2, state) == "done"
        assert cell(table, 2, attention).endswith("cut off")
        stored, planned = cell(table, 2, progress).split()[-1].split("/")
        assert stored == planned != "0"


def add_jobs(ws: Path, count: int, log: Path) -> None:
    import sqlite3

    with sqlite3.connect(ws / "cuf.db") as db:
        for i in range(count):
            db.execute(
                "INSERT INTO jobs (kind, params, state, total, done, failed, error, log_path, "
                "started_at, finished_at, cost_usd) VALUES ('generate', '{}', 'failed', 40, 0, "
                "40, ?, ?, '2026-11-01T10:00:00.000Z', '2026-11-01T10:01:00.000Z', 0.004)",
                (f"all 40 units failed; last error: a long reason number {i} " * 3, str(log)),
            )


async def test_a_long_log_never_squeezes_the_jobs_table_at_80x24(tmp_path: Path, cli) -> None:
    root = tmp_path / "ws"
    cli("init", root)
    log = tmp_path / "job.log"
    log.write_text(
        "".join(f"line {i}: " + "a failing request said why " * 6 + "\n" for i in range(500))
    )
    add_jobs(root, 6, log)
    app = build_app(Workspace(root))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f4")
        await pilot.pause(0.3)
        table = app.query_one("#jobs-table", DataTable)
        assert table.row_count == 6
        assert table.size.height >= 6  # the header and at least five rows in view
        costs = [cell(table, key, 6) for key in range(1, 7)]
        assert set(costs) == {"<$0.01"}
        with sqlite3.connect(root / "cuf.db") as db:  # a fast job: 4,113 units in 10 s
            db.execute(
                "UPDATE jobs SET state = 'done', total = 4113, done = 4113, failed = 0, "
                "finished_at = '2026-11-01T10:00:10.000Z' WHERE id = 6"
            )
        app.query_one("#jobs-pane").refresh_jobs()
        await pilot.pause(0.2)
        labels = [str(column.label) for column in table.columns.values()]
        rate = labels.index("rate")
        assert cell(table, 6, rate) == "411/s"  # whole numbers from 10 a second up
        assert cell(table, 5, rate) == "0.7/s"
        first = table.cursor_row
        await pilot.press("j", "j")  # the queue's keys move here too
        await pilot.pause()
        assert table.cursor_row == first + 2
        await pilot.press("k")
        await pilot.pause()
        assert table.cursor_row == first + 1


async def test_a_launched_job_is_selected_and_cancel_says_what_it_does(
    tmp_path: Path, cli, server
) -> None:
    from cuf_tui.tui.screens.dialogs import ConfirmBatch

    root = make_workspace(tmp_path / "ws", server.base_url, ["alpha-slow"], [])
    add_jobs(root, 3, tmp_path / "none.log")  # old, finished jobs
    app = build_app(Workspace(root))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f4")
        await pilot.pause(0.2)
        await pilot.press("G")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmBatch))
        await pilot.press("y")
        await pilot.pause(0.5)
        jobs = app.query_one("#jobs-pane")
        assert jobs.selected_job_id == 4  # the new job, not an old one
        await pilot.press("c")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmBatch))
        assert "y/Enter cancel job 4 · n/Esc keep it running" in app.screen.hint
        await pilot.press("y")
        await pilot.pause(0.5)
        # A finished job is not offered for cancelling.
        jobs.table.move_cursor(row=[str(k.value) for k in jobs.table.rows].index("1"))
        await pilot.pause()
        await pilot.press("c")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmBatch)
