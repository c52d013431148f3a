"""The Jobs pane tells the truth: a job whose units all failed is failed, not a full green
bar; unparsed judgments and cut-off answers are shown as needing attention."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.widgets import DataTable

from cuf_tui.tui.app import build_app
from cuf_tui.workspace import Workspace
from tests.batch_helpers import make_workspace


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
        assert f"always500 at {server.base_url}" in cell(table, 1, error)
        # Job 2: done, but its answers were cut off at max_tokens.
        assert cell(table, 2, state) == "done"
        assert cell(table, 2, attention).endswith("cut off")
        stored, planned = cell(table, 2, progress).split()[-1].split("/")
        assert stored == planned != "0"
