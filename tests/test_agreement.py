"""How far a judge can be trusted: every pair of raters (judges and reviewers) compared over
the responses both rated, each figure checked against sklearn, scipy and krippendorff run
here on pairs built independently of the store."""

from __future__ import annotations

import json
import math
import random
import warnings
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score

from cuf_tui.core.preferences import PREFERENCES
from cuf_tui.core.records import Instruction
from cuf_tui.store.db import open_store

MODELS = ("m1", "m2", "m3", "m4")
LEVELS = [1, 2, 3, 4, 5]
Key = tuple[int, str]


def planned_ratings() -> dict[str, dict[Key, int]]:
    """Who rates what, by rater label: 15 instructions x 4 models = 60 responses, three
    instructions (12 responses) per preference. gpt-4 rates all but two (N/A); llama follows
    gpt-4 within a point, but for every ninth response (2-3 points off) and style (all 3s);
    alice agrees with gpt-4 but for every twelfth response (two or more off); bob rates six only."""
    draw = random.Random(7)
    gpt4: dict[Key, int] = {}
    llama: dict[Key, int] = {}
    alice: dict[Key, int] = {}
    bob: dict[Key, int] = {}
    for k in range(60):
        key = (k // 4 + 1, MODELS[k % 4])
        base = draw.randint(1, 5)
        if k not in (5, 17):
            gpt4[key] = base
        preference = PREFERENCES[(key[0] - 1) % 5]
        if preference == "style":
            llama[key] = 3
        elif k % 9 == 0:
            llama[key] = base + 3 if base <= 2 else 5 if base == 3 else base - 3
        else:
            llama[key] = min(5, max(1, base + draw.choice((-1, 0, 0, 1))))
        alice[key] = (1 if base == 3 else 6 - base) if k % 12 == 0 else base
        if k % 10 == 0:
            bob[key] = draw.randint(1, 5)
    return {"gpt-4": gpt4, "llama": llama, "alice (reviewer)": alice, "bob (reviewer)": bob}


def preference_of(key: Key) -> str:
    return PREFERENCES[(key[0] - 1) % 5]


@pytest.fixture
def rated(workspace: Path) -> Path:
    """The planned ratings in a workspace's store, beside judgments that must not count: an
    older gpt-4 judgment with other ratings, and a newer unparsed one."""
    from cuf_tui.store.instructions import add_instruction
    from cuf_tui.store.judgments import JudgedRating, add_imported_judgment
    from cuf_tui.store.reviews import write_review

    plan = planned_ratings()
    with open_store(workspace / "cuf.db") as store:
        with store.transaction():
            for i in range(1, 16):
                record = Instruction(f"Task {i}", PREFERENCES[(i - 1) % 5], models=MODELS)
                assert add_instruction(store, record, "test")[0] == i
                for judge in ("gpt-4", "llama"):
                    ratings = [
                        JudgedRating(m, p, plan[judge].get((i, m)), "")
                        for p, m in enumerate(MODELS, 1)
                    ]
                    add_imported_judgment(store, i, judge, MODELS, "", ratings, "test")
                for template, state, when, rating in (
                    ("old", "done", "2000-01-01T00:00:00.000Z", 1),
                    ("new", "unparsed", "2999-01-01T00:00:00.000Z", None),
                ):
                    judgment_id = store.db.execute(
                        "INSERT INTO judgments (instruction_id, judge, template_sha256, "
                        "order_shown, state, source, finished_at) "
                        "VALUES (?, 'gpt-4', ?, '[]', ?, 'test', ?) RETURNING id",
                        (i, template, state, when),
                    ).fetchone()[0]
                    store.db.execute(
                        "INSERT INTO judgment_ratings (judgment_id, model, rating) "
                        "VALUES (?, 'm1', ?)",
                        (judgment_id, rating),
                    )
        for reviewer in ("alice", "bob"):
            for (i, model), rating in plan[f"{reviewer} (reviewer)"].items():
                write_review(store, i, model, reviewer, rating=rating)
        write_review(store, 1, "m2", "carol", flagged=1)  # no rating: no rater
    return workspace


def shared(plan: dict[str, dict[Key, int]], a: str, b: str, preference: str | None = None):
    keys = sorted(
        k
        for k in plan[a].keys() & plan[b].keys()
        if preference is None or preference_of(k) == preference
    )
    return (
        np.array([plan[a][k] for k in keys]),
        np.array([plan[b][k] for k in keys]),
    )


def expected_pair(first: np.ndarray, second: np.ndarray) -> dict[str, float | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a constant rater: rho is undefined, and said so
        rho = spearmanr(first, second).statistic
    return {
        "exact": float(np.mean(first == second)),
        "within_one": float(np.mean(np.abs(first - second) <= 1)),
        "kappa": cohen_kappa_score(first, second, weights="quadratic", labels=LEVELS),
        "rho": None if math.isnan(rho) else float(rho),
    }


def expected_alpha(plan: dict[str, dict[Key, int]], preference: str | None = None) -> float:
    import krippendorff

    keys = sorted(
        {k for ratings in plan.values() for k in ratings}
        if preference is None
        else {k for ratings in plan.values() for k in ratings if preference_of(k) == preference}
    )
    matrix = [[ratings.get(k, np.nan) for k in keys] for ratings in plan.values()]
    return float(krippendorff.alpha(matrix, level_of_measurement="ordinal", value_domain=LEVELS))


def by_labels(group):
    return {(p.first.label, p.second.label): p for p in group.pairs}


def test_rater_ratings_reads_the_latest_readable_judgment_and_every_rated_review(rated) -> None:
    from cuf_tui.store.ratings import Rater, rater_ratings

    plan = planned_ratings()
    with open_store(rated / "cuf.db") as store:
        ratings = rater_ratings(store)
        only_llama = rater_ratings(store, judges=["llama"])
    read: dict[str, dict[Key, int]] = {}
    for r in ratings:
        read.setdefault(r.rater.label, {})[(r.instruction_id, r.model)] = r.rating
        assert r.preference == preference_of((r.instruction_id, r.model))
    assert read == plan  # the old judgment's 1s, the unparsed one and carol's flag: none
    assert Rater("judge", "gpt-4").label == "gpt-4"
    assert Rater("reviewer", "alice").label == "alice (reviewer)"
    assert {r.rater.label for r in only_llama} == {"llama", "alice (reviewer)", "bob (reviewer)"}


def test_every_pair_matches_sklearn_scipy_and_krippendorff(rated) -> None:
    from cuf_tui.analysis.agreement import MIN_SHARED, rater_agreement
    from cuf_tui.store.ratings import rater_ratings

    plan = planned_ratings()
    with open_store(rated / "cuf.db") as store:
        result = rater_agreement(rater_ratings(store), resamples=20, seed=3)
    assert [r.label for r in result.raters] == list(plan)
    pairs = by_labels(result.overall)
    assert set(pairs) == set(combinations(plan, 2))
    for (a, b), pair in pairs.items():
        first, second = shared(plan, a, b)
        assert pair.shared == len(first)
        if len(first) < MIN_SHARED:
            assert pair.too_few and pair.kappa is None and pair.exact is None
            continue
        expected = expected_pair(first, second)
        assert not pair.too_few and pair.note is None
        for name, value in expected.items():
            got = getattr(pair, name)
            if value is None:
                assert got is None, (a, b, name)
            else:
                assert got.value == pytest.approx(value, abs=1e-12), (a, b, name)
    assert result.overall.alpha == pytest.approx(expected_alpha(plan), abs=1e-12)

    # The known relations: alice is gpt-4 but for 5 mirrored responses; llama is within a
    # point of gpt-4 but for its 3-point misses and its constant style.
    alice = pairs[("gpt-4", "alice (reviewer)")]
    assert alice.shared == 58 and alice.exact.value == pytest.approx(53 / 58)
    assert pairs[("gpt-4", "llama")].kappa.value < alice.kappa.value


def test_too_few_shared_responses_is_said_not_computed(rated) -> None:
    from cuf_tui.analysis.agreement import rater_agreement
    from cuf_tui.store.ratings import rater_ratings

    with open_store(rated / "cuf.db") as store:
        result = rater_agreement(rater_ratings(store), resamples=10)
    bob = by_labels(result.overall)[("gpt-4", "bob (reviewer)")]
    assert bob.shared == 6 and bob.too_few
    assert bob.note == "too few shared responses (6)"
    assert (bob.exact, bob.within_one, bob.kappa, bob.rho) == (None, None, None, None)
    record = bob.as_json()
    assert record["too_few"] and record["kappa"] is None and record["shared"] == 6

    # Only bob and gpt-4 rate, on 6 responses: no alpha either.
    from cuf_tui.store.ratings import Rater, RaterRating

    few = [r for r in rater_ratings_of(rated) if r.rater in (Rater("judge", "gpt-4"),)]
    few += [r for r in rater_ratings_of(rated) if r.rater == Rater("reviewer", "bob")]
    alone = rater_agreement(few, resamples=10)
    assert alone.overall.too_few and alone.overall.alpha is None
    assert alone.overall.note == "too few shared responses (6)"
    assert isinstance(few[0], RaterRating)


def rater_ratings_of(workspace: Path):
    from cuf_tui.store.ratings import rater_ratings

    with open_store(workspace / "cuf.db") as store:
        return rater_ratings(store)


def test_each_preference_is_its_own_group(rated) -> None:
    from cuf_tui.analysis.agreement import rater_agreement

    plan = planned_ratings()
    result = rater_agreement(rater_ratings_of(rated), resamples=50)
    assert list(result.by_preference) == list(PREFERENCES)
    for preference, group in result.by_preference.items():
        assert group.preference == preference
        assert group.alpha == pytest.approx(expected_alpha(plan, preference), abs=1e-12)
        for (a, b), pair in by_labels(group).items():
            first, second = shared(plan, a, b, preference)
            assert pair.shared == len(first)
            if pair.too_few:
                assert len(first) < 10
                continue
            expected = expected_pair(first, second)
            if len(set(first)) == 1 or len(set(second)) == 1:
                # One rating throughout: kappa is 0 by construction; said to be undefined.
                assert pair.kappa is None and "rated every one" in pair.note
            else:
                assert pair.kappa.value == pytest.approx(expected["kappa"], abs=1e-12)
            assert pair.exact.value == pytest.approx(expected["exact"])
            if expected["rho"] is None:
                assert pair.rho is None
            else:
                assert pair.rho.value == pytest.approx(expected["rho"], abs=1e-12)
    # llama gives every style response a 3: a constant rater has no rho and no kappa there.
    style = by_labels(result.by_preference["style"])[("gpt-4", "llama")]
    assert style.shared == 11 and style.rho is None and style.kappa is None
    assert style.note == "llama rated every one 3: kappa and rho are undefined here"


def test_intervals_are_percentile_bootstraps_of_the_shared_responses(rated) -> None:
    from cuf_tui.analysis.agreement import rater_agreement

    plan = planned_ratings()
    ratings = rater_ratings_of(rated)
    result = rater_agreement(ratings, seed=11)
    again = rater_agreement(ratings, seed=11)
    other = rater_agreement(ratings, seed=12)
    pair = by_labels(result.overall)[("gpt-4", "llama")]
    assert pair == by_labels(again.overall)[("gpt-4", "llama")]
    assert pair.kappa != by_labels(other.overall)[("gpt-4", "llama")].kappa

    # The same bootstrap done here the plain way, with many more resamples: the two agree
    # to within the noise of 200 resamples.
    first, second = shared(plan, "gpt-4", "llama")
    draw = np.random.default_rng(0)
    kappas, rhos, exacts = [], [], []
    for _ in range(1000):
        i = draw.integers(0, len(first), len(first))
        kappas.append(cohen_kappa_score(first[i], second[i], weights="quadratic", labels=LEVELS))
        rhos.append(spearmanr(first[i], second[i]).statistic)
        exacts.append(np.mean(first[i] == second[i]))
    for estimate, samples in ((pair.kappa, kappas), (pair.rho, rhos), (pair.exact, exacts)):
        low, high = np.nanpercentile(samples, [2.5, 97.5])
        assert estimate.low <= estimate.value <= estimate.high
        assert estimate.low == pytest.approx(low, abs=0.06)
        assert estimate.high == pytest.approx(high, abs=0.06)


def test_disagreements_list_the_widest_gaps_first(rated) -> None:
    from cuf_tui.analysis.agreement import disagreements

    plan = planned_ratings()
    found = disagreements(rater_ratings_of(rated), limit=100)
    gaps = {}
    for key in {k for ratings in plan.values() for k in ratings}:
        given = [ratings[key] for ratings in plan.values() if key in ratings]
        if max(given) - min(given) >= 2:
            gaps[key] = max(given) - min(given)
    assert {(d.instruction_id, d.model): d.gap for d in found} == gaps
    assert [d.gap for d in found] == sorted(gaps.values(), reverse=True)
    for d in found:
        assert plan[d.first.label][(d.instruction_id, d.model)] == d.first_rating
        assert plan[d.second.label][(d.instruction_id, d.model)] == d.second_rating
        assert abs(d.first_rating - d.second_rating) == d.gap
        assert d.preference == preference_of((d.instruction_id, d.model))
    assert len(disagreements(rater_ratings_of(rated), limit=3)) == 3
    assert found[0].as_json()["instruction_id"] == found[0].instruction_id


def test_the_command_prints_pairs_alpha_and_each_preference(cli, rated) -> None:
    run = cli("agreement", "-w", rated, "--resamples", "20")
    assert run.code == 0, run.err
    out = run.out
    assert "gpt-4" in out and "alice (reviewer)" in out
    assert "too few shared responses (6)" in out
    assert "Krippendorff's alpha" in out
    for preference in PREFERENCES:
        assert preference in out
    plan = planned_ratings()
    kappa = expected_pair(*shared(plan, "gpt-4", "llama"))["kappa"]
    assert f"{kappa:.2f} [" in out


def test_the_command_writes_json(cli, rated) -> None:
    run = cli("agreement", "-w", rated, "--json", "--resamples", "30", "--seed", "5")
    assert run.code == 0, run.err
    record = json.loads(run.out)
    assert record["resamples"] == 30 and record["seed"] == 5 and record["min_shared"] == 10
    assert [r["label"] for r in record["raters"]] == list(planned_ratings())
    plan = planned_ratings()
    pairs = {(p["first"]["label"], p["second"]["label"]): p for p in record["overall"]["pairs"]}
    expected = expected_pair(*shared(plan, "gpt-4", "alice (reviewer)"))
    alice = pairs[("gpt-4", "alice (reviewer)")]
    assert alice["kappa"]["value"] == pytest.approx(expected["kappa"])
    assert alice["kappa"]["low"] <= alice["kappa"]["value"] <= alice["kappa"]["high"]
    assert pairs[("gpt-4", "bob (reviewer)")]["note"] == "too few shared responses (6)"
    assert record["overall"]["alpha"] == pytest.approx(expected_alpha(plan))
    assert set(record["preferences"]) == set(PREFERENCES)
    # The same seed gives the same intervals; the workspace seed is the default.
    assert (
        json.loads(cli("agreement", "-w", rated, "--json", "--resamples", "30", "--seed", "5").out)
        == record
    )
    default = json.loads(cli("agreement", "-w", rated, "--json", "--resamples", "30").out)
    assert default["seed"] == 42


def test_judges_can_be_chosen_and_an_unknown_one_is_named(cli, rated) -> None:
    run = cli("agreement", "-w", rated, "--json", "--judge", "llama", "--resamples", "10")
    assert run.code == 0, run.err
    labels = [r["label"] for r in json.loads(run.out)["raters"]]
    assert labels == ["llama", "alice (reviewer)", "bob (reviewer)"]
    bad = cli("agreement", "-w", rated, "--judge", "gpt4")
    assert bad.code == 1 and bad.out == ""
    assert bad.err.strip().splitlines() == [
        "cuf-tui: error: --judge 'gpt4': no ratings by a judge of that name in "
        f"{rated} (judges with ratings: gpt-4, llama)"
    ]


def test_a_workspace_without_ratings_says_so(cli, workspace) -> None:
    run = cli("agreement", "-w", workspace)
    assert run.code == 0, run.err
    assert "No ratings" in run.out and str(workspace) in run.out
    record = json.loads(cli("agreement", "-w", workspace, "--json").out)
    assert record["raters"] == [] and record["overall"]["pairs"] == []
    bad = cli("agreement", "-w", workspace, "--judge", "gpt-4")
    assert bad.code == 1 and "(none has rated yet)" in bad.err

    from cuf_tui.store.instructions import add_instruction
    from cuf_tui.store.reviews import write_review

    with open_store(workspace / "cuf.db") as store:
        with store.transaction():
            add_instruction(store, Instruction("Task", "style", models=MODELS), "test")
        write_review(store, 1, "m1", "alice", rating=4)
    run = cli("agreement", "-w", workspace)
    assert run.code == 0 and "Only alice (reviewer) has rated" in run.out


def test_resamples_must_be_a_positive_number(cli, rated, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli("agreement", "-w", rated, "--resamples", "0")
    assert exit_.value.code == 2
    assert "argument --resamples: must be 1 or more" in capsys.readouterr().err
