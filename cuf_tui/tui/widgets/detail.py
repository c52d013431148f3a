"""One instruction in full: its text, its responses side by side (rendered markdown with
highlighted code) and, under each, the judge's rating and rationale and the human review.

A line-API view: the whole pane is rendered into lines when the instruction or the
selection changes, so moving through the queue never asks Textual for a new layout. A text
longer than a few screenfuls shows its head and a line saying how much is hidden; `f` shows
everything as plain text (``full_text``).
"""

from __future__ import annotations

import re
from typing import cast

from rich.cells import cell_len
from rich.console import Group, RenderableType
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.selection import Selection
from textual.strip import Strip

from cuf_tui.core.preferences import Preference, rating_level
from cuf_tui.store.browse import InstructionView, ResponseView
from cuf_tui.tui.widgets.plain_text import HEADING
from cuf_tui.tui.widgets.rendered import RATIONALE_CHARS, markdown, shown_part

GAP = 1  # columns between response columns
RULE = Style(color="grey42")
SELECTED_RULE = Style(color="dark_orange", bold=True)
HIT = Style(color="black", bgcolor="yellow", bold=True)  # text the search found


def mark_hits(line: Strip, pattern: re.Pattern[str]) -> Strip:
    """``line`` with every match of ``pattern`` in it shown as a search hit."""
    text = line.text
    cuts: list[int] = []
    for found in pattern.finditer(text):
        if found.end() > found.start():
            cuts += [cell_len(text[: found.start()]), cell_len(text[: found.end()])]
    if not cuts:
        return line
    parts = line.divide([*cuts, line.cell_length])
    return Strip.join(
        Strip(Segment.apply_style(list(part), post_style=HIT), part.cell_length)
        if index % 2
        else part
        for index, part in enumerate(parts)
    )


def rating_label(preference: str, rating: int | None) -> str:
    if rating is None:
        return "N/A"
    return f"{rating} {rating_level(cast(Preference, preference), rating)}"


def cut_notes(shown: int, total: int) -> tuple[Text, Text]:
    """What a long text shows of itself, said above its head (where the reviewer looks) and
    below it (where the reading stops), in short lines that fit a narrow column."""
    style = "bold yellow"
    above = Text(f"{total:,} characters: the first {shown:,} are shown\nf: the full text", style)
    below = Text(f"… {total - shown:,} more characters not shown\nf: the full text", style)
    return above, below


def long_markdown(key: str, text: str) -> RenderableType:
    """Markdown of ``text``, or of its head between lines saying how much is hidden."""
    head, hidden = shown_part(text)
    if not hidden:
        return markdown(key, text)
    above, below = cut_notes(len(head), len(text))
    return Group(above, markdown(key, head), below)


def long_plain(text: str, style: str, limit: int) -> Text:
    head, hidden = shown_part(text, limit)
    if not hidden:
        return Text(text, style=style)
    above, below = cut_notes(len(head), len(text))
    return Text("\n").join([above, Text(head, style=style), below])


def response_head(response: ResponseView, number: int, count: int, judged: str = "") -> Text:
    head = Text(f"{number}/{count} {response.model}", style="bold")
    if response.state == "done" and response.rating is not None:
        head.append(f"  ★ {response.rating}", style="bold yellow")
    elif response.state == "done" and judged == "done":
        head.append("  ★ N/A", style="yellow")  # the judge said it cannot rate it
    # The review at a glance, without scrolling to the judge box at the column's foot.
    if response.human_rating is not None:
        differs = response.rating is not None and response.human_rating != response.rating
        head.append(f"  you {response.human_rating}", style="bold magenta" if differs else "green")
    elif response.agrees:
        head.append("  you agree", style="green")
    if response.flagged:
        head.append("  ⚑", style="bold red")
    if response.finish_reason == "length":
        head.append("\ncut off at max_tokens", style="yellow")
    return head


