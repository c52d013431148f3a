"""A judge's biases, measured: the position it shows a response in, the response's length,
and the family of the model that wrote it.

- Position: each probed response was rated once in every position (its first judgment and
  the probe's rotations). A position's effect is the mean, over responses, of the rating
  given there minus the mean of the ratings the same response got elsewhere: a judge that
  adds a point to whatever it sees first has an effect of +1 at position 1.
- Length: Spearman's rho between rating and length (characters, and lines of code in fenced
  blocks), per rater, for judges and reviewers alike.
- Self-preference: how much more the judge rates its own family's answers than another
  rater does, beyond how much more it rates everyone else's.

Intervals are 95% percentile bootstraps over instructions (position) or responses, seeded.
A bias is named when its interval leaves out zero and it is at least NOTABLE points."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Final

from cuf_tui.store.probes import PlacedRating

NOTABLE: Final = 0.25  # rating points: a smaller effect is not named, however sure
DEFAULT_RESAMPLES: Final = 500
BOOTSTRAP_CAP: Final = 5_000  # groups resampled at most (see bootstrap_interval)
_FENCE = re.compile(r"```[^\n]*\n(.*?)```", re.DOTALL)

Interval = tuple[float, float]


def bootstrap_interval(
    groups: Sequence[Any],
    statistic: Callable[[Sequence[Any]], float | None],
    resamples: int,
    seed: int,
) -> Interval | None:
    """The 95% percentile interval of ``statistic`` over resamples of ``groups`` (drawn with
    replacement); resamples where it is undefined are skipped. None: too few to say, or no
    resamples asked for. Over more than BOOTSTRAP_CAP groups the resamples are drawn from a
    seeded sample of that many: the interval is then wider than the whole would give, never
    narrower, and a statistic over 100,000 responses does not cost minutes."""
    import numpy as np

    if len(groups) < 2 or resamples < 1:
        return None
    rng = np.random.default_rng(seed)
    if len(groups) > BOOTSTRAP_CAP:
        kept = rng.choice(len(groups), BOOTSTRAP_CAP, replace=False)
        groups = [groups[i] for i in kept]
    values = []
    for _ in range(resamples):
        picked = rng.integers(0, len(groups), len(groups))
        value = statistic([groups[i] for i in picked])
        if value is not None and value == value:  # not None, not nan
            values.append(value)
    if len(values) < resamples // 2:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def _excludes_zero(interval: Interval | None) -> bool:
    return interval is not None and (interval[0] > 0 or interval[1] < 0)


# --------------------------------------------------------------------------- position


@dataclass(frozen=True)
class PositionEffect:
    position: int  # 1-based
    responses: int  # responses rated in this position and elsewhere
    mean_change: float  # rating here minus the same response's mean rating elsewhere
    interval: Interval | None
    share_changed: float  # of those first shown elsewhere: rated differently here


@dataclass(frozen=True)
class PositionReport:
    judge: str
    instructions: int  # probed: rated in their first order and at least one rotation
    probe_judgments: int
    effects: list[PositionEffect]
    share_responses_changed: float  # responses not rated the same in every position
    share_best_changed: float  # instructions whose top-rated response changed in a rotation
    verdict: str
    favoured: list[int] = field(default_factory=list)  # positions named, + or -

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def position_report(
    placed: Sequence[PlacedRating],
    judge: str,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> PositionReport:
    """What the probe shows of ``judge``'s position bias (see the module's words)."""
    # instruction -> rotation -> model -> (position, rating)
    by_instruction: dict[int, dict[int, dict[str, tuple[int, int]]]] = defaultdict(dict)
    for p in placed:
        by_instruction[p.instruction_id].setdefault(p.rotation, {})[p.model] = (
            p.position,
            p.rating,
        )
    probed = {
        i: rotations
        for i, rotations in by_instruction.items()
        if 0 in rotations and len(rotations) > 1
    }
    groups = [_instruction_evidence(rotations) for _, rotations in sorted(probed.items())]
    positions = sorted({pos for g in groups for r in g.responses for pos in r})
    effects = []
    for position in positions:

        def effect(chosen: Sequence[_Evidence], position: int = position) -> float | None:
            changes = [c for g in chosen for c in g.changes_at(position)]
            return sum(changes) / len(changes) if changes else None

        changes = [c for g in groups for c in g.changes_at(position)]
        moved = [m for g in groups for m in g.moved_to(position)]
        effects.append(
            PositionEffect(
                position,
                len(changes),
                effect(groups) or 0.0,
                bootstrap_interval(groups, effect, resamples, seed + position),
                sum(moved) / len(moved) if moved else 0.0,
            )
        )
    responses = [r for g in groups for r in g.responses]
    varied = [len(set(r.values())) > 1 for r in responses]
    best_changed = [g.best_changed for g in groups]
    # A point more in one position shows as a third of a point less in each of three others
    # (a whole point less in the other of two): only the positions whose effect has the sign
    # of the largest, is notable, sure, and at least half the largest are named, so that the
    # position that moves the ratings is named, not its mirror image.
    strongest = max(effects, key=lambda e: abs(e.mean_change), default=None)
    largest = abs(strongest.mean_change) if strongest else 0.0
    favoured = [
        e.position
        for e in effects
        if strongest is not None
        and (e.mean_change > 0) == (strongest.mean_change > 0)
        and _excludes_zero(e.interval)
        and abs(e.mean_change) >= max(NOTABLE, largest / 2)
    ]
    return PositionReport(
        judge,
        len(groups),
        sum(len(rotations) - 1 for rotations in probed.values()),
        effects,
        sum(varied) / len(varied) if varied else 0.0,
        sum(best_changed) / len(best_changed) if best_changed else 0.0,
        _position_verdict(judge, effects, favoured, len(groups)),
        favoured,
    )


@dataclass(frozen=True)
class _Evidence:
    """One probed instruction: each response's rating by position, and whether its best
    response changed under some rotation."""

    responses: list[dict[int, int]]  # per response: position -> rating
    first: list[int]  # per response: the position it was first shown in
    best_changed: bool

    def changes_at(self, position: int) -> list[float]:
        out = []
        for ratings in self.responses:
            if position in ratings and len(ratings) > 1:
                elsewhere = [r for p, r in ratings.items() if p != position]
                out.append(ratings[position] - sum(elsewhere) / len(elsewhere))
        return out

    def moved_to(self, position: int) -> list[bool]:
        return [
            ratings[position] != ratings[first]
            for ratings, first in zip(self.responses, self.first, strict=True)
            if position in ratings and first != position and first in ratings
        ]


def _instruction_evidence(rotations: dict[int, dict[str, tuple[int, int]]]) -> _Evidence:
    original = rotations[0]
    models = sorted(original)
    by_position = [
        {pos: r for pos, r in [rot[m] for rot in rotations.values() if m in rot]} for m in models
    ]
    best = {m for m in models if original[m][1] == max(r for _, r in original.values())}
    best_changed = False
    for rotation, rated in rotations.items():
        if rotation and rated:
            top = max(r for _, r in rated.values())
            if {m for m, (_, r) in rated.items() if r == top} != best:
                best_changed = True
    return _Evidence(by_position, [original[m][0] for m in models], best_changed)


def _position_verdict(
    judge: str, effects: list[PositionEffect], favoured: list[int], instructions: int
) -> str:
    if not instructions:
        return (
            f"no probe judgments of {judge}: a probe judges again instructions {judge} has a "
            f"readable judgment of (`cuf-tui probe position --judge {judge}`)"
        )
    if not favoured:
        largest = max(effects, key=lambda e: abs(e.mean_change), default=None)
        size = (
            f" (the largest effect, {largest.mean_change:+.2f} at position "
            f"{largest.position}, is within noise or under {NOTABLE})"
            if largest
            else ""
        )
        return f"{judge} shows no position bias over {instructions} instructions{size}"
    parts = []
    for e in effects:
        if e.position in favoured:
            word = "favours" if e.mean_change > 0 else "disfavours"
            low, high = e.interval or (e.mean_change, e.mean_change)
            parts.append(
                f"{word} position {e.position} by {e.mean_change:+.2f} [{low:+.2f}, {high:+.2f}]"
            )
    return f"{judge} is position-biased: it " + "; ".join(parts)


# --------------------------------------------------------------------------- length


def code_lines(text: str) -> int:
    """Non-blank lines inside fenced code blocks (```...```)."""
    return sum(1 for block in _FENCE.findall(text) for line in block.splitlines() if line.strip())


@dataclass(frozen=True)
class LengthCorrelation:
    rater: str
    kind: str  # judge or reviewer
    preference: str  # or "all"
    responses: int
    rho_chars: float | None
    interval_chars: Interval | None
    rho_code_lines: float | None
    interval_code_lines: Interval | None


def _spearman(x: Any, y: Any) -> float | None:
    """Spearman's rho (SciPy); None where it is undefined (too few, or a constant side:
    checked here rather than silenced, as warnings filters are not for threads)."""
    from scipy.stats import spearmanr

    if len(x) < 3 or (x == x[0]).all() or (y == y[0]).all():
        return None
    value = float(spearmanr(x, y).statistic)
    return None if value != value else value


MIN_RESPONSES: Final = 10  # fewer shared or rated responses carry no correlation


def length_correlations(
    rated: Sequence[tuple[str, str, str, int, str]],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> list[LengthCorrelation]:
    """``rated``: (rater, kind, preference, rating, response text). Per rater, overall
    ("all") then per preference: Spearman's rho of rating with characters and with lines of
    code; the overall ones with intervals (a rater's per-preference figures show where its
    length bias lies; the interval of the whole says whether it has one). Groups under
    MIN_RESPONSES give no numbers."""
    import numpy as np

    measured: dict[int, tuple[int, int]] = {}  # a response's text is one object, whoever rated
    groups: dict[tuple[str, str, str], list[tuple[int, int, int]]] = defaultdict(list)
    for rater, kind, preference, rating, text in rated:
        size = measured.get(id(text))
        if size is None:
            size = measured[id(text)] = (len(text), code_lines(text))
        row = (rating, *size)
        groups[(rater, kind, "all")].append(row)
        groups[(rater, kind, preference)].append(row)
    out = []
    for (rater, kind, preference), rows in sorted(
        groups.items(), key=lambda item: (item[0][1], item[0][0], item[0][2] != "all", item[0][2])
    ):
        if len(rows) < MIN_RESPONSES:
            out.append(
                LengthCorrelation(rater, kind, preference, len(rows), None, None, None, None)
            )
            continue
        data = np.array(rows, dtype=float)
        overall = preference == "all"
        out.append(
            LengthCorrelation(
                rater,
                kind,
                preference,
                len(rows),
                _spearman(data[:, 1], data[:, 0]),
                _rho_interval(data[:, 1], data[:, 0], resamples, seed) if overall else None,
                _spearman(data[:, 2], data[:, 0]),
                _rho_interval(data[:, 2], data[:, 0], resamples, seed + 1) if overall else None,
            )
        )
    return out


def _rho_interval(x: Any, y: Any, resamples: int, seed: int) -> Interval | None:
    """The 95% percentile bootstrap interval of Spearman's rho (pairs resampled; over more
    than BOOTSTRAP_CAP pairs, from a seeded sample of that many, as bootstrap_interval)."""
    import numpy as np

    if resamples < 1 or len(x) < 2:
        return None
    rng = np.random.default_rng(seed)
    if len(x) > BOOTSTRAP_CAP:
        kept = rng.choice(len(x), BOOTSTRAP_CAP, replace=False)
        x, y = x[kept], y[kept]
    values = []
    for _ in range(resamples):
        picked = rng.integers(0, len(x), len(x))
        value = _spearman(x[picked], y[picked])
        if value is not None:
            values.append(value)
    if len(values) < resamples // 2:
        return None
    low, high = np.percentile(values, [2.5, 97.5])
    return float(low), float(high)


def length_findings(correlations: list[LengthCorrelation]) -> list[str]:
    """Judges that reward length beyond what the reviewers do, in words."""
    overall = [c for c in correlations if c.preference == "all" and c.rho_chars is not None]
    people = [c for c in overall if c.kind == "reviewer"]
    human = sum(c.rho_chars or 0.0 for c in people) / len(people) if people else None
    lines = []
    for c in overall:
        if c.kind != "judge" or c.rho_chars is None:
            continue
        low = c.interval_chars[0] if c.interval_chars else c.rho_chars
        if human is not None:
            if c.rho_chars - human >= 0.2:
                lines.append(
                    f"{c.rater} rewards length more than the reviewers do: rho {c.rho_chars:+.2f}"
                    f" against {human:+.2f}"
                )
        elif low > 0.3:
            lines.append(
                f"{c.rater} rates longer answers higher (rho {c.rho_chars:+.2f}); no reviewer "
                "ratings to tell whether people do too"
            )
    return lines


# --------------------------------------------------------------------- self-preference


@dataclass(frozen=True)
class SelfPreference:
    judge: str
    family: str | None
    against: str  # the other rater (a judge, or "reviewers")
    own_models: list[str]
    own: int  # responses of the judge's family both rated
    others: int
    own_gap: float | None  # mean (judge - other rater) on its own family's answers
    other_gap: float | None  # the same on everyone else's
    preference: float | None  # own_gap - other_gap
    interval: Interval | None
    verdict: str
    named: bool = False  # the judge favours (or is harder on) its own family, surely

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def self_preference(
    judge: str,
    family: str | None,
    against: str,
    pairs: Sequence[tuple[str, bool, float, float]],
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> SelfPreference:
    """``pairs``: (model, of the judge's family, judge's rating, other rater's rating) for
    each response both rated."""
    own = [(m, a - b) for m, mine, a, b in pairs if mine]
    others = [(m, a - b) for m, mine, a, b in pairs if not mine]
    own_models = sorted({m for m, _ in own})

    def mean(values: Sequence[tuple[str, float]]) -> float | None:
        return sum(v for _, v in values) / len(values) if values else None

    def gap(chosen: Sequence[tuple[bool, str, float]]) -> float | None:
        a = [(m, d) for mine, m, d in chosen if mine]
        b = [(m, d) for mine, m, d in chosen if not mine]
        own_mean, other_mean = mean(a), mean(b)
        return None if own_mean is None or other_mean is None else own_mean - other_mean

    tagged = [(True, m, d) for m, d in own] + [(False, m, d) for m, d in others]
    size = gap(tagged)
    enough = len(own) >= MIN_RESPONSES and len(others) >= MIN_RESPONSES
    interval = bootstrap_interval(tagged, gap, resamples, seed) if enough else None
    named = False
    if family is None:
        verdict = (
            f"{judge}'s family is unknown: name it with `family = ...` in its [[judges]] entry"
        )
    elif not own:
        verdict = (
            f"no answer of {judge}'s family ({family}) was rated by both {judge} and {against}"
        )
    elif not enough:
        verdict = (
            f"too few responses rated by both {judge} and {against} ({len(own)} of its family, "
            f"{len(others)} others; {MIN_RESPONSES} of each are needed)"
        )
    elif named := (size is not None and _excludes_zero(interval) and abs(size) >= NOTABLE):
        low, high = interval or (size, size)
        word = "favours" if size > 0 else "is harder on"
        verdict = (
            f"{judge} {word} its own family ({family}) by {size:+.2f} points beside {against} "
            f"[{low:+.2f}, {high:+.2f}]"
        )
    else:
        verdict = f"{judge} shows no self-preference beside {against}" + (
            f" ({size:+.2f}, within noise or under {NOTABLE})" if size is not None else ""
        )
    return SelfPreference(
        judge,
        family,
        against,
        own_models,
        len(own),
        len(others),
        mean(own),
        mean(others),
        size,
        interval,
        verdict,
        named,
    )
