"""How far raters agree, judges and reviewers alike: every pair over the responses both rated
(exact and within-one agreement, quadratic-weighted Cohen's kappa, Spearman's rho, each with
a 95% percentile bootstrap interval), Krippendorff's alpha over all of them, overall and per
preference; and the responses they disagree on most.

Every statistic comes from its library (scikit-learn, SciPy, krippendorff), imported only
when something is computed, so importing this module stays cheap.

What it costs (one core): a pair's bootstrap in one group makes `resamples` kappa calls at
about 0.7 ms each, whatever the number of responses (scikit-learn's input checks, even with
parameter validation skipped; the resamples are drawn as cell counts, below), and as many rho
calls at 0.1 ms plus about 0.05 ms per thousand shared responses. 4 raters (6 pairs) x 6
groups x 200 resamples: about 8 s for 1,000 or 10,000 responses, two thirds of it in kappa;
about 15 s for 400,000 (rho grows with the count). Fewer resamples cost proportionally less.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any

from cuf_tui.core.preferences import PREFERENCES
from cuf_tui.store.ratings import Rater, RaterRating

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

MIN_SHARED = 10  # fewer shared responses than this and a pair (or group) gets no figures
RESAMPLES = 200
CONFIDENCE = 0.95
LEVELS = [1, 2, 3, 4, 5]  # the rating scale, so kappa and alpha know every level
MIN_GAP = 2  # a disagreement: ratings of one response this far apart or more


def too_few_note(shared: int) -> str:
    return f"too few shared responses ({shared})"


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float | None  # the 95% percentile bootstrap interval; None: no resample defined it
    high: float | None

    def as_json(self) -> dict[str, float | None]:
        return {"value": self.value, "low": self.low, "high": self.high}


@dataclass(frozen=True)
class PairAgreement:
    """Two raters over the responses both rated. Every figure is None when they share too
    few; rho is also None where it is undefined (one of them gave a single rating
    throughout), kappa where both did."""

    first: Rater
    second: Rater
    shared: int
    too_few: bool
    exact: Estimate | None = None  # the share of equal ratings
    within_one: Estimate | None = None  # the share at most one point apart
    kappa: Estimate | None = None  # quadratic-weighted Cohen's kappa
    rho: Estimate | None = None  # Spearman's rho
    # Who gave every shared response one rating, in words: kappa then says nothing of them
    # (0 or undefined) and rho is undefined.
    constant: str | None = None

    @property
    def note(self) -> str | None:
        return too_few_note(self.shared) if self.too_few else self.constant

    def as_json(self) -> dict[str, Any]:
        return {
            "first": self.first.as_json(),
            "second": self.second.as_json(),
            "shared": self.shared,
            "too_few": self.too_few,
            "note": self.note,
            **{
                name: None if estimate is None else estimate.as_json()
                for name, estimate in (
                    ("exact", self.exact),
                    ("within_one", self.within_one),
                    ("kappa", self.kappa),
                    ("rho", self.rho),
                )
            },
        }


@dataclass(frozen=True)
class GroupAgreement:
    """Every pair of raters, and Krippendorff's alpha over all of them, within one group of
    responses: every preference (``preference`` None) or one."""

    preference: str | None
    rated: int  # responses with a rating
    pairable: int  # responses with two ratings or more: what alpha is computed over
    too_few: bool  # pairable < MIN_SHARED: no alpha
    alpha: float | None  # ordinal; None also where undefined (every rating the same)
    pairs: tuple[PairAgreement, ...]

    @property
    def note(self) -> str | None:
        return too_few_note(self.pairable) if self.too_few else None

    def pair(self, first: Rater, second: Rater) -> PairAgreement | None:
        return next(
            (p for p in self.pairs if {p.first, p.second} == {first, second}),
            None,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "preference": self.preference,
            "rated": self.rated,
            "pairable": self.pairable,
            "too_few": self.too_few,
            "note": self.note,
            "alpha": self.alpha,
            "pairs": [p.as_json() for p in self.pairs],
        }


@dataclass(frozen=True)
class Agreement:
    raters: tuple[Rater, ...]  # judges by name, then reviewers by name
    ratings: tuple[int, ...]  # how many responses each rater rated
    overall: GroupAgreement
    by_preference: dict[str, GroupAgreement]  # the preferences with ratings, in their order
    resamples: int
    seed: int

    def as_json(self) -> dict[str, Any]:
        return {
            "raters": [
                {**rater.as_json(), "ratings": count}
                for rater, count in zip(self.raters, self.ratings, strict=True)
            ],
            "min_shared": MIN_SHARED,
            "confidence": CONFIDENCE,
            "resamples": self.resamples,
            "seed": self.seed,
            "overall": self.overall.as_json(),
            "preferences": {p: g.as_json() for p, g in self.by_preference.items()},
        }


@dataclass(frozen=True)
class Disagreement:
    """One response that two raters rated far apart: the highest and lowest ratings it got."""

    instruction_id: int
    model: str
    preference: str
    first: Rater
    first_rating: int
    second: Rater
    second_rating: int

    @property
    def gap(self) -> int:
        return abs(self.first_rating - self.second_rating)

    def as_json(self) -> dict[str, Any]:
        return {
            "instruction_id": self.instruction_id,
            "model": self.model,
            "preference": self.preference,
            "first": self.first.as_json(),
            "first_rating": self.first_rating,
            "second": self.second.as_json(),
            "second_rating": self.second_rating,
            "gap": self.gap,
        }


@dataclass(frozen=True)
class _Table:
    """The ratings as a raters x responses matrix (NaN: not rated)."""

    raters: tuple[Rater, ...]
    keys: list[tuple[int, str]]  # (instruction id, model) of each column
    preferences: npt.NDArray[Any]  # of each column
    matrix: npt.NDArray[np.float64]


def _table(ratings: Sequence[RaterRating]) -> _Table:
    import numpy as np

    raters = tuple(sorted({r.rater for r in ratings}, key=lambda r: (r.kind != "judge", r.name)))
    row_of = {rater: i for i, rater in enumerate(raters)}
    # Ratings read from the store share their Rater objects: finding a row by the object's
    # identity saves hashing a dataclass per rating (a third of the time on 10^6 ratings).
    row_of_object: dict[int, int] = {}
    column_of: dict[tuple[int, str], int] = {}
    preferences: list[str] = []
    rows: list[int] = []
    columns: list[int] = []
    for r in ratings:
        row = row_of_object.get(id(r.rater))
        if row is None:
            row = row_of_object[id(r.rater)] = row_of[r.rater]
        column = column_of.setdefault((r.instruction_id, r.model), len(column_of))
        if column == len(preferences):
            preferences.append(r.preference)
        rows.append(row)
        columns.append(column)
    matrix = np.full((len(raters), len(column_of)), np.nan)
    matrix[rows, columns] = np.fromiter((r.rating for r in ratings), float, len(ratings))
    return _Table(raters, list(column_of), np.array(preferences, dtype=object), matrix)


def rater_agreement(
    ratings: Sequence[RaterRating],
    *,
    resamples: int = RESAMPLES,
    seed: int = 0,
    by_preference: bool = True,
) -> Agreement:
    """Every pair of raters and alpha over all of them, overall and (unless told not to)
    per preference. Intervals are seeded per (seed, group, pair): a pair's figures do not
    change when raters are added or left out."""
    import numpy as np

    table = _table(ratings)
    counted = ~np.isnan(table.matrix)
    with _quiet_libraries():
        overall = _group(None, table.raters, table.matrix, resamples, seed)
        groups: dict[str, GroupAgreement] = {}
        for preference in PREFERENCES if by_preference else ():
            columns = table.preferences == preference
            if columns.any():
                groups[preference] = _group(
                    preference, table.raters, table.matrix[:, columns], resamples, seed
                )
    return Agreement(
        table.raters,
        tuple(int(n) for n in counted.sum(axis=1)),
        overall,
        groups,
        resamples,
        seed,
    )


@contextmanager
def _quiet_libraries() -> Iterator[None]:
    """The libraries warn of every undefined statistic (a constant rater), which we report
    as None; and scikit-learn's input checks cost more than kappa itself on 25 cells."""
    import sklearn

    with (
        warnings.catch_warnings(),
        sklearn.config_context(assume_finite=True, skip_parameter_validation=True),
    ):
        warnings.simplefilter("ignore")
        yield


