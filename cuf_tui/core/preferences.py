"""The five coding preferences of CodeUltraFeedback and the named levels of their rubrics."""

from __future__ import annotations

from typing import Final, Literal

Preference = Literal["instruction-following", "explanation", "complexity", "readability", "style"]

PREFERENCES: Final[tuple[Preference, ...]] = (
    "instruction-following",
    "explanation",
    "complexity",
    "readability",
    "style",
)

# The order the paper's data script gave preferences to instructions (row i: i % 5).
ROUND_ROBIN_ORDER: Final[tuple[Preference, ...]] = (
    "instruction-following",
    "readability",
    "complexity",
    "style",
    "explanation",
)
ROUND_ROBIN: Final = "round-robin"

# The name of each score 1..5 on a preference's rubric (index 0 is score 1).
RATING_LEVELS: Final[dict[Preference, tuple[str, str, str, str, str]]] = {
    "instruction-following": (
        "Non-Compliant",
        "Minimally Compliant",
        "Moderately Compliant",
        "Highly Compliant",
        "Fully Compliant",
    ),
    "explanation": ("Inadequate", "Basic", "Good", "Very Good", "Excellent"),
    "complexity": (
        "Inefficient",
        "Somewhat Efficient",
        "Moderately Efficient",
        "Highly Efficient",
        "Optimally Efficient",
    ),
    "readability": ("Poor", "Basic", "Good", "Very Good", "Excellent"),
    "style": (
        "Non-Adherent",
        "Somewhat Adherent",
        "Moderately Adherent",
        "Highly Adherent",
        "Exemplary Adherent",
    ),
}


def rating_level(preference: Preference, rating: int) -> str:
    """The rubric's name for a rating, e.g. ``4 -> "Highly Compliant"``."""
    if not 1 <= rating <= 5:
        raise ValueError(f"a rating is between 1 and 5, not {rating}")
    return RATING_LEVELS[preference][rating - 1]
