"""A job in words, for every place that shows it (the command line and the workbench
alike): pure functions of a job's counts."""

from __future__ import annotations


def attention_words(unparsed: int, truncated: int) -> str:
    """A job's units that were stored but need a person's look, in words ("" when none)."""
    parts = [f"{unparsed} unparsed"] if unparsed else []
    parts += [f"{truncated} cut off"] if truncated else []
    return ", ".join(parts)
