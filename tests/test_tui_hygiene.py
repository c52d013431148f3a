"""No method or attribute of the workbench's classes replaces one of Textual's unless it is
one of the hooks Textual means to be replaced: `detail.py` once defined `_render`, which
replaced `Widget._render`, and Ctrl+C on a selection killed the app."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

from textual.app import App
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widget import Widget

import cuf_tui.tui

# What Textual means its subclasses to define.
HOOKS = {
    "BINDINGS",
    "COMMANDS",
    "COMPONENT_CLASSES",
    "CSS",
    "CSS_PATH",
    "DEFAULT_CSS",
    "HORIZONTAL_BREAKPOINTS",
    "TITLE",
    "_abc_impl",  # what abc gives every subclass of an abstract class (the palette's Provider)
    "can_focus",
    "can_focus_children",
    "check_action",  # which bindings apply now (the footer dims or hides the others)
    "compose",
    "discover",
    "get_default_screen",
    "get_selection",
    "render",
    "render_line",
    "search",
}


def _made_for_every_subclass() -> set[str]:
    """The attributes Textual sets on every class it sees (bindings, CSS type names, ...)."""
    made: set[str] = set()
    for base in (Widget, Screen, ModalScreen, App, Message):
        blank = type("Blank", (base,), {})
        made |= set(blank.__dict__)
    return made


def test_no_class_of_the_workbench_shadows_textual() -> None:
    allowed = HOOKS | _made_for_every_subclass()
    shadowing = []
    for info in pkgutil.walk_packages(cuf_tui.tui.__path__, "cuf_tui.tui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != module.__name__:
                continue
            framework = [b for b in cls.__mro__[1:] if b.__module__.startswith("textual")]
            for name in cls.__dict__:
                if name.startswith("__") or name in allowed:
                    continue
                owner = next((b for b in framework if name in b.__dict__), None)
                if owner is not None:
                    shadowing.append(f"{cls.__qualname__}.{name} replaces {owner.__qualname__}'s")
    assert not shadowing, shadowing


async def test_ctrl_c_with_text_selected_in_the_detail_pane_copies_it(private_home) -> None:
    from textual.selection import SELECT_ALL

    from cuf_tui.workspace import ensure_sample_workspace
    from tests.test_tui import build_app, detail

    app = build_app(ensure_sample_workspace(private_home / "sample-workspace"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        pane = detail(app)
        app.screen.selections = {pane: SELECT_ALL}
        await pilot.pause()
        await pilot.press("ctrl+c")
        await pilot.pause()
        assert app.is_running  # it used to die of a TypeError here
        assert app.clipboard  # the selection was copied


async def test_a_workspace_of_bench_items_only_says_so(tmp_path) -> None:
    from cuf_tui.workspace import Workspace
    from tests.batch_helpers import make_workspace
    from tests.test_tui import build_app, detail

    root = make_workspace(tmp_path / "bench-only", instructions=[], bench_items=5)
    # make_workspace imports ten instructions when given none: keep the bench alone.
    import sqlite3

    with sqlite3.connect(root / "cuf.db") as db:
        db.execute("DELETE FROM instructions")
    app = build_app(Workspace(root))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        shown = " ".join(detail(app).text().split())  # as read, whatever the wrapping
        assert "holds no instructions yet" in shown and "5 CODAL-Bench items" in shown
        assert "No instruction matches the filter" not in shown


async def test_responses_not_generated_or_rated_na_say_so(private_home) -> None:
    import sqlite3

    from cuf_tui.workspace import ensure_sample_workspace
    from tests.test_tui import build_app, detail

    ws = ensure_sample_workspace(private_home / "sample-workspace")
    with sqlite3.connect(ws.db_path) as db:
        judged = db.execute(
            "SELECT j.instruction_id, jr.model FROM judgment_ratings jr "
            "JOIN judgments j ON j.id = jr.judgment_id WHERE j.state = 'done' LIMIT 1"
        ).fetchone()
        db.execute(
            "UPDATE judgment_ratings SET rating = NULL WHERE model = ? AND judgment_id IN "
            "(SELECT id FROM judgments WHERE instruction_id = ?)",
            (judged[1], judged[0]),
        )
        db.execute("DELETE FROM responses WHERE instruction_id = 2")
    app = build_app(ws)
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        await pilot.press("home", *["j"] * (judged[0] - 1))
        await pilot.pause(0.2)
        shown = detail(app).text()
        assert "★ N/A" in shown and "Judge: N/A" in shown
        await pilot.press("home", "j")
        await pilot.pause(0.2)
        shown = detail(app).text()
        assert "Judge: not generated" in shown and "Judge: N/A" not in shown


RAW_WORDS = (
    "question_mark",
    "slash",
    "escape",
    "right_square_bracket",
    "left_square_bracket",
    "ContentTabs",
    "DataTable",
    "VerticalScroll",
    "ScrollableContainer",
)


async def test_help_speaks_of_keys_as_printed_and_panes_by_name(private_home) -> None:
    from cuf_tui.tui.screens.dialogs import HelpDialog
    from cuf_tui.workspace import ensure_sample_workspace
    from tests.test_tui import build_app

    app = build_app(ensure_sample_workspace(private_home / "sample-workspace"))
    async with app.run_test(size=(120, 40)) as pilot:
        for tab in ("f2", "f3", "f4"):
            await pilot.press(tab)
            await pilot.pause(0.2)
            await pilot.press("question_mark")
            await pilot.pause()
            assert isinstance(app.screen, HelpDialog)
            shown = " ".join(
                f"{title} {k} {d}" for title, keys in app.screen.sections for k, d in keys
            )
            assert not [word for word in RAW_WORDS if word in shown], shown
            if tab == "f2":
                assert "?/F1" in shown and "]" in shown and "/ " in shown
                keys = {k for _, pairs in app.screen.sections for k, _ in pairs}
                assert {"PgDn", "PgUp", "Home", "End"} <= keys, keys
            if tab == "f3":
                assert "on a score: the grades behind it" in shown
            await pilot.press("escape")
            await pilot.pause()


async def test_the_palette_lists_sentences_with_their_keys_once(private_home) -> None:
    from cuf_tui.tui.commands import WorkbenchCommands
    from cuf_tui.workspace import ensure_sample_workspace
    from tests.test_tui import build_app

    app = build_app(ensure_sample_workspace(private_home / "sample-workspace"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        provider = WorkbenchCommands(app.screen)
        hits = [hit async for hit in provider.discover()]
        names = [str(hit.display) for hit in hits]
        # A sentence and its key, never an action's call: launch('generate'), next_review(-1).
        assert all(re.fullmatch(r"[A-Z][^()]+ \([^()]+\)", name) for name in names), names
        assert len(names) == len(set(names))
        system = [command.title for command in app.get_system_commands(app.screen)]
        assert (names + system).count("Quit") + sum("Quit (" in n for n in names) == 1


async def test_r_shows_the_judges_answer_on_a_sample_judgment(private_home) -> None:
    from cuf_tui.tui.screens.dialogs import TextDialog
    from cuf_tui.workspace import ensure_sample_workspace
    from tests.test_tui import build_app

    app = build_app(ensure_sample_workspace(private_home / "sample-workspace"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, TextDialog)
        assert "#### Output for Text 1\nRating: 5" in app.screen.text


async def test_the_model_picker_fits_80x24_with_fifteen_models(tmp_path) -> None:
    from textual.widgets import OptionList

    from cuf_tui.tui.screens.dialogs import ChooseDialog
    from cuf_tui.workspace import Workspace
    from tests.batch_helpers import make_workspace
    from tests.test_tui import build_app

    models = [f"model-{i:02d}" for i in range(15)]
    root = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", models, [])
    import json
    import sqlite3

    with sqlite3.connect(root / "cuf.db") as db:
        db.execute("UPDATE instructions SET models = ?", (json.dumps(models),))
    app = build_app(Workspace(root))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("m")
        await pilot.pause(0.2)
        assert isinstance(app.screen, ChooseDialog)
        options = app.screen.query_one(OptionList)
        hint = app.screen.query("Static").last()
        assert options.option_count == 16  # all models, and the fifteen
        assert hint.region.bottom <= 24 and hint.region.height >= 1  # the hint is in view


def test_a_job_log_that_is_no_file_never_blocks_the_pane(tmp_path) -> None:
    import os
    from concurrent.futures import ThreadPoolExecutor

    from cuf_tui.tui.widgets.jobs import log_tail

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with ThreadPoolExecutor(2) as pool:
        for path in (str(fifo), "/dev/zero", str(tmp_path)):
            shown = pool.submit(log_tail, path).result(timeout=5)  # a FIFO used to block
            assert "not a regular file" in shown


async def test_a_filter_changed_while_a_search_runs_is_kept(private_home, monkeypatch) -> None:
    from cuf_tui.tui.widgets import queue_pane
    from cuf_tui.workspace import ensure_sample_workspace
    from tests.test_tui import _until, build_app, pane

    monkeypatch.setattr(queue_pane, "SEARCH_AFTER_S", 0.8)  # a pause long enough to act in
    app = build_app(ensure_sample_workspace(private_home / "sample-workspace"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("slash", *"the", "enter", "p")  # p before the search has run
        await _until(
            pilot,
            lambda: (
                pane(app).filter.search == "the"
                and pane(app).filter.preference == "instruction-following"
            ),
        )
        await pilot.pause(0.5)  # and nothing undoes it later
        chosen = pane(app).filter
        assert (chosen.preference, chosen.search) == ("instruction-following", "the")
