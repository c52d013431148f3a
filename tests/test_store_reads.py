"""The workbench's reads and the reviews, straight against a real store: what the queue
keeps for a filter, one instruction in full, and reviews written and undone."""

from __future__ import annotations

from pathlib import Path

import pytest

from cuf_tui.store.browse import (
    QueueFilter,
    instruction_view,
    pool_models,
    queue_ids,
    queue_rows,
)
from cuf_tui.store.reviews import current_reviewer, restore_review, review_of, write_review
from cuf_tui.workspace import Workspace, ensure_sample_workspace


@pytest.fixture
def sample(private_home: Path) -> Workspace:
    return ensure_sample_workspace(private_home / "sample-workspace")


def test_the_queue_keeps_what_each_filter_asks_for(sample: Workspace) -> None:
    with sample.open_store() as store:
        everything = queue_ids(store, QueueFilter())
        assert everything == sorted(everything) and len(everything) == 30
        style = queue_ids(store, QueueFilter(preference="style"))
        rows = queue_rows(store, style)
        assert style and all(rows[i].preference == "style" for i in style)
        unparsed = queue_ids(store, QueueFilter(status="unparsed"))
        assert len(unparsed) == 1 and queue_rows(store, unparsed)[unparsed[0]].judged == "unparsed"
        model = pool_models(store)[0]
        with_model = queue_ids(store, QueueFilter(model=model))
        views = [instruction_view(store, i) for i in with_model]
        assert views and all(v and any(r.model == model for r in v.responses) for v in views)
        assert queue_ids(store, QueueFilter(search="chunk(items")) == [1]
        assert queue_ids(store, QueueFilter(search="50%_nothing_like_it")) == []


def test_an_instruction_needs_review_until_each_response_is_reviewed(sample: Workspace) -> None:
    needs = QueueFilter(status="needs review")
    with sample.open_store() as store:
        view = instruction_view(store, 1)
        assert view is not None and 1 in queue_ids(store, needs)
        judged = [r for r in view.responses if r.rating is not None]
        for response in judged[:-1]:
            write_review(store, 1, response.model, rating=response.rating, agrees_with_judge=1)
            assert 1 in queue_ids(store, needs)  # some response is still unreviewed
        last = judged[-1]
        write_review(store, 1, last.model, rating=last.rating, agrees_with_judge=1)
        assert 1 not in queue_ids(store, needs)
        differing = 5 if judged[0].rating != 5 else 1
        write_review(store, 1, judged[0].model, rating=differing)
        assert 1 in queue_ids(store, needs)  # a reviewer who differs from the judge


def test_a_review_is_kept_beside_the_judge_and_undone_exactly(sample: Workspace) -> None:
    with sample.open_store() as store:
        view = instruction_view(store, 2)
        assert view is not None
        response = view.responses[0]
        before = write_review(store, 2, response.model, rating=2, note="too terse")
        assert before is None
        again = write_review(store, 2, response.model, flagged=1)
        assert again == {
            "rating": 2,
            "agrees_with_judge": 0,
            "flagged": 0,
            "note": "too terse",
            "judgment_id": None,
        }
        shown = instruction_view(store, 2)
        assert shown is not None
        reviewed = next(r for r in shown.responses if r.model == response.model)
        assert (reviewed.human_rating, reviewed.flagged, reviewed.note) == (2, True, "too terse")
        assert reviewed.rating == response.rating  # the judge's rating is untouched
        restore_review(store, 2, response.model, current_reviewer(), again)
        assert review_of(store, 2, response.model, current_reviewer())["flagged"] == 0
        restore_review(store, 2, response.model, current_reviewer(), before)
        assert review_of(store, 2, response.model, current_reviewer()) is None


def test_review_fields_are_checked(sample: Workspace) -> None:
    with sample.open_store() as store, pytest.raises(ValueError, match="not review fields"):
        write_review(store, 1, "gpt-4", stars=5)


