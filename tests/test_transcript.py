"""`t` in the workbench: every request behind a response and its judgment, as it was sent
(checked against what the loopback server received), with the reply and what the store
recorded of the attempt."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from cuf_tui.cli import main
from cuf_tui.tui.screens.dialogs import TextDialog
from cuf_tui.workspace import Workspace
from tests.batch_helpers import make_workspace
from tests.test_tui import build_app, detail


async def test_t_shows_the_requests_exactly_as_they_were_sent(server, tmp_path) -> None:
    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha", "beta"], ["judge-markdown"])
    assert await asyncio.to_thread(main, ["generate", "-w", str(ws)]) == 0
    assert await asyncio.to_thread(main, ["judge", "-w", str(ws)]) == 0
    app = build_app(Workspace(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        response = detail(app).selected_response
        assert response is not None
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TextDialog)
        shown = app.screen.text
    generation = next(
        r
        for r in server.requests
        if r.model == response.model and "Write function number 0" in r.messages[-1]["content"]
    )
    judging = next(
        r
        for r in server.requests
        if r.model == "judge-markdown" and "number 0 in" in r.messages[-1]["content"]
    )
    assert "rebuilt exactly" in shown
    for message in generation.messages + judging.messages:
        assert message["content"] in shown  # each message, word for word
    assert "temperature 0.8" in shown and "max_tokens 1024" in shown
    assert "finish reason: stop" in shown and "tokens:" in shown and "latency:" in shown
    assert "Order shown: 1." in shown


async def test_t_says_when_the_template_changed_since(server, tmp_path) -> None:
    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha"], [])
    assert await asyncio.to_thread(main, ["generate", "-w", str(ws)]) == 0
    (ws / "prompts").mkdir()
    (ws / "prompts" / "generate_system.j2").write_text("A new system prompt. {{ principle }}")
    app = build_app(Workspace(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert "the template has changed since" in app.screen.text


async def test_t_on_the_bench_pane_shows_the_requests_behind_a_scores_grades(
    server, tmp_path
) -> None:
    from textual.widgets import DataTable

    ws = make_workspace(
        tmp_path / "ws",
        server.base_url,
        ["alpha"],
        ["judge-markdown"],
        instructions=[],
        bench_items=5,
    )
    args = ["bench", "--model", "alpha", "--reference", "gpt-4-turbo", "-w", str(ws)]
    assert await asyncio.to_thread(main, args) == 0
    app = build_app(Workspace(ws))
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("f3")
        table = app.query_one("#bench-table", DataTable)
        for _ in range(100):
            await pilot.pause(0.05)
            if table.row_count:
                break
        table.move_cursor(row=0, column=table.get_column_index("style"))
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TextDialog)
        shown = app.screen.text
    answered = [r for r in server.requests if r.model == "alpha"]
    graded = [r for r in server.requests if r.model == "judge-markdown"]
    style_items = [r for r in answered if any(m["content"] in shown for m in r.messages)]
    assert style_items  # the style item's answer request, word for word
    assert any(all(m["content"] in shown for m in r.messages) for r in graded)
    assert "rebuilt exactly" in shown and "protocol: paper" in shown


async def test_damaged_stored_json_costs_only_itself(server, tmp_path) -> None:
    """An order shown or sampling parameters that are not the JSON they should be (written by
    hand, or by another tool) leave the instruction readable; the transcript says which value
    is damaged and shows the rest. A model list the queue could not read is refused."""
    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha", "beta"], ["judge-markdown"])
    assert await asyncio.to_thread(main, ["generate", "-w", str(ws)]) == 0
    assert await asyncio.to_thread(main, ["judge", "-w", str(ws)]) == 0
    with Workspace(ws).open_store() as store:
        store.write("UPDATE judgments SET order_shown = '{\"half' WHERE instruction_id = 1")
        store.write("UPDATE responses SET sampling = 'temperature=0.7' WHERE instruction_id = 1")
        with pytest.raises(sqlite3.IntegrityError, match="models must be a JSON list"):
            store.write("UPDATE instructions SET models = '\"alpha' WHERE id = 1")
    app = build_app(Workspace(ws))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        shown = " ".join(detail(app).text().split())
        assert "Write function number 0" in shown  # the instruction reads
        assert "order shown is unreadable" in shown
        assert sorted(r.model for r in detail(app).view.responses) == ["alpha", "beta"]
        await pilot.press("t")
        await pilot.pause()
        assert isinstance(app.screen, TextDialog)
        transcript = app.screen.text
    assert "(unreadable as stored: 'temperature=0.7')" in transcript
    assert "Order shown: (unreadable as stored: '{\"half')" in transcript
    assert "== Reply" in transcript and "cannot be rebuilt" in transcript
