"""One instruction in full: its text, its responses side by side (rendered markdown with
highlighted code) and, under each, the judge's rating and rationale and the human review.

A line-API view: the whole pane is rendered into lines when the instruction or the
selection changes, so moving through the queue never asks Textual for a new layout.
"""

from __future__ import annotations

from typing import cast

from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from cuf_tui.core.preferences import Preference, rating_level
from cuf_tui.store.browse import InstructionView, ResponseView
from cuf_tui.tui.widgets.rendered import markdown

GAP = 1  # columns between response columns
RULE = Style(color="grey42")
SELECTED_RULE = Style(color="dark_orange", bold=True)


def rating_label(preference: str, rating: int | None) -> str:
    if rating is None:
        return "N/A"
    return f"{rating} {rating_level(cast(Preference, preference), rating)}"


def response_head(response: ResponseView, number: int, count: int) -> Text:
    head = Text(f"{number}/{count} {response.model}", style="bold")
    if response.state == "done" and response.rating is not None:
        head.append(f"  ★ {response.rating}", style="bold yellow")
    # The review at a glance, without scrolling to the judge box at the column's foot.
    if response.human_rating is not None:
        differs = response.rating is not None and response.human_rating != response.rating
        head.append(f"  you {response.human_rating}", style="bold magenta" if differs else "green")
    elif response.agrees:
        head.append("  you agree", style="green")
    if response.flagged:
        head.append("  ⚑", style="bold red")
    return head


def response_body(response: ResponseView) -> RenderableType:
    if response.state == "failed":
        return Text(f"FAILED: {response.error}", style="bold red")
    if response.state == "pending":
        return Text("not generated yet", style="dim italic")
    return markdown(response.model, response.text)


def judge_box(preference: str, response: ResponseView) -> RenderableType:
    lines: list[RenderableType] = []
    judge = Text("Judge: ", style="bold")
    judge.append(
        rating_label(preference, response.rating),
        style="yellow" if response.rating is not None else "dim",
    )
    if response.position_shown:
        judge.append(f"  (shown #{response.position_shown})", style="dim")
    lines.append(judge)
    if response.rationale:
        lines.append(Text(response.rationale, style="italic"))
    review = Text("You: ", style="bold")
    if response.human_rating is not None:
        differs = response.rating is not None and response.human_rating != response.rating
        review.append(
            rating_label(preference, response.human_rating),
            style="bold magenta" if differs else "green",
        )
    elif response.agrees:
        review.append("agree", style="green")
    else:
        review.append("not reviewed", style="dim")
    if response.flagged:
        review.append("  ⚑ flagged", style="bold red")
    lines.append(review)
    if response.note:
        lines.append(Text(f"Note: {response.note}", style="cyan"))
    return Group(*lines)


def judgment_line(view: InstructionView) -> Text:
    judgment = view.judgment
    if judgment is None:
        return Text("Not judged yet.", style="dim italic")
    line = Text()
    if judgment.state == "unparsed":
        line.append(" UNPARSED ", style="bold white on red")
        line.append(" the judge's answer could not be read; press r to see it  ")
    elif judgment.state == "failed":
        line.append(" FAILED ", style="bold white on red")
        line.append(f" {judgment.error}  ")
    line.append(f"Judge {judgment.judge}", style="bold")
    line.append(f" · template {judgment.template_sha256[:12]}")
    if judgment.order_shown:
        line.append(f" · order shown: {', '.join(judgment.order_shown)}")
    if judgment.repaired:
        line.append(" · read after a repair request")
    if len(view.judges) > 1:
        line.append(f" · judges: {', '.join(view.judges)}", style="dim")
    return line


