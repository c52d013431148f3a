"""Binarization: the chosen response is always rated strictly higher, never the same text."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cuf_tui.analysis.binarize import STRATEGIES, RatedResponse, binarize, pair_rng

rated = st.lists(
    st.builds(
        RatedResponse,
        model=st.sampled_from(["a", "b", "c", "d", "e"]),
        text=st.sampled_from(["x", "y", "z", "w"]),
        rating=st.integers(1, 5),
    ),
    max_size=5,
    unique_by=lambda r: r.model,
)


@given(rated, st.sampled_from(STRATEGIES), st.integers(0, 10))
def test_pairs_are_always_strictly_ordered_and_distinct(responses, strategy, seed) -> None:
    for pair in binarize(responses, strategy, random.Random(seed)):
        assert pair.chosen.rating > pair.rejected.rating
        assert pair.chosen.text != pair.rejected.text
        assert pair.chosen.model != pair.rejected.model


@given(rated, st.sampled_from(STRATEGIES))
def test_fewer_than_two_distinct_ratings_give_no_pair(responses, strategy) -> None:
    same = [RatedResponse(r.model, r.text, 3) for r in responses]
    assert binarize(same, strategy, random.Random(0)) == []


@given(rated)
def test_best_worst_takes_a_top_and_a_bottom_rating(responses) -> None:
    pairs = binarize(responses, "best-worst", random.Random(1))
    ratings = [r.rating for r in responses]
    if len(set(ratings)) < 2:
        assert pairs == []
        return
    top = [r.text for r in responses if r.rating == max(ratings)]
    bottom = [r.text for r in responses if r.rating == min(ratings)]
    if pairs:
        (pair,) = pairs
        assert pair.chosen.rating == max(ratings)
        assert pair.rejected.rating == min(ratings)
    else:  # only identical texts at the two extremes can leave no pair
        assert all(a == b for a in top for b in bottom)


def test_all_pairs_lists_every_pair_with_different_ratings() -> None:
    responses = [
        RatedResponse("a", "1", 5),
        RatedResponse("b", "2", 3),
        RatedResponse("c", "3", 3),
        RatedResponse("d", "4", 1),
    ]
    pairs = binarize(responses, "all-pairs", random.Random(0))
    assert [(p.chosen.model, p.rejected.model) for p in pairs] == [
        ("a", "b"),
        ("a", "c"),
        ("a", "d"),
        ("b", "d"),
        ("c", "d"),
    ]


def test_ties_are_broken_by_the_seed_reproducibly() -> None:
    responses = [RatedResponse(m, m, 5) for m in "abcd"] + [RatedResponse("z", "z", 1)]
    picks = {
        binarize(responses, "best-worst", pair_rng(seed, "k"))[0].chosen.model for seed in range(40)
    }
    assert len(picks) > 1  # the seed really chooses among the tied best
    first = binarize(responses, "best-worst", pair_rng(7, "k"))
    assert binarize(responses, "best-worst", pair_rng(7, "k")) == first


def test_best_random_rejects_any_lower_rated_response() -> None:
    responses = [
        RatedResponse("top", "t", 5),
        RatedResponse("mid", "m", 3),
        RatedResponse("low", "l", 1),
    ]
    rejected = {
        binarize(responses, "best-random", pair_rng(s, "k"))[0].rejected.model for s in range(40)
    }
    assert rejected == {"mid", "low"}


def test_an_unknown_strategy_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown strategy"):
        binarize([RatedResponse("a", "x", 1), RatedResponse("b", "y", 2)], "best", random.Random())  # type: ignore[arg-type]
