"""Any amount of text as plain lines: wrapped in a thread and drawn line by line, so a 10 MB
instruction costs no markup parsing, no layout and no frozen screen."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import work
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.worker import Worker, WorkerState, get_current_worker

from cuf_tui.tui.widgets.rendered import wrap_plain

HEADING = "━━ "  # a line that starts with this is drawn as a heading


class PlainTextView(ScrollView, can_focus=True):
    """``text`` wrapped at the view's width; ``lines`` holds it once wrapped."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("j", "scroll_down", "Down", show=False),
        Binding("k", "scroll_up", "Up", show=False),
        # A jump, not an animated scroll through a million lines.
        Binding("g,home", "edge(0)", "Top", show=False),
        Binding("G,end", "edge(1)", "End", show=False),
    ]

    DEFAULT_CSS = """
    PlainTextView { height: 1fr; overflow-x: hidden; scrollbar-gutter: stable; }
    """

    def __init__(self, text: str, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.text = text
        self.lines: list[str] = []
        self._wrapped_at = 0  # the width ``lines`` were wrapped at; 0 while wrapping

    @property
    def line_count(self) -> int:
        return len(self.lines)

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width and width != self._wrapped_at:
            self.wrap(width)

    @work(
        thread=True,
        exclusive=True,
        group="wrap-text",
        exit_on_error=False,
        description="wrapping the text",
    )
    def wrap(self, width: int) -> None:
        lines = wrap_plain(self.text, width)
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self.show_lines, lines, width)

    def show_lines(self, lines: list[str], width: int) -> None:
        self.lines, self._wrapped_at = lines, width
        self.virtual_size = Size(width, len(lines))
        self.refresh()

    def action_edge(self, end: int) -> None:
        self.scroll_to(y=self.max_scroll_y if end else 0, animate=False)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.notify(
                f"The text could not be shown: {event.worker.error}",
                severity="error",
                markup=False,
            )

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if not self.lines and index == 0:
            waiting = Text(f"wrapping {len(self.text):,} characters…", style="dim italic")
            return Strip(waiting.render(self.app.console)).crop_extend(0, width, self.rich_style)
        if index >= len(self.lines):
            return Strip.blank(width, self.rich_style)
        line = self.lines[index]
        style = self.rich_style + Style(bold=True) if line.startswith(HEADING) else self.rich_style
        return Strip([Segment(line, style)]).crop_extend(0, width, self.rich_style)
