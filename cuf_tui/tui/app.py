"""The workbench app: the queue with its detail, CODAL-Bench scores and jobs, over the store;
batches are launched as detached workers and never run inside the app. An error in anything
the reviewer does becomes a notice (``failures``), never a closed app."""

from __future__ import annotations

import gc
from typing import Any, ClassVar

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, TabbedContent, TabPane

from cuf_tui.core.preferences import PREFERENCES
from cuf_tui.resources import styles_dir
from cuf_tui.store import browse
from cuf_tui.store.browse import QueueFilter
from cuf_tui.store.db import Store
from cuf_tui.store.reviews import restore_review, write_review
from cuf_tui.tui.commands import WorkbenchCommands
from cuf_tui.tui.failures import NOTICE_SECONDS, reason, survives
from cuf_tui.tui.screens.dialogs import ConfirmBatch, HelpDialog, NoteDialog, TextDialog
from cuf_tui.tui.widgets.bench import BenchPane
from cuf_tui.tui.widgets.detail import InstructionDetail, full_text
from cuf_tui.tui.widgets.jobs import JobsPane
from cuf_tui.tui.widgets.queue import QueueView
from cuf_tui.tui.widgets.queue_pane import QueuePane
from cuf_tui.workspace import Workspace

NARROW_BELOW = 120  # columns: below this the queue sits above the detail
# A write waits this long for another program's lock (workers hold it for milliseconds; a
# VACUUM or a sqlite3 shell may hold it for minutes). It waits on the screen's thread, so past
# this the key says "not saved" and can be pressed again, rather than freezing the screen.
WRITE_WAIT_MS = 2_000


