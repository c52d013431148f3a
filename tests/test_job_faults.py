"""A job ends, and says why in one line, whatever stops it: parameters the store holds that
describe no batch, a fault no layer foresaw; and `cancel` never signals a process it cannot
tell is the job's worker."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

import pytest

from tests.batch_helpers import make_workspace, rows


def add_job(ws, kind: str, params: str, state: str = "interrupted", **columns) -> int:
    names = ["kind", "params", "state", *columns]
    with sqlite3.connect(ws / "cuf.db") as db:
        cursor = db.execute(
            f"INSERT INTO jobs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            (kind, params, state, *columns.values()),
        )
        return int(cursor.lastrowid)


@pytest.mark.parametrize(
    ("kind", "params", "said"),
    [
        ("generate", "not json {", "parameters are not JSON"),
        ("generate", "null", "are not an object"),
        ("generate", "[[1]]", "are not an object"),
        ("generate", '{"models": [{"a": 1}], "limit": null, "retry_failed": false}', "models"),
        ("generate", '{"models": "alpha", "limit": null, "retry_failed": false}', "models"),
        ("generate", '{"models": null, "limit": "ten", "retry_failed": false}', "limit"),
        ("judge", '{"judge": null, "limit": 0, "retry_failed": false}', "limit"),
        ("judge", '{"judge": 5, "limit": null, "retry_failed": false}', "judge"),
        ("generate", '{"models": null, "limit": null, "retry_failed": "yes"}', "retry_failed"),
    ],
)
def test_parameters_that_describe_no_batch_fail_the_job_in_one_line(
    cli, server, tmp_path, kind, params, said
):
    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha"], ["judge-json"])
    job = add_job(ws, kind, params)
    run = cli("worker", job, "-w", ws)  # what a detached batch runs; it logs, prints nothing
    assert run.code != 0 and "Traceback" not in run.out + run.err
    state, error = rows(ws, "SELECT state, error FROM jobs WHERE id = ?", (job,))[0]
    assert state == "failed" and said in error and "\n" not in error
    assert not server.requests


def test_an_unforeseen_fault_ends_the_job_failed_with_its_reason(cli, server, tmp_path):
    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha", "beta"], [])
    with sqlite3.connect(ws / "cuf.db") as db:  # every response write now fails
        db.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON responses "
            "BEGIN SELECT RAISE(ABORT, 'responses are frozen'); END"
        )
    run = cli("generate", "-w", ws)
    assert run.code != 0
    assert "Traceback" not in run.out + run.err
    assert "unexpected IntegrityError: responses are frozen" in run.out + run.err
    state, error = rows(ws, "SELECT state, error FROM jobs")[0]
    assert state == "failed" and "responses are frozen" in error
    assert rows(ws, "SELECT count(*) FROM claims") == [(0,)]
    log = next((ws / "logs").glob("job-*.log")).read_text()
    assert "Traceback" in log  # the detail is kept for whoever looks into it


def test_cancel_never_signals_a_process_it_cannot_tell_is_the_worker(cli, tmp_path):
    from cuf_tui.processes import this_host

    ws = make_workspace(tmp_path / "ws", instructions=[])
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # A row from before start times were recorded, naming a live, unrelated process.
        job = add_job(
            ws,
            "generate",
            '{"models": null, "limit": null, "retry_failed": false}',
            "running",
            pid=bystander.pid,
            host=this_host(),
            heartbeat_at="2020-01-01T00:00:00.000Z",
        )
        listed = cli("jobs", "--json", "-w", ws)
        assert '"stale": true' in listed.out  # shown as interrupted: its heartbeat is old
        run = cli("cancel", job, "-w", ws)
        assert run.code == 0 and "no worker was running it" in run.out
        time.sleep(0.2)
        assert bystander.poll() is None  # not signalled
        again = cli("cancel", job, "-w", ws)
        assert again.code != 0 and "already cancelled" in again.err
        failed = add_job(ws, "judge", "{}", "failed")
        refused = cli("cancel", failed, "-w", ws)
        assert refused.code != 0 and "already failed" in refused.err
        assert rows(ws, "SELECT state FROM jobs WHERE id = ?", (failed,)) == [("failed",)]
    finally:
        bystander.kill()
        bystander.wait()
