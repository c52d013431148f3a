"""The workbench screen: the queue, bench and jobs tabs, the keys that work everywhere (tabs,
launching batches, help), and following what workers write. Batches are planned here and
started as detached workers; they never run inside the app."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.command import Provider
from textual.dom import DOMNode
from textual.screen import Screen
from textual.widgets import Header, TabbedContent, TabPane, Tabs
from textual.worker import Worker

from cuf_tui.errors import CufError
from cuf_tui.tui.commands import WorkbenchCommands
from cuf_tui.tui.failures import report_failure, report_worker_failure, survives
from cuf_tui.tui.screens.dialogs import ChooseDialog, ConfirmBatch, HelpDialog
from cuf_tui.tui.service import Workbench
from cuf_tui.tui.widgets.bench import BenchPane
from cuf_tui.tui.widgets.footer import FittingFooter
from cuf_tui.tui.widgets.jobs import JobsPane
from cuf_tui.tui.widgets.judge import JudgePane, OpenInstruction
from cuf_tui.tui.widgets.queue_pane import QueuePane

NARROW_BELOW = 120  # columns: below this the queue sits above the detail
# Help sections by what the reviewer sees, never a widget's class name.
PANE_NAMES = {
    "QueueView": "Queue list",
    "QueuePane": "Queue and review",
    "InstructionDetail": "Detail",
    "JobsPane": "Jobs",
    "BenchPane": "Bench",
    "JudgePane": "Judge trust",
    "DataTable": "Table",
    "ContentTabs": "Tabs",
    "Tabs": "Tabs",
    "TabbedContent": "Tabs",
    "VerticalScroll": "Scrolling",
    "ScrollableContainer": "Scrolling",
    "Input": "Text entry",
}
# Keys Textual's own widgets bind that a reviewer would not look for in a help screen.
UNLISTED_WIDGETS = {"ContentTabs", "Tabs", "TabbedContent", "VerticalScroll", "ScrollableContainer"}
STATUS_KEYS = [
    ("3/4", "responses done / models assigned"),
    ("J  ?", "judged / the judge's answer could not be read"),
    ("!2", "two responses failed"),
    ("T", "a response was cut off at max_tokens (truncated)"),
    ("R  F", "reviewed / flagged by a reviewer"),
]
NO_BENCH = (
    "A bench run needs CODAL-Bench items with reference answers (`cuf-tui import`) and a "
    "model in [[models]] or answers imported for one."
)


class WorkbenchScreen(Screen[None]):
    """One workspace: its queue with the detail, its CODAL-Bench scores and its jobs."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("q", "app.quit", "Quit"),
        Binding("question_mark,f1", "help", "Keys"),
        # The tabs show these; the footer keeps its room for the pane's own keys.
        Binding("f2", "show_tab('queue')", "Queue", show=False),
        Binding("f3", "show_tab('bench')", "Bench", show=False),
        Binding("f4", "show_tab('jobs')", "Jobs", show=False),
        Binding("f5", "show_tab('judge')", "Judge trust", show=False),
        Binding("G", "launch('generate')", "Generate"),
        Binding("J", "launch('judge')", "Judge"),
        Binding("B", "launch_bench", "Bench run"),
    ]
    COMMANDS: ClassVar[set[type[Provider] | Callable[[], type[Provider]]]] = {WorkbenchCommands}
    HORIZONTAL_BREAKPOINTS = [(0, "narrow"), (NARROW_BELOW, "wide")]

    def __init__(self, workbench: Workbench, *, poll_interval: float = 1.0) -> None:
        super().__init__()
        self.workbench = workbench
        self.poll_interval = poll_interval
        self._data_version = -1
        self._poll_failing = False  # said once, not once a second

    def compose(self) -> ComposeResult:
        yield Header()
        with TabbedContent(initial="queue", id="tabs"):
            with TabPane("Queue F2", id="queue"):
                yield QueuePane(self.workbench)
            with TabPane("Bench F3", id="bench"):
                yield BenchPane(self.workbench, id="bench-pane")
            with TabPane("Jobs F4", id="jobs"):
                yield JobsPane(self.workbench, id="jobs-pane")
            with TabPane("Judge F5", id="judge"):
                yield JudgePane(self.workbench, id="judge-pane")
        yield FittingFooter()

    def on_mount(self) -> None:
        # F2-F4 switch tabs; Tab moves between the panes' own parts only, never to the tab
        # bar, where the footer could show nothing but the global keys.
        self.query_one(Tabs).can_focus = False
        self.set_interval(self.poll_interval, self.poll)

    def poll(self) -> None:
        """Follow what workers write: re-read only when another connection has committed.
        The cursor and the selected response stay where the reviewer left them."""
        try:
            version = self.workbench.changes_seen()
        except Exception as err:
            if not self._poll_failing:
                report_failure(self, "What workers write is not followed", err)
            self._poll_failing = True
            return
        self._poll_failing = False
        if version == self._data_version:
            return
        self._data_version = version
        queue = self.query_one(QueuePane)
        queue.refresh_queue()
        # The other tabs are read again when they are shown.
        shown = self.query_one(TabbedContent).active
        if shown == "jobs":
            self.query_one(JobsPane).refresh_jobs()
        elif shown == "bench":
            self.query_one(BenchPane).refresh_scores()
        elif shown == "judge":
            self.query_one(JudgePane).follow()
        self.call_later(queue.refresh_detail)

    def action_show_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        if tab == "queue":
            self.query_one(QueuePane).queue.focus()
        elif tab == "jobs":
            jobs = self.query_one(JobsPane)
            jobs.refresh_jobs()
            jobs.table.focus()
        elif tab == "bench":
            bench = self.query_one(BenchPane)
            bench.refresh_scores()
            bench.query_one("#bench-table").focus()
        elif tab == "judge":
            judge = self.query_one(JudgePane)
            judge.refresh_trust()
            judge.query_one("#agreement").focus()

    @on(OpenInstruction)
    @survives("The instruction was not opened")
    def open_instruction(self, message: OpenInstruction) -> None:
        """An instruction chosen elsewhere (a disagreement): show it in the queue."""
        self.action_show_tab("queue")
        self.query_one(QueuePane).go_to(message.instruction_id, message.model)

    # ---------------------------------------------------------------------------- batches

    def action_launch(self, kind: str) -> None:
        """G or J; J judges with the judge on show (`v`) when it is one of [[judges]]."""
        judge = self.workbench.judge_on_show
        configured = [entry.name for entry in self.workbench.workspace.config.judges]
        if kind == "judge" and judge in configured:
            self.plan_batch(kind, {"judge": judge})
        else:
            self.plan_batch(kind)

    @survives("The bench run was not planned")
    def action_launch_bench(self) -> None:
        """CODAL-Bench: choose the model under test and the reference, then confirm."""
        try:
            choices = self.workbench.bench_choices()
        except CufError as err:
            self.app.push_screen(ConfirmBatch("Cannot bench", str(err), False))
            return
        if not choices:
            self.app.push_screen(ConfirmBatch("Cannot bench", NO_BENCH, False))
            return

        def chosen(value: str | None) -> None:
            if value is not None:
                model, reference = json.loads(value)
                self.plan_batch("bench", {"model": model, "reference": reference})

        self.app.push_screen(
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
        try:
            title, summary, params = self.workbench.plan(kind, options)
        except CufError as err:
            self.app.call_from_thread(
                self.app.push_screen, ConfirmBatch(f"Cannot {kind}", str(err), False)
            )
            return
        if params is None:
            self.app.call_from_thread(self.app.push_screen, ConfirmBatch(title, summary, False))
            return

        def start(confirmed: bool | None) -> None:
            if confirmed:
                self.start_batch(kind, params)

        self.app.call_from_thread(self.app.push_screen, ConfirmBatch(title, summary), start)

    @survives("The job was not started")
    def start_batch(self, kind: str, params: dict[str, Any]) -> None:
        job_id, pid = self.workbench.start(kind, params)
        self.notify(f"Job {job_id} ({kind}) started in the background (pid {pid}).", timeout=5)
        jobs = self.query_one(JobsPane)
        jobs.follow(job_id)  # its row is the one selected: `c` cancels it, not an old one
        jobs.refresh_jobs()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        report_worker_failure(self, event)

    # ------------------------------------------------------------------------------ keys

    def action_help(self) -> None:
        """The keys of the focused pane and of those around it, then the keys that work
        everywhere."""
        sections: list[tuple[str, list[tuple[str, str]]]] = []
        seen: set[str] = set()
        around: set[str] = set()
        node: DOMNode | None = self.focused
        while node is not None and node is not self:
            name = type(node).__name__
            around.add(name)
            # One line per key shown: the five rating keys share "1-5 Rate".
            keys = list(
                dict.fromkeys(
                    (key_label(b), b.description) for b in _bindings(node) if b.description
                )
            )
            if keys and name not in seen and name not in UNLISTED_WIDGETS:
                seen.add(name)
                sections.append((PANE_NAMES.get(name, "This pane"), keys))
            node = node.parent
        if "BenchPane" in around:
            sections.append(("Bench", [("Enter", "on a score: the grades behind it")]))
        everywhere = [(key_label(b), b.description) for b in _bindings(self) if b.description]
        sections.append(("Everywhere", everywhere))
        sections.append(("Queue status column", STATUS_KEYS))
        self.app.push_screen(HelpDialog(sections))


def key_label(binding: Binding) -> str:
    """A binding's keys as the keyboard prints them: `?/F1`, `]`, `Esc`. A footer's short
    form that stands for two keys of two actions (`]/[`) is not used: help lists each."""
    if binding.key_display and "/" not in binding.key_display:
        return binding.key_display
    from textual.keys import format_key

    shown = []
    for key in binding.key.split(","):
        label = format_key(key.strip())
        if label.startswith("f") and label[1:].isdigit():
            label = label.upper()  # F1
        shown.append(PRINTED_KEYS.get(label, label))
    return "/".join(dict.fromkeys(shown))


# Keys whose names Textual writes in lower case, as keyboards print them.
PRINTED_KEYS = {
    "esc": "Esc",
    "pgdn": "PgDn",
    "pgup": "PgUp",
    "home": "Home",
    "end": "End",
    "tab": "Tab",
    "enter": "Enter",
}


def _bindings(node: DOMNode) -> list[Binding]:
    """The bindings ``node``'s class declares itself."""
    return [b for b in type(node).BINDINGS if isinstance(b, Binding)]
