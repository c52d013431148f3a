"""Batch commands: generate, judge and bench (one way for all three: plan, say what it will
do, check its endpoints, run it here or in a detached worker), and jobs, cancel, worker."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from cuf_tui.cli.output import console, note_servers, note_skipped, workspace_of

if TYPE_CHECKING:
    from cuf_tui.config import ModelEntry
    from cuf_tui.jobs.kinds import BatchRequest
    from cuf_tui.store.db import Store
    from cuf_tui.workspace import Workspace


def generate(args: argparse.Namespace) -> int:
    from cuf_tui.jobs.kinds import GenerateRequest

    models = tuple(sorted(set(args.model))) if args.model else None
    return run_batch(args, GenerateRequest(models, args.limit, args.retry_failed))


def judge(args: argparse.Namespace) -> int:
    """Judge with one judge, or with several one after another (each its own batch; with
    --detach, each its own worker). The exit status is the worst of theirs."""
    from cuf_tui.errors import CufError
    from cuf_tui.jobs.kinds import JudgeRequest

    judges: list[str | None] = list(dict.fromkeys(args.judge or [])) or [None]
    if args.all_judges:
        if args.judge:
            raise CufError("--all-judges judges with every [[judges]] entry; leave out --judge")
        config = workspace_of(args).config
        judges = [entry.name for entry in config.judges]
        if not judges:
            config.judge_named(None)  # the error that says how to add one
    elif len(judges) > 1:
        config = workspace_of(args).config
        for name in judges:
            config.judge_named(name)  # every name checked before the first batch starts
    status = 0
    for name in judges:
        if len(judges) > 1:
            console(stderr=True).print(f"judge {name}:")
        status = max(status, run_batch(args, JudgeRequest(name, args.limit, args.retry_failed)))
    return status


def bench(args: argparse.Namespace) -> int:
    from cuf_tui.jobs.kinds import BenchRequest

    request = BenchRequest(args.model, args.judge, args.reference, args.limit, args.retry_failed)
    return run_batch(args, request)


def run_batch(args: argparse.Namespace, request: BatchRequest) -> int:
    """Plan the batch, say what it leaves out, and run it (or, with --dry-run, say what it
    would request)."""
    from cuf_tui.jobs.kinds import Planning, check_endpoints
    from cuf_tui.prompts import load_prompts

    workspace = workspace_of(args)
    config = workspace.config
    with workspace.open_store() as store:
        planning = Planning(store, config, load_prompts(workspace.root))
        plan = request.plan(planning)
        if args.dry_run:
            from cuf_tui.views import render_estimates

            estimates = plan.estimates(planning)
            render_estimates(console(), request.kind, estimates, plan.assignments)
            note_servers(plan.endpoints)
        notes = plan.notes() + _waiting_notes(store, plan.endpoints)
    for note in notes:
        console(stderr=True).print(f"note: {note}")
    note_skipped(plan.skipped_failures)
    if args.dry_run:
        return 0
    if not plan.requests:
        console().print(plan.nothing_to_do())
        return 0
    check_endpoints(plan.endpoints)
    batched = any(entry.mode == "batch" for entry in plan.endpoints)
    wait = bool(getattr(args, "wait", False))
    if wait and args.detach:
        from cuf_tui.errors import CufError

        raise CufError("--wait and --detach contradict each other; give one")
    return _launch(args, workspace, plan.request, batched and not wait)


def _waiting_notes(store: Store, entries: list[ModelEntry]) -> list[str]:
    """Requests of batch-mode endpoints already at the provider, waiting for answers."""
    from cuf_tui.store.remote_batches import waiting_requests

    notes = []
    for entry in entries:
        if entry.mode != "batch":
            continue
        count, jobs = waiting_requests(store, entry.name)
        if count:
            which = ", ".join(str(j) for j in jobs)
            notes.append(
                f"{count} requests to {entry.name} are in remote batches of job {which}, still "
                "waiting for answers; that job's command takes them up instead of sending "
                "them again"
            )
    return notes


def _launch(
    args: argparse.Namespace, workspace: Workspace, request: BatchRequest, batched: bool
) -> int:
    from cuf_tui.jobs.launch import detach, prepare_job

    kind = request.kind
    job_id = prepare_job(workspace, request)
    if args.detach or batched:
        if batched and not args.detach:
            console(stderr=True).print(
                "Batch mode: the provider answers within 24 hours, so the job runs in a "
                "background worker (--wait keeps it in the foreground)."
            )
        pid, log_path = detach(workspace, job_id)
        # The sentence for a person on stderr; the id alone on stdout, for scripts
        # (`JOB=$(cuf-tui judge --detach)`).
        console(stderr=True).print(
            f"Job {job_id} ({kind}) runs in the background (pid {pid}); "
            f"follow it with `cuf-tui jobs`, its log is {log_path}"
        )
        print(job_id)
        return 0
    return _run_with_progress(workspace, job_id, kind)


def _run_with_progress(workspace: Workspace, job_id: int, kind: str) -> int:
    import asyncio

    from cuf_tui.jobs.launch import run_in_foreground
    from cuf_tui.views import job_progress

    try:
        with job_progress(console(stderr=True), f"{kind} (job {job_id})") as update:
            outcome = run_in_foreground(workspace, job_id, update)
    except (KeyboardInterrupt, asyncio.CancelledError):
        console(stderr=True).print(
            f"Stopped job {job_id}; what finished is stored. Run the same command to resume."
        )
        from cuf_tui.store.remote_batches import open_remote_batches

        with workspace.open_store() as store:
            remote = len(open_remote_batches(store, job_id))
        if remote:
            console(stderr=True).print(
                f"Its {remote} remote batches keep running at the provider: the same command "
                f"collects their answers; `cuf-tui cancel {job_id}` cancels them."
            )
        return 130
    progress = outcome.progress
    if outcome.state == "failed":
        from cuf_tui.errors import CufError

        raise CufError(f"job {job_id} ({kind}) failed: {outcome.error or 'no reason given'}")
    from cuf_tui.views import job_summary_lines

    out = console()
    for line in job_summary_lines(kind, outcome.progress):
        out.print(line)
    if progress.failed:
        out.print(f"  last error: {progress.last_error}")
        out.print("  Run the same command again to retry the failed units.")
        return 1
    return 0


def jobs(args: argparse.Namespace) -> int:
    from cuf_tui.store.servers import list_jobs_with_servers

    workspace = workspace_of(args)
    with workspace.open_store() as store:
        rows = list_jobs_with_servers(store)
    if args.json:
        import json
        from dataclasses import asdict

        print(json.dumps([asdict(row) for row in rows], indent=2))
        return 0
    from cuf_tui.views import render_jobs

    out = console()
    if not out.is_terminal:  # a file or a pipe: whole columns, never cut at 80
        out.width = max(out.width, 200)
    render_jobs(out, rows)
    return 0


def cancel(args: argparse.Namespace) -> int:
    """Stop a job. Its remote batches (batch mode) are cancelled by its worker as it stops;
    those of a job no worker runs (it died, or it stopped and left them running) here."""
    from cuf_tui.jobs.launch import cancel_with_batches
    from cuf_tui.jobs.remote import cancel_abandoned

    workspace = workspace_of(args)
    with workspace.open_store() as store:
        said, left_to_us = cancel_with_batches(store, args.job)
    console().print(said)
    if left_to_us:
        for line in cancel_abandoned(workspace, args.job):
            console().print(f"  {line}", markup=False, highlight=False)
    return 0


def worker(args: argparse.Namespace) -> int:
    from cuf_tui.jobs.launch import work_detached

    return work_detached(workspace_of(args), args.job)
