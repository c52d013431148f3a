"""The workbench under load: a detached judge (a real worker process against the loopback
server, latency 0) writes as fast as it can while a reviewer presses 100 review keys in the
"needs review" view; the app stays up and every review lands with the value its key meant,
on the response that was on screen when it was pressed."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cuf_tui.store.browse import changes_seen
from cuf_tui.tui.app import WorkbenchApp
from cuf_tui.workspace import Workspace
from tests.batch_helpers import KEY_ENV, SECRET, make_workspace, rows, wait_for
from tests.test_tui import pane, queue

MODELS = ["alpha", "beta", "gamma", "delta"]
# At latency 0 a worker judges some 400-600 instructions a second (2,000-3,000 rows): enough
# for it to go on writing until after the last key, with room to spare.
INSTRUCTIONS = 40_000
REVIEWED = 25  # instructions, four responses each: 100 review keys


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    """The loopback server in a process of its own: in this one, its threads would keep the
    CPU busy and Pilot, which waits for an idle process after each key, would crawl."""
    monkeypatch.setenv(KEY_ENV, SECRET)
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "fake_openai.py"), "--latency", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    port = int(process.stdout.readline())
    yield f"http://127.0.0.1:{port}/v1"
    process.terminate()
    process.wait(timeout=10)


def answered_workspace(root: Path, base_url: str) -> Path:
    """Many instructions, each with its four responses in the store (as a generate run would
    leave them), so that a judge run has work for longer than the test."""
    make_workspace(
        root,
        base_url,
        MODELS,
        ["judge-json"],
        instructions=[
            {"instruction": f"Task {i}: sort a list in place.", "preference": "complexity"}
            for i in range(INSTRUCTIONS)
        ],
        max_concurrency=2,
    )
    with sqlite3.connect(root / "cuf.db") as conn:
        conn.execute("UPDATE instructions SET models = ?", (json.dumps(MODELS),))
        conn.execute(
            "INSERT INTO responses (instruction_id, model, text, state, source) "
            "SELECT i.id, m.value, 'def f(xs): xs.sort()\n-- answered by ' || m.value, 'done', "
            "'test' FROM instructions i, json_each(i.models) m"
        )
    return root


@pytest.fixture
def judging(cli, server, tmp_path):
    """A detached judge run, writing; cancelled (and waited for) at the end."""
    root = answered_workspace(tmp_path / "ws", server)
    started = cli("judge", "--detach", "-w", root)
    assert started.code == 0, started.err
    job_id = int(started.out.strip().splitlines()[-1])
    wait_for(lambda: rows(root, JUDGED)[0][0] >= 40, what="the first judgments")
    yield root, job_id
    cli("cancel", job_id, "-w", root)
    wait_for(lambda: job_state(root, job_id) != "running", what="the worker to stop")


JUDGED = "SELECT count(*) FROM judgments WHERE state = 'done'"


def job_state(root: Path, job_id: int) -> str:
    return str(rows(root, "SELECT state FROM jobs WHERE id = ?", (job_id,))[0][0])


async def test_a_hundred_review_keys_land_while_a_detached_judge_writes(judging) -> None:
    root, job_id = judging
    workspace = Workspace(root)
    app = WorkbenchApp(workspace, workspace.open_store(), poll_interval=0.2)
    meant: dict[tuple[int, str], int] = {}  # (instruction, model) -> the rating key pressed
    versions: set[int] = set()  # the store versions the workbench saw while keys came in
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("s", "down", "enter")  # needs review: judged, not yet reviewed
        await pilot.pause()
        assert pane(app).filter.status == "needs review"
        judged_before = rows(root, JUDGED)[0][0]
        instruction = 0
        for key_number in range(REVIEWED * 4):
            response = key_number % 4  # every instruction's models are MODELS, in this order
            if response == 0:  # `]` has just moved to the next instruction that needs review
                assert queue(app).current_id > instruction
                instruction = queue(app).current_id
            rating = key_number % 5 + 1
            meant[(instruction, MODELS[response])] = rating
            await pilot.press(str(rating))
            versions.add(changes_seen(app.workbench.store))
            # The next response, or the next instruction that needs review.
            await pilot.press("l" if response < 3 else "right_square_bracket")
        await pilot.pause(0.2)
        assert app.is_running and app.return_code is None
        assert not [n for n in _notices(app) if "Not saved" in n]
        judged_during = rows(root, JUDGED)[0][0] - judged_before
        assert job_state(root, job_id) == "running"  # it wrote until the last key and on
    assert app.return_code in (None, 0)
    # The judge wrote all along, and the workbench saw it.
    assert judged_during >= 200 and len(versions) >= 20
    assert len(meant) == 100 and len({instruction for instruction, _ in meant}) == REVIEWED
    with sqlite3.connect(root / "cuf.db") as conn:
        stored = {
            (instruction, model): rating
            for instruction, model, rating in conn.execute(
                "SELECT instruction_id, model, rating FROM reviews"
            )
        }
    assert stored == meant


def _notices(app: WorkbenchApp) -> list[str]:
    return [str(toast.render()) for toast in app.screen.query("Toast")]
