"""How the workbench survives a failure in something the reviewer did: the action says on
screen, in one line, what did not happen and why, and the app goes on (closing it would lose
the reviewer's place, and a store that is busy now is usually free a moment later)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, Protocol, TypeVar

from textual.worker import Worker, WorkerState

from cuf_tui.errors import CufError
from cuf_tui.store.db import store_trouble

if TYPE_CHECKING:
    from textual.app import App

    from cuf_tui.tui.service import Workbench

NOTICE_SECONDS = 10


class OnWorkbench(Protocol):
    """A screen or pane of the workbench: it reaches the store through its service."""

    @property
    def workbench(self) -> Workbench: ...

    @property
    def app(self) -> App[Any]: ...


Node = TypeVar("Node", bound=OnWorkbench)
Args = ParamSpec("Args")
Result = TypeVar("Result")


def reason(err: BaseException, store_path: Path | None) -> str:
    """``err`` in one line: a store's trouble in the store's words, an error of ours as it
    says itself, anything else with its type."""
    if isinstance(err, CufError):
        return str(err)
    trouble = store_trouble(err, store_path, "use")
    if trouble is not None:
        return str(trouble)
    first = str(err).strip().split("\n", 1)[0]
    return f"{type(err).__name__}: {first}" if first else type(err).__name__


def report_failure(node: OnWorkbench, what: str, err: Exception, then: str = "") -> None:
    """``what`` did not happen, and why, on screen; the app goes on."""
    app = node.app
    app.log.error(f"{what}: {err!r}")
    message = f"{what}: {reason(err, node.workbench.store.path)}"
    app.notify(
        f"{message}. {then}" if then else message,
        severity="error",
        timeout=NOTICE_SECONDS,
        markup=False,
    )


def report_worker_failure(node: OnWorkbench, event: Worker.StateChanged) -> None:
    """For a ``Worker.StateChanged`` handler: a worker that failed says so."""
    if event.state == WorkerState.ERROR:
        worker: Worker[Any] = event.worker
        error = worker.error
        report_failure(
            node,
            f"{worker.description or worker.name} failed",
            error if isinstance(error, Exception) else RuntimeError(str(error)),
        )


def survives(
    what: str,
) -> Callable[
    [Callable[Concatenate[Node, Args], Result]], Callable[Concatenate[Node, Args], Result | None]
]:
    """For an action or handler of a screen or pane: an error in it becomes a notice
    "``what``: why" instead of closing the app."""

    def decorate(
        method: Callable[Concatenate[Node, Args], Result],
    ) -> Callable[Concatenate[Node, Args], Result | None]:
        @functools.wraps(method)
        def guarded(self: Node, /, *args: Args.args, **kwargs: Args.kwargs) -> Result | None:
            try:
                return method(self, *args, **kwargs)
            except Exception as err:
                report_failure(self, what, err)
                return None

        return guarded

    return decorate
