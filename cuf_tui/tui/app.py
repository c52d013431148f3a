"""The workbench app: one workspace's service, shown on the workbench screen. The screen and
its panes own every key; an error in anything the reviewer does becomes a notice, never a
closed app."""

from __future__ import annotations

from textual.app import App

from cuf_tui.resources import styles_dir
from cuf_tui.store.db import Store
from cuf_tui.tui.screens.workbench import WorkbenchScreen
from cuf_tui.tui.service import Workbench, open_for_review
from cuf_tui.workspace import Workspace

# A write waits this long for another program's lock (workers hold it for milliseconds; a
# VACUUM or a sqlite3 shell may hold it for minutes). It waits on the screen's thread, so past
# this the key says "not saved" and can be pressed again, rather than freezing the screen.
WRITE_WAIT_MS = 2_000


class WorkbenchApp(App[None]):
    CSS_PATH = str(styles_dir() / "workbench.tcss")
    TITLE = "cuf-tui"

    def __init__(
        self,
        workspace: Workspace,
        store: Store,
        *,
        poll_interval: float = 1.0,
        reviewer: str | None = None,
    ) -> None:
        super().__init__()
        self.workbench = Workbench(workspace, store, reviewer)
        self.poll_interval = poll_interval
        self.sub_title = self.workbench.name

    def get_default_screen(self) -> WorkbenchScreen:
        """The workbench screen is the app's first screen (Textual's hook for it); dialogs
        go on top of it, and queries of the app search it."""
        return WorkbenchScreen(self.workbench, poll_interval=self.poll_interval)


def build_app(
    workspace: Workspace,
    *,
    poll_interval: float = 1.0,
    busy_timeout_ms: int = WRITE_WAIT_MS,
    reviewer: str | None = None,
) -> WorkbenchApp:
    """The workbench on ``workspace`` (tests build it on a temporary one). A review waits at
    most ``busy_timeout_ms`` for another program's write lock; reviews are ``reviewer``'s
    (None: $CUF_TUI_REVIEWER or the login)."""
    store = open_for_review(workspace, busy_timeout_ms)
    return WorkbenchApp(workspace, store, poll_interval=poll_interval, reviewer=reviewer)
