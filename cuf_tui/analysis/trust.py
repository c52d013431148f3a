"""How far the judges can be trusted, all in one reading for the Judge pane: agreement between
every pair of raters, the largest disagreements, the judge on show's position probe and its
ratings by response length beside the reviewers', and warnings in words."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Final

from cuf_tui.analysis.agreement import Agreement, Disagreement, disagreements, rater_agreement
from cuf_tui.analysis.bias import (
    PositionReport,
    SelfPreference,
    length_correlations,
    length_findings,
    position_report,
    self_preference,
)
from cuf_tui.config import Config
from cuf_tui.core.families import same_family
from cuf_tui.core.records import median_rating
from cuf_tui.errors import CufError
from cuf_tui.store.db import Store
from cuf_tui.store.probes import placed_ratings
from cuf_tui.store.ratings import Rater, RaterRating, rated_texts, rater_ratings

LENGTH_BINS: Final = 5  # the length plot's bins, by quantile of the judge's rated responses
PANE_RESAMPLES: Final = 200  # the pane's intervals (the CLI's --resamples goes further)
POOR_KAPPA: Final = 0.4  # a judge agreeing with a reviewer less than this is said to
DISAGREEMENTS_LISTED: Final = 200


@dataclass(frozen=True)
class LengthPlot:
    """Mean rating per length bin, for the judge on show and for the reviewers."""

    bins: list[str]  # "<812", "812-1.4k", ...
    series: dict[str, list[float | None]]  # rater label -> mean rating per bin


@dataclass(frozen=True)
class JudgeTrust:
    judge: str | None  # the judge on show
    agreement: Agreement | None  # None: no ratings at all
    disagreements: list[Disagreement]
    position: PositionReport | None  # None: the judge on show was never probed
    length: LengthPlot | None
    warnings: list[str] = field(default_factory=list)


def judge_trust(
    store: Store,
    config: Config,
    judge: str | None,
    seed: int,
    resamples: int = PANE_RESAMPLES,
    agreement: Agreement | None = None,
) -> JudgeTrust:
    """Everything the Judge tab shows; with ``resamples`` 0, without intervals (fast). The
    agreement of the whole (it does not depend on the judge on show) may be given, measured
    before on the same ratings."""
    ratings, _ = pooled_reviewers(rater_ratings(store))
    if agreement is None and ratings:
        agreement = rater_agreement(ratings, resamples=resamples, seed=seed, by_preference=False)
    listed = disagreements(ratings, DISAGREEMENTS_LISTED) if ratings else []
    position = None
    if judge is not None:
        placed = placed_ratings(store, judge)
        if placed:
            position = position_report(placed, judge, resamples, seed)
    rated = pooled_texts(rated_texts(store))
    length = length_plot(rated, judge) if judge is not None else None
    warnings = self_preference_warnings(store, config, ratings, resamples, seed)
    if position is not None and position.favoured:
        warnings.append(position.verdict)
    elif position is None and judge is not None:
        warnings.append(
            f"No position probe of {judge} yet: `cuf-tui probe position --judge {judge}` "
            "re-judges a sample in rotated orders"
        )
    ours = [r for r in rated if r[1] == "reviewer" or r[0] == judge]
    warnings += length_findings(length_correlations(ours, resamples=resamples, seed=seed))
    if agreement is not None:
        warnings += agreement_warnings(agreement, judge)
    return JudgeTrust(judge, agreement, listed, position, length, warnings)


def self_preference_warnings(
    store: Store, config: Config, ratings: Sequence[RaterRating], resamples: int, seed: int
) -> list[str]:
    """For each configured judge whose own family wrote answers in the store: what the
    self-preference probe finds (no requests needed), or that it has not rated them yet."""
    models = [
        row[0]
        for row in store.db.execute(
            "SELECT DISTINCT model FROM responses WHERE state = 'done' ORDER BY 1"
        )
    ]
    out = []
    for entry in config.judges:
        family = entry.model_family
        own = [m for m in models if same_family(config.family_of(m), family)]
        if not own:
            continue
        said = f"{entry.name} ({family}) judges answers of its own family ({', '.join(own)})"
        if not resamples:  # the figures before their intervals: nothing to say yet
            out.append(f"{said}; measuring whether it favours them")
            continue
        try:
            found = self_preference_of(ratings, config, entry.name, None, resamples, seed)
        except ProbeError:
            out.append(f"{said}; it has rated none of them yet")
            continue
        out.append(found.verdict if found.named else f"{said}: {found.verdict}")
    return out


def agreement_warnings(agreement: Agreement, judge: str | None) -> list[str]:
    reviewers = [r for r in agreement.raters if r.kind == "reviewer"]
    if not reviewers:
        return [
            "No reviewer has rated yet, so no one knows how well the judges agree with people: "
            "rate responses with 1-5 in the queue, or `cuf-tui import FILE --format reviews`"
        ]
    out = []
    for pair in agreement.overall.pairs:
        kinds = {pair.first.kind, pair.second.kind}
        names = {pair.first.name, pair.second.name}
        if kinds != {"judge", "reviewer"} or (judge is not None and judge not in names):
            continue
        if pair.kappa is not None and pair.kappa.high is not None and pair.kappa.high < POOR_KAPPA:
            out.append(
                f"{pair.first.label} and {pair.second.label} agree poorly: weighted kappa "
                f"{pair.kappa.value:.2f} (at most {pair.kappa.high:.2f}) over {pair.shared} "
                "responses"
            )
    return out


def length_plot(rated: Sequence[tuple[str, str, str, int, str]], judge: str) -> LengthPlot | None:
    """Mean rating by length bin: bins cut at quantiles of the judge's rated responses."""
    judged = sorted(
        len(text) for rater, kind, _, _, text in rated if kind == "judge" and rater == judge
    )
    if len(judged) < LENGTH_BINS * 2:
        return None
    # Cut at quantiles, never at the shortest length (a first bin nothing is under).
    edges = sorted({judged[len(judged) * k // LENGTH_BINS] for k in range(1, LENGTH_BINS)})
    edges = [edge for edge in edges if edge > judged[0]]
    if not edges:
        return None  # every response of one length
    labels = _bin_labels(edges)
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0] * len(labels))
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * len(labels))
    for rater, kind, _, rating, text in rated:
        if kind == "judge" and rater != judge:
            continue
        label = judge if kind == "judge" else "reviewers"
        at = sum(1 for edge in edges if len(text) >= edge)
        sums[label][at] += rating
        counts[label][at] += 1
    series = {
        label: [s / c if c else None for s, c in zip(sums[label], counts[label], strict=True)]
        for label in sums
    }
    return LengthPlot(labels, series)


