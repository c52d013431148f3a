"""Planning a batch from the store: which units a run asks for, which it leaves out and
why, and the estimate before it starts."""

from __future__ import annotations

from cuf_tui.jobs.kinds import GenerateRequest, JudgeRequest, Planning
from cuf_tui.prompts import load_prompts
from cuf_tui.workspace import Workspace
from tests.batch_helpers import make_workspace, rows


def planning_of(ws) -> tuple[Workspace, Planning]:
    workspace = Workspace(ws)
    return workspace, Planning(workspace.open_store(), workspace.config, load_prompts(ws))


def test_generation_plans_each_missing_response_once_and_assigns_models(tmp_path) -> None:
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", ["alpha", "beta", "gamma"])
    _, planning = planning_of(ws)
    plan = GenerateRequest(limit=4).plan(planning)
    assert plan.requests == 4 * 3 and plan.assignments == 4  # the whole pool of 3, 4 items
    units = plan.plan.units  # type: ignore[attr-defined]
    assert len({(u.instruction.id, u.model) for u in units}) == len(units)
    assert [e.name for e in plan.endpoints] == ["alpha", "beta", "gamma"]
    (estimate,) = GenerateRequest(("beta",), 2).plan(planning).estimates(planning)
    assert (estimate.name, estimate.requests, estimate.output_measured) == ("beta", 2, False)
    assert estimate.output_tokens == 2 * 1024 // 2  # half of max_tokens, nothing measured yet
    planning.store.close()


def test_judging_waits_for_every_response_and_skips_permanent_failures(tmp_path) -> None:
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", ["alpha", "beta"], ["judge-json"])
    _, planning = planning_of(ws)
    store = planning.store
    store.write('UPDATE instructions SET models = \'["alpha", "beta"]\'')
    for instruction_id in (1, 2, 3):
        for model in ("alpha", "beta"):
            store.write(
                "INSERT INTO responses (instruction_id, model, text, state, source) "
                "VALUES (?, ?, 'an answer', 'done', 'test')",
                (instruction_id, model),
            )
    store.write(
        "INSERT INTO judgments (instruction_id, judge, template_sha256, order_shown, state, "
        "error, source, permanent_failure) VALUES (3, 'judge-json', ?, '[]', 'failed', "
        "'HTTP 400', 'test', 1)",
        (planning.prompts.judge_template_sha256("complexity", "sections"),),
    )
    plan = JudgeRequest().plan(planning)
    assert plan.request == JudgeRequest("judge-json")  # the default judge, resolved
    judged = [u.instruction.id for u in plan.plan.units]  # type: ignore[attr-defined]
    assert judged == [1, 2] and plan.skipped_failures == 1
    assert plan.notes() == ["7 instructions wait for responses before they can be judged"]
    retried = JudgeRequest(retry_failed=True).plan(planning)
    assert [u.instruction.id for u in retried.plan.units] == [1, 2, 3]  # type: ignore[attr-defined]
    assert rows(ws, "SELECT count(*) FROM judgments") == [(1,)]  # planning wrote nothing
    store.close()


def test_nothing_to_judge_says_why_when_no_instruction_has_its_responses(tmp_path) -> None:
    ws = make_workspace(tmp_path / "ws", "http://127.0.0.1:9/v1", ["alpha"], ["judge-json"])
    _, planning = planning_of(ws)
    plan = JudgeRequest().plan(planning)
    assert plan.requests == 0
    assert plan.nothing_to_do().startswith("Nothing to judge yet: no instruction has all")
    planning.store.close()
