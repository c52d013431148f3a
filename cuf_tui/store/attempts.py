"""How a request for a unit of work ended, stored the same way in every table of units
(responses, judgments, bench answers, bench grades): state, error, tokens, cost, latency,
whether a retry could help, and what the engine said besides the text. One UPSERT writes
them all: a unit is stored once, and only a failed one may be replaced by a later attempt."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cuf_tui.store.db import NOW, Store


@dataclass(frozen=True)
class UnitCost:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    latency_ms: float | None = None


@dataclass(frozen=True)
class ReplyNotes:
    """What the engine said about an answer besides its text."""

    finish_reason: str | None = None  # 'stop'; 'length' means cut off at max_tokens
    replaced_chars: int = 0  # invalid code points (a cut emoji) replaced by U+FFFD

    @property
    def truncated(self) -> bool:
        return self.finish_reason == "length"


@dataclass(frozen=True)
class Attempt:
    """How the last request for a unit ended."""

    state: str  # done, unparsed (a judge's answer that could not be read) or failed
    error: str | None = None  # why it failed, for a failed unit
    cost: UnitCost = field(default_factory=UnitCost)
    permanent: bool = False  # the failure is one a retry cannot fix (a 400, a 401)
    notes: ReplyNotes = field(default_factory=ReplyNotes)


def upsert_attempt(
    store: Store,
    table: str,
    key: dict[str, Any],
    columns: dict[str, Any],
    attempt: Attempt,
) -> int | None:
    """Write a unit of ``table`` (identified by ``key``) with its own ``columns`` and the
    attempt's; inside the caller's transaction. Returns the row's id, or None when a unit
    that had not failed was there already (it is kept)."""
    cost = attempt.cost
    values = {
        **key,
        **columns,
        "state": attempt.state,
        "error": attempt.error,
        "prompt_tokens": cost.prompt_tokens,
        "completion_tokens": cost.completion_tokens,
        "cost_usd": cost.cost_usd,
        "latency_ms": cost.latency_ms,
        "permanent_failure": int(attempt.permanent),
        "finish_reason": attempt.notes.finish_reason,
        "replaced_chars": attempt.notes.replaced_chars,
    }
    replaced = [name for name in values if name not in key]
    row = store.db.execute(
        f"INSERT INTO {table} ({', '.join(values)}) VALUES ({', '.join('?' * len(values))}) "
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET "
        + ", ".join(f"{name} = excluded.{name}" for name in replaced)
        + f", finished_at = {NOW} WHERE {table}.state = 'failed' RETURNING id",
        tuple(values.values()),
    ).fetchone()
    return None if row is None else int(row[0])


def mean_completion_tokens(store: Store, table: str, column: str, name: str) -> float | None:
    """The mean output of ``name``'s done units in ``table`` (for estimates)."""
    value = store.scalar(
        f"SELECT avg(completion_tokens) FROM {table} WHERE {column} = ? AND state = 'done' "
        "AND completion_tokens > 0",
        (name,),
    )
    return None if value is None else float(value)
