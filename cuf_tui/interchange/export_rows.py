"""The rows of each export layout, and the train/test split: what `cuf-tui export` writes
(`exporter` writes them to disk).

- ``cuf``: the CodeUltraFeedback row (instruction, preference, models, responses,
  annotations), with the judge and its answer.
- ``binarized``: the paper's binarized dataset: every column of the cuf row, plus ``chosen``
  and ``rejected`` as strings (a highest- and a lowest-rated response, ties drawn at random),
  with their ratings and models. Its DPO script reads the ``instruction`` column.
- ``dpo``: TRL's conversational preference pairs (prompt, chosen, rejected as messages).
- ``instructions``: the instructions alone.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from cuf_tui.analysis.binarize import (
    PreferencePair,
    RatedResponse,
    Strategy,
    Ties,
    binarize,
    pair_rng,
)
from cuf_tui.analysis.panel import PanelMethod, panel_judgments, panel_members
from cuf_tui.core.records import rating_to_dataset
from cuf_tui.errors import CufError
from cuf_tui.store.db import Store
from cuf_tui.store.queries import (
    StoredInstruction,
    StoredJudgment,
    StoredReview,
    consensus_rating,
    cut_off_responses,
    instructions_with_responses,
    latest_judgments,
    stored_reviews,
)

ExportFormat = Literal["cuf", "binarized", "dpo", "instructions"]
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = ("cuf", "binarized", "dpo", "instructions")
PAIRED: Final = ("binarized", "dpo")  # layouts of one row per preference pair
# How each paired layout treats an instruction whose responses all tie, unless told: the
# paper's binarized dataset kept them; a tie teaches DPO no preference.
DEFAULT_TIES: Final[dict[str, Ties]] = {"binarized": "keep", "dpo": "drop"}


class ExportError(CufError):
    """An export cannot be written as asked."""


@dataclass(frozen=True)
class ExportOptions:
    """What an export takes, whatever it is written to."""

    strategy: Strategy = "best-worst"  # dpo: which pairs
    seed: int = 42  # ties broken, splits drawn
    judge: str | None = None  # whose ratings (None: each instruction's latest judgment)
    preferred_judge: str | None = None  # without judge: this one's where it has judged
    # Several judges' ratings combined (see analysis.panel); panel_judges: who sits on it
    # (empty: every judge in the store).
    panel: PanelMethod | None = None
    panel_judges: tuple[str, ...] = ()
    # Pairs leave out responses cut off at max_tokens unless this: a cut-off answer is not
    # the model's answer, and paired as 'rejected' it would teach that stopping mid-code is
    # the flaw. The cuf layout is the raw dataset and keeps them.
    include_truncated: bool = False
    ties: Ties | None = None  # None: the layout's default (DEFAULT_TIES)
    exclude_flagged: bool = False  # leave out every response a reviewer flagged
    reviewed_only: bool = False  # keep only responses a reviewer rated or agreed on


DEFAULT_OPTIONS = ExportOptions()


def export_rows(
    store: Store, layout: ExportFormat, options: ExportOptions = DEFAULT_OPTIONS
) -> Iterator[dict[str, Any]]:
    """The rows of an export, in instruction order (see ExportOptions); rows carry the
    reviews of their responses."""
    strategy, seed, judge = options.strategy, options.seed, options.judge
    include_truncated, ties = options.include_truncated, options.ties
    exclude_flagged, reviewed_only = options.exclude_flagged, options.reviewed_only
    if layout == "instructions" and (exclude_flagged or reviewed_only):
        chosen = "--exclude-flagged" if exclude_flagged else "--reviewed-only"
        raise ExportError(
            f"{chosen} chooses among responses, and --format instructions writes none; "
            "leave it out, or export a layout with responses (cuf, binarized, dpo)"
        )
    instructions = instructions_with_responses(store)
    reviews = stored_reviews(store)

    def kept(instruction: StoredInstruction, model: str) -> bool:
        given = reviews.get((instruction.id, model), [])
        if exclude_flagged and any(review.flagged for review in given):
            return False
        return not reviewed_only or any(review.rating is not None for review in given)

    if exclude_flagged or reviewed_only:
        for instruction in instructions:
            instruction.responses = {
                model: text
                for model, text in instruction.responses.items()
                if kept(instruction, model)
            }
            # The row names only the models whose responses it keeps.
            instruction.models = [m for m in instruction.models if m in instruction.responses]
    if layout == "instructions":
        for instruction in instructions:
            yield {
                "instruction": instruction.text,
                "preference": instruction.preference,
                "models": instruction.models,
            }
        return
    if layout not in EXPORT_FORMATS:
        raise ExportError(
            f"unknown export format {layout!r} (expected one of: {', '.join(EXPORT_FORMATS)})"
        )
    if options.panel is not None:
        members = panel_members(store, options.panel_judges)
        judgments = panel_judgments(store, options.panel, members)
    else:
        judgments = latest_judgments(store, judge, options.preferred_judge)
    if layout == "cuf":
        for instruction in instructions:
            if instruction.responses:
                yield _cuf_row(instruction, judgments.get(instruction.id), reviews)
        return
    reviewed = {
        key: rating
        for key, given in reviews.items()
        if (rating := consensus_rating(given)) is not None
    }
    cut_off = set() if include_truncated else cut_off_responses(store)
    tied = ties or DEFAULT_TIES[layout]
    for instruction in instructions:
        judgment = judgments.get(instruction.id)
        rated = _rated(instruction, judgment, reviewed, cut_off)
        if layout == "binarized":
            # The paper's pair: a highest- against a lowest-rated response.
            rng = pair_rng(seed, instruction.key)
            for pair in binarize(rated, "best-worst", rng, tied):
                yield _binarized_row(instruction, judgment, pair, reviews)
        else:
            rng = pair_rng(seed, instruction.key)
            for pair in binarize(rated, strategy, rng, tied):
                yield _dpo_row(instruction, judgment, pair, reviews)


def _rated(
    instruction: StoredInstruction,
    judgment: StoredJudgment | None,
    reviewed: dict[tuple[int, str], int],
    cut_off: set[tuple[int, str]],
) -> list[RatedResponse]:
    """The instruction's responses that have a rating: the reviewers' (their median) before
    the judge's."""
    judge_said = {r.model: r.rating for r in judgment.ratings} if judgment else {}
    rated: list[RatedResponse] = []
    for model, text in instruction.responses.items():
        if (instruction.id, model) in cut_off:
            continue
        human = reviewed.get((instruction.id, model))
        rating = human if human is not None else judge_said.get(model)
        if rating is not None:
            rated.append(RatedResponse(model, text, rating, human=human is not None))
    return rated


