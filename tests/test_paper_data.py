"""Getting the paper's data in: its published CODAL-Bench grades (`--format grades`, one line
per bench item in the bench's order), and plain instruction files given a preference per row
(`--preference round-robin` or a column)."""

from __future__ import annotations

import json

from cuf_tui.core.preferences import PREFERENCES, ROUND_ROBIN_ORDER
from tests.batch_helpers import make_workspace, rows
from tests.conftest import store_dump, write_jsonl


def paper_grades(count: int) -> list[dict]:
    """Lines as the paper's grading script writes them: the judge's text and its rating."""
    return [
        {
            "judgement": f"The answer covers item {i}.\nRating: {i % 10 + 1}",
            "rating": "N/A" if i % 4 == 3 else i % 10 + 1,
        }
        for i in range(count)
    ]


def test_the_papers_grades_go_in_line_by_line_and_rank_beside_our_own(cli, tmp_path):
    ws = make_workspace(tmp_path / "ws", instructions=[], bench_items=10)
    grades = write_jsonl(tmp_path / "wizardcoder_judge_gpt-3.5.jsonl", paper_grades(10))
    run = cli(
        "import",
        grades,
        "--format",
        "grades",
        "--model",
        "wizardcoder-15b",
        "--judge",
        "gpt-3.5-turbo",
        "--reference",
        "gpt-4-turbo",
        "-w",
        ws,
    )
    assert run.code == 0, run.err
    assert "10 grades of wizardcoder-15b" in run.out and "line i to the i-th bench item" in run.out
    assert "10 imported (2 N/A, counted 0)" in run.out
    stored = rows(
        ws,
        "SELECT b.id, g.rating, g.state, g.raw_output FROM bench_grades g "
        "JOIN bench_answers a ON a.id = g.bench_answer_id JOIN bench_items b "
        "ON b.id = a.bench_item_id ORDER BY b.id",
    )
    items = [r[0] for r in rows(ws, "SELECT id FROM bench_items ORDER BY id")]
    assert [r[0] for r in stored] == items  # line i grades the i-th item
    assert [r[1] for r in stored] == [None if i % 4 == 3 else i % 10 + 1 for i in range(10)]
    assert {r[2] for r in stored} == {"done", "unparsed"}
    assert stored[0][3].startswith("The answer covers item 0.")

    report = json.loads(cli("bench-report", "--format", "json", "-w", ws).out)
    overall = next(r for r in report if r["preference"] == "average")
    assert overall["model"] == "wizardcoder-15b" and overall["protocol"] == "imported"
    assert overall["complete"] and overall["coverage"] == "10/10"
    # Items of preference p are i = p, p+5: the mean of each pair, N/A as 0, then the mean.
    values = [0 if i % 4 == 3 else i % 10 + 1 for i in range(10)]
    by_preference = [(values[p] + values[p + 5]) / 2 for p in range(5)]
    assert overall["score"] == round(sum(by_preference) / 5, 3)

    again = cli(
        "import",
        grades,
        "--format",
        "grades",
        "--model",
        "wizardcoder-15b",
        "--judge",
        "gpt-3.5-turbo",
        "--reference",
        "gpt-4-turbo",
        "-w",
        ws,
    )
    assert again.code == 0 and "0 imported" in again.out and "10 already present" in again.out


def test_a_grade_file_that_does_not_fit_the_bench_leaves_the_store_untouched(cli, tmp_path):
    ws = make_workspace(tmp_path / "ws", instructions=[], bench_items=10)
    before = store_dump(ws)
    base = ["--format", "grades", "--model", "m", "--judge", "j", "-w", ws]

    short = write_jsonl(tmp_path / "short.jsonl", paper_grades(7))
    run = cli("import", short, *base, "--reference", "gpt-4-turbo")
    assert run.code != 0 and "7 lines, but the bench holds 10 items" in run.err
    assert "--partial" in run.err
    long = write_jsonl(tmp_path / "long.jsonl", paper_grades(12))
    run = cli("import", long, *base, "--reference", "gpt-4-turbo", "--partial")
    assert run.code != 0 and "12 lines, but the bench holds 10 items" in run.err
    bad = paper_grades(10)
    bad[4]["rating"] = 11
    run = cli(
        "import", write_jsonl(tmp_path / "bad.jsonl", bad), *base, "--reference", "gpt-4-turbo"
    )
    assert run.code != 0 and "line 5" in run.err and "rating" in run.err
    run = cli(
        "import",
        write_jsonl(tmp_path / "ok.jsonl", paper_grades(10)),
        *base,
        "--reference",
        "claude",
    )
    assert run.code != 0 and "no reference answers by it" in run.err and "gpt-4-turbo" in run.err
    run = cli("import", short, "--format", "grades", "--model", "m", "-w", ws)
    assert run.code != 0 and "--judge, --reference missing" in run.err
    assert store_dump(ws) == before

    # --partial grades the first items; the run is shown incomplete.
    run = cli("import", short, *base, "--reference", "gpt-4-turbo", "--partial")
    assert run.code == 0, run.err
    overall = next(
        r
        for r in json.loads(cli("bench-report", "--format", "json", "-w", ws).out)
        if r["preference"] == "average"
    )
    assert overall["coverage"] == "7/10" and not overall["complete"] and overall["rank"] is None


