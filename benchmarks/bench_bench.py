"""A full CODAL-Bench run: 500 items answered by the model under test and graded by a judge
against a reference, through the loopback test server with 50 ms of latency per request.

Times `cuf-tui bench` (the same job code, foreground, every answer and grade stored), the
report over the resulting 500 grades (`cuf-tui bench-report`, with bootstrap intervals), and,
for scale, the least time the requests could take at that concurrency and latency.

    python -m benchmarks.bench_bench [--items 500] [--concurrency 64]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from tests.fake_openai import start_in_subprocess

PREFERENCES = ("instruction-following", "explanation", "complexity", "readability", "style")
LATENCY = 0.05


def build_workspace(root: Path, base_url: str, items: int, concurrency: int) -> Path:
    from cuf_tui.cli import main

    bench = root / "codal.jsonl"
    bench.write_text(
        "".join(
            json.dumps(
                {
                    "instruction": f"Bench item {i}: write a function that parses format {i} "
                    "and explain the edge cases it handles.",
                    "preference": PREFERENCES[i % 5],
                    "gpt-4-turbo_response": f"```python\ndef parse_{i}(text):\n    ...\n```\n"
                    "A reference answer that handles empty input and bad encodings.",
                }
            )
            + "\n"
            for i in range(items)
        )
    )
    ws = root / "ws"
    main(["init", str(ws)])
    with (ws / "cuf.toml").open("a", encoding="utf-8") as config:
        for section, name, model in (
            ("models", "model-under-test", "gamma"),
            ("judges", "grader", "judge-varied"),  # grades 1-10, one in ten unreadable
        ):
            config.write(
                f'\n[[{section}]]\nname = "{name}"\nengine = "openai"\nmodel = "{model}"\n'
                f'base_url = "{base_url}"\nmax_concurrency = {concurrency}\n'
            )
    main(["import", str(bench), "-w", str(ws)])
    return ws


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    server, base_url = start_in_subprocess(LATENCY, "--no-varied-failures")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ws = build_workspace(Path(tmp), base_url, args.items, args.concurrency)
            from cuf_tui.cli import main as cli

            started = time.perf_counter()
            code = cli(
                [
                    "bench",
                    "--model",
                    "model-under-test",
                    "--reference",
                    "gpt-4-turbo",
                    "-w",
                    str(ws),
                ]
            )
            run = time.perf_counter() - started
            assert code == 0, code
            import sqlite3

            with sqlite3.connect(ws / "cuf.db") as db:
                answers = db.execute("SELECT count(*) FROM bench_answers WHERE state = 'done'")
                grades = db.execute(
                    "SELECT count(*), sum(state = 'unparsed') + sum(repaired) FROM bench_grades "
                    "WHERE state IN ('done', 'unparsed')"
                )
                answered = answers.fetchone()[0]
                graded, repairs = grades.fetchone()
            started = time.perf_counter()
            cli(
                [
                    "bench-report",
                    "--format",
                    "json",
                    "--out",
                    str(Path(tmp) / "r.json"),
                    "-w",
                    str(ws),
                ]
            )
            report = time.perf_counter() - started
    finally:
        server.terminate()
    floor = 2 * args.items / args.concurrency * LATENCY
    requests = answered + graded + repairs
    print(
        f"\nbench run: {answered} answers + {graded} grades + {repairs} repair requests = "
        f"{requests} requests in {run:.2f} s "
        f"({requests / run:.0f} req/s; {LATENCY * 1000:.0f} ms latency, concurrency "
        f"{args.concurrency}: no run can take less than {floor:.2f} s)"
    )
    print(
        f"bench-report over {graded} grades, 1 to 10 and some unreadable (1,000 bootstrap "
        f"resamples per cell): {report:.2f} s"
    )


if __name__ == "__main__":
    main()
