"""`cuf-tui export`: the CodeUltraFeedback layout, TRL preference pairs, or bare instructions,
written whole to a temporary path and then moved into place, so a crash leaves no half file;
and where any command may write a file (never over a workspace's own files)."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cuf_tui.config import WORKSPACE_FILES
from cuf_tui.interchange.export_rows import (
    DEFAULT_OPTIONS,
    PAIRED,
    ExportError,
    ExportFormat,
    ExportOptions,
    export_rows,
    split_by_preference,
)
from cuf_tui.store.db import Store
from cuf_tui.store.queries import (
    cut_off_responses,
    instruction_count,
    judge_names,
    responded_instructions,
)


@dataclass(frozen=True)
class ExportReport:
    path: Path
    container: str  # "jsonl", "parquet" or "datasets folder"
    rows: int
    instructions: int  # instructions that gave at least one row
    cut_off_left_out: int = 0  # pairs: responses cut off at max_tokens, not paired
    splits: dict[str, int] | None = None  # rows per split, when split
    paths: tuple[Path, ...] = ()  # every file or folder written
    without_rows: int = 0  # instructions with responses that gave no row (pairs: no pair)
    judges: dict[str, int] = field(default_factory=dict)  # rows by whose ratings they carry
    reviewed: int = 0  # pairs: responses whose rating is the reviewers', not a judge's


def split_paths(out: Path) -> dict[str, Path]:
    """Where the splits of a file export go: `NAME-train.jsonl` and `NAME-test.jsonl` beside
    ``out`` (a datasets folder holds both splits itself)."""
    return {split: out.with_name(f"{out.stem}-{split}{out.suffix}") for split in ("train", "test")}


def export_dataset(
    store: Store,
    layout: ExportFormat,
    out: Path,
    options: ExportOptions = DEFAULT_OPTIONS,
    *,
    test_size: float | None = None,
    folder: bool = False,
    force: bool = False,
) -> ExportReport:
    """Write an export to ``out``: ``.jsonl``, ``.parquet``, or a `datasets` folder when the
    path has no suffix (or ``folder``). With ``test_size``, the rows are split into train and
    test, stratified by preference: two files beside ``out``, or both splits in the folder.
    An existing file or folder there is replaced only with ``force``."""
    refuse_workspace_files(out)  # first: `cuf.db` is named a workspace's file, not a bad suffix
    container = "datasets folder" if folder else _container(out)
    as_folder = container == "datasets folder"
    if test_size is not None and not 0 < test_size < 1:
        raise ExportError(f"--test-size {test_size:g}: must be between 0 and 1 (e.g. 0.05)")
    targets = [out] if as_folder or test_size is None else list(split_paths(out).values())
    for target in targets:
        check_destination(target, force=force, folder=as_folder)
    rows = list(export_rows(store, layout, options))
    include_truncated = options.include_truncated
    cut_off = 0 if layout not in PAIRED or include_truncated else len(cut_off_responses(store))
    if not rows:
        raise ExportError(_nothing_to_export(store, layout, options, cut_off))
    key = "prompt" if layout == "dpo" else "instruction"
    distinct = len({json.dumps(r[key]) for r in rows})
    judges = dict(Counter(str(r["judge"]) for r in rows if r.get("judge")).most_common())
    reviewed = sum(bool(r.get("review_chosen")) + bool(r.get("review_rejected")) for r in rows)
    unpaired = responded_instructions(store) - distinct if layout in PAIRED else 0
    if test_size is None:
        if as_folder:
            _write_folder(rows, out)
        else:
            (_write_jsonl if container == "jsonl" else _write_parquet)(rows, out)
        return ExportReport(
            out,
            container,
            len(rows),
            distinct,
            cut_off,
            paths=(out,),
            without_rows=unpaired,
            judges=judges,
            reviewed=reviewed,
        )
    splits = split_by_preference(rows, test_size, options.seed)
    for split, members in splits.items():
        if not members:
            raise ExportError(
                f"--test-size {test_size:g} leaves the {split} split empty ({len(rows)} rows; "
                "each preference's share is rounded): nothing was written"
            )
    if as_folder:
        _write_folder(splits, out)
    else:
        write = _write_jsonl if container == "jsonl" else _write_parquet
        for split, path in split_paths(out).items():
            write(splits[split], path)
    counts = {split: len(members) for split, members in splits.items()}
    return ExportReport(
        out,
        container,
        len(rows),
        distinct,
        cut_off,
        counts,
        tuple(targets),
        unpaired,
        judges,
        reviewed,
    )


def _container(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".parquet":
        return "parquet"
    if suffix == "":
        return "datasets folder"
    raise ExportError(
        f"{out}: unsupported suffix '{suffix}' (use .jsonl, .parquet, or no suffix for a "
        "datasets folder)"
    )


def refuse_workspace_files(out: Path) -> None:
    """No command writes over a workspace's settings or store, whatever path or link leads
    there: a leaderboard written over `cuf.db` once replaced a whole store."""
    try:
        leads_to = out.resolve()
    except (OSError, RuntimeError) as err:  # a loop of links
        raise ExportError(f"{out}: cannot follow this path ({err})") from None
    for path in (out, leads_to):
        if path.name.lower() in WORKSPACE_FILES:
            via = "" if path is out else f"leads to {leads_to}, "
            raise ExportError(
                f"{out}: {via}a workspace's own file ({path.name}); cuf-tui never writes over "
                "it: choose another --out path"
            )
    if leads_to.is_dir() and any((leads_to / name).exists() for name in WORKSPACE_FILES):
        raise ExportError(
            f"{out}: a workspace folder; cuf-tui never replaces it: choose another --out path"
        )


def check_destination(out: Path, *, force: bool, folder: bool = False) -> None:
    """Refuse, before any work, to write ``out`` where that would do harm: over a workspace's
    files, into a folder that does not exist (a typo would scatter files in new folders),
    over a folder that is not an export, or over an existing file or export without
    ``force``. ``folder``: ``out`` is to be a datasets folder, not a file."""
    refuse_workspace_files(out)
    parent = out.parent
    if parent.exists() and not parent.is_dir():
        raise ExportError(f"{out}: {parent} is a file, not a folder; choose another path")
    if not parent.is_dir():
        raise ExportError(
            f"{out}: the folder {parent} does not exist; make it first, or choose another path"
        )
    if out.is_dir():
        if not folder:
            raise ExportError(f"{out}: a folder; choose a file path")
        if any(out.iterdir()) and not _is_dataset_folder(out):
            raise ExportError(
                f"{out}: a folder that is not a datasets folder; refusing to replace it"
            )
    elif out.exists() and not out.is_file():
        # A device (/dev/null), a FIFO, a socket: --force would put a file in its place.
        raise ExportError(
            f"{out}: not a regular file (a device, a pipe or a socket); cuf-tui writes only "
            "files and folders it may replace: choose another path"
        )
    elif folder and out.exists():
        raise ExportError(f"{out}: a file; a path without a suffix names a datasets folder")
    if (out.exists() or out.is_symlink()) and not force:
        raise ExportError(f"{out}: exists; add --force to replace it, or choose another path")


def _is_dataset_folder(path: Path) -> bool:
    return (path / "dataset_info.json").exists() or (path / "state.json").exists()


def _nothing_to_export(store: Store, layout: str, options: ExportOptions, cut_off: int) -> str:
    filters = _filters_said(store, options)
    if filters and instruction_count(store):
        left = "a response" if layout == "cuf" else "two responses with different ratings"
        reason = f"nothing to export: no instruction has {left} left after {filters}"
    else:
        reason = _why_nothing(store, layout, options.judge)
    if cut_off:
        reason += f"; {_responses(cut_off)} cut off at max_tokens left out; --include-truncated "
        reason += "keeps them"
    return reason


def _filters_said(store: Store, options: ExportOptions) -> str:
    """What the review filters left out, in the words of their options ("" for none)."""
    said = []
    if options.exclude_flagged:
        flagged = int(
            store.scalar(
                "SELECT count(*) FROM (SELECT DISTINCT instruction_id, model FROM reviews "
                "WHERE flagged)"
            )
        )
        said.append(f"--exclude-flagged left out the {_responses(flagged)} a reviewer flagged")
    if options.reviewed_only:
        rated = int(
            store.scalar(
                "SELECT count(*) FROM (SELECT DISTINCT instruction_id, model FROM reviews "
                "WHERE rating IS NOT NULL)"
            )
        )
        said.append(f"--reviewed-only kept only the {_responses(rated)} a reviewer rated")
    return " and ".join(said)


def _responses(count: int) -> str:
    return f"{count} response" + ("" if count == 1 else "s")


def _why_nothing(store: Store, layout: str, judge: str | None) -> str:
    instructions = instruction_count(store)
    if not instructions:
        return "nothing to export: the store holds no instructions (import some first)"
    if layout == "cuf":
        return f"nothing to export: none of the {instructions} instructions has a response yet"
    if judge and judge not in judge_names(store):
        known = ", ".join(judge_names(store)) or "none"
        return f"nothing to export: no judgments by {judge!r} (judges in the store: {known})"
    judged = "by " + repr(judge) if judge else "by any judge"
    return (
        f"nothing to export: no instruction has two responses with different ratings {judged} "
        f"({instructions} instructions in the store)"
    )


def _write_jsonl(rows: list[dict[str, Any]], out: Path) -> None:
    with _replacing_file(out) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False))
            handle.write("\n")


def _write_parquet(rows: list[dict[str, Any]], out: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pylist(rows)
    with _replacing_file(out) as tmp:
        pq.write_table(table, tmp)


def _write_folder(rows: list[dict[str, Any]] | dict[str, list[dict[str, Any]]], out: Path) -> None:
    """A `datasets` folder (`save_to_disk`): one Dataset, or a DatasetDict of the splits."""
    import datasets

    datasets.disable_progress_bars()  # the command line shows its own progress
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as err:
        raise _cannot_write(out, err) from None
    try:
        if isinstance(rows, dict):
            whole: Any = datasets.DatasetDict(
                {split: _dataset(members) for split, members in rows.items()}
            )
        else:
            whole = _dataset(rows)
        whole.save_to_disk(str(staging / "data"))
        retired = staging / "previous"
        if out.exists():
            out.rename(retired)
        try:
            (staging / "data").rename(out)
        except OSError:
            if retired.exists():  # put the export it was to replace back
                retired.rename(out)
            raise
    except OSError as err:
        raise _cannot_write(out, err) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _dataset(rows: list[dict[str, Any]]) -> Any:
    import datasets

    return datasets.Dataset.from_list(rows)


@contextmanager
def _replacing_file(out: Path) -> Iterator[Path]:
    """A temporary file beside ``out`` that replaces it only when writing succeeded."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    except OSError as err:
        raise _cannot_write(out, err) from None
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        os.replace(tmp, out)
    except OSError as err:  # the disk filled, the folder went away, ...
        raise _cannot_write(out, err) from None
    finally:
        tmp.unlink(missing_ok=True)


def _cannot_write(out: Path, err: OSError) -> ExportError:
    return ExportError(f"{out}: cannot write it there ({err.strerror or err}); nothing was written")


def write_text_atomically(out: Path, text: str) -> None:
    """Write ``text`` to ``out`` through a temporary file: all of it, or nothing changed."""
    with _replacing_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
