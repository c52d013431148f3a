"""Workbench responsiveness on a 10,000-instruction workspace (4 responses each, judged).

Runs the real `cuf-tui` in a pseudo-terminal and reads its output as a terminal would:
the time to first paint (process start until the first instruction is on screen), the time
from a key press until the screen shows its effect (moving to another instruction, rating,
flagging; median and p95, at a reading pace and back to back), the time from Enter in the
search box until the first matches are listed and until all of them are counted, and the peak
memory of the workbench. Targets: first paint under 1 s, p95 under 50 ms.

    python -m benchmarks.bench_tui [--instructions 10000] [--presses 200]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import select
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

PREFERENCES = ("instruction-following", "explanation", "complexity", "readability", "style")
MODELS = ["gpt-4", "codellama-7b-instruct", "mistral-7b-instruct", "wizardcoder-15b"]
ANSWER = (
    "Here is a solution.\n\n```python\ndef solve(values):\n    seen = set()\n    for v in values:\n"
    "        seen.add(v * 2)\n    return sorted(seen)\n```\n\nIt runs in O(n log n) time. " * 3
)

RARE_WORD = " Ünïcode-Wörd"  # in one response of one instruction in a thousand

# What a reviewer looks for: one instruction, a word in a few responses (in another case),
# words in every response or every rationale, and nothing at all.
SEARCHES = ["Task 7777:", "ÜNÏCODE-wörd", "seen.add", "explanation is short", "no such text"]


def build(root: Path, count: int) -> Path:
    subprocess.run(
        [sys.executable, "-m", "cuf_tui", "init", str(root)], check=True, capture_output=True
    )
    with sqlite3.connect(root / "cuf.db") as conn:
        conn.executemany(
            "INSERT INTO instructions (id, text, preference, text_sha256, source, models) "
            "VALUES (?, ?, ?, ?, 'bench', ?)",
            [
                (
                    i,
                    f"Task {i}: write a function that doubles and sorts a list. " * 6,
                    PREFERENCES[i % 5],
                    f"{i:064x}",
                    json.dumps(MODELS),
                )
                for i in range(1, count + 1)
            ],
        )
        conn.executemany(
            "INSERT INTO responses (instruction_id, model, text, state, source) "
            "VALUES (?, ?, ?, 'done', 'bench')",
            [
                (i, m, ANSWER + (RARE_WORD if i % 1000 == 7 and m == MODELS[2] else ""))
                for i in range(1, count + 1)
                for m in MODELS
            ],
        )
        conn.executemany(
            "INSERT INTO judgments (id, instruction_id, judge, template_sha256, order_shown, "
            "raw_output, state, source) VALUES (?, ?, 'gpt-3.5-turbo', 'h', ?, 'raw', 'done', "
            "'bench')",
            [(i, i, json.dumps(MODELS)) for i in range(1, count + 1)],
        )
        conn.executemany(
            "INSERT INTO judgment_ratings (judgment_id, model, position_shown, rating, rationale) "
            "VALUES (?, ?, ?, ?, 'Clear and correct, though the explanation is short.')",
            [
                (i, m, p + 1, (i + p) % 5 + 1)
                for i in range(1, count + 1)
                for p, m in enumerate(MODELS)
            ],
        )
    from cuf_tui.store.browse import bring_index_up_to_date
    from cuf_tui.workspace import Workspace

    with Workspace(root).open_store() as store:  # as an import leaves it: searchable
        bring_index_up_to_date(store)
    return root


class Terminal:
    """The real `cuf-tui` in a pseudo-terminal, read as a terminal would read it."""

    def __init__(self, root: Path, columns: int = 160, rows: int = 48) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
        env = dict(os.environ, TERM="xterm-256color", COLORTERM="truecolor")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "cuf_tui", str(root)],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()

    def wait_for(self, text: str, seconds: float = 10.0) -> float:
        """Seconds until ``text`` appears in what the app writes."""
        marker = text.encode()
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            if select.select([self.master], [], [], 0.005)[0]:
                self.output.extend(os.read(self.master, 1 << 16))
                if marker in self.output:
                    return time.perf_counter()
        raise TimeoutError(f"{text!r} did not appear within {seconds} s")

    def press(self, key: str, expect: str) -> float:
        """Seconds from writing ``key`` to the screen showing ``expect``."""
        while select.select([self.master], [], [], 0)[0]:
            os.read(self.master, 1 << 16)
        self.output.clear()
        start = time.perf_counter()
        os.write(self.master, key.encode())
        return self.wait_for(expect) - start

    def peak_memory_mb(self) -> float:
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.process.kill()
        self.process.wait()
        os.close(self.master)


def run_keys(
    root: Path, presses: int, reading_s: float
) -> tuple[float, dict[str, list[float]], float]:
    """First paint, then cycles of j (next instruction), 4 (rate), x (flag), k and j."""
    terminal = Terminal(root)
    try:
        first_paint = terminal.wait_for("#1 ·") - terminal.started
        time.sleep(1.0)
        timings: dict[str, list[float]] = {"j / k (move)": [], "4 (rate)": [], "x (flag)": []}
        current = 1
        for i in range(presses):
            step = i % 5
            if reading_s:
                time.sleep(reading_s)
            if step in (0, 4):
                current += 1
                timings["j / k (move)"].append(terminal.press("j", f"#{current} ·"))
            elif step == 1:
                timings["4 (rate)"].append(terminal.press("4", "you 4"))
            elif step == 2:
                timings["x (flag)"].append(terminal.press("x", "⚑"))
            else:
                current -= 1
                timings["j / k (move)"].append(terminal.press("k", f"#{current} ·"))
        return first_paint, timings, terminal.peak_memory_mb()
    finally:
        terminal.close()


def run_searches(root: Path, rounds: int) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Enter in the search box, until the first matches are listed and until all of them
    are counted; each search typed whole, then Esc."""
    from cuf_tui.store.browse import QueueFilter, queue_ids
    from cuf_tui.workspace import Workspace

    with Workspace(root).open_store() as store:
        total = store.scalar("SELECT count(*) FROM instructions")
        expected = {word: len(queue_ids(store, QueueFilter(search=word))) for word in SEARCHES}
    terminal = Terminal(root)
    first: dict[str, list[float]] = {"first matches": [], "all counted": []}
    try:
        terminal.wait_for("#1 ·")
        time.sleep(1.0)
        for _ in range(rounds):
            for word in SEARCHES:
                terminal.press("/", "Esc clears")
                terminal.press(word, word[-3:])  # echoed in the search box
                time.sleep(0.3)  # past the pause that starts a search while typing
                terminal.press("\x1b", f" {total} of {total}")
                time.sleep(0.3)
                terminal.press("/", "Esc clears")
                terminal.press(word, word[-3:])  # echoed in the search box
                time.sleep(0.05)
                # Enter searches at once: the first matches, then the count of all
                terminal.output.clear()
                start = time.perf_counter()
                os.write(terminal.master, b"\r")
                shown = terminal.wait_for(f"/{word}", seconds=30)
                counted = terminal.wait_for(f" {expected[word]} of {total}", seconds=30)
                first["first matches"].append(shown - start)
                first["all counted"].append(counted - start)
                terminal.press("\x1b", f" {total} of {total}")
                time.sleep(0.3)
        return first, expected
    finally:
        terminal.close()


