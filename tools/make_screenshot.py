"""Writes docs/workbench.svg: the workbench on a fresh sample workspace, exported by the app.

    python tools/make_screenshot.py
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "docs" / "workbench.svg"


async def main() -> None:
    with tempfile.TemporaryDirectory() as home:
        os.environ["CUF_TUI_HOME"] = home
        from cuf_tui.tui.app import build_app
        from cuf_tui.workspace import default_workspace_dir, ensure_sample_workspace

        app = build_app(ensure_sample_workspace(default_workspace_dir()))
        async with app.run_test(size=(160, 44)) as pilot:
            await pilot.press("j", "j", "l", "2", "x")
            await pilot.pause()
            OUT.parent.mkdir(exist_ok=True)
            OUT.write_text(app.export_screenshot(title="cuf-tui"), encoding="utf-8")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    asyncio.run(main())
