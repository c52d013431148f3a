"""The workbench at the sizes people run it over SSH (60x20, 80x24) and without colour
(TERM=screen NO_COLOR=1): every footer key whole or left out, the panes readable, and the
detail given the room when it is being read."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Tabs
from textual.widgets._footer import FooterKey

from cuf_tui.tui.app import build_app
from cuf_tui.tui.widgets.detail import InstructionDetail
from cuf_tui.tui.widgets.footer import FittingFooter
from cuf_tui.tui.widgets.queue import QueueView
from cuf_tui.workspace import Workspace, ensure_sample_workspace


@pytest.fixture
def sample(private_home: Path) -> Workspace:
    return ensure_sample_workspace(private_home / "sample-workspace")


def footer_keys(app) -> list[FooterKey]:  # type: ignore[no-untyped-def]
    return list(app.screen.query_one(FittingFooter).query(FooterKey))


@pytest.mark.parametrize("size", [(60, 20), (80, 24), (160, 48)])
async def test_every_footer_key_shows_whole_on_every_pane(
    sample: Workspace, size: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("TERM", "screen")
    app = build_app(sample)
    async with app.run_test(size=size) as pilot:
        for tab in ("f2", "f3", "f4", "f2"):
            await pilot.press(tab)
            await pilot.pause(0.2)
            keys = footer_keys(app)
            assert keys, tab
            for key in keys:
                assert key.region.right <= size[0], (tab, key.key_display, key.region)
            shown = [key.key_display for key in keys]
            assert "?" in shown and "^p" in shown  # where the rest are listed
            if size[0] >= 160 and tab == "f2":
                assert {"/", "s", "m", "q"} <= set(shown)


async def test_reading_the_detail_on_a_small_terminal_gives_it_the_room(
    sample: Workspace,
) -> None:
    app = build_app(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        detail = app.screen.query_one(InstructionDetail)
        queue = app.screen.query_one(QueueView)
        listed = queue.size.height
        before = detail.size.height
        await pilot.press("end", "enter")
        await pilot.pause(0.2)
        assert app.focused is detail
        assert detail.size.height >= before + listed - 4  # the list keeps a few rows
        assert queue.cursor == 29
        top = queue.scroll_offset.y
        assert top <= queue.cursor < top + queue.size.height  # still in view
        await pilot.press("tab")
        await pilot.pause(0.2)
        assert app.focused is queue and queue.size.height == listed


async def test_tab_moves_between_the_queue_and_the_detail_only(sample: Workspace) -> None:
    app = build_app(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        seen = set()
        for _ in range(4):
            await pilot.press("tab")
            await pilot.pause()
            seen.add(type(app.focused).__name__)
            assert not isinstance(app.focused, Tabs)
        assert seen == {"QueueView", "InstructionDetail"}


async def test_a_review_far_down_the_queue_repaints_its_row(sample: Workspace) -> None:
    """The row of an instruction scrolled into view shows its new flag at once (its line
    was repainted at the wrong height: the list's line taken for the screen's)."""
    app = build_app(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("end", "k")  # #29, the list scrolled
        await pilot.pause(0.2)
        assert "RF" not in app.export_screenshot()
        await pilot.press("x")
        await pilot.pause(0.2)
        assert "RF" in app.export_screenshot()
        await pilot.press("x")
        await pilot.pause(0.2)
        assert "RF" not in app.export_screenshot()


async def test_j_and_k_move_in_the_bench_table_as_in_the_queue(sample: Workspace) -> None:
    from textual.widgets import DataTable

    app = build_app(sample)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f3")
        await pilot.pause(0.3)
        table = app.screen.query_one("#bench-table", DataTable)
        assert table.row_count >= 2 and table.cursor_row == 0
        await pilot.press("j")
        await pilot.pause()
        assert table.cursor_row == 1
        await pilot.press("k")
        await pilot.pause()
        assert table.cursor_row == 0
