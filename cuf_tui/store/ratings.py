"""Every rating of a response by whoever gave it, judge or reviewer, for comparing raters."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from cuf_tui.store.db import Store

RaterKind = Literal["judge", "reviewer"]


@dataclass(frozen=True, slots=True)
class Rater:
    kind: RaterKind
    name: str

    @property
    def label(self) -> str:
        """How the rater is named to a reader: a judge by its name, a reviewer marked so (a
        reviewer may share a judge's name)."""
        return self.name if self.kind == "judge" else f"{self.name} (reviewer)"

    def as_json(self) -> dict[str, str]:
        return {"kind": self.kind, "name": self.name, "label": self.label}


@dataclass(frozen=True, slots=True)
class RaterRating:
    instruction_id: int
    model: str  # whose response was rated
    preference: str  # the instruction's
    rater: Rater
    rating: int  # 1..5; a judge's N/A and a review without a rating are not ratings


# Per (instruction, judge): the newest readable judgment, whatever its template, as the
# workbench shows it; an unparsed or failed one never hides the readable one before it.
_JUDGE_RATINGS = """
WITH chosen AS (
    SELECT id, instruction_id, judge, row_number() OVER (
        PARTITION BY instruction_id, judge ORDER BY finished_at DESC, id DESC
    ) AS newest
    FROM judgments
    WHERE state = 'done' {only}
)
SELECT chosen.instruction_id, r.model, i.preference, chosen.judge, r.rating
FROM chosen
JOIN judgment_ratings AS r ON r.judgment_id = chosen.id
JOIN instructions AS i ON i.id = chosen.instruction_id
WHERE chosen.newest = 1 AND r.rating IS NOT NULL
"""

_REVIEWER_RATINGS = """
SELECT r.instruction_id, r.model, i.preference, r.reviewer, r.rating
FROM reviews AS r JOIN instructions AS i ON i.id = r.instruction_id
WHERE r.rating IS NOT NULL
"""


def rater_ratings(store: Store, judges: Sequence[str] | None = None) -> list[RaterRating]:
    """Every judge's ratings (from its latest readable judgment of each instruction) and every
    reviewer's, in two queries. ``judges`` keeps only those judges (None: all of them);
    reviewers are always all there."""
    if judges is not None and not judges:
        only = "AND 0"
    elif judges is not None:
        only = f"AND judge IN ({', '.join('?' * len(judges))})"
    else:
        only = ""
    raters: dict[tuple[RaterKind, str], Rater] = {}
    preferences: dict[str, str] = {}  # one string per preference, not one per row
    ratings: list[RaterRating] = []
    reads: tuple[tuple[RaterKind, str, tuple[str, ...]], ...] = (
        ("judge", _JUDGE_RATINGS.format(only=only), tuple(judges or ())),
        ("reviewer", _REVIEWER_RATINGS, ()),
    )
    for kind, sql, params in reads:
        for instruction_id, model, preference, name, rating in store.db.execute(sql, params):
            rater = raters.get((kind, name))
            if rater is None:
                rater = raters[(kind, name)] = Rater(kind, name)
            ratings.append(
                RaterRating(
                    instruction_id,
                    model,
                    preferences.setdefault(preference, preference),
                    rater,
                    rating,
                )
            )
    return ratings


def rating_judges(store: Store) -> list[str]:
    """The judges with at least one readable judgment, by name."""
    return [
        row[0]
        for row in store.db.execute(
            "SELECT DISTINCT judge FROM judgments WHERE state = 'done' ORDER BY judge"
        )
    ]


def rated_texts(
    store: Store, judges: Sequence[str] | None = None
) -> list[tuple[str, RaterKind, str, int, str]]:
    """Every rating as ``rater_ratings`` reads it, with the text of the response rated:
    (rater name, judge or reviewer, preference, rating, text), for measuring length bias."""
    texts = {
        (instruction_id, model): text
        for instruction_id, model, text in store.db.execute(
            "SELECT instruction_id, model, text FROM responses WHERE state = 'done'"
        )
    }
    return [
        (r.rater.name, r.rater.kind, r.preference, r.rating, text)
        for r in rater_ratings(store, judges)
        if (text := texts.get((r.instruction_id, r.model))) is not None
    ]
