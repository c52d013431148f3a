"""Batch mode's own cost: what the workbench spends to judge N instructions through the Batch
API (write the requests, upload them, poll, download the answers, keep every answer line,
read and store each judgment), measured against the loopback server's files and batches
endpoints, which answer as soon as they are asked (so what is timed is the workbench and the
server's own work, never a provider's queue).

Starts tests/fake_openai.py in its own process, builds a workspace of N instructions with 4
responses each, and runs `cuf-tui judge --wait` with a judge in batch mode (5,000 requests a
batch, a poll every 0.2 s); then the same judge online at concurrency 64 for comparison.
Target: batch mode's overhead within 2x of the online run's wall time for the same units
(the provider's hours aside).

    python -m benchmarks.bench_batch_api [--instructions 10000]
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

from tests.fake_openai import start_in_subprocess

PREFERENCES = ("instruction-following", "explanation", "complexity", "readability", "style")
MODELS = ["alpha", "beta", "gamma", "delta"]


def build(root: Path, base_url: str, count: int, mode: str) -> Path:
    from cuf_tui.cli import main

    rows = [
        {
            "instruction": f"Task {i}: write a function that merges two sorted lists.",
            "preference": PREFERENCES[i % 5],
            "models": MODELS,
            "responses": [
                {
                    "model": m,
                    "response": f"```python\ndef merge(a, b):\n    return sorted(a + b)\n```\n"
                    f"This is answer {i}.\n-- answered by {m}",
                }
                for m in MODELS
            ],
            "annotations": [],
        }
        for i in range(count)
    ]
    source = root / "judge.jsonl"
    if not source.exists():
        source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ws = root / mode
    main(["init", str(ws)])
    extra = (
        'mode = "batch"\nbatch_poll_interval = 0.2\nbatch_max_requests = 5000\n'
        if mode == "batch"
        else "max_concurrency = 64\n"
    )
    entry = (
        f'\n[[judges]]\nname = "judge-{mode}"\nengine = "openai"\nmodel = "judge-markdown"\n'
        f'base_url = "{base_url}"\napi_key_env = "BENCH_KEY"\ntemperature = 0.0\n'
        "price_per_million_tokens = { input = 0.5, output = 1.5 }\n" + extra
    )
    with (ws / "cuf.toml").open("a", encoding="utf-8") as config:
        config.write(entry)
    main(["import", str(source), "-w", str(ws)])
    return ws


def judge(ws: Path) -> float:
    started = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "cuf_tui", "judge", "--wait", "-w", str(ws)],
        capture_output=True,
        text=True,
        env={**__import__("os").environ, "BENCH_KEY": "x"},
    )
    took = time.perf_counter() - started
    if run.returncode != 0:
        raise SystemExit(f"judge failed in {ws}: {run.stderr[-2000:]}")
    return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instructions", type=int, default=10_000)
    args = parser.parse_args()
    server, base_url = start_in_subprocess(0.0)
    try:
        with tempfile.TemporaryDirectory() as folder:
            root = Path(folder)
            figures = {}
            for mode in ("batch", "online"):
                ws = build(root, base_url, args.instructions, mode)
                figures[mode] = judge(ws)
                with sqlite3.connect(ws / "cuf.db") as db:
                    done = db.execute(
                        "SELECT count(*) FROM judgments WHERE state = 'done'"
                    ).fetchone()[0]
                    batches = db.execute("SELECT count(*) FROM remote_batches").fetchone()[0]
                    cost = db.execute("SELECT cost_usd FROM jobs WHERE kind = 'judge'").fetchone()
                print(
                    f"{mode:>6}: {done:,} judgments stored in {figures[mode]:.1f} s "
                    f"({done / figures[mode]:,.0f}/s), {batches} remote batches, "
                    f"cost ${cost[0]:.4f}",
                    flush=True,
                )
                if mode == "batch":
                    again = judge(ws)
                    print(f"        a second run (nothing left to ask): {again:.1f} s", flush=True)
            print(f"batch / online wall time: {figures['batch'] / figures['online']:.2f}x")
    finally:
        server.terminate()


if __name__ == "__main__":
    main()
