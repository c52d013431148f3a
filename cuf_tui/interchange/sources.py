"""Reading a source (a local file, a `datasets` folder or a Hub dataset) into rows, each with
the place it came from (line or row), so an error can point at it."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cuf_tui.core.layouts import describe_value
from cuf_tui.errors import CufError

FILE_SUFFIXES = (".jsonl", ".json", ".csv", ".parquet")
# CSV cells hold text; these columns carry lists and are written there as JSON.
JSON_CELL_COLUMNS = frozenset({"models", "responses", "annotations"})
# Half of a UTF-16 pair: JSON may escape one alone ("\ud83d"), but it is no character, and
# SQLite (like any UTF-8 writer) cannot store it.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class SourceError(CufError):
    """A source cannot be read; the message names it and, where it can, the line or row."""


@dataclass(frozen=True)
class Row:
    where: str  # "line 7" or "row 7"
    values: dict[str, Any]


@dataclass(frozen=True)
class LoadedSource:
    name: str
    columns: tuple[str, ...]
    rows: list[Row]


def load_source(source: str, split: str | None = None, limit: int | None = None) -> LoadedSource:
    """Read every row of ``source`` (up to ``limit``); raise SourceError when it can't be read."""
    if LONE_SURROGATE.search(source):  # bytes that are not UTF-8 in a file name, on Linux
        raise SourceError(
            f"{source!r}: the name is not UTF-8 text, and it is stored with every row; "
            "rename the file"
        )
    path = Path(source).expanduser()
    if path.is_dir():
        loaded = _load_dataset_folder(path, source, split)
    elif path.is_file():
        loaded = _load_file(path, source)
    elif _looks_like_a_path(source):
        raise SourceError(f"{source}: no such file or folder")
    else:
        loaded = _load_hub_dataset(source, split)
    if limit is not None:
        loaded = LoadedSource(loaded.name, loaded.columns, loaded.rows[:limit])
    if not loaded.rows:
        raise SourceError(f"{source}: empty (no rows to import)")
    for row in loaded.rows:
        _refuse_lone_surrogates(loaded.name, row)
    return loaded


def _refuse_lone_surrogates(name: str, row: Row) -> None:
    """Every text of ``row`` must be storable: checked here, before anything is written, so
    that the error names the line and field instead of failing halfway through the write."""
    found = _lone_surrogate(row.values, "")
    if found is not None:
        field, char = found
        raise SourceError(
            f"{name}, {row.where}, field '{field}': {char!r} is half of a UTF-16 surrogate pair "
            "without its other half, not a character; fix the escape in the source"
        )


def _lone_surrogate(value: Any, field: str) -> tuple[str, str] | None:
    """The first lone surrogate in ``value`` (in its texts, or in its keys), with the field
    that holds it, written like `responses[0].response`."""
    if isinstance(value, str):
        found = LONE_SURROGATE.search(value)
        return (field, found.group()) if found else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{field}.{key}" if field else str(key)
            hit = _lone_surrogate(key, inner) or _lone_surrogate(item, inner)
            if hit:
                return hit
    if isinstance(value, list):
        for i, item in enumerate(value):
            hit = _lone_surrogate(item, f"{field}[{i}]")
            if hit:
                return hit
    return None


def _looks_like_a_path(source: str) -> bool:
    # A Hub id is "name" or "owner/name"; anything else that does not exist is a missing path.
    return (
        source.startswith((".", "/", "~"))
        or source.count("/") > 1
        or "\\" in source
        or Path(source).suffix.lower() in FILE_SUFFIXES
    )


def _load_file(path: Path, name: str) -> LoadedSource:
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        return _load_parquet(path, name)
    if suffix not in (".jsonl", ".json", ".csv"):
        raise SourceError(
            f"{name}: unsupported file type '{suffix or '(none)'}' "
            "(use .jsonl, .json, .csv, .parquet, or a folder written by datasets.save_to_disk)"
        )
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SourceError(f"{name}: cannot read: {err.strerror}") from None
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if not data.strip():
        raise SourceError(f"{name}: empty (no rows to import)")
    text = _utf8(data, name)
    if suffix == ".csv":
        return _parse_csv(text, name)
    if suffix == ".json" and text.lstrip().startswith("["):
        return _parse_json_array(text, name)
    return _parse_json_lines(text, name)


