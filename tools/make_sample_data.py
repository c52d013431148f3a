"""Writes sample_data/codeultrafeedback.jsonl, sample_data/codal_bench.jsonl and
sample_data/codal_bench_graded.jsonl from the hand-written rows in
tools/sample_instructions_*.py and tools/sample_bench_grades.py. Run from the project root:

    python tools/make_sample_data.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import sample_bench_grades  # noqa: E402
import sample_instructions_a  # noqa: E402
import sample_instructions_b  # noqa: E402
import sample_instructions_c  # noqa: E402

JUDGE = "gpt-3.5-turbo"
OUT = Path(__file__).resolve().parent.parent / "sample_data"


def cuf_row(spec: dict) -> dict:
    answers = spec["answers"]
    row = {
        "instruction": spec["instruction"].strip(),
        "preference": spec["preference"],
        "models": [model for model, *_ in answers],
        "responses": [{"model": model, "response": text.strip()} for model, _, _, text in answers],
        "annotations": [
            {
                "model": model,
                "rating": "N/A" if rating is None else str(rating),
                "rationale": rationale,
            }
            for model, rating, rationale, _ in answers
        ],
        "judge": JUDGE,
        "judge_output": spec.get("unparsed_judge_output"),
    }
    return row


def main() -> None:
    rows = sample_instructions_a.ROWS + sample_instructions_b.ROWS + sample_instructions_c.ROWS
    with (OUT / "codeultrafeedback.jsonl").open("w", encoding="utf-8") as out:
        for spec in rows:
            out.write(json.dumps(cuf_row(spec), ensure_ascii=False) + "\n")
    with (OUT / "codal_bench.jsonl").open("w", encoding="utf-8") as out:
        for item in sample_instructions_c.BENCH:
            row = {
                "instruction": item["instruction"],
                "preference": item["preference"],
                "gpt-3.5-turbo_response": item["gpt-3.5-turbo"].strip(),
                "gpt-4-turbo_response": item["gpt-4-turbo"].strip(),
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    graded = 0
    with (OUT / "codal_bench_graded.jsonl").open("w", encoding="utf-8") as out:
        for index, by_model in sample_bench_grades.GRADED.items():
            item = sample_instructions_c.BENCH[index]
            for model, (answer, rating, rationale) in by_model.items():
                row = {
                    "instruction": item["instruction"],
                    "preference": item["preference"],
                    "model": model,
                    "answer": answer,
                    "judge": sample_bench_grades.JUDGE,
                    "reference_model": sample_bench_grades.REFERENCE,
                    "rating": rating,
                    "rationale": rationale if rating is not None else None,
                    "judge_output": rationale
                    if rating is None
                    else f"{rationale}\n\nRating: {rating}/10",
                }
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                graded += 1
    print(
        f"{len(rows)} instructions, {len(sample_instructions_c.BENCH)} bench items, "
        f"{graded} graded bench answers -> {OUT}"
    )


if __name__ == "__main__":
    main()