def test_search_finds_words_in_responses_and_rationales_whatever_their_case(
    sample: Workspace,
) -> None:
    with sample.open_store() as store:
        view = instruction_view(store, 3)
        assert view is not None
        words = {w for r in view.responses for w in r.text.split() if w.isalpha() and len(w) > 6}
        word = sorted(w for w in words if w.lower() not in view.text.lower())[0]  # a response's
        assert 3 in queue_ids(store, QueueFilter(search=word.upper()))
        rationale = next(r.rationale for r in view.responses if r.rationale)
        said = max(rationale.split(), key=len)
        assert 3 in queue_ids(store, QueueFilter(search=said))
        store.write("UPDATE responses SET text = text || ' ünïcode-wörd' WHERE instruction_id = 5")
        assert queue_ids(store, QueueFilter(search="ÜNÏCODE-WÖRD")) == [5]
        assert queue_ids(store, QueueFilter(search="ünïcode")) == [5]


def test_a_nul_in_the_search_text_matches_no_more_than_without_it(sample: Workspace) -> None:
    with sample.open_store() as store:
        with_nul = queue_ids(store, QueueFilter(search="chu\x00nk("))
        assert with_nul == queue_ids(store, QueueFilter(search="chunk(")) == [1]


def test_the_queue_the_filters_and_the_detail_show_the_same_judgment(sample: Workspace) -> None:
    """Two judges on one instruction: the primary judge's judgment is the one on show, in
    the detail, the queue's mark and every status filter, whether it is read or not."""
    with sample.open_store() as store:
        store.write(
            "INSERT INTO judgments (instruction_id, judge, template_sha256, order_shown, "
            "raw_output, state, source) VALUES (27, 'second-judge', 'h', '[]', 'fine', 'done', "
            "'test'), (2, 'second-judge', 'h', '[]', '???', 'unparsed', 'test')"
        )
        first = store.scalar("SELECT judge FROM judgments WHERE instruction_id = 27 LIMIT 1")
        # instruction 27: the sample's judge could not be read, the second judge could;
        # instruction 2: the other way round. With no primary judge, a read one shows.
        for primary, expected in ((first, [27]), ("second-judge", [2]), (None, [])):
            ids = queue_ids(store, QueueFilter(status="unparsed"), judge=primary)
            assert ids == expected, primary
            marks = queue_rows(store, [2, 27], primary)
            for instruction_id in (2, 27):
                view = instruction_view(store, instruction_id, primary)
                assert view is not None and view.judgment is not None
                assert marks[instruction_id].judged == view.judgment.state
                assert (instruction_id in ids) == (view.judgment.state == "unparsed")
                needs = queue_ids(store, QueueFilter(status="needs review"), judge=primary)
                if view.judgment.state == "unparsed":
                    assert instruction_id in needs
        assert queue_ids(store, QueueFilter(status="unjudged"), judge="nobody") == []


def test_each_reviewer_keeps_their_own_review_of_a_response(sample: Workspace) -> None:
    needs = QueueFilter(status="needs review")
    with sample.open_store() as store:
        view = instruction_view(store, 1)
        assert view is not None
        for response in view.responses:
            write_review(store, 1, response.model, "alice", rating=response.rating or 1)
        first = view.responses[0].model
        write_review(store, 1, first, "bob", rating=1, flagged=1)
        assert review_of(store, 1, first, "alice")["rating"] == (view.responses[0].rating or 1)
        assert review_of(store, 1, first, "bob")["rating"] == 1
        # alice has rated everything; bob has not, and differs where he has
        assert 1 not in queue_ids(store, needs, reviewer="alice")
        assert 1 in queue_ids(store, needs, reviewer="bob")
        as_alice = instruction_view(store, 1, reviewer="alice")
        assert as_alice is not None
        shown = next(r for r in as_alice.responses if r.model == first)
        assert shown.human_rating == (view.responses[0].rating or 1)
        assert not shown.flagged and shown.flagged_by == ["bob"]
        assert shown.other_reviewers == {"bob": 1}
        as_bob = instruction_view(store, 1, reviewer="bob")
        assert as_bob is not None
        other = next(r for r in as_bob.responses if r.model == view.responses[1].model)
        assert other.human_rating is None and "alice" in other.other_reviewers
        assert queue_ids(store, QueueFilter(status="flagged"), reviewer="alice") == [1]
