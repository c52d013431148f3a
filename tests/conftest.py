"""Shared fixtures: a private per-user home, fresh workspaces, and the CLI run in-process."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cuf_tui.cli import main
from cuf_tui.resources import sample_data_dir

SAMPLE_CUF = sample_data_dir() / "codeultrafeedback.jsonl"
SAMPLE_CODAL = sample_data_dir() / "codal_bench.jsonl"


@dataclass
class Run:
    code: int
    out: str
    err: str


@pytest.fixture(autouse=True)
def private_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own per-user data folder, so none touches the real one."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("CUF_TUI_HOME", str(home))
    monkeypatch.setenv("COLUMNS", "120")
    return home


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch):
    """The fault-injecting OpenAI-compatible server on loopback, expecting the test key."""
    from tests.batch_helpers import KEY_ENV, SECRET
    from tests.fake_openai import FakeOpenAI

    monkeypatch.setenv(KEY_ENV, SECRET)
    fake = FakeOpenAI(api_key=SECRET).start()
    yield fake
    fake.stop()


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]):
    def run(*args: str | Path) -> Run:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def workspace(tmp_path: Path, cli) -> Path:
    root = tmp_path / "ws"
    assert cli("init", root).code == 0
    return root


def store_dump(workspace: Path) -> list[str]:
    """Every row of every table, as SQL: two equal dumps mean an untouched store."""
    with sqlite3.connect(workspace / "cuf.db") as conn:
        return list(conn.iterdump())


def query(workspace: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(workspace / "cuf.db") as conn:
        return conn.execute(sql, params).fetchall()


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def cuf_row(
    instruction: str = "Reverse a string in Python.",
    preference: str = "readability",
    ratings: dict[str, str] | None = None,
    texts: dict[str, str] | None = None,
) -> dict[str, Any]:
    ratings = ratings if ratings is not None else {"m1": "5", "m2": "3", "m3": "1", "m4": "N/A"}
    texts = texts or {m: f"answer from {m} to {instruction}" for m in ratings}
    return {
        "instruction": instruction,
        "preference": preference,
        "models": list(ratings),
        "responses": [{"model": m, "response": texts[m]} for m in ratings],
        "annotations": [
            {"model": m, "rating": r, "rationale": f"why {m} got {r}"} for m, r in ratings.items()
        ],
    }
