"""A foreground batch's progress: at 80 columns the bar and done/total come first and the
rates give way; written to a file or a pipe, plain whole lines, never a line cut to a width."""

from __future__ import annotations

import io
import subprocess
import sys

from rich.console import Console

from cuf_tui.jobs.progress import Progress
from cuf_tui.views import job_progress
from tests.batch_helpers import KEY_ENV, SECRET, make_workspace


def progress(done: int) -> Progress:
    p = Progress(7, "generate", total=80, done=done, in_flight=16)
    p.prompt_tokens, p.completion_tokens, p.cost_usd = 123_456, 78_901, 1.2345
    return p


def test_at_80_columns_the_count_and_bar_come_before_the_rates() -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=80, color_system=None)
    with job_progress(console, "generate (job 7)") as update:
        update(progress(36))
    shown = screen.getvalue().split("\r")[-1].replace("\x1b[2K", "").splitlines()[0]
    last = shown
    assert "generate (job 7)" in last and "36/80" in last and "━" in last
    assert len(last.rstrip()) <= 80
    assert "…" in last  # the rates were cut, not the count


def test_written_to_a_file_the_progress_is_whole_plain_lines(server, tmp_path) -> None:
    import os

    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha", "beta"], [])
    log = tmp_path / "stderr.txt"
    env = {**os.environ, KEY_ENV: SECRET, "COLUMNS": "80"}
    with log.open("w") as stderr:
        run = subprocess.run(
            [sys.executable, "-m", "cuf_tui", "generate", "-w", str(ws)],
            stderr=stderr,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            timeout=120,
        )
    assert run.returncode == 0, log.read_text()
    lines = log.read_text().splitlines()
    progress_lines = [line for line in lines if line.startswith("generate (job 1): ")]
    assert progress_lines and progress_lines[-1].startswith("generate (job 1): 20/20 · ")
    assert all(
        line.rstrip().endswith(("$0.0000", "$0.0001", "$0.0002")) or "$" in line
        for line in progress_lines
    )
    assert not any("\r" in line or "━" in line for line in lines)
