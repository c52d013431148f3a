"""Jobs: running and past batches with progress, rate, ETA, tokens, cost and errors, the
tail of the selected job's log, and `c` to cancel one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from cuf_tui.store.jobs import JobRow
from cuf_tui.tui.failures import survives
from cuf_tui.tui.screens.dialogs import ConfirmBatch
from cuf_tui.tui.service import Workbench

LOG_TAIL_LINES = 12
SERVER_LOG_LINES = 6


def progress_text(row: JobRow, width: int = 12) -> str:
    total = row.total or 0
    finished = row.finished
    filled = min(width, int(width * finished / total)) if total else 0
    return "█" * filled + "░" * (width - filled) + f" {finished}/{total}"


def rate_and_eta(row: JobRow, now: dt.datetime | None = None) -> tuple[str, str]:
    started = row.started_at
    finished = row.finished
    if not started or not finished:
        return "-", "-"
    end = row.finished_at if row.state != "running" else None
    stop = _parse(end) if end else (now or dt.datetime.now(dt.UTC))
    seconds = max(0.001, (stop - _parse(started)).total_seconds())
    rate = finished / seconds
    remaining = (row.total or 0) - finished
    eta = f"{remaining / rate:.0f}s" if row.state == "running" and remaining > 0 else "-"
    return f"{rate:.1f}/s", eta


def _parse(stamp: str) -> dt.datetime:
    return dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def log_tail(path: str | None, lines: int = LOG_TAIL_LINES) -> str:
    if not path:
        return "No log file was recorded for this job."
    try:
        with Path(path).open("rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - 16_384))
            tail = handle.read().decode("utf-8", "replace").splitlines()[-lines:]
    except OSError as err:
        return f"cannot read {path}: {err.strerror}"
    return "\n".join(tail)


class JobsPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("c", "cancel_job", "Cancel job")]

    DEFAULT_CSS = """
    JobsPane > DataTable { height: 1fr; }
    JobsPane > #job-log { height: auto; max-height: 24; border-top: solid $panel; }
    """

    def __init__(self, workbench: Workbench, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.workbench = workbench
        self.rows: dict[int, JobRow] = {}

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
        table.add_columns(
            "id",
            "kind",
            "state",
            "progress",
            "failed",
            "attention",
            "rate",
            "ETA",
            "tokens",
            "cost",
            "error",
        )
        yield table
        yield Static(id="job-log")

    @survives("The jobs were not read")
    def refresh_jobs(self) -> None:
        """Read the jobs again (a poll, a batch started or cancelled)."""
        self.show(self.workbench.jobs())

    def action_cancel_job(self) -> None:
        job_id = self.selected_job_id
        if job_id is None:
            return

        def cancel(confirmed: bool | None) -> None:
            if confirmed:
                self.cancel_batch(job_id)

        self.app.push_screen(
            ConfirmBatch(
                f"Cancel job {job_id}?", "The worker stops; what is done stays in the store."
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
                progress_text(row),
                Text(str(row.failed), style="bold red" if row.failed else ""),
                Text(attention or "-", style="yellow" if attention else "dim"),
                rate,
                eta,
                f"{row.prompt_tokens + row.completion_tokens:,}",
                f"${row.cost_usd:.4f}",
                Text(row.error or "", style="red"),
                key=str(row.id),
            )
        self.rows = {row.id: row for row in rows}
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
        shown = Text(f"job {job_id} log (last lines):\n", style="bold") + Text(
            log_tail(row.log_path)
        )
        if row.servers:
            shown += Text("\n\nmodel servers it ran:\n", style="bold")
            for server in row.servers:
                style = {"ready": "green", "starting": "yellow"}.get(server.state, "")
                shown += Text(server.line() + "\n", style=style)
            latest = row.servers[-1]
            shown += Text(f"{latest.model} server log (last lines):\n", style="bold") + Text(
                log_tail(latest.log_path, SERVER_LOG_LINES)
            )
        self.query_one("#job-log", Static).update(shown)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self.show_log()
