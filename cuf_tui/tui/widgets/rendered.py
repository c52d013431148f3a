"""Markdown rendered once per width: Textual measures a widget's height and then paints it,
and each pass would otherwise run Pygments over every code block again."""

from __future__ import annotations

from collections import OrderedDict

from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.measure import Measurement
from rich.segment import Segment

CODE_THEME = "monokai"
_CACHE_SIZE = 256


class RenderedMarkdown:
    """A rich renderable for markdown text that keeps its rendered lines per width."""

    def __init__(self, text: str) -> None:
        self.markdown = Markdown(text, code_theme=CODE_THEME)
        self._lines: dict[int, list[list[Segment]]] = {}

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        width = options.max_width
        if width not in self._lines:
            self._lines[width] = console.render_lines(self.markdown, options, pad=False)
        new_line = Segment.line()
        for line in self._lines[width]:
            yield from line
            yield new_line

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        return Measurement(1, options.max_width)


_recent: OrderedDict[tuple[str, str], RenderedMarkdown] = OrderedDict()


def markdown(key: str, text: str) -> RenderedMarkdown:
    """The renderable for ``text``, shared while it stays among the recently shown ones."""
    cache_key = (key, text)
    found = _recent.get(cache_key)
    if found is None:
        found = RenderedMarkdown(text)
        _recent[cache_key] = found
        if len(_recent) > _CACHE_SIZE:
            _recent.popitem(last=False)
    else:
        _recent.move_to_end(cache_key)
    return found
