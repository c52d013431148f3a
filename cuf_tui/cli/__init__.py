"""The `cuf-tui` command line: the parser, and its commands by area (data, batches, the
workbench)."""

from cuf_tui.cli.main import main

__all__ = ["main"]
