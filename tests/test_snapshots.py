"""SVG snapshots of the workbench on the sample workspace (review diffs before updating them
with `pytest --snapshot-update`)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cuf_tui.tui.app import build_app
from cuf_tui.workspace import Workspace, ensure_sample_workspace
from tests.trust_data import add_trust_data, open_judge_tab


@pytest.fixture
def sample(private_home: Path) -> Workspace:
    return ensure_sample_workspace(private_home / "sample-workspace")


def test_main_screen_80x24(snap_compare, sample: Workspace) -> None:
    assert snap_compare(build_app(sample), terminal_size=(80, 24), run_before=keys())


def test_main_screen_160x48(snap_compare, sample: Workspace) -> None:
    assert snap_compare(build_app(sample), terminal_size=(160, 48), run_before=keys())


def keys(*pressed: str):
    """Press keys one at a time, letting the app settle after each (stable under load)."""

    async def run(pilot) -> None:
        for key in pressed:
            await pilot.press(key)
            await pilot.pause()
        await pilot.pause(0.3)  # past the pre-rendering timer

    return run


def test_review_view(snap_compare, sample: Workspace) -> None:
    # Instruction 3, second response rated 2 by the reviewer and flagged; third agreed.
    assert snap_compare(
        build_app(sample),
        terminal_size=(160, 48),
        run_before=keys("j", "j", "l", "2", "x", "l", "a"),
    )


def test_unparsed_judgment_view(snap_compare, sample: Workspace) -> None:
    assert snap_compare(
        build_app(sample),
        terminal_size=(120, 40),
        run_before=keys("s", "down", "down", "down", "enter"),
    )


def test_jobs_view(snap_compare, sample: Workspace) -> None:
    with sqlite3.connect(sample.db_path) as conn:
        conn.executemany(
            "INSERT INTO jobs (kind, params, state, total, done, failed, unparsed, truncated, "
            "prompt_tokens, completion_tokens, cost_usd, error, created_at, started_at, "
            "finished_at) VALUES (?, '{}', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    "generate",
                    "done with failures",
                    120,
                    118,
                    2,
                    0,
                    5,
                    61_000,
                    98_000,
                    0.1935,
                    "2 of 120 units failed; last error: gpt-4 at https://api.openai.com/v1: "
                    "HTTP 500: overloaded",
                    "2026-11-01T10:00:00.000Z",
                    "2026-11-01T10:00:00.000Z",
                    "2026-11-01T10:04:00.000Z",
                ),
                (
                    "judge",
                    "cancelled",
                    30,
                    10,
                    0,
                    2,
                    0,
                    40_500,
                    9_800,
                    0.0349,
                    "stopped before the end; run again to resume",
                    "2026-11-01T11:00:00.000Z",
                    "2026-11-01T11:00:00.000Z",
                    "2026-11-01T11:01:00.000Z",
                ),
            ],
        )
    assert snap_compare(build_app(sample), terminal_size=(120, 30), run_before=keys("f4"))


def test_jobs_view_80x24_with_a_long_log(snap_compare, sample: Workspace, tmp_path) -> None:
    log = tmp_path / "job-1.log"
    log.write_text(
        "".join(
            f"2026-11-01 10:00:{i % 60:02d} unit {i} failed: gpt-4 at "
            "https://api.openai.com/v1: HTTP 500: overloaded, retried 5 times\n"
            for i in range(500)
        )
    )
    with sqlite3.connect(sample.db_path) as conn:
        for i in range(6):
            conn.execute(
                "INSERT INTO jobs (kind, params, state, total, done, failed, prompt_tokens, "
                "completion_tokens, cost_usd, error, log_path, started_at, finished_at) VALUES "
                "('generate', '{}', 'done with failures', 120, 100, 20, 61000, 98000, 12.5, ?, "
                "?, '2026-11-01T10:00:00.000Z', '2026-11-01T10:04:00.000Z')",
                (
                    f"20 of 120 units failed; last error: gpt-4 at https://api.openai.com/v1 ({i})",
                    str(log),
                ),
            )
    assert snap_compare(build_app(sample), terminal_size=(80, 24), run_before=keys("f4"))


def test_bench_view(snap_compare, sample: Workspace) -> None:
    """The sample workspace's CODAL-Bench table, and codellama's readability grades (one of
    them unreadable) with answer, reference and rationale side by side."""
    app = build_app(sample)

    async def open_a_score(pilot) -> None:
        import json

        await pilot.press("f3")
        table = app.query_one("#bench-table")
        for _ in range(100):
            await pilot.pause(0.05)
            if table.row_count:
                break
        key = json.dumps(
            ["codellama-7b-instruct", "imported", "imported", "gpt-3.5-turbo", "gpt-4-turbo"]
        )
        table.move_cursor(
            row=table.get_row_index(key), column=table.get_column_index("readability")
        )
        await pilot.press("enter")
        await pilot.pause()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(160, 48), run_before=open_a_score)


def test_help_80x24(snap_compare, sample: Workspace) -> None:
    assert snap_compare(build_app(sample), terminal_size=(80, 24), run_before=keys("question_mark"))


def test_bench_80x24(snap_compare, sample: Workspace) -> None:
    assert snap_compare(build_app(sample), terminal_size=(80, 24), run_before=keys("f3"))


def test_transcript_80x24(snap_compare, sample: Workspace) -> None:
    assert snap_compare(build_app(sample), terminal_size=(80, 24), run_before=keys("t"))


def _with_trust_data(sample: Workspace) -> Workspace:
    """The sample with a second judge, two reviewers and a position probe."""
    add_trust_data(sample.db_path)
    return sample


def test_judge_pane_80x24(snap_compare, sample: Workspace) -> None:
    app = build_app(_with_trust_data(sample))
    assert snap_compare(app, terminal_size=(80, 24), run_before=open_judge_tab)


def test_judge_pane_160x48(snap_compare, sample: Workspace) -> None:
    app = build_app(_with_trust_data(sample))
    assert snap_compare(app, terminal_size=(160, 48), run_before=open_judge_tab)
