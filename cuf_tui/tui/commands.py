"""The command palette: every action of the workbench, by name, run by the pane that owns it."""

from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.dom import DOMNode

SCREEN, QUEUE, JOBS = "screen", "#queue-pane", "#jobs-pane"  # where each action lives

# (what it does, where it lives, the action, its key)
ACTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("Generate missing responses", SCREEN, "launch('generate')", "G"),
    ("Judge unjudged instructions", SCREEN, "launch('judge')", "J"),
    ("Run CODAL-Bench on a model: its answers, then their grades", SCREEN, "launch_bench", "B"),
    ("Show the queue", SCREEN, "show_tab('queue')", "F2"),
    ("Show CODAL-Bench scores", SCREEN, "show_tab('bench')", "F3"),
    ("Show jobs", SCREEN, "show_tab('jobs')", "F4"),
    ("Show how far the judges can be trusted", SCREEN, "show_tab('judge')", "F5"),
    ("Search instructions, responses and rationales", QUEUE, "search", "/"),
    ("Filter by the next preference", QUEUE, "cycle_filter('preference')", "p"),
    ("Choose the status filter from a list", QUEUE, "choose_filter('status')", "s"),
    ("Choose the model filter from a list", QUEUE, "choose_filter('model')", "m"),
    ("Clear filters", QUEUE, "clear_filters", "Esc"),
    ("Next instruction that needs review", QUEUE, "next_review(1)", "]"),
    ("Previous instruction that needs review", QUEUE, "next_review(-1)", "["),
    ("Agree with the judge", QUEUE, "agree", "a"),
    ("Flag this response", QUEUE, "flag", "x"),
    ("Add a note to this response", QUEUE, "note", "n"),
    ("Undo the last review", QUEUE, "undo", "u"),
    ("Show the judge's raw answer", QUEUE, "raw", "r"),
    ("Show the next judge's judgments", QUEUE, "next_judge", "v"),
    ("Show every request behind this response and its judgment", QUEUE, "transcript", "t"),
    ("Show the full text: instruction, response and rationale", QUEUE, "full_text", "f"),
    ("Cancel the selected job", JOBS, "cancel_job", "c"),
    ("Keys of the focused pane", SCREEN, "help", "?"),
)


def action_owner(screen: DOMNode, where: str) -> DOMNode:
    """The node of ``screen`` that runs the actions said to live ``where``."""
    return screen if where == SCREEN else screen.query_one(where)


class WorkbenchCommands(Provider):
    async def discover(self) -> Hits:
        for name, where, action, key in ACTIONS:
            yield DiscoveryHit(f"{name} ({key})", partial(self.run, where, action))

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, where, action, key in ACTIONS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(
                    score,
                    matcher.highlight(f"{name} ({key})"),
                    partial(self.run, where, action),
                )

    async def run(self, where: str, action: str) -> None:
        await self.app.run_action(action, action_owner(self.screen, where))
