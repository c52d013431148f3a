"""Commands on a workspace's data: init, import, export, stats, summary, bench-report."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from cuf_tui.cli.output import console, workspace_of

if TYPE_CHECKING:
    from cuf_tui.interchange.exporter import ExportReport
    from cuf_tui.workspace import Workspace


def init(args: argparse.Namespace) -> int:
    from cuf_tui.workspace import init_workspace

    config_kept = (args.dir.expanduser() / "cuf.toml").exists()
    workspace = init_workspace(args.dir)
    out = console()
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


def import_source(args: argparse.Namespace) -> int:
    from cuf_tui.interchange.importer import DEFAULT_IMPORT_JUDGE, import_source

    workspace = workspace_of(args)
    workspace.config  # a broken cuf.toml is reported before any work  # noqa: B018
    if args.format == "grades":
        return _import_grades(args, workspace)
    if args.format == "reviews":
        return _import_reviews(args, workspace)
    if args.format == "answers" or args.model:
        return _import_answers(args, workspace)
    with (
        console(stderr=True).status(f"Importing {args.source}..."),
        workspace.open_store() as store,
    ):
        report = import_source(
            store,
            args.source,
            layout=args.format,
            split=args.split,
            limit=args.limit,
            preference=args.preference,
            judge=args.judge or DEFAULT_IMPORT_JUDGE,
        )
    out = console()
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


def _import_grades(args: argparse.Namespace, workspace: Workspace) -> int:
    from cuf_tui.errors import CufError
    from cuf_tui.interchange.bench_import import import_grades

    missing = [f"--{n}" for n in ("model", "judge", "reference") if not getattr(args, n)]
    if missing:
        raise CufError(
            "grades are imported with --model, --judge and --reference "
            f"({', '.join(missing)} missing)"
        )
    with (
        console(stderr=True).status(f"Importing {args.source}..."),
        workspace.open_store() as store,
    ):
        report = import_grades(
            store, args.source, args.model, args.judge, args.reference, partial=args.partial
        )
    how = "line i to the i-th bench item" if report.matched_by == "order" else "by instruction"
    out = console()
    out.print(
        f"{report.source}: {report.rows} grades of {args.model} by {args.judge} against "
        f"{args.reference}'s references, matched {how}"
    )
    out.print(
        f"  grades: {report.graded} imported ({report.unreadable} N/A, counted 0), "
        f"{report.already_present} already present; the bench holds {report.bench_items} items"
    )
    out.print(f"  into {workspace.db_path}; `cuf-tui bench-report` ranks it")
    return 0


def _import_answers(args: argparse.Namespace, workspace: Workspace) -> int:
    from cuf_tui.errors import CufError
    from cuf_tui.interchange.bench_import import import_answers

    if args.format != "answers" or not args.model:
        raise CufError("answers are imported with both --format answers and --model NAME")
    with (
        console(stderr=True).status(f"Importing {args.source}..."),
        workspace.open_store() as store,
    ):
        report = import_answers(store, args.source, args.model, split=args.split, limit=args.limit)
    out = console()
    out.print(f"{report.source}: {report.rows} rows of answers by {args.model}")
    out.print(
        f"  bench answers: {report.attached} attached, {report.already_present} already present"
    )
    out.print(f"  into {workspace.db_path}; grade them with `cuf-tui bench --model {args.model}`")
    return 0


def _import_reviews(args: argparse.Namespace, workspace: Workspace) -> int:
    from cuf_tui.errors import CufError
    from cuf_tui.interchange.review_import import import_reviews

    options = {
        "--model": args.model,
        "--reference": args.reference,
        "--judge": args.judge,
        "--preference": args.preference,
        "--partial": args.partial,
        "--split": args.split,
        "--limit": args.limit,
    }
    given = [flag for flag, value in options.items() if value]
    if given:
        raise CufError(
            f"--format reviews takes no {', '.join(given)}: a review file is imported whole, "
            "and each of its lines names its instruction, model and reviewer"
        )
    with (
        console(stderr=True).status(f"Importing {args.source}..."),
        workspace.open_store() as store,
    ):
        report = import_reviews(store, args.source)
    shown, named = list(report.by_reviewer.items()), 8  # a team's names, not a crowd's
    who = ", ".join(f"{name} {count}" for name, count in shown[:named])
    if len(shown) > named:
        who += f", and {len(shown) - named} more"
    out = console()
    out.print(
        f"{report.source}: {_count(report.reviews, 'review')} by "
        f"{_count(len(shown), 'reviewer')} ({who}); {report.new:,} new, {report.updated:,} "
        f"updated, {report.unchanged:,} unchanged"
    )
    if report.workbench_replaced:
        out.print(
            f"  {report.workbench_replaced} of the updated were made in the workbench by the "
            "same reviewer; the file's ratings replace theirs (their flags and notes stay "
            "where the file gives none)"
        )
    if report.new == report.updated == 0:
        out.print(f"  nothing changed: {workspace.db_path} already held every one of them")
    else:
        out.print(f"  into {workspace.db_path}")
    return 0


def export(args: argparse.Namespace) -> int:
    from cuf_tui.errors import CufError
    from cuf_tui.interchange.export_rows import DEFAULT_TIES, ExportFormat, ExportOptions
    from cuf_tui.interchange.exporter import export_dataset
    from cuf_tui.store.queries import judge_names

    workspace = workspace_of(args)
    seed = args.seed if args.seed is not None else workspace.config.workspace.seed
    judges = list(dict.fromkeys(args.judge or []))
    if len(judges) > 1 and args.panel is None:
        raise CufError(
            f"--judge is given {len(judges)} times: an export uses one judge's ratings, or "
            "combines several with --panel mean|median|majority"
        )
    out = Path(args.out)
    layout: ExportFormat = "binarized" if args.format == "hf" else args.format
    with (
        console(stderr=True).status(f"Exporting to {out}..."),
        workspace.open_store() as store,
    ):
        options = ExportOptions(
            strategy=args.strategy,
            seed=seed,
            judge=judges[0] if judges and args.panel is None else None,
            preferred_judge=default.name if (default := workspace.config.default_judge) else None,
            panel=args.panel,
            panel_judges=tuple(judges),
            include_truncated=args.include_truncated,
            ties=args.ties,
            exclude_flagged=args.exclude_flagged,
            reviewed_only=args.reviewed_only,
        )
        report = export_dataset(
            store,
            layout,
            out,
            options,
            test_size=args.test_size,
            folder=args.format == "hf" or args.out.endswith(("/", os.sep)),
            force=args.force,
        )
        store_judges = judge_names(store)
    paired = layout in ("binarized", "dpo")
    unit = ("pair" if paired else "row") + ("" if report.rows == 1 else "s")
    how = f"{args.strategy}, " if layout == "dpo" else ""
    ties = args.ties or DEFAULT_TIES.get(layout, "drop")
    extra = (
        f" from {_count(report.instructions, 'instruction')} ({how}ties {ties}, seed {seed})"
        if paired
        else ""
    )
    left_out = report.cut_off_left_out
    note = (
        f"; left out {left_out} response{'s' if left_out != 1 else ''} cut off at max_tokens "
        "(--include-truncated keeps them)"
        if left_out
        else ""
    )
    if report.without_rows:
        why = "fewer than two rated responses" + (", or tied" if ties == "drop" else "")
        note += f"; {_count(report.without_rows, 'instruction')} gave no pair ({why})"
    if report.splits is None:
        where = f"{report.path} ({report.container})"
    else:
        split = ", ".join(f"{name} {count}" for name, count in report.splits.items())
        paths = " and ".join(str(p) for p in report.paths)
        where = f"{paths} ({report.container}; {split}, stratified by preference)"
    console().print(f"Wrote {report.rows} {unit}{extra} to {where}{note}")
    for line in _ratings_said(store_judges, report, judges, args.panel):
        console().print(f"  {line}")
    return 0


def _ratings_said(
    in_store: list[str], report: ExportReport, named: list[str], panel: str | None
) -> list[str]:
    """Whose ratings the rows carry, and the judges they leave out, so that an export never
    rests on a judge the user did not mean without saying so."""
    lines = []
    if report.judges and (len(in_store) > 1 or panel is not None):
        used = ", ".join(f"{judge} ({count:,})" for judge, count in report.judges.items())
        lines.append(f"ratings by {used}")
    if report.reviewed:
        lines.append(
            f"{report.reviewed:,} paired responses carry the reviewers' rating in place of the "
            "judges'"
        )
    others = [j for j in in_store if j not in report.judges and j not in named]
    if others and panel is None and not named:
        lines.append(
            f"not used: {', '.join(others)} (--judge NAME uses one; --panel mean|median|"
            "majority combines them all)"
        )
    return lines


def _count(count: int, thing: str) -> str:
    return f"{count:,} {thing}" + ("" if count == 1 else "s")


def stats(args: argparse.Namespace) -> int:
    from cuf_tui.store.stats import collect_stats

    workspace = workspace_of(args)
    with workspace.open_store() as store:
        stats = collect_stats(store)
    if args.json:
        import json

        print(json.dumps(stats.as_dict(), indent=2))
        return 0
    from cuf_tui.views import render_stats

    render_stats(console(), workspace, stats)
    return 0


def summary(args: argparse.Namespace) -> int:
    from cuf_tui.store.queries import table_counts
    from cuf_tui.views import render_summary

    workspace = workspace_of(args)
    config = workspace.config
    with workspace.open_store() as store:
        counts = table_counts(store)
    render_summary(console(), workspace, config, counts)
    return 0


def bench_report(args: argparse.Namespace) -> int:
    from cuf_tui.analysis.leaderboard import leaderboard, render
    from cuf_tui.errors import CufError
    from cuf_tui.store.grades import gradable_items, grade_rows, graded_by

    if args.out is not None:  # before any work: a refused path costs nothing
        from cuf_tui.interchange.exporter import check_destination

        check_destination(args.out, force=args.force)
    workspace = workspace_of(args)
    seed = args.seed if args.seed is not None else workspace.config.workspace.seed
    with workspace.open_store() as store:
        rows = leaderboard(
            grade_rows(store, args.judge, args.reference), gradable_items(store), seed
        )
        judges, references = graded_by(store)
    for flag, asked, known in (
        ("--judge", args.judge, judges),
        ("--reference", args.reference, references),
    ):
        if asked is not None and judges and asked not in known:
            raise CufError(
                f"{flag} {asked!r}: no grades by that name in {workspace.root} "
                f"(there are: {', '.join(known)})"
            )
    if not rows:
        which = [f"by {args.judge}"] if args.judge else []
        which += [f"against {args.reference}"] if args.reference else []
        console().print(
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
    console().print(f"Wrote the leaderboard ({args.format}) to {args.out}")
    return 0


def prompts(args: argparse.Namespace) -> int:
    from cuf_tui.prompts import SHIPPED, load_prompts

    workspace = workspace_of(args)
    if args.prompts_action == "import-paper":
        from cuf_tui.prompts.paper import read_paper_prompts, write_paper_prompts

        found = read_paper_prompts(args.dir)
        written = write_paper_prompts(found, workspace.root, force=args.force)
        load_prompts(workspace.root)  # they load, as every template must
        console().print(
            f"Wrote {len(written)} prompt overrides from {args.dir} to "
            f"{workspace.root / 'prompts'} (principles, rubrics, grading criteria, the judge's "
            "and the grader's system prompts); "
            "`cuf-tui prompts` shows their hashes. New judgments and grades use them."
        )
        return 0
    own = workspace.root / "prompts"
    templates = load_prompts(workspace.root)
    rows = []
    for name in templates.names():
        where = "workspace" if (own / name).is_file() else "shipped"
        rows.append((name, where, templates.sha256(name)[:12]))
    width = max(len(name) for name, _, _ in rows)
    out = console()
    out.print(
        f"Prompt templates in use (shipped: {SHIPPED}; the workspace's own: {own}):",
        highlight=False,
    )
    for name, where, digest in rows:
        out.print(f"  {name.ljust(width)}  {where:9}  {digest}", highlight=False)
    return 0