def response_body(response: ResponseView) -> RenderableType:
    if response.state == "failed":
        return Text(f"FAILED: {response.error}", style="bold red")
    if response.state == "pending":
        return Text("not generated yet", style="dim italic")
    return long_markdown(response.model, response.text)


def judge_verdict(preference: str, response: ResponseView, judged: str) -> str:
    """What the judge said of a response, or why it said nothing (``judged``: the state of
    the judgment on show, "" for none)."""
    if response.state == "pending":
        return "not generated"
    if response.state == "failed":
        return "nothing to judge (the request failed)"
    if not judged:
        return "not judged yet"
    if judged == "unparsed" and response.rating is None:
        return "unreadable (r shows its answer)"
    return rating_label(preference, response.rating)  # N/A: the judge said it cannot rate it


def judge_box(preference: str, response: ResponseView, judged: str = "") -> RenderableType:
    lines: list[RenderableType] = []
    judge = Text("Judge: ", style="bold")
    judge.append(
        judge_verdict(preference, response, judged),
        style="yellow" if response.rating is not None else "dim",
    )
    if response.position_shown:
        judge.append(f"  (shown #{response.position_shown})", style="dim")
    lines.append(judge)
    if response.other_judges:
        lines.append(_others("Other judges: ", response.other_judges, preference))
    if response.rationale:
        lines.append(long_plain(response.rationale, "italic", RATIONALE_CHARS))
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
    if response.other_reviewers:
        lines.append(_others("Other reviewers: ", response.other_reviewers, preference))
    if response.flagged_by and not response.flagged:
        lines.append(Text(f"⚑ flagged by {', '.join(response.flagged_by)}", style="red"))
    if response.note:
        lines.append(Text(f"Note: {response.note}", style="cyan"))
    return Group(*lines)


def _others(label: str, ratings: dict[str, int | None], preference: str) -> Text:
    """Every other rater's rating of a response, on one line: "Other judges: a 4 · b N/A"."""
    line = Text(label, style="bold dim")
    for n, (name, rating) in enumerate(sorted(ratings.items())):
        if n:
            line.append(" · ", style="dim")
        line.append(f"{name} ", style="dim")
        line.append("N/A" if rating is None else str(rating), style="yellow")
    return line


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
    # The order the judge saw shows under each response ("shown #2"), unless it is damaged.
    if judgment.order_shown is None:
        line.append(" · the order shown is unreadable as stored", style="yellow")
    if judgment.repaired:
        line.append(" · read after a repair request")
    if len(view.judges) > 1:
        line.append(f" · judges: {', '.join(view.judges)} (v shows the next)", style="dim")
    return line


def response_body_text(response: ResponseView) -> str:
    if response.state == "failed":
        return f"FAILED: {response.error}"
    if response.state == "pending":
        return "(not generated yet)"
    return response.text


