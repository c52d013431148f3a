"""`cuf-tui agreement`: how far the judges and the reviewers agree, as tables or JSON."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cuf_tui.cli.output import console, workspace_of

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from cuf_tui.analysis.agreement import Agreement, Estimate, GroupAgreement


def agreement(args: argparse.Namespace) -> int:
    from cuf_tui.analysis.agreement import rater_agreement
    from cuf_tui.analysis.trust import MOST_NAMED_REVIEWERS, pooled_reviewers
    from cuf_tui.errors import CufError
    from cuf_tui.store.ratings import rater_ratings, rating_judges

    workspace = workspace_of(args)
    seed = args.seed if args.seed is not None else workspace.config.workspace.seed
    with workspace.open_store() as store:
        known = rating_judges(store)
        unknown = [name for name in args.judge or () if name not in known]
        if unknown:
            there = f"judges with ratings: {', '.join(known)}" if known else "none has rated yet"
            raise CufError(
                f"--judge {', '.join(map(repr, unknown))}: no ratings by a judge of that name "
                f"in {workspace.root} ({there})"
            )
        ratings, reviewers = pooled_reviewers(rater_ratings(store, args.judge))
    result = rater_agreement(ratings, resamples=args.resamples, seed=seed)
    if reviewers > MOST_NAMED_REVIEWERS:
        console(stderr=True).print(
            f"note: {reviewers} reviewers, more than {MOST_NAMED_REVIEWERS}: measured as one "
            f"rater, 'all {reviewers} (reviewer)', their median rating of each response"
        )
    if args.json:
        import json

        print(json.dumps(result.as_json(), indent=2))
        return 0
    out = console()
    if not result.raters:
        out.print(
            f"No ratings in {workspace.root} yet: judge the responses (`cuf-tui judge`) or "
            "review them in the workbench."
        )
        return 0
    if len(result.raters) == 1:
        out.print(
            f"Only {result.raters[0].label} has rated responses in {workspace.root}: agreement "
            "needs two raters (another judge, or a reviewer in the workbench)."
        )
        return 0
    render_agreement(out, str(workspace.root), result)
    return 0


def render_agreement(out: Console, where: str, result: Agreement) -> None:
    from cuf_tui.analysis.agreement import MIN_SHARED

    raters = ", ".join(
        f"{rater.label} ({count})"
        for rater, count in zip(result.raters, result.ratings, strict=True)
    )
    out.print(where, style="bold")
    out.print(f"Raters (responses rated): {raters}")
    out.print(
        f"Intervals: 95% percentile bootstrap, {result.resamples} resamples, seed "
        f"{result.seed}; pairs sharing fewer than {MIN_SHARED} responses get no figures."
    )
    _render_group(out, "All preferences", result.overall)
    for preference, group in result.by_preference.items():
        _render_group(out, preference, group)


def _render_group(out: Console, title: str, group: GroupAgreement) -> None:
    out.print()
    out.print(_pairs_table(title, group))
    alpha = (
        group.note
        if group.too_few
        else "undefined (every rating the same)"
        if group.alpha is None
        else f"{group.alpha:.2f}"
    )
    out.print(
        f"Krippendorff's alpha (ordinal, over {group.pairable} responses rated twice or "
        f"more): {alpha}"
    )


def _pairs_table(title: str, group: GroupAgreement) -> Table:
    from rich.table import Table

    table = Table(
        title=title,
        title_justify="left",
        title_style="bold",
        box=None,
        pad_edge=False,
        header_style="underline",
    )
    # Fits 80 columns: the raters' names and a too-few note wrap; the figures never do.
    table.add_column("raters", ratio=1, min_width=12)
    for header in ("n", "exact", "within 1"):
        table.add_column(header, justify="right", no_wrap=True)
    table.add_column("kappa [95%]", min_width=18)
    table.add_column("rho [95%]", no_wrap=True, min_width=18)
    for pair in group.pairs:
        names = (f"{pair.first.label} vs {pair.second.label}", str(pair.shared))
        if pair.too_few:
            table.add_row(*names, "", "", pair.note, "")
            continue
        table.add_row(
            *names,
            _percent(pair.exact),
            _percent(pair.within_one),
            _interval(pair.kappa, "undefined"),
            _interval(pair.rho, "undefined"),
        )
        if pair.constant:
            table.add_row("", "", "", "", pair.constant, "")
    return table


def _percent(estimate: Estimate | None) -> str:
    return "" if estimate is None else f"{estimate.value:.0%}"


def _interval(estimate: Estimate | None, undefined: str) -> str:
    if estimate is None:
        return undefined
    if estimate.low is None or estimate.high is None:
        return f"{estimate.value:.2f}"
    return f"{estimate.value:.2f} [{estimate.low:.2f}, {estimate.high:.2f}]"
