"""Turning rated responses into (chosen, rejected) pairs for preference tuning such as DPO."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

Strategy = Literal["best-worst", "best-random", "all-pairs"]
STRATEGIES: Final[tuple[Strategy, ...]] = ("best-worst", "best-random", "all-pairs")
# An instruction whose rated responses all share one rating: "keep" still makes a pair of two
# of them (the paper's binarized dataset kept such pairs), "drop" makes none (no preference).
Ties = Literal["keep", "drop"]


@dataclass(frozen=True)
class RatedResponse:
    model: str
    text: str
    rating: int
    human: bool = False  # the rating is a reviewer's, not the judge's


@dataclass(frozen=True)
class PreferencePair:
    chosen: RatedResponse
    rejected: RatedResponse


def binarize(
    responses: Sequence[RatedResponse],
    strategy: Strategy,
    rng: random.Random,
    ties: Ties = "drop",
) -> list[PreferencePair]:
    """Pairs of one instruction's responses, the chosen one always rated strictly higher.

    - ``best-worst`` (CodeUltraFeedback): a highest-rated against a lowest-rated response.
    - ``best-random``: a highest-rated against any lower-rated one.
    - ``all-pairs``: every pair with different ratings.

    Ties are broken with ``rng``. Fewer than two distinct ratings give no pair, unless
    ``ties`` is "keep": then two of the tied responses, drawn with ``rng``, make one pair. A
    pair whose two texts are identical is never made.
    """
    ordered = sorted(responses, key=lambda r: (-r.rating, r.model))
    ratings = {r.rating for r in ordered}
    if len(ratings) < 2:
        return _tied_pair(ordered, rng) if ties == "keep" else []
    top, bottom = max(ratings), min(ratings)
    best = [r for r in ordered if r.rating == top]

    if strategy == "all-pairs":
        return [
            PreferencePair(a, b)
            for i, a in enumerate(ordered)
            for b in ordered[i + 1 :]
            if a.rating > b.rating and a.text != b.text
        ]
    if strategy == "best-worst":
        worse = [r for r in ordered if r.rating == bottom]
    elif strategy == "best-random":
        worse = [r for r in ordered if r.rating < top]
    else:
        raise ValueError(
            f"unknown strategy {strategy!r} (expected one of: {', '.join(STRATEGIES)})"
        )
    candidates = [PreferencePair(a, b) for a in best for b in worse if a.text != b.text]
    return [rng.choice(candidates)] if candidates else []


def _tied_pair(tied: Sequence[RatedResponse], rng: random.Random) -> list[PreferencePair]:
    candidates = [
        PreferencePair(a, b) for a in tied for b in tied if a is not b and a.text != b.text
    ]
    return [rng.choice(candidates)] if candidates else []


def pair_rng(seed: int, instruction_key: str) -> random.Random:
    """A generator per instruction, so a pair does not depend on what else is exported."""
    return random.Random(f"{seed}:{instruction_key}")
