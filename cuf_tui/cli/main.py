"""`cuf-tui`: argument parsing and output only; the work lives in the layers below.

Everything heavy is imported inside the command that needs it, so `cuf-tui --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cuf_tui.cli.parser import COMMANDS, build_parser

Handler = Callable[[argparse.Namespace], int]


def _handler(command: str | None) -> Handler:
    """The function that runs ``command``, its module imported only now."""
    if command in (None, "demo-model"):
        from cuf_tui.cli import workbench

        return workbench.workbench if command is None else workbench.demo_model
    if command == "agreement":
        from cuf_tui.cli import trust

        return trust.agreement
    if command == "probe":
        from cuf_tui.cli import probes

        return probes.probe
    if command in ("generate", "judge", "bench", "jobs", "cancel", "worker"):
        from cuf_tui.cli import batches

        handler: Handler = getattr(batches, command)
        return handler
    from cuf_tui.cli import data

    return {
        "summary": data.summary,
        "init": data.init,
        "import": data.import_source,
        "export": data.export,
        "stats": data.stats,
        "bench-report": data.bench_report,
        "prompts": data.prompts,
    }[command]


def _mistyped_command(word: str) -> str | None:
    """What to say when ``word``, given where a workspace folder may go, is no folder but
    reads as a command (a typo of one, or `help`); None when it may well be a folder."""
    if Path(word).exists() or "/" in word or word.startswith("."):
        return None
    import difflib

    close = difflib.get_close_matches(word, COMMANDS, n=1, cutoff=0.75)
    if close:
        return f"unknown command {word!r} (did you mean {close[0]}?); `cuf-tui --help` lists them"
    if word in ("help", "h", "usage"):
        return f"unknown command {word!r}; `cuf-tui --help` lists the commands"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # `cuf-tui DIR` opens a workspace; anything else first is a command or an option.
    opened: Path | None = None
    if args_list and args_list[0] not in COMMANDS and not args_list[0].startswith("-"):
        mistyped = _mistyped_command(args_list[0])
        if mistyped is not None:
            print(f"cuf-tui: error: {mistyped}", file=sys.stderr)
            return 2
        opened = Path(args_list.pop(0))
    args = build_parser().parse_args(args_list)
    args.workspace = getattr(args, "workspace", None)
    if opened is not None:
        if args.command:
            print(
                f"cuf-tui: error: to run a command on {opened}, use `cuf-tui {args.command} "
                f"-w {opened} ...`",
                file=sys.stderr,
            )
            return 2
        args.workspace = opened
    if args.reviewer is not None and (
        not args.reviewer.strip() or not args.reviewer.strip().isprintable()
    ):
        print(
            f"cuf-tui: error: --reviewer {args.reviewer!r}: a reviewer is a name on one line",
            file=sys.stderr,
        )
        return 2
    if args.reviewer is not None and args.command is not None:
        print(
            f"cuf-tui: error: --reviewer names who reviews in the workbench (`cuf-tui [DIR] "
            f"--reviewer NAME`); {args.command} takes no reviewer"
            + (" (each line of a reviews file names its own)" if args.command == "import" else ""),
            file=sys.stderr,
        )
        return 2

    import sqlite3

    from cuf_tui.errors import CufError

    try:
        handler = _handler(args.command)
        status = handler(args)
        sys.stdout.flush()  # a closed pipe shows here, not after main has returned
        return status
    except CufError as err:
        print(f"cuf-tui: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cuf-tui: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130
    except UnicodeEncodeError as err:
        # A name given on the command line with bytes that are not UTF-8 (the shell passes
        # them as surrogates): it cannot be stored, compared or printed as text.
        bad = err.object[err.start : err.end].encode("utf-8", "surrogateescape")
        print(
            f"cuf-tui: error: an argument holds bytes that are not UTF-8 text ({bad!r}); "
            "names and paths must be UTF-8",
            file=sys.stderr,
        )
        return 2
    except BrokenPipeError:
        # Whoever read our output has gone (`| head`): stop quietly, as other tools do.
        _discard_stdout()
        return 1
    except sqlite3.Error as err:
        # A safety net: trouble with the store met outside a transaction (a read of a corrupt
        # page, say) is named in one line; an error in a statement stays a bug to see whole.
        from cuf_tui.store.db import store_trouble

        trouble = store_trouble(err, _store_path(args), "use")
        if trouble is None:
            raise
        print(f"cuf-tui: error: {trouble}", file=sys.stderr)
        return 1
    except OSError as err:
        # A safety net for a file that cannot be read or written where no check caught it.
        where = f"{err.filename}: " if err.filename else ""
        print(f"cuf-tui: error: {where}{err.strerror or err}", file=sys.stderr)
        return 1


def _discard_stdout() -> None:
    """Send what is still buffered for stdout nowhere, so exiting does not fail on it again."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a file (captured in tests)
        pass


def _store_path(args: argparse.Namespace) -> Path | None:
    """The store a command was working on, to name it in an error."""
    from cuf_tui.config import DB_NAME
    from cuf_tui.errors import CufError
    from cuf_tui.workspace import workspace_root

    if args.command == "init":
        return Path(args.dir) / DB_NAME
    try:
        return workspace_root(args.workspace) / DB_NAME
    except CufError:
        return None
