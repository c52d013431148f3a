"""`cuf-tui stats` counts pending, failed, judged, unparsed and reviewed work correctly."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from cuf_tui.store import open_store
from cuf_tui.store.stats import collect_stats
from tests.conftest import cuf_row, write_jsonl


def test_counts_by_state(cli, workspace: Path, tmp_path: Path) -> None:
    partly_answered = cuf_row("partly", "style", ratings={"a": "4", "b": "2"})
    partly_answered["models"] = ["a", "b", "c", "d"]  # c and d have not answered yet
    rows = [
        partly_answered,
        cuf_row("unjudged", "style", ratings={}),
        {"instruction": "bare", "preference": "complexity"},
    ]
    rows[1]["responses"] = [{"model": "a", "response": "x"}]
    rows[1]["models"] = ["a"]
    source = write_jsonl(tmp_path / "in.jsonl", rows[:2])
    assert cli("import", source, "-w", workspace).code == 0
    assert cli("import", write_jsonl(tmp_path / "bare.jsonl", rows[2:]), "-w", workspace).code == 0
    with sqlite3.connect(workspace / "cuf.db") as conn:
        conn.execute(
            "INSERT INTO responses (instruction_id, model, state, error, source) "
            "VALUES (1, 'c', 'failed', 'HTTP 400: context too long', 'generated')"
        )
        conn.execute(
            "INSERT INTO reviews (instruction_id, model, rating, flagged, reviewer) "
            "VALUES (1, 'a', 5, 1, 'ann')"
        )

    with open_store(workspace / "cuf.db") as store:
        stats = collect_stats(store)
    style = stats.by_preference["style"]
    assert (style.instructions, style.done, style.failed, style.pending) == (2, 3, 1, 1)
    assert (style.judged, style.unparsed, style.reviewed, style.flagged) == (1, 0, 1, 1)
    assert style.mean_rating == 3.0
    complexity = stats.by_preference["complexity"]
    assert (complexity.instructions, complexity.unassigned, complexity.pending) == (1, 1, 0)
    a, c, d = stats.by_model["a"], stats.by_model["c"], stats.by_model["d"]
    assert (a.instructions, a.done, a.judged, a.mean_rating, a.reviewed, a.flagged) == (
        2,
        2,
        1,
        4.0,
        1,
        1,
    )
    assert (c.failed, c.pending) == (1, 0)
    assert (d.pending, d.done) == (1, 0)
    assert stats.by_judge["imported"].done == 1


def test_cut_off_responses_are_counted_apart(cli, workspace: Path, tmp_path: Path) -> None:
    rows = [cuf_row("cut", "style", ratings={"a": "4", "b": "2"})]
    rows[0]["models"] = ["a", "b", "c"]
    assert cli("import", write_jsonl(tmp_path / "in.jsonl", rows), "-w", workspace).code == 0
    with sqlite3.connect(workspace / "cuf.db") as conn:
        conn.execute(
            "INSERT INTO responses (instruction_id, model, text, state, source, finish_reason) "
            "VALUES (1, 'c', 'def f(', 'done', 'generated', 'length')"
        )
        conn.execute("UPDATE responses SET finish_reason = 'stop' WHERE model = 'a'")
    conn.close()

    run = cli("stats", "--json", "-w", workspace)
    assert run.code == 0, run.err
    stats = json.loads(run.out)
    style, c, a = stats["by_preference"]["style"], stats["by_model"]["c"], stats["by_model"]["a"]
    assert (style["done"], style["truncated"], style["failed"]) == (3, 1, 0)
    assert (c["done"], c["truncated"]) == (1, 1)
    assert (a["done"], a["truncated"]) == (1, 0)
    assert stats["by_preference"]["readability"]["truncated"] == 0

    table = cli("stats", "-w", workspace).out.splitlines()
    by_pref = next(i for i, line in enumerate(table) if "Instructions by preference" in line)
    headers = table[by_pref + 1].split()
    assert headers[:5] == ["preference", "instr", "done", "cut", "fail"]
    style_row = next(line.split() for line in table[by_pref:] if line.startswith("style"))
    assert style_row[1:5] == ["1", "3", "1", "0"]
    by_model = next(i for i, line in enumerate(table) if "Responses by model" in line)
    assert table[by_model + 1].split()[:5] == ["model", "assign", "done", "cut", "fail"]
    c_row = next(line.split() for line in table[by_model:] if line.startswith("c "))
    assert c_row[1:5] == ["1", "1", "1", "0"]
