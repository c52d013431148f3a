"""What the workbench says before it starts a batch."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cuf_tui.workspace import Workspace

if TYPE_CHECKING:
    from cuf_tui.config import ModelEntry
    from cuf_tui.jobs.plan import Estimate


def bench_choices(workspace: Workspace) -> list[tuple[str, str]]:
    """(model, reference) pairs a bench run can take, as (value, label) options."""
    import json

    from cuf_tui.config import load_config
    from cuf_tui.jobs.kinds.bench import bench_choices as choices

    config = load_config(workspace.config_path)
    with workspace.open_store() as store:
        return [
            (json.dumps([model, reference]), f"{model}  vs reference {reference} ({items} items)")
            for model, reference, items in choices(store, config)
        ]


def describe_plan(
    workspace: Workspace, kind: str, options: dict[str, Any] | None = None
) -> tuple[str, str, dict[str, Any] | None]:
    """Title, summary (requests, models or judge, estimated tokens and cost) and the job
    parameters, or None for the parameters when there is nothing to do. The batch is
    described by the same request the command line and the worker use."""
    from cuf_tui.config import load_config
    from cuf_tui.jobs.kinds import (
        BatchRequest,
        BenchRequest,
        GenerateRequest,
        JudgeRequest,
        Planning,
        check_endpoints,
    )
    from cuf_tui.prompts import load_prompts

    options = options or {}
    request: BatchRequest
    if kind == "bench":
        request = BenchRequest(options["model"], reference=options.get("reference"))
    else:
        request = GenerateRequest() if kind == "generate" else JudgeRequest(options.get("judge"))
    config = load_config(workspace.config_path)  # read again: the user may have edited it
    with workspace.open_store() as store:
        planning = Planning(store, config, load_prompts(workspace.root))
        plan = request.plan(planning)
        if not plan.requests:
            return f"Nothing to {kind}", plan.nothing_to_do(), None
        estimates = plan.estimates(planning)
    check_endpoints(plan.endpoints)  # an unreachable server: one clear error, not a batch
    headline = plan.headline()
    lines = [headline, ""] if headline else []
    lines += _summary_lines(kind, estimates, plan.endpoints, plan.skipped_failures)
    lines += [f"Note: {note}." for note in plan.notes()]
    title = {"generate": "Generate responses?", "judge": "Judge?"}.get(
        kind, f"Bench {options.get('model')}?"
    )
    return title, "\n".join(lines), plan.request.params()


def _summary_lines(
    kind: str, estimates: Sequence[Estimate], entries: Sequence[ModelEntry], skipped: int
) -> list[str]:
    """Per endpoint: requests, tokens and cost; the totals; the servers the batch will
    start; the failures it leaves out."""
    from cuf_tui.jobs.plan import batch_mode_note, servers_note

    lines = []
    for e in estimates:
        guess = "" if e.output_measured else " (output guessed)"
        lines.append(
            f"{e.label:<28} {e.requests:>6} requests  ~{e.input_tokens:,} in  "
            f"~{e.output_tokens:,} out{guess}  ~${e.cost_usd:.4f}"
        )
    total = sum(e.requests for e in estimates)
    cost = sum(e.cost_usd for e in estimates)
    lines.append(
        f"\n{total} requests in all, about ${cost:.4f}. The batch runs in a background "
        "worker: closing the workbench or the SSH session does not stop it."
    )
    note = servers_note(list(entries))
    if any(e.batch for e in estimates):
        lines.append(batch_mode_note())
    if note:
        lines.append(note)
    if skipped:
        lines.append(
            f"{skipped} units that failed before in a way a retry cannot fix are left "
            f"out; `cuf-tui {kind} --retry-failed` asks for them again."
        )
    return lines
