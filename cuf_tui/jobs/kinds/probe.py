"""The position probe: a seeded sample of the instructions a judge has judged, judged again by
the same judge with the same template and the responses shown in every other cyclic rotation
of the order it first saw, so that each response appears in every position. The probe's
judgments are stored apart (store.probes) and never reach an export."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

from cuf_tui.config import ModelEntry
from cuf_tui.core.preferences import Preference
from cuf_tui.engines.openai_client import ChatEndpoint
from cuf_tui.jobs.kinds.asking import Verdict
from cuf_tui.jobs.kinds.base import COUNT, FLAG, NAME, Planning, Work, but_failed, checked_params
from cuf_tui.jobs.kinds.judge import judge_in_order, ratings_in_order
from cuf_tui.jobs.plan import CHARS_PER_TOKEN, GUESSED_JUDGMENT_TOKENS, Estimate, estimate_requests
from cuf_tui.jobs.scheduler import Batch, UnitWork
from cuf_tui.store.attempts import mean_completion_tokens
from cuf_tui.store.claims import UnitClaim, claim_key
from cuf_tui.store.instructions import InstructionToAnswer, instructions_in_order
from cuf_tui.store.judgments import PERMANENT_FAILURE
from cuf_tui.store.probes import judged_orders, probe_states, save_probe_judgment
from cuf_tui.store.responses import done_responses

if TYPE_CHECKING:
    from cuf_tui.jobs.kinds.base import BatchPlan

DEFAULT_SAMPLE = 50


@dataclass(frozen=True)
class ProbeUnit:
    instruction: InstructionToAnswer
    template_sha256: str
    rotation: int  # the first order shown, rotated left by this many places
    order: list[str]  # models, in the order this probe shows them
    responses: dict[str, str]

    @property
    def preference(self) -> Preference:
        return cast(Preference, self.instruction.preference)


def rotated(order: list[str], rotation: int) -> list[str]:
    """``order`` rotated left by ``rotation`` places: [a, b, c, d] by 1 is [b, c, d, a]."""
    return order[rotation:] + order[:rotation]


def probe_sample(instruction_ids: list[int], sample: int, seed: int, judge: str) -> list[int]:
    """A seeded sample of ``sample`` ids (all of them when there are no more), in id order.
    The same seed and judge give the same sample, and a larger one holds a smaller one."""
    shuffled = sorted(instruction_ids)
    random.Random(f"{seed}:probe:{judge}").shuffle(shuffled)
    return sorted(shuffled[:sample])


@dataclass(frozen=True)
class ProbeRequest:
    kind: ClassVar[str] = "probe"
    judge: str | None = None  # None: the first [[judges]] entry
    sample: int = DEFAULT_SAMPLE
    retry_failed: bool = False

    def params(self) -> dict[str, Any]:
        return {"judge": self.judge, "sample": self.sample, "retry_failed": self.retry_failed}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> ProbeRequest:
        checked_params(cls.kind, params, {"judge": NAME, "sample": COUNT, "retry_failed": FLAG})
        sample = params["sample"] if params["sample"] is not None else DEFAULT_SAMPLE
        return cls(params["judge"], sample, params["retry_failed"])

    def plan(self, planning: Planning) -> BatchPlan:
        store, config = planning.store, planning.config
        judge = config.judge_named(self.judge)
        judged = {j.instruction_id: j for j in judged_orders(store, judge.name)}
        chosen = probe_sample(list(judged), self.sample, config.workspace.seed, judge.name)
        states = probe_states(store, judge.name)
        done = done_responses(store)
        by_id = {i.id: i for i in instructions_in_order(store)}
        planned = ProbePlanned(
            ProbeRequest(judge.name, self.sample, self.retry_failed),
            judge,
            judged=len(judged),
            sampled=len(chosen),
        )
        for instruction_id in chosen:
            original = judged[instruction_id]
            have = done.get(instruction_id, {})
            if instruction_id not in by_id or any(m not in have for m in original.order_shown):
                planned.missing += 1
                continue
            preference = cast(Preference, by_id[instruction_id].preference)
            template = planning.prompts.judge_template_sha256(preference, judge.judge_prompt_format)
            if template != original.template_sha256:
                planned.other_template += 1  # the same prompt but the order, or no probe
                continue
            for rotation in range(1, len(original.order_shown)):
                key = (instruction_id, original.template_sha256, rotation)
                state = states.get(key)
                if state == PERMANENT_FAILURE and not self.retry_failed:
                    planned.skipped += 1
                    continue
                if state in ("done", "unparsed"):
                    planned.already += 1
                    continue
                planned.units.append(
                    ProbeUnit(
                        by_id[instruction_id],
                        original.template_sha256,
                        rotation,
                        rotated(original.order_shown, rotation),
                        {m: have[m] for m in original.order_shown},
                    )
                )
        return planned


@dataclass
class ProbePlanned:
    request: ProbeRequest
    judge: ModelEntry
    judged: int  # instructions the judge has a readable judgment of
    sampled: int
    units: list[ProbeUnit] = field(default_factory=list)
    missing: int = 0  # sampled instructions whose responses are no longer all there
    other_template: int = 0  # judged with a template that has changed since
    already: int = 0  # probe judgments made before
    skipped: int = 0  # failed before in a way a retry cannot fix

    @property
    def requests(self) -> int:
        return len(self.units)

    @property
    def endpoints(self) -> list[ModelEntry]:
        return [self.judge] if self.units else []

    @property
    def skipped_failures(self) -> int:
        return self.skipped

    @property
    def assignments(self) -> int:
        return 0

    def headline(self) -> str | None:
        return (
            f"{self.judge.name} judges {self.sampled} of the {self.judged} instructions it has "
            "judged again, the responses shown in every other rotation of the first order"
        )

    def notes(self) -> list[str]:
        notes = []
        if self.missing:
            notes.append(f"{self.missing} sampled instructions no longer have all their responses")
        if self.other_template:
            notes.append(
                f"{self.other_template} sampled instructions were judged with a prompt template "
                "that has changed since; judge them again to probe them"
            )
        return notes

    def nothing_to_do(self) -> str:
        if not self.judged:
            return (
                f"Nothing to probe: {self.judge.name} has no readable judgment yet "
                f"(`cuf-tui judge --judge {self.judge.name}` makes them)."
            )
        return f"The probe of {self.judge.name} is complete" + but_failed(self.skipped)

    def estimates(self, planning: Planning) -> list[Estimate]:
        prompts = planning.prompts
        chars = 0
        for unit in self.units:
            messages = prompts.judge_messages(
                unit.instruction.text,
                unit.preference,
                [unit.responses[m] for m in unit.order],
                self.judge.judge_prompt_format,
            )
            chars += sum(len(m["content"]) for m in messages)
        measured = mean_completion_tokens(planning.store, "judgments", "judge", self.judge.name)
        per_request = measured if measured is not None else GUESSED_JUDGMENT_TOKENS
        return [
            estimate_requests(
                self.judge, len(self.units), chars // CHARS_PER_TOKEN, per_request, measured
            )
        ]

    def work(self, batch: Batch, planning: Planning) -> Work:
        async def work() -> None:
            await batch.send(self.judge, self.units, lambda e: _probe_work(batch, e))

        return work


def _probe_work(batch: Batch, endpoint: ChatEndpoint) -> UnitWork[ProbeUnit, Verdict[Any]]:
    entry = endpoint.entry
    judge = entry.name

    async def record(unit: ProbeUnit, verdict: Verdict[Any]) -> None:
        ratings = ratings_in_order(unit.order, verdict)
        stored = await batch.writes(
            save_probe_judgment,
            batch.store,
            batch.job_id,
            unit.instruction.id,
            judge,
            unit.template_sha256,
            unit.rotation,
            verdict.attempt,
            order_shown=unit.order,
            raw_output=verdict.raw,
            ratings=ratings,
            repaired=verdict.repaired,
            claim=UnitClaim(claim(unit), batch.token),
        )
        batch.account(verdict.attempt, stored)

    async def ask(unit: ProbeUnit) -> Verdict[Any]:
        shown = [unit.responses[m] for m in unit.order]
        return await judge_in_order(batch, endpoint, unit.instruction.text, unit.preference, shown)

    def failure(unit: ProbeUnit, error: str) -> Verdict[Any]:
        return Verdict.failure(error)

    def claim(unit: ProbeUnit) -> str:
        return claim_key("probe", unit.instruction.id, judge, unit.template_sha256, unit.rotation)

    return UnitWork(ask, record, failure, claim)
