"""How the workbench survives a failure in something the reviewer did: the action says on
screen, in one line, what did not happen and why, and the app goes on (closing it would lose
the reviewer's place, and a store that is busy now is usually free a moment later)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, TypeVar

from cuf_tui.errors import CufError
from cuf_tui.store.db import store_trouble

NOTICE_SECONDS = 10

Method = TypeVar("Method", bound=Callable[..., Any])


class Reporter(Protocol):
    def report_failure(self, what: str, err: Exception, then: str = "") -> None: ...


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


def survives(what: str) -> Callable[[Method], Method]:
    """For an action or handler of the workbench: an error in it becomes a notice "``what``:
    why" instead of closing the app."""

    def decorate(method: Method) -> Method:
        @functools.wraps(method)
        def guarded(self: Reporter, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except Exception as err:
                self.report_failure(what, err)
                return None

        return guarded  # type: ignore[return-value]

    return decorate
