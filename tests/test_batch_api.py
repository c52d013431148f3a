"""Batch mode (`mode = "batch"`): units sent as OpenAI Batch API jobs to the loopback server's
files and batches endpoints, through the real CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.batch_helpers import make_workspace, model_entry, rows, wait_for

POOL = ["alpha", "beta", "gamma", "delta"]
FAST = {"mode": "batch", "batch_poll_interval": 0.05}


@pytest.fixture
def detached(request):
    """Workspaces whose detached workers are killed when the test ends, however it ends (a
    worker waits for its batches as long as they take)."""
    workspaces: list[Path] = []
    yield workspaces.append
    import contextlib

    for ws in workspaces:
        for (pid,) in rows(ws, "SELECT pid FROM jobs WHERE pid IS NOT NULL"):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def judged(ws: Path) -> list[tuple[object, ...]]:
    """Every stored judgment, with its ratings, in a form two stores can be compared by."""
    return rows(
        ws,
        "SELECT i.text, j.judge, j.state, j.order_shown, j.raw_output, j.repaired, "
        "r.model, r.position_shown, r.rating, r.rationale FROM judgments j "
        "JOIN instructions i ON i.id = j.instruction_id "
        "JOIN judgment_ratings r ON r.judgment_id = j.id ORDER BY i.text, r.model",
    )


def cuf(*args: object, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own, to the end."""
    return subprocess.run(
        [sys.executable, "-m", "cuf_tui", *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def stopped_when(
    condition, what: str, *args: object, stop: signal.Signals = signal.SIGKILL
) -> subprocess.CompletedProcess[str]:
    """The real command in a process of its own, sent ``stop`` once ``condition`` holds
    (SIGKILL: a worker killed at that point); how it ended."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cuf_tui", *map(str, args)],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(condition, timeout=60, what=what)
    finally:
        process.send_signal(stop)
        out, err = process.communicate(timeout=60)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def one_batch_in_progress(ws: Path):
    return lambda: rows(ws, "SELECT status FROM remote_batches") == [("in_progress",)]


def batch_workspace(
    root: Path, base_url: str, judge: str = "judge-markdown", toml: str = "", **judge_settings
):
    """The pool answered online, the judge in batch mode (``toml``: more of its keys)."""
    entry = model_entry("judges", judge, base_url, **(FAST | judge_settings)) + toml
    return make_workspace(root, base_url, POOL, entries=entry)


def test_a_judge_in_batch_mode_stores_what_online_mode_stores(cli, server, tmp_path):
    online = make_workspace(tmp_path / "online", server.base_url, POOL, ["judge-markdown"])
    batched = batch_workspace(tmp_path / "batched", server.base_url)
    for ws in (online, batched):
        assert cli("generate", "-w", ws).code == 0
    assert cli("judge", "-w", online).code == 0
    chat_requests = len(server.requests)

    run = cli("judge", "--wait", "-w", batched)
    assert run.code == 0, run.err
    assert "10 done, 0 failed of 10" in run.out
    assert judged(batched) == judged(online)
    assert len(judged(batched)) == 40
    # One upload and one batch carried the ten requests; no chat completion was asked.
    assert len(server.uploads) == 1 and len(server.batches) == 1
    assert not [r for r in server.requests[chat_requests:] if r.body.get("stream") is not None]
    lines = server.files[server.uploads[0]]["content"].decode().splitlines()
    assert len(lines) == 10 and len({json.loads(line)["custom_id"] for line in lines}) == 10
    remote = rows(
        batched,
        "SELECT batch_id, status, requests, completed, failed, collected FROM remote_batches",
    )
    assert remote == [("batch_0001", "completed", 10, 10, 0, 1)]
    # The answer lines were kept until their units were stored, then let go.
    assert rows(batched, "SELECT count(*) FROM remote_batch_units WHERE answer IS NOT NULL") == [
        (0,)
    ]
    # Half the online price (1.0 in and 2.0 out per million, as both entries say).
    online_cost = rows(online, "SELECT cost_usd FROM jobs WHERE kind = 'judge'")[0][0]
    batch_cost = rows(batched, "SELECT cost_usd FROM jobs WHERE kind = 'judge'")[0][0]
    assert batch_cost == pytest.approx(online_cost / 2)
    # Nothing is asked again.
    again = cli("judge", "--wait", "-w", batched)
    assert "has judged every complete instruction" in again.out
    assert len(server.uploads) == 1


def test_the_estimate_uses_the_batch_price(cli, server, tmp_path):
    online = make_workspace(tmp_path / "online", server.base_url, POOL, ["judge-markdown"])
    batched = batch_workspace(tmp_path / "batched", server.base_url)
    explicit = batch_workspace(
        tmp_path / "explicit",
        server.base_url,
        toml="batch_price_per_million_tokens = { input = 0.25, output = 0.5 }\n",
    )
    costs = {}
    for ws in (online, batched, explicit):
        assert cli("generate", "-w", ws).code == 0
        run = cli("judge", "--dry-run", "-w", ws)
        assert run.code == 0, run.err
        line = next(line for line in run.out.splitlines() if "judge-markdown" in line)
        costs[ws.name] = float(line.split("~$")[1].split()[0])
        if ws is not online:
            assert "judge-markdown (batch)" in line
            assert "Batch API" in run.out
    assert costs["batched"] == pytest.approx(costs["online"] / 2, rel=0.01)
    assert costs["explicit"] == pytest.approx(costs["online"] / 4, rel=0.01)


def test_a_run_over_the_batch_limit_is_split_over_several_batches(cli, server, tmp_path):
    server.max_batch_requests = 1000
    instructions = [
        {"instruction": f"Write helper {i} in Python.", "preference": "readability"}
        for i in range(2500)
    ]
    entry = model_entry("models", "alpha", server.base_url, batch_max_requests=1000, **FAST)
    ws = make_workspace(
        tmp_path / "ws",
        server.base_url,
        instructions=instructions,
        per_instruction=1,
        entries=entry,
    )
    run = cli("generate", "--wait", "-w", ws)
    assert run.code == 0, run.err
    assert "2500 done, 0 failed of 2500" in run.out
    assert [len(server.files[f]["content"].splitlines()) for f in server.uploads] == [
        1000,
        1000,
        500,
    ]
    assert rows(ws, "SELECT count(*), count(DISTINCT instruction_id) FROM responses") == [
        (2500, 2500)
    ]
    assert rows(ws, "SELECT DISTINCT state FROM responses") == [("done",)]
    batches = rows(ws, "SELECT requests, status, collected FROM remote_batches ORDER BY id")
    assert batches == [(1000, "completed", 1), (1000, "completed", 1), (500, "completed", 1)]
    for text, response in rows(
        ws,
        "SELECT i.text, r.text FROM responses r JOIN instructions i ON i.id = r.instruction_id",
    ):
        import hashlib

        assert hashlib.sha256(text.encode()).hexdigest()[:10] in response  # its own answer


def test_an_expired_batch_resubmits_only_the_requests_it_left_unanswered(cli, server, tmp_path):
    server.expire_batches = {1}
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--wait", "-w", ws)
    assert run.code == 0, run.err
    assert "10 done, 0 failed of 10" in run.out
    first, second = (server.files[f]["content"].decode().splitlines() for f in server.uploads)
    assert len(first) == 10 and len(second) == 5
    answered = {
        json.loads(line)["custom_id"]
        for line in server.files[server.batches["batch_0001"]["output_file_id"]]["content"]
        .decode()
        .splitlines()
    }
    assert len(answered) == 5
    resent = {json.loads(line)["custom_id"] for line in second}
    assert resent == {json.loads(line)["custom_id"] for line in first} - answered
    assert rows(ws, "SELECT status, purpose, requests FROM remote_batches ORDER BY id") == [
        ("expired", "units", 10),
        ("completed", "resubmitted", 5),
    ]


def test_a_batch_that_expires_twice_stores_failures_a_later_run_asks_again(cli, server, tmp_path):
    server.expire_batches = {1, 2}
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--wait", "-w", ws)
    assert run.code == 1
    # The first batch answers 5 of 10; the second, of the other 5, answers 2.
    assert "7 done, 3 failed of 10" in run.out
    assert rows(ws, "SELECT state, count(*) FROM judgments GROUP BY state ORDER BY state") == [
        ("done", 7),
        ("failed", 3),
    ]
    error = rows(ws, "SELECT error, permanent_failure FROM judgments WHERE state = 'failed'")[0]
    assert "expired again" in error[0] and error[1] == 0
    again = cli("judge", "--wait", "-w", ws)
    assert again.code == 0, again.err
    assert rows(ws, "SELECT count(*) FROM judgments WHERE state = 'done'") == [(10,)]
    assert [len(server.files[f]["content"].splitlines()) for f in server.uploads] == [10, 5, 3]


def test_failed_requests_in_the_error_file_are_stored_as_failures(cli, server, tmp_path):
    entry = model_entry("models", "alpha-bad400", server.base_url, **FAST)
    entry += model_entry("models", "beta", server.base_url, **FAST)
    ws = make_workspace(tmp_path / "ws", server.base_url, per_instruction=2, entries=entry)
    run = cli("generate", "--wait", "-w", ws)
    assert run.code == 1
    assert rows(ws, "SELECT model, state, permanent_failure FROM responses GROUP BY model") == [
        ("alpha-bad400", "failed", 1),
        ("beta", "done", 0),
    ]
    error = rows(ws, "SELECT error FROM responses WHERE model = 'alpha-bad400'")[0][0]
    assert "HTTP 400" in error and "refused" in error


def test_a_killed_worker_resumes_its_batch_without_uploading_again(server, tmp_path):
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    generate = cuf("generate", "-w", ws)
    assert generate.returncode == 0, generate.stderr
    server.hold_in_progress = True
    stopped_when(one_batch_in_progress(ws), "the batch in progress", "judge", "--wait", "-w", ws)
    assert rows(ws, "SELECT count(*) FROM judgments") == [(0,)]
    dry = cuf("judge", "--dry-run", "-w", ws)
    assert "10 requests to judge-markdown are in remote batches of job 2" in dry.stderr
    server.hold_in_progress = False
    resumed = cuf("judge", "--wait", "-w", ws)
    assert resumed.returncode == 0, resumed.stderr
    assert len(server.uploads) == 1 and len(server.batches) == 1
    assert rows(ws, "SELECT count(*) FROM judgments WHERE state = 'done'") == [(10,)]
    log = Path(rows(ws, "SELECT log_path FROM jobs WHERE kind = 'judge'")[0][0]).read_text()
    assert "remote batches of an earlier run taken up again" in log


def test_cancel_cancels_the_remote_batches(cli, server, tmp_path, detached):
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    detached(ws)
    assert cli("generate", "-w", ws).code == 0
    server.hold_in_progress = True
    run = cli("judge", "-w", ws)  # detached by default in batch mode
    assert run.code == 0, run.err
    assert "background worker" in run.err
    job = int(run.out.strip())
    wait_for(
        lambda: rows(ws, "SELECT status FROM remote_batches") == [("in_progress",)],
        timeout=60,
        what="the batch in progress",
    )
    listed = cli("jobs", "-w", ws)
    assert "batch_0001" in listed.out and "in_progress" in listed.out
    assert cli("cancel", str(job), "-w", ws).code == 0
    wait_for(
        lambda: rows(ws, "SELECT state FROM jobs WHERE id = ?", (job,)) == [("cancelled",)],
        timeout=60,
        what="the job cancelled",
    )
    assert server.cancelled == ["batch_0001"]
    assert rows(ws, "SELECT status FROM remote_batches") == [("cancelling",)]
    # The same command again: what the cancelled batch left unanswered is sent once more.
    server.hold_in_progress = False
    resumed = cli("judge", "--wait", "-w", ws)
    assert resumed.code == 0, resumed.err
    assert "10 done, 0 failed of 10" in resumed.out
    assert rows(ws, "SELECT status, purpose FROM remote_batches ORDER BY id") == [
        ("cancelled", "units"),
        ("completed", "resubmitted"),
    ]


def test_ctrl_c_leaves_the_remote_batches_running_for_the_same_command(server, tmp_path):
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    generate = cuf("generate", "-w", ws)
    assert generate.returncode == 0, generate.stderr
    server.hold_in_progress = True
    foreground = stopped_when(
        one_batch_in_progress(ws),
        "the batch in progress",
        "judge",
        "--wait",
        "-w",
        ws,
        stop=signal.SIGINT,
    )
    assert foreground.returncode == 130
    assert "remote batches keep running at the provider" in foreground.stderr
    assert "cuf-tui cancel" in foreground.stderr
    assert server.cancelled == []
    server.hold_in_progress = False
    resumed = cuf("judge", "--wait", "-w", ws)
    assert resumed.returncode == 0, resumed.stderr
    assert len(server.uploads) == 1 and len(server.batches) == 1
    assert rows(ws, "SELECT count(*) FROM judgments WHERE state = 'done'") == [(10,)]


def test_progress_counts_every_model_sent_in_batch_mode_at_once(cli, server, tmp_path, detached):
    ws = make_workspace(tmp_path / "ws", server.base_url, POOL, **FAST)
    detached(ws)
    server.hold_in_progress = True
    run = cli("generate", "-w", ws)
    job = int(run.out.split()[-1])  # the job id alone, last on stdout
    wait_for(
        lambda: (
            rows(ws, "SELECT count(*) FROM remote_batches WHERE status = 'in_progress'") == [(4,)]
            and rows(ws, "SELECT in_flight FROM jobs WHERE id = ?", (job,)) == [(40,)]
        ),
        timeout=60,
        what="four batches in progress, 40 requests in flight",
    )
    server.hold_in_progress = False
    wait_for(
        lambda: rows(ws, "SELECT state, done FROM jobs WHERE id = ?", (job,)) == [("done", 40)],
        timeout=60,
        what="the job done",
    )


def test_cancelling_a_job_whose_worker_died_cancels_its_remote_batches(
    cli, server, tmp_path, detached
):
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    detached(ws)
    assert cli("generate", "-w", ws).code == 0
    server.hold_in_progress = True
    run = cli("judge", "-w", ws)
    job = int(run.out.strip())
    wait_for(
        lambda: rows(ws, "SELECT status FROM remote_batches") == [("in_progress",)],
        timeout=60,
        what="the batch in progress",
    )
    pid = rows(ws, "SELECT pid FROM jobs WHERE id = ?", (job,))[0][0]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: not _alive(pid), timeout=30, what="the worker gone")
    rows(ws, "UPDATE jobs SET heartbeat_at = '2000-01-01T00:00:00.000Z' WHERE id = ?", (job,))
    cancelled = cli("cancel", str(job), "-w", ws)
    assert cancelled.code == 0, cancelled.err
    assert "batch batch_0001 of judge-markdown: cancelling" in cancelled.out
    assert server.cancelled == ["batch_0001"]
    assert rows(ws, "SELECT state FROM jobs WHERE id = ?", (job,)) == [("cancelled",)]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for this purpose
        return stat.read().split(")")[-1].split()[0] != "Z"


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ('engine = "vllm"\nmodel = "m"\nmode = "batch"', "answers online only"),
        (
            'engine = "openai"\nmodel = "m"\nbatch_repair = "batch"',
            'batch_repair applies in batch mode (mode = "batch")',
        ),
        ('engine = "openai"\nmodel = "m"\nmode = "later"', "mode"),
    ],
)
def test_batch_settings_are_checked(cli, tmp_path, keys, message):
    ws = tmp_path / "ws"
    assert cli("init", ws).code == 0
    (ws / "cuf.toml").write_text(f'[[judges]]\nname = "j"\n{keys}\n', encoding="utf-8")
    run = cli("judge", "--dry-run", "-w", ws)
    assert run.code != 0
    assert message in run.err


@pytest.mark.parametrize("repair", ["online", "batch"])
def test_an_unreadable_answer_is_repaired_online_or_in_a_follow_up_batch(
    cli, server, tmp_path, repair
):
    settings = {"batch_repair": "batch"} if repair == "batch" else {}
    ws = batch_workspace(tmp_path / "ws", server.base_url, "judge-garbage", **settings)
    assert cli("generate", "-w", ws).code == 0
    online_before = sum(server.attempts.values())
    run = cli("judge", "--wait", "-w", ws)
    assert run.code == 0, run.err
    assert rows(ws, "SELECT state, repaired, count(*) FROM judgments GROUP BY state, repaired") == [
        ("done", 1, 10)
    ]
    online = sum(server.attempts.values()) - online_before
    uploads = [len(server.files[f]["content"].splitlines()) for f in server.uploads]
    if repair == "online":
        assert online == 10 and uploads == [10]
    else:
        assert online == 0 and uploads == [10, 10]
        assert rows(ws, "SELECT purpose FROM remote_batches ORDER BY id") == [
            ("units",),
            ("repairs",),
        ]


def test_a_bench_run_in_batch_mode_answers_then_grades_as_online(cli, server, tmp_path):
    grades = {}
    for mode in ("online", "batch"):
        settings = FAST if mode == "batch" else {}
        ws = make_workspace(
            tmp_path / mode,
            server.base_url,
            ["alpha"],
            ["judge-markdown"],
            instructions=[],
            bench_items=10,
            seed=5,
            **settings,
        )
        run = cli("bench", "--model", "alpha", "--reference", "gpt-4-turbo", "--wait", "-w", ws)
        assert run.code == 0, run.err
        assert "20 done, 0 failed of 20" in run.out
        grades[mode] = rows(
            ws,
            "SELECT i.text, a.text, g.rating, g.rationale, g.state FROM bench_grades g "
            "JOIN bench_answers a ON a.id = g.bench_answer_id "
            "JOIN bench_items i ON i.id = a.bench_item_id ORDER BY i.text",
        )
    assert grades["batch"] == grades["online"] and len(grades["batch"]) == 10
    # The answers, then the grades: one batch each.
    assert [len(server.files[f]["content"].splitlines()) for f in server.uploads] == [10, 10]


async def test_the_jobs_pane_shows_each_remote_batch_while_it_waits(
    cli, server, tmp_path, detached
):
    import asyncio

    from textual.widgets import DataTable

    from cuf_tui.tui.app import build_app
    from cuf_tui.workspace import Workspace

    ws = batch_workspace(tmp_path / "ws", server.base_url)
    detached(ws)
    assert (await asyncio.to_thread(cli, "generate", "-w", ws)).code == 0
    server.hold_in_progress = True
    run = await asyncio.to_thread(cli, "judge", "-w", ws)
    job = int(run.out.strip())
    await asyncio.to_thread(
        wait_for,
        lambda: rows(ws, "SELECT status FROM remote_batches") == [("in_progress",)],
        60,
        "the batch in progress",
    )
    try:
        app = build_app(Workspace(ws))
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.press("f4")
            await pilot.pause()
            table = app.query_one("#jobs-table", DataTable)
            table.move_cursor(row=[str(k.value) for k in table.rows].index(str(job)))
            await pilot.pause()
            detail = " ".join(str(app.query_one("#job-log").render()).split())
            assert "remote batches (Batch API):" in detail
            assert "batch batch_0001 of judge-markdown: in_progress, 0/10 answered" in detail
            assert "expires in" in detail and "age" in detail
    finally:
        server.hold_in_progress = False
        await asyncio.to_thread(
            wait_for,
            lambda: rows(ws, "SELECT state FROM jobs WHERE id = ?", (job,)) == [("done",)],
            60,
            "the job done",
        )


@pytest.mark.parametrize(
    ("stall", "uploads", "left"),
    [
        ("upload", 1, ("uploading", None)),  # the file never arrived: uploaded on the next run
        ("uploaded", 1, ("uploading", None)),  # it arrived unrecorded: found by its name
        ("create", 1, ("uploaded", None)),  # the batch was made unrecorded: found by its file
    ],
)
def test_a_worker_killed_mid_request_never_uploads_or_creates_twice(
    server, tmp_path, stall, uploads, left
):
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    generate = cuf("generate", "-w", ws)
    assert generate.returncode == 0, generate.stderr
    server.stall = {stall}
    arrived = {
        "upload": lambda: True,
        "uploaded": lambda: server.uploads,
        "create": lambda: server.batches,
    }

    def stalled() -> bool:
        if rows(ws, "SELECT status, batch_id FROM remote_batches") != [left]:
            return False
        if not arrived[stall]():
            return False
        time.sleep(0.3)  # the stalled request is in the server's hands
        return True

    stopped_when(stalled, f"the worker stalled at {stall}", "judge", "--wait", "-w", ws)
    server.stall = set()
    resumed = cuf("judge", "--wait", "-w", ws)
    assert resumed.returncode == 0, resumed.stderr
    assert len(server.uploads) == uploads
    assert len(server.batches) == 1
    assert rows(ws, "SELECT count(*) FROM judgments WHERE state = 'done'") == [(10,)]
    assert rows(ws, "SELECT status, collected FROM remote_batches") == [("completed", 1)]


def test_a_batch_the_provider_refuses_fails_its_units_for_good_with_the_reason(
    cli, server, tmp_path
):
    server.max_batch_requests = 5  # the provider's limit, lower than the entry says
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--wait", "-w", ws)
    assert run.code == 1
    assert "failed: all 10 units failed" in run.err
    # The same file would be refused again: not sent once more, and not by the next run.
    assert rows(ws, "SELECT status, purpose FROM remote_batches ORDER BY id") == [
        ("failed", "units")
    ]
    assert rows(ws, "SELECT DISTINCT permanent_failure FROM judgments") == [(1,)]
    error = rows(ws, "SELECT DISTINCT error FROM judgments")[0][0]
    assert "batch_0001 was refused by the provider (10 requests, more than the 5" in error
    assert "batch_max_requests" in error and "--retry-failed" in error
    listed = cli("jobs", "-w", ws).out
    assert "batch_0001 of judge-markdown: failed: 10 requests, more than the 5" in listed
    again = cli("judge", "--wait", "-w", ws)
    assert "failed in a way a retry cannot fix" in again.out and len(server.uploads) == 1
    # With the entry's limit lowered, --retry-failed sends them in batches the provider takes.
    config = (ws / "cuf.toml").read_text(encoding="utf-8")
    (ws / "cuf.toml").write_text(config + "batch_max_requests = 5\n", encoding="utf-8")
    fixed = cli("judge", "--wait", "--retry-failed", "-w", ws)
    assert fixed.code == 0, fixed.err
    assert rows(ws, "SELECT count(*) FROM judgments WHERE state = 'done'") == [(10,)]


def test_a_partial_batch_price_halves_what_it_leaves_out(cli, server, tmp_path):
    ws = batch_workspace(
        tmp_path / "ws",
        server.base_url,
        toml="batch_price_per_million_tokens = { input = 0.1 }\n",
    )
    from cuf_tui.workspace import Workspace

    judge = Workspace(ws).config.judge_named("judge-markdown")
    assert (judge.batch_prices.input, judge.batch_prices.output) == (0.1, 1.0)


def test_a_run_over_the_file_size_limit_is_split_by_bytes(cli, server, tmp_path):
    entry = model_entry("models", "alpha", server.base_url, batch_max_bytes=2048, **FAST)
    ws = make_workspace(tmp_path / "ws", server.base_url, per_instruction=1, entries=entry)
    run = cli("generate", "--wait", "-w", ws)
    assert run.code == 0, run.err
    assert "10 done, 0 failed of 10" in run.out
    sizes = [len(server.files[f]["content"]) for f in server.uploads]
    assert len(sizes) > 1 and max(sizes) <= 2048
    assert sum(len(server.files[f]["content"].splitlines()) for f in server.uploads) == 10


@pytest.mark.parametrize("lost", ["upload", "create"])
def test_a_lost_reply_never_makes_a_second_file_or_batch(cli, server, tmp_path, lost):
    server.drop_replies = {lost}  # done at the provider, then the connection closed
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--wait", "-w", ws)
    assert run.code == 0, run.err
    assert "10 done, 0 failed of 10" in run.out
    assert len(server.uploads) == 1 and len(server.batches) == 1


@pytest.mark.parametrize("fault", ["garbage_retrieves", "missing_retrieves"])
def test_a_check_answered_badly_is_asked_again(cli, server, tmp_path, fault):
    setattr(server, fault, 2)  # an HTML page with a 200, or a 404, twice
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--wait", "-w", ws)
    assert run.code == 0, run.err
    assert "10 done, 0 failed of 10" in run.out
    assert len(server.batches) == 1


def test_a_batch_that_cannot_be_checked_stops_the_job_and_is_taken_up_later(cli, server, tmp_path):
    server.unauthorized_retrieves = 100  # a key revoked, say
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--wait", "-w", ws)
    assert run.code != 0
    assert "could not be checked 5 times in a row" in run.err
    assert rows(ws, "SELECT count(*) FROM judgments") == [(0,)]  # nothing failed for good
    server.unauthorized_retrieves = 0
    again = cli("judge", "--wait", "-w", ws)
    assert again.code == 0, again.err
    assert len(server.uploads) == 1 and len(server.batches) == 1


def test_requests_an_expired_batch_lists_as_errors_are_sent_again(cli, server, tmp_path):
    server.expire_batches = {1}
    server.expired_as_errors = True  # OpenAI's way: `batch_expired` lines in the error file
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--wait", "-w", ws)
    assert run.code == 0, run.err
    assert "10 done, 0 failed of 10" in run.out
    assert [len(server.files[f]["content"].splitlines()) for f in server.uploads] == [10, 5]


def test_line_separators_inside_an_answer_are_text(cli, server, tmp_path):
    tasks = [
        {"instruction": f"ECHO task {i}: split on \u2028 and \u0085 too.", "preference": "style"}
        for i in range(3)
    ]
    entry = model_entry("models", "alpha", server.base_url, **FAST)
    ws = make_workspace(
        tmp_path / "ws", server.base_url, instructions=tasks, per_instruction=1, entries=entry
    )
    run = cli("generate", "--wait", "-w", ws)
    assert run.code == 0, run.err
    assert all("\u2028" in text for (text,) in rows(ws, "SELECT text FROM responses"))
    assert len(server.uploads) == 1


def test_no_secret_is_kept_from_a_batch_or_its_answers(cli, server, tmp_path):
    from tests.batch_helpers import SECRET

    server.max_batch_requests = 5
    server.refusal_extra = f" (account key {SECRET})"
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    assert cli("generate", "-w", ws).code == 0
    cli("judge", "--wait", "-w", ws)
    listed = cli("jobs", "--json", "-w", ws).out + cli("jobs", "-w", ws).out
    assert SECRET not in listed and "[redacted]" in listed
    from tests.batch_helpers import files_containing

    assert files_containing(ws, SECRET) == []


def test_a_file_of_another_workspace_is_never_taken_for_this_ones(server, tmp_path):
    def tasks(name: str) -> list[dict[str, str]]:
        return [
            {"instruction": f"Workspace {name}, task {i}.", "preference": "style"} for i in range(4)
        ]

    entry = model_entry("models", "alpha", server.base_url, **FAST)
    other = make_workspace(
        tmp_path / "other",
        server.base_url,
        instructions=tasks("B"),
        per_instruction=1,
        entries=entry,
    )
    assert cuf("generate", "--wait", "-w", other).returncode == 0
    ws = make_workspace(
        tmp_path / "ws",
        server.base_url,
        instructions=tasks("A"),
        per_instruction=1,
        entries=entry,
    )
    server.stall = {"upload"}  # this workspace's upload never arrives
    stopped_when(
        lambda: rows(ws, "SELECT status FROM remote_batches") == [("uploading",)],
        "the upload under way",
        "generate",
        "--wait",
        "-w",
        ws,
    )
    server.stall = set()
    assert cuf("generate", "--wait", "-w", ws).returncode == 0
    import hashlib

    for text, response in rows(
        ws, "SELECT i.text, r.text FROM responses r JOIN instructions i ON i.id = r.instruction_id"
    ):
        assert hashlib.sha256(text.encode()).hexdigest()[:10] in response  # its own answer
    assert len(server.uploads) == 2  # one file each


def test_a_batch_the_provider_no_longer_knows_is_sent_again(cli, server, tmp_path):
    server.missing_retrieves = 5  # 404 for batch_0001, five checks in a row
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--wait", "-w", ws)
    assert run.code == 0, run.err
    assert "10 done, 0 failed of 10" in run.out
    assert rows(ws, "SELECT status, purpose FROM remote_batches ORDER BY id") == [
        ("lost", "units"),
        ("completed", "resubmitted"),
    ]


def test_a_download_that_is_no_file_of_answers_is_asked_again(cli, server, tmp_path):
    server.garbage_downloads = 1
    ws = batch_workspace(tmp_path / "ws", server.base_url)
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--wait", "-w", ws)
    assert run.code == 0, run.err
    assert "10 done, 0 failed of 10" in run.out
    assert len(server.uploads) == 1 and len(server.batches) == 1
