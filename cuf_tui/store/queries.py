"""Reads of the store shared by export, stats and the workbench summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from cuf_tui.core.records import median_rating
from cuf_tui.store.db import Store


@dataclass
class StoredRating:
    model: str
    position_shown: int | None
    rating: int | None  # 1-5 (a panel's: its members' combined)
    rationale: str
    by_judge: dict[str, int] | None = None  # a panel's: each member's rating


@dataclass
class StoredJudgment:
    id: int
    instruction_id: int
    judge: str
    template_sha256: str
    state: str
    raw_output: str | None
    ratings: list[StoredRating] = field(default_factory=list)


@dataclass
class StoredInstruction:
    id: int
    text: str
    preference: str
    key: str
    models: list[str]
    responses: dict[str, str] = field(default_factory=dict)  # model -> text, done only


def instructions_with_responses(store: Store) -> list[StoredInstruction]:
    """Every instruction in id order with its completed responses."""
    instructions = {
        row["id"]: StoredInstruction(
            id=row["id"],
            text=row["text"],
            preference=row["preference"],
            key=row["text_sha256"],
            models=json.loads(row["models"]),
        )
        for row in store.db.query(
            "SELECT id, text, preference, text_sha256, models FROM instructions ORDER BY id"
        )
    }
    for instruction_id, model, text in store.db.execute(
        "SELECT instruction_id, model, text FROM responses WHERE state = 'done' ORDER BY id"
    ):
        instructions[instruction_id].responses[model] = text
    return list(instructions.values())


def latest_judgments(
    store: Store, judge: str | None = None, preferred: str | None = None
) -> dict[int, StoredJudgment]:
    """Per instruction, the judgment to use: by ``judge`` when given; else the ``preferred``
    judge's where it has one (the first [[judges]] entry, as the workbench shows); a parsed
    one before an unparsed one, the newest first."""
    where = "state IN ('done', 'unparsed')" + (" AND judge = :judge" if judge else "")
    chosen: dict[int, StoredJudgment] = {}
    for row in store.db.query(
        "SELECT id, instruction_id, judge, template_sha256, state, raw_output FROM judgments "
        f"WHERE {where} ORDER BY instruction_id, judge IS :preferred DESC, state = 'done' DESC, "
        "finished_at DESC, id DESC",
        {"judge": judge, "preferred": preferred},
    ):
        if row["instruction_id"] not in chosen:
            chosen[row["instruction_id"]] = StoredJudgment(**row)
    by_id = {j.id: j for j in chosen.values()}
    for judgment_id, model, position, rating, rationale in store.db.execute(
        "SELECT judgment_id, model, position_shown, rating, rationale FROM judgment_ratings "
        "ORDER BY judgment_id, position_shown, model"
    ):
        if judgment_id in by_id:
            by_id[judgment_id].ratings.append(StoredRating(model, position, rating, rationale))
    return chosen


@dataclass(frozen=True)
class StoredReview:
    rating: int | None  # the reviewer's rating; None: none given
    reviewer: str | None
    flagged: bool
    note: str | None

    def as_record(self) -> dict[str, object]:
        return {
            "rating": self.rating,
            "reviewer": self.reviewer,
            "flagged": self.flagged,
            "note": self.note,
        }


def stored_reviews(store: Store) -> dict[tuple[int, str], list[StoredReview]]:
    """(instruction id, model) -> the reviews of that response, one per reviewer, by name."""
    reviews: dict[tuple[int, str], list[StoredReview]] = {}
    for instruction_id, model, rating, reviewer, flagged, note in store.db.execute(
        "SELECT instruction_id, model, rating, reviewer, flagged, note FROM reviews "
        "ORDER BY instruction_id, model, reviewer"
    ):
        reviews.setdefault((instruction_id, model), []).append(
            StoredReview(rating, reviewer, bool(flagged), note)
        )
    return reviews


def consensus_rating(reviews: Sequence[StoredReview]) -> int | None:
    """What the reviewers of one response say together: the median of their ratings, a half
    rounded up (two reviewers giving 3 and 4 say 4); None when none gave a rating."""
    return median_rating([r.rating for r in reviews if r.rating is not None])


def cut_off_responses(store: Store) -> set[tuple[int, str]]:
    """(instruction id, model) of every stored answer the engine stopped at max_tokens."""
    return set(
        store.db.execute(
            "SELECT instruction_id, model FROM responses "
            "WHERE state = 'done' AND finish_reason = 'length'"
        ).fetchall()
    )


def responded_instructions(store: Store) -> int:
    """Instructions with at least one done response."""
    return int(
        store.scalar("SELECT count(DISTINCT instruction_id) FROM responses WHERE state = 'done'")
    )


def instruction_count(store: Store) -> int:
    return int(store.scalar("SELECT count(*) FROM instructions"))


def judge_names(store: Store) -> list[str]:
    return [row[0] for row in store.db.execute("SELECT DISTINCT judge FROM judgments ORDER BY 1")]


def table_counts(store: Store) -> dict[str, int]:
    """How many rows each table holds, plus failed responses and unparsed judgments."""
    counts = {
        name: int(store.scalar(f"SELECT count(*) FROM {name}"))
        for name in (
            "instructions",
            "responses",
            "judgments",
            "reviews",
            "bench_items",
            "bench_references",
            "bench_answers",
            "bench_grades",
            "jobs",
        )
    }
    counts["responses_failed"] = int(
        store.scalar("SELECT count(*) FROM responses WHERE state = 'failed'")
    )
    counts["judgments_unparsed"] = int(
        store.scalar("SELECT count(*) FROM judgments WHERE state = 'unparsed'")
    )
    return counts
