"""Jobs: running and past batches with progress, rate, ETA, tokens, cost and errors, the
tail of the selected job's log, and `c` to cancel one."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from cuf_tui.store.jobs import JobRow
from cuf_tui.tui.failures import survives
from cuf_tui.tui.screens.dialogs import ConfirmBatch
from cuf_tui.tui.service import Workbench
from cuf_tui.tui.widgets.rendered import one_line

LOG_TAIL_LINES = 12
SERVER_LOG_LINES = 6


def progress_text(row: JobRow, width: int = 12) -> str:
    """A bar ``width`` wide (none at 0) and finished/total."""
    total = row.total or 0
    finished = row.finished
    filled = min(width, int(width * finished / total)) if total else 0
    bar = "█" * filled + "░" * (width - filled)
    return f"{bar} {finished}/{total}".strip()


# Below this width the bar gives way, so that cost stays in view at 80 columns.
BAR_FROM_WIDTH = 110


def rate_and_eta(row: JobRow, now: dt.datetime | None = None) -> tuple[str, str]:
    """Requests a second, and the time left while a live worker runs the job; an interrupted
    job has neither (no pace, and no end in sight until it is resumed)."""
    started = row.started_at
    finished = row.finished
    if not started or not finished or row.shown_state == "interrupted":
        return "-", "-"
    end = row.finished_at if row.state != "running" else None
    stop = _parse(end) if end else (now or dt.datetime.now(dt.UTC))
    seconds = max(0.001, (stop - _parse(started)).total_seconds())
    rate = finished / seconds
    remaining = (row.total or 0) - finished
    eta = f"{remaining / rate:.0f}s" if row.state == "running" and remaining > 0 else "-"
    # Tenths only where they tell something, so the last column fits at 80 columns.
    return (f"{rate:.0f}/s" if rate >= 10 else f"{rate:.1f}/s"), eta


def short_count(count: int) -> str:
    """Tokens in a narrow column: 950, 12.3k, 4.56M."""
    if count < 1000:
        return str(count)
    if count < 1_000_000:
        return f"{count / 1000:.1f}k"
    return f"{count / 1_000_000:.2f}M"


def short_cost(usd: float) -> str:
    """Dollars in a narrow column, never cut to `$0.0`: $0, <$0.01, $1.23, $1,234."""
    if usd == 0:
        return "$0"
    if usd < 0.01:
        return "<$0.01"
    if usd < 1000:
        return f"${usd:.2f}"
    return f"${usd:,.0f}"


ERROR_CHARS = 40


def _parse(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def log_tail(path: str | None, lines: int = LOG_TAIL_LINES) -> str:
    if not path:
        return "No log file was recorded for this job."
    try:
        if not Path(path).is_file():  # a FIFO would block, /dev/zero would never end
            return f"cannot read {path}: not a regular file"
        with Path(path).open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 16_384))
            tail = handle.read(16_384).decode("utf-8", "replace").splitlines()[-lines:]
    except OSError as err:
        return f"cannot read {path}: {err.strerror}"
    return "\n".join(tail)


class JobsPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_job", "Cancel job"),
        # as in the queue
        Binding("j", "move_cursor(1)", "Down", show=False),
        Binding("k", "move_cursor(-1)", "Up", show=False),
    ]

    # The table keeps its rows (up to most of the pane); the log scrolls in what is left,
    # however long and wrapped its lines.
    DEFAULT_CSS = """
    JobsPane > DataTable { height: auto; max-height: 60%; min-height: 3; }
    JobsPane > #job-log-scroll { height: 1fr; min-height: 3; border-top: solid $panel; }
    """

    def __init__(self, workbench: Workbench, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.workbench = workbench
        self.rows: dict[int, JobRow] = {}
        self.followed: int | None = None  # a job just launched: selected when it shows

    def follow(self, job_id: int) -> None:
        """Select ``job_id`` when the jobs are next shown."""
        self.followed = job_id

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(
            "id",
            "kind",
            "state",
            "progress",
            "failed",
            "attention",
            "cost",
            "tokens",
            "rate",
            "ETA",
            "error",
        )
        yield table
        with VerticalScroll(id="job-log-scroll"):
            yield Static(id="job-log")

    @survives("The jobs were not read")
    def refresh_jobs(self) -> None:
        """Read the jobs again (a poll, a batch started or cancelled)."""
        self.show(self.workbench.jobs())

    def action_cancel_job(self) -> None:
        job_id = self.selected_job_id
        if job_id is None:
            return
        row = self.rows.get(job_id)
        state = row.shown_state if row is not None else "running"
        remote = row is not None and any(r.open for r in row.remote_batches)
        if state not in ("running", "queued", "interrupted") and not remote:
            self.notify(f"Job {job_id} is {state}: no worker runs it, nothing to cancel.")
            return
        also = (
            " Its remote batches at the provider are cancelled too (what they answered "
            "already is kept)."
            if remote
            else ""
        )

        def cancel(confirmed: bool | None) -> None:
            if confirmed:
                self.cancel_batch(job_id)

        self.app.push_screen(
            ConfirmBatch(
                f"Cancel job {job_id}?",
                "Its worker stops sending; what is done stays in the store, and the same "
                "command resumes it later." + also,
                yes=f"cancel job {job_id}",
                no="keep it running",
            ),
            cancel,
        )

    @survives("The job was not cancelled")
    def cancel_batch(self, job_id: int) -> None:
        try:
            self.notify(self.workbench.cancel(job_id), timeout=5, markup=False)
        finally:
            self.refresh_jobs()

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#jobs-table", DataTable)

    def action_move_cursor(self, step: int) -> None:
        move = self.table.action_cursor_down if step > 0 else self.table.action_cursor_up
        move()

    def show(self, rows: list[JobRow], now: dt.datetime | None = None) -> None:
        from cuf_tui.core.job_words import attention_words

        table = self.table
        selected = self.selected_job_id
        table.clear()
        for row in rows:
            state = row.shown_state
            rate, eta = rate_and_eta(row, now)
            style = {
                "running": "bold green",
                "failed": "bold red",
                "done with failures": "bold yellow",
                "interrupted": "yellow",
                "cancelled": "yellow",
            }.get(state, "")
            attention = attention_words(row.unparsed, row.truncated)
            table.add_row(
                str(row.id),
                row.kind,
                Text(state, style=style),
                progress_text(row, 12 if self.size.width >= BAR_FROM_WIDTH else 0),
                Text(str(row.failed), style="bold red" if row.failed else ""),
                Text(attention or "-", style="yellow" if attention else "dim"),
                short_cost(row.cost_usd),
                short_count(row.prompt_tokens + row.completion_tokens),
                rate,
                eta,
                Text(one_line(row.error or "", ERROR_CHARS), style="red"),
                key=str(row.id),
            )
        self.rows = {row.id: row for row in rows}
        if self.followed in self.rows:
            selected, self.followed = self.followed, None
        if selected in self.rows:
            table.move_cursor(row=list(self.rows).index(selected))
        self.show_log()
        if not rows:
            self.query_one("#job-log", Static).update(
                Text("No jobs yet. G generates responses, J judges them.", style="dim")
            )

    @property
    def selected_job_id(self) -> int | None:
        table = self.table
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None

    def show_log(self) -> None:
        job_id = self.selected_job_id
        if job_id is None or job_id not in self.rows:
            return
        row = self.rows[job_id]
        shown = Text()
        if row.error:  # whole here; the table's column shows its start
            shown += Text(f"job {job_id}: {row.error}\n\n", style="red")
        if row.remote_batches:  # what a batch-mode job waits on: first, it takes hours
            shown.append("remote batches (Batch API):\n", style="bold")
            now = time.time()
            for remote in row.remote_batches:
                style = "yellow" if remote.open else ("red" if remote.status == "failed" else "")
                shown.append(remote.line(now) + "\n", style=style)
            shown.append("\n")
        # Only the heading is bold (a Text's own style would carry over what is appended).
        shown.append(f"job {job_id} ({row.what}) log (last lines):\n", style="bold")
        shown.append(log_tail(row.log_path))
        if row.servers:
            shown += Text("\n\nmodel servers it ran:\n", style="bold")
            for server in row.servers:
                style = {"ready": "green", "starting": "yellow"}.get(server.state, "")
                shown += Text(server.line() + "\n", style=style)
            latest = row.servers[-1]
            shown.append(f"{latest.model} server log (last lines):\n", style="bold")
            shown.append(log_tail(latest.log_path, SERVER_LOG_LINES))
        self.query_one("#job-log", Static).update(shown)

    def on_resize(self) -> None:
        if self.rows:  # the bar comes or goes with the width
            self.show(list(self.rows.values()))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_log()
