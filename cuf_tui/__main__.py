"""Lets `python -m cuf_tui` behave like the `cuf-tui` command."""

from cuf_tui.cli import main

raise SystemExit(main())
