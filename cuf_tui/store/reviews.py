"""The human side of judging: reviews written at once (crash-safe), kept apart from what the
judge said, and undoable."""

from __future__ import annotations

from typing import Any

from cuf_tui.store.db import Store

REVIEW_FIELDS = ("rating", "agrees_with_judge", "flagged", "note", "judgment_id")
REVIEWER_ENV = "CUF_TUI_REVIEWER"


def current_reviewer() -> str | None:
    """Who is reviewing: $CUF_TUI_REVIEWER, else the login name (None when there is none)."""
    import getpass
    import os

    named = os.environ.get(REVIEWER_ENV, "").strip()
    if named:
        return named
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid with no name in the password database
        return None


def review_of(store: Store, instruction_id: int, model: str) -> dict[str, Any] | None:
    rows = store.query(
        f"SELECT {', '.join(REVIEW_FIELDS)} FROM reviews WHERE instruction_id = ? AND model = ?",
        (instruction_id, model),
    )
    return rows[0] if rows else None


def write_review(
    store: Store, instruction_id: int, model: str, **changes: Any
) -> dict[str, Any] | None:
    """Change a review (making it if needed); returns the review as it was, for undo."""
    unknown = set(changes) - set(REVIEW_FIELDS)
    if unknown:
        raise ValueError(f"not review fields: {', '.join(sorted(unknown))}")
    with store.transaction():
        before = review_of(store, instruction_id, model)
        merged = (
            {
                "rating": None,
                "agrees_with_judge": 0,
                "flagged": 0,
                "note": None,
                "judgment_id": None,
            }
            | (before or {})
            | changes
        )
        store.db.execute(
            "INSERT INTO reviews (instruction_id, model, rating, agrees_with_judge, flagged, "
            "note, judgment_id, reviewer) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (instruction_id, model) DO UPDATE SET rating = excluded.rating, "
            "agrees_with_judge = excluded.agrees_with_judge, flagged = excluded.flagged, "
            "note = excluded.note, judgment_id = excluded.judgment_id, "
            "reviewer = excluded.reviewer, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            (
                instruction_id,
                model,
                merged["rating"],
                int(merged["agrees_with_judge"]),
                int(merged["flagged"]),
                merged["note"],
                merged["judgment_id"],
                current_reviewer(),
            ),
        )
    return before


def restore_review(
    store: Store, instruction_id: int, model: str, before: dict[str, Any] | None
) -> None:
    """Put a review back as it was (None: there was none)."""
    if before is None:
        store.write(
            "DELETE FROM reviews WHERE instruction_id = ? AND model = ?", (instruction_id, model)
        )
    else:
        write_review(store, instruction_id, model, **before)