def _group(
    preference: str | None,
    raters: tuple[Rater, ...],
    matrix: npt.NDArray[np.float64],
    resamples: int,
    seed: int,
) -> GroupAgreement:
    import numpy as np

    counted = ~np.isnan(matrix)
    per_response = counted.sum(axis=0)
    pairable = int((per_response >= 2).sum())
    too_few = pairable < MIN_SHARED
    alpha = None if too_few else _alpha(matrix[:, per_response >= 2])
    pairs = []
    for i, j in combinations(range(len(raters)), 2):
        both = counted[i] & counted[j]
        rng = _rng(seed, preference, raters[i], raters[j])
        first, second = matrix[i, both].astype(int), matrix[j, both].astype(int)
        pairs.append(_pair(raters[i], raters[j], first, second, resamples, rng))
    return GroupAgreement(
        preference, int((per_response >= 1).sum()), pairable, too_few, alpha, tuple(pairs)
    )


def _rng(seed: int, preference: str | None, first: Rater, second: Rater) -> np.random.Generator:
    import numpy as np

    words = f"{seed}\0{preference}\0{first.kind}:{first.name}\0{second.kind}:{second.name}"
    return np.random.default_rng(int.from_bytes(hashlib.sha256(words.encode()).digest()[:8]))


def _pair(
    first_rater: Rater,
    second_rater: Rater,
    first: npt.NDArray[np.int_],
    second: npt.NDArray[np.int_],
    resamples: int,
    rng: np.random.Generator,
) -> PairAgreement:
    import numpy as np

    shared = len(first)
    if shared < MIN_SHARED:
        return PairAgreement(first_rater, second_rater, shared, too_few=True)
    # Every statistic here depends only on how many responses fall in each (first, second)
    # cell of the 5x5 table. Drawing the shared responses with replacement is drawing those
    # counts from a multinomial over the cells, so that is how the resamples are made: kappa
    # then costs the same on 100 or 100,000 shared responses.
    cells, counts = np.unique(np.stack([first, second]), axis=1, return_counts=True)
    cells = cells.astype(np.int8)  # rho ranks small integers twice as fast
    draws = rng.multinomial(shared, counts / shared, size=resamples)
    gaps = np.abs(cells[0] - cells[1])
    same = [
        f"{rater.label} rated every one {int(ratings[0])}"
        for rater, ratings in ((first_rater, first), (second_rater, second))
        if (ratings == ratings[0]).all()
    ]
    # A rater of one rating throughout makes kappa 0 by construction, whatever the other
    # says (99% exact agreement included): it is said to be undefined, as rho is.
    kappa = None if same else _kappa(first, second)
    rho = _rho(first, second)
    return PairAgreement(
        first_rater,
        second_rater,
        shared,
        too_few=False,
        exact=_estimate(float(np.mean(first == second)), draws[:, gaps == 0].sum(1) / shared),
        within_one=_estimate(
            float(np.mean(np.abs(first - second) <= 1)), draws[:, gaps <= 1].sum(1) / shared
        ),
        kappa=None
        if kappa is None
        else _estimate(kappa, [_kappa(cells[0], cells[1], draw) for draw in draws]),
        rho=None
        if rho is None
        else _estimate(
            rho, [_rho(np.repeat(cells[0], draw), np.repeat(cells[1], draw)) for draw in draws]
        ),
        constant=f"{' and '.join(same)}: kappa and rho are undefined here" if same else None,
    )


