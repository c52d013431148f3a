"""The command palette: every action of the workbench, by name."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from cuf_tui.tui.app import WorkbenchApp

ACTIONS: tuple[tuple[str, str, str], ...] = (
    ("Generate missing responses", "launch('generate')", "G"),
    ("Judge unjudged instructions", "launch('judge')", "J"),
    ("Run CODAL-Bench on a model (answer and grade)", "launch_bench", "B"),
    ("Show the queue", "show_tab('queue')", "F2"),
    ("Show CODAL-Bench scores", "show_tab('bench')", "F3"),
    ("Show jobs", "show_tab('jobs')", "F4"),
    ("Search the instructions", "search", "/"),
    ("Filter by preference (next)", "cycle_filter('preference')", "p"),
    ("Filter by status (next)", "cycle_filter('status')", "s"),
    ("Filter by model (next)", "cycle_filter('model')", "m"),
    ("Clear filters", "clear_filters", "esc"),
    ("Next instruction that needs review", "next_review(1)", "]"),
    ("Previous instruction that needs review", "next_review(-1)", "["),
    ("Agree with the judge", "agree", "a"),
    ("Flag this response", "flag", "x"),
    ("Add a note to this response", "note", "n"),
    ("Undo the last review", "undo", "u"),
    ("Show the judge's raw answer", "raw", "r"),
    ("Show the full text: instruction, response and rationale", "full_text", "f"),
    ("Cancel the selected job", "cancel_job", "c"),
    ("Keys of the focused pane", "help", "?"),
    ("Quit", "quit", "q"),
)


class WorkbenchCommands(Provider):
    @property
    def workbench(self) -> WorkbenchApp:
        return self.app  # type: ignore[return-value]

    async def discover(self) -> Hits:
        for name, action, key in ACTIONS:
            yield DiscoveryHit(f"{name} ({key})", partial(self.run, action), help=action)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, key in ACTIONS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(f"{name} ({key})"), partial(self.run, action))

    async def run(self, action: str) -> None:
        await self.workbench.run_action(action)
