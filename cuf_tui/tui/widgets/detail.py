"""One instruction in full: its text, its responses side by side (rendered markdown with
highlighted code) and, under each, the judge's rating and rationale and the human review."""

from __future__ import annotations

from typing import cast

from rich.console import Group, RenderableType
from rich.text import Text
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Static

from cuf_tui.core.preferences import Preference, rating_level
from cuf_tui.store.browse import InstructionView, ResponseView
from cuf_tui.tui.widgets.rendered import markdown


def rating_label(preference: str, rating: int | None) -> str:
    if rating is None:
        return "N/A"
    return f"{rating} {rating_level(cast(Preference, preference), rating)}"


class ResponseColumn(Vertical):
    """A response with its rating, rationale and review."""

    DEFAULT_CSS = """
    ResponseColumn { width: 1fr; height: auto; border: round $panel; padding: 0 1; }
    ResponseColumn.selected { border: round $accent; }
    ResponseColumn > .response-head { text-style: bold; }
    ResponseColumn > .judge-box { border-top: dashed $panel; margin-top: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.head = Static(classes="response-head")
        self.body = Static(classes="response-body")
        self.judge = Static(classes="judge-box")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self.head
        yield self.body
        yield self.judge

    def show(self, preference: str, response: ResponseView, number: int, count: int) -> None:
        """Show a response; only the parts that changed are updated (each update costs a
        layout pass)."""
        content = (
            response.model,
            response.state,
            response.text,
            response.error,
            number,
            count,
            response.rating,
        )
        if content != getattr(self, "_content", None):
            self._content = content
            self._show_response(response, number, count)
        review = (
            preference,
            response.rating,
            response.rationale,
            response.position_shown,
            response.human_rating,
            response.agrees,
            response.flagged,
            response.note,
        )
        if review != getattr(self, "_review", None):
            self._review = review
            self.judge.update(judge_box(preference, response))

    def _show_response(self, response: ResponseView, number: int, count: int) -> None:
        head = Text(f"{number}/{count} {response.model}", style="bold")
        if response.state == "done" and response.rating is not None:
            head.append(f"  ★ {response.rating}", style="bold yellow")
        self.head.update(head)
        body: RenderableType
        if response.state == "failed":
            body = Text(f"FAILED: {response.error}", style="bold red")
        elif response.state == "pending":
            body = Text("not generated yet", style="dim italic")
        else:
            body = markdown(response.model, response.text)
        self.body.update(body)


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


class InstructionDetail(VerticalScroll, can_focus=True):
    """The selected instruction; ``selected`` is the response the review keys act on."""

    DEFAULT_CSS = """
    InstructionDetail { height: 1fr; padding: 0 1; }
    InstructionDetail > #instruction-head { color: $text-muted; }
    InstructionDetail > #judgment-line { margin: 1 0 0 0; }
    InstructionDetail > #responses { height: auto; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: InstructionView | None = None
        self.selected = 0
        self.columns_shown = 1
        self.instruction_head = Static(id="instruction-head")
        self.instruction_text = Static(id="instruction-text")
        self.judgment_line = Static(id="judgment-line")
        self.responses = Horizontal(id="responses")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self.instruction_head
        yield self.instruction_text
        yield self.judgment_line
        yield self.responses

    @property
    def selected_response(self) -> ResponseView | None:
        if self.view is None or not self.view.responses:
            return None
        return self.view.responses[min(self.selected, len(self.view.responses) - 1)]

    def columns_for_width(self) -> int:
        width = self.size.width or 80
        return 4 if width >= 150 else 3 if width >= 110 else 2 if width >= 70 else 1

    async def show(self, view: InstructionView | None, keep_selection: bool = False) -> None:
        with self.app.batch_update():
            await self._show(view, keep_selection)

    async def _show(self, view: InstructionView | None, keep_selection: bool) -> None:
        previous = self.view.id if self.view else None
        self.view = view
        if view is None:
            self.instruction_head.update(Text("No instruction matches the filter.", style="dim"))
            self.instruction_text.update("")
            self.judgment_line.update("")
            await self.responses.remove_children()
            return
        same = previous == view.id
        if not (keep_selection and same):
            self.selected = 0
        if not same:
            self.instruction_head.update(
                Text(f"#{view.id} · {view.preference} · from {view.source}")
            )
            self.instruction_text.update(markdown("instruction", view.text))
            self.scroll_home(animate=False)
        line = judgment_line(view)
        if not same or line != getattr(self, "_judgment_line", None):
            self._judgment_line = line
            self.judgment_line.update(line)
        await self.render_columns()

    async def render_columns(self) -> None:
        view = self.view
        if view is None:
            return
        count = len(view.responses)
        self.columns_shown = max(1, min(count, self.columns_for_width()))
        first = (self.selected // self.columns_shown) * self.columns_shown
        shown = view.responses[first : first + self.columns_shown]
        existing = list(self.query(ResponseColumn))
        if len(existing) != len(shown):
            await self.responses.remove_children()
            existing = [ResponseColumn() for _ in shown]
            await self.responses.mount_all(existing)
        for offset, (column, response) in enumerate(zip(existing, shown, strict=True)):
            column.show(view.preference, response, first + offset + 1, count)
            column.set_class(first + offset == self.selected, "selected")

    def prerender(self, view: InstructionView) -> None:
        """Render the markdown of ``view`` at the current column widths ahead of time, so
        moving to it later costs no syntax highlighting."""
        console = self.app.console
        columns = list(self.query(ResponseColumn))
        if not columns:
            return
        jobs = [(self.instruction_text, markdown("instruction", view.text))]
        jobs += [
            (columns[0].body, markdown(r.model, r.text))
            for r in view.responses[: self.columns_shown]
            if r.state == "done"
        ]
        for widget, renderable in jobs:
            width = widget.content_region.width
            if width > 0:
                console.render_lines(renderable, console.options.update_width(width), pad=False)

    async def move_selection(self, step: int) -> None:
        if self.view and self.view.responses:
            self.selected = (self.selected + step) % len(self.view.responses)
            await self.render_columns()

    async def on_resize(self) -> None:
        if self.view is not None and self.columns_for_width() != self.columns_shown:
            await self.render_columns()


def judgment_line(view: InstructionView) -> RenderableType:
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
