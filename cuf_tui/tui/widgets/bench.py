"""CODAL-Bench scores, the numbers `cuf-tui bench-report` prints: per (model, answer
protocol, judge, reference), the paper's score of each preference and overall with its 95%
interval, ranked; the mean over readable grades; and the coverage, which marks a run still
incomplete. Enter on a score opens its grades: the answer, the reference and the grader's
rationale side by side."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static
from textual.worker import Worker

from cuf_tui.analysis.leaderboard import COLUMNS, LeaderboardRow, Score, place
from cuf_tui.core.preferences import PREFERENCES
from cuf_tui.tui.failures import report_worker_failure, survives
from cuf_tui.tui.screens.dialogs import TextDialog
from cuf_tui.tui.service import Workbench
from cuf_tui.tui.widgets.rendered import one_line

READABLE = "readable"
HEADERS = {"instruction-following": "instr-following"}  # the rest fit as they are
COVERAGE = "coverage"
EXCERPT = 600
LABEL_CHARS = 36


def cell_text(score: Score | None, best: bool) -> Text:
    if score is None:
        return Text("-", style="dim")
    half = (score.ci_high - score.ci_low) / 2
    return Text(f"{score.score:.2f}±{half:.2f}", style="bold green" if best else "")


class BenchPane(Vertical):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("t", "transcript", "Transcript"),
        # as in the queue
        Binding("j", "move_cursor(1)", "Down", show=False),
        Binding("k", "move_cursor(-1)", "Up", show=False),
    ]

    DEFAULT_CSS = """
    BenchPane > DataTable { height: auto; max-height: 50%; }
    BenchPane > #bench-grades { height: 1fr; border-top: solid $panel; }
    """

    def __init__(self, workbench: Workbench, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.workbench = workbench
        self.shown_rows: list[LeaderboardRow] | None = None
        # The title and grades of the score opened last (None: the guide is on show).
        self.grades_shown: tuple[str, list[dict[str, Any]]] | None = None

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="bench-table", cursor_type="cell")
        table.fixed_columns = 2  # the rank and the model stay in view when scrolled right
        table.add_column("#", key="rank")
        table.add_column("model", key="model")
        for column in COLUMNS:
            table.add_column(HEADERS.get(column, column), key=column)
        table.add_column(COVERAGE, key=COVERAGE)
        table.add_column(READABLE, key=READABLE)
        table.add_column("judge · reference", key="group")  # last: the scores come first
        yield table
        with VerticalScroll(id="bench-grades"):
            yield Static(id="bench-grades-text")

    @work(
        thread=True,
        exclusive=True,
        group="bench",
        exit_on_error=False,
        description="reading the bench scores",
    )
    def refresh_scores(self) -> None:
        """The leaderboard, computed in a thread, then shown."""
        rows = self.workbench.leaderboard()
        self.app.call_from_thread(self.show, rows)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    @on(DataTable.CellSelected, "#bench-table")
    @survives("The grades were not read")
    def show_bench_grades(self, event: DataTable.CellSelected) -> None:
        key = event.cell_key.row_key.value
        column = event.cell_key.column_key.value
        if key is None or column in ("rank", "model", "group"):
            self.notify("Enter on a score (a preference, or the average) lists its grades.")
            return
        row = next((r for r in self.shown_rows or [] if json.dumps(r.key) == key), None)
        if row is None:
            return
        preference = column if column in PREFERENCES else None
        grades = self.workbench.bench_grades(row, preference)
        title = (
            f"{row.label} · {preference or 'all preferences'} · "
            f"{row.judge} vs {row.reference_model}"
        )
        self.show_grades(title, grades)

    def show(self, rows: Sequence[LeaderboardRow]) -> None:
        if list(rows) == self.shown_rows:
            return  # unchanged: keep the cursor and the grades on show
        first = self.shown_rows is None
        self.shown_rows = list(rows)
        table = self.query_one("#bench-table", DataTable)
        table.clear()
        best: dict[tuple[str, str, str], float] = {}
        for row in rows:
            for column in COLUMNS:
                s = row.scores.get(column)
                if s is not None and row.complete:
                    key = (row.judge, row.reference_model, column)
                    best[key] = max(best.get(key, s.score), s.score)
        for row in rows:
            overall = row.overall
            readable = overall.mean_readable
            table.add_row(
                Text(place(row), style="bold" if row.complete else "dim"),
                Text(one_line(row.label, LABEL_CHARS)),  # whole on Enter; never markup
                *(
                    cell_text(
                        row.scores.get(c),
                        (s := row.scores.get(c)) is not None
                        and row.complete
                        and s.score == best.get((row.judge, row.reference_model, c)),
                    )
                    for c in COLUMNS
                ),
                Text(
                    overall.coverage + ("" if row.complete else " incomplete"),
                    style="dim" if row.complete else "yellow",
                ),
                Text("-" if readable is None else f"{readable:.2f}", style="dim"),
                f"{row.judge} · {row.reference_model}",
                key=json.dumps(row.key),
            )
        if first and rows:  # start on a score, where Enter opens its grades
            table.move_cursor(row=0, column=table.get_column_index(COLUMNS[0]))
        grades = self.query_one("#bench-grades-text", Static)
        if rows and self.grades_shown is None:  # the guide, until a cell is opened
            grades.update(
                Text(
                    "The paper's score: each preference's mean grade (1-10) over its items, "
                    "unreadable or missing grades as 0, ± half its 95% bootstrap interval; "
                    "average: the mean of the preference scores. Ranked per judge and "
                    "reference; an incomplete run (coverage in yellow) is not ranked. The best "
                    "of each column in green; 'readable' is the mean of readable grades only. "
                    "Enter on a score lists its grades, t then their requests. "
                    "`cuf-tui bench-report` prints the same.",
                    style="dim",
                )
            )
        elif not rows:
            grades.update(
                Text(
                    "No CODAL-Bench grades in this workspace yet. Import the bench with "
                    "`cuf-tui import`, then B (or `cuf-tui bench --model NAME`) answers and "
                    "grades it.",
                    style="dim",
                )
            )

    @survives("The transcript was not read")
    def action_move_cursor(self, step: int) -> None:
        table = self.query_one("#bench-table", DataTable)
        move = table.action_cursor_down if step > 0 else table.action_cursor_up
        move()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """`t` shows dimmed until Enter on a score has listed grades to show requests of."""
        if action == "transcript" and self.grades_shown is None:
            return None
        return True

    def action_transcript(self) -> None:
        """The requests behind the grades on show (Enter on a score lists them first)."""
        if self.grades_shown is None:
            self.notify("Enter on a score lists its grades; t then shows their requests.")
            return
        title, grades = self.grades_shown
        text = self.workbench.grade_transcripts([grade["grade_id"] for grade in grades])
        self.app.push_screen(TextDialog(f"Transcript: {title}", text))

    def show_grades(self, title: str, grades: list[dict[str, Any]]) -> None:
        self.grades_shown = (title, grades)
        self.refresh_bindings()
        shown = Table(
            title=Text(f"{title} · {len(grades)} grades", style="bold"),
            show_lines=True,
            expand=True,
            title_justify="left",
        )
        shown.add_column("instruction and answer", ratio=3)
        shown.add_column("reference", ratio=3)
        shown.add_column("grade and rationale", ratio=2)
        for grade in grades:
            rating = "unreadable" if grade["rating"] is None else f"{grade['rating']}/10"
            why = grade["rationale"] or (grade["raw_output"] or "")
            shown.add_row(
                Text(grade["instruction"][:200] + "\n\n", style="bold")
                + Text(_excerpt(grade["answer"] or "(only the grade was imported)")),
                Text(_excerpt(grade["reference"] or "(no reference kept)")),
                Text(rating + "\n", style="bold yellow") + Text(_excerpt(why), style="italic"),
            )
        self.query_one("#bench-grades-text", Static).update(shown)


def _excerpt(text: str) -> str:
    return text if len(text) <= EXCERPT else text[:EXCERPT] + " …"
