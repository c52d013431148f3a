"""What the command line prints, read as text: the jobs table, the end of a foreground run,
and a dry run's estimates."""

from __future__ import annotations

import io

from rich.console import Console

from cuf_tui.jobs.plan import Estimate
from cuf_tui.jobs.progress import Progress
from cuf_tui.store.jobs import JobRow
from cuf_tui.views import job_summary_lines, render_estimates, render_jobs


def printed(render) -> str:
    console = Console(record=True, width=200, color_system=None, file=io.StringIO())
    render(console)
    return console.export_text()


def job(**changes) -> JobRow:
    row = {
        "id": 3,
        "kind": "judge",
        "params": "{}",
        "state": "done with failures",
        "total": 10,
        "done": 6,
        "failed": 2,
        "unparsed": 2,
        "truncated": 1,
        "retries": 4,
        "rate_limited": 0,
        "prompt_tokens": 1000,
        "completion_tokens": 234,
        "cost_usd": 0.0123,
        "error": "2 of 10 units failed; last error: j at http://x/v1: HTTP 500: down",
        "pid": None,
        "host": None,
        "pid_started": None,
        "heartbeat_at": None,
        "created_at": "2026-11-30T10:00:00.000Z",
        "started_at": "2026-11-30T10:00:00.000Z",
        "finished_at": None,
        "lease_token": None,
        "cancel_requested": 0,
        "in_flight": 0,
        "log_path": None,
    }
    return JobRow(**(row | changes))


def test_the_jobs_table_shows_progress_attention_and_the_error() -> None:
    text = printed(lambda c: render_jobs(c, [job(), job(id=2, state="running", stale=True)]))
    line = next(line for line in text.splitlines() if line.lstrip().startswith("3 "))
    assert "done with failures" in line and "10/10" in line and "2 unparsed, 1 cut off" in line
    assert "1,234" in line and "$0.0123" in line
    assert "interrupted" in text  # a running job whose worker is gone
    assert "job 3: 2 of 10 units failed; last error: j at http://x/v1" in text


def test_the_end_of_a_run_says_what_needs_attention() -> None:
    progress = Progress(4, "judge", total=5, done=2, unparsed=2, truncated=1, retries=3)
    progress.rate_limited = 1
    lines = job_summary_lines("judge", progress)
    assert lines[0].startswith("Job 4 (judge): 2 done, 0 failed of 5;")
    assert any("2 judge answers could not be read" in line for line in lines)
    assert any("1 answers were cut off at max_tokens" in line for line in lines)
    assert any("3 requests were retried (1 after a 429)" in line for line in lines)


def test_a_dry_run_lists_each_endpoint_and_says_what_it_guessed() -> None:
    estimates = [Estimate("alpha", 12, 3400, 6000, 0.0152, False)]
    text = printed(lambda c: render_estimates(c, "generate", estimates, 4))
    assert "alpha" in text and "~3,400" in text and "~6,000*" in text and "~$0.0152" in text
    assert "12 requests in all; nothing was requested." in text
    assert "4 instructions would first get their models assigned." in text
    assert "assumed half of max_tokens per response" in text
    assert "judgment" not in text  # a generation guesses nothing about judgments
