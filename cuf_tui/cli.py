"""The `cuf-tui` command: argument parsing and output only; the work lives in the layers below.

Everything heavy is imported inside the command that needs it, so `cuf-tui --help` stays fast.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from cuf_tui import __version__

if TYPE_CHECKING:
    from rich.console import Console

    from cuf_tui.workspace import Workspace

PREFERENCES = ("instruction-following", "explanation", "complexity", "readability", "style")
COMMANDS = ("init", "import", "export", "stats")


def build_parser() -> argparse.ArgumentParser:
    workspace = argparse.ArgumentParser(add_help=False)
    workspace.add_argument(
        "-w",
        "--workspace",
        type=Path,
        metavar="DIR",
        # SUPPRESS: a subcommand's unset -w must not erase one given before the subcommand.
        default=argparse.SUPPRESS,
        help="the workspace folder (default: the current folder if it holds cuf.toml, "
        "else the per-user sample workspace)",
    )
    parser = argparse.ArgumentParser(
        prog="cuf-tui",
        description="A terminal workbench for building, reviewing and benchmarking "
        "LLM-as-a-Judge preference data for code (CodeUltraFeedback, CODAL-Bench).",
        epilog="Run `cuf-tui [DIR]` to open a workspace; `cuf-tui COMMAND --help` for a command.",
        parents=[workspace],
    )
    parser.add_argument("--version", action="version", version=f"cuf-tui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    init = commands.add_parser(
        "init",
        help="make a new workspace (cuf.toml + cuf.db)",
        description="Make a new workspace: a cuf.toml with commented examples and an empty store.",
    )
    init.add_argument("dir", type=Path, metavar="DIR")

    imp = commands.add_parser(
        "import",
        parents=[workspace],
        help="import instructions, a CodeUltraFeedback file or CODAL-Bench",
        description="Import a local .jsonl/.json/.csv/.parquet file, a datasets.save_to_disk "
        "folder or a Hugging Face dataset id. Every row is checked before anything is stored.",
    )
    imp.add_argument("source", metavar="SOURCE")
    imp.add_argument(
        "--format",
        choices=("auto", "cuf", "codal", "instructions"),
        default="auto",
        help="the layout (default: picked from the columns)",
    )
    imp.add_argument("--split", help="the split of a dataset with several")
    imp.add_argument("--limit", type=_positive, metavar="N", help="import the first N rows only")
    imp.add_argument("--preference", choices=PREFERENCES, help="the coding preference of every row")
    imp.add_argument(
        "--judge",
        default="imported",
        metavar="NAME",
        help="who wrote a CodeUltraFeedback file's annotations, when its rows don't say "
        "(default: imported)",
    )

    exp = commands.add_parser(
        "export",
        parents=[workspace],
        help="export the CodeUltraFeedback layout, DPO pairs or instructions",
        description="Write .jsonl, .parquet, or a datasets folder (a path with no suffix).",
    )
    exp.add_argument("--format", choices=("cuf", "dpo", "instructions"), required=True)
    exp.add_argument("--out", type=Path, required=True, metavar="PATH")
    exp.add_argument(
        "--strategy",
        choices=("best-worst", "best-random", "all-pairs"),
        default="best-worst",
        help="how dpo pairs are chosen (default: best-worst, as in CodeUltraFeedback)",
    )
    exp.add_argument("--seed", type=int, help="seed for tie-breaking (default: the workspace seed)")
    exp.add_argument(
        "--judge", metavar="NAME", help="use this judge's ratings (default: the latest)"
    )

    stats = commands.add_parser(
        "stats", parents=[workspace], help="counts by preference, model, judge and state"
    )
    stats.add_argument("--json", action="store_true", help="print JSON instead of tables")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    # `cuf-tui DIR` opens a workspace; anything else first is a command or an option.
    opened: Path | None = None
    if args_list and args_list[0] not in COMMANDS and not args_list[0].startswith("-"):
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

    from cuf_tui.errors import CufError

    try:
        handler = {
            None: _summary,
            "init": _init,
            "import": _import,
            "export": _export,
            "stats": _stats,
        }[args.command]
        return handler(args)
    except CufError as err:
        print(f"cuf-tui: error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cuf-tui: interrupted; nothing half-written was kept", file=sys.stderr)
        return 130


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _console(stderr: bool = False) -> Console:
    from rich.console import Console

    # Markup off: paths, model names and split names like `data[train]` print as they are.
    return Console(stderr=stderr, highlight=False, soft_wrap=True, markup=False)


def _workspace(args: argparse.Namespace) -> Workspace:
    from cuf_tui.workspace import resolve_workspace

    return resolve_workspace(args.workspace)


def _init(args: argparse.Namespace) -> int:
    from cuf_tui.workspace import init_workspace

    workspace = init_workspace(args.dir)
    out = _console()
    out.print(f"Made a workspace in {workspace.root}")
    out.print(f"  {workspace.config_path.name}  models and judges, commented out: edit to add them")
    out.print(f"  {workspace.db_path.name}    the store, empty")
    out.print(f"Next: cuf-tui import FILE -w {args.dir}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from cuf_tui.interchange.importer import import_source

    workspace = _workspace(args)
    workspace.config  # a broken cuf.toml is reported before any work  # noqa: B018
    with (
        _console(stderr=True).status(f"Importing {args.source}..."),
        workspace.open_store() as store,
    ):
        report = import_source(
            store,
            args.source,
            layout=args.format,
            split=args.split,
            limit=args.limit,
            preference=args.preference,
            judge=args.judge,
        )
    out = _console()
    how = "picked from the columns" if report.detected else "as asked"
    out.print(f"{report.source}: {report.rows} rows, layout {report.layout} ({how})")
    counts = report.counts
    out.print(f"  {report.what}: {counts.added} imported, {counts.already_present} already present")
    if report.layout == "cuf":
        out.print(
            f"  responses: {counts.responses_added} imported; "
            f"judgments: {counts.judgments_added} imported"
        )
    if report.layout == "codal":
        out.print(f"  reference answers: {counts.references_added} imported")
    out.print(f"  into {workspace.db_path}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from cuf_tui.interchange.exporter import export_dataset

    workspace = _workspace(args)
    seed = args.seed if args.seed is not None else workspace.config.workspace.seed
    with (
        _console(stderr=True).status(f"Exporting to {args.out}..."),
        workspace.open_store() as store,
    ):
        report = export_dataset(
            store, args.format, args.out, strategy=args.strategy, seed=seed, judge=args.judge
        )
    unit = "pairs" if args.format == "dpo" else "rows"
    extra = (
        f" from {report.instructions} instructions ({args.strategy}, seed {seed})"
        if (args.format == "dpo")
        else ""
    )
    _console().print(f"Wrote {report.rows} {unit}{extra} to {report.path} ({report.container})")
    return 0


def _stats(args: argparse.Namespace) -> int:
    from cuf_tui.store.stats import collect_stats

    workspace = _workspace(args)
    with workspace.open_store() as store:
        stats = collect_stats(store)
    if args.json:
        import json

        print(json.dumps(stats.as_dict(), indent=2))
        return 0
    from cuf_tui.views import render_stats

    render_stats(_console(), workspace, stats)
    return 0


def _summary(args: argparse.Namespace) -> int:
    from cuf_tui.store.queries import table_counts
    from cuf_tui.views import render_summary

    workspace = _workspace(args)
    config = workspace.config
    with workspace.open_store() as store:
        counts = table_counts(store)
    render_summary(_console(), workspace, config, counts)
    return 0
