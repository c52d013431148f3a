"""Batches beside other writers: two batches over the same units, a worker killed and run
again at once, a store locked for longer than the busy timeout, and a disk that fills up."""

from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from cuf_tui.store.db import open_store
from cuf_tui.store.jobs import job_row
from tests.batch_helpers import KEY_ENV, SECRET, make_workspace, rows, wait_for
from tests.fake_openai import FakeOpenAI


@pytest.fixture
def slow_server(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(KEY_ENV, SECRET)
    fake = FakeOpenAI(api_key=SECRET, latency=0.05).start()
    yield fake
    fake.stop()


def tasks(count: int) -> list[dict[str, str]]:
    return [{"instruction": f"Task {i}: sort a list.", "preference": "style"} for i in range(count)]


def detached_generate(cli, ws: Path) -> int:
    """`cuf-tui generate --detach`: the job id it prints."""
    run = cli("generate", "--detach", "-w", ws)
    assert run.code == 0, run.err
    return int(run.out.strip().splitlines()[-1])


def kill_worker(ws: Path, job_id: int) -> None:
    """kill -9 of the job's worker, as a crash or the OOM killer would."""
    (pid,) = rows(ws, "SELECT pid FROM jobs WHERE id = ?", (job_id,))[0]
    os.kill(pid, signal.SIGKILL)


def completions(server: FakeOpenAI) -> Counter[str]:
    """How many times each distinct chat request was sent."""
    return Counter(repr((r.model, r.messages)) for r in server.requests if r.messages is not None)


def test_two_overlapping_batches_send_each_unit_once_and_count_its_tokens_once(
    cli, slow_server, tmp_path
):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha", "beta"],
        instructions=tasks(40),
        per_instruction=2,
        max_concurrency=4,
    )
    background = detached_generate(cli, ws)
    foreground = cli("generate", "--limit", "20", "-w", ws)
    assert foreground.code == 0, foreground.err
    wait_for(
        lambda: rows(ws, "SELECT state FROM jobs WHERE id = ?", (background,))[0][0] == "done",
        what="the detached batch to finish",
    )
    sent = completions(slow_server)
    assert len(sent) == 80 and set(sent.values()) == {1}, "a unit was sent twice"
    assert rows(ws, "SELECT count(*) FROM responses WHERE state = 'done'") == [(80,)]
    stored = rows(ws, "SELECT sum(prompt_tokens + completion_tokens), sum(cost_usd) FROM responses")
    counted = rows(ws, "SELECT sum(prompt_tokens + completion_tokens), sum(cost_usd) FROM jobs")
    assert stored[0][0] == counted[0][0]
    assert stored[0][1] == pytest.approx(counted[0][1])
    # Each job's count of done units adds up to what was stored.
    assert rows(ws, "SELECT sum(done) FROM jobs") == [(80,)]
    assert rows(ws, "SELECT count(*) FROM claims") == [(0,)]


def test_a_worker_killed_with_sigkill_is_resumed_at_once_by_the_same_command(
    cli, slow_server, tmp_path
):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha", "beta"],
        instructions=tasks(30),
        per_instruction=2,
        max_concurrency=2,
    )
    job_id = detached_generate(cli, ws)
    wait_for(lambda: rows(ws, "SELECT done FROM jobs")[0][0] >= 6, what="6 responses")
    kill_worker(ws, job_id)
    # At once: well inside the 15 s a heartbeat needs to age.
    started = time.monotonic()
    again = cli("generate", "-w", ws)
    assert again.code == 0, again.err
    assert "already running" not in again.err
    assert time.monotonic() - started < 10
    assert f"Job {job_id} (generate)" in again.out  # the same job, resumed
    assert rows(ws, "SELECT count(*), count(DISTINCT instruction_id || model) FROM responses") == [
        (60, 60)
    ]
    assert len(completions(slow_server)) == 60


