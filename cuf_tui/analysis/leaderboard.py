"""CODAL-Bench scores: per (model, judge, reference), the mean grade of each coding preference
and overall, with 95% bootstrap confidence intervals, and the paper's convention beside it.

The mean is taken over the grades that could be read. The paper counted an answer whose
grade could not be read as 0; that mean is given too (`mean_unparsed_as_zero`), with the
number of unreadable grades, so results can be set beside published tables.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cuf_tui.core.preferences import PREFERENCES

OVERALL = "average"
COLUMNS = (*PREFERENCES, OVERALL)
BOOTSTRAP_SAMPLES = 1000
CONFIDENCE = 0.95


class _Grade(Protocol):
    """What the leaderboard needs of a grade (store.bench.GradeRow has these fields)."""

    @property
    def model(self) -> str: ...
    @property
    def judge(self) -> str: ...
    @property
    def reference_model(self) -> str: ...
    @property
    def preference(self) -> str: ...
    @property
    def rating(self) -> int | None: ...


@dataclass(frozen=True)
class Score:
    mean: float | None  # over readable grades; None when there is none
    ci_low: float | None
    ci_high: float | None
    mean_unparsed_as_zero: float  # the paper's convention
    graded: int  # readable and unreadable
    unparsed: int


@dataclass(frozen=True)
class LeaderboardRow:
    model: str
    judge: str
    reference_model: str
    scores: dict[str, Score]  # by preference, and OVERALL


def score(ratings: Sequence[int | None], seed: str) -> Score:
    """Mean, 95% percentile bootstrap interval (resampling the graded items), and the mean
    with unreadable grades as 0."""
    graded = len(ratings)
    read = [r for r in ratings if r is not None]
    unparsed = graded - len(read)
    as_zero = sum(read) / graded if graded else 0.0
    if not read:
        return Score(None, None, None, as_zero, graded, unparsed)
    mean = sum(read) / len(read)
    if len(read) == 1:
        return Score(mean, mean, mean, as_zero, graded, unparsed)
    rng = random.Random(seed)
    n = len(read)
    means = sorted(sum(rng.choices(read, k=n)) / n for _ in range(BOOTSTRAP_SAMPLES))
    tail = (1 - CONFIDENCE) / 2
    low = means[int(tail * BOOTSTRAP_SAMPLES)]
    high = means[min(BOOTSTRAP_SAMPLES - 1, int((1 - tail) * BOOTSTRAP_SAMPLES))]
    return Score(mean, low, high, as_zero, graded, unparsed)


def leaderboard(grades: Iterable[_Grade], seed: int = 0) -> list[LeaderboardRow]:
    """One row per (model, judge, reference), best overall mean first."""
    groups: dict[tuple[str, str, str], dict[str, list[int | None]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for grade in grades:
        key = (grade.model, grade.judge, grade.reference_model)
        groups[key][grade.preference].append(grade.rating)
        groups[key][OVERALL].append(grade.rating)
    rows = []
    for (model, judge, reference), by_column in groups.items():
        scores = {
            column: score(by_column[column], f"{seed}:{model}:{judge}:{reference}:{column}")
            for column in COLUMNS
            if by_column.get(column)
        }
        rows.append(LeaderboardRow(model, judge, reference, scores))
    rows.sort(key=lambda r: (r.judge, r.reference_model, -(r.scores[OVERALL].mean or 0.0)))
    return rows


def as_records(rows: Sequence[LeaderboardRow]) -> list[dict[str, object]]:
    """One flat record per (model, judge, reference, column): for CSV and JSON."""
    records: list[dict[str, object]] = []
    for row in rows:
        for column in COLUMNS:
            s = row.scores.get(column)
            if s is None:
                continue
            records.append(
                {
                    "model": row.model,
                    "judge": row.judge,
                    "reference": row.reference_model,
                    "preference": column,
                    "mean": _round(s.mean),
                    "ci95_low": _round(s.ci_low),
                    "ci95_high": _round(s.ci_high),
                    "mean_unparsed_as_zero": _round(s.mean_unparsed_as_zero),
                    "graded": s.graded,
                    "unparsed": s.unparsed,
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


def render_text(rows: Sequence[LeaderboardRow], markdown: bool) -> str:
    """The leaderboard as a plain-text or a Markdown table, one per (judge, reference)."""
    out: list[str] = []
    groups: dict[tuple[str, str], list[LeaderboardRow]] = defaultdict(list)
    for row in rows:
        groups[(row.judge, row.reference_model)].append(row)
    for (judge, reference), members in groups.items():
        title = (
            f"CODAL-Bench: judge {judge}, reference {reference}. Mean grade (1-10) over "
            "readable grades [95% bootstrap interval]; below, unreadable grades counted as 0."
        )
        out.append(f"### {title}" if markdown else title)
        headers = ["model", *COLUMNS, "unparsed"]
        cells = [
            [
                r.model,
                *(_cell(r.scores.get(c)) for c in COLUMNS),
                str(r.scores[OVERALL].unparsed),
            ]
            for r in members
        ]
        out.append(_table(headers, cells, markdown))
        zero = [
            [r.model, *(_zero(r.scores.get(c)) for c in COLUMNS), str(r.scores[OVERALL].graded)]
            for r in members
        ]
        out.append(_table(["model (unparsed = 0)", *COLUMNS, "graded"], zero, markdown))
    return "\n\n".join(out) + "\n"


def _cell(s: Score | None) -> str:
    if s is None or s.mean is None:
        return "-"
    return f"{s.mean:.2f} [{s.ci_low:.2f}, {s.ci_high:.2f}]"


def _zero(s: Score | None) -> str:
    return "-" if s is None else f"{s.mean_unparsed_as_zero:.2f}"


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
