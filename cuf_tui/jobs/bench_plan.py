"""What a CODAL-Bench run will request: the bench items the model under test has not
answered, and the answers the judge has not graded against the chosen reference."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import cast

from cuf_tui.config import Config, ConfigError, ModelEntry
from cuf_tui.core.preferences import Preference
from cuf_tui.core.prompts import PromptSet
from cuf_tui.jobs.plan import CHARS_PER_TOKEN, Estimate, estimate_requests
from cuf_tui.store.attempts import mean_completion_tokens
from cuf_tui.store.bench import (
    BenchItemRow,
    answer_states,
    bench_items,
    reference_models,
    references,
)
from cuf_tui.store.db import Store
from cuf_tui.store.grades import grade_states

GUESSED_GRADE_TOKENS = 200


@dataclass(frozen=True)
class GradeUnit:
    item: BenchItemRow
    answer_id: int
    answer: str
    reference: str

    @property
    def preference(self) -> Preference:
        return cast(Preference, self.item.preference)


@dataclass
class BenchPlan:
    model_name: str
    model: ModelEntry | None  # None: not in [[models]]; its answers were imported
    judge: ModelEntry
    reference_model: str
    answers: list[BenchItemRow]  # to be answered by the model under test, then graded
    grades: list[GradeUnit]  # answered already, to be graded
    items: int = 0  # in the bench, whatever their state
    without_reference: int = 0  # items the chosen reference model did not answer
    unanswerable: int = 0  # items without an answer from a model that is not in [[models]]
    skipped_failures: int = 0  # failed permanently before; --retry-failed asks again

    @property
    def requests(self) -> int:
        """Requests at least: an answer and a grade per item still to answer."""
        return 2 * len(self.answers) + len(self.grades)


def choose_reference(store: Store, wanted: str | None) -> str:
    """The reference model a run grades against: the one asked for, or the only one."""
    available = reference_models(store)
    listed = ", ".join(f"{m} ({n} items)" for m, n in available.items())
    if not available:
        raise ConfigError(
            "the store holds no CODAL-Bench reference answers: import a CODAL-Bench file "
            "(`cuf-tui import FILE`) first"
        )
    if wanted is None:
        if len(available) > 1:
            raise ConfigError(f"choose a reference with --reference: the bench has {listed}")
        return next(iter(available))
    if wanted not in available:
        raise ConfigError(f"no reference answers from {wanted!r}; the bench has {listed}")
    return wanted


def plan_bench(
    store: Store,
    config: Config,
    prompts: PromptSet,
    model_name: str,
    judge_name: str | None,
    reference_wanted: str | None,
    limit: int | None,
    retry_failed: bool = False,
) -> BenchPlan:
    answered = answer_states(store, model_name)
    configured = {entry.name for entry in config.models}
    # A model outside the pool can still be graded on answers imported for it.
    model = config.model_named(model_name) if model_name in configured or not answered else None
    judge = config.judge_named(judge_name)
    reference_model = choose_reference(store, reference_wanted)
    refs = references(store, reference_model)
    graded = grade_states(store, judge.name, reference_model)
    items = bench_items(store)
    plan = BenchPlan(model_name, model, judge, reference_model, [], [], items=len(items))
    for item in items:
        if item.id not in refs:
            plan.without_reference += 1
            continue
        if limit is not None and len(plan.answers) + len(plan.grades) >= limit:
            break
        state = answered.get(item.id)
        if state is None or state[0] == "failed":
            if model is None:
                plan.unanswerable += 1
                continue
            if state is not None and state[1] and not retry_failed:
                plan.skipped_failures += 1
                continue
            plan.answers.append(item)
            continue
        _, _, answer_id, text = state
        template = prompts.grade_template_sha256(
            cast(Preference, item.preference), judge.judge_prompt_format
        )
        grade = graded.get((answer_id, template))
        if grade is not None and grade[0] in ("done", "unparsed"):
            continue
        if grade is not None and grade[1] and not retry_failed:
            plan.skipped_failures += 1
            continue
        plan.grades.append(GradeUnit(item, answer_id, text or "", refs[item.id]))
    return plan


def estimate_bench(store: Store, prompts: PromptSet, plan: BenchPlan) -> list[Estimate]:
    """Tokens and cost of the answers (model under test) and the grades (judge)."""
    system = len(prompts.render("generate_system.j2", principle="x" * 200, preference="style"))
    answer_input = sum(len(i.text) + system for i in plan.answers) // CHARS_PER_TOKEN
    measured = mean_completion_tokens(store, "bench_answers", "model", plan.model_name)
    max_tokens = plan.model.max_tokens if plan.model is not None else 1024
    per_answer = measured if measured is not None else max_tokens / 2
    estimates = []
    if plan.answers and plan.model is not None:
        answers = estimate_requests(
            plan.model, len(plan.answers), answer_input, per_answer, measured
        )
        estimates.append(replace(answers, name=f"{answers.name} (answers)"))
    grade_count = len(plan.grades) + len(plan.answers)
    if grade_count:
        template = len(
            prompts.render(
                "bench_grade.j2",
                criteria="x" * 600,
                preference="style",
                instruction="",
                reference="",
                answer="",
            )
        )
        grade_chars = sum(len(g.item.text) + len(g.reference) + len(g.answer) for g in plan.grades)
        grade_chars += sum(
            len(i.text) + int(per_answer * CHARS_PER_TOKEN) * 2 for i in plan.answers
        )
        grade_input = (grade_chars + template * grade_count) // CHARS_PER_TOKEN
        graded = mean_completion_tokens(store, "bench_grades", "judge", plan.judge.name)
        per_grade = graded if graded is not None else GUESSED_GRADE_TOKENS
        grades = estimate_requests(plan.judge, grade_count, grade_input, per_grade, graded)
        estimates.append(replace(grades, name=f"{grades.name} (grades)"))
    return estimates
