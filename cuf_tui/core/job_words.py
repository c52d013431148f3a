"""Jobs and their servers in words, for every place that shows them (the command line and
the workbench alike): pure functions of a job's counts and a server's row."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def attention_words(unparsed: int, truncated: int) -> str:
    """A job's units that were stored but need a person's look, in words ("" when none)."""
    parts = [f"{unparsed} unparsed"] if unparsed else []
    parts += [f"{truncated} cut off"] if truncated else []
    return ", ".join(parts)


def server_line(server: Mapping[str, Any]) -> str:
    """One managed server of a job, in words: which, where, in what state, its log."""
    return (
        f"{server['engine']} server {server['replica']} of {server['model']} "
        f"(port {server['port']}, pid {server['pid']}): {server['state']}; log {server['log_path']}"
    )