def test_published_grades_never_land_on_answers_made_here(cli, server, tmp_path):
    ws = make_workspace(
        tmp_path / "ws", server.base_url, ["alpha"], ["judge-json"], instructions=[], bench_items=5
    )
    assert cli("bench", "--model", "alpha", "--reference", "gpt-4-turbo", "-w", ws).code == 0
    before = store_dump(ws)
    run = cli(
        "import",
        write_jsonl(tmp_path / "g.jsonl", paper_grades(5)),
        "--format",
        "grades",
        "--model",
        "alpha",
        "--judge",
        "judge-json",
        "--reference",
        "gpt-4-turbo",
        "-w",
        ws,
    )
    assert run.code != 0 and "import them under another name" in run.err
    assert "--model alpha-published" in run.err
    assert store_dump(ws) == before


def test_grades_with_their_instruction_are_matched_by_it(cli, tmp_path):
    ws = make_workspace(tmp_path / "ws", instructions=[], bench_items=5)
    items = rows(ws, "SELECT text FROM bench_items ORDER BY id")
    lines = [
        {"instruction": text, "judgement": "Rating: 6", "rating": 6} for (text,) in reversed(items)
    ]
    run = cli(
        "import",
        write_jsonl(tmp_path / "g.jsonl", lines),
        "--format",
        "grades",
        "--model",
        "m",
        "--judge",
        "j",
        "--reference",
        "gpt-4-turbo",
        "-w",
        ws,
    )
    assert run.code == 0, run.err
    assert "matched by instruction" in run.out
    assert rows(ws, "SELECT count(*), min(rating), max(rating) FROM bench_grades") == [(5, 6, 6)]


def test_plain_instructions_get_a_preference_per_row(cli, tmp_path):
    ws = make_workspace(tmp_path / "ws", instructions=[])
    plain = write_jsonl(
        tmp_path / "plain.jsonl",
        [{"instruction": f"Write task {i}.", "kind": PREFERENCES[(i * 2) % 5]} for i in range(12)],
    )
    run = cli("import", plain, "--preference", "round-robin", "-w", ws)
    assert run.code == 0, run.err
    got = [p for (p,) in rows(ws, "SELECT preference FROM instructions ORDER BY id")]
    assert got == [ROUND_ROBIN_ORDER[i % 5] for i in range(12)]
    assert ROUND_ROBIN_ORDER[:2] == ("instruction-following", "readability")

    other = make_workspace(tmp_path / "other", instructions=[])
    run = cli("import", plain, "--preference", "kind", "-w", other)
    assert run.code == 0, run.err
    got = [p for (p,) in rows(other, "SELECT preference FROM instructions ORDER BY id")]
    assert got == [PREFERENCES[(i * 2) % 5] for i in range(12)]

    before = store_dump(other)
    run = cli("import", plain, "--preference", "nonsense", "-w", other)
    assert run.code != 0 and "neither a preference" in run.err and "kind" in run.err
    wrong = write_jsonl(tmp_path / "wrong.jsonl", [{"instruction": "x", "kind": "speed"}])
    run = cli("import", wrong, "--preference", "kind", "-w", other)
    assert run.code != 0 and "'kind'" in run.err and "speed" in run.err
    assert store_dump(other) == before


def test_grades_of_items_the_reference_never_answered_are_refused(cli, tmp_path):
    # gpt-3.5-turbo answered only the odd items of this bench.
    ws = make_workspace(tmp_path / "ws", instructions=[], bench_items=10)
    before = store_dump(ws)
    run = cli(
        "import",
        write_jsonl(tmp_path / "g.jsonl", paper_grades(10)),
        "--format",
        "grades",
        "--model",
        "pub",
        "--judge",
        "j",
        "--reference",
        "gpt-3.5-turbo",
        "-w",
        ws,
    )
    assert (
        run.code != 0 and "line 1" in run.err and "no reference answer by gpt-3.5-turbo" in run.err
    )
    items = rows(ws, "SELECT text FROM bench_items ORDER BY id")
    twice = [{"instruction": items[0][0], "rating": 5}, {"instruction": items[0][0], "rating": 9}]
    run = cli(
        "import",
        write_jsonl(tmp_path / "twice.jsonl", twice),
        "--format",
        "grades",
        "--model",
        "pub",
        "--judge",
        "j",
        "--reference",
        "gpt-4-turbo",
        "--partial",
        "-w",
        ws,
    )
    assert run.code != 0 and "line 2: grades the same bench item as line 1" in run.err
    assert store_dump(ws) == before

    # A spreadsheet's ratings are text: "7" reads as 7.
    csv = tmp_path / "grades.csv"
    csv.write_text("rating,judgement\n" + "".join(f"{i % 10 + 1},ok\n" for i in range(10)))
    run = cli(
        "import",
        csv,
        "--format",
        "grades",
        "--model",
        "pub",
        "--judge",
        "j",
        "--reference",
        "gpt-4-turbo",
        "-w",
        ws,
    )
    assert run.code == 0, run.err
    assert rows(ws, "SELECT min(rating), max(rating) FROM bench_grades") == [(1, 10)]
