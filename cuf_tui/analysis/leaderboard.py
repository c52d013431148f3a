"""CODAL-Bench scores as the paper computes them, per (model, answer protocol, judge,
reference): each grade is an integer 1-10 and a grade that could not be read counts 0; a
preference's score is the mean over all of its bench items; the overall score is the mean of
the preference scores. 95% intervals come from a percentile bootstrap over the items
(stratified by preference for the overall).

A run where some items have no grade yet (failed, or not graded) is incomplete: its score
counts them as 0 too, as the paper's scripts did with a request that failed, but it is shown
with its coverage (`480/500`) and ranked after the complete runs, never among them. The mean
over readable grades only is kept beside, as a secondary figure.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from cuf_tui.core.preferences import PREFERENCES

OVERALL = "average"
COLUMNS = (*PREFERENCES, OVERALL)
BOOTSTRAP_SAMPLES = 1000
CONFIDENCE = 0.95


class _Grade(Protocol):
    """What the leaderboard needs of a grade (store.grades.GradeRow has these fields)."""

    @property
    def model(self) -> str: ...
    @property
    def protocol(self) -> str: ...
    @property
    def grading(self) -> str: ...
    @property
    def judge(self) -> str: ...
    @property
    def reference_model(self) -> str: ...
    @property
    def item_id(self) -> int: ...
    @property
    def preference(self) -> str: ...
    @property
    def rating(self) -> int | None: ...


@dataclass(frozen=True)
class Score:
    score: float  # the paper's: unreadable and missing grades count 0
    ci_low: float
    ci_high: float
    mean_readable: float | None  # over readable grades only; None when there is none
    items: int  # bench items with a reference answer to grade against
    graded: int  # items with a grade, readable or not
    unparsed: int  # of which unreadable

    @property
    def complete(self) -> bool:
        return self.graded >= self.items

    @property
    def coverage(self) -> str:
        return f"{self.graded}/{self.items}"


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    protocol: str  # how the answers were made: 'paper', 'imported', or the settings
    grading: str  # the grading recipe's hash, 'imported' or 'unrecorded'
    judge: str
    reference_model: str
    scores: dict[str, Score]  # by preference (those the bench has), and OVERALL
    rank: int | None = field(default=None)  # within (judge, reference); None: incomplete
    label: str = ""  # the model, with what tells this row from the model's others

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.model, self.protocol, self.grading, self.judge, self.reference_model)

    @property
    def overall(self) -> Score:
        return self.scores[OVERALL]

    @property
    def complete(self) -> bool:
        return self.overall.complete


def leaderboard(
    grades: Iterable[_Grade], bench: Mapping[str, Mapping[str, Collection[int]]], seed: int = 0
) -> list[LeaderboardRow]:
    """One row per (model, answer protocol, grading recipe, judge, reference), ranked within
    each (judge, reference): complete runs by overall score (equal scores share a rank), then
    the incomplete ones. ``bench`` gives, per reference model, the bench items of each
    preference that can be graded against it (those with its reference answer); a grade of
    any other item is not counted, and a run with no such item is no row. Where an item has
    several grades of one recipe (a retry after a failure), the newest counts."""
    groups: dict[tuple[str, str, str, str, str], dict[str, dict[int, int | None]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    for grade in grades:
        key = (grade.model, grade.protocol, grade.grading, grade.judge, grade.reference_model)
        groups[key][grade.preference][grade.item_id] = grade.rating
    gradings: dict[tuple[str, str, str, str], set[str]] = defaultdict(set)
    for model, protocol, grading, judge, reference in groups:
        gradings[(model, protocol, judge, reference)].add(grading)
    rows = []
    for (model, protocol, grading, judge, reference), by_preference in groups.items():
        items = bench.get(reference, {})
        seeded = f"{seed}:{model}:{protocol}:{grading}:{judge}:{reference}"
        scores = _scores(by_preference, items, seeded)
        if not scores:
            continue
        several = len(gradings[(model, protocol, judge, reference)]) > 1
        label = _label(model, protocol, grading if several else None)
        rows.append(LeaderboardRow(model, protocol, grading, judge, reference, scores, label=label))
    return _ranked(rows)


def _label(model: str, protocol: str, grading: str | None) -> str:
    """The model, then how its answers were made when not by the paper's protocol, and its
    grading recipe when the model has grades of several."""
    notes = [] if protocol == "paper" else [protocol]
    if grading is not None:
        notes.append(f"grading {grading[:8]}" if len(grading) == 64 else f"grading {grading}")
    return f"{model} ({'; '.join(notes)})" if notes else model


def _scores(
    by_preference: Mapping[str, Mapping[int, int | None]],
    items: Mapping[str, Collection[int]],
    label: str,
) -> dict[str, Score]:
    scores: dict[str, Score] = {}
    samples: list[list[float]] = []
    for preference in PREFERENCES:
        gradable = items.get(preference, ())
        graded = by_preference.get(preference, {})
        ratings = [rating for item, rating in graded.items() if item in gradable]
        count = len(gradable)
        if not count:
            continue
        read = [r for r in ratings if r is not None]
        as_counted = [float(r) for r in read] + [0.0] * (count - len(read))
        means = _bootstrap(as_counted, f"{label}:{preference}")
        samples.append(means)
        low, high = _interval(means)
        scores[preference] = Score(
            sum(as_counted) / count,
            low,
            high,
            sum(read) / len(read) if read else None,
            count,
            len(ratings),
            len(ratings) - len(read),
        )
    if not scores:
        return scores
    parts = list(scores.values())
    readable = [s.mean_readable for s in parts if s.mean_readable is not None]
    low, high = _interval([sum(sample) / len(sample) for sample in zip(*samples, strict=True)])
    scores[OVERALL] = Score(
        sum(s.score for s in parts) / len(parts),
        low,
        high,
        sum(readable) / len(readable) if readable else None,
        sum(s.items for s in parts),
        sum(s.graded for s in parts),
        sum(s.unparsed for s in parts),
    )
    return scores


def _bootstrap(values: Sequence[float], seed: str) -> list[float]:
    """The means of BOOTSTRAP_SAMPLES resamples of ``values`` (in draw order)."""
    n = len(values)
    if len(set(values)) == 1:
        return [values[0]] * BOOTSTRAP_SAMPLES
    rng = random.Random(seed)
    return [sum(rng.choices(values, k=n)) / n for _ in range(BOOTSTRAP_SAMPLES)]


def _interval(means: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(means)
    tail = (1 - CONFIDENCE) / 2
    low = ordered[int(tail * len(ordered))]
    high = ordered[min(len(ordered) - 1, int((1 - tail) * len(ordered)))]
    return low, high


def _ranked(rows: list[LeaderboardRow]) -> list[LeaderboardRow]:
    """Ranks within each (judge, reference), as competitions give them: equal scores (to
    the thousandth) share a place, and the next place skips."""
    rows.sort(key=lambda r: (r.judge, r.reference_model, not r.complete, -r.overall.score, r.label))
    ranked: list[LeaderboardRow] = []
    group: tuple[str, str] | None = None
    seen = place = 0
    last: float | None = None
    for row in rows:
        if (row.judge, row.reference_model) != group:
            group, seen, last = (row.judge, row.reference_model), 0, None
        rank = None
        if row.complete:
            seen += 1
            score = round(row.overall.score, 3)
            if score != last:
                place, last = seen, score
            rank = place
        ranked.append(replace(row, rank=rank))
    return ranked


def as_records(rows: Sequence[LeaderboardRow]) -> list[dict[str, object]]:
    """One flat record per (model, protocol, judge, reference, column): for CSV and JSON."""
    records: list[dict[str, object]] = []
    for row in rows:
        for column in COLUMNS:
            s = row.scores.get(column)
            if s is None:
                continue
            records.append(
                {
                    "rank": row.rank,
                    "model": row.model,
                    "protocol": row.protocol,
                    "grading": row.grading,
                    "judge": row.judge,
                    "reference": row.reference_model,
                    "preference": column,
                    "score": _round(s.score),
                    "ci95_low": _round(s.ci_low),
                    "ci95_high": _round(s.ci_high),
                    "mean_readable": _round(s.mean_readable),
                    "items": s.items,
                    "graded": s.graded,
                    "unparsed": s.unparsed,
                    "coverage": s.coverage,  # this preference's; the average's is the run's
                    "complete": row.complete,  # the whole run: every item graded
                }
            )
    return records


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def render(rows: Sequence[LeaderboardRow], kind: str) -> str:
    """The leaderboard as text of one ``kind``: `table`, `markdown`, `csv` or `json`."""
    if kind in ("table", "markdown"):
        return render_text(rows, markdown=kind == "markdown")
    records = as_records(rows)
    if kind == "json":
        import json

        return json.dumps(records, indent=2) + "\n"
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return buffer.getvalue()


def place(row: LeaderboardRow) -> str:
    """The rank shown for a row: its place, or why it has none."""
    return str(row.rank) if row.rank is not None else "-"


def render_text(rows: Sequence[LeaderboardRow], markdown: bool) -> str:
    """The leaderboard as a plain-text or a Markdown table, one per (judge, reference)."""
    out: list[str] = []
    groups: dict[tuple[str, str], list[LeaderboardRow]] = defaultdict(list)
    for row in rows:
        groups[(row.judge, row.reference_model)].append(row)
    for (judge, reference), members in groups.items():
        title = (
            f"CODAL-Bench: judge {judge}, reference {reference}. Score as in the paper: the "
            "mean grade (1-10) of each preference's items, unreadable or missing grades "
            "counted as 0 [95% bootstrap interval]; average: the mean of the preference scores."
        )
        out.append(f"### {title}" if markdown else title)
        headers = ["rank", "model", *COLUMNS, "coverage"]
        cells = [
            [
                place(r),
                r.label,
                *(_cell(r.scores.get(c)) for c in COLUMNS),
                r.overall.coverage + ("" if r.complete else " incomplete"),
            ]
            for r in members
        ]
        out.append(_table(headers, cells, markdown))
        readable = [
            [
                r.label,
                *(_readable(r.scores.get(c)) for c in COLUMNS),
                str(r.overall.unparsed),
            ]
            for r in members
        ]
        out.append(
            _table(["model (readable grades only)", *COLUMNS, "unparsed"], readable, markdown)
        )
    return "\n\n".join(out) + "\n"


def _cell(s: Score | None) -> str:
    if s is None:
        return "-"
    return f"{s.score:.2f} [{s.ci_low:.2f}, {s.ci_high:.2f}]"


def _readable(s: Score | None) -> str:
    return "-" if s is None or s.mean_readable is None else f"{s.mean_readable:.2f}"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], markdown: bool) -> str:
    if markdown:
        lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
        lines += ["| " + " | ".join(row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    for row in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
    return "\n".join(lines)
