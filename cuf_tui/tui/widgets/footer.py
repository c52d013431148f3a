"""The footer, fitted to the terminal: keys that do not fit whole are left out (from the
right; `?` comes first and lists them all) instead of being cut mid-word."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

GROUP_WIDTH = 12  # a group of keys under one label (none of ours so far)


def key_width(widget: Widget) -> int:
    """The cells a footer entry takes: " k " then "description " (the footer's padding)."""
    if not isinstance(widget, FooterKey):
        return GROUP_WIDTH
    width = len(widget.key_display) + 2
    if widget.description:
        width += len(widget.description) + 1
    if widget.has_class("-command-palette"):
        width += 2  # its rule and margin
    return width


class FittingFooter(Footer):
    _fitted_width = -1

    def compose(self) -> ComposeResult:
        self._fitted_width = self.app.size.width
        entries = list(super().compose())
        palette = [w for w in entries if w.has_class("-command-palette")]
        room = self.app.size.width - sum(key_width(w) for w in palette)
        for widget in entries:
            if widget in palette:
                continue
            if key_width(widget) > room:
                break  # the keys keep their order; the rest are listed under ?
            room -= key_width(widget)
            yield widget
        yield from palette

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self._fitted_width:  # composed for another width
            self.call_later(self.recompose)
