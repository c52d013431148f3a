"""Trustworthy under load: no command writes over a workspace's own files, and a store or a
destination in trouble (read-only, corrupt, missing, a closed pipe) ends in one line on stderr,
never a traceback, with the store as it was."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest

from cuf_tui.workspace import default_workspace_dir, ensure_sample_workspace

WORKSPACE_FILES = ("cuf.db", "cuf.db-wal", "cuf.db-shm", "cuf.db-journal", "cuf.toml")
WRITERS = (
    ("bench-report", "--format", "markdown"),
    ("export", "--format", "dpo"),
)


@pytest.fixture
def sample(private_home: Path) -> Path:
    """The sample workspace: instructions, responses, judgments and graded bench answers."""
    return ensure_sample_workspace(default_workspace_dir()).root


def store_dump(workspace: Path) -> list[str]:
    """Every row of every table, as SQL (as conftest's ``store_dump``, but closing its
    connection at once: an open one keeps cuf.db-wal and cuf.db-shm in the folder)."""
    with closing(sqlite3.connect(workspace / "cuf.db")) as conn:
        return list(conn.iterdump())


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cuf-tui: error: "), err
    assert "Traceback" not in err
    return lines[0]


# 1. Files the workspace depends on are never overwritten.


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
@pytest.mark.parametrize("name", WORKSPACE_FILES)
@pytest.mark.parametrize("command", WRITERS, ids=[w[0] for w in WRITERS])
def test_no_command_writes_over_a_workspace_file(
    cli, sample: Path, command: tuple[str, ...], name: str, force: bool
) -> None:
    before, dump = files_of(sample), store_dump(sample)
    target = sample / name
    run = cli(*command, "--out", target, *(["--force"] if force else []), "-w", sample)
    assert run.code == 1
    line = one_error_line(run.err)
    assert f"{target}: " in line and "choose another" in line
    assert run.out == ""
    assert files_of(sample) == before
    assert store_dump(sample) == dump


def test_a_link_or_a_relative_path_to_a_workspace_file_is_refused(
    cli, sample: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before, dump = files_of(sample), store_dump(sample)
    link = tmp_path / "leaderboard.md"
    link.symlink_to(sample / "cuf.db")
    run = cli("bench-report", "--out", link, "--force", "-w", sample)
    assert run.code == 1
    line = one_error_line(run.err)
    assert str(link) in line and str(sample / "cuf.db") in line

    folder_link = tmp_path / "ws-link"
    folder_link.symlink_to(sample, target_is_directory=True)
    run = cli("bench-report", "--out", folder_link / "cuf.toml", "--force", "-w", sample)
    assert run.code == 1 and "cuf.toml" in one_error_line(run.err)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    relative = Path(os.path.relpath(sample, elsewhere)) / "." / "cuf.db"
    run = cli("bench-report", "--out", relative, "--force", "-w", sample)
    assert run.code == 1 and f"{relative}: " in one_error_line(run.err)
    # A datasets-folder export never replaces the workspace folder itself.
    run = cli("export", "--format", "dpo", "--out", folder_link, "--force", "-w", sample)
    assert run.code == 1
    one_error_line(run.err)
    assert files_of(sample) == before
    assert store_dump(sample) == dump


@pytest.mark.parametrize("command", WRITERS, ids=[w[0] for w in WRITERS])
def test_writing_over_an_existing_file_needs_force(
    cli, sample: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    out = tmp_path / ("board.md" if command[0] == "bench-report" else "pairs.jsonl")
    out.write_text("keep me\n")
    run = cli(*command, "--out", out, "-w", sample)
    assert run.code == 1
    line = one_error_line(run.err)
    assert f"{out}: " in line and "--force" in line
    assert out.read_text() == "keep me\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [out.name]  # no temporary left
    run = cli(*command, "--out", out, "--force", "-w", sample)
    assert run.code == 0, run.err
    assert out.read_text() != "keep me\n"


@pytest.mark.parametrize("command", WRITERS, ids=[w[0] for w in WRITERS])
def test_a_device_or_a_pipe_is_never_replaced_even_with_force(
    cli, sample: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    pipe = tmp_path / ("board.md" if command[0] == "bench-report" else "pairs.jsonl")
    os.mkfifo(pipe)
    link = tmp_path / ("link.md" if command[0] == "bench-report" else "link.jsonl")
    link.symlink_to(pipe)
    for out in (pipe, link):
        run = cli(*command, "--out", out, "--force", "-w", sample)
        assert run.code == 1
        assert f"{out}: not a regular file" in one_error_line(run.err)
    assert stat.S_ISFIFO(pipe.stat().st_mode)  # still the pipe it was


def test_replacing_a_datasets_folder_needs_force(cli, sample: Path, tmp_path: Path) -> None:
    folder = tmp_path / "pairs"
    assert cli("export", "--format", "dpo", "--out", folder, "-w", sample).code == 0
    before = files_of(folder)
    run = cli("export", "--format", "instructions", "--out", folder, "-w", sample)
    assert run.code == 1
    line = one_error_line(run.err)
    assert f"{folder}: " in line and "--force" in line
    assert files_of(folder) == before
    run = cli("export", "--format", "instructions", "--out", folder, "--force", "-w", sample)
    assert run.code == 0, run.err
    assert files_of(folder) != before


@pytest.mark.parametrize("command", WRITERS, ids=[w[0] for w in WRITERS])
def test_a_missing_folder_is_an_error_not_made(
    cli, sample: Path, tmp_path: Path, command: tuple[str, ...]
) -> None:
    out = tmp_path / "not" / "there" / "out.jsonl"
    run = cli(*command, "--out", out, "-w", sample)
    assert run.code == 1
    line = one_error_line(run.err)
    assert f"{out}: " in line and str(tmp_path / "not" / "there") in line
    assert not (tmp_path / "not").exists()


@pytest.mark.parametrize(
    "args",
    [
        ["stats"],
        ["stats", "--json"],
        ["summary"],
        ["jobs"],
        ["cancel", "1"],
        ["bench-report"],
        ["export", "--format", "cuf", "--out", "{tmp}/out.jsonl"],
        ["import", "{sample_cuf}"],
        ["generate", "--dry-run"],
        ["judge", "--dry-run"],
    ],
    ids=lambda args: "-".join(a for a in args if "{" not in a),
)
def test_a_missing_store_beside_its_config_is_an_error(
    cli, workspace: Path, tmp_path: Path, args: list[str]
) -> None:
    from tests.conftest import SAMPLE_CUF

    (workspace / "cuf.db").unlink()
    filled = [a.format(tmp=tmp_path, sample_cuf=SAMPLE_CUF) for a in args]
    run = cli(*filled, "-w", workspace)
    assert run.code == 1
    line = one_error_line(run.err)
    assert f"{workspace / 'cuf.db'}: the store is missing; " in line
    assert sorted(p.name for p in workspace.iterdir()) == ["cuf.toml"]
    assert not (tmp_path / "out.jsonl").exists()


def test_init_makes_a_missing_store_and_keeps_the_config(cli, workspace: Path) -> None:
    (workspace / "cuf.db").unlink()
    (workspace / "cuf.toml").write_text('[workspace]\nname = "mine"\n')
    run = cli("init", workspace)
    assert run.code == 0, run.err
    assert (workspace / "cuf.toml").read_text() == '[workspace]\nname = "mine"\n'
    assert cli("stats", "--json", "-w", workspace).code == 0


# 2. Errors, not tracebacks.


def as_a_user(command: list[str]) -> list[str]:
    """``command`` run as an ordinary user would run it. Root ignores file permissions, so as
    root it runs in a user namespace of its own, where it holds no capability over the files
    and chmod binds it like anyone else."""
    if os.geteuid() != 0:
        return command
    if shutil.which("unshare") is None:
        pytest.skip("running as root without `unshare`: chmod cannot make a file read-only")
    probe = subprocess.run(["unshare", "--user", "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"running as root and user namespaces are refused: {probe.stderr!r}")
    return ["unshare", "--user", *command]


def cuf_tui(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "cuf_tui", *(str(a) for a in args)]


@pytest.fixture
def chmod() -> Iterator[Callable[[Path, int], None]]:
    """Change a path's mode for one test; the old mode comes back afterwards."""
    changed: list[tuple[Path, int]] = []

    def change(path: Path, mode: int) -> None:
        changed.append((path, path.stat().st_mode))
        path.chmod(mode)

    yield change
    for path, mode in reversed(changed):
        path.chmod(mode)


