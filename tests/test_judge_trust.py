"""Judge trust against judges of known behaviour on the loopback server: several judges side by
side, panels in exports, and the position, length and self-preference probes naming the biased
judge and not the truthful one, with the injected effect's size."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cuf_tui.store.db import open_store
from cuf_tui.store.reviews import write_review
from tests.batch_helpers import make_workspace, rows
from tests.conftest import read_jsonl
from tests.fake_openai import LENGTH_STEP, expected_rating

# Truthful ratings 2, 4, 1, 3 (RATINGS): a judge that adds a point always can. Families read
# from the names: llama, qwen, llama, mistral.
POOL = ["beta-llama", "gamma-qwen", "delta-llama", "epsilon-mistral"]
TRUTHFUL = "judge-markdown"
FIRST_PLUS = "judge-firstplus"


def _judged_workspace(cli, server, root: Path, judges: list[str], count: int = 20, **kw) -> Path:
    instructions = kw.pop("instructions", None) or [
        {"instruction": f"Write helper number {i} in Python.", "preference": "style"}
        for i in range(count)
    ]
    ws = make_workspace(root, server.base_url, POOL, judges, instructions, **kw)
    assert cli("generate", "-w", ws).code == 0
    run = cli("judge", "--all-judges", "-w", ws)
    assert run.code == 0, run.err
    return ws


def test_several_judges_judge_side_by_side_and_exports_combine_them(cli, server, tmp_path):
    ws = _judged_workspace(cli, server, tmp_path / "ws", [TRUTHFUL, FIRST_PLUS], count=6)
    assert rows(ws, "SELECT judge, count(*) FROM judgments GROUP BY 1 ORDER BY 1") == [
        (FIRST_PLUS, 6),
        (TRUTHFUL, 6),
    ]
    assert rows(ws, "SELECT kind, state FROM jobs WHERE kind = 'judge'") == [
        ("judge", "done"),
        ("judge", "done"),
    ]
    # The first shown got a point more from judge-firstplus: a half more in the mean and the
    # median of two, rounded up to a whole rating; no majority of two that differ.
    first_shown = dict(
        rows(
            ws,
            "SELECT j.instruction_id, jr.model FROM judgments j JOIN judgment_ratings jr "
            "ON jr.judgment_id = j.id WHERE j.judge = ? AND jr.position_shown = 1",
            (FIRST_PLUS,),
        )
    )
    for method, bumped in (("mean", 1), ("median", 1), ("majority", None)):
        out = tmp_path / f"{method}.jsonl"
        run = cli("export", "--format", "cuf", "--panel", method, "--out", out, "-w", ws)
        assert run.code == 0, run.err
        exported = read_jsonl(out)
        assert len(exported) == 6
        for instruction_id, row in enumerate(exported, start=1):
            assert row["judge"] == f"panel:{method}({FIRST_PLUS},{TRUTHFUL})"
            for note in row["annotations"]:
                truth = expected_rating(note["model"])
                assert note["panel"] == {
                    TRUTHFUL: truth,
                    FIRST_PLUS: truth + (note["model"] == first_shown[instruction_id]),
                }
                if note["model"] != first_shown[instruction_id]:
                    assert note["rating"] == str(truth)
                elif bumped is None:  # two members disagree: no majority, no rating
                    assert note["rating"] == "N/A"
                else:
                    assert note["rating"] == str(truth + bumped)
    # By default, the first [[judges]] entry's ratings (not the latest judge's), and the
    # output says whose they are and which judges it left out.
    default = tmp_path / "default.jsonl"
    run = cli("export", "--format", "cuf", "--out", default, "-w", ws)
    assert {r["judge"] for r in read_jsonl(default)} == {TRUTHFUL}
    assert f"ratings by {TRUTHFUL} (6)" in run.out and f"not used: {FIRST_PLUS}" in run.out
    # A panel's cuf export reads back.
    again = make_workspace(tmp_path / "again", server.base_url, POOL, [TRUTHFUL], [])
    imported = cli("import", tmp_path / "mean.jsonl", "-w", again)
    assert imported.code == 0, imported.err
    # One judge by name, or several only as a panel.
    out = tmp_path / "one.jsonl"
    assert cli("export", "--format", "cuf", "--judge", TRUTHFUL, "--out", out, "-w", ws).code == 0
    assert {r["judge"] for r in read_jsonl(out)} == {TRUTHFUL}
    both = cli(
        "export",
        "--format",
        "cuf",
        "--judge",
        TRUTHFUL,
        "--judge",
        FIRST_PLUS,
        "--out",
        tmp_path / "two.jsonl",
        "-w",
        ws,
    )
    assert both.code == 1 and "--panel" in both.err
    unknown = cli(
        "export",
        "--format",
        "dpo",
        "--panel",
        "mean",
        "--judge",
        "judge-nobody",
        "--out",
        tmp_path / "x.jsonl",
        "-w",
        ws,
    )
    assert unknown.code == 1 and "judge-nobody" in unknown.err and TRUTHFUL in unknown.err
    pairs = tmp_path / "pairs.jsonl"
    assert cli("export", "--format", "dpo", "--panel", "median", "--out", pairs, "-w", ws).code == 0
    assert all(p["judge"].startswith("panel:median(") for p in read_jsonl(pairs))


def test_the_position_probe_names_the_judge_that_favours_the_first_place(cli, server, tmp_path):
    ws = _judged_workspace(cli, server, tmp_path / "ws", [TRUTHFUL, FIRST_PLUS], count=24)
    export_before = tmp_path / "before.jsonl"
    assert cli("export", "--format", "cuf", "--out", export_before, "-w", ws).code == 0
    reports = {}
    for judge in (TRUTHFUL, FIRST_PLUS):
        run = cli("probe", "position", "--judge", judge, "--sample", "12", "--json", "-w", ws)
        assert run.code == 0, run.err
        reports[judge] = json.loads(run.out[run.out.index("{") :])
    # 12 instructions, each judged again in the 3 other rotations of its first order.
    assert rows(
        ws,
        "SELECT judge, count(*), count(DISTINCT instruction_id) FROM "
        "probe_judgments WHERE state = 'done' GROUP BY 1 ORDER BY 1",
    ) == [
        (FIRST_PLUS, 36, 12),
        (TRUTHFUL, 36, 12),
    ]
    # Every response was shown in every position.
    placed = rows(
        ws,
        "SELECT p.instruction_id, pr.model, count(DISTINCT pr.position_shown) "
        "FROM probe_judgments p JOIN probe_ratings pr ON pr.probe_judgment_id = p.id "
        "WHERE p.judge = ? GROUP BY 1, 2",
        (TRUTHFUL,),
    )
    assert {n for _, _, n in placed} == {3}  # and the first judgment holds the 4th position

    biased, truthful = reports[FIRST_PLUS], reports[TRUTHFUL]
    assert biased["favoured"] == [1] and truthful["favoured"] == []
    effects = {e["position"]: e for e in biased["effects"]}
    assert effects[1]["mean_change"] == pytest.approx(1.0, abs=0.05)
    for position in (2, 3, 4):
        assert effects[position]["mean_change"] == pytest.approx(-1 / 3, abs=0.05)
    low, high = effects[1]["interval"]
    assert 0.5 < low <= 1.0 <= high + 1e-9
    assert effects[1]["share_changed"] == pytest.approx(1.0)
    assert "position-biased" in biased["verdict"] and "favours position 1" in biased["verdict"]
    assert all(e["mean_change"] == 0 for e in truthful["effects"])
    assert truthful["share_responses_changed"] == 0 and truthful["share_best_changed"] == 0
    assert "no position bias" in truthful["verdict"]

    # Probe judgments stay apart: the export is the same, the dataset's judgments untouched.
    export_after = tmp_path / "after.jsonl"
    assert cli("export", "--format", "cuf", "--out", export_after, "-w", ws).code == 0
    assert export_after.read_bytes() == export_before.read_bytes()
    # Again: nothing more to request, the same report; a table for people.
    asked = len(server.requests)
    again = cli("probe", "position", "--judge", FIRST_PLUS, "--sample", "12", "-w", ws)
    assert again.code == 0 and len(server.requests) == asked
    assert "complete" in again.out and "favours position 1 by +1.00" in again.out
    report_only = cli("probe", "position", "--judge", FIRST_PLUS, "--report", "-w", ws)
    assert report_only.code == 0 and "mean change" in report_only.out
    assert rows(ws, "SELECT kind, state FROM jobs WHERE kind = 'probe' ORDER BY id") == [
        ("probe", "done"),
        ("probe", "done"),
    ]


def test_a_probe_of_a_judge_that_has_judged_nothing_says_so(cli, server, tmp_path):
    ws = make_workspace(tmp_path / "ws", server.base_url, POOL, [TRUTHFUL])
    run = cli("probe", "position", "--judge", TRUTHFUL, "-w", ws)
    assert run.code == 0, run.err
    assert "Nothing to probe" in run.out and "no probe judgments" in run.out
    unknown = cli("probe", "position", "--judge", "judge-nobody", "-w", ws)
    assert unknown.code == 1 and "no judge named 'judge-nobody'" in unknown.err


def _review_truthfully(ws: Path, reviewer: str) -> None:
    with open_store(ws / "cuf.db") as store:
        for instruction_id, model in rows(
            ws, "SELECT instruction_id, model FROM responses WHERE state = 'done'"
        ):
            write_review(store, instruction_id, model, reviewer, rating=expected_rating(model))


def test_the_self_preference_probe_names_the_judge_that_favours_its_family(cli, server, tmp_path):
    favours, plain = "judge-favours-llama", "judge-plain-llama"
    ws = _judged_workspace(cli, server, tmp_path / "ws", [plain, favours], count=12)
    _review_truthfully(ws, "ann")
    dry = cli("judge", "--judge", favours, "--dry-run", "-w", ws)
    assert dry.code == 0
    # Every instruction is judged already: a new one shows the warning before it is judged.
    more = [{"instruction": "Write one more helper.", "preference": "style"}]
    (tmp_path / "more.jsonl").write_text(json.dumps(more[0]) + "\n")
    assert cli("import", tmp_path / "more.jsonl", "-w", ws).code == 0
    assert cli("generate", "-w", ws).code == 0
    dry = cli("judge", "--judge", favours, "--dry-run", "-w", ws)
    assert "its own family" in dry.err and "beta-llama" in dry.err and "delta-llama" in dry.err
    for judge, named in ((favours, True), (plain, False)):
        run = cli("probe", "self", "--judge", judge, "--json", "-w", ws)
        assert run.code == 0, run.err
        report = json.loads(run.out[run.out.index("{") :])
        assert report["family"] == "llama" and report["against"] == "reviewers"
        assert report["own_models"] == ["beta-llama", "delta-llama"]
        if named:
            assert report["preference"] == pytest.approx(1.0, abs=0.05)
            assert "favours its own family (llama) by +1.00" in report["verdict"]
        else:
            assert report["preference"] == pytest.approx(0.0, abs=0.05)
            assert "no self-preference" in report["verdict"]
    against_judge = cli("probe", "self", "--judge", favours, "--against", plain, "-w", ws)
    assert against_judge.code == 0 and "favours its own family" in against_judge.out


def test_the_length_probe_names_the_judge_that_rewards_length(cli, server, tmp_path):
    # Answers echo their instruction (ECHO), so their lengths differ by instruction.
    instructions = [
        {"instruction": "ECHO " + "spell it out " * (3 * i + 1), "preference": "style"}
        for i in range(24)
    ]
    ws = _judged_workspace(
        cli, server, tmp_path / "ws", [TRUTHFUL, "judge-longer"], instructions=instructions
    )
    lengths = [len(t) for (t,) in rows(ws, "SELECT text FROM responses")]
    assert max(lengths) - min(lengths) > 4 * LENGTH_STEP
    _review_truthfully(ws, "ann")
    run = cli("probe", "length", "--json", "-w", ws)
    assert run.code == 0, run.err
    found = {(c["rater"], c["preference"]): c for c in json.loads(run.out)}
    assert found[("judge-longer", "all")]["rho_chars"] > 0.9
    assert abs(found[(TRUTHFUL, "all")]["rho_chars"]) < 0.3
    assert abs(found[("ann", "all")]["rho_chars"]) < 0.3
    assert found[("ann", "all")]["kind"] == "reviewer"
    table = cli("probe", "length", "-w", ws)
    assert "judge-longer rewards length more than the reviewers do" in table.out
    assert f"{TRUTHFUL} rewards" not in table.out


def test_the_workbench_confirmation_warns_of_a_judge_of_the_pools_family(cli, server, tmp_path):
    from cuf_tui.tui.batch import describe_plan
    from cuf_tui.workspace import Workspace

    two = [{"instruction": f"Write helper {i}.", "preference": "style"} for i in range(2)]
    ws = make_workspace(tmp_path / "ws", server.base_url, POOL, ["judge-favours-llama"], two)
    assert cli("generate", "-w", ws).code == 0
    title, summary, params = describe_plan(Workspace(ws), "judge")
    assert title == "Judge?" and params is not None
    assert "judge-favours-llama (llama) judges answers of its own family" in summary
    assert "beta-llama, delta-llama" in summary


def test_with_two_responses_only_the_favoured_position_is_named() -> None:
    from cuf_tui.analysis.bias import position_report
    from cuf_tui.store.probes import PlacedRating

    placed = []
    for i in range(1, 31):
        truth = {"a": 1 + i % 3, "b": 2 + i % 2}
        for rotation, order in ((0, ["a", "b"]), (1, ["b", "a"])):
            for position, model in enumerate(order, start=1):
                rating = truth[model] + (position == 1)
                placed.append(PlacedRating(i, "style", model, rotation, position, rating))
    report = position_report(placed, "j", resamples=200, seed=1)
    assert report.favoured == [1]
    assert "favours position 1 by +1.00" in report.verdict and "disfavours" not in report.verdict


def test_a_rater_of_one_rating_throughout_has_no_kappa_and_no_poor_agreement_warning() -> None:
    from cuf_tui.analysis.agreement import rater_agreement
    from cuf_tui.analysis.trust import agreement_warnings
    from cuf_tui.store.ratings import Rater, RaterRating

    judge, person = Rater("judge", "j"), Rater("reviewer", "cara")
    ratings = [RaterRating(i, "m", "style", person, 3) for i in range(120)]
    ratings += [RaterRating(i, "m", "style", judge, 4 if i == 0 else 3) for i in range(120)]
    found = rater_agreement(ratings, resamples=50, seed=1)
    (pair,) = found.overall.pairs
    assert pair.kappa is None and pair.rho is None and pair.exact.value > 0.99
    assert "cara (reviewer) rated every one 3" in pair.note
    assert agreement_warnings(found, "j") == []


def test_a_crowd_of_reviewers_is_measured_as_one_rater() -> None:
    from cuf_tui.analysis.agreement import rater_agreement
    from cuf_tui.analysis.trust import MOST_NAMED_REVIEWERS, pooled_reviewers
    from cuf_tui.store.ratings import Rater, RaterRating

    judge = Rater("judge", "j")
    ratings = [RaterRating(i, "m", "style", judge, 1 + i % 5) for i in range(60)]
    crowd = MOST_NAMED_REVIEWERS + 3
    ratings += [
        RaterRating(i, "m", "style", Rater("reviewer", f"r{n}"), 1 + (i + n % 2) % 5)
        for i in range(60)
        for n in range(crowd)
        if (i + n) % 3 == 0
    ]
    pooled, count = pooled_reviewers(ratings)
    assert count == crowd
    found = rater_agreement(pooled, resamples=20, seed=1)
    assert [r.label for r in found.raters] == ["j", f"all {crowd} (reviewer)"]
    few, _ = pooled_reviewers(ratings[:80])
    assert len({r.rater for r in few}) <= MOST_NAMED_REVIEWERS + 1  # named, not pooled


def test_stored_ratings_of_a_judge_not_in_cuf_toml_can_be_probed(cli, server, tmp_path):
    ws = _judged_workspace(cli, server, tmp_path / "ws", [TRUTHFUL, "judge-favours-llama"],
                           count=12)  # fmt: skip
    _review_truthfully(ws, "ann")
    (ws / "cuf.toml").write_text('[workspace]\nname = "later"\n', encoding="utf-8")  # no judges
    run = cli("probe", "self", "--judge", "judge-favours-llama", "--json", "-w", ws)
    assert run.code == 0, run.err
    assert json.loads(run.out)["family"] == "llama"
    report = cli("probe", "position", "--judge", TRUTHFUL, "--report", "-w", ws)
    assert report.code == 0, report.err
    unknown = cli("probe", "length", "--judge", "judge-nobody", "-w", ws)
    assert unknown.code == 1 and "judge-nobody" in unknown.err and TRUTHFUL in unknown.err


def test_a_crowd_of_reviewers_is_one_rater_for_length_too() -> None:
    from cuf_tui.analysis.trust import MOST_NAMED_REVIEWERS, pooled_texts

    crowd = [(f"r{n}", "reviewer", "style", 3, "x" * n) for n in range(MOST_NAMED_REVIEWERS + 1)]
    rated = [("j", "judge", "style", 4, "y"), *crowd]
    pooled = pooled_texts(rated)
    assert {r[0] for r in pooled} == {"j", f"all {MOST_NAMED_REVIEWERS + 1}"}
    assert len(pooled) == len(rated)
    assert pooled_texts(rated[:5]) == rated[:5]
