"""What a batch will request: the units of a generate or judge job, read from the store, and
an estimate of their tokens and cost for `--dry-run` and the confirmation before a batch."""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import cast

from cuf_tui.config import Config, ConfigError, ModelEntry
from cuf_tui.core.preferences import Preference
from cuf_tui.core.prompts import PromptSet
from cuf_tui.store.attempts import mean_completion_tokens
from cuf_tui.store.db import Store
from cuf_tui.store.instructions import InstructionToAnswer, instructions_in_order
from cuf_tui.store.judgments import PERMANENT_FAILURE, judgment_states
from cuf_tui.store.responses import done_responses, permanently_failed_responses

CHARS_PER_TOKEN = 4  # a rough rule for estimates only; real counts come from the server
GUESSED_JUDGMENT_TOKENS = 480  # a judge's answer for 4 responses, before any was measured


@dataclass(frozen=True)
class GenerationUnit:
    instruction: InstructionToAnswer
    model: str

    @property
    def preference(self) -> Preference:
        return cast(Preference, self.instruction.preference)


@dataclass(frozen=True)
class JudgeUnit:
    instruction: InstructionToAnswer
    responses: dict[str, str]  # model -> text, every assigned model

    @property
    def preference(self) -> Preference:
        return cast(Preference, self.instruction.preference)


@dataclass
class GenerationPlan:
    units: list[GenerationUnit]
    assignments: dict[int, list[str]]  # models to assign to instructions that have none
    unknown_models: Counter[str] = field(default_factory=Counter)  # assigned, not configured
    skipped_failures: int = 0  # failed permanently before; --retry-failed asks again
    instructions: int = 0  # in the store, whatever their state


@dataclass
class JudgePlan:
    judge: ModelEntry
    units: list[JudgeUnit]
    waiting: int  # instructions whose responses are not all there yet
    skipped_failures: int = 0  # failed permanently before; --retry-failed asks again
    instructions: int = 0  # in the store, whatever their state


@dataclass(frozen=True)
class Estimate:
    name: str
    requests: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    output_measured: bool  # output from past responses, not a guess
    batch: bool = False  # sent through the Batch API, at its price

    @property
    def label(self) -> str:
        """The endpoint's name, and "(batch)" when it is sent as Batch API jobs."""
        if not self.batch:
            return self.name
        if self.name.endswith(")"):  # "judge (grades)": one pair of brackets
            return f"{self.name[:-1]}, batch)"
        return f"{self.name} (batch)"


def sample_models(config: Config, instruction_key: str) -> list[str]:
    """The models that answer an instruction: seeded by the workspace seed and the text."""
    pool = [entry.name for entry in config.models]
    count = min(config.workspace.responses_per_instruction, len(pool))
    rng = random.Random(f"{config.workspace.seed}:models:{instruction_key}")
    return rng.sample(pool, count)


def plan_generation(
    store: Store,
    config: Config,
    models: list[str] | None,
    limit: int | None,
    retry_failed: bool = False,
) -> GenerationPlan:
    if not config.models:
        raise ConfigError(
            "the model pool is empty: add [[models]] entries to cuf.toml (name, engine, model; "
            "see the README), or run `cuf-tui demo-model` for a small model on the CPU"
        )
    wanted = set(models) if models else None
    if wanted:
        for name in wanted:
            config.model_named(name)
    configured = {entry.name for entry in config.models}
    done = done_responses(store)
    hopeless = set() if retry_failed else permanently_failed_responses(store)
    plan = GenerationPlan(units=[], assignments={})
    planned: set[int] = set()  # instructions with units in the plan
    for instruction in instructions_in_order(store):
        plan.instructions += 1
        assigned = instruction.models or sample_models(config, instruction.key)
        missing = [m for m in assigned if m not in done.get(instruction.id, {})]
        missing = [m for m in missing if wanted is None or m in wanted]
        skipped = [m for m in missing if (instruction.id, m) in hopeless]
        plan.skipped_failures += len(skipped)
        missing = [m for m in missing if m not in skipped]
        if not missing:
            continue
        if limit is not None and len(planned) >= limit:
            break  # before assigning: --limit N assigns models to N instructions, no more
        planned.add(instruction.id)
        if not instruction.models:
            plan.assignments[instruction.id] = assigned
            instruction = InstructionToAnswer(
                instruction.id, instruction.key, instruction.text, instruction.preference, assigned
            )
        for model in missing:
            if model in configured:
                plan.units.append(GenerationUnit(instruction, model))
            else:
                plan.unknown_models[model] += 1
    return plan


