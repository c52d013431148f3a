"""Workspaces wired to the fault-injecting server, for the batch tests."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from cuf_tui.core.preferences import PREFERENCES

KEY_ENV = "CUF_TEST_API_KEY"
SECRET = "sk-test-9f3c1d27a4b5e6f708192a3b4c5d6e7f"


def model_entry(section: str, name: str, base_url: str, **extra: Any) -> str:
    lines = [
        f"[[{section}]]",
        f'name = "{name}"',
        'engine = "openai"',
        f'model = "{extra.pop("model", name)}"',
        f'base_url = "{base_url}"',
        f'api_key_env = "{KEY_ENV}"',
        "price_per_million_tokens = { input = 1.0, output = 2.0 }",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    return "\n".join(lines) + "\n"


def make_workspace(
    root: Path,
    base_url: str = "",
    models: list[str] = (),  # type: ignore[assignment]
    judges: list[str] = (),  # type: ignore[assignment]
    instructions: list[dict[str, Any]] | None = None,
    per_instruction: int = 4,
    *,
    entries: str = "",
    bench_items: int = 0,
    seed: int = 7,
    **entry_settings: Any,
) -> Path:
    """A workspace for a test: [[models]] and [[judges]] on the loopback server (or the TOML
    of ``entries``), its store, the instructions (ten by default), and ``bench_items``
    CODAL-Bench items with gpt-4-turbo references for all and gpt-3.5-turbo ones for every
    other item. Every test builds its workspace here."""
    root.mkdir(parents=True, exist_ok=True)
    config = (
        f'[workspace]\nname = "batch"\nseed = {seed}\n'
        f"responses_per_instruction = {per_instruction}\n\n"
    )
    config += "\n".join(model_entry("models", m, base_url, **dict(entry_settings)) for m in models)
    config += "\n".join(model_entry("judges", j, base_url, **dict(entry_settings)) for j in judges)
    (root / "cuf.toml").write_text(config + entries, encoding="utf-8")
    if not (root / "cuf.db").exists():  # a workspace is cuf.toml and its store
        from cuf_tui.store.db import open_store

        open_store(root / "cuf.db").close()
    if instructions is None:
        instructions = [
            {
                "instruction": f"Write function number {i} in Python.",
                "preference": PREFERENCES[i % 5],
            }
            for i in range(10)
        ]
    bench = [
        {
            "instruction": f"Bench task {i}: write a parser for format {i}.",
            "preference": PREFERENCES[i % 5],
            "gpt-4-turbo_response": f"Reference {i} by gpt-4-turbo.",
            "gpt-3.5-turbo_response": f"Reference {i} by gpt-3.5." if i % 2 else "",
        }
        for i in range(bench_items)
    ]
    from cuf_tui.cli import main

    for name, data in (("instructions.jsonl", instructions), ("codal.jsonl", bench)):
        if data:
            source = root / name
            source.write_text("".join(json.dumps(r) + "\n" for r in data), encoding="utf-8")
            assert main(["import", str(source), "-w", str(root)]) == 0
    return root


def rows(workspace: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with sqlite3.connect(workspace / "cuf.db") as conn:
        return conn.execute(sql, params).fetchall()


def files_containing(root: Path, needle: str) -> list[Path]:
    data = needle.encode()
    return [p for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


def wait_for(condition, timeout: float = 30.0, what: str = "condition") -> None:
    """Poll ``condition`` until it holds; fail the test, saying what, after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