def report(title: str, timings: dict[str, list[float]]) -> None:
    print(title)
    for label, values in timings.items():
        values.sort()
        print(
            f"  {label:<23} median {statistics.median(values) * 1000:5.1f} ms   "
            f"p95 {values[max(0, int(len(values) * 0.95) - 1)] * 1000:5.1f} ms"
        )
    every = sorted(t for values in timings.values() for t in values)
    print(
        f"  {'all bound keys':<23} median {statistics.median(every) * 1000:5.1f} ms   "
        f"p95 {every[int(len(every) * 0.95) - 1] * 1000:5.1f} ms   (target p95 < 50 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--instructions", type=int, default=10_000)
    parser.add_argument("--presses", type=int, default=200)
    parser.add_argument("--search-rounds", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = build(Path(tmp) / "ws", args.instructions)
        paint, reading, memory = run_keys(root, args.presses, 0.3)
        with sqlite3.connect(root / "cuf.db") as conn:  # each run starts with no reviews
            conn.execute("DELETE FROM reviews")
        paint_held, held, _ = run_keys(root, args.presses, 0.0)
        searches, matches = run_searches(root, args.search_rounds)
    print(
        f"instructions              {args.instructions} (4 responses each, judged), "
        "cuf-tui in a pseudo-terminal, 160x48"
    )
    print(
        f"first paint               {paint:.2f} s and {paint_held:.2f} s in two runs "
        "(process start to the first instruction on screen; target < 1 s)"
    )
    report("key press to repainted panes, 0.3 s between keys (reading):", reading)
    report("key press to repainted panes, keys back to back:", held)
    counts = ", ".join(f"{word!r} {count}" for word, count in matches.items())
    report(f"Enter in the search box to the queue showing matches ({counts}):", searches)
    print(f"peak memory               {memory:.0f} MB (the workbench process)")


if __name__ == "__main__":
    main()
