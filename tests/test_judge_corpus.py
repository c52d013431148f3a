"""The four-response reader held to a corpus of judge answers (tests/judge_answers.toml):
the shapes the paper's scripts read, and every shape the workbench read before."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from cuf_tui.core.judge_output import read_judge_output

CORPUS = tomllib.loads((Path(__file__).parent / "judge_answers.toml").read_text("utf-8"))
ANSWERS = CORPUS["answer"]


def test_the_corpus_is_large_enough() -> None:
    assert len(ANSWERS) >= 36
    assert len({a["name"] for a in ANSWERS}) == len(ANSWERS)


@pytest.mark.parametrize("answer", ANSWERS, ids=[a["name"] for a in ANSWERS])
def test_the_reader_reads_each_answer_as_the_corpus_says(answer: dict[str, Any]) -> None:
    read = read_judge_output(answer["text"], 4)
    got: list[int | str] = []
    for position in range(1, 5):
        rating = read.at(position)
        got.append(rating.rating if rating.rating is not None else "N/A" if rating.na else "-")
    assert got == answer["ratings"]
    assert read.parsed is answer["parsed"]
    for position in (2, 4):
        rationale = read.at(position).rationale
        if f"in_{position}" in answer:
            assert answer[f"in_{position}"] in rationale
        if f"not_in_{position}" in answer:
            assert answer[f"not_in_{position}"] not in rationale
