"""One bad reply must not stop a batch, and a job says how it really ended: against the
loopback fault server, through the real CLI, checking the store and what a user reads."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.batch_helpers import KEY_ENV, make_workspace, rows


def job_log(ws: Path) -> str:
    (path,) = rows(ws, "SELECT log_path FROM jobs ORDER BY id DESC LIMIT 1")[0]
    return Path(path).read_text(encoding="utf-8")


def test_half_an_emoji_is_stored_replaced_and_marked_and_the_batch_goes_on(cli, server, tmp_path):
    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha", "surrogate"], per_instruction=2)
    run = cli("generate", "-w", ws)
    assert run.code == 0, run.err
    assert "20 done, 0 failed of 20" in run.out
    cut = rows(ws, "SELECT text, replaced_chars FROM responses WHERE model = 'surrogate'")
    assert len(cut) == 10
    assert all(text.endswith(" \ufffd") and replaced == 1 for text, replaced in cut)
    assert rows(ws, "SELECT count(*) FROM responses WHERE model = 'alpha' AND state = 'done'") == [
        (10,)
    ]
    assert "invalid code points" in job_log(ws)


def test_an_error_message_holding_a_lone_surrogate_is_stored_readable(cli, server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws", server.base_url, ["alpha", "surrogate400"], per_instruction=2
    )
    run = cli("generate", "-w", ws)
    assert run.code == 1
    errors = rows(ws, "SELECT DISTINCT error FROM responses WHERE state = 'failed'")
    assert errors == [(f"surrogate400 at {server.base_url}: HTTP 400: bad input near \ufffd here",)]
    assert rows(ws, "SELECT state FROM jobs") == [("done with failures",)]


def test_a_completion_without_a_message_is_a_failed_unit_with_a_readable_error(
    cli, server, tmp_path
):
    ws = make_workspace(
        tmp_path / "ws",
        server.base_url,
        ["alpha", "nomessage"],
        per_instruction=2,
        max_retries=1,
    )
    run = cli("generate", "-w", ws)
    assert run.code == 1
    assert "10 done, 10 failed of 20" in run.out
    (error,) = rows(ws, "SELECT DISTINCT error FROM responses WHERE state = 'failed'")[0]
    assert error == (
        f"nomessage at {server.base_url}: the server's reply is not a chat completion "
        "(choices[0] has no message) (1 retries)"
    )
    state, failed, message = rows(ws, "SELECT state, failed, error FROM jobs")[0]
    assert (state, failed) == ("done with failures", 10)
    assert "nomessage at http://127.0.0.1" in message  # names the model and the URL


def test_a_200_holding_an_error_says_what_the_server_said(cli, server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws", server.base_url, ["error200"], per_instruction=1, max_retries=0
    )
    assert cli("generate", "-w", ws).code == 1
    assert rows(ws, "SELECT DISTINCT error FROM responses") == [
        (
            f"error200 at {server.base_url}: the server's reply is not a chat completion "
            "(an error: the model is overloaded) (0 retries)",
        )
    ]


def test_cut_off_answers_are_stored_as_cut_off_and_counted(cli, server, tmp_path):
    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha", "cutoff"], per_instruction=2)
    run = cli("generate", "-w", ws)
    assert run.code == 0, run.err
    assert "needs attention: 10 answers were cut off at max_tokens" in run.out
    assert rows(
        ws, "SELECT model, finish_reason, count(*) FROM responses GROUP BY 1, 2 ORDER BY 1"
    ) == [("alpha", "stop", 10), ("cutoff", "length", 10)]
    assert rows(ws, "SELECT state, done, truncated FROM jobs") == [("done", 20, 10)]
    jobs = cli("jobs", "-w", ws)
    assert "10 cut off" in jobs.out


def test_a_trickling_server_times_out_within_the_request_timeout(cli, server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        server.base_url,
        ["alpha", "trickle"],
        instructions=[{"instruction": f"Task {i}", "preference": "style"} for i in range(3)],
        per_instruction=2,
        request_timeout=1,
        max_retries=1,
    )
    started = time.monotonic()
    run = cli("generate", "-w", ws)
    elapsed = time.monotonic() - started
    assert run.code == 1
    assert elapsed < 8, f"the batch took {elapsed:.1f} s for 2 attempts of 1 s each"
    errors = rows(ws, "SELECT DISTINCT error FROM responses WHERE state = 'failed'")
    assert errors == [(f"trickle at {server.base_url}: no whole reply within 1 s (1 retries)",)]
    assert rows(ws, "SELECT retries FROM jobs") == [(3,)]


def test_a_job_whose_every_unit_failed_is_failed_and_says_so_in_one_line(cli, server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws", server.base_url, ["always500"], per_instruction=1, max_retries=0
    )
    run = cli("generate", "-w", ws)
    assert run.code == 1
    error_lines = [line for line in run.err.splitlines() if line.startswith("cuf-tui: error")]
    assert error_lines == [
        f"cuf-tui: error: job 1 (generate) failed: all 10 units failed; last error: "
        f"always500 at {server.base_url}: HTTP 500: the server is on fire"
    ]
    assert rows(ws, "SELECT state, done, failed FROM jobs") == [("failed", 0, 10)]
    assert "job 1 failed" in job_log(ws)  # a foreground job keeps a log too


def test_a_judge_job_whose_answers_were_all_unreadable_says_they_need_review(cli, server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        server.base_url,
        ["alpha", "beta"],
        ["judge-garbagealways"],
        instructions=[{"instruction": f"Task {i}", "preference": "style"} for i in range(3)],
        per_instruction=2,
    )
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "-w", ws)
    assert run.code == 0, run.err
    assert "Job 2 (judge): 0 done, 0 failed of 3" in run.out
    assert "needs review: 3 judge answers could not be read" in run.out
    assert rows(ws, "SELECT state, done, unparsed, failed FROM jobs WHERE id = 2") == [
        ("done", 0, 3, 0)
    ]
    assert "3 unparsed" in cli("jobs", "-w", ws).out


def test_usage_counts_a_server_cannot_have_meant_are_not_added_to_totals(cli, server, tmp_path):
    ws = make_workspace(tmp_path / "ws", server.base_url, ["absurdusage"], per_instruction=1)
    run = cli("generate", "-w", ws)
    assert run.code == 0, run.err
    assert rows(ws, "SELECT sum(prompt_tokens), sum(completion_tokens) FROM responses") == [(0, 0)]
    assert rows(ws, "SELECT prompt_tokens, completion_tokens, cost_usd FROM jobs") == [(0, 0, 0.0)]
    assert "the server reported prompt_tokens = -5; not counted" in job_log(ws)


def test_retries_and_429_waits_are_counted_and_logged(cli, server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        server.base_url,
        ["beta-flaky429"],
        instructions=[{"instruction": f"Task {i}", "preference": "style"} for i in range(4)],
        per_instruction=1,
        max_retries=3,
    )
    run = cli("generate", "-w", ws)
    assert run.code == 0, run.err
    assert "8 requests were retried (8 after a 429)" in run.out
    assert rows(ws, "SELECT retries, rate_limited FROM jobs") == [(8, 8)]
    log = job_log(ws)
    assert log.count("429 rate limited, retry after 0.05 s") == 8
    assert "beta-flaky429 at http://127.0.0.1" in log


def test_an_unreachable_server_is_one_clear_error_before_any_job(cli, server, tmp_path):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    ws = make_workspace(
        tmp_path / "ws", f"http://127.0.0.1:{closed_port}/v1", ["alpha"], per_instruction=1
    )
    run = cli("generate", "-w", ws)
    assert run.code == 1
    assert run.err.startswith(
        f"cuf-tui: error: alpha: cannot reach http://127.0.0.1:{closed_port}/v1 ("
    )
    assert run.err.count("\n") == 1
    assert rows(ws, "SELECT count(*) FROM jobs") == [(0,)]
    assert rows(ws, "SELECT count(*) FROM responses") == [(0,)]


def test_a_base_url_that_is_not_the_api_is_one_clear_error_before_any_job(cli, server, tmp_path):
    without_v1 = server.base_url.removesuffix("/v1")
    ws = make_workspace(tmp_path / "ws", without_v1, ["alpha"], per_instruction=1)
    run = cli("generate", "-w", ws)
    assert run.code == 1
    assert f"alpha: {without_v1} answered 404 to GET /models" in run.err
    assert "is base_url right? (it usually ends in /v1)" in run.err
    assert rows(ws, "SELECT count(*) FROM jobs") == [(0,)]


def test_a_log_left_by_a_replaced_store_is_moved_aside_not_appended_to(cli, server, tmp_path):
    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha"], per_instruction=1)
    (ws / "logs").mkdir()
    (ws / "logs" / "job-1.log").write_text("a line of another store's job 1\n")
    assert cli("generate", "-w", ws).code == 0
    assert "another store" not in job_log(ws)
    (kept,) = (ws / "logs").glob("job-1.until-*.log")
    assert kept.read_text() == "a line of another store's job 1\n"


def test_a_key_the_server_refuses_is_one_clear_error_before_any_job(
    cli, server, tmp_path, monkeypatch
):
    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha"], per_instruction=1)
    monkeypatch.setenv(KEY_ENV, "sk-wrong-0000000000000000000000000000")
    run = cli("generate", "-w", ws)
    assert run.code == 1
    assert f"alpha: {server.base_url} refused the API key in {KEY_ENV} (HTTP 401" in run.err
    assert "sk-wrong" not in run.err
    assert rows(ws, "SELECT count(*) FROM jobs") == [(0,)]