def test_a_resumed_job_still_counts_what_failed_for_good_in_its_earlier_run(
    cli, slow_server, tmp_path
):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha", "bad400"],
        instructions=tasks(20),
        per_instruction=2,
        max_concurrency=1,
    )
    job_id = detached_generate(cli, ws)
    wait_for(lambda: rows(ws, "SELECT failed FROM jobs")[0][0] >= 5, what="5 failed units")
    kill_worker(ws, job_id)
    again = cli("generate", "-w", ws)
    assert again.code == 1
    # Every bad400 unit failed for good, those of the killed run included; alpha's are done.
    assert rows(ws, "SELECT state, failed FROM jobs") == [("done with failures", 20)]
    assert "failed before in a way a retry cannot fix" in again.err
    after = cli("generate", "-w", ws)  # nothing left to ask: says why, not "all answered"
    assert after.code == 0
    assert "but for" in after.out and "retry cannot fix" in after.out


def test_units_claimed_by_a_killed_worker_are_free_for_another_batch_at_once(
    cli, slow_server, tmp_path
):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha", "beta"],
        instructions=tasks(30),
        per_instruction=2,
        max_concurrency=2,
    )
    job_id = detached_generate(cli, ws)
    wait_for(lambda: rows(ws, "SELECT done FROM jobs")[0][0] >= 2, what="2 responses")
    kill_worker(ws, job_id)
    assert rows(ws, "SELECT count(*) FROM claims")[0][0] > 0  # left behind by the kill
    other = cli("generate", "--limit", "3", "-w", ws)  # another batch, at once
    assert other.code == 0, other.err
    assert "left to another batch" not in other.out
    assert rows(ws, "SELECT count(*) FROM responses WHERE instruction_id <= 3") == [(6,)]