def full_text(view: InstructionView, response: ResponseView | None) -> str:
    """The instruction, the selected response and the judge's rationale on it, whole."""
    parts = [f"{HEADING}instruction #{view.id} · {len(view.text):,} characters", view.text]
    if response is not None:
        number = view.responses.index(response) + 1
        parts += [
            "",
            f"{HEADING}response {number}/{len(view.responses)} · {response.model} · "
            f"{len(response.text):,} characters",
            response_body_text(response),
        ]
        if response.rationale:
            parts += ["", f"{HEADING}the judge's rationale on {response.model}", response.rationale]
    return "\n".join(parts)


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
        self.empty_message = "No instruction matches the filter."  # what shows without one
        self.hits: re.Pattern[str] | None = None  # the search's text, marked where it shows

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
        """Show ``view``; with ``keep_selection``, the same instruction keeps the same response
        selected (by model: a reload may add a response before it)."""
        if keep_selection and view is not None and view == self.view:
            return  # a reload that changed nothing here
        same = view is not None and self.view is not None and self.view.id == view.id
        previous = self.selected_response
        self.view = view
        self.selected = 0
        if keep_selection and same and previous is not None and view is not None:
            models = [response.model for response in view.responses]
            if previous.model in models:
                self.selected = models.index(previous.model)
        if not same:
            self.scroll_to(y=0, animate=False)
        self._rebuild()

    def mark_hits(self, search: str) -> None:
        """Mark ``search`` (case folded) wherever it shows; "" marks nothing."""
        hits = re.compile(re.escape(search), re.IGNORECASE) if search else None
        if hits != self.hits:
            self.hits = hits
            if self.view is not None:
                self._rebuild()

    def select_model(self, model: str) -> None:
        """Select ``model``'s response (its column is paged into view)."""
        if self.view is not None:
            models = [response.model for response in self.view.responses]
            if model in models:
                self.move_selection(models.index(model) - self.selected)

    def move_selection(self, step: int) -> None:
        if self.view and self.view.responses:
            self.selected = (self.selected + step) % len(self.view.responses)
            self._rebuild()

    def _strips(self, renderable: RenderableType, width: int) -> list[Strip]:
        console = self.app.console
        options = console.options.update_width(width)
        return [
            Strip(line, width)
            for line in console.render_lines(renderable, options, style=self.rich_style, pad=True)
        ]

    def _rebuild(self) -> None:
        if not self.size.width:
            return  # not laid out yet: the first resize lays it out at its real width
        width = self._width
        view = self.view
        if view is None:
            self._lines = self._strips(Text(self.empty_message, style="dim"), width)
        else:
            head = Text(f"#{view.id} · {view.preference} · from {view.source}", style="grey62")
            lines = self._strips(head, width)
            lines += self._strips(long_markdown("instruction", view.text), width)
            lines += self._strips(Text(""), width)
            lines += self._strips(judgment_line(view), width)
            lines += self._strips(Text(""), width)
            lines += self._columns(view, width)
            if self.hits is not None:
                lines = [mark_hits(line, self.hits) for line in lines]
            self._lines = lines
        self.virtual_size = Size(width, len(self._lines))
        self.refresh()

    def _columns(self, view: InstructionView, width: int) -> list[Strip]:
        count = len(view.responses)
        if not count:
            return self._strips(Text("No responses assigned yet.", style="dim italic"), width)
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
            judged = view.judgment.state if view.judgment is not None else ""
            number = first + offset + 1
            lines += self._strips(response_head(response, number, count, judged), column_width)
            lines += self._strips(response_body(response), column_width)
            lines.append(Strip([Segment("╌" * column_width, RULE)], column_width))
            lines += self._strips(judge_box(view.preference, response, judged), column_width)
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
            rows += self._strips(note, width)
        return rows

    def _column_layout(self, width: int, responses: int) -> tuple[int, int]:
        """How many response columns fit side by side, and the width of each."""
        shown = max(1, min(responses, self.columns_for_width(width)))
        return shown, (width - GAP * (shown - 1)) // shown

    def prerender(self, view: InstructionView) -> None:
        """Render the markdown of ``view`` at the current widths ahead of time, so moving to
        it later costs no syntax highlighting."""
        width = self._width
        self._strips(long_markdown("instruction", view.text), width)
        shown, column_width = self._column_layout(width, len(view.responses))
        for response in view.responses[:shown]:
            if response.state == "done":
                self._strips(long_markdown(response.model, response.text), column_width)

    def on_resize(self) -> None:
        self._rebuild()

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The text under a mouse selection, for Ctrl+C: the lines as shown."""
        return selection.extract(self.text()), "\n"

    def render_line(self, y: int) -> Strip:
        index = y + self.scroll_offset.y
        width = self.scrollable_content_region.width
        if index < len(self._lines):
            return self._lines[index].crop_extend(0, width, self.rich_style)
        return Strip.blank(width, self.rich_style)
