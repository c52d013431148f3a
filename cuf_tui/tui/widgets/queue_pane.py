"""The queue tab: the filter line, the search box, the instruction list and the detail, and
the keys that filter the queue and review the response on screen."""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import replace
from typing import ClassVar

from rich.text import Text
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Container, Vertical
from textual.timer import Timer
from textual.widgets import Input, Static, TabbedContent

from cuf_tui.store.browse import QueueFilter, ResponseView
from cuf_tui.store.reviews import ReviewChanged
from cuf_tui.tui.failures import report_failure, survives
from cuf_tui.tui.screens.dialogs import ChooseDialog, NoteDialog, TextDialog
from cuf_tui.tui.service import ALL_MODELS, Refused, Review, Workbench
from cuf_tui.tui.widgets.detail import InstructionDetail, full_text
from cuf_tui.tui.widgets.queue import QueueView

PRERENDER_AFTER_S = 0.15  # a pause in the keys this long means the reviewer is reading


SEARCH_AFTER_S = 0.15  # a pause in typing that starts the search
FIRST_MATCHES = 200  # shown before a search has counted every match
FIRST_MATCHES_BUDGET_S = 0.03  # longer than this, they too are read in a thread


class QueuePane(Container):
    """Keys here act on the selected instruction and its selected response."""

    # Keys of one kind share a footer entry ("1-5 Rate", "h/l Response"); the help dialog
    # lists each of them.
    BINDINGS: ClassVar[list[BindingType]] = [
        # First, so that a narrow footer still shows where every other key is listed.
        Binding("question_mark", "screen.help", "Keys"),
        *[
            Binding(str(n), f"rate({n})", "Rate", show=n == 1, key_display="1-5")
            for n in range(1, 6)
        ],
        Binding("a", "agree", "Agree"),
        Binding("x", "flag", "Flag"),
        Binding("n", "note", "Note"),
        Binding("u", "undo", "Undo"),
        Binding("right_square_bracket", "next_review(1)", "Next review", key_display="]/["),
        Binding("left_square_bracket", "next_review(-1)", "Prev review", show=False),
        Binding("l,right", "select_response(1)", "Next response", key_display="h/l"),
        Binding("h,left", "select_response(-1)", "Prev response", show=False),
        Binding("r", "raw", "Raw"),
        Binding("v", "next_judge", "Next judge on show", show=False),
        Binding("t", "transcript", "Transcript", show=False),
        Binding("f", "full_text", "Full text", show=False),  # long texts say so
        Binding("slash", "search", "Search"),
        Binding("p", "cycle_filter('preference')", "Preference"),
        Binding("s", "choose_filter('status')", "Status"),
        Binding("m", "choose_filter('model')", "Model"),
        Binding("escape", "back_out", "Back/clear", show=False),
        Binding("enter", "open", "Open", show=False),
    ]

    def __init__(self, workbench: Workbench) -> None:
        super().__init__(id="queue-pane")
        self.workbench = workbench
        self.filter = QueueFilter()
        self._prefetch: Timer | None = None
        self._search_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        with Vertical(id="queue-side"):
            yield Static(id="filter-line")
            yield Input(placeholder="search the text; Enter keeps it, Esc clears", id="search")
            yield QueueView(self.workbench, id="queue")
        yield InstructionDetail(id="detail")

    def on_mount(self) -> None:
        self.queue.on_highlight = self.show_instruction
        self.reload_queue()
        self.queue.focus()

    @property
    def queue(self) -> QueueView:
        return self.query_one(QueueView)

    @property
    def detail(self) -> InstructionDetail:
        return self.query_one(InstructionDetail)

    @property
    def search_box(self) -> Input:
        return self.query_one("#search", Input)

    # ------------------------------------------------------------------------ the queue

    @survives("The queue was not read")
    def reload_queue(self, chosen: QueueFilter | None = None) -> None:
        """Re-read the ids a filter keeps (cheap: ids only) and the rows on screen. Under the
        same filter the cursor stays on its instruction, even one that no longer matches (the
        reviewer is looking at it); a new filter keeps it only where it matches."""
        chosen = chosen or self.filter
        self.show_queue(chosen, self.workbench.queue_ids(chosen))

    def show_queue(self, chosen: QueueFilter, ids: list[int], *, complete: bool = True) -> None:
        """Show the ids ``chosen`` keeps (read here, or by a search in the background; one
        not ``complete`` shows its first matches while it counts the rest)."""
        new_filter = chosen != self.filter
        total = self.workbench.instruction_count()
        if not ids:
            self.detail.empty_message = self.workbench.nothing_in_the_queue(total)
        self.filter = chosen
        count = f"{len(ids)}" if complete else f"{len(ids)}+"
        line = Text(f" {count} of {total} · ", style="bold")
        line.append(chosen.describe())
        if not complete:
            line.append(" · counting…", style="dim")
        self.query_one("#filter-line", Static).update(line)
        self.detail.mark_hits(chosen.search)
        self.queue.show(ids, keep=self.queue.current_id, hold=not new_filter)

    def go_to(self, instruction_id: int, model: str | None = None) -> None:
        """Put the cursor on ``instruction_id`` (and select ``model``'s response); the
        filters are cleared when they hide it."""
        ids = self.workbench.queue_ids(self.filter)
        chosen = self.filter
        if instruction_id not in ids:
            chosen = QueueFilter()
            ids = self.workbench.queue_ids(chosen)
            if instruction_id not in ids:
                self.notify(f"Instruction #{instruction_id} is no longer in the store.")
                return
        self.filter = chosen  # the same filter: the cursor goes where it is told
        self.show_queue(chosen, ids)
        self.queue.show(ids, keep=instruction_id)
        self.refresh_detail(instruction_id)
        if model is not None:
            self.detail.select_model(model)
        self.queue.focus()

    @survives("The instruction was not read")
    def show_instruction(self, instruction_id: int | None) -> None:
        """The queue's cursor moved: show that instruction in the same frame."""
        self.refresh_detail(instruction_id)
        if self._prefetch is not None:
            self._prefetch.stop()
        self._prefetch = self.set_timer(PRERENDER_AFTER_S, self.prerender_neighbours)

    @survives("The next instructions were not read")
    def prerender_neighbours(self) -> None:
        """While the user reads, prepare the instructions one step away."""
        queue = self.queue
        for index in (queue.cursor + 1, queue.cursor - 1):
            if 0 <= index < len(queue.ids):
                view = self.workbench.instruction(queue.ids[index])
                if view is not None:
                    self.detail.prerender(view)
        # The app keeps many long-lived objects (rendered lines, caches); a full pass of the
        # cycle collector over them takes ~60 ms and would land on a key press every few
        # seconds. Moving what exists now out of its reach, while the user reads, keeps those
        # passes short. (These objects are freed by reference counting all the same.)
        gc.freeze()

    @survives("The instruction was not read")
    def refresh_detail(self, instruction_id: int | None = None) -> None:
        """Show ``instruction_id`` (the one under the cursor by default) as the store has it
        now, keeping the selected response."""
        if instruction_id is None:
            instruction_id = self.queue.current_id
        view = self.workbench.instruction(instruction_id) if instruction_id is not None else None
        self.detail.show(view, keep_selection=True)

    @survives("The judge on show was not changed")
    def action_next_judge(self) -> None:
        """Show the next judge's judgments everywhere: the detail, the queue's marks and the
        filters that read the judgment on show."""
        judge = self.workbench.next_judge()
        if judge is None:
            self.notify("No judge yet: add a [[judges]] entry, or judge with J.")
            return
        self.queue.refresh_rows()
        self.reload_queue()
        self.refresh_detail()
        self.notify(f"Showing {judge}'s judgments (v: the next judge).", markup=False)

    @survives("The filter was not changed")
    def action_cycle_filter(self, which: str) -> None:
        self.reload_queue(self.workbench.next_filter(self.filter, which))

    @survives("The filter was not changed")
    def action_choose_filter(self, which: str) -> None:
        """A list to choose the status or the model from (Enter), rather than a key pressed
        once per value."""
        choices = self.workbench.filter_choices(which)

        def chosen(value: str | None) -> None:
            if value is not None:
                self.reload_queue(self.workbench.with_filter(self.filter, which, value))

        current = self.filter.status if which == "status" else self.filter.model or ALL_MODELS
        self.app.push_screen(
            ChooseDialog(f"Show instructions by {which}:", choices, current=current), chosen
        )

    def action_clear_filters(self) -> None:
        self.search_box.value = ""
        self.search_box.display = False
        self.reload_queue(QueueFilter())
        self.queue.focus()

    def action_search(self) -> None:
        self.query_ancestor(TabbedContent).active = "queue"
        self.search_box.display = True
        self.search_box.focus()

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        """Search as the reviewer types: once typing pauses, in a thread (a search reads
        every response on a large store), the newest text only."""
        chosen = replace(self.filter, search=event.value)
        if self._search_timer is not None:
            self._search_timer.stop()
        self._search_timer = self.set_timer(SEARCH_AFTER_S, lambda: self.search(chosen))

    @survives("The search was not made")
    def search(self, chosen: QueueFilter) -> None:
        """The first matches at once when the index gives them within a frame (it gives them
        in queue order), then all of them counted in a thread."""
        first = self.workbench.first_matches(chosen, FIRST_MATCHES, FIRST_MATCHES_BUDGET_S)
        if first is not None:
            self.show_queue(chosen, first, complete=len(first) < FIRST_MATCHES)
            if len(first) < FIRST_MATCHES:
                return
        self.count_matches(chosen, 0 if first is not None else FIRST_MATCHES)

    @work(thread=True, exclusive=True, group="search", exit_on_error=False)
    def count_matches(self, chosen: QueueFilter, first: int) -> None:
        for ids, complete in self.workbench.search_apart(chosen, first):
            self.app.call_from_thread(self._searched, chosen, ids, complete)

    @survives("The search was not shown")
    def _searched(self, chosen: QueueFilter, ids: list[int], complete: bool) -> None:
        wanted = replace(self.filter, search=self.search_box.value)
        if wanted == chosen:
            self.show_queue(chosen, ids, complete=complete)
        elif wanted.search == chosen.search and complete:  # a filter changed meanwhile: again
            self.search(wanted)

    def refresh_queue(self) -> None:
        """The queue again after others wrote: in the background while a search is on (it
        reads every response), at once otherwise."""
        if self.filter.search:
            self.search(self.filter)
        else:
            self.reload_queue()

    @on(Input.Submitted, "#search")
    def search_done(self, event: Input.Submitted) -> None:
        """Enter searches at once (without the pause typing waits for) and goes back to the
        queue."""
        if event.value != self.filter.search:
            if self._search_timer is not None:
                self._search_timer.stop()
            self.search(replace(self.filter, search=event.value))
        self.queue.focus()

    def action_open(self) -> None:
        self.detail.focus()

    @on(events.DescendantBlur)
    def _search_left(self, event: events.DescendantBlur) -> None:
        """Leaving the search box (Enter, Tab) folds it away: the filter line says what is
        searched, the list keeps its rows, and Tab never lands in it to take a review key
        as search text. `/` opens it again with the text."""
        if event.widget is self.search_box:
            self.search_box.display = False

    @on(events.DescendantFocus)
    def _reading(self, event: events.DescendantFocus) -> None:
        """Reading the detail (it has the focus), a narrow screen gives it the queue's room
        but for a few rows around the cursor; back in the queue, the list has its room."""
        self.set_class(isinstance(event.widget, InstructionDetail), "reading")

    def action_back_out(self) -> None:
        if self.screen.focused in (self.search_box, self.queue):
            self.action_clear_filters()
        else:
            self.queue.focus()

    def action_select_response(self, step: int) -> None:
        self.detail.move_selection(step)

    @survives("The next instruction to review was not found")
    def action_next_review(self, direction: int) -> None:
        target, needing = self.workbench.next_needing_review(
            self.filter, self.queue.current_id, direction
        )
        if target is None:
            self.notify("No other instruction needs review.", timeout=3)
            return
        current = self.queue.current_id
        if current is not None and (target < current if direction > 0 else target > current):
            where = "first" if direction > 0 else "last"
            self.notify(f"Around to the {where} instruction that needs review.", timeout=2)
        if target not in self.queue.ids:
            self.reload_queue(needing)
        self.queue.cursor = self.queue.ids.index(target)

    # --------------------------------------------------------------------------- reviews

    def action_rate(self, rating: int) -> None:
        self._review(lambda response: self.workbench.rating(response, rating))

    def action_agree(self) -> None:
        self._review(self.workbench.agreement)

    def action_flag(self) -> None:
        self._review(self.workbench.flag)

    def action_note(self) -> None:
        response = self.detail.selected_response
        if response is None:
            return

        def save(note: str | None) -> None:
            if note is not None:
                self._review(lambda _: self.workbench.note(note))

        self.app.push_screen(NoteDialog(response.model, response.note), save)

    def _review(self, decide: Callable[[ResponseView], Review]) -> None:
        """Change the review of the response on screen as ``decide`` says. A change the rules
        refuse, or a write the store refuses, changes nothing and says so; the same key
        tries again."""
        view, response = self.detail.view, self.detail.selected_response
        if view is None or response is None:
            return
        try:
            review = decide(response)
        except Refused as refused:
            self.notify(str(refused), timeout=4)
            return
        try:
            self.workbench.save(view, response, review)
        except Exception as err:
            report_failure(
                self,
                f"Not saved: {review.what} for {response.model} on #{view.id}",
                err,
                "Nothing changed; press the key again.",
            )
            return
        self.queue.refresh_row(view.id)
        self.refresh_detail(view.id)

    def action_undo(self) -> None:
        try:
            undone = self.workbench.undo()
        except ReviewChanged as err:
            self.notify(f"Not undone: {err}.", severity="warning", timeout=6, markup=False)
            self.refresh_detail()
            return
        except Exception as err:
            instruction_id, model, _, _ = self.workbench.undo_stack[-1]
            report_failure(
                self,
                f"Not undone: the review of {model} on #{instruction_id}",
                err,
                "Press u again to retry.",
            )
            return
        if undone is None:
            self.notify("Nothing to undo.", timeout=3)
            return
        queue = self.queue
        queue.refresh_rows()
        if undone.instruction_id in queue.ids:
            queue.cursor = queue.ids.index(undone.instruction_id)
        self.refresh_detail(undone.instruction_id)
        self.notify(
            f"Undone: review of {undone.model} on #{undone.instruction_id}.",
            timeout=3,
            markup=False,
        )

    def action_full_text(self) -> None:
        """The instruction, the selected response and its rationale whole, as plain text."""
        view = self.detail.view
        if view is None:
            return
        response = self.detail.selected_response
        whose = f", {response.model}'s response and its rationale" if response else ""
        self.app.push_screen(
            TextDialog(f"#{view.id} in full: the instruction{whose}", full_text(view, response))
        )

    @survives("The transcript was not read")
    def action_transcript(self) -> None:
        view = self.detail.view
        response = self.detail.selected_response
        if view is None or response is None:
            return
        self.app.push_screen(
            TextDialog(
                f"Transcript: {response.model} on #{view.id}, and its judgment",
                self.workbench.transcript(view, response),
            )
        )

    def action_raw(self) -> None:
        view = self.detail.view
        if view is None or view.judgment is None:
            self.notify("This instruction has no judgment.", timeout=3)
            return
        judgment = view.judgment
        self.app.push_screen(
            TextDialog(
                f"Raw answer of {judgment.judge} ({judgment.state}) on #{view.id}",
                judgment.raw_output or judgment.error or "(the judge's text was not kept)",
            )
        )
