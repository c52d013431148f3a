"""A panel of judges: each response's ratings by several judges combined into one, for exports
that should not rest on a single judge.

- ``mean``: the mean of the members' ratings, rounded to a whole rating (a half up);
- ``median``: their median, rounded the same way (3 and 4 give 4), as the reviewers' ratings
  are combined;
- ``majority``: the rating most members gave; none when two ratings tie for most (no
  majority), so the response is left unrated rather than given a rating nobody chose.

A panel's rating is a whole number from 1 to 5 like every other, so its exports read back
as any other (`cuf` round-trips); each member's own rating travels beside it.

A member that gave no rating (N/A) or has no readable judgment of the instruction does not
count; a response no member rated has no panel rating."""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Sequence
from fractions import Fraction
from typing import Final, Literal

from cuf_tui.errors import CufError
from cuf_tui.store.db import Store
from cuf_tui.store.queries import StoredJudgment, StoredRating, judge_names, latest_judgments

PanelMethod = Literal["mean", "median", "majority"]
PANEL_METHODS: Final[tuple[PanelMethod, ...]] = ("mean", "median", "majority")


class PanelError(CufError):
    """A panel that cannot be formed as asked."""


def combined_rating(ratings: Sequence[int], method: PanelMethod) -> int | None:
    """The members' ratings of one response, combined; None when there is nothing to say."""
    if not ratings:
        return None
    if method == "majority":
        counts = Counter(ratings).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            return None
        return counts[0][0]
    value = statistics.fmean(ratings) if method == "mean" else statistics.median(ratings)
    return int(Fraction(value).limit_denominator(1000) + Fraction(1, 2))  # a half up


def panel_name(method: PanelMethod, members: Sequence[str]) -> str:
    """How exported rows name the panel's judgment: ``panel:median(a,b)``."""
    return f"panel:{method}({','.join(members)})"


def panel_members(store: Store, judges: Sequence[str] | None) -> list[str]:
    """The judges on the panel: those named, else every judge with judgments in the store.
    A name the store does not know is an error naming those it does."""
    known = judge_names(store)
    if not judges:
        if not known:
            raise PanelError("--panel needs judgments, and the store holds none")
        return known
    unknown = [name for name in judges if name not in known]
    if unknown:
        raise PanelError(
            f"no judgments by {', '.join(map(repr, unknown))} in the store "
            f"(judges there: {', '.join(known) or 'none'})"
        )
    return list(dict.fromkeys(judges))


def panel_judgments(
    store: Store, method: PanelMethod, members: Sequence[str]
) -> dict[int, StoredJudgment]:
    """Per instruction, one judgment whose ratings combine the members' (each member's
    latest readable judgment of it); each rating keeps the members' own in ``by_judge``."""
    by_member = {judge: latest_judgments(store, judge) for judge in members}
    rated_by = {
        judge
        for judge, judgments in by_member.items()
        if any(
            j.state == "done" and any(r.rating is not None for r in j.ratings)
            for j in judgments.values()
        )
    }
    # Named after the members that gave a rating: a judge whose answers were all unreadable
    # sits on no panel.
    name = panel_name(method, [judge for judge in members if judge in rated_by])
    panel: dict[int, StoredJudgment] = {}
    instruction_ids = sorted({i for judgments in by_member.values() for i in judgments})
    for instruction_id in instruction_ids:
        given: dict[str, dict[str, int]] = {}  # model -> judge -> rating
        for judge, judgments in by_member.items():
            judgment = judgments.get(instruction_id)
            if judgment is None or judgment.state != "done":
                continue
            for rating in judgment.ratings:
                if rating.rating is not None:
                    given.setdefault(rating.model, {})[judge] = int(rating.rating)
        if not given:
            continue
        panel[instruction_id] = StoredJudgment(
            id=0,
            instruction_id=instruction_id,
            judge=name,
            template_sha256="panel",
            state="done",
            raw_output=None,
            ratings=[
                StoredRating(
                    model,
                    None,
                    combined_rating(list(ratings.values()), method),
                    "",
                    by_judge=ratings,
                )
                for model, ratings in given.items()
            ],
        )
    return panel
