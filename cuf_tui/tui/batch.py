"""What the workbench says before it starts a batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cuf_tui.workspace import Workspace

if TYPE_CHECKING:
    from cuf_tui.config import ModelEntry
    from cuf_tui.jobs.plan import Estimate


def bench_choices(workspace: Workspace) -> list[tuple[str, str]]:
    """(model, reference) pairs a bench run can take, as (value, label) options: every model
    of the pool or with imported answers, against every reference model of the bench."""
    import json

    from cuf_tui.config import load_config
    from cuf_tui.store.bench import answered_models, reference_models

    config = load_config(workspace.config_path)
    with workspace.open_store() as store:
        refs = reference_models(store)
        answered = answered_models(store)
    models = [entry.name for entry in config.models]
    models += [m for m in answered if m not in models]
    return [
        (json.dumps([model, ref]), f"{model}  vs reference {ref} ({count} items)")
        for model in models
        for ref, count in refs.items()
    ]


def describe_plan(
    workspace: Workspace, kind: str, options: dict[str, Any] | None = None
) -> tuple[str, str, dict[str, Any] | None]:
    """Title, summary (requests, models or judge, estimated tokens and cost) and the job
    parameters, or None for the parameters when there is nothing to do."""
    from cuf_tui.config import load_config
    from cuf_tui.engines.openai_client import check_endpoint, check_reachable
    from cuf_tui.jobs.plan import (
        estimate_generation,
        estimate_judging,
        plan_generation,
        plan_judging,
    )
    from cuf_tui.prompts import load_prompts

    config = load_config(workspace.config_path)  # read again: the user may have edited it
    prompts = load_prompts(workspace.root)
    if kind == "bench":
        return _describe_bench(workspace, config, prompts, options or {})
    with workspace.open_store() as store:
        if kind == "generate":
            plan = plan_generation(store, config, None, None)
            if not plan.units:
                return "Nothing to generate", "Every assigned model has answered.", None
            skipped = plan.skipped_failures
            estimates = estimate_generation(store, config, prompts, plan)
            entries = [config.model_named(estimate.name) for estimate in estimates]
            for entry in entries:
                check_endpoint(entry)
            params: dict[str, Any] = {"models": None, "limit": None, "retry_failed": False}
        else:
            judge_plan = plan_judging(store, config, prompts, None, None)
            if not judge_plan.units:
                return (
                    "Nothing to judge",
                    f"{judge_plan.judge.name} has judged every complete instruction.",
                    None,
                )
            skipped = judge_plan.skipped_failures
            estimates = [estimate_judging(store, prompts, judge_plan)]
            check_endpoint(judge_plan.judge)
            entries = [judge_plan.judge]
            params = {"judge": judge_plan.judge.name, "limit": None, "retry_failed": False}
    check_reachable(entries)  # an unreachable server: one clear error, not a failed batch
    lines = _summary_lines(kind, estimates, entries, skipped)
    verb = "Generate responses" if kind == "generate" else "Judge"
    return f"{verb}?", "\n".join(lines), params


def _describe_bench(
    workspace: Workspace, config: Any, prompts: Any, options: dict[str, Any]
) -> tuple[str, str, dict[str, Any] | None]:
    from cuf_tui.engines.openai_client import check_endpoint, check_reachable
    from cuf_tui.jobs.bench_plan import estimate_bench, plan_bench

    with workspace.open_store() as store:
        plan = plan_bench(
            store, config, prompts, options["model"], None, options.get("reference"), None
        )
        if not plan.requests:
            return (
                "Nothing to bench",
                f"{plan.model_name} has answered every bench item and {plan.judge.name} has "
                f"graded each answer against {plan.reference_model}.",
                None,
            )
        estimates = estimate_bench(store, prompts, plan)
    used = [plan.model] if plan.model is not None and plan.answers else []
    for entry in [*used, plan.judge]:
        check_endpoint(entry)
    check_reachable([*used, plan.judge])
    lines = [
        f"{plan.model_name} answers {len(plan.answers)} bench items; {plan.judge.name} grades "
        f"{len(plan.answers) + len(plan.grades)} answers against {plan.reference_model}'s "
        "references (1-10).",
        "",
        *_summary_lines("bench", estimates, [*used, plan.judge], plan.skipped_failures),
    ]
    if plan.without_reference:
        lines.append(f"{plan.without_reference} items have no reference from that model.")
    params = {
        "model": plan.model_name,
        "judge": plan.judge.name,
        "reference": plan.reference_model,
        "limit": None,
        "retry_failed": False,
    }
    return f"Bench {plan.model_name}?", "\n".join(lines), params


def _summary_lines(
    kind: str, estimates: Sequence[Estimate], entries: Sequence[ModelEntry], skipped: int
) -> list[str]:
    """Per endpoint: requests, tokens and cost; the totals; the servers the batch will
    start; the failures it leaves out."""
    from cuf_tui.jobs.plan import servers_note

    lines = []
    for e in estimates:
        guess = "" if e.output_measured else " (output guessed)"
        lines.append(
            f"{e.name:<28} {e.requests:>6} requests  ~{e.input_tokens:,} in  "
            f"~{e.output_tokens:,} out{guess}  ~${e.cost_usd:.4f}"
        )
    total = sum(e.requests for e in estimates)
    cost = sum(e.cost_usd for e in estimates)
    lines.append(
        f"\n{total} requests in all, about ${cost:.4f}. The batch runs in a background "
        "worker: closing the workbench or the SSH session does not stop it."
    )
    note = servers_note(list(entries))
    if note:
        lines.append(note)
    if skipped:
        lines.append(
            f"{skipped} units that failed before in a way a retry cannot fix are left "
            f"out; `cuf-tui {kind} --retry-failed` asks for them again."
        )
    return lines