def test_a_batch_waits_out_a_store_locked_for_12_seconds_and_completes(cli, slow_server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha", "beta"],
        instructions=tasks(40),
        per_instruction=2,
        max_concurrency=2,
    )
    job_id = detached_generate(cli, ws)
    wait_for(lambda: rows(ws, "SELECT done FROM jobs")[0][0] >= 4, what="4 responses")
    holder = sqlite3.connect(ws / "cuf.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # as the sqlite3 shell inside a transaction does
    time.sleep(12)
    during = rows(ws, "SELECT state, done FROM jobs")[0]
    holder.execute("COMMIT")
    holder.close()
    assert during[0] == "running"
    wait_for(
        lambda: rows(ws, "SELECT state FROM jobs WHERE id = ?", (job_id,))[0][0] != "running",
        what="the batch to end",
    )
    assert rows(ws, "SELECT state, done, failed FROM jobs") == [("done", 80, 0)]
    log = Path(rows(ws, "SELECT log_path FROM jobs")[0][0]).read_text()
    assert "waiting to write" in log and "locked by another program" in log
    # One wait, said once however many writes waited in it, then every 10 s, then its end.
    assert log.count("waiting to write:") == 1 and "still waiting to write (1" in log
    assert re.search(r"the store took writes again after 1\d\.\d s", log)


def test_a_live_worker_whose_heartbeat_aged_behind_a_lock_keeps_its_job_and_claims(
    cli, monkeypatch, tmp_path
):
    """Its heartbeat ages while another program holds the store's lock; its process is
    alive all the while, so no other batch takes its job or its units."""
    monkeypatch.setenv(KEY_ENV, SECRET)
    monkeypatch.setenv("CUF_TUI_STALE_AFTER_S", "2")
    server = FakeOpenAI(api_key=SECRET, latency=0.2).start()
    try:
        ws = make_workspace(
            tmp_path / "ws",
            server.base_url,
            ["alpha"],
            instructions=tasks(40),
            per_instruction=1,
            max_concurrency=2,
        )
        job_id = detached_generate(cli, ws)
        wait_for(lambda: rows(ws, "SELECT done FROM jobs")[0][0] >= 2, what="2 responses")
        holder = sqlite3.connect(ws / "cuf.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        time.sleep(4)  # twice the time a heartbeat may age
        holder.execute("COMMIT")
        holder.close()
        same = cli("generate", "-w", ws)
        assert same.code == 1 and "already running" in same.err
        other = cli("generate", "--limit", "30", "-w", ws)
        assert other.code == 0, other.err
        wait_for(
            lambda: rows(ws, "SELECT state FROM jobs WHERE id = ?", (job_id,))[0][0] == "done",
            what="the first batch to finish",
        )
        sent = completions(server)
        assert len(sent) == 40 and set(sent.values()) == {1}, "a unit was sent twice"
        stored = rows(ws, "SELECT sum(prompt_tokens + completion_tokens) FROM responses")
        counted = rows(ws, "SELECT sum(prompt_tokens + completion_tokens) FROM jobs")
        assert stored == counted
    finally:
        server.stop()


FILL_DISK = """
set -e
mount -t tmpfs -o size={size}k tmpfs {mount}
cp -a {ws}/. {mount}/
set +e
{python} -m cuf_tui generate -w {mount} 2> {out}/stderr
echo $? > {out}/code
cp {mount}/cuf.db* {out}/
"""


def _run_on_a_full_disk(ws: Path, out: Path, room_kb: int) -> None:
    """`cuf-tui generate` on a copy of ``ws`` whose disk has ``room_kb`` KB left: a tmpfs in
    a mount namespace of its own where the kernel allows one, else a file size limit."""
    used_kb = sum(p.stat().st_size for p in ws.rglob("*") if p.is_file()) // 1024
    mount = out / "disk"
    mount.mkdir()
    if shutil.which("unshare"):
        script = FILL_DISK.format(
            size=used_kb + room_kb, mount=mount, ws=ws, python=sys.executable, out=out
        )
        done = subprocess.run(["unshare", "-rm", "sh", "-c", script], capture_output=True)
        if done.returncode == 0 and (out / "code").exists():
            return
    shutil.copytree(ws, mount, dirs_exist_ok=True)
    limit = max(p.stat().st_size for p in mount.rglob("*") if p.is_file()) + room_kb * 1024

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [sys.executable, "-m", "cuf_tui", "generate", "-w", str(mount)],
        capture_output=True,
        text=True,
        preexec_fn=small_disk,
    )
    (out / "stderr").write_text(done.stderr)
    (out / "code").write_text(str(done.returncode))
    for path in mount.glob("cuf.db*"):
        shutil.copy(path, out / path.name)


def test_a_full_disk_fails_the_job_in_one_line_with_nothing_half_written(slow_server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        slow_server.base_url,
        ["alpha", "beta"],
        instructions=tasks(200),
        per_instruction=2,
        max_concurrency=4,
    )
    out = tmp_path / "out"
    out.mkdir()
    _run_on_a_full_disk(ws, out, room_kb=320)
    code = int((out / "code").read_text())
    errors = (out / "stderr").read_text().splitlines()
    final = [line for line in errors if line.startswith("cuf-tui: error:")]
    assert code == 1
    assert len(final) == 1 and "Traceback" not in "\n".join(errors)
    assert "cannot write the store" in final[0]
    assert any(words in final[0] for words in ("disk is full", "disk I/O error"))
    with sqlite3.connect(out / "cuf.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        stored = conn.execute("SELECT count(*) FROM responses WHERE state = 'done'").fetchone()
        half = conn.execute("SELECT count(*) FROM responses WHERE text IS NULL").fetchone()
    with open_store(out / "cuf.db") as store:
        job = job_row(store, 1)
    assert job is not None
    assert 0 < stored[0] < 400 and job.done == stored[0], "every stored unit counted, only those"
    assert half == (0,)
    if job.state != "failed":
        # Under a file size limit the store may not even take the job's last row; the job
        # then shows as interrupted at once (its worker is gone), never as still running.
        assert job.state == "running" and job.stale
    else:
        assert job.error and "cannot write the store" in job.error