def _kappa(
    first: npt.NDArray[np.int_],
    second: npt.NDArray[np.int_],
    weights: npt.NDArray[np.int_] | None = None,
) -> float | None:
    from sklearn.metrics import cohen_kappa_score

    value = float(
        cohen_kappa_score(first, second, weights="quadratic", labels=LEVELS, sample_weight=weights)
    )
    return None if math.isnan(value) else value


def _rho(first: npt.NDArray[np.int_], second: npt.NDArray[np.int_]) -> float | None:
    from scipy.stats import spearmanr

    value = float(spearmanr(first, second).statistic)
    return None if math.isnan(value) else value


def _alpha(matrix: npt.NDArray[np.float64]) -> float | None:
    import krippendorff

    value = float(krippendorff.alpha(matrix, level_of_measurement="ordinal", value_domain=LEVELS))
    return None if math.isnan(value) else value


def _estimate(value: float, samples: Sequence[float | None] | npt.NDArray[Any]) -> Estimate:
    """``value`` with the percentile interval of its resamples; a resample where the
    statistic is undefined is left out."""
    import numpy as np

    defined = [float(s) for s in samples if s is not None and not math.isnan(s)]
    if not defined:
        return Estimate(value, None, None)
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(defined, [tail, 100 - tail])
    return Estimate(value, float(low), float(high))


def disagreements(
    ratings: Sequence[RaterRating], limit: int | None = 100, min_gap: int = MIN_GAP
) -> list[Disagreement]:
    """The responses whose highest and lowest ratings are ``min_gap`` or more apart, the
    widest first (then by instruction and model), at most ``limit``; each names the two
    raters (the first of each rating, judges before reviewers) and what they gave."""
    import numpy as np

    if not ratings:
        return []
    table = _table(ratings)
    matrix = table.matrix
    several = np.flatnonzero((~np.isnan(matrix)).sum(axis=0) >= 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # nanmax of an all-NaN column never happens here
        gaps = np.nanmax(matrix[:, several], axis=0) - np.nanmin(matrix[:, several], axis=0)
    wide = several[gaps >= min_gap]
    gap = gaps[gaps >= min_gap]
    # Order them all in numpy, and make objects only of those listed.
    instruction_ids = np.fromiter((table.keys[c][0] for c in wide), np.int64, len(wide))
    models = [table.keys[c][1] for c in wide]
    model_rank = np.unique(np.array(models, dtype=object), return_inverse=True)[1]
    order = np.lexsort((model_rank, instruction_ids, -gap))
    if limit is not None:
        order = order[:limit]
    found = []
    for column in wide[order]:
        given = matrix[:, column]
        i, j = sorted((int(np.nanargmax(given)), int(np.nanargmin(given))))
        instruction_id, model = table.keys[column]
        found.append(
            Disagreement(
                instruction_id,
                model,
                str(table.preferences[column]),
                table.raters[i],
                int(given[i]),
                table.raters[j],
                int(given[j]),
            )
        )
    return found
