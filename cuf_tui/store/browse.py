"""Reads for the workbench: the filtered queue as ids, pages of short rows, one instruction in
full, the CODAL-Bench table and the jobs. Nothing here loads every instruction's text."""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any, Final

from cuf_tui.store.db import Store
from cuf_tui.store.grades import ANSWER_PROTOCOL, GRADING
from cuf_tui.store.search import index_is_stale, refresh_search_index
from cuf_tui.store.stored import stored_names

STATUSES: Final = ("all", "needs review", "unjudged", "unparsed", "pending", "failed", "flagged")
HEAD_CHARS = 160

# The judgment an instruction shows (in the detail, the queue's marks and the filters alike):
# the primary judge's (:judge) when it has a readable or unreadable one, a readable one before
# an unreadable one, the latest first.
_SHOWN_ORDER = (
    "ORDER BY j.judge IS :judge DESC, j.state = 'done' DESC, j.finished_at DESC, j.id DESC"
)


def _shown(column: str) -> str:
    """A column of the judgment instruction ``i`` shows, as an SQL expression."""
    return (
        f"(SELECT j.{column} FROM judgments j WHERE j.instruction_id = i.id "
        f"AND j.state IN ('done', 'unparsed') {_SHOWN_ORDER} LIMIT 1)"
    )


SHOWN_STATE = _shown("state")
SHOWN_JUDGMENT = _shown("id")

_STATUS_SQL: Final[dict[str, str]] = {
    "all": "1",
    "pending": "(i.models = '[]' OR EXISTS (SELECT 1 FROM json_each(i.models) m WHERE NOT EXISTS "
    "(SELECT 1 FROM responses r WHERE r.instruction_id = i.id AND r.model = m.value "
    "AND r.state = 'done')))",
    "failed": "EXISTS (SELECT 1 FROM responses r WHERE r.instruction_id = i.id "
    "AND r.state = 'failed')",
    "unjudged": f"{SHOWN_STATE} IS NULL",
    "unparsed": f"{SHOWN_STATE} = 'unparsed'",
    "flagged": "EXISTS (SELECT 1 FROM reviews v WHERE v.instruction_id = i.id AND v.flagged)",
}
# A review by the reviewer at the keyboard (:reviewer; None: by anyone).
_BY_REVIEWER = "(:reviewer IS NULL OR v.reviewer = :reviewer)"
# Needs review: the judgment on show is unparsed; or it is read and some response has no
# review yet (a review counts once it gives a rating or agrees with the judge; a flag or a
# note alone does not); or a reviewer's rating differs from the judgment's.
_STATUS_SQL["needs review"] = (
    f"({SHOWN_STATE} = 'unparsed' OR ({SHOWN_STATE} = 'done' AND EXISTS (SELECT 1 FROM "
    "json_each(i.models) m WHERE NOT EXISTS (SELECT 1 FROM reviews v WHERE "
    "v.instruction_id = i.id AND v.model = m.value AND (v.rating IS NOT NULL OR "
    f"v.agrees_with_judge) AND {_BY_REVIEWER}))) OR EXISTS (SELECT 1 FROM reviews v "
    f"JOIN judgment_ratings jr ON jr.judgment_id = {SHOWN_JUDGMENT} AND jr.model = v.model "
    f"WHERE v.instruction_id = i.id AND v.rating IS NOT NULL AND jr.rating IS NOT v.rating "
    f"AND {_BY_REVIEWER}))"
)


@dataclass(frozen=True)
class QueueFilter:
    preference: str | None = None
    status: str = "all"
    model: str | None = None
    search: str = ""

    def describe(self) -> str:
        parts = [self.preference or "all preferences", self.status]
        if self.model:
            parts.append(f"model {self.model}")
        if self.search:
            parts.append(f"/{self.search}")
        return " · ".join(parts)


@dataclass(frozen=True)
class QueueRow:
    id: int
    preference: str
    head: str  # the first line of the text, shortened
    assigned: int
    done: int
    failed: int
    judged: str  # "done", "unparsed" or ""
    reviewed: int
    flagged: int
    cut_off: int  # responses cut off at max_tokens


SEARCH_INDEX_CHARS = 3  # the trigram index answers searches this long or longer


