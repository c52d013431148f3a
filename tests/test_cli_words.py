"""The command line answers a slip with what was meant: a mistyped command is named as one,
and a report filtered by a name the store does not hold names the ones it does."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("word", "meant"),
    [("generat", "generate"), ("jbos", "jobs"), ("benchreport", "bench-report")],
)
def test_a_mistyped_command_is_named_with_the_one_meant(cli, tmp_path, monkeypatch, word, meant):
    monkeypatch.chdir(tmp_path)
    run = cli(word)
    assert run.code == 2
    assert f"unknown command '{word}' (did you mean {meant}?)" in run.err
    assert not (tmp_path / word).exists()


def test_help_as_a_word_points_to_the_help(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = cli("help")
    assert run.code == 2 and "cuf-tui --help" in run.err


def test_a_folder_named_like_a_command_still_opens_as_a_workspace(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "jbos").mkdir()
    run = cli("jbos")  # an existing folder: not a typo (it is no workspace, and says so)
    assert "unknown command" not in run.err


def test_bench_report_names_the_judges_and_references_it_holds(cli, tmp_path):
    from cuf_tui.workspace import ensure_sample_workspace

    ws = ensure_sample_workspace(tmp_path / "sample")  # ships graded bench answers
    run = cli("bench-report", "--judge", "nobody", "-w", ws.root)
    assert run.code != 0 and "there are: gpt-3.5-turbo" in run.err
    run = cli("bench-report", "--reference", "nobody", "-w", ws.root)
    assert run.code != 0 and "there are: gpt-4-turbo" in run.err


def test_every_command_argument_and_option_says_what_it_is() -> None:
    import argparse

    from cuf_tui.cli.parser import build_parser

    parser = build_parser()
    assert "[DIR | COMMAND ...]" in parser.format_usage()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in commands._choices_actions}
    missing = []
    for name, command in commands.choices.items():
        if name != "worker" and not helps.get(name) or not command.description:
            missing.append(f"{name}: help or description")
        for action in command._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, missing


def test_a_dataset_id_offline_fails_at_once_in_one_line(cli, workspace, monkeypatch) -> None:
    import time

    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    started = time.perf_counter()
    run = cli("import", "someone/some-dataset", "-w", workspace)
    assert time.perf_counter() - started < 2.0
    assert run.code != 0 and len(run.err.strip().splitlines()) == 1
    assert "cannot be reached" in run.err and "HF_HUB_OFFLINE=1" in run.err


def test_a_hub_that_connects_but_never_answers_fails_within_seconds(
    cli, workspace, monkeypatch
) -> None:
    """A proxy or a dead mirror that accepts connections and sends nothing: one line, in
    seconds, not minutes of retries."""
    import socket
    import time

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts (the kernel does) and never reads nor writes
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{silent.getsockname()[1]}")
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
        started = time.perf_counter()
        run = cli("import", "someone/some-dataset", "-w", workspace)
        assert time.perf_counter() - started < 8.0
    finally:
        silent.close()
    assert run.code != 0 and len(run.err.strip().splitlines()) == 1
    assert "did not answer within 5 s" in run.err


def test_a_dataset_the_hub_does_not_have_is_said_so(cli, workspace, monkeypatch) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class NotFound(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    hub = ThreadingHTTPServer(("127.0.0.1", 0), NotFound)
    threading.Thread(target=hub.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{hub.server_address[1]}")
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
        run = cli("import", "someone/no-such-dataset", "-w", workspace)
    finally:
        hub.shutdown()
    assert run.code != 0 and len(run.err.strip().splitlines()) == 1
    assert "no such dataset on the Hugging Face Hub (127.0.0.1)" in run.err
