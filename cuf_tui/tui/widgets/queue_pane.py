"""The queue tab: the filter line, the search box, the instruction list and the detail."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.widgets import Input, Static

from cuf_tui.store.db import Store
from cuf_tui.tui.widgets.detail import InstructionDetail
from cuf_tui.tui.widgets.queue import QueueView


class QueuePane(Container):
    """Keys here act on the selected instruction and its selected response."""

    # Keys of one kind share a footer entry ("1-5 Rate", "h/l Response"); the help dialog
    # lists each of them.
    BINDINGS: ClassVar[list[BindingType]] = [
        # First, so that a narrow footer still shows where every other key is listed.
        Binding("question_mark", "app.help", "Keys"),
        *[
            Binding(str(n), f"app.rate({n})", "Rate", show=n == 1, key_display="1-5")
            for n in range(1, 6)
        ],
        Binding("a", "app.agree", "Agree"),
        Binding("x", "app.flag", "Flag"),
        Binding("n", "app.note", "Note"),
        Binding("u", "app.undo", "Undo"),
        Binding("right_square_bracket", "app.next_review(1)", "Next review", key_display="]/["),
        Binding("left_square_bracket", "app.next_review(-1)", "Prev review", show=False),
        Binding("l,right", "app.select_response(1)", "Next response", key_display="h/l"),
        Binding("h,left", "app.select_response(-1)", "Prev response", show=False),
        Binding("r", "app.raw", "Raw"),
        Binding("f", "app.full_text", "Full text", show=False),  # long texts say so
        Binding("slash", "app.search", "Search"),
        Binding("p", "app.cycle_filter('preference')", "Preference"),
        Binding("s", "app.cycle_filter('status')", "Status"),
        Binding("m", "app.cycle_filter('model')", "Model"),
        Binding("escape", "app.back_out", "Back/clear", show=False),
        Binding("enter", "app.open", "Open", show=False),
    ]

    def __init__(self, store: Store) -> None:
        super().__init__(id="queue-pane")
        self.store = store

    def compose(self) -> ComposeResult:
        with Vertical(id="queue-side"):
            yield Static(id="filter-line")
            yield Input(placeholder="search the text; Enter keeps it, Esc clears", id="search")
            yield QueueView(self.store, id="queue")
        yield InstructionDetail(id="detail")

    def show_filter(self, description: str, shown: int, total: int) -> None:
        line = Text(f" {shown} of {total} · ", style="bold")
        line.append(description)
        self.query_one("#filter-line", Static).update(line)
