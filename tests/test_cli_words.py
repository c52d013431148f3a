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


class MisbehavingHub:
    """A loopback 'Hub' that misbehaves one way: it never answers, sends its answer a byte
    at a time, answers 500 or 404, or answers in something that is not HTTP."""

    def __init__(self, mode: str) -> None:
        import socket
        import threading

        self.mode = mode
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.open: list[socket.socket] = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self) -> None:
        import time

        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.open.append(conn)
            if self.mode == "silent":
                continue
            try:
                conn.recv(65536)
                if self.mode == "trickle":
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
                    for _ in range(200):
                        conn.sendall(b"{")
                        time.sleep(0.25)
                elif self.mode == "garbage":
                    conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                else:
                    status = {"error": b"500 Internal Server Error", "missing": b"404 Not Found"}
                    conn.sendall(
                        b"HTTP/1.1 " + status[self.mode] + b"\r\nContent-Length: 0\r\n\r\n"
                    )
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self.listener.close()
        for conn in self.open:
            conn.close()


@pytest.mark.parametrize(
    ("mode", "said"),
    [
        ("silent", "did not answer within 5 s"),
        ("trickle", "sending its answer too slowly"),
        ("error", "answered 500 Internal Server Error"),
        ("garbage", "did not answer in HTTP"),
        ("missing", "the Hugging Face Hub (127.0.0.1) has no such dataset"),
    ],
)
def test_a_hub_that_misbehaves_fails_within_seconds_in_one_line(
    cli, workspace, monkeypatch, mode: str, said: str
) -> None:
    import time

    hub = MisbehavingHub(mode)
    try:
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{hub.port}")
        monkeypatch.setenv("HF_HUB_OFFLINE", "0")  # off: the Hub is asked
        monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
        started = time.perf_counter()
        run = cli("import", "someone/some-dataset", "-w", workspace)
        assert time.perf_counter() - started < 8.0
    finally:
        hub.close()
    assert run.code != 0 and len(run.err.strip().splitlines()) == 1, run.err
    assert said in run.err


def test_reviewer_is_an_option_of_the_workbench_only(cli, workspace) -> None:
    run = cli("--reviewer", "ann", "stats", "-w", workspace)
    assert run.code == 2 and "--reviewer names who reviews in the workbench" in run.err
    run = cli("--reviewer", "ann", "import", "x.jsonl", "--format", "reviews", "-w", workspace)
    assert run.code == 2 and "each line of a reviews file names its own" in run.err
