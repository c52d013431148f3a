"""Where the files shipped with cuf-tui live: in the wheel, or at the top of a source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """``sample_data`` or ``styles``: inside the package when installed from a wheel, at the
    checkout's top level when installed in editable mode."""
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"cuf-tui's {name}/ folder is missing from this installation")


def sample_data_dir() -> Path:
    return resource_dir("sample_data")


def styles_dir() -> Path:
    return resource_dir("styles")
