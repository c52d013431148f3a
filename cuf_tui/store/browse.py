"""Reads for the workbench: the filtered queue as ids, pages of short rows, one instruction in
full, the CODAL-Bench table and the jobs. Nothing here loads every instruction's text."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from cuf_tui.store.db import Store
from cuf_tui.store.grades import ANSWER_PROTOCOL, GRADING

STATUSES: Final = ("all", "needs review", "unjudged", "unparsed", "pending", "failed", "flagged")
HEAD_CHARS = 160

_STATUS_SQL: Final[dict[str, str]] = {
    "all": "1",
    "pending": "(i.models = '[]' OR EXISTS (SELECT 1 FROM json_each(i.models) m WHERE NOT EXISTS "
    "(SELECT 1 FROM responses r WHERE r.instruction_id = i.id AND r.model = m.value "
    "AND r.state = 'done')))",
    "failed": "EXISTS (SELECT 1 FROM responses r WHERE r.instruction_id = i.id "
    "AND r.state = 'failed')",
    "unjudged": "NOT EXISTS (SELECT 1 FROM judgments j WHERE j.instruction_id = i.id "
    "AND j.state IN ('done', 'unparsed'))",
    "unparsed": "(EXISTS (SELECT 1 FROM judgments j WHERE j.instruction_id = i.id AND "
    "j.state = 'unparsed') AND NOT EXISTS (SELECT 1 FROM judgments j WHERE "
    "j.instruction_id = i.id AND j.state = 'done'))",
    "flagged": "EXISTS (SELECT 1 FROM reviews v WHERE v.instruction_id = i.id AND v.flagged)",
}
# Needs review: unparsed; judged with a response nobody has reviewed yet (a review counts once
# it gives a rating or agrees with the judge; a flag or a note alone does not); or a reviewer's
# rating that differs from the judge's.
_STATUS_SQL["needs review"] = (
    f"({_STATUS_SQL['unparsed']} OR (EXISTS (SELECT 1 FROM judgments j WHERE "
    "j.instruction_id = i.id AND j.state = 'done') AND EXISTS (SELECT 1 FROM json_each(i.models) "
    "m WHERE NOT EXISTS (SELECT 1 FROM reviews v WHERE v.instruction_id = i.id AND "
    "v.model = m.value AND (v.rating IS NOT NULL OR v.agrees_with_judge)))) OR EXISTS (SELECT 1 "
    "FROM reviews v JOIN judgments j ON j.instruction_id = v.instruction_id AND j.state = 'done' "
    "JOIN judgment_ratings jr ON jr.judgment_id = j.id AND jr.model = v.model WHERE "
    "v.instruction_id = i.id AND v.rating IS NOT NULL AND jr.rating IS NOT v.rating))"
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


def queue_ids(store: Store, chosen: QueueFilter) -> list[int]:
    """The ids of the instructions the filter keeps, in queue order."""
    where = [_STATUS_SQL[chosen.status]]
    params: list[Any] = []
    if chosen.preference:
        where.append("i.preference = ?")
        params.append(chosen.preference)
    if chosen.model:
        where.append("EXISTS (SELECT 1 FROM json_each(i.models) m WHERE m.value = ?)")
        params.append(chosen.model)
    search = chosen.search.replace("\x00", "")  # LIKE would stop reading the pattern there
    if search:
        # The instruction, its responses and the judge's rationales: LIKE (fast, folding
        # ASCII case) for a plain word, a folding function beyond ASCII.
        if search.isascii():
            match = "{} LIKE ? ESCAPE '\\'"
            escaped = search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            needle = f"%{escaped}%"
        else:
            match = "contains_folded({}, ?)"
            needle = search.casefold()
        where.append(
            f"({match.format('i.text')} OR EXISTS (SELECT 1 FROM responses r "
            f"WHERE r.instruction_id = i.id AND {match.format('r.text')}) OR EXISTS (SELECT 1 "
            "FROM judgments j JOIN judgment_ratings jr ON jr.judgment_id = j.id "
            f"WHERE j.instruction_id = i.id AND {match.format('jr.rationale')}))"
        )
        params += [needle, needle, needle]
    sql = f"SELECT i.id FROM instructions i WHERE {' AND '.join(where)} ORDER BY i.id"
    return [row[0] for row in store.db.execute(sql, params)]


def changes_seen(store: Store) -> int:
    """A number that changes whenever another connection (a worker) commits."""
    return int(store.scalar("PRAGMA data_version"))


def queue_rows(store: Store, ids: list[int]) -> dict[int, QueueRow]:
    """Short rows for a page of the queue."""
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    rows = store.db.execute(
        f"SELECT i.id, i.preference, substr(i.text, 1, {HEAD_CHARS}), "
        "json_array_length(i.models), "
        "(SELECT count(*) FROM responses r WHERE r.instruction_id = i.id AND r.state = 'done'), "
        "(SELECT count(*) FROM responses r WHERE r.instruction_id = i.id AND r.state = 'failed'), "
        "(SELECT min(j.state) FROM judgments j WHERE j.instruction_id = i.id "
        "AND j.state IN ('done', 'unparsed')), "
        "(SELECT count(*) FROM reviews v WHERE v.instruction_id = i.id), "
        "(SELECT count(*) FROM reviews v WHERE v.instruction_id = i.id AND v.flagged), "
        "(SELECT count(*) FROM responses r WHERE r.instruction_id = i.id "
        "AND r.finish_reason = 'length') "
        f"FROM instructions i WHERE i.id IN ({marks})",
        ids,
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
    human_rating: int | None = None
    agrees: bool = False
    flagged: bool = False
    note: str = ""


@dataclass
class JudgmentView:
    id: int
    judge: str
    template_sha256: str
    state: str
    order_shown: list[str]
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
    store: Store, instruction_id: int, judge: str | None = None
) -> InstructionView | None:
    """One instruction in full: its responses, the judgment to show and the reviews."""
    row = store.db.execute(
        "SELECT id, text, preference, source, models FROM instructions WHERE id = ?",
        (instruction_id,),
    ).fetchone()
    if row is None:
        return None
    view = InstructionView(row[0], row[1], row[2], row[3])
    responses: dict[str, ResponseView] = {m: ResponseView(m, "pending") for m in json.loads(row[4])}
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
        "FROM judgments WHERE instruction_id = ? ORDER BY judge = ? DESC, state = 'done' DESC, "
        "finished_at DESC, id DESC",
        (instruction_id, judge or ""),
    )
    view.judges = sorted({j["judge"] for j in judgments})
    if judgments:
        j = judgments[0]
        view.judgment = JudgmentView(
            j["id"],
            j["judge"],
            j["template_sha256"],
            j["state"],
            json.loads(j["order_shown"]),
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
    for model, rating, agrees, flagged, note in store.db.execute(
        "SELECT model, rating, agrees_with_judge, flagged, note FROM reviews "
        "WHERE instruction_id = ?",
        (instruction_id,),
    ):
        target = responses.setdefault(model, ResponseView(model, "pending"))
        target.human_rating, target.agrees = rating, bool(agrees)
        target.flagged, target.note = bool(flagged), note or ""
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
