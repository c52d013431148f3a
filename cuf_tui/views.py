"""Rich renderings of the workspace for the command line: the summary and `stats` tables."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from rich.console import Console

    from cuf_tui.config import Config
    from cuf_tui.jobs.plan import Estimate
    from cuf_tui.jobs.progress import Progress as JobProgress
    from cuf_tui.store.jobs import JobRow
    from cuf_tui.store.stats import Stats
    from cuf_tui.workspace import Workspace


def render_summary(
    console: Console, workspace: Workspace, config: Config, counts: dict[str, int]
) -> None:
    judge = config.default_judge
    console.print(config.workspace.name, style="bold", end="")
    console.print(f"  {workspace.root}")
    console.print(
        f"  pool    {len(config.models)} models"
        + (
            ": "
            + ", ".join(m.name + (" (batch)" if m.mode == "batch" else "") for m in config.models)
            if config.models
            else " (add [[models]] entries to cuf.toml to generate responses)"
        )
    )
    console.print(
        f"  judge   {judge.name} ({judge.engine}, {judge.model}"
        + (", Batch API" if judge.mode == "batch" else "")
        + ")"
        if judge
        else "  judge   none (add a [[judges]] entry to cuf.toml to judge responses)"
    )
    console.print(
        f"  store   {counts['instructions']} instructions, {counts['responses']} responses "
        f"({counts['responses_failed']} failed), {counts['judgments']} judgments "
        f"({counts['judgments_unparsed']} unparsed), {counts['reviews']} reviews"
    )
    console.print(
        f"  bench   {counts['bench_items']} CODAL-Bench items, "
        f"{counts['bench_references']} reference answers, {counts['bench_grades']} grades"
    )
    console.print(
        "Next: cuf-tui stats · cuf-tui import SOURCE · "
        "cuf-tui export --format dpo --out pairs.jsonl"
    )


def render_stats(console: Console, workspace: Workspace, stats: Stats) -> None:
    from rich.table import Table

    def table(title: str, headers: Sequence[str]) -> Table:
        made = Table(
            title=title,
            title_justify="left",
            title_style="bold",
            box=None,
            pad_edge=False,
            header_style="underline",
        )
        for i, header in enumerate(headers):
            if i == 0:
                made.add_column(header, no_wrap=True, overflow="ellipsis", min_width=12)
            else:
                made.add_column(header, justify="right", no_wrap=True, min_width=len(header))
        return made

    console.print(str(workspace.root), style="bold")
    by_pref = table(
        "Instructions by preference",
        [
            "preference",
            "instr",
            "done",
            "cut",
            "fail",
            "pend",
            "judged",
            "unpars",
            "review",
            "mean",
        ],
    )
    for name, c in stats.by_preference.items():
        by_pref.add_row(
            name,
            *(
                _cell(v)
                for v in (
                    c.instructions,
                    c.done,
                    c.truncated,
                    c.failed,
                    c.pending,
                    c.judged,
                    c.unparsed,
                    c.reviewed,
                    c.mean_rating,
                )
            ),
        )
    console.print(by_pref)
    unassigned = sum(c.unassigned for c in stats.by_preference.values())
    if unassigned:
        console.print(f"{unassigned} instructions have no models assigned yet.")
    truncated = sum(c.truncated for c in stats.by_preference.values())
    if truncated:
        console.print(
            f"{truncated} responses (cut) were cut off at max_tokens; `export --format dpo` "
            "leaves them out unless --include-truncated."
        )
    flagged = sum(c.flagged for c in stats.by_preference.values())
    if flagged:
        console.print(f"{flagged} instructions are flagged by a reviewer.")

    if stats.by_model:
        by_model = table(
            "Responses by model",
            ["model", "assign", "done", "cut", "fail", "pend", "judged", "review", "mean"],
        )
        for name, c in stats.by_model.items():
            by_model.add_row(
                name,
                *(
                    _cell(v)
                    for v in (
                        c.instructions,
                        c.done,
                        c.truncated,
                        c.failed,
                        c.pending,
                        c.judged,
                        c.reviewed,
                        c.mean_rating,
                    )
                ),
            )
        console.print(by_model)
    if stats.by_judge:
        by_judge = table("Judgments by judge", ("judge", "done", "unpars", "fail", "N/A", "mean"))
        for name, j in stats.by_judge.items():
            by_judge.add_row(
                name,
                *(_cell(v) for v in (j.done, j.unparsed, j.failed, j.no_rating, j.mean_rating)),
            )
        console.print(by_judge)
    if any(stats.bench_items.values()):
        bench = table("CODAL-Bench items", ("preference", "items"))
        for pref, count in stats.bench_items.items():
            bench.add_row(pref, str(count))
        console.print(bench)
        refs = ", ".join(f"{m} ({n})" for m, n in stats.bench_references.items())
        console.print(f"Reference answers: {refs or 'none'}")


def _cell(value: float | int | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def render_estimates(
    console: Console, kind: str, estimates: Sequence[Estimate], assignments: int
) -> None:
    from rich.table import Table

    table = Table(
        title=f"Dry run: {kind} would request",
        title_justify="left",
        box=None,
        title_style="bold",
        header_style="underline",
        pad_edge=False,
    )
    for header in ("endpoint", "requests", "input tokens", "output tokens", "cost"):
        table.add_column(header, justify="left" if header == "endpoint" else "right")
    for e in estimates:
        table.add_row(
            e.label,
            str(e.requests),
            f"~{e.input_tokens:,}",
            f"~{e.output_tokens:,}" + ("" if e.output_measured else "*"),
            f"~${e.cost_usd:.4f}",
        )
    console.print(table)
    total = sum(e.requests for e in estimates)
    console.print(f"{total} requests in all; nothing was requested.")
    if assignments:
        console.print(f"{assignments} instructions would first get their models assigned.")
    if any(e.batch for e in estimates):
        from cuf_tui.jobs.plan import batch_mode_note

        console.print(batch_mode_note())
    if any(not e.output_measured for e in estimates):
        if kind == "bench":
            from cuf_tui.jobs.bench_plan import GUESSED_GRADE_TOKENS

            guess = f"half of max_tokens per answer, {GUESSED_GRADE_TOKENS} tokens per grade"
        elif kind == "judge":
            from cuf_tui.jobs.plan import GUESSED_JUDGMENT_TOKENS

            guess = f"{GUESSED_JUDGMENT_TOKENS} tokens per judgment"
        else:
            guess = "half of max_tokens per response"
        console.print(f"* no past output to measure: assumed {guess}")


PLAIN_PROGRESS_EVERY_S = 10.0


@contextmanager
def job_progress(console: Console, title: str) -> Iterator[Callable[[JobProgress], None]]:
    """A batch's progress: on a terminal, a bar whose done/total and bar come first and whose
    rates are cut, with an ellipsis, before them; elsewhere (a file, a pipe) a plain line
    every 10 seconds and at the end, never a line cut to a width."""
    if not console.is_terminal:
        with _plain_progress(console, title) as plain:
            yield plain
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Column

    bar = Progress(
        TextColumn("{task.description}", table_column=Column(no_wrap=True)),
        BarColumn(bar_width=16),
        TextColumn("{task.completed}/{task.total}", table_column=Column(no_wrap=True)),
        TimeElapsedColumn(),
        TextColumn(
            "{task.fields[detail]}",
            table_column=Column(no_wrap=True, overflow="ellipsis", ratio=1, min_width=1),
        ),
        console=console,
        transient=False,
        expand=True,
    )
    task = bar.add_task(title, total=None, detail="")

    def update(progress: JobProgress) -> None:
        bar.update(task, total=progress.total, completed=progress.finished, detail=_rates(progress))

    with bar:
        yield update


@contextmanager
def _plain_progress(console: Console, title: str) -> Iterator[Callable[[JobProgress], None]]:
    import time

    last: list[float] = []
    latest: list[JobProgress] = []

    def line(progress: JobProgress) -> None:
        console.print(
            f"{title}: {progress.finished}/{progress.total} · {_rates(progress)}",
            soft_wrap=True,
            highlight=False,
        )

    def update(progress: JobProgress) -> None:
        latest[:] = [progress]
        now = time.monotonic()
        if not last or now - last[0] >= PLAIN_PROGRESS_EVERY_S:
            last[:] = [now]
            line(progress)

    yield update
    if latest:
        line(latest[0])


def _rates(progress: JobProgress) -> str:
    if progress.phase:
        return f"{progress.phase}… · failed {progress.failed}"
    remaining = progress.total - progress.finished
    rate = progress.rate
    eta = f"{remaining / rate:.0f}s" if rate > 0 and remaining else "-"
    return (
        f"failed {progress.failed} · in flight {progress.in_flight} · {rate:.1f} req/s · "
        f"ETA {eta} · {progress.prompt_tokens + progress.completion_tokens:,} tok · "
        f"${progress.cost_usd:.4f}"
    )


def job_summary_lines(kind: str, progress: JobProgress) -> list[str]:
    """What a finished foreground batch says: counts, what needs attention, retries."""
    lines = [
        f"Job {progress.job_id} ({kind}): {progress.done} done, {progress.failed} failed of "
        f"{progress.total}; {progress.prompt_tokens + progress.completion_tokens:,} tokens, "
        f"${progress.cost_usd:.4f}"
    ]
    if progress.unparsed:
        lines.append(
            f"  needs review: {progress.unparsed} judge answers could not be read (stored as "
            "unparsed, with the raw answer; `cuf-tui stats` counts them by judge)"
        )
    if progress.truncated:
        lines.append(
            f"  needs attention: {progress.truncated} answers were cut off at max_tokens "
            "(stored, marked truncated; `export --format dpo` leaves them out)"
        )
    if progress.retries:
        lines.append(
            f"  {progress.retries} requests were retried ({progress.rate_limited} after a 429)"
        )
    if progress.elsewhere:
        lines.append(f"  {progress.elsewhere} units were left to another batch that was doing them")
    return lines


def render_jobs(console: Console, rows: Sequence[JobRow]) -> None:
    from rich.table import Table

    if not rows:
        console.print("No jobs yet. Start one with `cuf-tui generate` or `cuf-tui judge`.")
        return
    import time

    from cuf_tui.core.job_words import attention_words

    now = time.time()
    table = Table(box=None, header_style="underline", pad_edge=False)
    headers = ("id", "kind", "state", "progress", "failed", "attention", "retries", "flight")
    for header in (*headers, "tokens", "cost", "started"):
        left = header in ("kind", "state", "attention", "started")
        table.add_column(
            header, justify="left" if left else "right", no_wrap=True, min_width=len(header)
        )
    for row in rows:
        state = row.shown_state
        table.add_row(
            str(row.id),
            row.what,
            state,
            f"{row.finished}/{row.total}",
            str(row.failed),
            attention_words(row.unparsed, row.truncated) or "-",
            str(row.retries),
            str(row.in_flight if state == "running" else 0),
            f"{row.prompt_tokens + row.completion_tokens:,}",
            f"${row.cost_usd:.4f}",
            (row.started_at or row.created_at)[5:16].replace("T", " "),
        )
    console.print(table)
    for row in rows:
        if row.error:
            console.print(f"job {row.id}: {row.error}", markup=False, highlight=False)
        for server in row.servers:
            console.print(f"job {row.id}: {server.line()}", markup=False, highlight=False)
        for remote in row.remote_batches:
            console.print(f"job {row.id}: {remote.line(now)}", markup=False, highlight=False)
