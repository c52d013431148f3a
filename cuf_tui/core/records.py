"""What one imported row means: an instruction with its responses and a judge's annotations,
or a CODAL-Bench item with its reference answers."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from cuf_tui.core.preferences import Preference

NO_RATING_TEXT = "N/A"


@dataclass(frozen=True)
class Response:
    model: str
    text: str


@dataclass(frozen=True)
class Annotation:
    """What a judge said of one response: a rating 1..5, or None when it gave none."""

    model: str
    rating: int | None
    rationale: str


@dataclass(frozen=True)
class Instruction:
    text: str
    preference: Preference
    models: tuple[str, ...] = ()
    responses: tuple[Response, ...] = ()
    annotations: tuple[Annotation, ...] = ()
    judge: str | None = None
    judge_output: str | None = None

    @property
    def key(self) -> str:
        return text_key(self.text)


@dataclass(frozen=True)
class BenchItem:
    text: str
    preference: Preference
    references: tuple[Response, ...] = field(default=())

    @property
    def key(self) -> str:
        return text_key(self.text)


def text_key(text: str) -> str:
    """A stable identity for a text: the hex SHA-256 of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rating_from_dataset(value: object) -> int | None:
    """Read a rating the way CodeUltraFeedback stores it: "1".."5", or "N/A" for none.

    Integers 1..5 and null are accepted too (other tools write them). Anything else is a
    ValueError, because a rating we cannot read must not turn silently into a number.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"expected a rating '1'..'5' or 'N/A', got {value!r}")
    if isinstance(value, int):
        if 1 <= value <= 5:
            return value
        raise ValueError(f"rating {value} is outside 1..5")
    if isinstance(value, str):
        text = value.strip()
        if text.upper() == NO_RATING_TEXT:
            return None
        if text in {"1", "2", "3", "4", "5"}:
            return int(text)
        raise ValueError(f"expected a rating '1'..'5' or 'N/A', got {value!r}")
    raise ValueError(f"expected a rating '1'..'5' or 'N/A', got {type(value).__name__}")


def rating_to_dataset(rating: int | None) -> str:
    return NO_RATING_TEXT if rating is None else str(rating)


def median_rating(ratings: list[int]) -> int | None:
    """The median of some ratings, a half rounded up (3 and 4 give 4); None for none. How
    several reviewers' ratings of one response are read as one."""
    if not ratings:
        return None
    ordered = sorted(ratings)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle] + 1) // 2
