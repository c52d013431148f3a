"""The human side of judging: reviews written at once (crash-safe), kept apart from what the
judge said, one per reviewer, and undoable."""

from __future__ import annotations

from typing import Any

from cuf_tui.errors import CufError
from cuf_tui.store.db import Store

REVIEW_FIELDS = ("rating", "agrees_with_judge", "flagged", "note", "judgment_id")
REVIEWER_ENV = "CUF_TUI_REVIEWER"
UNNAMED_REVIEWER = "unknown"  # a login with no name, and the reviews of older stores


def current_reviewer(named: str | None = None) -> str:
    """Who is reviewing: ``named`` (`--reviewer`), else $CUF_TUI_REVIEWER, else the login
    name ("unknown" when there is none)."""
    import getpass
    import os

    for name in (named, os.environ.get(REVIEWER_ENV)):
        if name and name.strip() and name.strip().isprintable():
            return name.strip()
    try:
        return getpass.getuser() or UNNAMED_REVIEWER
    except (KeyError, OSError):  # a uid with no name in the password database
        return UNNAMED_REVIEWER


def review_of(
    store: Store, instruction_id: int, model: str, reviewer: str
) -> dict[str, Any] | None:
    rows = store.query(
        f"SELECT {', '.join(REVIEW_FIELDS)} FROM reviews WHERE instruction_id = ? AND model = ? "
        "AND reviewer = ?",
        (instruction_id, model, reviewer),
    )
    return rows[0] if rows else None


def write_review(
    store: Store,
    instruction_id: int,
    model: str,
    reviewer: str | None = None,
    **changes: Any,
) -> dict[str, Any] | None:
    """Change ``reviewer``'s review (making it if needed; None: the current reviewer);
    returns the review as it was, for undo."""
    unknown = set(changes) - set(REVIEW_FIELDS)
    if unknown:
        raise ValueError(f"not review fields: {', '.join(sorted(unknown))}")
    reviewer = reviewer or current_reviewer()
    with store.transaction():
        before = review_of(store, instruction_id, model, reviewer)
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
            "ON CONFLICT (instruction_id, model, reviewer) DO UPDATE SET "
            "rating = excluded.rating, agrees_with_judge = excluded.agrees_with_judge, "
            "flagged = excluded.flagged, note = excluded.note, "
            "judgment_id = excluded.judgment_id, source = 'workbench', "
            "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
            (
                instruction_id,
                model,
                merged["rating"],
                int(merged["agrees_with_judge"]),
                int(merged["flagged"]),
                merged["note"],
                merged["judgment_id"],
                reviewer,
            ),
        )
    return before


class ReviewChanged(CufError):
    """A review to undo was changed since by someone else (an import, another workbench)."""


def restore_review(
    store: Store,
    instruction_id: int,
    model: str,
    reviewer: str,
    before: dict[str, Any] | None,
    expected: dict[str, Any] | None = None,
) -> None:
    """Put ``reviewer``'s review back as it was (None: there was none). With ``expected``,
    only while the review is still that (what the change being undone made): a review
    written since by an import or another workbench is never undone in its place."""
    with store.transaction():
        if expected is not None and review_of(store, instruction_id, model, reviewer) != expected:
            raise ReviewChanged(
                f"the review of {model} on #{instruction_id} by {reviewer} was changed since "
                "(an import, or another workbench): it is kept as it is now"
            )
        if before is None:
            store.db.execute(
                "DELETE FROM reviews WHERE instruction_id = ? AND model = ? AND reviewer = ?",
                (instruction_id, model, reviewer),
            )
        else:
            write_review(store, instruction_id, model, reviewer, **before)


def save_imported_review(
    store: Store,
    instruction_id: int,
    model: str,
    reviewer: str,
    rating: int,
    *,
    flagged: bool,
    note: str | None,
    source: str,
) -> None:
    """A rating made elsewhere (`import --format reviews`), replacing ``reviewer``'s own
    review of the response; inside the caller's transaction. It was made against no
    judgment of ours: it neither links to one nor agrees with one."""
    store.db.execute(
        "INSERT INTO reviews (instruction_id, model, reviewer, judgment_id, rating, "
        "agrees_with_judge, flagged, note, source) VALUES (?, ?, ?, NULL, ?, 0, ?, ?, ?) "
        "ON CONFLICT (instruction_id, model, reviewer) DO UPDATE SET "
        "judgment_id = NULL, rating = excluded.rating, agrees_with_judge = 0, "
        "flagged = excluded.flagged, note = excluded.note, source = excluded.source, "
        "updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')",
        (instruction_id, model, reviewer, rating, int(flagged), note, source),
    )
