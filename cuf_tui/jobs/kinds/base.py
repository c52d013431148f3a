"""What every kind of batch provides: a typed request (what the user asked, stored losslessly
as the job's parameters, which are its identity), and the plan it comes to now (what it will
request, from which endpoints, at what estimated cost, and the work that sends it).

The command line, the workbench and the worker all describe a batch through these, so a
parameter cannot be added on one side and missed on another."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from cuf_tui.config import Config, ModelEntry
from cuf_tui.core.prompts import PromptSet
from cuf_tui.errors import CufError
from cuf_tui.store.db import Store

if TYPE_CHECKING:
    from cuf_tui.jobs.plan import Estimate
    from cuf_tui.jobs.scheduler import Batch

Work = Callable[[], Awaitable[None]]


class ParamsError(CufError):
    """A job's stored parameters do not describe a batch this cuf-tui knows."""


@dataclass(frozen=True)
class Planning:
    """What planning reads: the store as it is now, the settings and the prompt templates."""

    store: Store
    config: Config
    prompts: PromptSet


class BatchPlan(Protocol):
    """What a request comes to against the store as it is now."""

    @property
    def request(self) -> BatchRequest:
        """The request with every name resolved (the default judge, say): the job's
        parameters."""

    @property
    def requests(self) -> int:
        """Requests it will send at least (a repair may add some)."""

    @property
    def endpoints(self) -> list[ModelEntry]:
        """The models it will send to, in the order it starts their servers."""

    @property
    def skipped_failures(self) -> int:
        """Units that failed before in a way a retry cannot fix, left out."""

    def headline(self) -> str | None:
        """One sentence on what it will do, where the estimates alone do not say it."""

    def notes(self) -> list[str]:
        """What a user should know before it runs (units it cannot do, and why)."""

    def nothing_to_do(self) -> str:
        """Why there is nothing to request (when ``requests`` is 0)."""

    def estimates(self, planning: Planning) -> list[Estimate]:
        """Requests, tokens and cost per endpoint."""

    @property
    def assignments(self) -> int:
        """Instructions that get their models assigned first."""

    def work(self, batch: Batch, planning: Planning) -> Work:
        """The batch itself, sending through ``batch``."""


class BatchRequest(Protocol):
    kind: ClassVar[str]

    def params(self) -> dict[str, Any]:
        """The stored form; equal requests have equal parameters."""

    def plan(self, planning: Planning) -> BatchPlan: ...


# The shapes a parameter may have (None stands for "not given" in each but a flag).
NAME, NAMES, COUNT, FLAG = (
    "a name",
    "a list of names",
    "a whole number of at least 1",
    "true or false",
)


def checked_params(kind: str, params: Any, expected: dict[str, str]) -> dict[str, Any]:
    """A job's parameters: exactly what a request of ``kind`` holds, each of its shape."""
    if not isinstance(params, dict):
        raise ParamsError(
            f"a {kind} job's parameters {_shown(params)} are not an object: the store's jobs "
            "table was edited, or written by another program"
        )
    unknown = sorted(set(params) - set(expected))
    missing = sorted(set(expected) - set(params))
    if unknown or missing:
        raise ParamsError(
            f"a {kind} job's parameters {_shown(params)} do not match this cuf-tui's "
            f"({', '.join(expected)}): made by another version?"
        )
    for name, shape in expected.items():
        if not _fits(params[name], shape):
            raise ParamsError(
                f"a {kind} job's parameter {name} is {_shown(params[name])}, not {shape}"
            )
    return params


def _fits(value: Any, shape: str) -> bool:
    if shape == FLAG:
        return isinstance(value, bool)
    if value is None:
        return True
    if shape == NAME:
        return isinstance(value, str) and bool(value.strip())
    if shape == NAMES:
        return isinstance(value, list) and all(_fits(v, NAME) and v for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _shown(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def but_failed(skipped: int) -> str:
    """The end of a "nothing to do" sentence: all done, or failed for good."""
    if not skipped:
        return "."
    return f", but for {skipped} units that failed in a way a retry cannot fix (see the note)."


def check_endpoints(entries: list[ModelEntry]) -> None:
    """Before a batch: every endpoint can be used as configured (its key is set, its server
    program exists) and every server someone else runs answers (one cheap request each)."""
    from cuf_tui.engines.openai_client import check_endpoint
    from cuf_tui.engines.probe import check_reachable

    for entry in entries:
        check_endpoint(entry)
    check_reachable(entries)
