"""Writes the shipped sample data, sample_data/*.jsonl, from its single source: the
hand-edited TOML in tools/sample_source/, where multi-line strings keep the answers' code
readable. Each TOML file says what it holds. Run from anywhere:

    python tools/make_sample_data.py           # rewrite sample_data/*.jsonl
    python tools/make_sample_data.py --check   # exit 1 if they are not what the TOML makes

tests/test_sample_data.py fails while the committed JSONL and the TOML disagree.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tools" / "sample_source"
OUT = ROOT / "sample_data"


def _keys(
    table: dict[str, Any], where: str, required: set[str], optional: frozenset[str] = frozenset()
) -> None:
    missing = required - table.keys()
    unknown = table.keys() - required - optional
    if missing or unknown:
        raise SystemExit(f"{where}: missing {sorted(missing)}, unknown {sorted(unknown)}")


def _line(row: dict[str, Any]) -> str:
    return json.dumps(row, ensure_ascii=False) + "\n"


def codeultrafeedback(source: dict[str, Any]) -> str:
    """One CodeUltraFeedback row per [[row]], its answers split into the layout's lists."""
    lines = []
    for number, row in enumerate(source["row"], 1):
        _keys(
            row,
            f"row {number}",
            {"preference", "instruction", "answer"},
            frozenset({"judge_output"}),
        )
        answers = row["answer"]
        for answer in answers:
            _keys(answer, f"row {number}", {"model", "rating", "rationale", "response"})
        row_out = {
            "instruction": row["instruction"],
            "preference": row["preference"],
            "models": [a["model"] for a in answers],
            "responses": [{"model": a["model"], "response": a["response"]} for a in answers],
            "annotations": [
                {"model": a["model"], "rating": str(a["rating"]), "rationale": a["rationale"]}
                for a in answers
            ],
            "judge": source["judge"],
            "judge_output": row.get("judge_output") or _judge_answer(answers),
        }
        lines.append(_line(row_out))
    return "".join(lines)


def _judge_answer(answers: list[dict[str, Any]]) -> str:
    """The judge's answer as it came, one section per response in the order shown (the
    row's), so that `r` in the workbench shows what the ratings were read from."""
    return "\n\n".join(
        f"#### Output for Text {i}\nRating: {a['rating']}\nRationale: {a['rationale'] or 'N/A'}"
        for i, a in enumerate(answers, 1)
    )


def codal_bench(source: dict[str, Any]) -> tuple[str, str]:
    """The CODAL-Bench items, one per [[item]]; then their graded answers, item by item."""
    grades = source["grades"]
    items, graded = [], []
    for number, item in enumerate(source["item"], 1):
        references = {key for key in item if key.endswith("_response")}
        _keys(
            item,
            f"item {number}",
            {"preference", "instruction"} | references,
            frozenset({"graded"}),
        )
        head = {"instruction": item["instruction"], "preference": item["preference"]}
        items.append(_line(head | {key: item[key] for key in item if key in references}))
        for answer in item.get("graded", []):
            rating = answer.get("rating")
            if rating is None:  # the judge's reply could not be read
                _keys(answer, f"item {number}", {"model", "answer", "judge_output"})
                rationale, judge_output = None, answer["judge_output"]
            else:
                _keys(answer, f"item {number}", {"model", "answer", "rating", "rationale"})
                rationale = answer["rationale"]
                judge_output = f"{rationale}\n\nRating: {rating}/10"
            row_out = head | {
                "model": answer["model"],
                "answer": answer["answer"],
                "judge": grades["judge"],
                "reference_model": grades["reference_model"],
                "rating": rating,
                "rationale": rationale,
                "judge_output": judge_output,
            }
            graded.append(_line(row_out))
    return "".join(items), "".join(graded)


def build(source: Path = SOURCE) -> dict[str, str]:
    """The text of each sample_data/*.jsonl file, by name, as the TOML makes it."""

    def load(name: str) -> dict[str, Any]:
        return tomllib.loads((source / name).read_text(encoding="utf-8"))

    bench, graded = codal_bench(load("codal_bench.toml"))
    return {
        "codeultrafeedback.jsonl": codeultrafeedback(load("codeultrafeedback.toml")),
        "codal_bench.jsonl": bench,
        "codal_bench_graded.jsonl": graded,
    }


def main(argv: list[str]) -> int:
    check = argv == ["--check"]
    if argv and not check:
        raise SystemExit(f"usage: {sys.argv[0]} [--check]")
    stale = []
    for name, text in build().items():
        path = OUT / name
        data = text.encode("utf-8")
        if path.exists() and path.read_bytes() == data:
            continue
        stale.append(name)
        if not check:
            path.write_bytes(data)
    if check:
        for name in stale:
            print(f"sample_data/{name}: not what tools/sample_source/ makes", file=sys.stderr)
        return 1 if stale else 0
    print(f"{', '.join(stale) or 'nothing'} rewritten in {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
