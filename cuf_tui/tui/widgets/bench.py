"""CODAL-Bench scores: model x preference (+ average), the best per column highlighted;
a cell opens that model's grades."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import DataTable, Static

from cuf_tui.core.preferences import PREFERENCES
from cuf_tui.store.browse import BenchCell

AVERAGE = "average"


def score_grid(cells: list[BenchCell]) -> dict[str, dict[str, float]]:
    """model -> preference (and 'average', the mean of its preference means) -> mean grade."""
    grid: dict[str, dict[str, float]] = defaultdict(dict)
    for cell in cells:
        grid[cell.model][cell.preference] = cell.mean
    for scores in grid.values():
        scores[AVERAGE] = sum(scores.values()) / len(scores)
    return dict(grid)


class BenchPane(Vertical):
    DEFAULT_CSS = """
    BenchPane > DataTable { height: auto; max-height: 60%; }
    BenchPane > #bench-grades { height: 1fr; border-top: solid $panel; }
    """

    def compose(self) -> ComposeResult:
        table: DataTable[Any] = DataTable(id="bench-table", cursor_type="cell")
        table.add_column("model", key="model")
        for column in (*PREFERENCES, AVERAGE):
            table.add_column(column, key=column)
        yield table
        with VerticalScroll(id="bench-grades"):
            yield Static(id="bench-grades-text")

    def show(self, cells: list[BenchCell]) -> None:
        if not self.query("#bench-table"):
            return  # not composed yet; the next poll fills it
        if cells == getattr(self, "_cells", None):
            return  # unchanged: keep the cursor and the grades on show
        first = not hasattr(self, "_cells")
        self._cells = cells
        table = self.query_one("#bench-table", DataTable)
        table.clear()
        grid = score_grid(cells)
        best = {
            column: max((s[column] for s in grid.values() if column in s), default=None)
            for column in (*PREFERENCES, AVERAGE)
        }
        for model, scores in sorted(grid.items(), key=lambda item: -item[1][AVERAGE]):
            values = []
            for column in (*PREFERENCES, AVERAGE):
                if column not in scores:
                    values.append(Text("-", style="dim"))
                    continue
                top = best[column] is not None and scores[column] == best[column]
                values.append(Text(f"{scores[column]:.2f}", style="bold green" if top else ""))
            table.add_row(model, *values, key=model)
        if grid and first:
            self.query_one("#bench-grades-text", Static).update(
                Text(
                    "Mean grade (1-10) over parsed grades; the best of each column in green. "
                    "Enter on a score lists its grades.",
                    style="dim",
                )
            )
        elif not grid:
            self.query_one("#bench-grades-text", Static).update(
                Text(
                    "No CODAL-Bench grades in this workspace yet. Bench items and references are "
                    "imported with `cuf-tui import`; grades come from bench runs.",
                    style="dim",
                )
            )

    def show_grades(self, model: str, preference: str | None, grades: list[dict[str, Any]]) -> None:
        text = Text(
            f"{model} · {preference or 'all preferences'} · {len(grades)} grades\n\n", style="bold"
        )
        for grade in grades:
            rating = "N/A" if grade["rating"] is None else f"{grade['rating']}/10"
            text.append(f"[{rating}] ", style="bold yellow")
            text.append(f"{grade['instruction'][:100]}\n")
            text.append(
                f"  {grade['judge']} vs {grade['reference_model']}: "
                f"{(grade['rationale'] or '')[:300]}\n\n",
                style="italic",
            )
        self.query_one("#bench-grades-text", Static).update(text)