def plan_judging(
    store: Store,
    config: Config,
    prompts: PromptSet,
    judge_name: str | None,
    limit: int | None,
    retry_failed: bool = False,
) -> JudgePlan:
    judge = config.judge_named(judge_name)
    done = done_responses(store)
    judged = judgment_states(store, judge.name)
    plan = JudgePlan(judge=judge, units=[], waiting=0)
    for instruction in instructions_in_order(store):
        plan.instructions += 1
        if not instruction.models:
            plan.waiting += 1
            continue
        template = prompts.judge_template_sha256(
            cast(Preference, instruction.preference), judge.judge_prompt_format
        )
        state = judged.get((instruction.id, template))
        if state == PERMANENT_FAILURE and not retry_failed:
            plan.skipped_failures += 1
            continue
        if state in ("done", "unparsed"):  # unparsed ones wait for review, not for a re-run
            continue
        have = done.get(instruction.id, {})
        if any(m not in have for m in instruction.models):
            plan.waiting += 1
            continue
        if limit is not None and len(plan.units) >= limit:
            break
        plan.units.append(JudgeUnit(instruction, {m: have[m] for m in instruction.models}))
    return plan


def estimate_generation(
    store: Store, config: Config, prompts: PromptSet, plan: GenerationPlan
) -> list[Estimate]:
    by_model: dict[str, list[GenerationUnit]] = {}
    for unit in plan.units:
        by_model.setdefault(unit.model, []).append(unit)
    estimates = []
    for name, units in by_model.items():
        entry = config.model_named(name)
        system = len(prompts.render("generate_system.j2", principle="x" * 200, preference="style"))
        input_tokens = sum(len(u.instruction.text) + system for u in units) // CHARS_PER_TOKEN
        measured = mean_completion_tokens(store, "responses", "model", name)
        per_request = measured if measured is not None else entry.max_tokens / 2
        estimates.append(estimate_requests(entry, len(units), input_tokens, per_request, measured))
    return estimates


def estimate_judging(store: Store, prompts: PromptSet, plan: JudgePlan) -> Estimate:
    input_chars = 0
    for unit in plan.units:
        messages = prompts.judge_messages(
            unit.instruction.text,
            unit.preference,
            list(unit.responses.values()),
            plan.judge.judge_prompt_format,
        )
        input_chars += sum(len(m["content"]) for m in messages)
    measured = mean_completion_tokens(store, "judgments", "judge", plan.judge.name)
    per_request = measured if measured is not None else GUESSED_JUDGMENT_TOKENS
    return estimate_requests(
        plan.judge, len(plan.units), input_chars // CHARS_PER_TOKEN, per_request, measured
    )


def estimate_requests(
    entry: ModelEntry, requests: int, input_tokens: int, per_request: float, measured: float | None
) -> Estimate:
    output_tokens = int(per_request * requests)
    prices = entry.prices  # the batch price in batch mode
    cost = (input_tokens * prices.input + output_tokens * prices.output) / 1e6
    return Estimate(
        entry.name,
        requests,
        input_tokens,
        output_tokens,
        cost,
        measured is not None,
        entry.mode == "batch",
    )


def batch_mode_note() -> str:
    """What batch mode means for the user about to launch it."""
    return (
        "An endpoint marked (batch) is sent as OpenAI Batch API jobs, at the batch price (half "
        "the online price unless the entry sets batch_price_per_million_tokens); answers come "
        "within 24 hours, so the job runs in a background worker; watch it in Jobs or "
        "`cuf-tui jobs`."
    )


def servers_note(entries: list[ModelEntry]) -> str | None:
    """What a batch will start and stop itself, in words; None when it starts nothing."""
    # A model that both answers and grades (a bench run) is named once.
    started = list({(e.name, e.model): e for e in entries if e.managed}.values())
    if not started:
        return None
    names = ", ".join(
        f"{e.name} ({e.engine}{f' x{e.replicas}' if e.replicas > 1 else ''})" for e in started
    )
    order = "one model at a time" if len(started) > 1 else "for its requests"
    return (
        f"The batch starts a server for {names}, {order}, and stops it when its requests "
        "are done; its log goes to the workspace's logs/ folder."
    )
