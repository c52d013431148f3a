"""The workbench's service between its screens and the store: what the queue shows, one
instruction, reviews and their undo with the rules they follow, jobs, bench grades and
batches. It knows nothing of Textual; the screens know nothing of SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from cuf_tui.core.preferences import PREFERENCES
from cuf_tui.store import browse, queries
from cuf_tui.store.browse import InstructionView, QueueFilter, QueueRow, ResponseView
from cuf_tui.store.reviews import (
    ReviewChanged,
    current_reviewer,
    restore_review,
    review_of,
    write_review,
)
from cuf_tui.workspace import Workspace

if TYPE_CHECKING:
    from cuf_tui.analysis.agreement import Agreement
    from cuf_tui.analysis.leaderboard import LeaderboardRow
    from cuf_tui.analysis.trust import JudgeTrust
    from cuf_tui.store.jobs import JobRow
from cuf_tui.store.db import Store, StoreLocked

ALL_MODELS = "\x00all"  # the model picker's "all models" (no model is named so)


class Refused(Exception):
    """A review the rules do not allow; nothing is written and the message says why."""


@dataclass(frozen=True)
class Review:
    """A change to one response's review, and what it is in the reviewer's words."""

    what: str
    changes: dict[str, Any]


@dataclass(frozen=True)
class Undone:
    instruction_id: int
    model: str


def open_for_review(workspace: Workspace, write_wait_ms: int) -> Store:
    """The workspace's store, whose writes wait at most ``write_wait_ms`` for another
    program's lock (the wait is on the screen's thread: past it a key says "not saved")."""
    return workspace.open_store(busy_timeout_ms=write_wait_ms)


class Workbench:
    """One workspace as the workbench sees it: reads, reviews (with their undo) and jobs."""

    def __init__(self, workspace: Workspace, store: Store, reviewer: str | None = None) -> None:
        self.workspace = workspace
        self.store = store
        self.reviewer = current_reviewer(reviewer)
        # (instruction, model, the review before, the review the change made)
        self.undo_stack: list[tuple[int, str, dict[str, Any] | None, dict[str, Any] | None]] = []
        self.judge_on_show: str | None = None  # None: the first [[judges]] entry
        self.reviews_written = 0  # by this workbench (its own commits change no data_version)

    @property
    def name(self) -> str:
        return self.workspace.config.workspace.name

    # ------------------------------------------------------------------------ the queue

    @property
    def primary_judge(self) -> str | None:
        """The judge whose judgment an instruction shows when it has one: the one chosen
        with `v`, else the first [[judges]] entry."""
        if self.judge_on_show is not None:
            return self.judge_on_show
        judge = self.workspace.config.default_judge
        return judge.name if judge else None

    def judges(self) -> list[str]:
        """The judges one can show: those configured, then those only the store knows."""
        configured = [entry.name for entry in self.workspace.config.judges]
        stored = [name for name in queries.judge_names(self.store) if name not in configured]
        return configured + stored

    def next_judge(self) -> str | None:
        """Show the next judge's judgments (around to the first); None: no judge at all."""
        judges = self.judges()
        if not judges:
            return None
        current = self.primary_judge
        at = judges.index(current) if current in judges else -1
        self.judge_on_show = judges[(at + 1) % len(judges)]
        return self.judge_on_show

    def queue_ids(self, chosen: QueueFilter) -> list[int]:
        if chosen.search:
            # Documents another program's writes left stale (a shell, a script) are made
            # first; normally there are none, and a store too busy to wait for keeps them.
            with suppress(StoreLocked):
                browse.bring_index_up_to_date(self.store)
        return browse.queue_ids(
            self.store, chosen, judge=self.primary_judge, reviewer=self.reviewer
        )

    def first_matches(self, chosen: QueueFilter, first: int, budget_s: float) -> list[int] | None:
        """The first ids ``chosen`` keeps, if the store gives them within ``budget_s``."""
        return browse.first_matches(
            self.store, chosen, first, budget_s, self.primary_judge, self.reviewer
        )

    def search_apart(self, chosen: QueueFilter, first: int) -> Iterator[tuple[list[int], bool]]:
        """The ids ``chosen`` keeps, on a connection of its own, for a thread (a search):
        the first ``first`` of them (none when ``first`` is 0), then, when there are more,
        all of them (``True`` once they are complete)."""
        with self.workspace.open_store() as store:
            if chosen.search:
                browse.bring_index_up_to_date(store)
            if first:
                ids = browse.queue_ids(
                    store, chosen, limit=first, judge=self.primary_judge, reviewer=self.reviewer
                )
                if len(ids) < first:
                    yield ids, True
                    return
                yield ids, False
            yield (
                browse.queue_ids(store, chosen, judge=self.primary_judge, reviewer=self.reviewer),
                True,
            )

    def queue_rows(self, ids: list[int]) -> dict[int, QueueRow]:
        """The short rows of these instructions, as the queue lists them."""
        return browse.queue_rows(self.store, ids, self.primary_judge, self.reviewer)

    def instruction_count(self) -> int:
        return queries.instruction_count(self.store)

    def transcript(self, view: InstructionView, response: ResponseView) -> str:
        """Every request behind what is on show: the selected response's, then the
        judgment's (messages, parameters, reply, and what the store recorded of each)."""
        from cuf_tui.prompts import load_prompts
        from cuf_tui.prompts.transcript import judgment_transcript, response_transcript

        prompts = load_prompts(self.workspace.root)
        parts = [
            response_transcript(self.store, prompts, view.id, response.model)
            or f"{response.model} has not answered instruction #{view.id}: no request yet."
        ]
        if view.judgment is not None:
            judged = judgment_transcript(self.store, prompts, view.judgment.id)
            if judged:
                parts.append(judged)
        return "\n\n\n".join(parts)

    def grade_transcripts(self, grade_ids: list[int]) -> str:
        """Every request behind these CODAL-Bench grades (an answer's, then its grade's)."""
        from cuf_tui.prompts import load_prompts
        from cuf_tui.prompts.transcript import grade_transcript

        prompts = load_prompts(self.workspace.root)
        parts = [grade_transcript(self.store, prompts, grade_id) for grade_id in grade_ids]
        return "\n\n\n".join(part for part in parts if part)

    def nothing_in_the_queue(self, total: int) -> str:
        """Why the queue is empty: nothing matches the filter, or the workspace holds no
        instruction at all (perhaps only a bench)."""
        if total:
            return "No instruction matches the filter (p, s, m and / change it)."
        bench = queries.table_counts(self.store)["bench_items"]
        there = (
            f" It holds {bench:,} CODAL-Bench items: F3 shows their scores, B runs the bench."
            if bench
            else ""
        )
        return (
            f"This workspace holds no instructions yet.{there} "
            "Import some with `cuf-tui import FILE`."
        )

    def changes_seen(self) -> int:
        """A number that changes whenever another connection commits."""
        return browse.changes_seen(self.store)

    def instruction(self, instruction_id: int) -> InstructionView | None:
        """One instruction in full, with the default judge's judgment when it has one."""
        return browse.instruction_view(
            self.store, instruction_id, self.primary_judge, self.reviewer
        )

    def next_filter(self, current: QueueFilter, which: str) -> QueueFilter:
        """``current`` with its ``which`` ("preference", "status" or "model") moved to the
        next value."""
        if which == "preference":
            preferences: list[str | None] = [None, *PREFERENCES]
            value = preferences[(preferences.index(current.preference) + 1) % len(preferences)]
            return replace(current, preference=value)
        if which == "status":
            statuses = list(browse.STATUSES)
            status = statuses[(statuses.index(current.status) + 1) % len(statuses)]
            return replace(current, status=status)
        models: list[str | None] = [None, *browse.pool_models(self.store)]
        index = models.index(current.model) if current.model in models else 0
        model = models[(index + 1) % len(models)]
        return replace(current, model=model)

    def filter_choices(self, which: str) -> list[tuple[str, str]]:
        """What a filter can be set to ("status" or "model"), as (value, label); the value
        ALL_MODELS is no model filter."""
        if which == "status":
            return [(status, status) for status in browse.STATUSES]
        return [(ALL_MODELS, "all models"), *((m, m) for m in browse.pool_models(self.store))]

    @staticmethod
    def with_filter(current: QueueFilter, which: str, value: str) -> QueueFilter:
        """``current`` with its ``which`` set to ``value`` (from ``filter_choices``)."""
        if which == "status":
            return replace(current, status=value)
        model = None if value == ALL_MODELS else value
        return replace(current, model=model)

    def next_needing_review(
        self, base: QueueFilter, current: int | None, direction: int
    ) -> tuple[int | None, QueueFilter]:
        """The next instruction after ``current`` (``direction`` 1) or before it (-1) that
        needs review under ``base``'s other filters, wrapping around at either end, and the
        filter that lists it."""
        needing = replace(base, status="needs review")
        ids = [i for i in self.queue_ids(needing) if i != current]
        if not ids:
            return None, needing
        if current is not None:
            beyond = [i for i in ids if (i > current if direction > 0 else i < current)]
            ids = beyond or ids  # past the last one: around to the first (and back)
        return (ids[0] if direction > 0 else ids[-1]), needing

    # --------------------------------------------------------------------------- reviews

    @staticmethod
    def rating(response: ResponseView, rating: int) -> Review:
        """The reviewer's own rating: it agrees with the judge when the judge gave the same."""
        _has_text(response)
        return Review(
            f"your rating {rating}",
            {"rating": rating, "agrees_with_judge": int(rating == response.rating)},
        )

    @staticmethod
    def agreement(response: ResponseView) -> Review:
        """Agreeing with the judge takes the judge's rating as the reviewer's."""
        _has_text(response)
        if response.rating is None:
            raise Refused("The judge gave no rating here: rate it yourself with 1-5.")
        return Review("your agreement", {"rating": response.rating, "agrees_with_judge": 1})

    @staticmethod
    def flag(response: ResponseView) -> Review:
        """The flag turned over; any response can be flagged, even one that failed."""
        flag = not response.flagged
        return Review("the flag" if flag else "removing the flag", {"flagged": int(flag)})

    @staticmethod
    def note(note: str) -> Review:
        return Review(f"the note {note!r}" if note else "removing the note", {"note": note or None})

    def save(self, view: InstructionView, response: ResponseView, review: Review) -> None:
        """Write ``review`` of ``response`` (tied to the judgment on show) and keep what it
        replaced for undo. A write the store refuses raises and changes nothing."""
        changes = dict(review.changes)
        if view.judgment is not None:
            changes.setdefault("judgment_id", view.judgment.id)
        before = write_review(self.store, view.id, response.model, self.reviewer, **changes)
        self.reviews_written += 1
        after = review_of(self.store, view.id, response.model, self.reviewer)
        self.undo_stack.append((view.id, response.model, before, after))

    def undo(self) -> Undone | None:
        """Put the last review changed back as it was; None when there is nothing to undo. A
        write the store refuses raises and keeps the review to undo."""
        if not self.undo_stack:
            return None
        instruction_id, model, before, after = self.undo_stack[-1]
        try:
            restore_review(self.store, instruction_id, model, self.reviewer, before, after)
        except ReviewChanged:
            self.undo_stack.pop()  # nothing of ours left to undo there
            raise
        self.reviews_written += 1
        self.undo_stack.pop()
        return Undone(instruction_id, model)

    # --------------------------------------------------------------------- judge trust

    def ratings_version(self) -> tuple[int, int]:
        """A value that changes whenever a rating may have: another program's commit, or a
        review written here."""
        return self.changes_seen(), self.reviews_written

    def judge_trust(
        self, judge: str | None, intervals: bool = True, agreement: Agreement | None = None
    ) -> JudgeTrust:
        """Agreement, disagreements, ``judge``'s probes and warnings (for a thread: it reads
        on a connection of its own); without ``intervals``, in a fraction of the time; with
        ``agreement``, that of the same ratings measured before."""
        from cuf_tui.analysis.trust import PANE_RESAMPLES, judge_trust

        with self.workspace.open_store() as store:
            return judge_trust(
                store,
                self.workspace.config,
                judge,
                self.workspace.config.workspace.seed,
                PANE_RESAMPLES if intervals else 0,
                agreement,
            )

    # --------------------------------------------------------------------- jobs, bench

    def jobs(self) -> list[JobRow]:
        from cuf_tui.store.servers import list_jobs_with_servers

        return list_jobs_with_servers(self.store)

    def plan(
        self, kind: str, options: dict[str, Any] | None = None
    ) -> tuple[str, str, dict[str, Any] | None]:
        """Title, summary and job parameters (None: nothing to do) of a batch."""
        from cuf_tui.tui.batch import describe_plan

        return describe_plan(self.workspace, kind, options)

    def bench_choices(self) -> list[tuple[str, str]]:
        from cuf_tui.tui.batch import bench_choices

        return bench_choices(self.workspace)

    def start(self, kind: str, params: dict[str, Any]) -> tuple[int, int]:
        """Start a batch in a detached worker: its job id and the worker's pid."""
        from cuf_tui.jobs.kinds import request_from_params
        from cuf_tui.jobs.launch import detach, prepare_job

        job_id = prepare_job(self.workspace, request_from_params(kind, params))
        pid, _ = detach(self.workspace, job_id)
        return job_id, pid

    def cancel(self, job_id: int) -> str:
        """Stop a job; what was done, in words."""
        from cuf_tui.jobs.launch import cancel_with_batches

        said, left_to_us = cancel_with_batches(self.store, job_id)
        if left_to_us:
            # No worker of the job cancels its remote batches: they are cancelled here, in a
            # thread (requests to the provider); the Jobs pane shows what came of it.
            import threading

            from cuf_tui.jobs.remote import cancel_abandoned

            threading.Thread(
                target=cancel_abandoned,
                args=(self.workspace, job_id),
                name=f"cancel-remote-{job_id}",
                daemon=True,
            ).start()
        return said

    def leaderboard(self) -> list[LeaderboardRow]:
        """The CODAL-Bench table, from a connection of its own: it is computed in a thread
        (bootstrap intervals take a moment on a full bench)."""
        from cuf_tui.analysis.leaderboard import leaderboard
        from cuf_tui.store.grades import gradable_items, grade_rows

        with self.workspace.open_store() as store:
            seed = self.workspace.config.workspace.seed
            return leaderboard(grade_rows(store), gradable_items(store), seed)

    def bench_grades(self, row: LeaderboardRow, preference: str | None) -> list[dict[str, Any]]:
        """The grades behind one cell of the leaderboard."""
        return browse.bench_grades(
            self.store,
            row.model,
            row.protocol,
            row.grading,
            row.judge,
            row.reference_model,
            preference,
        )


def _has_text(response: ResponseView) -> None:
    """A response that failed or is not there yet has no text to rate."""
    if response.state != "done":
        what = "failed" if response.state == "failed" else "is not generated yet"
        raise Refused(
            f"{response.model}'s response {what}: there is nothing to rate (x flags it, "
            "n adds a note)."
        )
