"""The instruction queue: a line-API list that pages short rows from SQLite as it scrolls,
so ten thousand instructions cost ten thousand ids, not ten thousand texts."""

from __future__ import annotations

import bisect
import sqlite3
from collections.abc import Callable

from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cuf_tui.store.browse import QueueRow
from cuf_tui.tui.service import Workbench

PAGE_ROWS = 100
SHORT = {
    "instruction-following": "follow",
    "explanation": "explain",
    "complexity": "complex",
    "readability": "read",
    "style": "style",
}


def status_text(row: QueueRow) -> str:
    """Compact status: responses done/assigned, judged (J) or unparsed (?), failed (!n),
    truncated at max_tokens (T), reviewed (R), flagged (F)."""
    judged = {"done": "J", "unparsed": "?"}.get(row.judged, "·")
    failed = f"!{row.failed}" if row.failed else "  "
    return (
        f"{row.done}/{row.assigned} {judged} {failed:>2} {'T' if row.cut_off else ' '} "
        f"{'R' if row.reviewed else '·'}{'F' if row.flagged else ' '}"
    )


class QueueView(ScrollView, can_focus=True):
    """Instructions, one per line; the cursor picks the one shown in the other panes."""

    BINDINGS = [
        Binding("j,down", "cursor(1)", "Down", show=False),
        Binding("k,up", "cursor(-1)", "Up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("home", "edge(0)", "First", show=False),
        Binding("end", "edge(1)", "Last", show=False),
    ]

    cursor: reactive[int] = reactive(0)

    def __init__(self, workbench: Workbench, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.workbench = workbench
        self.ids: list[int] = []
        self._pages: dict[int, dict[int, QueueRow]] = {}
        self.rows_loaded = 0  # how many short rows were read from the store, for tests
        # Called with the instruction under the cursor whenever it changes, in the same frame
        # as the cursor, so the list and the detail repaint together.
        self.on_highlight: Callable[[int | None], None] = lambda _: None

    @property
    def current_id(self) -> int | None:
        return self.ids[self.cursor] if 0 <= self.cursor < len(self.ids) else None

    def show(self, ids: list[int], keep: int | None = None, *, hold: bool = False) -> None:
        """Show these instruction ids (in id order); keep the cursor on ``keep`` when it is
        still there, or, with ``hold``, even when it no longer is: a reload must never pull
        the row from under the reviewer (it goes at a reload after they move away)."""
        if hold and keep is not None and keep not in ids:
            ids = list(ids)
            bisect.insort(ids, keep)
        self.ids = ids
        self._pages.clear()
        self.virtual_size = Size(0, len(ids))
        position = ids.index(keep) if keep is not None and keep in ids else 0
        if position != self.cursor:
            self.cursor = position
        else:
            self.on_highlight(self.current_id)
        self.refresh()

    def refresh_rows(self) -> None:
        """Re-read the rows on screen (their statuses change as results land)."""
        self._pages.clear()
        self.refresh()

    def refresh_row(self, instruction_id: int) -> None:
        """Re-read one row (a review changed its status) and repaint only its line."""
        if instruction_id not in self.ids:
            return
        index = self.ids.index(instruction_id)
        self._pages.pop(index // PAGE_ROWS, None)
        self.refresh_line(index)  # a line of the list, not of the screen

    def _row(self, index: int) -> QueueRow | None:
        page = index // PAGE_ROWS
        if page not in self._pages:
            ids = self.ids[page * PAGE_ROWS : (page + 1) * PAGE_ROWS]
            try:
                self._pages[page] = self.workbench.queue_rows(ids)
            except sqlite3.Error:  # a store in trouble: drawn as unreadable, read next time
                return None
            self.rows_loaded += len(ids)
            if len(self._pages) > 20:  # keep memory flat on long scrolls
                self._pages.pop(next(iter(self._pages)))
        return self._pages[page].get(self.ids[index])

    def render_line(self, y: int) -> Strip:
        index = self.scroll_offset.y + y
        width = self.scrollable_content_region.width
        if index >= len(self.ids):
            return Strip.blank(width, self.rich_style)
        row = self._row(index)
        if row is None:  # unreadable now, or gone since the ids were read
            unread = Segment(f" {self.ids[index]:>5} …", self.rich_style + Style(dim=True))
            return Strip([unread]).extend_cell_length(width, self.rich_style)
        selected = index == self.cursor
        base = self.get_component_rich_style(
            "queue--cursor"
            if selected and self.has_focus
            else "queue--selected"
            if selected
            else "queue--row"
        )
        muted = base + Style(dim=not selected)
        text = f" {row.id:>5} {SHORT.get(row.preference, row.preference):<7} "
        status = status_text(row)
        rest = max(0, width - len(text) - len(status) - 2)
        head = row.head[:rest].ljust(rest)
        segments = [
            Segment(text, muted),
            Segment(status, base + Style(color="red") if row.failed else base),
            Segment("  " + head, base),
        ]
        return Strip(segments).crop(0, width).extend_cell_length(width, base)

    COMPONENT_CLASSES = {"queue--row", "queue--cursor", "queue--selected"}

    DEFAULT_CSS = """
    QueueView { height: 1fr; background: $surface; overflow-x: hidden; }
    QueueView > .queue--row { }
    QueueView > .queue--cursor { background: $accent; color: $text; text-style: bold; }
    QueueView > .queue--selected { background: $boost; text-style: bold; }
    """

    def watch_cursor(self, old: int, new: int) -> None:
        self.refresh_line(old)
        self.refresh_line(new)
        self.scroll_to_region_of(new)
        with self.app.batch_update():
            self.on_highlight(self.current_id)

    def scroll_to_region_of(self, index: int) -> None:
        top = self.scroll_offset.y
        height = self.scrollable_content_region.height
        if index < top:
            self.scroll_to(y=index, animate=False)
        elif index >= top + height:
            self.scroll_to(y=index - height + 1, animate=False)

    def on_resize(self) -> None:
        self.virtual_size = Size(0, len(self.ids))
        self.call_after_refresh(self.scroll_to_region_of, self.cursor)  # keep it in view

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def action_cursor(self, step: int) -> None:
        if self.ids:
            self.cursor = max(0, min(len(self.ids) - 1, self.cursor + step))

    def action_page(self, direction: int) -> None:
        self.action_cursor(direction * max(1, self.scrollable_content_region.height - 1))

    def action_edge(self, end: int) -> None:
        if self.ids:
            self.cursor = len(self.ids) - 1 if end else 0
