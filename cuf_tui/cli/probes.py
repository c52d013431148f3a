"""`cuf-tui probe position|length|self`: a judge's biases, measured and said plainly."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING

from cuf_tui.cli.output import console, workspace_of

if TYPE_CHECKING:
    from rich.console import Console

    from cuf_tui.analysis.bias import Interval, LengthCorrelation, PositionReport
    from cuf_tui.config import Config
    from cuf_tui.store.db import Store
    from cuf_tui.workspace import Workspace


def probe(args: argparse.Namespace) -> int:
    if args.probe == "position":
        return _position(args)
    if args.probe == "length":
        return _length(args)
    return _self(args)


def interval_text(interval: Interval | None, signed: bool = True) -> str:
    if interval is None:
        return "-"
    form = "{:+.2f}" if signed else "{:.2f}"
    return f"[{form.format(interval[0])}, {form.format(interval[1])}]"


def _seed(workspace: Workspace) -> int:
    return workspace.config.workspace.seed


def _judge_named(name: str | None, config: Config, store: Store) -> str:
    """A configured judge (the first when ``name`` is None), or one only the store knows (an
    imported dataset's): what is measured from stored ratings needs no [[judges]] entry."""
    from cuf_tui.errors import CufError
    from cuf_tui.store.queries import judge_names

    configured = [e.name for e in config.judges]
    stored = judge_names(store)
    if name is not None and name not in configured:
        if name in stored:
            return name
        known = ", ".join(dict.fromkeys([*configured, *stored])) or "none"
        raise CufError(f"no judge named {name!r} in [[judges]] or in the store (judges: {known})")
    return config.judge_named(name).name


# ---------------------------------------------------------------------------- position


def _position(args: argparse.Namespace) -> int:
    from cuf_tui.analysis.bias import position_report
    from cuf_tui.cli.batches import run_batch
    from cuf_tui.jobs.kinds import ProbeRequest
    from cuf_tui.store.probes import placed_ratings

    workspace = workspace_of(args)
    if args.report:
        with workspace.open_store() as store:
            judge = _judge_named(args.judge, workspace.config, store)
    else:
        judge = workspace.config.judge_named(args.judge).name  # it is asked: configured
    status = 0
    if not args.report:
        status = run_batch(args, ProbeRequest(judge, args.sample, args.retry_failed))
        if args.dry_run or args.detach:
            return status
    with workspace.open_store() as store:
        placed = placed_ratings(store, judge)
    report = position_report(placed, judge, args.resamples, _seed(workspace))
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
    else:
        render_position(console(), report)
    return status


def render_position(out: Console, report: PositionReport) -> None:
    from rich.table import Table

    out.print(
        f"Position probe of {report.judge}: {report.instructions} instructions, "
        f"{report.probe_judgments} probe judgments"
    )
    if report.instructions:
        table = Table(box=None, pad_edge=False)
        for header in ("position", "responses", "mean change", "95% interval", "changed"):
            table.add_column(header, justify="right")
        for e in report.effects:
            table.add_row(
                str(e.position),
                str(e.responses),
                f"{e.mean_change:+.2f}",
                interval_text(e.interval),
                f"{e.share_changed:.0%}",
            )
        out.print(table)
        out.print(
            "mean change: the rating a response gets in this position minus its mean rating "
            "in the others; changed: of the responses first shown elsewhere, the share rated "
            "differently here"
        )
        out.print(
            f"Responses not rated alike in every position: {report.share_responses_changed:.0%}; "
            f"instructions whose best response changed with the order: "
            f"{report.share_best_changed:.0%}"
        )
    out.print(report.verdict)


# ------------------------------------------------------------------------------ length


def _length(args: argparse.Namespace) -> int:
    from cuf_tui.analysis.bias import length_correlations
    from cuf_tui.analysis.trust import pooled_texts
    from cuf_tui.errors import CufError
    from cuf_tui.store.ratings import rated_texts, rating_judges

    workspace = workspace_of(args)
    with workspace.open_store() as store:
        known = rating_judges(store)
        unknown = [name for name in args.judge or () if name not in known]
        if unknown:
            raise CufError(
                f"--judge {', '.join(map(repr, unknown))}: no ratings by a judge of that name "
                f"(judges with ratings: {', '.join(known) or 'none'})"
            )
        rated = pooled_texts(rated_texts(store, args.judge))
    correlations = length_correlations(rated, args.resamples, _seed(workspace))
    if args.json:
        from dataclasses import asdict

        print(json.dumps([asdict(c) for c in correlations], indent=2))
        return 0
    out = console()
    if not correlations:
        out.print("No ratings yet: judge some instructions, or review them, first.")
        return 0
    render_length(out, correlations)
    return 0


def render_length(out: Console, correlations: list[LengthCorrelation]) -> None:
    from rich.table import Table

    from cuf_tui.analysis.bias import MIN_RESPONSES

    table = Table(box=None, pad_edge=False)
    for header in (
        "rater",
        "preference",
        "n",
        "rho chars",
        "95% interval",
        "rho code lines",
        "95% interval",
    ):
        table.add_column(header, justify="left" if header in ("rater", "preference") else "right")
    for c in correlations:
        name = c.rater if c.kind == "judge" else f"{c.rater} (reviewer)"
        if c.rho_chars is None and c.rho_code_lines is None:
            why = "too few" if c.responses < MIN_RESPONSES else "undefined"
            table.add_row(name, c.preference, str(c.responses), why, "", "", "")
            continue
        table.add_row(
            name,
            c.preference,
            str(c.responses),
            _rho(c.rho_chars),
            interval_text(c.interval_chars),
            _rho(c.rho_code_lines),
            interval_text(c.interval_code_lines),
        )
    out.print(table)
    out.print(
        "rho: Spearman's rank correlation of the rating with the length (1: longer is always "
        "rated higher; 0: no relation); undefined where every rating (or length) is the same."
    )
    from cuf_tui.analysis.bias import length_findings

    for line in length_findings(correlations):
        out.print(line)


def _rho(value: float | None) -> str:
    return "-" if value is None else f"{value:+.2f}"


# -------------------------------------------------------------------------- self


def _self(args: argparse.Namespace) -> int:
    from cuf_tui.analysis.trust import self_preference_of
    from cuf_tui.store.ratings import rater_ratings

    workspace = workspace_of(args)
    config = workspace.config
    with workspace.open_store() as store:
        judge = _judge_named(args.judge, config, store)
        ratings = rater_ratings(store)
    report = self_preference_of(
        ratings, config, judge, args.against, args.resamples, _seed(workspace)
    )
    if args.json:
        print(json.dumps(report.as_json(), indent=2))
        return 0
    out = console()
    family = report.family or "unknown"
    out.print(
        f"Self-preference of {judge} (family {family}) beside {report.against}: "
        f"{report.own} responses of its family ({', '.join(report.own_models) or 'none'}), "
        f"{report.others} others"
    )
    if report.own_gap is not None and report.other_gap is not None:
        out.print(
            f"  {judge} minus {report.against}: {_gap(report.own_gap)} on its family's "
            f"answers, {_gap(report.other_gap)} on the others'"
        )
    out.print(report.verdict)
    return 0


def _gap(value: float) -> str:
    return f"{value:+.2f}"
