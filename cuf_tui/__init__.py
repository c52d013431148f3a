"""cuf-tui: a terminal workbench for code preference data judged by LLMs."""

__version__ = "0.1.0"
