"""The judge-output reader on the formats judges really write."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cuf_tui.core.judge_output import read_grade, read_judge_output


def ratings(text: str, count: int = 4) -> list[int | None]:
    read = read_judge_output(text, count)
    return [read.at(p).rating for p in range(1, count + 1)]


REQUESTED = """### Response 1
Rating: 4
Rationale: Meets the signature.

### Response 2
Rating: 2
Rationale: Ignores the constraint.

### Response 3
Rating: 5
Rationale: Exactly right.

### Response 4
Rating: 1
Rationale: Wrong language.
"""


def test_the_requested_format() -> None:
    read = read_judge_output(REQUESTED, 4)
    assert read.parsed
    assert ratings(REQUESTED) == [4, 2, 5, 1]
    assert read.at(2).rationale == "Ignores the constraint."


@pytest.mark.parametrize(
    "text",
    [
        # markdown emphasis around the labels, 4/5 notation, a preamble and closing remarks
        "Here is my evaluation of the four answers.\n\n**Response 1**\n**Rating:** 4/5\n"
        "**Rationale:** Solid.\n\n**Response 2**\n**Rating**: 2/5\n**Rationale**: Weak.\n\n"
        "**Response 3**\n- Rating: 5\n- Rationale: Great.\n\n**Response 4**\n__Rating__: 1\n"
        "__Rationale__: Off topic.\n\nOverall, Response 3 is the best of the four.",
        # the paper's headings
        "#### Output for Text 1\nRating: 4\nRationale: a\n#### Output for Text 2\nRating: 2\n"
        "Rationale: b\n#### Output for Text 3\nRating: 5\nRationale: c\n"
        "#### Output for Text 4\nRating: 1\nRationale: d\n",
        # sections in a different order
        "### Response 3\nRating: 5\nRationale: c\n\n### Response 1\nRating: 4\nRationale: a\n\n"
        "### Response 4\nRating: 1\nRationale: d\n\n### Response 2\nRating: 2\nRationale: b\n",
        # numbered sections, rationale before the rating
        "1. Rationale: clear and correct. Rating: 4\n2. Rationale: misses the point. Rating: 2\n"
        "3. Rationale: perfect. Rating: 5\n4. Rationale: wrong. Rating: 1\n",
        # headings with the rating on the same line
        "## Response 1 - Rating: 4\nGood.\n## Response 2 - Rating: 2\nPoor.\n"
        "## Response 3 - Rating: 5\nBest.\n## Response 4 - Rating: 1\nBad.\n",
        # JSON in a code fence
        'Sure:\n```json\n{"ratings": [{"response": 1, "rating": 4, "rationale": "a"},'
        '{"response": 2, "rating": "2", "rationale": "b"},{"response": 3, "rating": 5},'
        '{"response": 4, "rating": 1.0, "rationale": "d"}]}\n```',
        # bare JSON keyed by response
        '{"Response 1": {"score": 4, "explanation": "a"}, "Response 2": {"score": 2}, '
        '"Response 3": {"score": "5/5"}, "Response 4": {"score": 1}}',
        # a JSON list in response order
        '[{"rating": 4}, {"rating": 2}, {"rating": 5}, {"rating": 1}]',
        # no headings at all: ratings in order
        "Rating: 4\nRationale: a\n\nRating: 2\nRationale: b\n\nRating: 5\nRationale: c\n\n"
        "Rating: 1\nRationale: d",
        # bracketed placeholders filled in
        "### Response 1\nRating: [4]\nRationale: [fine]\n### Response 2\nRating: [2]\n"
        "### Response 3\nRating: [5]\n### Response 4\nRating: [1]\n",
    ],
)
def test_formats_judges_really_write(text: str) -> None:
    assert ratings(text) == [4, 2, 5, 1]


def test_multi_paragraph_rationales_are_kept_whole() -> None:
    text = (
        "### Response 1\nRating: 3\nRationale: First paragraph.\n\nSecond paragraph with\n"
        "1. a list\n2. of points\n\n### Response 2\nRating: 4\nRationale: Short.\n"
    )
    read = read_judge_output(text, 2)
    assert read.at(1).rationale == (
        "First paragraph.\n\nSecond paragraph with\n1. a list\n2. of points"
    )
    assert read.at(2).rating == 4


def test_na_and_out_of_range_ratings_are_no_rating() -> None:
    text = (
        "### Response 1\nRating: N/A\nRationale: cannot tell\n### Response 2\nRating: 7\n"
        "### Response 3\nRating: 0\n### Response 4\nRating: 8/10\n### Response 5\nRating: 3.5\n"
        "### Response 6\nRating: 5\n"
    )
    assert ratings(text, 6) == [None, None, None, None, None, 5]


def test_a_comparison_sentence_is_not_a_section_header() -> None:
    text = (
        "### Response 1\nRating: 4\nRationale: Good, though Response 2 handles errors better.\n"
        "Response 2 is more complete.\n### Response 2\nRating: 5\nRationale: Complete.\n"
    )
    read = read_judge_output(text, 2)
    assert [read.at(1).rating, read.at(2).rating] == [4, 5]
    assert "Response 2 is more complete." in read.at(1).rationale


def test_missing_sections_leave_those_unrated_and_the_judgment_unread() -> None:
    read = read_judge_output("### Response 2\nRating: 3\nRationale: ok\n", 4)
    assert not read.parsed  # a repair is asked for the responses left out
    assert [read.at(p).rating for p in range(1, 5)] == [None, 3, None, None]


@pytest.mark.parametrize(
    "text",
    [
        "All four answers are reasonable; I prefer the first.",
        "",
        "### Response 1\nThis one is fine.\n### Response 2\nThis one is not.",
        '{"verdict": "response 1 wins"}',
        "Rating: 4\nRating: 3",  # two ratings for four responses: cannot attribute
    ],
)
def test_unreadable_answers_are_not_parsed(text: str) -> None:
    assert not read_judge_output(text, 4).parsed


def test_sections_beyond_the_count_are_ignored() -> None:
    text = "### Response 1\nRating: 2\n### Response 9\nRating: 5\n"
    read = read_judge_output(text, 2)
    assert read.at(1).rating == 2 and 9 not in read.by_position


@given(st.lists(st.one_of(st.none(), st.integers(1, 5)), min_size=1, max_size=6), st.randoms())
def test_requested_format_round_trips_in_any_order(given_ratings, rng) -> None:
    sections = [
        f"### Response {i}\nRating: {'N/A' if r is None else r}\nRationale: reason {i}\n"
        for i, r in enumerate(given_ratings, start=1)
    ]
    rng.shuffle(sections)
    read = read_judge_output("Preamble.\n\n" + "\n".join(sections), len(given_ratings))
    assert [read.at(i).rating for i in range(1, len(given_ratings) + 1)] == given_ratings
    assert all(read.at(i).rationale == f"reason {i}" for i in range(1, len(given_ratings) + 1))


HOSTILE_ANSWERS = [
    # What a judge cut off at max_tokens while writing whitespace gives: each of these took
    # from seconds to hours with patterns that could split a run of blanks many ways.
    "Rating: " + " " * 5000,
    "Score" + "\n" * 5000 + "x",
    "Rating" + " " * 5000 + "x",
    "**Rating**" + " \t" * 2500 + "*",
    "### " + " " * 5000 + "Response 1" + " " * 5000 + "x",
    "Rationale" + " " * 5000 + "-" * 3,
    "7" + " " * 5000 + "/",
    "[" * 5000,  # nested deeper than json can follow
    "{" * 5000,
]


@pytest.mark.parametrize("answer", HOSTILE_ANSWERS, ids=range(len(HOSTILE_ANSWERS)))
def test_a_hostile_answer_is_read_at_once_as_unreadable(answer: str) -> None:
    started = time.perf_counter()
    grade = read_grade(answer)
    judgment = read_judge_output(answer, 3)
    assert time.perf_counter() - started < 2.0, "the reader backtracked over the answer"
    assert grade.rating is None
    assert not judgment.parsed


@pytest.mark.parametrize(
    ("answer", "grade"),
    [
        ("Close to the reference.\n\nRating: 7", 7),
        ("Rating: 8/10", 8),
        ("Rating: 10 out of 10", 10),
        ("Good.\nRating: 7/10\n\nSo, once more, Rating: 7", 7),  # the same grade twice
        ("Rating: 9 for the code. Rating: 1 is the worst a response can get.", None),
        ("Rating: 0/10", None),  # grades are 1-10
        ("Rating: 85/100", None),  # another scale
        ("Rating: 8/100", None),
        ("Solid work overall: 8/10", 8),
        ("The verdict: [[6]]", 6),
        ('{"rationale": "fine", "rating": "9/10"}', 9),
        ("No number at all.", None),
    ],
)
def test_grades_are_read_only_when_they_are_one_grade_on_the_ten_point_scale(
    answer: str, grade: int | None
) -> None:
    assert read_grade(answer).rating == grade


@pytest.mark.parametrize(
    ("answer", "grade"),
    [
        ("Rating: 8.5", None),
        ("Rating: 8.5/10", None),
        ("Rating: -3/10", None),
        ("Its earlier Rating 5 was wrong; I give 7/10", None),  # two grades: ambiguous
    ],
)
def test_decimal_and_negative_grades_are_no_grade(answer: str, grade: int | None) -> None:
    assert read_grade(answer).rating == grade


@pytest.mark.parametrize(
    "answer",
    [
        "Response 1:\n" * 100_000,
        "1.\n" * 300_000,
        "Response 1:\nRating: 4\n" * 50_000,
        "```\n" * 250_000,
    ],
)
def test_many_headings_are_read_in_linear_time(answer: str) -> None:
    started = time.perf_counter()
    read_judge_output(answer, 4)
    read_grade(answer)
    assert time.perf_counter() - started < 3.0, "the reader is not linear in the headings"
