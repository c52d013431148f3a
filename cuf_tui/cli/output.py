"""What every command shares: its console, the workspace it works on, and the notes it
prints before a batch."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

    from cuf_tui.config import ModelEntry
    from cuf_tui.workspace import Workspace


def console(stderr: bool = False) -> Console:
    from rich.console import Console

    # Markup off: paths, model names and split names like `data[train]` print as they are.
    return Console(stderr=stderr, highlight=False, soft_wrap=True, markup=False)


def workspace_of(args: argparse.Namespace) -> Workspace:
    from cuf_tui.workspace import resolve_workspace

    return resolve_workspace(args.workspace)


def note_skipped(count: int) -> None:
    if count:
        console(stderr=True).print(
            f"note: {count} units failed before in a way a retry cannot fix (see their errors "
            "with `cuf-tui stats` or in the workbench); --retry-failed asks for them again"
        )


def note_servers(entries: list[ModelEntry]) -> None:
    from cuf_tui.jobs.plan import servers_note

    note = servers_note(entries)
    if note:
        console().print(note, markup=False, highlight=False)
