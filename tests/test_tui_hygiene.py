"""No method or attribute of the workbench's classes replaces one of Textual's unless it is
one of the hooks Textual means to be replaced: `detail.py` once defined `_render`, which
replaced `Widget._render`, and Ctrl+C on a selection killed the app."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from textual.app import App
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
    for base in (Widget, Screen, ModalScreen, App):
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