def run_as_a_user(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        as_a_user(cuf_tui(*args)), capture_output=True, text=True, timeout=120, check=False
    )


def test_a_read_only_store_file_is_read_and_never_written(sample: Path, chmod) -> None:
    from tests.conftest import SAMPLE_CODAL

    db = sample / "cuf.db"
    dump = store_dump(sample)
    chmod(db, 0o444)
    result = run_as_a_user("import", SAMPLE_CODAL, "-w", sample)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert f"{db}: " in line and "read-only" in line
    stats = run_as_a_user("stats", "--json", "-w", sample)
    assert stats.returncode == 0, stats.stderr
    assert store_dump(sample) == dump


@pytest.mark.parametrize("mode", [0o555, 0o444], ids=["no-write", "no-write-no-search"])
def test_a_read_only_workspace_folder_is_reported(sample: Path, chmod, mode: int) -> None:
    dump = store_dump(sample)
    for args in (("stats",), ("bench-report",), ("summary",)):
        chmod(sample, mode)
        result = run_as_a_user(*args, "-w", sample)
        chmod(sample, 0o755)
        assert result.returncode == 1, result.stdout
        line = one_error_line(result.stderr)
        assert str(sample) in line and "permission" in line
    assert store_dump(sample) == dump


def corrupt_the_responses_table(workspace: Path) -> None:
    """Overwrite the middle of the responses table's first page, as a failing disk would."""
    db = workspace / "cuf.db"
    with closing(sqlite3.connect(db)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        query = "SELECT rootpage FROM sqlite_master WHERE name = 'responses'"
        (root,) = conn.execute(query).fetchone()
    data = bytearray(db.read_bytes())
    start = (root - 1) * page_size
    data[start : start + page_size // 2] = b"\xa5" * (page_size // 2)
    db.write_bytes(bytes(data))


@pytest.mark.parametrize(
    "args",
    [
        ["stats"],
        ["stats", "--json"],
        ["export", "--format", "dpo", "--out", "{tmp}/pairs.jsonl"],
        ["export", "--format", "cuf", "--out", "{tmp}/cuf.jsonl"],
        ["import", "{sample_cuf}"],
    ],
    ids=lambda args: "-".join(a for a in args if "{" not in a),
)
def test_a_corrupt_store_is_named_not_a_traceback(
    cli, sample: Path, tmp_path: Path, args: list[str]
) -> None:
    from tests.conftest import SAMPLE_CUF

    corrupt_the_responses_table(sample)
    before = (sample / "cuf.db").read_bytes()
    out = tmp_path / "out"
    out.mkdir()
    run = cli(*[a.format(tmp=out, sample_cuf=SAMPLE_CUF) for a in args], "-w", sample)
    assert run.code == 1
    line = one_error_line(run.err)
    assert f"{sample / 'cuf.db'}: " in line and "corrupt" in line
    assert list(out.iterdir()) == []
    assert (sample / "cuf.db").read_bytes() == before


def test_an_export_under_a_file_or_into_proc_is_an_error(cli, sample: Path, tmp_path) -> None:
    a_file = tmp_path / "somefile.txt"
    a_file.write_text("mine\n")
    out = a_file / "out.jsonl"
    run = cli("export", "--format", "dpo", "--out", out, "-w", sample)
    assert run.code == 1
    assert f"{out}: " in one_error_line(run.err)
    assert a_file.read_text() == "mine\n"
    if Path("/proc").is_dir():
        run = cli("export", "--format", "dpo", "--out", "/proc/x.jsonl", "-w", sample)
        assert run.code == 1
        assert "/proc/x.jsonl: " in one_error_line(run.err)
        run = cli("bench-report", "--out", "/proc/x.md", "-w", sample)
        assert run.code == 1
        assert "/proc/x.md: " in one_error_line(run.err)


@pytest.mark.parametrize(
    "args",
    [("stats", "--json"), ("stats",), ("bench-report",), ("jobs", "--json"), ("summary",)],
    ids=lambda args: "-".join(args),
)
def test_a_reader_that_goes_away_ends_the_command_quietly(sample: Path, args) -> None:
    # The read end is closed before the command writes anything: every write is a broken pipe.
    proc = subprocess.Popen(
        cuf_tui(*args, "-w", sample),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=120)
    assert err == ""
    assert proc.returncode != 0


def test_stats_piped_into_head_leaves_no_traceback(sample: Path) -> None:
    command = " ".join(cuf_tui("stats", "--json", "-w", sample)) + " | head -c 10"
    result = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, timeout=120, check=False
    )
    assert len(result.stdout) == 10
    assert result.stderr == ""


NOT_UTF8 = os.fsdecode(b"model-\xff")  # what Python makes of such bytes in argv


@pytest.mark.parametrize(
    "command",
    [
        ("bench", "--model", NOT_UTF8, "--reference", "gpt-4-turbo", "--dry-run"),
        ("bench-report", "--judge", NOT_UTF8),
        ("bench-report", "--reference", NOT_UTF8),
        ("export", "--format", "dpo", "--judge", NOT_UTF8, "--out", "/tmp/pairs-not-utf8.jsonl"),
    ],
    ids=["bench", "report-judge", "report-reference", "export-judge"],
)
def test_an_argument_that_is_not_utf8_is_one_line(cli, sample: Path, command) -> None:
    before = store_dump(sample)
    run = cli(*command, "-w", sample)
    assert run.code != 0
    line = one_error_line(run.err)
    assert "not UTF-8" in line or "model-" in line
    assert store_dump(sample) == before


def test_a_job_id_beyond_what_the_store_holds_is_refused_by_the_parser(sample: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "cuf_tui", "cancel", "99999999999999999999999", "-w", sample],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2
    assert "a job id is a number from 1" in run.stderr and "Traceback" not in run.stderr


def test_an_empty_store_file_is_an_error_not_a_new_store(cli, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    assert cli("init", root).code == 0
    for path in root.glob("cuf.db*"):
        path.unlink()
    (root / "cuf.db").write_bytes(b"")  # cut to nothing
    run = cli("summary", "-w", root)
    assert run.code == 1
    assert "the store is an empty file (0 bytes)" in one_error_line(run.err)
    assert (root / "cuf.db").stat().st_size == 0
