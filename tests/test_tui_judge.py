"""The Judge tab and the judge on show, driven with Pilot on the sample workspace with a second
judge, two reviewers and a position probe (tests/trust_data.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Static

from cuf_tui.tui.app import build_app
from cuf_tui.workspace import Workspace, ensure_sample_workspace
from tests.test_tui import detail, pane, queue
from tests.trust_data import SECOND_JUDGE, add_trust_data, open_judge_tab


@pytest.fixture
def sample(private_home: Path) -> Workspace:
    workspace = ensure_sample_workspace(private_home / "sample-workspace")
    add_trust_data(workspace.db_path)
    return workspace


async def test_the_judge_tab_measures_and_enter_opens_a_disagreement(sample: Workspace) -> None:
    app = build_app(sample, reviewer="ann")
    async with app.run_test(size=(120, 40)) as pilot:
        judge = await open_judge_tab(pilot)
        trust = judge.trust
        assert trust is not None and trust.judge == "gpt-3.5-turbo"
        table = judge.query_one("#agreement", DataTable)
        assert table.row_count == 6  # 4 raters, every pair
        labels = [str(table.get_row_at(n)[0]) for n in range(table.row_count)]
        assert "gpt-3.5-turbo · ann (reviewer)" in labels
        heading = str(judge.query_one("#judge-heading", Static).render())
        assert "Krippendorff's alpha (ordinal)" in heading
        warnings = str(judge.query_one("#judge-warnings", Static).render())
        assert "favours position 1" in warnings and "its own family" in warnings
        assert trust.position is not None and trust.position.favoured == [1]
        # Enter on the third disagreement opens its instruction in the queue.
        chosen = trust.disagreements[2]
        listed = judge.query_one("#disagreements", DataTable)
        listed.focus()
        await pilot.pause()
        await pilot.press("j", "j", "enter")
        await pilot.pause()
        assert app.query_one("TabbedContent").active == "queue"
        assert queue(app).current_id == chosen.instruction_id
        assert detail(app).view.id == chosen.instruction_id
        assert detail(app).selected_response.model == chosen.model  # the disputed response


async def test_v_shows_the_next_judge_and_every_rating_beside(sample: Workspace) -> None:
    app = build_app(sample, reviewer="ann")
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        view = detail(app).view
        assert view.judgment.judge == "gpt-3.5-turbo"
        rated = next(r for r in view.responses if r.rating is not None)
        assert SECOND_JUDGE in rated.other_judges
        assert rated.human_rating is not None and "bo" in rated.other_reviewers
        assert f"Other judges: {SECOND_JUDGE}" in detail(app).text()
        await pilot.press("v")
        await pilot.pause()
        assert pane(app).workbench.primary_judge == SECOND_JUDGE
        assert detail(app).view.judgment.judge == SECOND_JUDGE
        assert (
            "gpt-3.5-turbo"
            in next(r for r in detail(app).view.responses if r.rating is not None).other_judges
        )
        await pilot.press("v")
        await pilot.pause()
        assert detail(app).view.judgment.judge == "gpt-3.5-turbo"  # around to the first


async def test_names_that_look_like_markup_are_shown_as_they_are(sample: Workspace) -> None:
    app = build_app(sample, reviewer="x[/] [bold]")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("3")
        judge = await open_judge_tab(pilot)
        table = judge.query_one("#agreement", DataTable)
        labels = [str(table.get_row_at(n)[0]) for n in range(table.row_count)]
        assert any("x[/] [bold] (reviewer)" in label for label in labels)
    assert app.return_code in (None, 0)
