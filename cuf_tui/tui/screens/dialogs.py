"""Modal dialogs: confirm a batch, write a note, read a judge's raw answer, see the keys."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from cuf_tui.tui.widgets.plain_text import PlainTextView


class ConfirmBatch(ModalScreen[bool]):
    """What a batch will request, and y/n."""

    BINDINGS = [
        Binding("y,enter", "answer(True)", "Start"),
        Binding("n,escape", "answer(False)", "Cancel"),
    ]

    def __init__(
        self,
        title: str,
        summary: str,
        can_start: bool = True,
        *,
        yes: str = "start in the background",
        no: str = "cancel",
    ) -> None:
        super().__init__()
        self.title_text = title
        self.summary = summary
        self.can_start = can_start
        self.hint = f"y/Enter {yes} · n/Esc {no}" if can_start else "Esc close"

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text, style="bold"), classes="dialog-title")
            yield Static(self.summary, id="batch-summary")
            yield Static(Text(self.hint, style="dim"))

    def action_answer(self, start: bool) -> None:
        self.dismiss(start and self.can_start)


class NoteDialog(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(self, model: str, note: str) -> None:
        super().__init__()
        self.model = model
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(Text(f"Note on {self.model}'s response", style="bold"))
            yield Input(value=self.note, placeholder="Enter saves, Esc cancels", id="note-input")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextDialog(ModalScreen[None]):
    """Read-only plain text of any length: a judge's raw answer, an instruction in full."""

    BINDINGS = [Binding("escape,q,r,t", "close", "Close")]

    def __init__(self, title: str, text: str) -> None:
        super().__init__()
        self.title_text = title
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide"):
            yield Static(Text(self.title_text, style="bold"))
            yield PlainTextView(self.text or "(empty)", id="full-text")
            yield Static(Text("arrows, PgUp/PgDn, Home/End scroll · Esc close", style="dim"))

    def on_mount(self) -> None:
        self.query_one(PlainTextView).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class HelpDialog(ModalScreen[None]):
    """The keys of the focused pane, then the keys that work everywhere."""

    BINDINGS = [Binding("escape,question_mark,f1,q", "close", "Close")]

    def __init__(self, sections: list[tuple[str, list[tuple[str, str]]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        text = Text()
        for title, keys in self.sections:
            text.append(f"{title}\n", style="bold underline")
            for key, description in keys:
                text.append(f"  {key:<14}", style="bold cyan")
                text.append(f"{description}\n")
            text.append("\n")
        with Vertical(classes="dialog wide"):
            yield Static(Text("Keys", style="bold"))
            with VerticalScroll(id="dialog-text"):
                yield Static(text)
            yield Static(Text("Esc close", style="dim"))

    def action_close(self) -> None:
        self.dismiss(None)


class ChooseDialog(ModalScreen[str | None]):
    """Pick one of a few options (j/k or arrows, Enter); Esc picks nothing."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel"),
        Binding("j", "move(1)", "Down", show=False),
        Binding("k", "move(-1)", "Up", show=False),
    ]

    def __init__(
        self,
        title: str,
        options: list[tuple[str, str]],
        hint: str = "",
        current: str | None = None,
    ) -> None:
        super().__init__()
        self.title_text = title
        self.options = options  # (value, label)
        self.hint = hint
        self.current = current  # the value the list opens on (what is chosen now)

    def compose(self) -> ComposeResult:
        from textual.widgets import OptionList
        from textual.widgets.option_list import Option

        with Vertical(classes="dialog"):
            yield Static(Text(self.title_text, style="bold"), classes="dialog-title")
            yield OptionList(*(Option(label, id=value) for value, label in self.options))
            yield Static(Text(self.hint or "Enter choose · Esc cancel", style="dim"))

    def on_mount(self) -> None:
        from textual.widgets import OptionList

        options = self.query_one(OptionList)
        options.focus()
        values = [value for value, _ in self.options]
        if self.current in values:
            options.highlighted = values.index(self.current)

    def action_move(self, step: int) -> None:
        from textual.widgets import OptionList

        options = self.query_one(OptionList)
        if step > 0:
            options.action_cursor_down()
        else:
            options.action_cursor_up()

    def on_option_list_option_selected(self, event: Any) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
