"""Counts of what the store holds, by preference, model and judge, for `cuf-tui stats`."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from cuf_tui.core.preferences import PREFERENCES
from cuf_tui.store.db import Store


@dataclass
class WorkCounts:
    """One line of a stats table: how far the work on a preference or a model has got."""

    instructions: int = 0
    unassigned: int = 0  # instructions with no models assigned yet
    pending: int = 0  # assigned responses not yet generated
    done: int = 0
    truncated: int = 0  # of the done: cut off at max_tokens (finish_reason 'length')
    failed: int = 0
    judged: int = 0  # parsed judgments
    unparsed: int = 0
    reviewed: int = 0
    flagged: int = 0
    mean_rating: float | None = None


@dataclass
class JudgeCounts:
    done: int = 0
    unparsed: int = 0
    failed: int = 0
    no_rating: int = 0  # responses the judge gave N/A in parsed judgments
    mean_rating: float | None = None


@dataclass
class Stats:
    by_preference: dict[str, WorkCounts] = field(default_factory=dict)
    by_model: dict[str, WorkCounts] = field(default_factory=dict)
    by_judge: dict[str, JudgeCounts] = field(default_factory=dict)
    bench_items: dict[str, int] = field(default_factory=dict)
    bench_references: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect_stats(store: Store) -> Stats:
    stats = Stats()
    prefs: dict[str, WorkCounts] = {p: WorkCounts() for p in PREFERENCES}
    models: dict[str, WorkCounts] = defaultdict(WorkCounts)
    q = store.db.execute

    for pref, total, unassigned in q(
        "SELECT preference, count(*), sum(models = '[]') FROM instructions GROUP BY preference"
    ):
        prefs[pref].instructions, prefs[pref].unassigned = total, unassigned
    for pref, model, pending in q(
        "SELECT i.preference, m.value, count(*) FROM instructions i, json_each(i.models) m "
        "WHERE NOT EXISTS (SELECT 1 FROM responses r WHERE r.instruction_id = i.id "
        "AND r.model = m.value) GROUP BY 1, 2"
    ):
        prefs[pref].pending += pending
        models[model].pending += pending
    for pref, model, state, count in q(
        "SELECT i.preference, r.model, r.state, count(*) FROM responses r "
        "JOIN instructions i ON i.id = r.instruction_id GROUP BY 1, 2, 3"
    ):
        for counts in (prefs[pref], models[model]):
            setattr(counts, state, getattr(counts, state) + count)
    for pref, model, truncated in q(
        "SELECT i.preference, r.model, count(*) FROM responses r "
        "JOIN instructions i ON i.id = r.instruction_id "
        "WHERE r.state = 'done' AND r.finish_reason = 'length' GROUP BY 1, 2"
    ):
        prefs[pref].truncated += truncated
        models[model].truncated += truncated
    for model, instructions in q(
        "SELECT m.value, count(*) FROM instructions i, json_each(i.models) m GROUP BY 1"
    ):
        models[model].instructions += instructions
    # An instruction counts as judged when some judge parsed it, unparsed when none did.
    for pref, judged, unparsed in q(
        "SELECT i.preference, sum(best = 'done'), sum(best = 'unparsed') FROM instructions i "
        "JOIN (SELECT instruction_id, min(state) AS best FROM judgments "
        "WHERE state IN ('done', 'unparsed') GROUP BY instruction_id) j "
        "ON j.instruction_id = i.id GROUP BY 1"
    ):
        prefs[pref].judged, prefs[pref].unparsed = judged, unparsed
    for model, judged, mean in q(
        "SELECT jr.model, count(DISTINCT j.instruction_id), avg(jr.rating) "
        "FROM judgment_ratings jr JOIN judgments j ON j.id = jr.judgment_id "
        "WHERE j.state = 'done' GROUP BY 1"
    ):
        models[model].judged, models[model].mean_rating = judged, mean
    for pref, mean in q(
        "SELECT i.preference, avg(jr.rating) FROM judgment_ratings jr "
        "JOIN judgments j ON j.id = jr.judgment_id JOIN instructions i ON i.id = j.instruction_id "
        "WHERE j.state = 'done' GROUP BY 1"
    ):
        prefs[pref].mean_rating = mean
    for model, reviewed, flagged in q(
        "SELECT model, count(*), sum(flagged) FROM reviews GROUP BY 1"
    ):
        models[model].reviewed += reviewed
        models[model].flagged += flagged
    for pref, reviewed, flagged in q(
        "SELECT i.preference, count(DISTINCT r.instruction_id), "
        "count(DISTINCT CASE WHEN r.flagged THEN r.instruction_id END) FROM reviews r "
        "JOIN instructions i ON i.id = r.instruction_id GROUP BY 1"
    ):
        prefs[pref].reviewed, prefs[pref].flagged = reviewed, flagged

    judges: dict[str, JudgeCounts] = defaultdict(JudgeCounts)
    for judge, state, count in q("SELECT judge, state, count(*) FROM judgments GROUP BY 1, 2"):
        setattr(judges[judge], state, count)
    for judge, no_rating, mean in q(
        "SELECT j.judge, sum(jr.rating IS NULL), avg(jr.rating) FROM judgment_ratings jr "
        "JOIN judgments j ON j.id = jr.judgment_id WHERE j.state = 'done' GROUP BY 1"
    ):
        judges[judge].no_rating, judges[judge].mean_rating = no_rating, mean

    stats.by_preference = prefs
    stats.by_model = dict(sorted(models.items()))
    stats.by_judge = dict(sorted(judges.items()))
    stats.bench_items = {str(p): 0 for p in PREFERENCES} | dict(
        q("SELECT preference, count(*) FROM bench_items GROUP BY 1").fetchall()
    )
    stats.bench_references = dict(
        q("SELECT model, count(*) FROM bench_references GROUP BY 1 ORDER BY 1").fetchall()
    )
    return stats
