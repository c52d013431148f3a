"""Reading the JSON a row stores (an instruction's models, the order a judge was shown, the
sampling parameters of a request) so that one damaged value, written by hand or by another
tool, costs only itself: the rest of the instruction still shows."""

from __future__ import annotations

import json
from typing import Any


def stored_names(raw: str | None) -> list[str] | None:
    """A JSON list of names, or None when ``raw`` is not one."""
    value = _loaded(raw)
    if isinstance(value, list) and all(isinstance(name, str) for name in value):
        return value
    return None


def stored_mapping(raw: str | None) -> dict[str, Any] | None:
    """A JSON object, or None when ``raw`` is not one."""
    value = _loaded(raw)
    return value if isinstance(value, dict) else None


def _loaded(raw: str | None) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except (ValueError, TypeError, RecursionError):
        return None
