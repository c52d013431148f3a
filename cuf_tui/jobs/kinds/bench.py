"""A CODAL-Bench run: the model under test answers the bench items (its server first), then
the judge grades each answer alone against a reference answer (the grades are planned again
from the store once the answers are in)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

from cuf_tui.config import BenchSection, Config, ModelEntry
from cuf_tui.core.judge_output import grade_schema, read_grade
from cuf_tui.core.preferences import Preference
from cuf_tui.engines.openai_client import ChatEndpoint, response_format
from cuf_tui.jobs.bench_plan import BenchPlan, GradeUnit, estimate_bench, plan_bench
from cuf_tui.jobs.kinds.asking import Answer, Verdict, answer, ask_judge, sampling_of
from cuf_tui.jobs.kinds.base import (
    COUNT,
    FLAG,
    NAME,
    ParamsError,
    Planning,
    Work,
    but_failed,
    checked_params,
)
from cuf_tui.jobs.plan import Estimate
from cuf_tui.jobs.scheduler import Batch, Maker, UnitWork
from cuf_tui.store.bench import (
    BenchItemRow,
    answer_protocols,
    answered_models,
    reference_models,
    save_bench_answer,
)
from cuf_tui.store.claims import UnitClaim, claim_key
from cuf_tui.store.db import Store
from cuf_tui.store.grades import save_bench_grade

if TYPE_CHECKING:
    from cuf_tui.jobs.kinds.base import BatchPlan


def bench_choices(store: Store, config: Config) -> list[tuple[str, str, int]]:
    """(model, reference model, items) a bench run can take: every model of the pool or with
    imported answers, against every reference model of the bench but its own (a model graded
    against its own answers tells nothing)."""
    references = reference_models(store)
    models = [entry.name for entry in config.models]
    models += [m for m in answered_models(store) if m not in models]
    return [(m, ref, count) for m in models for ref, count in references.items() if ref != m]


@dataclass(frozen=True)
class BenchRequest:
    kind: ClassVar[str] = "bench"
    model: str = ""  # the model under test
    judge: str | None = None  # the grader; None: the first [[judges]] entry
    reference: str | None = None  # whose reference answers; None: the only one there is
    limit: int | None = None  # items needing any work
    retry_failed: bool = False

    def params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "judge": self.judge,
            "reference": self.reference,
            "limit": self.limit,
            "retry_failed": self.retry_failed,
        }

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> BenchRequest:
        shapes = {
            "model": NAME,
            "judge": NAME,
            "reference": NAME,
            "limit": COUNT,
            "retry_failed": FLAG,
        }
        checked_params(cls.kind, params, shapes)
        if params["model"] is None:
            raise ParamsError("a bench job's parameter model is null, not a name")
        return cls(
            params["model"],
            params["judge"],
            params["reference"],
            params["limit"],
            params["retry_failed"],
        )

    def plan(self, planning: Planning) -> BatchPlan:
        plan = self.bench_plan(planning)
        resolved = BenchRequest(
            plan.model_name, plan.judge.name, plan.reference_model, self.limit, self.retry_failed
        )
        protocol = planning.config.bench.protocol
        made = answer_protocols(planning.store, plan.model_name)
        others = {p: n for p, n in made.items() if p != protocol}
        if plan.model is None:  # answers made elsewhere: no protocol of ours to compare
            others = {}
        return BenchPlanned(resolved, plan, protocol, others)

    def bench_plan(self, planning: Planning) -> BenchPlan:
        """The plan of the bench run as the store is now (grades are planned again once
        the answers are in)."""
        return plan_bench(
            planning.store,
            planning.config,
            planning.prompts,
            self.model,
            self.judge,
            self.reference,
            self.limit,
            self.retry_failed,
        )


@dataclass(frozen=True)
class BenchPlanned:
    request: BenchRequest
    plan: BenchPlan
    protocol: str = "paper"  # what new answers are made under ([bench] in cuf.toml)
    other_protocols: dict[str, int] = field(default_factory=dict)  # answers made otherwise

    @property
    def requests(self) -> int:
        return self.plan.requests

    @property
    def endpoints(self) -> list[ModelEntry]:
        if not self.plan.requests:
            return []
        answering = [self.plan.model] if self.plan.model is not None and self.plan.answers else []
        return [*answering, self.plan.judge]

    @property
    def skipped_failures(self) -> int:
        return self.plan.skipped_failures

    @property
    def assignments(self) -> int:
        return 0

    def headline(self) -> str | None:
        plan = self.plan
        return (
            f"{plan.model_name} answers {len(plan.answers)} bench items; {plan.judge.name} grades "
            f"{len(plan.answers) + len(plan.grades)} answers against {plan.reference_model}'s "
            "references (1-10)."
        )

    def notes(self) -> list[str]:
        plan = self.plan
        notes = []
        if plan.without_reference:
            notes.append(
                f"{plan.without_reference} bench items have no reference answer from "
                f"{plan.reference_model} and are left out"
            )
        if plan.unanswerable:
            notes.append(
                f"{plan.unanswerable} bench items have no answer from {plan.model_name}, "
                "which is not in [[models]], so none can be requested"
            )
        for protocol, count in self.other_protocols.items():
            notes.append(
                f"{count} of {plan.model_name}'s answers were made under another protocol "
                f"({protocol}, not {self.protocol}); they are kept, graded, and reported apart "
                "(to answer under the new protocol too, add the model to [[models]] again under "
                "another name)"
            )
        return notes

    def nothing_to_do(self) -> str:
        plan = self.plan
        if not plan.items:
            return "Nothing to do: the store holds no CODAL-Bench items (import them first)."
        return (
            f"Nothing to do: {plan.model_name} has answered every bench item and "
            f"{plan.judge.name} has graded each answer against {plan.reference_model}"
            + but_failed(self.skipped_failures)
        )

    def estimates(self, planning: Planning) -> list[Estimate]:
        return estimate_bench(planning.store, planning.prompts, self.plan)

    def work(self, batch: Batch, planning: Planning) -> Work:
        plan = self.plan

        async def work() -> None:
            if plan.model is not None:
                protocol = planning.config.bench
                await batch.send(plan.model, plan.answers, _answer_work(batch, protocol))
            grades = self.request.bench_plan(planning).grades
            await batch.set_total(batch.progress.finished + len(grades))
            await batch.send(plan.judge, grades, _grade_work(batch, plan.reference_model))

        return work


def _answer_work(batch: Batch, protocol: BenchSection) -> Maker:
    """Answers to bench items, asked under ``protocol`` (the paper's by default), which is
    stored with each."""
    settings = {"temperature": protocol.temperature, "max_tokens": protocol.max_tokens}

    def make(endpoint: ChatEndpoint) -> UnitWork[BenchItemRow, Answer]:
        model = endpoint.entry.name
        sampling = sampling_of(endpoint.entry) | settings
        if protocol.temperature == 0:
            sampling.pop("top_p", None)  # not sent: greedy decoding has no nucleus

        async def record(item: BenchItemRow, answered: Answer) -> None:
            await batch.writes(
                save_bench_answer,
                batch.store,
                batch.job_id,
                item.id,
                model,
                answered.attempt,
                principle=answered.principle,
                sampling=sampling,
                protocol=protocol.protocol,
                text=answered.text,
                claim=UnitClaim(claim(item), batch.token),
            )
            batch.account(answered.attempt)

        def principle(item: BenchItemRow) -> str:
            preference = cast(Preference, item.preference)
            if protocol.principle == "first":
                return batch.prompts.principles(preference)[0]
            return batch.prompts.choose_principle(preference, batch.seed, item.key, model)

        async def ask(item: BenchItemRow) -> Answer:
            preference = cast(Preference, item.preference)
            chosen = principle(item)
            messages = batch.prompts.bench_messages(
                item.text, preference, chosen, protocol.principle_in
            )
            overrides = {"top_p": None} if protocol.temperature == 0 else {}
            return await answer(batch, endpoint, chosen, messages, **settings, **overrides)

        def failure(item: BenchItemRow, error: str) -> Answer:
            return Answer.failure(principle(item), error)

        def claim(item: BenchItemRow) -> str:
            return claim_key("bench_answer", item.id, model)

        return UnitWork(ask, record, failure, claim)

    return make


def _grade_work(batch: Batch, reference_model: str) -> Maker:
    def make(endpoint: ChatEndpoint) -> UnitWork[GradeUnit, Verdict[Any]]:
        entry = endpoint.entry
        prompt_format = entry.judge_prompt_format
        constrained = response_format(entry, grade_schema(entry.max_tokens))

        grading = batch.prompts.grading_sha256(prompt_format)

        def template(unit: GradeUnit) -> str:
            return batch.prompts.grade_template_sha256(unit.preference, prompt_format)

        async def record(unit: GradeUnit, verdict: Verdict[Any]) -> None:
            read = verdict.read
            stored = await batch.writes(
                save_bench_grade,
                batch.store,
                batch.job_id,
                unit.answer_id,
                entry.name,
                reference_model,
                template(unit),
                verdict.attempt,
                rating=read.rating if read else None,
                rationale=read.rationale if read else None,
                raw_output=verdict.raw,
                repaired=verdict.repaired,
                claim=UnitClaim(claim(unit), batch.token),
                grading=grading,
            )
            batch.account(verdict.attempt, stored)

        async def ask(unit: GradeUnit) -> Verdict[Any]:
            messages = batch.prompts.grade_messages(
                unit.item.text, unit.preference, unit.reference, unit.answer, prompt_format
            )
            return await ask_judge(
                batch,
                endpoint,
                messages,
                batch.prompts.grade_repair_message(),
                read_grade,
                lambda read: read.rating is not None,
                constrained,
            )

        def failure(unit: GradeUnit, error: str) -> Verdict[Any]:
            return Verdict.failure(error)

        def claim(unit: GradeUnit) -> str:
            return claim_key("grade", unit.answer_id, entry.name, reference_model, template(unit))

        return UnitWork(ask, record, failure, claim)

    return make
