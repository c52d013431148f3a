"""Import and export speed of the store on a 10,000-row CodeUltraFeedback-layout file.

Prints the wall time of `cuf-tui import` and `cuf-tui export --format dpo` (whole commands,
start-up included), the database size, and the wall time of `cuf-tui --help`.
Targets on a 2-core machine: import under 10 s, export under 5 s, --help under 0.3 s.

    python -m benchmarks.bench_store [--rows 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PREFERENCES = ("instruction-following", "explanation", "complexity", "readability", "style")
MODELS = (
    "gpt-4",
    "gpt-3.5-turbo",
    "codellama-34b-instruct",
    "codellama-13b-instruct",
    "codellama-7b-instruct",
    "wizardcoder-33b",
    "wizardcoder-15b",
    "deepseek-coder-33b-instruct",
    "deepseek-coder-6.7b-instruct",
    "mistral-7b-instruct",
    "wizardlm-33b",
    "wizardlm-7b",
    "llama-2-13b-chat",
    "llama-2-70b-chat",
)
CODE = (
    "def solve(values):\n    seen = set()\n    for v in values:\n        seen.add(v * 2)\n"
    "    return sorted(seen)\n"
)


def make_rows(count: int, rng: random.Random) -> list[dict]:
    rows = []
    for i in range(count):
        models = rng.sample(MODELS, 4)
        ratings = [rng.choice(["1", "2", "3", "4", "5", "5", "4", "N/A"]) for _ in models]
        rows.append(
            {
                "instruction": f"Task {i}: write a function that doubles and deduplicates a list "
                f"of {rng.randint(3, 900)} integers, then explain it. " * 3,
                "preference": PREFERENCES[i % 5],
                "models": models,
                "responses": [
                    {"model": m, "response": f"Answer {i} from {m}.\n```python\n{CODE * 6}```\n"}
                    for m in models
                ],
                "annotations": [
                    {
                        "model": m,
                        "rating": r,
                        "rationale": f"Rated {r}: the code is correct; "
                        "names are clear but the explanation could be shorter. " * 2,
                    }
                    for m, r in zip(models, ratings, strict=True)
                ],
            }
        )
    return rows


def timed(*args: str) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000)
    rows = parser.parse_args().rows
    cli = str(Path(sys.executable).with_name("cuf-tui"))
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = root / "cuf.jsonl"
        with source.open("w", encoding="utf-8") as handle:
            for row in make_rows(rows, random.Random(0)):
                handle.write(json.dumps(row) + "\n")
        workspace = root / "ws"
        subprocess.run([cli, "init", str(workspace)], check=True, capture_output=True)

        import_s = timed(cli, "import", str(source), "-w", str(workspace))
        again_s = timed(cli, "import", str(source), "-w", str(workspace))
        export_s = timed(
            cli,
            "export",
            "--format",
            "dpo",
            "--out",
            str(root / "pairs.jsonl"),
            "-w",
            str(workspace),
        )
        export_parquet_s = timed(
            cli,
            "export",
            "--format",
            "cuf",
            "--out",
            str(root / "cuf.parquet"),
            "-w",
            str(workspace),
        )
        pairs = sum(1 for _ in (root / "pairs.jsonl").open(encoding="utf-8"))
        db_mb = (workspace / "cuf.db").stat().st_size / 1e6
        help_runs = sorted(timed(cli, "--help") for _ in range(9))

        print(f"rows                      {rows}")
        print(f"source size               {source.stat().st_size / 1e6:.1f} MB")
        print(f"import                    {import_s:.2f} s   (target < 10 s)")
        print(f"import again (no-op)      {again_s:.2f} s")
        print(f"export dpo -> jsonl       {export_s:.2f} s   (target < 5 s; {pairs} pairs)")
        print(f"export cuf -> parquet     {export_parquet_s:.2f} s")
        print(f"database size             {db_mb:.1f} MB")
        print(
            f"cuf-tui --help            {statistics.median(help_runs):.3f} s median, "
            f"{help_runs[-1]:.3f} s max of 9   (target < 0.3 s)"
        )


if __name__ == "__main__":
    main()
