"""Servers the workbench runs itself, driven through the real CLI with a stand-in server
command (tests/standin_server.py) that speaks vLLM's HTTP and misbehaves on request."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from cuf_tui.config.toml import toml_value
from cuf_tui.core.preferences import PREFERENCES
from cuf_tui.engines.managed import server_argv
from cuf_tui.engines.server_processes import group_members
from tests.batch_helpers import make_workspace, rows, wait_for
from tests.fake_openai import expected_rating

STANDIN = str(Path(__file__).with_name("standin_server.py"))


def managed_entry(section: str, name: str, env: dict[str, str] | None = None, **extra: Any) -> str:
    server = {
        "command": [sys.executable, STANDIN],
        "env": env or {},
        "startup_timeout": extra.pop("startup_timeout", 20),
        "stop_grace": extra.pop("stop_grace", 3),
    }
    if "port" in extra:
        server["port"] = extra.pop("port")
    lines = [
        f"[[{section}]]",
        f'name = "{name}"',
        f'engine = "{extra.pop("engine", "vllm")}"',
        f'model = "{extra.pop("model", name)}"',
        "max_retries = 1",
        f"server = {toml_value(server)}",
    ]
    lines += [f"{key} = {toml_value(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def workspace_with(root: Path, entries: str, per_instruction: int = 2, count: int = 6) -> Path:
    tasks = [
        {"instruction": f"Write helper {i} in Python.", "preference": PREFERENCES[i % 5]}
        for i in range(count)
    ]
    return make_workspace(
        root, instructions=tasks, per_instruction=per_instruction, entries=entries
    )


def servers(ws: Path) -> list[dict[str, Any]]:
    import sqlite3

    with sqlite3.connect(ws / "cuf.db") as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM servers ORDER BY id")]


def assert_nothing_left(ws: Path) -> None:
    for server in servers(ws):
        assert group_members(server["pid"]) == [], f"server {server} left processes behind"


def test_generation_serves_each_model_in_turn_and_stops_every_process(cli, tmp_path):
    record = tmp_path / "record"
    record.mkdir()
    stubborn = {"STANDIN_RECORD": str(record), "STANDIN_CHILD": "1", "STANDIN_IGNORE_SIGTERM": "1"}
    ws = workspace_with(
        tmp_path / "ws",
        managed_entry(
            "models",
            "alpha",
            {"STANDIN_RECORD": str(record), "STANDIN_START_DELAY": "0.5"},
            engine_args={"max_model_len": 2048, "enforce_eager": True, "dtype": "float32"},
        )
        + managed_entry("models", "beta", stubborn, stop_grace=1),
    )
    run = cli("generate", "-w", ws)
    assert run.code == 0, run.err
    assert "12 done, 0 failed of 12" in run.out
    done = rows(ws, "SELECT model, state, text FROM responses")
    assert len(done) == 12 and all(state == "done" for _, state, _ in done)
    assert all(text.endswith(f"-- answered by {model}") for model, _, text in done)

    alpha, beta = servers(ws)
    assert (alpha["model"], beta["model"]) == ("alpha", "beta")
    assert alpha["state"] == beta["state"] == "stopped"
    # One model at a time: beta's server started after alpha's stopped.
    assert alpha["stopped_at"] <= beta["started_at"]
    # beta ignores SIGTERM and has a child: SIGKILL to the group after the grace period.
    assert_nothing_left(ws)

    launched = sorted(
        (json.loads(p.read_text()) for p in record.iterdir()), key=lambda r: r["argv"][0]
    )
    alpha_argv = next(r["argv"] for r in launched if r["argv"][0] == "alpha")
    assert alpha_argv[1:5] == ["--host", "127.0.0.1", "--port", str(alpha["port"])]
    assert alpha_argv[5:] == ["--max-model-len", "2048", "--enforce-eager", "--dtype", "float32"]
    for server in (alpha, beta):
        log = Path(server["log_path"])
        assert log.parent == ws / "logs" and "stand-in server" in log.read_text()

    listing = cli("jobs", "-w", ws)
    assert "vllm server 1 of alpha" in listing.out and str(alpha["log_path"]) in listing.out
    as_json = json.loads(cli("jobs", "-w", ws, "--json").out)
    assert [s["model"] for s in as_json[0]["servers"]] == ["alpha", "beta"]


def test_a_local_judge_answers_to_a_json_schema(cli, tmp_path, monkeypatch):
    record = tmp_path / "record"
    record.mkdir()
    ws = workspace_with(
        tmp_path / "ws",
        managed_entry("models", "alpha") + managed_entry("models", "gamma"),
    )
    assert cli("generate", "-w", ws).code == 0
    with (ws / "cuf.toml").open("a") as config:
        config.write(managed_entry("judges", "judge-markdown", {"STANDIN_RECORD": str(record)}))
    run = cli("judge", "-w", ws)
    assert run.code == 0, run.err
    assert "6 done, 0 failed of 6" in run.out
    for model, rating in rows(
        ws,
        "SELECT r.model, r.rating FROM judgment_ratings r JOIN judgments j "
        "ON j.id = r.judgment_id WHERE j.judge = 'judge-markdown'",
    ):
        assert rating == expected_rating(model)
    rationales = {r for (r,) in rows(ws, "SELECT rationale FROM judgment_ratings")}
    assert rationales == {"constrained 1", "constrained 2"}
    # The JSON prompt has its own identity, apart from the text prompt's.
    from cuf_tui.prompts import load_prompts

    prompts = load_prompts(ws)
    hashes = {h for (h,) in rows(ws, "SELECT DISTINCT template_sha256 FROM judgments")}
    assert hashes <= {prompts.judge_template_sha256(p, "json") for p in PREFERENCES}
    assert not hashes & {prompts.judge_template_sha256(p) for p in PREFERENCES}
    assert_nothing_left(ws)


def test_response_format_sent_to_each_engine(tmp_path):
    """The request body each engine gets for a constrained judge (checked on the wire by the
    vLLM end-to-end test; here the shapes)."""
    from cuf_tui.config import parse_config
    from cuf_tui.core.judge_output import judgment_schema
    from cuf_tui.engines.openai_client import response_format

    schema = judgment_schema(4, 1024)
    ratings = schema["properties"]["ratings"]
    assert ratings["minItems"] == ratings["maxItems"] == 4
    assert ratings["items"]["properties"]["rating"]["enum"] == [1, 2, 3, 4, 5]
    assert list(ratings["items"]["properties"]) == ["rationale", "rating"]  # reason first
    # Four bounded rationales fit in the token budget, even at one character a token.
    bound = ratings["items"]["properties"]["rationale"]["maxLength"]
    assert bound >= 200 and 4 * (bound + 14) + 16 <= 1024

    def entry(**keys: Any) -> Any:
        return parse_config({"judges": [{"name": "j", "model": "m", **keys}]}).judges[0]

    vllm = response_format(entry(engine="vllm"), schema)
    assert vllm == {"type": "json_schema", "json_schema": {"name": "judgment", "schema": schema}}
    assert response_format(entry(engine="llamacpp"), schema) == {
        "type": "json_object",
        "schema": schema,
    }
    assert response_format(entry(engine="openai"), schema) is None  # text by default
    assert response_format(entry(engine="openai", judge_output="json"), schema) == {
        "type": "json_object"
    }
    assert response_format(entry(engine="vllm", judge_output="text"), schema) is None


def test_startup_timeout_fails_the_job_with_the_log_and_stops_the_server(cli, tmp_path):
    ws = workspace_with(
        tmp_path / "ws",
        managed_entry(
            "models",
            "alpha",
            {"STANDIN_NEVER_READY": "1", "STANDIN_CHILD": "1"},
            startup_timeout=2,
        ),
        per_instruction=1,
    )
    run = cli("generate", "-w", ws)
    assert run.code != 0
    assert "was not ready after 2 s (server.startup_timeout)" in run.err
    assert "stand-in server for alpha" in run.err  # the log's last lines
    (server,) = servers(ws)
    assert server["state"] == "failed" and "not ready" in server["detail"]
    assert rows(ws, "SELECT state FROM jobs") == [("failed",)]
    assert rows(ws, "SELECT COUNT(*) FROM responses") == [(0,)]
    assert_nothing_left(ws)


def test_a_server_that_cannot_start_says_why(cli, tmp_path):
    ws = workspace_with(
        tmp_path / "ws",
        managed_entry("models", "alpha", {"STANDIN_EXIT_AT_START": "1"}),
        per_instruction=1,
    )
    run = cli("generate", "-w", ws)
    assert run.code != 0
    assert "exited (exit code 1) while starting" in run.err
    assert "the model does not fit in memory" in run.err
    assert_nothing_left(ws)


def test_a_missing_server_program_is_refused_before_anything_starts(cli, tmp_path):
    ws = workspace_with(tmp_path / "ws", managed_entry("models", "alpha"), per_instruction=1)
    config = (ws / "cuf.toml").read_text().replace(sys.executable, "/nonexistent/vllm")
    (ws / "cuf.toml").write_text(config)
    run = cli("generate", "-w", ws)
    assert run.code != 0
    assert "cannot find '/nonexistent/vllm'" in run.err and "server.command" in run.err
    assert rows(ws, "SELECT COUNT(*) FROM jobs") == [(0,)]


def test_a_server_that_dies_mid_batch_stops_the_job_and_a_rerun_resumes(cli, tmp_path):
    crashy = managed_entry(
        "models", "alpha", {"STANDIN_CRASH_AFTER": "3", "STANDIN_CHILD": "1"}, max_concurrency=1
    )
    ws = workspace_with(tmp_path / "ws", crashy, per_instruction=1)
    run = cli("generate", "-w", ws)
    assert run.code != 0
    assert "stopped (exit code 3) in the middle of the batch" in run.err
    assert "engine core died unexpectedly" in run.err
    saved = rows(ws, "SELECT instruction_id, state FROM responses ORDER BY instruction_id")
    assert 1 <= len(saved) <= 3 and all(state == "done" for _, state in saved)
    assert [s["state"] for s in servers(ws)] == ["crashed"]
    assert_nothing_left(ws)

    config = (ws / "cuf.toml").read_text().replace('STANDIN_CRASH_AFTER = "3", ', "")
    (ws / "cuf.toml").write_text(config)
    again = cli("generate", "-w", ws)
    assert again.code == 0, again.err
    assert f"{6 - len(saved)} done, 0 failed" in again.out
    assert rows(ws, "SELECT COUNT(*), COUNT(DISTINCT instruction_id) FROM responses") == [(6, 6)]
    assert_nothing_left(ws)


def test_a_server_killed_by_a_signal_is_reported_by_name(cli, tmp_path):
    env = {"STANDIN_CRASH_AFTER": "1", "STANDIN_CRASH_SEGFAULT": "1"}
    ws = workspace_with(tmp_path / "ws", managed_entry("models", "alpha", env), per_instruction=1)
    run = cli("generate", "-w", ws)
    assert run.code != 0
    assert "stopped (killed by SIGSEGV) in the middle of the batch" in run.err
    assert_nothing_left(ws)


def test_a_fixed_port_in_use_is_refused_and_a_taken_port_is_retried(cli, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ws = workspace_with(
            tmp_path / "ws", managed_entry("models", "alpha", port=port), per_instruction=1
        )
        run = cli("generate", "-w", ws)
    assert run.code != 0
    assert f"port {port} on 127.0.0.1 is in use (server.port in cuf.toml)" in run.err
    assert servers(ws) == []

    marker = tmp_path / "taken-once"
    ws2 = workspace_with(
        tmp_path / "ws2",
        managed_entry("models", "alpha", {"STANDIN_PORT_TAKEN_ONCE": str(marker)}),
        per_instruction=1,
    )
    run = cli("generate", "-w", ws2)
    assert run.code == 0, run.err
    first, second = servers(ws2)
    assert first["state"] == "failed" and "was taken; trying another" in first["detail"]
    assert second["state"] == "stopped" and second["port"] != first["port"]
    assert_nothing_left(ws2)


def test_replicas_share_a_models_requests_each_on_its_own_devices(cli, tmp_path):
    record = tmp_path / "record"
    record.mkdir()
    ws = workspace_with(
        tmp_path / "ws",
        managed_entry(
            "models",
            "alpha",
            {"STANDIN_RECORD": str(record)},
            replicas=2,
            devices=[[0, 1], [2, 3]],
            max_concurrency=2,
        ),
        per_instruction=1,
        count=12,
    )
    run = cli("generate", "-w", ws)
    assert run.code == 0, run.err
    launched = [json.loads(p.read_text()) for p in record.iterdir()]
    assert sorted(r["devices"] for r in launched) == ["0,1", "2,3"]
    answered = [Path(s["log_path"]).read_text().count("answered") for s in servers(ws)]
    assert len(answered) == 2 and sum(answered) == 12 and min(answered) >= 3
    assert_nothing_left(ws)


def test_cancel_while_a_server_loads_stops_it(cli, tmp_path):
    ws = workspace_with(
        tmp_path / "ws",
        managed_entry(
            "models",
            "alpha",
            {"STANDIN_START_DELAY": "60", "STANDIN_CHILD": "1"},
            startup_timeout=120,
        ),
        per_instruction=1,
    )
    run = cli("generate", "-w", ws, "--detach")
    assert run.code == 0, run.err
    job_id = int(run.out.strip().splitlines()[-1])
    wait_for(lambda: servers(ws), what="the server to start")
    (server,) = servers(ws)
    assert server["state"] == "starting" and group_members(server["pid"])
    assert cli("cancel", str(job_id), "-w", ws).code == 0
    wait_for(lambda: rows(ws, "SELECT state FROM jobs") == [("cancelled",)], what="the cancel")
    assert rows(ws, "SELECT state FROM jobs") == [("cancelled",)]
    assert servers(ws)[0]["state"] == "stopped"
    assert_nothing_left(ws)


def test_a_server_left_by_a_killed_worker_is_stopped_when_the_job_resumes(
    cli, tmp_path, monkeypatch
):
    monkeypatch.setenv("CUF_TUI_STALE_AFTER_S", "1")
    # Only SIGKILL stops this server, so the worker's death signal does not: the next run
    # of the job must find it and stop it.
    ws = workspace_with(
        tmp_path / "ws",
        managed_entry(
            "models",
            "alpha",
            {"STANDIN_IGNORE_SIGTERM": "1", "STANDIN_CHILD": "1"},
            max_concurrency=1,
            stop_grace=1,
        ),
        per_instruction=1,
        count=40,
    )
    (ws / "cuf.toml").write_text((ws / "cuf.toml").read_text() + "request_timeout = 30\n")
    worker = subprocess.Popen(
        [sys.executable, "-m", "cuf_tui", "generate", "-w", str(ws)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ | {"STANDIN_LATENCY": "0.2"},
    )
    wait_for(
        lambda: servers(ws) and servers(ws)[0]["state"] == "ready", what="the server to be ready"
    )
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    (left,) = servers(ws)
    assert left["state"] == "ready" and group_members(left["pid"])
    time.sleep(1.5)
    run = cli("generate", "-w", ws)
    assert run.code == 0, run.err
    assert group_members(left["pid"]) == []
    assert servers(ws)[0]["state"] == "stopped"
    assert rows(ws, "SELECT COUNT(DISTINCT instruction_id), COUNT(*) FROM responses") == [(40, 40)]
    assert_nothing_left(ws)


def test_llamacpp_command_line():
    from cuf_tui.config import parse_config

    entry = parse_config(
        {
            "models": [
                {
                    "name": "smol",
                    "engine": "llamacpp",
                    "model": "/models/smol.gguf",
                    "engine_args": {"n_ctx": 2048, "extra_args": ["--verbose", "False"]},
                }
            ]
        }
    ).models[0]
    argv = server_argv(entry, 8123)
    assert argv[:3] == [sys.executable, "-m", "llama_cpp.server"]
    assert argv[3:9] == ["--model", "/models/smol.gguf", "--host", "127.0.0.1", "--port", "8123"]
    flags = argv[9:]
    assert flags[flags.index("--interrupt_requests") + 1] == "False"
    assert flags[flags.index("--n_threads") + 1] == str(os.cpu_count())
    assert flags[flags.index("--n_ctx") + 1] == "2048"
    assert flags[-2:] == ["--verbose", "False"]


async def test_the_workbench_launches_a_managed_batch_and_shows_its_server(tmp_path):
    from textual.widgets import Static

    from cuf_tui.tui.app import WorkbenchApp
    from cuf_tui.tui.screens.dialogs import ConfirmBatch
    from cuf_tui.workspace import Workspace
    from tests.test_tui import _until

    root = workspace_with(tmp_path / "ws", managed_entry("models", "alpha"), per_instruction=1)
    workspace = Workspace(root)
    app = WorkbenchApp(workspace, workspace.open_store(), poll_interval=0.1)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("G")
        await _until(pilot, lambda: isinstance(app.screen, ConfirmBatch))
        summary = str(app.screen.summary)
        assert "The batch starts a server for alpha (vllm), for its requests" in summary
        assert app.screen.can_start
        await pilot.press("y")
        await _until(pilot, lambda: rows(root, "SELECT state FROM jobs") == [("done",)])
        await pilot.press("f4")
        await _until(
            pilot,
            lambda: "vllm server 1 of alpha" in str(app.query_one("#job-log", Static).render()),
        )
        shown = str(app.query_one("#job-log", Static).render())
        assert "): stopped; log " in shown and "answered 6" in shown
    assert_nothing_left(root)


def test_a_dry_run_says_which_servers_the_batch_will_start(cli, tmp_path):
    ws = workspace_with(
        tmp_path / "ws",
        managed_entry("models", "alpha", replicas=2) + managed_entry("models", "beta"),
    )
    run = cli("generate", "--dry-run", "-w", ws)
    assert run.code == 0, run.err
    assert "starts a server for alpha (vllm x2), beta (vllm), one model at a time" in run.out
    assert servers(ws) == [] and rows(ws, "SELECT COUNT(*) FROM jobs") == [(0,)]


def test_cancel_of_a_foreground_batch_stops_its_server(cli, tmp_path):
    ws = workspace_with(
        tmp_path / "ws",
        managed_entry(
            "models",
            "alpha",
            {"STANDIN_START_DELAY": "60", "STANDIN_CHILD": "1"},
            startup_timeout=120,
        ),
        per_instruction=1,
    )
    foreground = subprocess.Popen(
        [sys.executable, "-m", "cuf_tui", "generate", "-w", str(ws)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    wait_for(lambda: servers(ws), what="the server to start")
    assert cli("cancel", "1", "-w", ws).code == 0
    out, err = foreground.communicate(timeout=30)
    assert foreground.returncode == 130, err
    assert "Stopped job 1; what finished is stored" in err
    assert servers(ws)[0]["state"] == "stopped"
    assert rows(ws, "SELECT state FROM jobs") == [("cancelled",)]
    assert_nothing_left(ws)


def test_a_model_that_answers_and_grades_is_named_once_in_the_servers_note():
    from cuf_tui.config import parse_config
    from cuf_tui.jobs.plan import servers_note

    config = parse_config(
        {
            "models": [{"name": "smol", "engine": "vllm", "model": "/m"}],
            "judges": [{"name": "smol", "engine": "vllm", "model": "/m"}],
        }
    )
    note = servers_note([config.models[0], config.judges[0]])
    assert note is not None and note.count("smol (vllm)") == 1 and "for its requests" in note
