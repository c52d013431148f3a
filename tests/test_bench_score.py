"""The CODAL-Bench score as the paper computes it: a full 500-item bench graded through the real
CLI against the loopback server (some grades unreadable, some failed), every number of
`bench-report --format json` checked against the paper's formula computed here from the
store's rows, and the incomplete marking."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import pytest

from cuf_tui.analysis.leaderboard import OVERALL, leaderboard
from cuf_tui.core.preferences import PREFERENCES
from tests.batch_helpers import make_workspace, model_entry, rows


def paper_scores(ws, model: str) -> dict[str, dict[str, float]]:
    """The paper's numbers for ``model``, from the store's rows: per preference, the sum of
    readable grades over the 100 items (unreadable, failed and missing grades count 0); the
    overall, the mean of the five."""
    grades = rows(
        ws,
        "SELECT b.preference, g.state, g.rating FROM bench_items b "
        "LEFT JOIN bench_answers a ON a.bench_item_id = b.id AND a.model = ? "
        "LEFT JOIN bench_grades g ON g.bench_answer_id = a.id",
        (model,),
    )
    by_preference: dict[str, list[tuple[str | None, int | None]]] = defaultdict(list)
    for preference, state, rating in grades:
        by_preference[preference].append((state, rating))
    numbers: dict[str, dict[str, float]] = {}
    for preference, graded in by_preference.items():
        assert len(graded) == 100
        counted = [rating if state == "done" else 0 for state, rating in graded]
        readable = [rating for state, rating in graded if state == "done"]
        numbers[preference] = {
            "score": sum(counted) / 100,
            "mean_readable": sum(readable) / len(readable),
            "graded": sum(state in ("done", "unparsed") for state, _ in graded),
            "unparsed": sum(state == "unparsed" for state, _ in graded),
            "sd": _sd(counted),
        }
    numbers[OVERALL] = {
        "score": sum(numbers[p]["score"] for p in PREFERENCES) / 5,
        "mean_readable": sum(numbers[p]["mean_readable"] for p in PREFERENCES) / 5,
        "graded": sum(numbers[p]["graded"] for p in PREFERENCES),
        "unparsed": sum(numbers[p]["unparsed"] for p in PREFERENCES),
        "sd": math.sqrt(sum(numbers[p]["sd"] ** 2 for p in PREFERENCES)) / 5,
    }
    return numbers


def _sd(values: list[int]) -> float:
    mean = sum(values) / len(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / len(values))


def test_the_report_gives_the_papers_numbers_on_a_full_bench(cli, server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws",
        server.base_url,
        ["alpha", "beta"],
        ["judge-varied"],
        instructions=[],
        bench_items=500,
        max_retries=0,
    )
    for model in ("alpha", "beta"):
        run = cli("bench", "--model", model, "--reference", "gpt-4-turbo", "-w", ws)
        assert run.code == 1 and "HTTP 500: the server is on fire" in run.out, run.err
    # alpha's failed grades are asked again and succeed; beta's stay failed.
    server.varied_failures = False
    retried = cli(
        "bench", "--model", "alpha", "--reference", "gpt-4-turbo", "--retry-failed", "-w", ws
    )
    assert retried.code == 0, retried.err
    states = dict(
        rows(
            ws,
            "SELECT a.model || ':' || g.state, count(*) FROM bench_grades g "
            "JOIN bench_answers a ON a.id = g.bench_answer_id GROUP BY 1",
        )
    )
    # The bench holds every case: readable, unreadable, and (for beta) failed grades.
    assert states["alpha:unparsed"] > 20 and "alpha:failed" not in states
    assert states["beta:unparsed"] > 20 and states["beta:failed"] > 20

    report = cli("bench-report", "--format", "json", "-w", ws)
    assert report.code == 0, report.err
    records = {(r["model"], r["preference"]): r for r in json.loads(report.out)}
    assert len(records) == 12
    for model in ("alpha", "beta"):
        expected = paper_scores(ws, model)
        for column in (*PREFERENCES, OVERALL):
            got = records[(model, column)]
            want = expected[column]
            items = 500 if column == OVERALL else 100
            assert got["score"] == pytest.approx(want["score"], abs=5e-4), (model, column)
            assert got["mean_readable"] == pytest.approx(want["mean_readable"], abs=5e-4)
            assert (got["items"], got["graded"], got["unparsed"]) == (
                items,
                want["graded"],
                want["unparsed"],
            )
            assert got["coverage"] == f"{want['graded']}/{items}"
            # Coverage is the record's; complete is the whole run's.
            assert got["complete"] is (expected[OVERALL]["graded"] == 500)
            # A 95% interval holds the score and is about 1.96 standard errors each side.
            assert got["ci95_low"] <= got["score"] <= got["ci95_high"]
            half = (got["ci95_high"] - got["ci95_low"]) / 2
            standard_error = want["sd"] / math.sqrt(100)
            assert 1.96 * standard_error * 0.75 < half < 1.96 * standard_error * 1.25
            assert got["protocol"] == "paper" and got["judge"] == "judge-varied"
    assert records[("alpha", OVERALL)]["complete"] is True
    assert records[("beta", OVERALL)]["complete"] is False
    # The complete run is ranked; the incomplete one is not, and comes after it.
    assert records[("alpha", OVERALL)]["rank"] == 1 and records[("beta", OVERALL)]["rank"] is None
    order = [r["model"] for r in json.loads(report.out) if r["preference"] == OVERALL]
    assert order == ["alpha", "beta"]

    table = cli("bench-report", "-w", ws).out
    beta_coverage = records[("beta", OVERALL)]["coverage"]
    assert f"{beta_coverage} incomplete" in table and "500/500" in table
    alpha_line = next(line for line in table.splitlines() if line.startswith("1 "))
    assert "alpha" in alpha_line and f"{records[('alpha', OVERALL)]['score']:.2f}" in alpha_line
    csv_text = cli("bench-report", "--format", "csv", "-w", ws).out
    header = csv_text.splitlines()[0]
    assert header.startswith("rank,model,protocol,grading,judge,reference,preference,score")


class Grade:
    def __init__(self, model, preference, rating, item, protocol="paper", grading="g1"):
        self.model, self.protocol, self.judge, self.reference_model = model, protocol, "j", "r"
        self.preference, self.rating, self.item_id = preference, rating, item
        self.grading = grading


def test_an_incomplete_run_is_never_ranked_above_a_complete_one():
    bench = {"r": {"style": {1, 2}, "readability": {3, 4}}}
    complete = [
        Grade("low", "style", 2, 1),
        Grade("low", "style", 2, 2),
        Grade("low", "readability", 2, 3),
        Grade("low", "readability", None, 4),  # unreadable: 0
    ]
    # Higher grades, but one item has none yet.
    partial = [
        Grade("high", "style", 9, 1),
        Grade("high", "style", 9, 2),
        Grade("high", "readability", 9, 3),
    ]
    board = leaderboard(complete + partial, bench)
    assert [(row.model, row.rank) for row in board] == [("low", 1), ("high", None)]
    low = board[0].scores
    assert low["style"].score == 2.0 and low["readability"].score == 1.0
    assert low[OVERALL].score == 1.5  # the mean of the preference means
    assert low["readability"].mean_readable == 2.0 and low[OVERALL].mean_readable == 2.0
    high = board[1].scores
    assert high["readability"].score == 4.5  # the missing item counts 0
    assert high[OVERALL].coverage == "3/4" and not board[1].complete


def test_the_overall_is_a_mean_of_preference_means_not_a_pooled_mean():
    bench = {"r": {"style": {1}, "readability": {2, 3, 4}}}
    grades = [
        Grade("m", "style", 10, 1),
        Grade("m", "readability", 1, 2),
        Grade("m", "readability", 1, 3),
        Grade("m", "readability", 1, 4),
    ]
    overall = leaderboard(grades, bench)[0].scores[OVERALL]
    assert overall.score == pytest.approx(5.5)  # pooled over items it would be 3.25
    assert overall.ci_low <= overall.score <= overall.ci_high


def test_protocols_are_never_mixed_in_one_row():
    bench = {"r": {"style": {1, 2}}}
    grades = [Grade("m", "style", 8, 1), Grade("m", "style", 4, 2, protocol="t=0.7")]
    board = leaderboard(grades, bench)
    assert {(row.protocol, row.overall.coverage) for row in board} == {
        ("paper", "1/2"),
        ("t=0.7", "1/2"),
    }


def test_the_newest_grade_of_an_item_counts_once():
    bench = {"r": {"style": {1}}}
    board = leaderboard([Grade("m", "style", 3, 1), Grade("m", "style", 7, 1)], bench)
    assert board[0].overall.score == 7.0 and board[0].overall.graded == 1


def test_grades_of_two_grading_recipes_are_two_rows_told_apart():
    bench = {"r": {"style": {1}}}
    grades = [Grade("m", "style", 3, 1, grading="a" * 64), Grade("m", "style", 7, 1)]
    board = leaderboard(grades + [Grade("n", "style", 5, 1)], bench)
    labels = {row.label: row.overall.score for row in board}
    assert labels == {"m (grading aaaaaaaa)": 3.0, "m (grading g1)": 7.0, "n": 5.0}


def test_equal_scores_share_a_rank():
    bench = {"r": {"style": {1, 2}}}
    grades = [Grade(m, "style", r, i) for m, r in (("a", 6), ("b", 6), ("c", 4)) for i in (1, 2)]
    assert [(row.model, row.rank) for row in leaderboard(grades, bench)] == [
        ("a", 1),
        ("b", 1),
        ("c", 3),
    ]


def test_bench_answers_follow_the_papers_protocol_by_default(cli, server, tmp_path):
    from cuf_tui.prompts import load_prompts

    ws = make_workspace(
        tmp_path / "ws",
        server.base_url,
        ["alpha"],
        ["judge-markdown"],
        instructions=[],
        bench_items=5,
    )
    run = cli("bench", "--model", "alpha", "--reference", "gpt-4-turbo", "-w", ws)
    assert run.code == 0, run.err
    prompts = load_prompts(ws)
    asked = [r for r in server.requests if r.model == "alpha"]
    assert len(asked) == 5
    items = dict(rows(ws, "SELECT text, preference FROM bench_items"))
    for request in asked:
        # No system prompt: the preference's first principle, a blank line, the item.
        assert [m["role"] for m in request.messages] == ["user"]
        principle, instruction = request.messages[0]["content"].split("\n\n", 1)
        assert principle == prompts.principles(items[instruction])[0]
        # Greedy, up to 1,024 new tokens, and no nucleus setting sent.
        assert request.body["temperature"] == 0 and request.body["max_tokens"] == 1024
        assert "top_p" not in request.body
    stored = rows(ws, "SELECT DISTINCT protocol, sampling FROM bench_answers")
    assert stored == [("paper", '{"max_tokens": 1024, "temperature": 0.0}')]

    # Another protocol, chosen in cuf.toml, is stored as such and shown apart.
    config = (ws / "cuf.toml").read_text()
    config = config.replace(
        "[[models]]",
        '[bench]\ntemperature = 0.7\nprinciple = "random"\nprinciple_in = "system"\n\n[[models]]',
        1,
    )
    (ws / "cuf.toml").write_text(config + model_entry("models", "alpha-2", server.base_url))
    run = cli("bench", "--model", "alpha-2", "--reference", "gpt-4-turbo", "-w", ws)
    assert run.code == 0, run.err
    other = [r for r in server.requests if r.model == "alpha-2"]
    assert all([m["role"] for m in r.messages] == ["system", "user"] for r in other)
    assert all(r.body["temperature"] == 0.7 and "top_p" not in r.body for r in other)
    protocol = "temperature 0.7, principle random, principle_in system"
    assert rows(ws, "SELECT DISTINCT protocol FROM bench_answers WHERE model = 'alpha-2'") == [
        (protocol,)
    ]
    report = cli("bench-report", "-w", ws).out
    assert f"alpha-2 ({protocol})" in report


def test_each_response_of_an_instruction_draws_its_own_principle(cli, server, tmp_path):
    models = ["alpha", "beta", "gamma", "delta"]
    ws = make_workspace(tmp_path / "ws", server.base_url, models, [])
    run = cli("generate", "-w", ws)
    assert run.code == 0, run.err
    drawn = rows(
        ws,
        "SELECT instruction_id, count(DISTINCT principle) FROM responses GROUP BY instruction_id",
    )
    assert len(drawn) == 10
    # Four draws from ten principles: most instructions get more than one principle.
    assert sum(distinct > 1 for _, distinct in drawn) >= 8
    again = rows(ws, "SELECT instruction_id, model, principle FROM responses ORDER BY 1, 2")
    systems = {
        (r.model, r.messages[1]["content"]): r.messages[0]["content"] for r in server.requests
    }
    assert len({p for _, _, p in again}) > 5
    assert all(any(p in s for s in systems.values()) for _, _, p in again)


def test_a_bench_run_under_a_new_protocol_says_which_answers_were_made_otherwise(
    cli, server, tmp_path
):
    ws = make_workspace(
        tmp_path / "ws",
        server.base_url,
        ["alpha"],
        ["judge-markdown", "judge-json"],
        instructions=[],
        bench_items=4,
    )
    assert cli("bench", "--model", "alpha", "--reference", "gpt-4-turbo", "-w", ws).code == 0
    config = (
        (ws / "cuf.toml")
        .read_text()
        .replace("[[models]]", "[bench]\nmax_tokens = 2048\n\n[[models]]", 1)
    )
    (ws / "cuf.toml").write_text(config)
    dry = cli(
        "bench",
        "--model",
        "alpha",
        "--judge",
        "judge-json",
        "--reference",
        "gpt-4-turbo",
        "--dry-run",
        "-w",
        ws,
    )
    assert dry.code == 0, dry.err
    assert "4 of alpha's answers were made under another protocol (paper, not max_tokens 2048)" in (
        dry.out + dry.err
    )


def test_grades_of_items_without_the_reference_are_not_counted():
    bench = {"r": {"style": {1, 2}}}
    grades = [Grade("m", "style", 8, 1), Grade("m", "style", 8, 2), Grade("m", "style", 1, 3)]
    overall = leaderboard(grades, bench)[0].overall
    assert (overall.score, overall.coverage) == (8.0, "2/2")
    assert leaderboard(grades, {}) == []  # no item has the reference: no row