def queue_ids(
    store: Store,
    chosen: QueueFilter,
    limit: int | None = None,
    judge: str | None = None,
    reviewer: str | None = None,
) -> list[int]:
    """The ids of the instructions the filter keeps, in queue order; with ``limit``, the
    first ones only (a search shows them before it has counted every match). ``judge``: the
    primary judge, whose judgment an instruction shows when it has one; ``reviewer``: whose
    reviews count for "needs review" (None: anyone's)."""
    where = [_STATUS_SQL[chosen.status]]
    params: dict[str, Any] = {"judge": judge, "reviewer": reviewer}
    if chosen.preference:
        where.append("i.preference = :preference")
        params["preference"] = chosen.preference
    if chosen.model:
        where.append("EXISTS (SELECT 1 FROM json_each(i.models) m WHERE m.value = :model)")
        params["model"] = chosen.model
    search = searched_text(chosen.search)
    source, order = "instructions i", "i.id"
    if len(search) >= SEARCH_INDEX_CHARS:
        # The index, read in id order: the first matches come without reading the rest.
        source = "instruction_search s JOIN instructions i ON i.id = s.rowid"
        order = "s.rowid"  # the index's own order (by i.id, SQLite would sort every match)
        where.insert(0, "instruction_search MATCH :search")
        params["search"] = '"' + search.replace('"', '""') + '"'
    elif search:  # too short for trigrams: every document is read, folded as the index folds
        where.append(
            "i.id IN (SELECT rowid FROM instruction_search WHERE contains_folded(body, :search))"
        )
        params["search"] = search.lower()
    sql = f"SELECT i.id FROM {source} WHERE {' AND '.join(where)} ORDER BY {order}"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return [row[0] for row in store.db.execute(sql, params)]


def first_matches(
    store: Store,
    chosen: QueueFilter,
    first: int,
    budget_s: float,
    judge: str | None = None,
    reviewer: str | None = None,
) -> list[int] | None:
    """The first ``first`` ids ``chosen`` keeps, or None when reading them would take
    longer than ``budget_s`` (the read stops there): a screen may wait that long, not more."""
    conn = store.db.conn
    if chosen.search and index_is_stale(conn):
        return None  # the index must be brought up to date first: a write, not for a screen
    deadline = time.perf_counter() + budget_s
    conn.set_progress_handler(lambda: time.perf_counter() > deadline, 1000)
    try:
        return queue_ids(store, chosen, limit=first, judge=judge, reviewer=reviewer)
    except sqlite3.OperationalError as err:
        if "interrupted" in str(err):
            return None
        raise
    finally:
        conn.set_progress_handler(None, 0)


def bring_index_up_to_date(store: Store) -> None:
    """Before a search: the documents of instructions written by a program that did not
    make them again itself."""
    if index_is_stale(store.db.conn):
        with store.transaction():
            refresh_search_index(store.db.conn)


def searched_text(search: str) -> str:
    """The text a search looks for: a NUL cannot be part of a match (SQLite ends a pattern
    there)."""
    return search.replace("\x00", "")


def changes_seen(store: Store) -> int:
    """A number that changes whenever another connection (a worker) commits."""
    return int(store.scalar("PRAGMA data_version"))


def queue_rows(
    store: Store, ids: list[int], judge: str | None = None, reviewer: str | None = None
) -> dict[int, QueueRow]:
    """Short rows for a page of the queue (``judge`` and ``reviewer`` as for queue_ids; a
    flag by any reviewer marks the row)."""
    if not ids:
        return {}
    marks = ",".join(f":id{n}" for n in range(len(ids)))
    rows = store.db.execute(
        f"SELECT i.id, i.preference, substr(i.text, 1, {HEAD_CHARS}), "
        "json_array_length(i.models), "
        "(SELECT count(*) FROM responses r WHERE r.instruction_id = i.id AND r.state = 'done'), "
        "(SELECT count(*) FROM responses r WHERE r.instruction_id = i.id AND r.state = 'failed'), "
        f"{SHOWN_STATE}, "
        f"(SELECT count(*) FROM reviews v WHERE v.instruction_id = i.id AND {_BY_REVIEWER}), "
        "(SELECT count(*) FROM reviews v WHERE v.instruction_id = i.id AND v.flagged), "
        "(SELECT count(*) FROM responses r WHERE r.instruction_id = i.id "
        "AND r.finish_reason = 'length') "
        f"FROM instructions i WHERE i.id IN ({marks})",
        {"judge": judge, "reviewer": reviewer, **{f"id{n}": id_ for n, id_ in enumerate(ids)}},
    )
    found = {}
    for row in rows:
        head = row[2].strip().split("\n", 1)[0]
        found[row[0]] = QueueRow(
            row[0], row[1], head, row[3], row[4], row[5], row[6] or "", row[7], row[8], row[9]
        )
    return found


@dataclass
class ResponseView:
    model: str
    state: str  # done, failed, pending
    text: str = ""
    error: str = ""
    principle: str = ""
    finish_reason: str = ""  # why the engine stopped: "length" is cut off at max_tokens
    rating: int | None = None  # the judge's
    rationale: str = ""
    position_shown: int | None = None
    human_rating: int | None = None  # the reviewer's at the keyboard
    agrees: bool = False
    flagged: bool = False  # by this reviewer
    note: str = ""
    flagged_by: list[str] = field(default_factory=list)  # every reviewer who flagged it
    # Every other judge's rating and every other reviewer's, by name (None: no rating).
    other_judges: dict[str, int | None] = field(default_factory=dict)
    other_reviewers: dict[str, int | None] = field(default_factory=dict)


@dataclass
class JudgmentView:
    id: int
    judge: str
    template_sha256: str
    state: str
    order_shown: list[str] | None  # None: the stored order cannot be read
    raw_output: str
    error: str
    repaired: bool


