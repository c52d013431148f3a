"""`cuf.toml`'s validation errors as sentences about the key: what it must be, and what was
written there (a value given as api_key_env is never shown: it may be a secret)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from cuf_tui.config.toml import toml_value


def key_of(loc: tuple[int | str, ...]) -> str:
    key = ""
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
        else:
            key += f".{part}" if key else str(part)
    return key or "(top level)"


# What a value of the wrong type should have been, by pydantic's error type.
_EXPECTED = {
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "string_type": "a string",
    "list_type": "an array",
    "tuple_type": "an array",
    "dict_type": "a table",
    "model_type": "a table",
}

# A number out of range, by pydantic's error type: the bound's name in ctx, and its words.
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "greater than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}


def message_of(error: Any) -> str:
    """pydantic's error, as a sentence about the key: what it must be, and what it was."""
    kind = error["type"]
    value = error.get("input")
    ctx = error.get("ctx") or {}
    loc = error.get("loc") or ()
    # Say nothing of a value given as api_key_env: it may be a secret in the wrong place.
    was = a_type(value) if "api_key_env" in loc else f"{a_type(value)} ({shown(value)})"
    if kind == "extra_forbidden":
        return "unknown key (a typo?)"
    if kind == "missing":
        return "missing; this key is required"
    if kind in ("tuple_type", "list_type") and loc in (("models",), ("judges",)):
        return f"must be an array of tables (write each entry as [[{loc[0]}]]), not {was}"
    if kind in _EXPECTED:
        return f"must be {_EXPECTED[kind]}, not {was}"
    if kind == "finite_number":
        return f"must be a finite number, not {shown(value)}"
    if kind == "literal_error" and "expected" in ctx:
        return f"must be {ctx['expected']}, not {was}"
    if kind in _BOUNDS:
        bound, words = _BOUNDS[kind]
        return f"must be {words} {ctx[bound]}, not {shown(value)}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def a_type(value: Any) -> str:
    """The TOML type of a value, with its article: "a string", "an integer", ..."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, dt.datetime):
        return "a date-time"
    if isinstance(value, dt.date):
        return "a date"
    if isinstance(value, dt.time):
        return "a time"
    return f"a {type(value).__name__}"


def shown(value: Any, limit: int = 60) -> str:
    """A value as it was written in TOML, cut short if long."""
    try:
        text = toml_value(value)
    except TypeError:
        text = value.isoformat() if hasattr(value, "isoformat") else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
