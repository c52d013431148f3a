"""The wheel carries styles/ and sample_data/; the command line stays light and the core
knows nothing of the screen."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "datasets",
    "openai",
    "vllm",
    "pyarrow",
    "pandas",
    "textual",
    "sqlite_utils",
    "pydantic",
    # judge trust's statistics
    "numpy",
    "scipy",
    "sklearn",
    "krippendorff",
)


def _python(code: str, cwd: Path = ROOT, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **env},
        cwd=cwd,
    )
    return result.stdout


def test_help_imports_nothing_heavy() -> None:
    out = _python(
        "import sys\n"
        "from cuf_tui.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        f"print([m for m in {HEAVY!r} if m in sys.modules])\n"
    )
    assert out.strip().splitlines()[-1] == "[]"


def non_ui_modules() -> list[str]:
    """Every module of the package but the workbench's (cuf_tui/tui/) and the entry point."""
    package = ROOT / "cuf_tui"
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[1] == "tui" or parts[-1] == "__main__":
            continue
        names.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
    return names


def test_no_module_outside_the_workbench_imports_textual() -> None:
    modules = non_ui_modules()
    assert len(modules) > 40  # the walk found the package
    out = _python(
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "    if 'textual' in sys.modules:\n"
        "        print(name)\n"
        "        break\n"
        "else:\n"
        "    print('none')\n"
    )
    assert out.strip() == "none", f"{out.strip()} imports textual"


def test_the_wheel_ships_styles_and_sample_data(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("cuf_tui-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    for shipped in (
        "cuf_tui/sample_data/cuf.toml",
        "cuf_tui/sample_data/codeultrafeedback.jsonl",
        "cuf_tui/sample_data/codal_bench.jsonl",
        "cuf_tui/styles/workbench.tcss",
        "cuf_tui/prompts/judge.j2",
        "cuf_tui/prompts/rubrics/style.j2",
        "cuf_tui/prompts/principles/complexity.j2",
    ):
        assert shipped in names
    assert not any(n.startswith(("tests/", "tools/", "benchmarks/")) for n in names)

    # Installed from the wheel alone, the package finds its sample data and builds the
    # sample workspace from it.
    target = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target)
    home = tmp_path / "home"
    out = _python(
        "import cuf_tui, sys\n"
        "from cuf_tui.cli import main\n"
        "from cuf_tui.prompts import load_prompts\n"
        "print(cuf_tui.__file__)\n"
        "print(len(load_prompts().principles('style')), 'principles')\n"
        "sys.exit(main(['stats', '--json']))\n",
        PYTHONPATH=str(target),
        CUF_TUI_HOME=str(home),
        cwd=tmp_path,
    )
    assert out.splitlines()[0].startswith(str(target))
    assert '"instructions": 6' in out
    assert "5 principles" in out
    assert (home / "sample-workspace" / "cuf.db").exists()


def test_opening_the_workbench_imports_nothing_heavy(tmp_path: Path) -> None:
    out = _python(
        "import asyncio, os, sys\n"
        "from cuf_tui.tui.app import build_app\n"
        "from cuf_tui.workspace import default_workspace_dir, ensure_sample_workspace\n"
        "async def main():\n"
        "    app = build_app(ensure_sample_workspace(default_workspace_dir()))\n"
        "    async with app.run_test(size=(120, 40)) as pilot:\n"
        "        await pilot.press('j', 'l', '4')\n"
        "        await pilot.pause()\n"
        "asyncio.run(main())\n"
        "print([m for m in ('datasets', 'openai', 'vllm', 'pandas', 'pyarrow') "
        "if m in sys.modules])\n",
        CUF_TUI_HOME=str(tmp_path),
    )
    assert out.strip().splitlines()[-1] == "[]"
