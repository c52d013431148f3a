"""`/` in the workbench: hits marked in the detail, and a search with many matches showing
its first ones while it counts the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from cuf_tui.store.browse import QueueFilter, first_matches
from cuf_tui.tui.app import build_app
from cuf_tui.tui.widgets import queue_pane
from cuf_tui.tui.widgets.detail import HIT
from cuf_tui.tui.widgets.queue_pane import QueuePane
from cuf_tui.workspace import Workspace, ensure_sample_workspace
from tests.test_tui import _until


@pytest.fixture
def sample(private_home: Path) -> Workspace:
    return ensure_sample_workspace(private_home / "sample-workspace")


def marked(pane: QueuePane) -> list[str]:
    """The stretches of the detail drawn as search hits."""
    return [
        segment.text
        for line in pane.detail._lines
        for segment in line
        if segment.style is not None and segment.style.bgcolor == HIT.bgcolor
    ]


async def test_the_searched_text_is_marked_wherever_the_detail_shows_it(
    sample: Workspace,
) -> None:
    app = build_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one(QueuePane)
        assert marked(pane) == []
        await pilot.press("slash", *"rust")
        await _until(pilot, lambda: pane.filter.search == "rust")
        hits = marked(pane)
        assert hits and all(hit.casefold() == "rust" for hit in hits)
        assert "Rust" in hits  # found whatever its case
        await pilot.press("escape")
        await _until(pilot, lambda: pane.filter.search == "")
        assert marked(pane) == []


async def test_a_search_shows_its_first_matches_then_the_count_of_all(
    sample: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(queue_pane, "FIRST_MATCHES", 3)
    app = build_app(sample)
    seen: list[str] = []
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one(QueuePane)
        line = pane.query_one("#filter-line")
        original = pane.show_queue

        def watched(chosen, ids, *, complete=True):  # type: ignore[no-untyped-def]
            original(chosen, ids, complete=complete)
            seen.append(str(line.render()))

        pane.show_queue = watched  # type: ignore[method-assign]
        await pilot.press("slash", *"def ")
        await _until(pilot, lambda: pane.filter.search == "def " and "counting" not in seen[-1])
        partial = [s for s in seen if "counting" in s]
        assert partial and partial[0].startswith(" 3+ of 30")
        total = len(pane.queue.ids)
        assert total > 3 and seen[-1].startswith(f" {total} of 30")


async def test_a_search_too_slow_for_a_frame_is_read_in_a_thread_all_the_same(
    sample: Workspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sample.open_store() as store:
        store.write(  # enough rows that reading them takes some time
            "INSERT INTO instructions (text, preference, text_sha256, source, models) "
            "SELECT 'More text ' || value, 'style', hex(value), 'more', '[]' "
            "FROM json_each('[' || (SELECT group_concat(n) FROM (WITH RECURSIVE c(n) AS "
            "(SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 2000) SELECT n FROM c)) || ']')"
        )
        assert first_matches(store, QueueFilter(search="ru"), 200, 0.0) is None
        expected = first_matches(store, QueueFilter(search="ru"), 200, 5.0)
        assert expected is not None and 5 < len(expected) < 200
    monkeypatch.setattr(queue_pane, "FIRST_MATCHES_BUDGET_S", 0.0)
    app = build_app(sample)
    async with app.run_test(size=(160, 48)) as pilot:
        pane = app.query_one(QueuePane)
        await pilot.press("slash", *"ru", "enter")
        await _until(pilot, lambda: pane.filter.search == "ru")
        assert pane.queue.ids == expected


async def test_a_kept_search_folds_away_and_tab_never_lands_in_it(sample: Workspace) -> None:
    app = build_app(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(QueuePane)
        await pilot.pause(0.2)
        rows = pane.queue.size.height
        await pilot.press("slash", *"islice", "enter")
        await _until(pilot, lambda: pane.filter.search == "islice")
        await pilot.pause(0.1)
        assert not pane.search_box.display
        assert pane.queue.size.height == rows  # the list keeps its rows
        for _ in range(3):
            await pilot.press("tab")
            await pilot.pause()
            assert app.focused is not pane.search_box
        await pilot.press("x")  # a review key, not search text
        await pilot.pause(0.2)
        assert pane.filter.search == "islice"
        assert pane.detail.selected_response is not None
        assert pane.detail.selected_response.flagged
        await pilot.press("slash")
        await pilot.pause()
        assert pane.search_box.display and pane.search_box.value == "islice"


async def test_a_picker_opens_on_what_is_chosen_now(sample: Workspace) -> None:
    from textual.widgets import OptionList

    from cuf_tui.tui.screens.dialogs import ChooseDialog

    app = build_app(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        pane = app.query_one(QueuePane)
        await pilot.press("s")
        await _until(pilot, lambda: isinstance(app.screen, ChooseDialog))
        await pilot.press("down", "down", "down", "enter")  # unparsed
        await _until(pilot, lambda: pane.filter.status == "unparsed")
        await pilot.press("s")
        await _until(pilot, lambda: isinstance(app.screen, ChooseDialog))
        options = app.screen.query_one(OptionList)
        assert options.get_option_at_index(options.highlighted or 0).id == "unparsed"
        await pilot.press("enter")  # Enter at once keeps the filter
        await pilot.pause()
        assert pane.filter.status == "unparsed"
