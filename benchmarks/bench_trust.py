"""How long judge trust takes to measure on a large workspace: N instructions with 4 responses
each, rated by two judges and two reviewers (each reviewer rates one instruction in five),
and a position probe of 50 instructions. Times the whole commands (`cuf-tui agreement`,
`probe length`, `probe self`, `probe position --report`) as a user runs them, and what the
Judge tab computes in its thread.

    python -m benchmarks.bench_trust [--instructions 10000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.bench_tui import build

JUDGES = ("gpt-3.5-turbo", "gpt-4-turbo")
REVIEWERS = ("ann", "bo")
PROBED = 50


def add_raters(root: Path, count: int) -> None:
    """A second judge that mostly agrees with the first, two reviewers, and a probe."""
    with sqlite3.connect(root / "cuf.db") as conn:
        ratings = conn.execute(
            "SELECT judgment_id, model, position_shown, rating FROM judgment_ratings"
        ).fetchall()
        conn.executemany(
            "INSERT INTO judgments (id, instruction_id, judge, template_sha256, order_shown, "
            "raw_output, state, source) SELECT id + ?, instruction_id, ?, template_sha256, "
            "order_shown, raw_output, state, source FROM judgments WHERE id = ?",
            [(count, JUDGES[1], i) for i in range(1, count + 1)],
        )
        conn.executemany(
            "INSERT INTO judgment_ratings (judgment_id, model, position_shown, rating, rationale) "
            "VALUES (?, ?, ?, ?, '')",
            [(j + count, m, p, max(1, min(5, r + (j + p) % 3 - 1))) for j, m, p, r in ratings],
        )
        conn.executemany(
            "INSERT INTO reviews (instruction_id, model, reviewer, rating) VALUES (?, ?, ?, ?)",
            [
                (j, m, who, max(1, min(5, r + (j * n + p) % 3 - 1)))
                for j, m, p, r in ratings
                for n, who in enumerate(REVIEWERS)
                if j % 5 == n
            ],
        )
        for i in range(1, PROBED + 1):
            order = json.loads(
                conn.execute("SELECT order_shown FROM judgments WHERE id = ?", (i,)).fetchone()[0]
            )
            for rotation in range(1, len(order)):
                shown = order[rotation:] + order[:rotation]
                probe = conn.execute(
                    "INSERT INTO probe_judgments (instruction_id, judge, template_sha256, probe, "
                    "rotation, order_shown, state) VALUES (?, ?, 'h', 'position', ?, ?, 'done') "
                    "RETURNING id",
                    (i, JUDGES[0], rotation, json.dumps(shown)),
                ).fetchone()[0]
                conn.executemany(
                    "INSERT INTO probe_ratings (probe_judgment_id, model, position_shown, rating) "
                    "VALUES (?, ?, ?, ?)",
                    [(probe, m, p, (i + p) % 5 + 1) for p, m in enumerate(shown, start=1)],
                )


def timed(root: Path, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "cuf_tui", *args, "-w", str(root)],
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instructions", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = build(Path(tmp) / "ws", args.instructions)
        (root / "cuf.toml").write_text(
            "[workspace]\nname = 'bench'\n\n"
            + "".join(
                f"[[judges]]\nname = '{j}'\nengine = 'openai'\nmodel = '{j}'\n\n" for j in JUDGES
            )
        )
        add_raters(root, args.instructions)
        ratings = args.instructions * 4 * (len(JUDGES) + 0.4)
        print(f"{args.instructions:,} instructions, about {ratings:,.0f} ratings by 4 raters")
        for words in (
            ("agreement",),
            ("agreement", "--resamples", "50"),
            ("probe", "length"),
            ("probe", "self", "--judge", JUDGES[0]),
            ("probe", "position", "--report", "--judge", JUDGES[0]),
        ):
            print(f"  cuf-tui {' '.join(words):<45} {timed(root, *words):6.1f} s")
        from cuf_tui.analysis.trust import judge_trust
        from cuf_tui.workspace import Workspace

        workspace = Workspace(root)
        with workspace.open_store() as store:
            for what, resamples in (("figures", 0), ("then intervals", 200)):
                start = time.perf_counter()
                judge_trust(store, workspace.config, JUDGES[0], 42, resamples)
                took = time.perf_counter() - start
                print(f"  the Judge tab, in its thread: {what:<22} {took:6.1f} s")


if __name__ == "__main__":
    main()
