"""Detached workers: kill -9 and resume, two workers racing for one job, cancel, `jobs`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.batch_helpers import KEY_ENV, SECRET, files_containing, make_workspace, rows, wait_for
from tests.fake_openai import FakeOpenAI


@pytest.fixture
def slow_server(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.setenv("CUF_TUI_STALE_AFTER_S", "2")
    fake = FakeOpenAI(api_key=SECRET, latency=0.15).start()
    yield fake
    fake.stop()


def instructions(count: int) -> list[dict[str, str]]:
    return [
        {"instruction": f"Task {i}: sort a list.", "preference": "complexity"} for i in range(count)
    ]


def worker(ws: Path, job_id: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "cuf_tui", "worker", str(job_id), "-w", str(ws)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def test_a_killed_worker_resumes_with_the_complete_set_and_no_duplicates(
    cli, slow_server, tmp_path
):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha", "beta"],
        instructions=instructions(30),
        per_instruction=2,
        max_concurrency=3,
    )
    run = cli("generate", "--detach", "-w", ws)
    assert run.code == 0, run.err
    job_id = int(run.out.strip().splitlines()[-1])
    assert "runs in the background" in run.err
    assert "runs in the background" not in run.out  # stdout holds the id alone, for scripts
    wait_for(lambda: rows(ws, "SELECT done FROM jobs")[0][0] >= 10, what="10 responses")
    (pid,) = rows(ws, "SELECT pid FROM jobs WHERE id = ?", (job_id,))[0]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not _alive(pid), what="the worker to die")
    done_at_kill = rows(ws, "SELECT count(*) FROM responses")[0][0]
    assert 10 <= done_at_kill < 60

    # The dead worker's job shows as interrupted once its heartbeat is stale.
    wait_for(lambda: "interrupted" in cli("jobs", "-w", ws).out, what="interrupted")
    requests_before = len(slow_server.requests)
    resumed = cli("generate", "-w", ws)
    assert resumed.code == 0, resumed.err
    assert f"Job {job_id} (generate)" in resumed.out  # the same job, resumed
    assert rows(
        ws,
        "SELECT count(*), count(DISTINCT instruction_id || model) FROM responses "
        "WHERE state = 'done'",
    ) == [(60, 60)]
    # Only the missing units were requested again (plus at most those in flight at the kill).
    assert len(slow_server.requests) - requests_before == 60 - done_at_kill
    assert len(slow_server.requests) <= 60 + 2 * 3  # two models, three in flight each
    # The job's counts keep what the killed run stored: 60 of 60, not this run's share.
    assert rows(ws, "SELECT state, done, total, failed FROM jobs") == [("done", 60, 60, 0)]
    assert files_containing(ws, SECRET) == []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie child of ours is dead for this purpose.
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_two_workers_racing_for_one_job_run_it_once(cli, slow_server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha"],
        instructions=instructions(8),
        per_instruction=1,
        max_concurrency=2,
    )
    from cuf_tui.jobs.kinds import GenerateRequest
    from cuf_tui.jobs.launch import prepare_job
    from cuf_tui.workspace import Workspace

    job_id = prepare_job(Workspace(ws), GenerateRequest())
    first, second = worker(ws, job_id), worker(ws, job_id)
    outputs = [p.communicate(timeout=60) for p in (first, second)]
    codes = sorted(p.returncode for p in (first, second))
    assert codes == [0, 3], outputs
    loser = outputs[[first.returncode, second.returncode].index(3)][0]
    assert f"job {job_id} is running in process" in loser
    assert rows(ws, "SELECT count(*) FROM responses") == [(8,)]
    assert len(slow_server.requests) == 8


def test_a_second_launch_of_the_same_batch_is_refused_while_it_runs(cli, slow_server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha"],
        instructions=instructions(20),
        per_instruction=1,
        max_concurrency=1,
    )
    run = cli("generate", "--detach", "-w", ws)
    job_id = int(run.out.strip().splitlines()[-1])
    wait_for(lambda: rows(ws, "SELECT state FROM jobs")[0][0] == "running", what="running")
    again = cli("generate", "-w", ws)
    assert again.code == 1
    assert f"job {job_id} (generate, the same batch) is already running" in again.err
    assert cli("cancel", str(job_id), "-w", ws).code == 0
    wait_for(lambda: rows(ws, "SELECT state FROM jobs")[0][0] == "cancelled", what="cancelled")


def test_cancel_stops_a_detached_job_and_a_rerun_finishes_it(cli, slow_server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha"],
        instructions=instructions(40),
        per_instruction=1,
        max_concurrency=2,
    )
    job_id = int(cli("generate", "--detach", "-w", ws).out.strip().splitlines()[-1])
    wait_for(lambda: rows(ws, "SELECT done FROM jobs")[0][0] >= 2, what="progress")
    run = cli("cancel", str(job_id), "-w", ws)
    assert run.code == 0 and f"Asked job {job_id}" in run.out
    wait_for(
        lambda: rows(ws, "SELECT state, pid FROM jobs")[0] == ("cancelled", None), what="cancelled"
    )
    stopped_at = rows(ws, "SELECT count(*) FROM responses")[0][0]
    assert stopped_at < 40
    log = (ws / "logs" / f"job-{job_id}.log").read_text()
    assert f"job {job_id} cancelled" in log and SECRET not in log
    listing = cli("jobs", "-w", ws)
    assert "cancelled" in listing.out and "stopped before the end" in listing.out
    assert cli("generate", "-w", ws).code == 0
    assert rows(ws, "SELECT count(*) FROM responses WHERE state = 'done'") == [(40,)]
    assert cli("cancel", str(job_id), "-w", ws).code == 1  # done now


def test_jobs_lists_progress_as_json(cli, slow_server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha"],
        instructions=instructions(3),
        per_instruction=1,
    )
    assert "No jobs yet" in cli("jobs", "-w", ws).out
    assert cli("generate", "-w", ws).code == 0
    import json

    (job,) = json.loads(cli("jobs", "--json", "-w", ws).out)
    assert (job["kind"], job["state"], job["total"], job["done"], job["stale"]) == (
        "generate",
        "done",
        3,
        3,
        0,
    )
    assert job["cost_usd"] > 0


def test_a_launcher_that_stays_open_reaps_its_finished_workers(slow_server, tmp_path):
    """The workbench launches workers and keeps running: a finished worker must not stay
    behind as a zombie process."""
    from cuf_tui.jobs.kinds import GenerateRequest
    from cuf_tui.jobs.launch import detach, prepare_job
    from cuf_tui.workspace import Workspace

    ws = make_workspace(tmp_path / "ws", slow_server.base_url, ["alpha"], [], instructions(2), 1)
    workspace = Workspace(ws)
    job_id = prepare_job(workspace, GenerateRequest())
    pid, _ = detach(workspace, job_id)  # this test's process is the launcher
    wait_for(lambda: rows(ws, "SELECT state FROM jobs") == [("done",)], what="the job")

    # A zombie keeps its /proc entry until its parent waits for it.
    wait_for(lambda: not Path(f"/proc/{pid}").exists(), what="the worker to be reaped")
