"""Ratings for the Judge tab on the sample workspace: a second judge, two reviewers and a
position probe of gpt-3.5-turbo that adds a point to whatever it sees first, all written
through the store and fixed (no randomness), so the tab's figures and snapshots are stable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cuf_tui.store.db import open_store
from cuf_tui.store.judgments import JudgedRating, add_imported_judgment
from cuf_tui.store.reviews import write_review

SECOND_JUDGE = "gpt-4-turbo"
PROBED = "gpt-3.5-turbo"


def _shift(instruction_id: int, position: int) -> int:
    """A fixed small disagreement pattern: mostly 0, sometimes one point either way."""
    return (0, 0, 1, 0, -1, 0, 0)[(instruction_id * 3 + position) % 7]


def add_trust_data(db_path: Path) -> None:
    with open_store(db_path) as store:
        judged = store.db.execute(
            "SELECT j.id, j.instruction_id, j.order_shown FROM judgments j "
            "WHERE j.judge = ? AND j.state = 'done' ORDER BY j.instruction_id",
            (PROBED,),
        ).fetchall()
        for judgment_id, instruction_id, order in judged:
            ratings = dict(
                store.db.execute(
                    "SELECT model, rating FROM judgment_ratings WHERE judgment_id = ?",
                    (judgment_id,),
                ).fetchall()
            )
            order = json.loads(order)
            second = [
                JudgedRating(
                    model,
                    position,
                    None
                    if ratings[model] is None
                    else _clip(ratings[model] + _shift(instruction_id, position)),
                    f"{SECOND_JUDGE} on {model}",
                )
                for position, model in enumerate(order, start=1)
            ]
            with store.transaction():
                add_imported_judgment(
                    store, instruction_id, SECOND_JUDGE, order, None, second, "test"
                )
            for position, model in enumerate(order, start=1):
                if ratings[model] is None:
                    continue
                if instruction_id <= 20:
                    far = 2 if (instruction_id + position) % 9 == 0 else 0
                    write_review(
                        store,
                        instruction_id,
                        model,
                        "ann",
                        rating=_clip(ratings[model] - far + _shift(instruction_id + 1, position)),
                    )
                if instruction_id <= 12:
                    write_review(store, instruction_id, model, "bo", rating=ratings[model])
            if instruction_id <= 10:
                _probe(store, judgment_id, instruction_id, order, ratings)


def _probe(store, judgment_id: int, instruction_id: int, order: list[str], ratings) -> None:
    """The probe a judge that adds a point to the first response shown would give."""
    template = store.scalar("SELECT template_sha256 FROM judgments WHERE id = ?", (judgment_id,))
    first = order[0]
    with store.transaction():
        for rotation in range(1, len(order)):
            shown = order[rotation:] + order[:rotation]
            probe_id = store.db.execute(
                "INSERT INTO probe_judgments (instruction_id, judge, template_sha256, probe, "
                "rotation, order_shown, state) VALUES (?, ?, ?, 'position', ?, ?, 'done') "
                "RETURNING id",
                (instruction_id, PROBED, template, rotation, json.dumps(shown)),
            ).fetchone()[0]
            for position, model in enumerate(shown, start=1):
                base = ratings[model]
                if base is None:
                    continue
                # The stored judgment already holds the bonus of the first shown.
                truth = base - (model == first and base > 1)
                store.db.execute(
                    "INSERT INTO probe_ratings (probe_judgment_id, model, position_shown, "
                    "rating, rationale) VALUES (?, ?, ?, ?, '')",
                    (probe_id, model, position, _clip(truth + (position == 1))),
                )


def _clip(rating: int) -> int:
    return max(1, min(5, rating))


async def open_judge_tab(pilot: Any) -> Any:
    """F5, then everything the Judge tab measures in its thread, shown; the tab."""
    from cuf_tui.tui.widgets.judge import JudgePane

    await pilot.press("f5")
    await pilot.pause()
    await pilot.app.workers.wait_for_complete()
    await pilot.pause(0.3)
    return pilot.app.query_one(JudgePane)