Reviews = dict[tuple[int, str], list[StoredReview]]


def _cuf_row(
    instruction: StoredInstruction, judgment: StoredJudgment | None, reviews: Reviews
) -> dict[str, Any]:
    shown = set(instruction.responses)
    return {
        "instruction": instruction.text,
        "preference": instruction.preference,
        "models": instruction.models or list(instruction.responses),
        "responses": [
            {"model": model, "response": text} for model, text in instruction.responses.items()
        ],
        "annotations": [
            {"model": r.model, "rating": rating_to_dataset(r.rating), "rationale": r.rationale}
            | ({} if r.by_judge is None else {"panel": r.by_judge})
            for r in (judgment.ratings if judgment else [])
            if r.model in shown
        ],
        "judge": judgment.judge if judgment else None,
        "judge_output": judgment.raw_output if judgment else None,
        "reviews": [
            {"model": model, **review.as_record()}
            for model in instruction.responses
            for review in reviews.get((instruction.id, model), [])
        ],
    }


def _review_of(
    instruction: StoredInstruction, model: str, reviews: Reviews
) -> list[dict[str, object]]:
    """The reviews of one response, one per reviewer."""
    return [review.as_record() for review in reviews.get((instruction.id, model), [])]


def _binarized_row(
    instruction: StoredInstruction,
    judgment: StoredJudgment | None,
    pair: PreferencePair,
    reviews: Reviews,
) -> dict[str, Any]:
    return {
        **_cuf_row(instruction, judgment, reviews),
        "chosen": pair.chosen.text,
        "rejected": pair.rejected.text,
        "rating_chosen": pair.chosen.rating,
        "rating_rejected": pair.rejected.rating,
        "model_chosen": pair.chosen.model,
        "model_rejected": pair.rejected.model,
        "human_reviewed": pair.chosen.human or pair.rejected.human,
        "review_chosen": _review_of(instruction, pair.chosen.model, reviews),
        "review_rejected": _review_of(instruction, pair.rejected.model, reviews),
    }


def _dpo_row(
    instruction: StoredInstruction,
    judgment: StoredJudgment | None,
    pair: PreferencePair,
    reviews: Reviews,
) -> dict[str, Any]:
    return {
        "prompt": [{"role": "user", "content": instruction.text}],
        "chosen": [{"role": "assistant", "content": pair.chosen.text}],
        "rejected": [{"role": "assistant", "content": pair.rejected.text}],
        "preference": instruction.preference,
        "model_chosen": pair.chosen.model,
        "model_rejected": pair.rejected.model,
        "rating_chosen": pair.chosen.rating,
        "rating_rejected": pair.rejected.rating,
        "human_reviewed": pair.chosen.human or pair.rejected.human,
        "judge": judgment.judge if judgment else None,
        "judge_template_sha256": judgment.template_sha256 if judgment else None,
        "review_chosen": _review_of(instruction, pair.chosen.model, reviews),
        "review_rejected": _review_of(instruction, pair.rejected.model, reviews),
    }


def split_by_preference(
    rows: Sequence[dict[str, Any]], test_size: float, seed: int
) -> dict[str, list[dict[str, Any]]]:
    """``train`` and ``test`` rows, stratified by preference as the paper split its data:
    within each preference the rows are shuffled (seeded) and ``test_size`` of them, rounded,
    go to test. Every row lands in one split; each split keeps the export's order."""
    by_preference: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        by_preference[str(row["preference"])].append(index)
    test: set[int] = set()
    for preference, indices in sorted(by_preference.items()):
        shuffled = list(indices)
        random.Random(f"{seed}:split:{preference}").shuffle(shuffled)
        test.update(shuffled[: round(len(shuffled) * test_size)])
    return {
        "train": [row for i, row in enumerate(rows) if i not in test],
        "test": [row for i, row in enumerate(rows) if i in test],
    }