class WorkbenchApp(App[None]):
    CSS_PATH = str(styles_dir() / "workbench.tcss")
    TITLE = "cuf-tui"
    COMMANDS = App.COMMANDS | {WorkbenchCommands}

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark,f1", "help", "Keys"),
        Binding("f2", "show_tab('queue')", "Queue"),
        Binding("f3", "show_tab('bench')", "Bench"),
        Binding("f4", "show_tab('jobs')", "Jobs"),
        Binding("G", "launch('generate')", "Generate"),
        Binding("J", "launch('judge')", "Judge"),
        Binding("B", "launch_bench", "Bench run"),
    ]

    def __init__(self, workspace: Workspace, store: Store, *, poll_interval: float = 1.0) -> None:
        super().__init__()
        self.workspace = workspace
        self.store = store
        self.poll_interval = poll_interval
        self.filter = QueueFilter()
        self.undo_stack: list[tuple[int, str, dict[str, Any] | None]] = []
        self._data_version = -1
        self._prefetch: Timer | None = None
        self._poll_failing = False  # said once, not once a second

    # ---------------------------------------------------------------------------- layout

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="queue", id="tabs"):
            with TabPane("Queue", id="queue"):
                yield QueuePane(self.store)
            with TabPane("Bench", id="bench"):
                yield BenchPane(id="bench-pane")
            with TabPane("Jobs", id="jobs"):
                yield JobsPane(id="jobs-pane")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = self.workspace.config.workspace.name
        self.main.query_one("#search", Input).display = False
        self.queue.on_highlight = self.show_instruction
        self.reload_queue()
        self.main.query_one(QueueView).focus()
        self.set_interval(self.poll_interval, self.poll)

    def report_failure(self, what: str, err: Exception, then: str = "") -> None:
        """``what`` did not happen, and why, on screen; the app goes on."""
        self.log.error(f"{what}: {err!r}")
        message = f"{what}: {reason(err, self.store.path)}"
        self.notify(
            f"{message}. {then}" if then else message,
            severity="error",
            timeout=NOTICE_SECONDS,
            markup=False,
        )

    def on_resize(self) -> None:
        self.screen.set_class(self.size.width < NARROW_BELOW, "narrow")

    def _main_screen_ready(self) -> bool:
        """False while the app starts or shuts down (timers may fire then)."""
        return (
            bool(self.screen_stack)
            and bool(self.main.query("#jobs-table"))
            and bool(self.main.query(QueueView))
        )

    @property
    def main(self) -> Screen[Any]:
        """The workbench's own screen, whatever dialog is on top of it."""
        return self.screen_stack[0]

    @property
    def queue(self) -> QueueView:
        return self.main.query_one(QueueView)

    @property
    def detail(self) -> InstructionDetail:
        return self.main.query_one(InstructionDetail)

    # ------------------------------------------------------------------------ the queue

    @survives("The queue was not read")
    def reload_queue(self, chosen: QueueFilter | None = None) -> None:
        """Re-read the ids a filter keeps (cheap: ids only) and the rows on screen. Under the
        same filter the cursor stays on its instruction, even one that no longer matches (the
        reviewer is looking at it); a new filter keeps it only where it matches."""
        new_filter = chosen is not None and chosen != self.filter
        chosen = chosen or self.filter
        ids = browse.queue_ids(self.store, chosen)
        total = browse.instruction_count(self.store)
        self.filter = chosen
        self.main.query_one(QueuePane).show_filter(chosen.describe(), len(ids), total)
        self.queue.show(ids, keep=self.queue.current_id, hold=not new_filter)

    @survives("The instruction was not read")
    def show_instruction(self, instruction_id: int | None) -> None:
        """The queue's cursor moved: show that instruction in the same frame."""
        self.refresh_detail(instruction_id)
        if self._prefetch is not None:
            self._prefetch.stop()
        self._prefetch = self.set_timer(0.15, self.prerender_neighbours)

    @survives("The next instructions were not read")
    def prerender_neighbours(self) -> None:
        """While the user reads, prepare the instructions one step away."""
        if not self._main_screen_ready():
            return
        queue = self.queue
        for index in (queue.cursor + 1, queue.cursor - 1):
            if 0 <= index < len(queue.ids):
                view = browse.instruction_view(self.store, queue.ids[index])
                if view is not None:
                    self.detail.prerender(view)
        # The app keeps many long-lived objects (rendered lines, caches); a full pass of the
        # cycle collector over them takes ~60 ms and would land on a key press every few
        # seconds. Moving what exists now out of its reach, while the user reads, keeps those
        # passes short. (These objects are freed by reference counting all the same.)
        gc.freeze()

    @survives("The instruction was not read")
    def refresh_detail(self, instruction_id: int | None = None, keep: bool = True) -> None:
        if instruction_id is None:
            instruction_id = self.queue.current_id
        judge = self.workspace.config.default_judge
        view = (
            browse.instruction_view(self.store, instruction_id, judge.name if judge else None)
            if instruction_id is not None
            else None
        )
        self.detail.show(view, keep_selection=keep)

    def poll(self) -> None:
        """Follow what workers write: re-read only when another connection has committed.
        The cursor and the selected response stay where the reviewer left them."""
        if not self._main_screen_ready():
            return
        try:
            version = browse.changes_seen(self.store)
        except Exception as err:
            if not self._poll_failing:
                self.report_failure("What workers write is not followed", err)
            self._poll_failing = True
            return
        self._poll_failing = False
        if version == self._data_version:
            return
        self._data_version = version
        self.reload_queue()
        # The other tabs are read again when they are shown.
        shown = self.main.query_one(TabbedContent).active
        if shown == "jobs":
            self.refresh_jobs()
        elif shown == "bench":
            self.refresh_bench()
        self.call_later(self.refresh_detail)

    @survives("The jobs were not read")
    def refresh_jobs(self) -> None:
        from cuf_tui.store.work import list_jobs_with_servers

        self.main.query_one(JobsPane).show(list_jobs_with_servers(self.store))

    def action_show_tab(self, tab: str) -> None:
        self.main.query_one(TabbedContent).active = tab
        if tab == "queue":
            self.queue.focus()
        elif tab == "jobs":
            self.refresh_jobs()
            self.main.query_one("#jobs-table", DataTable).focus()
        elif tab == "bench":
            self.refresh_bench()
            self.main.query_one("#bench-table", DataTable).focus()

    @work(thread=True, exclusive=True, group="bench", exit_on_error=False)
    def refresh_bench(self) -> None:
        """The leaderboard, computed in a thread (bootstrap intervals take a moment on a
        full bench) from a connection of its own."""
        from cuf_tui.analysis.leaderboard import leaderboard
        from cuf_tui.store.bench import grade_rows

        with self.workspace.open_store() as store:
            rows = leaderboard(grade_rows(store), self.workspace.config.workspace.seed)
        self.call_from_thread(self.main.query_one(BenchPane).show, rows)

    @on(DataTable.CellSelected, "#bench-table")
    @survives("The grades were not read")
    def show_bench_grades(self, event: DataTable.CellSelected) -> None:
        import json

        key = event.cell_key.row_key.value
        column = event.cell_key.column_key.value
        if key is None or column in ("model", "group"):
            return
        model, judge, reference = json.loads(key)
        preference = column if column in PREFERENCES else None
        grades = browse.bench_grades(self.store, model, judge, reference, preference)
        title = f"{model} · {preference or 'all preferences'} · {judge} vs {reference}"
        self.main.query_one(BenchPane).show_grades(title, grades)

    @survives("The filter was not changed")
    def action_cycle_filter(self, which: str) -> None:
        current = self.filter
        chosen = current
        if which == "preference":
            options: list[Any] = [None, *PREFERENCES]
            value = options[(options.index(current.preference) + 1) % len(options)]
            chosen = QueueFilter(value, current.status, current.model, current.search)
        elif which == "status":
            options = list(browse.STATUSES)
            value = options[(options.index(current.status) + 1) % len(options)]
            chosen = QueueFilter(current.preference, value, current.model, current.search)
        elif which == "model":
            options = [None, *browse.pool_models(self.store)]
            index = options.index(current.model) if current.model in options else 0
            value = options[(index + 1) % len(options)]
            chosen = QueueFilter(current.preference, current.status, value, current.search)
        self.reload_queue(chosen)

    def action_clear_filters(self) -> None:
        search = self.main.query_one("#search", Input)
        search.value = ""
        search.display = False
        self.reload_queue(QueueFilter())
        self.queue.focus()

    def action_search(self) -> None:
        self.action_show_tab("queue")
        search = self.main.query_one("#search", Input)
        search.display = True
        search.focus()

    @on(Input.Changed, "#search")
    def search_changed(self, event: Input.Changed) -> None:
        current = self.filter
        self.reload_queue(
            QueueFilter(current.preference, current.status, current.model, event.value)
        )

    @on(Input.Submitted, "#search")
    def search_done(self) -> None:
        self.queue.focus()

    def action_open(self) -> None:
        self.detail.focus()

    def action_back_out(self) -> None:
        if self.focused is self.main.query_one("#search", Input) or self.focused is self.queue:
            self.action_clear_filters()
        else:
            self.queue.focus()

    def action_select_response(self, step: int) -> None:
        self.detail.move_selection(step)

    @survives("The next instruction to review was not found")
    def action_next_review(self, direction: int) -> None:
        current = self.queue.current_id
        base = self.filter
        needing = browse.queue_ids(
            self.store, QueueFilter(base.preference, "needs review", base.model, base.search)
        )
        candidates = (
            [i for i in needing if (i > current if direction > 0 else i < current)]
            if current is not None
            else needing
        )
        if not candidates:
            self.notify("No other instruction needs review.", timeout=3)
            return
        target = candidates[0] if direction > 0 else candidates[-1]
        if target not in self.queue.ids:
            self.reload_queue(QueueFilter(base.preference, "needs review", base.model, base.search))
        self.queue.cursor = self.queue.ids.index(target)

    # --------------------------------------------------------------------------- reviews

    def _review(self, what: str, **changes: Any) -> None:
        """Change the review of the response on screen. A write the store refuses changes
        nothing and says so; the same key tries again."""
        detail = self.detail
        view, response = detail.view, detail.selected_response
        if view is None or response is None:
            return
        if view.judgment is not None:
            changes.setdefault("judgment_id", view.judgment.id)
        try:
            before = write_review(self.store, view.id, response.model, **changes)
        except Exception as err:
            self.report_failure(
                f"Not saved: {what} for {response.model} on #{view.id}",
                err,
                "Nothing changed; press the key again.",
            )
            return
        self.undo_stack.append((view.id, response.model, before))
        self.queue.refresh_row(view.id)
        self.refresh_detail(view.id)

    def _nothing_to_rate(self, response: Any) -> bool:
        """A response that failed or is not there yet has no text to rate; say so."""
        if response.state == "done":
            return False
        what = "failed" if response.state == "failed" else "is not generated yet"
        self.notify(
            f"{response.model}'s response {what}: there is nothing to rate (x flags it, "
            "n adds a note).",
            timeout=4,
        )
        return True

    def action_rate(self, rating: int) -> None:
        response = self.detail.selected_response
        if response is None or self._nothing_to_rate(response):
            return
        self._review(
            f"your rating {rating}", rating=rating, agrees_with_judge=int(rating == response.rating)
        )

    def action_agree(self) -> None:
        response = self.detail.selected_response
        if response is None or self._nothing_to_rate(response):
            return
        if response.rating is None:
            self.notify("The judge gave no rating here: rate it yourself with 1-5.", timeout=4)
            return
        self._review("your agreement", rating=response.rating, agrees_with_judge=1)

    def action_flag(self) -> None:
        response = self.detail.selected_response
        if response is not None:
            flag = not response.flagged
            self._review("the flag" if flag else "removing the flag", flagged=int(flag))

    def action_note(self) -> None:
        response = self.detail.selected_response
        if response is None:
            return

        def save(note: str | None) -> None:
            if note is not None:
                self._review(
                    f"the note {note!r}" if note else "removing the note", note=note or None
                )

        self.push_screen(NoteDialog(response.model, response.note), save)

    def action_undo(self) -> None:
        if not self.undo_stack:
            self.notify("Nothing to undo.", timeout=3)
            return
        instruction_id, model, before = self.undo_stack[-1]
        try:
            restore_review(self.store, instruction_id, model, before)
        except Exception as err:
            self.report_failure(
                f"Not undone: the review of {model} on #{instruction_id}",
                err,
                "Press u again to retry.",
            )
            return
        self.undo_stack.pop()
        self.queue.refresh_rows()
        if instruction_id in self.queue.ids:
            self.queue.cursor = self.queue.ids.index(instruction_id)
        self.refresh_detail(instruction_id)
        self.notify(f"Undone: review of {model} on #{instruction_id}.", timeout=3)

    def action_full_text(self) -> None:
        """The instruction, the selected response and its rationale whole, as plain text."""
        view = self.detail.view
        if view is None:
            return
        response = self.detail.selected_response
        whose = f", {response.model}'s response and its rationale" if response else ""
        self.push_screen(
            TextDialog(f"#{view.id} in full: the instruction{whose}", full_text(view, response))
        )

    def action_raw(self) -> None:
        view = self.detail.view
        if view is None or view.judgment is None:
            self.notify("This instruction has no judgment.", timeout=3)
            return
        judgment = view.judgment
        self.push_screen(
            TextDialog(
                f"Raw answer of {judgment.judge} ({judgment.state}) on #{view.id}",
                judgment.raw_output or judgment.error or "(the judge's text was not kept)",
            )
        )

    # ---------------------------------------------------------------------------- batches

    def action_launch(self, kind: str) -> None:
        self.plan_batch(kind)

    @survives("The bench run was not planned")
    def action_launch_bench(self) -> None:
        """CODAL-Bench: choose the model under test and the reference, then confirm."""
        import json

        from cuf_tui.errors import CufError
        from cuf_tui.tui.batch import bench_choices
        from cuf_tui.tui.screens.dialogs import ChooseDialog

        try:
            choices = bench_choices(self.workspace)
        except CufError as err:
            self.push_screen(ConfirmBatch("Cannot bench", str(err), False))
            return
        if not choices:
            self.push_screen(
                ConfirmBatch(
                    "Cannot bench",
                    "A bench run needs CODAL-Bench items with reference answers (`cuf-tui "
                    "import`) and a model in [[models]] or answers imported for one.",
                    False,
                )
            )
            return

        def chosen(value: str | None) -> None:
            if value is not None:
                model, reference = json.loads(value)
                self.plan_batch("bench", {"model": model, "reference": reference})

        self.push_screen(
            ChooseDialog("Bench which model, against which reference?", choices), chosen
        )

    @work(
        thread=True,
        exclusive=True,
        group="plan",
        exit_on_error=False,
        description="planning a batch",
    )
    def plan_batch(self, kind: str, options: dict[str, Any] | None = None) -> None:
        """Plan in a thread (it reads every response): the screen stays live meanwhile."""
        from cuf_tui.errors import CufError
        from cuf_tui.tui.batch import describe_plan

        try:
            title, summary, params = describe_plan(self.workspace, kind, options)
        except CufError as err:
            self.call_from_thread(self.push_screen, ConfirmBatch(f"Cannot {kind}", str(err), False))
            return
        if params is None:
            self.call_from_thread(self.push_screen, ConfirmBatch(title, summary, False))
            return

        def start(confirmed: bool | None) -> None:
            if confirmed:
                self.start_batch(kind, params)

        self.call_from_thread(self.push_screen, ConfirmBatch(title, summary), start)

    @survives("The job was not started")
    def start_batch(self, kind: str, params: dict[str, Any]) -> None:
        from cuf_tui.jobs.launch import detach, prepare_job

        job_id = prepare_job(self.workspace, kind, params)
        pid, _ = detach(self.workspace, job_id)
        self.notify(f"Job {job_id} ({kind}) started in the background (pid {pid}).", timeout=5)
        self.refresh_jobs()

    def action_cancel_job(self) -> None:
        job_id = self.main.query_one(JobsPane).selected_job_id
        if job_id is None:
            return

        def cancel(confirmed: bool | None) -> None:
            if confirmed:
                self.cancel_batch(job_id)

        self.push_screen(
            ConfirmBatch(
                f"Cancel job {job_id}?", "The worker stops; what is done stays in the store."
            ),
            cancel,
        )

    @survives("The job was not cancelled")
    def cancel_batch(self, job_id: int) -> None:
        from cuf_tui.jobs.launch import cancel_job

        try:
            self.notify(cancel_job(self.store, job_id), timeout=5, markup=False)
        finally:
            self.refresh_jobs()

    def on_worker_state_changed(self, event: Any) -> None:
        from textual.worker import WorkerState

        if event.state == WorkerState.ERROR:
            error = event.worker.error
            self.report_failure(
                f"{event.worker.description or event.worker.name} failed",
                error if isinstance(error, Exception) else RuntimeError(str(error)),
            )

    # ------------------------------------------------------------------------------ keys

    def action_help(self) -> None:
        sections: list[tuple[str, list[tuple[str, str]]]] = []
        seen: set[str] = set()
        node = self.focused
        while node is not None and node is not self.screen:
            keys = [(b.key, b.description) for b in _bindings(node) if b.description]
            if keys and type(node).__name__ not in seen:
                seen.add(type(node).__name__)
                sections.append((_pane_name(node), keys))
            node = node.parent  # type: ignore[assignment]
        sections.append(("Everywhere", [(b.key, b.description) for b in _bindings(self)]))
        sections.append(
            (
                "Queue status column",
                [
                    ("3/4", "responses done / models assigned"),
                    ("J  ?", "judged / the judge's answer could not be read"),
                    ("!2", "two responses failed"),
                    ("T", "a response was cut off at max_tokens (truncated)"),
                    ("R  F", "reviewed / flagged by a reviewer"),
                ],
            )
        )
        self.push_screen(HelpDialog(sections))


def _bindings(node: Any) -> list[Binding]:
    return [b for b in getattr(node, "BINDINGS", []) if isinstance(b, Binding)]


def _pane_name(node: Any) -> str:
    return {
        "QueueView": "Queue list",
        "QueuePane": "Queue and review",
        "InstructionDetail": "Detail",
    }.get(type(node).__name__, type(node).__name__)


def build_app(
    workspace: Workspace,
    *,
    poll_interval: float = 1.0,
    busy_timeout_ms: int = WRITE_WAIT_MS,
) -> WorkbenchApp:
    """The workbench on ``workspace`` (tests build it on a temporary one). A review waits at
    most ``busy_timeout_ms`` for another program's write lock."""
    store = workspace.open_store()
    store.db.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
    return WorkbenchApp(workspace, store, poll_interval=poll_interval)