class InstructionDetail(ScrollView, can_focus=True):
    """The selected instruction; ``selected`` is the response the review keys act on."""

    DEFAULT_CSS = """
    InstructionDetail { height: 1fr; padding: 0 1; overflow-x: hidden; scrollbar-gutter: stable; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: InstructionView | None = None
        self.selected = 0
        self.columns_shown = 1
        self._lines: list[Strip] = []

    @property
    def selected_response(self) -> ResponseView | None:
        if self.view is None or not self.view.responses:
            return None
        return self.view.responses[min(self.selected, len(self.view.responses) - 1)]

    def text(self) -> str:
        """What the pane shows, as plain text (for tests and screen readers of logs)."""
        return "\n".join(line.text.rstrip() for line in self._lines)

    @property
    def _width(self) -> int:
        return max(20, self.scrollable_content_region.width or self.size.width or 80)

    def columns_for_width(self, width: int | None = None) -> int:
        width = width or self._width
        return 4 if width >= 150 else 3 if width >= 100 else 2 if width >= 60 else 1

    def show(self, view: InstructionView | None, keep_selection: bool = False) -> None:
        same = view is not None and self.view is not None and self.view.id == view.id
        self.view = view
        if not (keep_selection and same):
            self.selected = 0
        if not same:
            self.scroll_to(y=0, animate=False)
        self._rebuild()

    def move_selection(self, step: int) -> None:
        if self.view and self.view.responses:
            self.selected = (self.selected + step) % len(self.view.responses)
            self._rebuild()

    def _render(self, renderable: RenderableType, width: int) -> list[Strip]:
        console = self.app.console
        options = console.options.update_width(width)
        return [
            Strip(line, width)
            for line in console.render_lines(renderable, options, style=self.rich_style, pad=True)
        ]

    def _rebuild(self) -> None:
        width = self._width
        view = self.view
        if view is None:
            self._lines = self._render(
                Text("No instruction matches the filter.", style="dim"), width
            )
        else:
            head = Text(f"#{view.id} · {view.preference} · from {view.source}", style="grey62")
            lines = self._render(head, width)
            lines += self._render(markdown("instruction", view.text), width)
            lines += self._render(Text(""), width)
            lines += self._render(judgment_line(view), width)
            lines += self._render(Text(""), width)
            lines += self._columns(view, width)
            self._lines = lines
        self.virtual_size = Size(width, len(self._lines))
        self.refresh()

    def _columns(self, view: InstructionView, width: int) -> list[Strip]:
        count = len(view.responses)
        if not count:
            return self._render(Text("No responses assigned yet.", style="dim italic"), width)
        shown, column_width = self._column_layout(width, count)
        self.columns_shown = shown
        first = (self.selected // shown) * shown
        columns: list[list[Strip]] = []
        for offset, response in enumerate(view.responses[first : first + shown]):
            selected = first + offset == self.selected
            rule = SELECTED_RULE if selected else RULE
            lines = [
                Strip(
                    [Segment("━" * column_width if selected else "─" * column_width, rule)],
                    column_width,
                )
            ]
            lines += self._render(response_head(response, first + offset + 1, count), column_width)
            lines += self._render(response_body(response), column_width)
            lines.append(Strip([Segment("╌" * column_width, RULE)], column_width))
            lines += self._render(judge_box(view.preference, response), column_width)
            columns.append(lines)
        height = max(len(c) for c in columns)
        blank = Strip.blank(column_width, self.rich_style)
        gap = Strip.blank(GAP, self.rich_style)
        rows = []
        for y in range(height):
            parts: list[Strip] = []
            for index, column in enumerate(columns):
                if index:
                    parts.append(gap)
                parts.append(column[y] if y < len(column) else blank)
            rows.append(Strip.join(parts))
        if count > shown:
            note = Text(
                f"responses {first + 1}-{first + len(columns)} of {count} · h/l for more",
                style="dim",
            )
            rows += self._render(note, width)
        return rows

    def _column_layout(self, width: int, responses: int) -> tuple[int, int]:
        """How many response columns fit side by side, and the width of each."""
        shown = max(1, min(responses, self.columns_for_width(width)))
        return shown, (width - GAP * (shown - 1)) // shown

    def prerender(self, view: InstructionView) -> None:
        """Render the markdown of ``view`` at the current widths ahead of time, so moving to
        it later costs no syntax highlighting."""
        width = self._width
        self._render(markdown("instruction", view.text), width)
        shown, column_width = self._column_layout(width, len(view.responses))
        for response in view.responses[:shown]:
            if response.state == "done":
                self._render(markdown(response.model, response.text), column_width)

    def on_resize(self) -> None:
        if self.view is not None:
            self._rebuild()

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        if index < len(self._lines):
            return self._lines[index].crop_extend(0, width, self.rich_style)
        return Strip.blank(width, self.rich_style)