def _short(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def _bin_labels(edges: list[int]) -> list[str]:
    labels = [f"<{_short(edges[0])}"]
    labels += [f"{_short(a)}-{_short(b)}" for a, b in zip(edges, edges[1:], strict=False)]
    labels.append(f"{_short(edges[-1])}+")
    return labels


class ProbeError(CufError):
    """A probe that cannot be made as asked."""


REVIEWERS: Final = "reviewers"
MIN_SHARED_WITH_PEOPLE: Final = 20  # below this, another judge is the default comparison


def self_preference_of(
    ratings: Sequence[RaterRating],
    config: Config,
    judge: str,
    against: str | None,
    resamples: int,
    seed: int,
) -> SelfPreference:
    """``judge``'s self-preference beside ``against``: "reviewers" (their mean rating of each
    response), a reviewer or another judge by name, or None: the reviewers where they share
    MIN_SHARED_WITH_PEOPLE responses with the judge, else the judge that shares the most."""
    by_rater: dict[Rater, dict[tuple[int, str], float]] = defaultdict(dict)
    for r in ratings:
        by_rater[r.rater][(r.instruction_id, r.model)] = r.rating
    mine = by_rater.get(Rater("judge", judge), {})
    if not mine:
        raise ProbeError(
            f"{judge} has no readable rating yet (`cuf-tui judge --judge {judge}` makes them; "
            "answers it gave that could not be read wait under the queue's unparsed filter)"
        )
    people: dict[tuple[int, str], list[float]] = defaultdict(list)
    for rater, rated in by_rater.items():
        if rater.kind == "reviewer":
            for key, value in rated.items():
                people[key].append(value)
    judges = {r.name: v for r, v in by_rater.items() if r.kind == "judge" and r.name != judge}
    reviewers = {r.name: v for r, v in by_rater.items() if r.kind == "reviewer"}
    if against is None:
        shared = sum(1 for key in mine if key in people)
        best = max(judges, key=lambda n: sum(1 for k in mine if k in judges[n]), default=None)
        against = REVIEWERS if shared >= MIN_SHARED_WITH_PEOPLE or best is None else best
    if against == REVIEWERS:
        other = {key: sum(values) / len(values) for key, values in people.items()}
    elif against in judges:
        other = judges[against]
    elif against in reviewers:
        other, against = reviewers[against], f"{against} (reviewer)"
    else:
        raise ProbeError(
            f"--against {against!r}: no ratings by a judge or reviewer of that name (judges: "
            f"{', '.join(sorted(judges)) or 'none'}; reviewers: "
            f"{', '.join(sorted(reviewers)) or 'none'}; or say {REVIEWERS})"
        )
    family = config.family_of(judge)
    pairs = [
        (model, same_family(config.family_of(model), family), rating, other[(i, model)])
        for (i, model), rating in mine.items()
        if (i, model) in other
    ]
    report = self_preference(judge, family, against, pairs, resamples, seed)
    if family is None:
        known = [f"{e.name} ({e.model_family})" for e in config.judges if e.model_family]
        if known:
            report = replace(
                report, verdict=report.verdict + f"; judges with a family: {', '.join(known)}"
            )
    return report


MOST_NAMED_REVIEWERS: Final = 12  # more than this, and the reviewers are one rater


def pooled_reviewers(
    ratings: Sequence[RaterRating], most: int = MOST_NAMED_REVIEWERS
) -> tuple[list[RaterRating], int]:
    """The ratings with every reviewer kept apart, or, when there are more than ``most``
    (a crowd, each rating a few responses: thousands of pairs, each too small to say
    anything), with the reviewers as one rater "reviewers", whose rating of a response is
    theirs combined (the median, a half up). Returns the ratings and how many reviewers."""
    people = {r.rater for r in ratings if r.rater.kind == "reviewer"}
    if len(people) <= most:
        return list(ratings), len(people)
    pooled = Rater("reviewer", f"all {len(people)}")
    given: dict[tuple[int, str], list[int]] = defaultdict(list)
    preference: dict[tuple[int, str], str] = {}
    kept = []
    for r in ratings:
        if r.rater.kind == "reviewer":
            given[(r.instruction_id, r.model)].append(r.rating)
            preference[(r.instruction_id, r.model)] = r.preference
        else:
            kept.append(r)
    for (instruction_id, model), values in given.items():
        median = median_rating(values)
        assert median is not None  # every response here has a rating
        kept.append(
            RaterRating(instruction_id, model, preference[(instruction_id, model)], pooled, median)
        )
    return kept, len(people)


def pooled_texts(
    rated: Sequence[tuple[str, str, str, int, str]], most: int = MOST_NAMED_REVIEWERS
) -> list[tuple[str, str, str, int, str]]:
    """``rated_texts`` with more than ``most`` reviewers taken as one, "all N", each rating
    kept (a length correlation needs no one rating per response)."""
    people = {rater for rater, kind, *_ in rated if kind == "reviewer"}
    if len(people) <= most:
        return list(rated)
    pooled = f"all {len(people)}"
    return [
        (pooled if kind == "reviewer" else rater, kind, preference, rating, text)
        for rater, kind, preference, rating, text in rated
    ]
