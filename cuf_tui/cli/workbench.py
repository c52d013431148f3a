"""The workbench command (`cuf-tui [DIR]`) and `cuf-tui demo-model`."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from cuf_tui.cli.data import summary
from cuf_tui.cli.output import console, workspace_of

if TYPE_CHECKING:
    from textual.app import App


def workbench(args: argparse.Namespace) -> int:
    """The workbench in a terminal; the summary when output is not a terminal."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return summary(args)
    from cuf_tui.tui.app import build_app

    workspace = workspace_of(args)
    workspace.config  # a broken cuf.toml is reported before the screen takes over  # noqa: B018
    return run_workbench(build_app(workspace, reviewer=getattr(args, "reviewer", None)))


def run_workbench(app: App[None], *, headless: bool = False) -> int:
    """Run the workbench to its end: 0 when the user quit it, 1 when it stopped on an error."""
    app.run(headless=headless)
    if app.return_code:  # Textual closed it on an unhandled error, and printed the traceback
        print(
            "cuf-tui: error: the workbench stopped on an unexpected error (see above); "
            "reviews already made are in the store",
            file=sys.stderr,
        )
        return 1
    return 0


def demo_model(args: argparse.Namespace) -> int:
    from cuf_tui.demo.entries import add_to_workspace
    from cuf_tui.demo.model import prepare

    workspace = None if args.prepare_only else workspace_of(args)  # a bad -w fails before the work
    err = console(stderr=True)
    demo = prepare(lambda line: err.print(line, markup=False, highlight=False), engine=args.engine)
    out = console()
    if workspace is None:
        out.print(
            f"Ready: {demo.model}, served by {' '.join(demo.command)}",
            markup=False,
            highlight=False,
        )
        return 0
    for line in add_to_workspace(workspace, demo):
        out.print(f"{workspace.config_path}: {line}", markup=False, highlight=False)
    out.print(
        f"Try: cuf-tui generate --model {demo.name} --limit 3 -w {workspace.root}, then "
        f"cuf-tui judge --judge {demo.name} --limit 3 -w {workspace.root} (the workbench "
        f"starts the {demo.engine} server for each batch)",
        markup=False,
        highlight=False,
    )
    return 0
