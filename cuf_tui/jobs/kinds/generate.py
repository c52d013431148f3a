"""Generation: the missing responses of the model pool, each model asked under a principle
of the instruction's preference; models the workbench serves itself take the GPUs one after
another, others are sent to all the while."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from cuf_tui.config import ModelEntry
from cuf_tui.engines.openai_client import ChatEndpoint
from cuf_tui.jobs.kinds.asking import Answer, answer, sampling_of
from cuf_tui.jobs.kinds.base import (
    COUNT,
    FLAG,
    NAMES,
    Planning,
    Work,
    but_failed,
    checked_params,
)
from cuf_tui.jobs.plan import (
    Estimate,
    GenerationPlan,
    GenerationUnit,
    estimate_generation,
    plan_generation,
)
from cuf_tui.jobs.scheduler import Batch, Maker, UnitWork
from cuf_tui.store.claims import UnitClaim, claim_key
from cuf_tui.store.instructions import assign_models
from cuf_tui.store.responses import save_response

if TYPE_CHECKING:
    from cuf_tui.jobs.kinds.base import BatchPlan


@dataclass(frozen=True)
class GenerateRequest:
    kind: ClassVar[str] = "generate"
    models: tuple[str, ...] | None = None  # only these models of the pool
    limit: int | None = None  # at most this many instructions
    retry_failed: bool = False  # ask again for failures a retry cannot fix

    def params(self) -> dict[str, Any]:
        models = sorted(self.models) if self.models is not None else None
        return {"models": models, "limit": self.limit, "retry_failed": self.retry_failed}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> GenerateRequest:
        shapes = {"models": NAMES, "limit": COUNT, "retry_failed": FLAG}
        checked_params(cls.kind, params, shapes)
        models = params["models"]
        return cls(
            tuple(models) if models is not None else None,
            params["limit"],
            params["retry_failed"],
        )

    def plan(self, planning: Planning) -> BatchPlan:
        models = sorted(set(self.models)) if self.models else None
        plan = plan_generation(
            planning.store, planning.config, models, self.limit, self.retry_failed
        )
        resolved = GenerateRequest(tuple(models) if models else None, self.limit, self.retry_failed)
        entries = [planning.config.model_named(m) for m in sorted({u.model for u in plan.units})]
        return GeneratePlanned(resolved, plan, entries)


@dataclass(frozen=True)
class GeneratePlanned:
    request: GenerateRequest
    plan: GenerationPlan
    endpoints: list[ModelEntry]

    @property
    def requests(self) -> int:
        return len(self.plan.units)

    @property
    def skipped_failures(self) -> int:
        return self.plan.skipped_failures

    @property
    def assignments(self) -> int:
        return len(self.plan.assignments)

    def headline(self) -> str | None:
        return None

    def notes(self) -> list[str]:
        if not self.plan.unknown_models:
            return []
        names = ", ".join(f"{m} ({n})" for m, n in sorted(self.plan.unknown_models.items()))
        return [f"responses assigned to models not in cuf.toml are skipped: {names}"]

    def nothing_to_do(self) -> str:
        if not self.plan.instructions:
            return "Nothing to generate: the store holds no instructions (import some first)."
        return "Nothing to generate: every assigned model has answered" + but_failed(
            self.skipped_failures
        )

    def estimates(self, planning: Planning) -> list[Estimate]:
        return estimate_generation(planning.store, planning.config, planning.prompts, self.plan)

    def work(self, batch: Batch, planning: Planning) -> Work:
        units = self.plan.units
        entries = {entry.name: entry for entry in self.endpoints}
        grouped: dict[str, list[GenerationUnit]] = {}
        for unit in units:
            grouped.setdefault(unit.model, []).append(unit)
        # Servers the workbench runs take the GPUs one model at a time, unless a model may
        # share them; API models and servers run by others are sent to all the while.
        in_turn = [m for m in grouped if entries[m].managed and not entries[m].share_gpus]
        beside = [m for m in grouped if m not in in_turn]

        async def one_after_another() -> None:
            for model in in_turn:
                await batch.send(entries[model], grouped[model], _generation_work(batch))

        async def work() -> None:
            if self.plan.assignments:
                await batch.writes(assign_models, batch.store, self.plan.assignments)
            side_by_side = [
                batch.send(entries[m], grouped[m], _generation_work(batch)) for m in beside
            ]
            await together(one_after_another(), *side_by_side)

        return work


def _generation_work(batch: Batch) -> Maker:
    def make(endpoint: ChatEndpoint) -> UnitWork[GenerationUnit, Answer]:
        sampling = sampling_of(endpoint.entry)

        async def record(unit: GenerationUnit, answered: Answer) -> None:
            stored = await batch.writes(
                save_response,
                batch.store,
                batch.job_id,
                unit.instruction.id,
                unit.model,
                answered.attempt,
                principle=answered.principle,
                sampling=sampling,
                text=answered.text,
                claim=UnitClaim(claim(unit), batch.token),
                prompt_sha256=batch.prompts.generation_sha256(),
            )
            batch.account(answered.attempt, stored)

        def principle(unit: GenerationUnit) -> str:
            key = unit.instruction.key
            return batch.prompts.choose_principle(unit.preference, batch.seed, key, unit.model)

        async def ask(unit: GenerationUnit) -> Answer:
            chosen = principle(unit)
            text = unit.instruction.text
            messages = batch.prompts.generation_messages(text, unit.preference, chosen)
            return await answer(batch, endpoint, chosen, messages)

        def failure(unit: GenerationUnit, error: str) -> Answer:
            return Answer.failure(principle(unit), error)

        def claim(unit: GenerationUnit) -> str:
            return claim_key("response", unit.instruction.id, unit.model)

        return UnitWork(ask, record, failure, claim)

    return make


async def together(*work: Awaitable[None]) -> None:
    """Run side by side; the first failure cancels the rest and is raised as it is."""
    try:
        async with asyncio.TaskGroup() as group:
            for item in work:
                group.create_task(_awaited(item))
    except BaseExceptionGroup as failures:
        first: BaseException = failures
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


async def _awaited(item: Awaitable[None]) -> None:
    await item