@dataclass
class InstructionView:
    id: int
    text: str
    preference: str
    source: str
    responses: list[ResponseView] = field(default_factory=list)
    judgment: JudgmentView | None = None
    judges: list[str] = field(default_factory=list)


def instruction_view(
    store: Store, instruction_id: int, judge: str | None = None, reviewer: str | None = None
) -> InstructionView | None:
    """One instruction in full: its responses, the judgment to show, the reviews of
    ``reviewer`` (None: the latest review of each response, whoever made it), and every
    other judge's and reviewer's rating beside."""
    row = store.db.execute(
        "SELECT id, text, preference, source, models FROM instructions WHERE id = ?",
        (instruction_id,),
    ).fetchone()
    if row is None:
        return None
    view = InstructionView(row[0], row[1], row[2], row[3])
    models = stored_names(row[4]) or []  # damaged: the stored responses still show
    responses: dict[str, ResponseView] = {m: ResponseView(m, "pending") for m in models}
    for model, state, text, error, principle, finish_reason in store.db.execute(
        "SELECT model, state, text, error, principle, finish_reason FROM responses "
        "WHERE instruction_id = ? ORDER BY id",
        (instruction_id,),
    ):
        responses[model] = ResponseView(
            model, state, text or "", error or "", principle or "", finish_reason or ""
        )
    judgments = store.query(
        "SELECT id, judge, template_sha256, state, order_shown, raw_output, error, repaired "
        "FROM judgments j WHERE instruction_id = :instruction "
        f"ORDER BY state IN ('done', 'unparsed') DESC, {_SHOWN_ORDER.removeprefix('ORDER BY ')}",
        {"instruction": instruction_id, "judge": judge},
    )
    view.judges = sorted({j["judge"] for j in judgments})
    if judgments:
        j = judgments[0]
        view.judgment = JudgmentView(
            j["id"],
            j["judge"],
            j["template_sha256"],
            j["state"],
            stored_names(j["order_shown"]),
            j["raw_output"] or "",
            j["error"] or "",
            bool(j["repaired"]),
        )
        for model, position, rating, rationale in store.db.execute(
            "SELECT model, position_shown, rating, rationale FROM judgment_ratings "
            "WHERE judgment_id = ?",
            (j["id"],),
        ):
            target = responses.setdefault(model, ResponseView(model, "pending"))
            target.rating, target.rationale, target.position_shown = rating, rationale, position
    shown_id = view.judgment.id if view.judgment is not None else None
    for judgment_id, other, model, rating in store.db.execute(
        "SELECT j.id, j.judge, jr.model, jr.rating FROM judgments j JOIN judgment_ratings jr "
        "ON jr.judgment_id = j.id WHERE j.instruction_id = ? AND j.state = 'done' "
        "ORDER BY j.finished_at, j.id",
        (instruction_id,),
    ):
        if judgment_id != shown_id and model in responses:
            responses[model].other_judges[other] = rating  # the latest of each judge
    seen: set[str] = set()
    for model, who, rating, agrees, flagged, note in store.db.execute(
        "SELECT model, reviewer, rating, agrees_with_judge, flagged, note FROM reviews "
        "WHERE instruction_id = ? ORDER BY reviewer IS ? DESC, updated_at DESC, id DESC",
        (instruction_id, reviewer),
    ):
        target = responses.setdefault(model, ResponseView(model, "pending"))
        if flagged:
            target.flagged_by.append(who)
        if model not in seen and (reviewer is None or who == reviewer):
            seen.add(model)
            target.human_rating, target.agrees = rating, bool(agrees)
            target.flagged, target.note = bool(flagged), note or ""
        elif rating is not None:
            target.other_reviewers[who] = rating
    view.responses = list(responses.values())
    return view


def pool_models(store: Store) -> list[str]:
    return [
        row[0]
        for row in store.db.execute(
            "SELECT DISTINCT m.value FROM instructions i, json_each(i.models) m ORDER BY 1"
        )
    ]


def bench_grades(
    store: Store,
    model: str,
    protocol: str,
    grading: str,
    judge: str,
    reference_model: str,
    preference: str | None,
) -> list[dict[str, Any]]:
    """The grades behind one leaderboard cell, with the answer and the reference beside."""
    return store.query(
        "SELECT g.id AS grade_id, b.text AS instruction, b.preference, a.text AS answer, "
        "r.text AS reference, g.rating, g.rationale, g.state, g.raw_output FROM bench_grades g "
        "JOIN bench_answers a ON a.id = g.bench_answer_id "
        "JOIN bench_items b ON b.id = a.bench_item_id "
        "LEFT JOIN bench_references r ON r.bench_item_id = b.id AND r.model = g.reference_model "
        f"WHERE a.model = ? AND {ANSWER_PROTOCOL} = ? AND {GRADING} = ? AND g.judge = ? "
        "AND g.reference_model = ? AND g.state IN ('done', 'unparsed') "
        "AND (? IS NULL OR b.preference = ?) ORDER BY b.id",
        (model, protocol, grading, judge, reference_model, preference, preference),
    )