def _utf8(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise SourceError(
            f"{name}, line {line}: not UTF-8 text (byte 0x{data[err.start]:02x} at column {column})"
        ) from None


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: `{"rating": 1, "rating": 5}` is refused, not
    read as its last value."""
    made = dict(pairs)
    if len(made) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return made


def _parse_json_lines(text: str, name: str) -> LoadedSource:
    def objects() -> Iterator[tuple[str, Any]]:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                yield f"line {number}", json.loads(line, object_pairs_hook=_unique_keys)
            except json.JSONDecodeError as err:
                raise SourceError(
                    f"{name}, line {number}: invalid JSON: {err.msg} (column {err.colno})"
                ) from None
            except _DuplicateKey as err:
                raise SourceError(
                    f"{name}, line {number}: the key {str(err)!r} is given twice in one object"
                ) from None

    return _object_rows(objects(), name)


def _parse_json_array(text: str, name: str) -> LoadedSource:
    try:
        items = json.loads(text, object_pairs_hook=_unique_keys)
    except json.JSONDecodeError as err:
        raise SourceError(
            f"{name}, line {err.lineno}: invalid JSON: {err.msg} (column {err.colno})"
        ) from None
    except _DuplicateKey as err:
        raise SourceError(f"{name}: the key {str(err)!r} is given twice in one object") from None
    return _object_rows(((f"row {i}", item) for i, item in enumerate(items, start=1)), name)


def _object_rows(objects: Iterable[tuple[str, Any]], name: str) -> LoadedSource:
    """Rows from parsed JSON values, each of which must be an object."""
    rows: list[Row] = []
    columns: dict[str, None] = {}
    for where, value in objects:
        if not isinstance(value, dict):
            raise SourceError(
                f"{name}, {where}: expected a JSON object, got {describe_value(value)}"
            )
        columns.update(dict.fromkeys(value))
        rows.append(Row(where, value))
    return LoadedSource(name, tuple(columns), rows)


def _parse_csv(text: str, name: str) -> LoadedSource:
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as err:
        raise SourceError(f"{name}, line 1: no header row ({err})") from None
    header = [h.strip() for h in header]
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:  # which of the two would count? neither is taken
        raise SourceError(
            f"{name}, line 1: the column {', '.join(map(repr, twice))} is named twice in the header"
        )
    rows: list[Row] = []
    start = reader.line_num + 1
    try:
        for cells in reader:
            where = f"line {start}"
            start = reader.line_num + 1
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                raise SourceError(
                    f"{name}, {where}: {len(cells)} cells where the header has {len(header)}"
                )
            values: dict[str, Any] = {}
            for column, cell in zip(header, cells, strict=True):
                values[column] = _csv_cell(cell, column, name, where)
            rows.append(Row(where, values))
    except csv.Error as err:
        raise SourceError(f"{name}, line {reader.line_num}: malformed CSV: {err}") from None
    return LoadedSource(name, tuple(header), rows)


def _csv_cell(cell: str, column: str, name: str, where: str) -> Any:
    if cell == "":
        return None
    if column in JSON_CELL_COLUMNS:
        try:
            return json.loads(cell)
        except json.JSONDecodeError as err:
            raise SourceError(
                f"{name}, {where}, field '{column}': a CSV cell for a list must hold JSON "
                f"({err.msg}, column {err.colno})"
            ) from None
    return cell


def _load_parquet(path: Path, name: str) -> LoadedSource:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError) as err:
        raise SourceError(f"{name}: not a readable Parquet file ({err})") from None
    return _from_arrow(table, name)


def _from_arrow(table: Any, name: str) -> LoadedSource:
    rows = [Row(f"row {i}", values) for i, values in enumerate(table.to_pylist(), start=1)]
    return LoadedSource(name, tuple(table.column_names), rows)


def _load_dataset_folder(path: Path, name: str, split: str | None) -> LoadedSource:
    if not ((path / "dataset_info.json").exists() or (path / "dataset_dict.json").exists()):
        raise SourceError(
            f"{name}: a folder, but not one written by datasets.save_to_disk "
            "(no dataset_info.json or dataset_dict.json)"
        )
    import datasets

    try:
        loaded = datasets.load_from_disk(str(path))
    except Exception as err:  # datasets raises many kinds; all mean the same to the user
        raise SourceError(f"{name}: cannot load this datasets folder ({err})") from None
    return _from_dataset(loaded, name, split)


def _load_hub_dataset(dataset_id: str, split: str | None) -> LoadedSource:
    _check_hub_reachable(dataset_id)
    import datasets

    try:
        loaded = datasets.load_dataset(dataset_id, split=split)
    except Exception as err:  # network, auth, missing split: the message is datasets'
        raise SourceError(
            f"{dataset_id}: not a local file or folder, and loading it as a Hugging Face "
            f"dataset failed: {err}"
        ) from None
    return _from_dataset(loaded, dataset_id, split)


HUB_PROBE_TIMEOUT_S = 1.5  # to connect
HUB_ANSWER_TIMEOUT_S = 5.0  # to answer a question about one dataset


def _check_hub_reachable(dataset_id: str) -> None:
    """One quick question to the Hub before `datasets` asks (and retries, for minutes): is
    there such a dataset? Offline, or with a Hub that connects but never answers, answers
    too slowly, with an error or with something that is not HTTP, a source that is no local
    path fails within seconds, in one line. With HF_HUB_OFFLINE or HF_DATASETS_OFFLINE on,
    `datasets` reads its cache instead."""
    import http.client
    import os
    import socket
    import time
    import urllib.error
    import urllib.request
    from urllib.parse import quote, urlsplit

    if any(
        _switched_on(os.environ.get(name)) for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE")
    ):
        return
    base = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    endpoint = urlsplit(base)
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    advice = "; give a local file or folder, or set HF_HUB_OFFLINE=1 to read a cached copy"
    failed = f"{dataset_id}: no such file or folder, and the Hugging Face Hub ({host})"
    try:
        socket.create_connection((host, port), timeout=HUB_PROBE_TIMEOUT_S).close()
    except OSError as err:
        raise SourceError(
            f"{failed} cannot be reached to fetch it as a dataset ({err.strerror or err}){advice}"
        ) from None
    question = f"{base.rstrip('/')}/api/datasets/{quote(dataset_id, safe='/')}"
    deadline = time.monotonic() + HUB_ANSWER_TIMEOUT_S
    slow = f"{failed} did not answer within {HUB_ANSWER_TIMEOUT_S:g} s"
    try:
        with urllib.request.urlopen(question, timeout=HUB_ANSWER_TIMEOUT_S) as answer:
            while answer.read1(65536):  # the whole answer, in time
                if time.monotonic() > deadline:
                    raise SourceError(f"{slow} (it is sending its answer too slowly){advice}")
    except urllib.error.HTTPError as err:
        if err.code == 404:
            raise SourceError(f"{failed} has no such dataset") from None
        if err.code in (401, 403):
            return  # private or gated: `datasets` asks again with the user's token
        raise SourceError(f"{failed} answered {err.code} {err.reason}{advice}") from None
    except (TimeoutError, urllib.error.URLError, OSError) as err:
        raise SourceError(f"{slow} ({getattr(err, 'reason', err)}){advice}") from None
    except http.client.HTTPException as err:
        raise SourceError(
            f"{failed} did not answer in HTTP ({type(err).__name__}){advice}"
        ) from None


def _switched_on(value: str | None) -> bool:
    """How huggingface_hub reads its switches: 1, true, yes, on (any case)."""
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _from_dataset(loaded: Any, name: str, split: str | None) -> LoadedSource:
    import datasets

    if isinstance(loaded, datasets.DatasetDict):
        splits = list(loaded.keys())
        if split is None:
            if len(splits) == 1:
                split = splits[0]
            elif "train" in splits:
                split = "train"
            else:
                raise SourceError(
                    f"{name}: several splits ({', '.join(splits)}); pick one with --split"
                )
        if split not in loaded:
            raise SourceError(f"{name}: no split {split!r} (splits: {', '.join(splits)})")
        loaded = loaded[split]
        name = f"{name}[{split}]"
    elif split is not None and getattr(loaded, "split", None) not in (None, split):
        raise SourceError(f"{name}: holds split {loaded.split!s}, not {split!r}")
    rows = [Row(f"row {i}", values) for i, values in enumerate(loaded.to_list(), start=1)]
    return LoadedSource(name, tuple(loaded.column_names), rows)
