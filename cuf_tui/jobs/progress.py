"""How far a batch has come, and how it ended: what the command line's progress bar, the
end of a foreground run and a worker's log say."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cuf_tui.core.job_words import attention_words
from cuf_tui.errors import CufError


class JobBusy(CufError):
    """Another live worker holds the job."""


@dataclass
class Progress:
    job_id: int
    kind: str
    total: int = 0
    done: int = 0  # stored whole (for a judgment: read)
    failed: int = 0
    unparsed: int = 0  # judge answers that could not be read: stored, for review
    truncated: int = 0  # answers cut off at max_tokens: stored (and done), for attention
    in_flight: int = 0
    retries: int = 0  # attempts sent again (429, 5xx, drops, timeouts)
    rate_limited: int = 0  # attempts answered 429
    elsewhere: int = 0  # units another batch was doing or had stored: left to it
    failed_before: int = 0  # of failed: an earlier run of the job had them fail for good
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    started: float = field(default_factory=time.monotonic)
    last_error: str | None = None
    phase: str | None = None  # e.g. waiting for a model server to start

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.unparsed

    @property
    def attention(self) -> str:
        """What was stored but needs a person's look, in words ("" when nothing)."""
        return attention_words(self.unparsed, self.truncated)

    def end_state(self) -> tuple[str, str | None]:
        """How the run ended: done, done with failures, or failed (none succeeded)."""
        if not self.failed:
            return "done", None
        last = f"; last error: {self.last_error}" if self.last_error else ""
        if not (self.done or self.unparsed) and self.failed > self.failed_before:
            return "failed", f"all {self.failed} units failed{last}"
        return "done with failures", f"{self.failed} of {self.total} units failed{last}"

    @property
    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.finished / elapsed if elapsed > 0 else 0.0


@dataclass(frozen=True)
class JobOutcome:
    job_id: int
    state: str  # done, done with failures, failed, cancelled
    progress: Progress
    error: str | None = None


ProgressCallback = Callable[[Progress], None]


def silent(_: Progress) -> None:
    return None
