"""The two ways a batch asks a model: for an answer to an instruction (generation and
CODAL-Bench answers), and for a verdict (judgments and grades) with one repair request when
the first answer cannot be read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from cuf_tui.config import ModelEntry
from cuf_tui.engines.openai_client import ChatEndpoint, Completion, RequestFailed
from cuf_tui.store.attempts import Attempt, UnitCost

if TYPE_CHECKING:
    from cuf_tui.jobs.scheduler import Batch

T = TypeVar("T")

REPAIR_SEPARATOR = "\n\n----- answer to the repair request -----\n\n"


def sampling_of(entry: ModelEntry) -> dict[str, Any]:
    """The sampling settings stored with an answer (those that are sent: not the unset)."""
    chosen = {
        "temperature": entry.temperature,
        "top_p": entry.top_p,
        "max_tokens": entry.max_tokens,
    }
    return {name: value for name, value in chosen.items() if value is not None}


@dataclass(frozen=True)
class Answer:
    principle: str | None  # the preference's principle it answered under
    text: str | None
    attempt: Attempt

    @classmethod
    def failure(cls, principle: str | None, error: str) -> Answer:
        """An answer whose reply could not be handled (a retry may do better)."""
        return cls(principle, None, Attempt("failed", error))


async def answer(
    batch: Batch,
    endpoint: ChatEndpoint,
    principle: str,
    messages: list[dict[str, str]],
    **settings: Any,
) -> Answer:
    """One answer to an instruction asked under ``principle`` (``settings`` over the model's
    own sampling): generation and bench answers alike."""
    try:
        completion = await endpoint.chat(messages, **settings)
    except RequestFailed as failure:
        failed = Attempt("failed", str(failure), permanent=not failure.transient)
        return Answer(principle, None, failed)
    notes = batch.reply_notes([completion], f"{endpoint.entry.name}'s answer")
    cost = batch.cost(endpoint, [completion])
    return Answer(principle, completion.text, Attempt("done", cost=cost, notes=notes))


@dataclass(frozen=True)
class Verdict(Generic[T]):
    """What a judge's (or grader's) request came to: ``read`` is None when no answer came."""

    read: T | None
    raw: str | None  # what it wrote, verbatim (with the repair's answer, when one was asked)
    repaired: bool  # read only from the answer to the repair request
    attempt: Attempt = field(default_factory=lambda: Attempt("failed"))

    @classmethod
    def failure(cls, error: str) -> Verdict[Any]:
        """A verdict whose reply could not be handled (a retry may do better)."""
        return cls(None, None, False, Attempt("failed", error))


async def ask_judge(
    batch: Batch,
    endpoint: ChatEndpoint,
    messages: list[dict[str, str]],
    repair: dict[str, str],
    read: Callable[[str], T],
    readable: Callable[[T], bool],
    constrained: dict[str, Any] | None,
) -> Verdict[T]:
    """Ask a judge (or grader); an answer that cannot be read gets one repair request.
    What could not be read is kept verbatim, with the repair's answer or its failure."""
    options = {"response_format": constrained} if constrained else {}
    completions: list[Completion] = []
    raw: str | None = None
    found: T | None = None

    def verdict(read: T | None, state: str, repaired: bool = False) -> Verdict[T]:
        cost = batch.cost(endpoint, completions)
        notes = batch.reply_notes(completions, f"{endpoint.entry.name}'s judgment")
        return Verdict(read, raw, repaired, Attempt(state, cost=cost, notes=notes))

    try:
        first = await endpoint.chat(messages, **options)
        completions.append(first)
        raw, found = first.text, read(first.text)
        if readable(found):
            return verdict(found, "done")
        asked_again = [*messages, {"role": "assistant", "content": first.text}, repair]
        second = await endpoint.chat(asked_again, **options)
        completions.append(second)
        raw = first.text + REPAIR_SEPARATOR + second.text
        again = read(second.text)
        if readable(again):
            return verdict(again, "done", repaired=True)
    except RequestFailed as failure:
        if found is None:
            cost = batch.cost(endpoint, completions) if completions else UnitCost()
            failed = Attempt("failed", str(failure), cost, permanent=not failure.transient)
            return Verdict(None, None, False, failed)
        raw = f"{raw}{REPAIR_SEPARATOR}(the repair request failed: {failure})"
    return verdict(found, "unparsed")
