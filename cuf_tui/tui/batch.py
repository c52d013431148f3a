"""What the workbench says before it starts a batch."""

from __future__ import annotations

from typing import Any

from cuf_tui.workspace import Workspace


def describe_plan(workspace: Workspace, kind: str) -> tuple[str, str, dict[str, Any] | None]:
    """Title, summary (requests, models or judge, estimated tokens and cost) and the job
    parameters, or None for the parameters when there is nothing to do."""
    from cuf_tui.config import load_config
    from cuf_tui.engines.openai_client import check_endpoint
    from cuf_tui.jobs.plan import (
        estimate_generation,
        estimate_judging,
        plan_generation,
        plan_judging,
        servers_note,
    )
    from cuf_tui.prompts import load_prompts

    config = load_config(workspace.config_path)  # read again: the user may have edited it
    prompts = load_prompts(workspace.root)
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
    note = servers_note(entries)
    if note:
        lines.append(note)
    if skipped:
        lines.append(
            f"{skipped} units that failed before in a way a retry cannot fix are left "
            f"out; `cuf-tui {kind} --retry-failed` asks for them again."
        )
    verb = "Generate responses" if kind == "generate" else "Judge"
    return f"{verb}?", "\n".join(lines), params
