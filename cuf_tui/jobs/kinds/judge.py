"""Judging: every instruction whose responses are all there, its responses shown to the
judge in a seeded shuffled order under the preference's rubric; each rating mapped back to
its response through that order."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cuf_tui.config import Config, ModelEntry
from cuf_tui.core.families import same_family
from cuf_tui.core.judge_output import judgment_schema, read_judge_output
from cuf_tui.core.preferences import Preference
from cuf_tui.engines.openai_client import ChatEndpoint, response_format
from cuf_tui.jobs.kinds.asking import Verdict, ask_judge
from cuf_tui.jobs.kinds.base import (
    COUNT,
    FLAG,
    NAME,
    Planning,
    Work,
    but_failed,
    checked_params,
)
from cuf_tui.jobs.plan import Estimate, JudgePlan, JudgeUnit, estimate_judging, plan_judging
from cuf_tui.jobs.scheduler import Batch, UnitWork
from cuf_tui.store.claims import UnitClaim, claim_key
from cuf_tui.store.judgments import JudgedRating, save_judgment

if TYPE_CHECKING:
    from cuf_tui.jobs.kinds.base import BatchPlan


@dataclass(frozen=True)
class JudgeRequest:
    kind: ClassVar[str] = "judge"
    judge: str | None = None  # None: the first [[judges]] entry
    limit: int | None = None
    retry_failed: bool = False

    def params(self) -> dict[str, Any]:
        return {"judge": self.judge, "limit": self.limit, "retry_failed": self.retry_failed}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> JudgeRequest:
        checked_params(cls.kind, params, {"judge": NAME, "limit": COUNT, "retry_failed": FLAG})
        return cls(params["judge"], params["limit"], params["retry_failed"])

    def plan(self, planning: Planning) -> BatchPlan:
        plan = plan_judging(
            planning.store,
            planning.config,
            planning.prompts,
            self.judge,
            self.limit,
            self.retry_failed,
        )
        judged = {model for unit in plan.units for model in unit.responses}
        return JudgePlanned(
            JudgeRequest(plan.judge.name, self.limit, self.retry_failed),
            plan,
            own_family_models(planning.config, plan.judge, judged),
        )


def own_family_models(config: Config, judge: ModelEntry, models: Iterable[str]) -> list[str]:
    """The models among ``models`` of the judge's own family, whose answers it may favour."""
    family = judge.model_family
    return sorted(m for m in models if same_family(config.family_of(m), family))


def self_preference_warning(judge: ModelEntry, own: list[str]) -> str | None:
    """What to tell a user about to judge answers of the judge's own family."""
    if not own:
        return None
    return (
        f"{judge.name} ({judge.model_family}) judges answers of its own family "
        f"({', '.join(own)}); it may favour them: `cuf-tui probe self --judge {judge.name}` "
        "measures it against another judge or the reviewers"
    )


@dataclass(frozen=True)
class JudgePlanned:
    request: JudgeRequest
    plan: JudgePlan
    own_family: list[str]  # models judged that share the judge's family

    @property
    def requests(self) -> int:
        return len(self.plan.units)

    @property
    def endpoints(self) -> list[ModelEntry]:
        return [self.plan.judge] if self.plan.units else []

    @property
    def skipped_failures(self) -> int:
        return self.plan.skipped_failures

    @property
    def assignments(self) -> int:
        return 0

    def headline(self) -> str | None:
        return None

    def notes(self) -> list[str]:
        notes = []
        if self.plan.waiting:
            notes.append(
                f"{self.plan.waiting} instructions wait for responses before they can be judged"
            )
        warning = self_preference_warning(self.plan.judge, self.own_family)
        if warning:
            notes.append(warning)
        return notes

    def nothing_to_do(self) -> str:
        if not self.plan.instructions:
            return "Nothing to judge: the store holds no instructions (import some first)."
        if self.plan.waiting == self.plan.instructions:
            return (
                "Nothing to judge yet: no instruction has all its responses "
                "(`cuf-tui generate` makes them)."
            )
        judge = self.plan.judge.name
        return f"Nothing to judge: {judge} has judged every complete instruction" + but_failed(
            self.skipped_failures
        )

    def estimates(self, planning: Planning) -> list[Estimate]:
        return [estimate_judging(planning.store, planning.prompts, self.plan)]

    def work(self, batch: Batch, planning: Planning) -> Work:
        async def work() -> None:
            await batch.send(self.plan.judge, self.plan.units, lambda e: _judging_work(batch, e))

        return work


async def judge_in_order(
    batch: Batch,
    endpoint: ChatEndpoint,
    instruction: str,
    preference: Preference,
    shown: list[str],
) -> Verdict[Any]:
    """One judge request: the instruction and the responses in the order ``shown``, under
    the preference's rubric; its answer read, and repaired once when it cannot be."""
    entry = endpoint.entry
    count = len(shown)
    messages = batch.prompts.judge_messages(
        instruction, preference, shown, entry.judge_prompt_format
    )
    return await ask_judge(
        batch,
        endpoint,
        messages,
        batch.prompts.repair_message(count),
        lambda text: read_judge_output(text, count),
        lambda read: read.parsed,
        response_format(entry, judgment_schema(count, entry.max_tokens)),
    )


def ratings_in_order(order: list[str], verdict: Verdict[Any]) -> list[JudgedRating]:
    """Each rating the judge gave, mapped back to its response through the order shown."""
    read = verdict.read
    if read is None:
        return []
    return [
        JudgedRating(order[p - 1], p, read.at(p).rating, read.at(p).rationale)
        for p in range(1, len(order) + 1)
    ]


def _judging_work(batch: Batch, endpoint: ChatEndpoint) -> UnitWork[JudgeUnit, Verdict[Any]]:
    entry = endpoint.entry
    judge = entry.name
    prompt_format = entry.judge_prompt_format

    def order_of(unit: JudgeUnit) -> list[str]:
        order = list(unit.responses)
        random.Random(f"{batch.seed}:order:{judge}:{unit.instruction.key}").shuffle(order)
        return order

    def template(unit: JudgeUnit) -> str:
        return batch.prompts.judge_template_sha256(unit.preference, prompt_format)

    async def record(unit: JudgeUnit, verdict: Verdict[Any]) -> None:
        order = order_of(unit)
        ratings = ratings_in_order(order, verdict)
        stored = await batch.writes(
            save_judgment,
            batch.store,
            batch.job_id,
            unit.instruction.id,
            judge,
            template(unit),
            verdict.attempt,
            order_shown=order,
            raw_output=verdict.raw,
            ratings=ratings,
            repaired=verdict.repaired,
            claim=UnitClaim(claim(unit), batch.token),
        )
        batch.account(verdict.attempt, stored)

    async def ask(unit: JudgeUnit) -> Verdict[Any]:
        shown = [unit.responses[m] for m in order_of(unit)]
        return await judge_in_order(batch, endpoint, unit.instruction.text, unit.preference, shown)

    def failure(unit: JudgeUnit, error: str) -> Verdict[Any]:
        return Verdict.failure(error)

    def claim(unit: JudgeUnit) -> str:
        return claim_key("judgment", unit.instruction.id, judge, template(unit))

    return UnitWork(ask, record, failure, claim)
