"""Markdown rendered once per width (Textual measures a widget's height and then paints it,
and each pass would otherwise run Pygments over every code block again), and the cheap forms
of a text too long to render whole: its head, and plain lines wrapped without markup."""

from __future__ import annotations

from collections import OrderedDict

from rich.cells import chop_cells
from rich.console import Console, ConsoleOptions, RenderResult
from rich.markdown import Markdown
from rich.measure import Measurement
from rich.segment import Segment

CODE_THEME = "monokai"
_CACHE_SIZE = 256
# A text longer than this shows its head only (a few screenfuls: rendering 8,000 characters of
# markdown takes milliseconds, 10 MB takes minutes); the rest is a key away, as plain text.
SHOWN_CHARS = 8_000
RATIONALE_CHARS = 2_000  # a rationale sits under its response, in the same narrow column
# C0 controls and DEL would move the terminal's cursor or ring its bell; tabs become spaces.
_CONTROLS = {code: None for code in (*range(0x20), 0x7F) if code not in (0x09, 0x0A)}


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


def shown_part(text: str, limit: int = SHOWN_CHARS) -> tuple[str, int]:
    """The head of ``text`` to show at once (ending at a line break when one is near the
    limit), and how many characters it leaves out."""
    if len(text) <= limit:
        return text, 0
    cut = text.rfind("\n", limit // 2, limit)
    cut = cut if cut > 0 else limit
    return text[:cut], len(text) - cut


def wrap_plain(text: str, width: int) -> list[str]:
    """``text`` as plain lines of at most ``width`` cells, without markup or highlighting
    (a 10 MB text in about 0.1 s when it is ASCII, a few seconds when it is not)."""
    width = max(1, width)
    lines: list[str] = []
    for line in text.translate(_CONTROLS).split("\n"):
        line = line.expandtabs(4)
        if line.isascii():
            lines.extend(_wrap_ascii(line, width))
        else:
            lines.extend(chop_cells(line, width) or [""])
    return lines


def _wrap_ascii(line: str, width: int) -> list[str]:
    """One line in pieces of at most ``width``, broken at a space in the second half of the
    width when there is one (without copying the rest of a 10 MB line at each piece)."""
    pieces = []
    start = 0
    while len(line) - start > width:
        space = line.rfind(" ", start + width // 2, start + width + 1)
        end = space if space > start else start + width
        pieces.append(line[start:end])
        start = end + 1 if space > start else end
    pieces.append(line[start:])
    return pieces


def one_line(text: str, width: int) -> str:
    """``text`` on one line of at most ``width`` characters, cut with an ellipsis (a long
    error in a table column, a protocol's settings in a model label)."""
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"
