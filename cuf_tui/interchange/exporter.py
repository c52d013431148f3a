"""`cuf-tui export`: the CodeUltraFeedback layout, TRL preference pairs, or bare instructions,
written whole to a temporary path and then moved into place, so a crash leaves no half file."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from cuf_tui.analysis.binarize import RatedResponse, Strategy, binarize, pair_rng
from cuf_tui.core.records import rating_to_dataset
from cuf_tui.errors import CufError
from cuf_tui.store.db import Store
from cuf_tui.store.queries import (
    StoredInstruction,
    StoredJudgment,
    human_ratings,
    instructions_with_responses,
    judge_names,
    latest_judgments,
)

ExportFormat = Literal["cuf", "dpo", "instructions"]
EXPORT_FORMATS: Final[tuple[ExportFormat, ...]] = ("cuf", "dpo", "instructions")


class ExportError(CufError):
    """An export cannot be written as asked."""


@dataclass(frozen=True)
class ExportReport:
    path: Path
    container: str  # "jsonl", "parquet" or "datasets folder"
    rows: int
    instructions: int  # instructions that gave at least one row


def export_rows(
    store: Store,
    layout: ExportFormat,
    *,
    strategy: Strategy = "best-worst",
    seed: int = 42,
    judge: str | None = None,
) -> Iterator[dict[str, Any]]:
    """The rows of an export, in instruction order."""
    instructions = instructions_with_responses(store)
    if layout == "instructions":
        for instruction in instructions:
            yield {
                "instruction": instruction.text,
                "preference": instruction.preference,
                "models": instruction.models,
            }
        return
    judgments = latest_judgments(store, judge)
    if layout == "cuf":
        for instruction in instructions:
            if instruction.responses:
                yield _cuf_row(instruction, judgments.get(instruction.id))
        return
    if layout == "dpo":
        reviewed = human_ratings(store)
        for instruction in instructions:
            yield from _dpo_rows(
                instruction, judgments.get(instruction.id), reviewed, strategy, seed
            )
        return
    raise ExportError(
        f"unknown export format {layout!r} (expected one of: {', '.join(EXPORT_FORMATS)})"
    )


def _cuf_row(instruction: StoredInstruction, judgment: StoredJudgment | None) -> dict[str, Any]:
    return {
        "instruction": instruction.text,
        "preference": instruction.preference,
        "models": instruction.models or list(instruction.responses),
        "responses": [
            {"model": model, "response": text} for model, text in instruction.responses.items()
        ],
        "annotations": [
            {"model": r.model, "rating": rating_to_dataset(r.rating), "rationale": r.rationale}
            for r in (judgment.ratings if judgment else [])
        ],
        "judge": judgment.judge if judgment else None,
        "judge_output": judgment.raw_output if judgment else None,
    }


def _dpo_rows(
    instruction: StoredInstruction,
    judgment: StoredJudgment | None,
    reviewed: dict[tuple[int, str], int],
    strategy: Strategy,
    seed: int,
) -> Iterator[dict[str, Any]]:
    judge_said = {r.model: r.rating for r in judgment.ratings} if judgment else {}
    rated: list[RatedResponse] = []
    for model, text in instruction.responses.items():
        human = reviewed.get((instruction.id, model))
        rating = human if human is not None else judge_said.get(model)
        if rating is not None:
            rated.append(RatedResponse(model, text, rating, human=human is not None))
    prompt = [{"role": "user", "content": instruction.text}]
    for pair in binarize(rated, strategy, pair_rng(seed, instruction.key)):
        yield {
            "prompt": prompt,
            "chosen": [{"role": "assistant", "content": pair.chosen.text}],
            "rejected": [{"role": "assistant", "content": pair.rejected.text}],
            "preference": instruction.preference,
            "model_chosen": pair.chosen.model,
            "model_rejected": pair.rejected.model,
            "rating_chosen": pair.chosen.rating,
            "rating_rejected": pair.rejected.rating,
            "human_reviewed": pair.chosen.human or pair.rejected.human,
            "judge": judgment.judge if judgment else None,
            "judge_template_sha256": judgment.template_sha256 if judgment else None,
        }


def export_dataset(
    store: Store,
    layout: ExportFormat,
    out: Path,
    *,
    strategy: Strategy = "best-worst",
    seed: int = 42,
    judge: str | None = None,
) -> ExportReport:
    """Write an export to ``out``: ``.jsonl``, ``.parquet``, or a `datasets` folder when the
    path has no suffix."""
    container = _container(out)
    rows = list(export_rows(store, layout, strategy=strategy, seed=seed, judge=judge))
    if not rows:
        raise ExportError(_nothing_to_export(store, layout, judge))
    writer = {"jsonl": _write_jsonl, "parquet": _write_parquet, "datasets folder": _write_folder}
    writer[container](rows, out)
    key = "instruction" if layout != "dpo" else "prompt"
    distinct = len({json.dumps(r[key]) for r in rows})
    return ExportReport(out, container, len(rows), distinct)


def _container(out: Path) -> str:
    suffix = out.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".parquet":
        return "parquet"
    if suffix == "":
        if out.exists() and not out.is_dir():
            raise ExportError(f"{out}: a file; a path without a suffix names a datasets folder")
        if out.is_dir() and any(out.iterdir()) and not _is_dataset_folder(out):
            raise ExportError(
                f"{out}: a folder that is not a datasets folder; refusing to replace it"
            )
        return "datasets folder"
    raise ExportError(
        f"{out}: unsupported suffix '{suffix}' (use .jsonl, .parquet, or no suffix for a "
        "datasets folder)"
    )


def _is_dataset_folder(path: Path) -> bool:
    return (path / "dataset_info.json").exists() or (path / "state.json").exists()


def _nothing_to_export(store: Store, layout: ExportFormat, judge: str | None) -> str:
    instructions = store.scalar("SELECT count(*) FROM instructions")
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


def _write_folder(rows: list[dict[str, Any]], out: Path) -> None:
    import datasets

    datasets.disable_progress_bars()  # the command line shows its own progress
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        datasets.Dataset.from_list(rows).save_to_disk(str(staging / "data"))
        if out.exists():
            retired = staging / "previous"
            out.rename(retired)
        (staging / "data").rename(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextmanager
def _replacing_file(out: Path) -> Iterator[Path]:
    """A temporary file beside ``out`` that replaces it only when writing succeeded."""
    out.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent)
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        tmp.chmod(0o666 & ~umask)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def write_text_atomically(out: Path, text: str) -> None:
    """Write ``text`` to ``out`` through a temporary file: all of it, or nothing changed."""
    with _replacing_file(out) as tmp:
        tmp.write_text(text, encoding="utf-8")
