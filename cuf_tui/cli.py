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
from cuf_tui.core.preferences import PREFERENCES

if TYPE_CHECKING:
    from rich.console import Console
    from textual.app import App

    from cuf_tui.config import ModelEntry
    from cuf_tui.workspace import Workspace

COMMANDS = (
    "init",
    "import",
    "export",
    "stats",
    "summary",
    "generate",
    "judge",
    "bench",
    "bench-report",
    "jobs",
    "cancel",
    "worker",
    "demo-model",
)


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
        choices=("auto", "cuf", "codal", "instructions", "answers"),
        default="auto",
        help="the layout (default: picked from the columns); answers: a model's answers to "
        "CODAL-Bench items (instruction + response rows), with --model",
    )
    imp.add_argument(
        "--model", metavar="NAME", help="with --format answers: the model that wrote them"
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
    exp.add_argument(
        "--include-truncated",
        action="store_true",
        help="dpo: also pair responses cut off at max_tokens (left out by default)",
    )
    exp.add_argument("--force", action="store_true", help="replace PATH if it exists")

    stats = commands.add_parser(
        "stats", parents=[workspace], help="counts by preference, model, judge and state"
    )
    stats.add_argument("--json", action="store_true", help="print JSON instead of tables")
    commands.add_parser(
        "summary", parents=[workspace], help="what the workspace holds, in a few lines"
    )

    batch = argparse.ArgumentParser(add_help=False, parents=[workspace])
    batch.add_argument("--limit", type=_positive, metavar="N", help="at most N instructions")
    batch.add_argument(
        "--detach", action="store_true", help="run in a background worker and return at once"
    )
    batch.add_argument(
        "--dry-run", action="store_true", help="show what would be requested and request nothing"
    )
    batch.add_argument(
        "--retry-failed",
        action="store_true",
        help="also ask again for units that failed in a way a retry cannot fix (a 400, an "
        "unknown model); failures that may pass (429, 5xx, timeouts) are always asked again",
    )
    gen = commands.add_parser(
        "generate",
        parents=[batch],
        help="generate the missing responses of the model pool",
        description="For every instruction, ask each of its assigned models (sampled from the "
        "pool when it has none) for the response it has not given yet.",
    )
    gen.add_argument(
        "--model", action="append", metavar="NAME", help="only this model (repeatable)"
    )
    judge = commands.add_parser(
        "judge",
        parents=[batch],
        help="judge every instruction whose responses are all there",
        description="Rate the responses of every instruction not yet judged by this judge "
        "with this template.",
    )
    judge.add_argument("--judge", metavar="NAME", help="the judge (default: the first in cuf.toml)")

    bench = commands.add_parser(
        "bench",
        parents=[batch],
        help="CODAL-Bench: a model answers the bench items, a judge grades each answer",
        description="The model under test answers every bench item it has not answered (with "
        "the item's preference principle in the prompt); the judge grades each answer alone "
        "against a reference answer, 1 to 10. Resumable like every batch.",
    )
    bench.add_argument("--model", required=True, metavar="NAME", help="the model under test")
    bench.add_argument("--judge", metavar="NAME", help="the grader (default: the first judge)")
    bench.add_argument(
        "--reference",
        metavar="MODEL",
        help="whose reference answers to grade against (needed when the bench has several)",
    )
    report = commands.add_parser(
        "bench-report",
        parents=[workspace],
        help="the CODAL-Bench leaderboard: models x preferences, with 95%% intervals",
    )
    report.add_argument("--judge", metavar="NAME", help="only this judge's grades")
    report.add_argument("--reference", metavar="MODEL", help="only grades against this reference")
    report.add_argument("--format", choices=("table", "markdown", "csv", "json"), default="table")
    report.add_argument("--out", type=Path, metavar="PATH", help="write it to a file")
    report.add_argument("--force", action="store_true", help="replace PATH if it exists")
    report.add_argument(
        "--seed", type=int, help="the bootstrap's seed (default: the workspace seed)"
    )

    jobs = commands.add_parser("jobs", parents=[workspace], help="list batches and their progress")
    jobs.add_argument("--json", action="store_true", help="print JSON instead of a table")
    cancel = commands.add_parser("cancel", parents=[workspace], help="stop a running batch")
    cancel.add_argument("job", type=_job_id, metavar="ID")
    demo = commands.add_parser(
        "demo-model",
        parents=[workspace],
        help="add a small real model that runs on the CPU (SmolLM2-135M on vLLM) to the pool",
        description="Build, once per machine, a CPU build of vLLM and SmolLM2-135M-Instruct in "
        "the cache folder ($CUF_TUI_CACHE, else ~/.cache/cuf-tui), then add the model to the "
        "workspace's pool, and make it the judge when no configured judge can run. The "
        "workbench starts and stops its server for each batch.",
    )
    demo.add_argument(
        "--engine",
        choices=("vllm", "llamacpp"),
        default="vllm",
        help="vllm: vLLM's CPU build (3.5 GB, about 3 minutes); llamacpp: llama-cpp-python's "
        "server on the GGUF file (compiles llama.cpp, a few minutes)",
    )
    demo.add_argument(
        "--prepare-only",
        action="store_true",
        help="build the engine and the model in the cache folder; change no workspace",
    )
    worker = commands.add_parser("worker", parents=[workspace])  # started by --detach
    worker.add_argument("job", type=_job_id, metavar="ID")
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

    import sqlite3

    from cuf_tui.errors import CufError

    try:
        handler = {
            None: _workbench,
            "summary": _summary,
            "init": _init,
            "import": _import,
            "export": _export,
            "stats": _stats,
            "generate": _generate,
            "judge": _judge,
            "bench": _bench,
            "bench-report": _bench_report,
            "jobs": _jobs,
            "cancel": _cancel,
            "worker": _worker,
            "demo-model": _demo_model,
        }[args.command]
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
    from cuf_tui.errors import CufError
    from cuf_tui.workspace import DB_NAME, workspace_root

    if args.command == "init":
        return Path(args.dir) / DB_NAME
    try:
        return workspace_root(args.workspace) / DB_NAME
    except CufError:
        return None


def _job_id(text: str) -> int:
    value = int(text)
    if not 1 <= value < 2**63:  # SQLite's integers
        raise argparse.ArgumentTypeError("a job id is a number from 1 (see `cuf-tui jobs`)")
    return value


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

    config_kept = (args.dir.expanduser() / "cuf.toml").exists()
    workspace = init_workspace(args.dir)
    out = _console()
    if config_kept:
        out.print(f"Made an empty store in {workspace.root}")
        out.print(f"  {workspace.config_path.name}  kept as it was")
    else:
        out.print(f"Made a workspace in {workspace.root}")
        out.print(
            f"  {workspace.config_path.name}  models and judges, commented out: edit to add them"
        )
    out.print(f"  {workspace.db_path.name}    the store, empty")
    out.print(f"Next: cuf-tui import FILE -w {args.dir}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from cuf_tui.interchange.importer import import_source

    workspace = _workspace(args)
    workspace.config  # a broken cuf.toml is reported before any work  # noqa: B018
    if args.format == "answers" or args.model:
        return _import_answers(args, workspace)
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


def _import_answers(args: argparse.Namespace, workspace: Workspace) -> int:
    from cuf_tui.errors import CufError
    from cuf_tui.interchange.importer import import_answers

    if args.format != "answers" or not args.model:
        raise CufError("answers are imported with both --format answers and --model NAME")
    with (
        _console(stderr=True).status(f"Importing {args.source}..."),
        workspace.open_store() as store,
    ):
        report = import_answers(store, args.source, args.model, split=args.split, limit=args.limit)
    out = _console()
    out.print(f"{report.source}: {report.rows} rows of answers by {args.model}")
    out.print(
        f"  bench answers: {report.attached} attached, {report.already_present} already present"
    )
    out.print(f"  into {workspace.db_path}; grade them with `cuf-tui bench --model {args.model}`")
    return 0


def _bench(args: argparse.Namespace) -> int:
    from cuf_tui.jobs.bench_plan import estimate_bench, plan_bench
    from cuf_tui.prompts import load_prompts

    workspace = _workspace(args)
    config = workspace.config
    prompts = load_prompts(workspace.root)
    with workspace.open_store() as store:
        plan = plan_bench(
            store,
            config,
            prompts,
            args.model,
            args.judge,
            args.reference,
            args.limit,
            args.retry_failed,
        )
        if args.dry_run:
            from cuf_tui.views import render_estimates

            render_estimates(_console(), "bench", estimate_bench(store, prompts, plan), 0)
            used = [plan.model] if plan.model is not None and plan.answers else []
            _note_servers([*used, plan.judge] if plan.requests else [])
    err = _console(stderr=True)
    if plan.without_reference:
        err.print(
            f"note: {plan.without_reference} bench items have no reference answer from "
            f"{plan.reference_model} and are left out"
        )
    if plan.unanswerable:
        err.print(
            f"note: {plan.unanswerable} bench items have no answer from {plan.model_name}, "
            "which is not in [[models]], so none can be requested"
        )
    _note_skipped(plan.skipped_failures)
    if args.dry_run:
        return 0
    if not plan.requests:
        _console().print(
            f"Nothing to do: {plan.model_name} has answered every bench item and "
            f"{plan.judge.name} has graded each answer against {plan.reference_model}"
            + _but_failed(plan.skipped_failures)
            if plan.items
            else "Nothing to do: the store holds no CODAL-Bench items (import them first)."
        )
        return 0
    from cuf_tui.engines.openai_client import check_endpoint, check_reachable

    used = [plan.model] if plan.model is not None and plan.answers else []
    for entry in [*used, plan.judge]:
        check_endpoint(entry)
    check_reachable([*used, plan.judge])
    params: dict[str, object] = {
        "model": plan.model_name,
        "judge": plan.judge.name,
        "reference": plan.reference_model,
        "limit": args.limit,
        "retry_failed": args.retry_failed,
    }
    return _launch(args, workspace, "bench", params)


def _bench_report(args: argparse.Namespace) -> int:
    from cuf_tui.analysis.leaderboard import leaderboard, render
    from cuf_tui.store.bench import grade_rows

    if args.out is not None:  # before any work: a refused path costs nothing
        from cuf_tui.interchange.exporter import check_destination

        check_destination(args.out, force=args.force)
    workspace = _workspace(args)
    seed = args.seed if args.seed is not None else workspace.config.workspace.seed
    with workspace.open_store() as store:
        rows = leaderboard(grade_rows(store, args.judge, args.reference), seed)
    if not rows:
        which = [f"by {args.judge}"] if args.judge else []
        which += [f"against {args.reference}"] if args.reference else []
        _console().print(
            " ".join(["No CODAL-Bench grades", *which, f"in {workspace.root} yet;"])
            + " run `cuf-tui bench`."
        )
        return 0
    text = render(rows, args.format)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    from cuf_tui.interchange.exporter import write_text_atomically

    write_text_atomically(args.out, text)
    _console().print(f"Wrote the leaderboard ({args.format}) to {args.out}")
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
            store,
            args.format,
            args.out,
            strategy=args.strategy,
            seed=seed,
            judge=args.judge,
            include_truncated=args.include_truncated,
            force=args.force,
        )
    unit = "pairs" if args.format == "dpo" else "rows"
    extra = (
        f" from {report.instructions} instructions ({args.strategy}, seed {seed})"
        if (args.format == "dpo")
        else ""
    )
    left_out = report.cut_off_left_out
    note = (
        f"; left out {left_out} response{'s' if left_out != 1 else ''} cut off at max_tokens "
        "(--include-truncated keeps them)"
        if left_out
        else ""
    )
    _console().print(
        f"Wrote {report.rows} {unit}{extra} to {report.path} ({report.container}){note}"
    )
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


def _workbench(args: argparse.Namespace) -> int:
    """The workbench in a terminal; the summary when output is not a terminal."""
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return _summary(args)
    from cuf_tui.tui.app import build_app

    workspace = _workspace(args)
    workspace.config  # a broken cuf.toml is reported before the screen takes over  # noqa: B018
    return run_workbench(build_app(workspace))


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


def _summary(args: argparse.Namespace) -> int:
    from cuf_tui.store.queries import table_counts
    from cuf_tui.views import render_summary

    workspace = _workspace(args)
    config = workspace.config
    with workspace.open_store() as store:
        counts = table_counts(store)
    render_summary(_console(), workspace, config, counts)
    return 0


def _generate(args: argparse.Namespace) -> int:
    from cuf_tui.jobs.plan import estimate_generation, plan_generation
    from cuf_tui.prompts import load_prompts

    workspace = _workspace(args)
    config = workspace.config
    models = sorted(set(args.model)) if args.model else None
    with workspace.open_store() as store:
        plan = plan_generation(store, config, models, args.limit, args.retry_failed)
        if args.dry_run:
            from cuf_tui.views import render_estimates

            estimates = estimate_generation(store, config, load_prompts(workspace.root), plan)
            render_estimates(_console(), "generate", estimates, len(plan.assignments))
            _note_servers([config.model_named(e.name) for e in estimates])
    if plan.unknown_models:
        names = ", ".join(f"{m} ({n})" for m, n in sorted(plan.unknown_models.items()))
        _console(stderr=True).print(
            f"note: responses assigned to models not in cuf.toml are skipped: {names}"
        )
    _note_skipped(plan.skipped_failures)
    if args.dry_run:
        return 0
    if not plan.units:
        _console().print(
            "Nothing to generate: every assigned model has answered"
            + _but_failed(plan.skipped_failures)
            if plan.instructions
            else "Nothing to generate: the store holds no instructions (import some first)."
        )
        return 0
    from cuf_tui.engines.openai_client import check_endpoint, check_reachable

    entries = [config.model_named(name) for name in sorted({unit.model for unit in plan.units})]
    for entry in entries:
        check_endpoint(entry)
    check_reachable(entries)
    params = {"models": models, "limit": args.limit, "retry_failed": args.retry_failed}
    return _launch(args, workspace, "generate", params)


def _judge(args: argparse.Namespace) -> int:
    from cuf_tui.jobs.plan import estimate_judging, plan_judging
    from cuf_tui.prompts import load_prompts

    workspace = _workspace(args)
    config = workspace.config
    prompts = load_prompts(workspace.root)
    with workspace.open_store() as store:
        plan = plan_judging(store, config, prompts, args.judge, args.limit, args.retry_failed)
        if args.dry_run:
            from cuf_tui.views import render_estimates

            render_estimates(_console(), "judge", [estimate_judging(store, prompts, plan)], 0)
            _note_servers([plan.judge] if plan.units else [])
    if plan.waiting:
        _console(stderr=True).print(
            f"note: {plan.waiting} instructions wait for responses before they can be judged"
        )
    _note_skipped(plan.skipped_failures)
    if args.dry_run:
        return 0
    if not plan.units:
        _console().print(
            f"Nothing to judge: {plan.judge.name} has judged every complete instruction"
            + _but_failed(plan.skipped_failures)
            if plan.instructions
            else "Nothing to judge: the store holds no instructions (import some first)."
        )
        return 0
    from cuf_tui.engines.openai_client import check_endpoint, check_reachable

    check_endpoint(plan.judge)
    check_reachable([plan.judge])
    params = {"judge": plan.judge.name, "limit": args.limit, "retry_failed": args.retry_failed}
    return _launch(args, workspace, "judge", params)


def _but_failed(skipped: int) -> str:
    """The end of a "nothing to do" sentence: all done, or failed for good."""
    if not skipped:
        return "."
    return f", but for {skipped} units that failed in a way a retry cannot fix (see the note)."


def _note_skipped(count: int) -> None:
    if count:
        _console(stderr=True).print(
            f"note: {count} units failed before in a way a retry cannot fix (see their errors "
            "with `cuf-tui stats` or in the workbench); --retry-failed asks for them again"
        )


def _note_servers(entries: list[ModelEntry]) -> None:
    from cuf_tui.jobs.plan import servers_note

    note = servers_note(entries)
    if note:
        _console().print(note, markup=False, highlight=False)


def _launch(
    args: argparse.Namespace, workspace: Workspace, kind: str, params: dict[str, object]
) -> int:
    from cuf_tui.jobs.launch import detach, prepare_job

    job_id = prepare_job(workspace, kind, params)
    if args.detach:
        pid, log_path = detach(workspace, job_id)
        # The sentence for a person on stderr; the id alone on stdout, for scripts
        # (`JOB=$(cuf-tui judge --detach)`).
        _console(stderr=True).print(
            f"Job {job_id} ({kind}) runs in the background (pid {pid}); "
            f"follow it with `cuf-tui jobs`, its log is {log_path}"
        )
        print(job_id)
        return 0
    return _run_with_progress(workspace, job_id, kind)


def _run_with_progress(workspace: Workspace, job_id: int, kind: str) -> int:
    import asyncio

    from cuf_tui.jobs.launch import run_in_foreground
    from cuf_tui.views import job_progress

    try:
        with job_progress(_console(stderr=True), f"{kind} (job {job_id})") as update:
            outcome = run_in_foreground(workspace, job_id, update)
    except (KeyboardInterrupt, asyncio.CancelledError):
        _console(stderr=True).print(
            f"Stopped job {job_id}; what finished is stored. Run the same command to resume."
        )
        return 130
    progress = outcome.progress
    if outcome.state == "failed":
        from cuf_tui.errors import CufError

        raise CufError(f"job {job_id} ({kind}) failed: {outcome.error or 'no reason given'}")
    from cuf_tui.views import job_summary_lines

    out = _console()
    for line in job_summary_lines(kind, outcome.progress):
        out.print(line)
    if progress.failed:
        out.print(f"  last error: {progress.last_error}")
        out.print("  Run the same command again to retry the failed units.")
        return 1
    return 0


def _jobs(args: argparse.Namespace) -> int:
    from cuf_tui.store.work import list_jobs_with_servers

    workspace = _workspace(args)
    with workspace.open_store() as store:
        rows = list_jobs_with_servers(store)
    if args.json:
        import json

        print(json.dumps(rows, indent=2))
        return 0
    from cuf_tui.views import render_jobs

    console = _console()
    if not console.is_terminal:  # a file or a pipe: whole columns, never cut at 80
        console.width = max(console.width, 200)
    render_jobs(console, rows)
    return 0


def _demo_model(args: argparse.Namespace) -> int:
    from cuf_tui.engines.demo import add_to_workspace, prepare

    workspace = None if args.prepare_only else _workspace(args)  # a bad -w fails before the work
    err = _console(stderr=True)
    demo = prepare(lambda line: err.print(line, markup=False, highlight=False), engine=args.engine)
    out = _console()
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


def _cancel(args: argparse.Namespace) -> int:
    from cuf_tui.jobs.launch import cancel_job

    with _workspace(args).open_store() as store:
        _console().print(cancel_job(store, args.job))
    return 0


def _worker(args: argparse.Namespace) -> int:
    from cuf_tui.jobs.launch import work_detached

    return work_detached(_workspace(args), args.job)
