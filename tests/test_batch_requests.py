"""A batch is described once: its typed request is stored losslessly as the job's parameters
(which are the job's identity, so a re-run finds it), and the command line, the workbench
and the worker plan it the same way."""

from __future__ import annotations

import json

import pytest

from cuf_tui.jobs.kinds import (
    KINDS,
    BenchRequest,
    GenerateRequest,
    JudgeRequest,
    ProbeRequest,
    request_from_params,
)
from cuf_tui.jobs.kinds.base import ParamsError
from tests.batch_helpers import make_workspace, rows

REQUESTS = [
    GenerateRequest(),
    GenerateRequest(("alpha", "beta"), 5, True),
    JudgeRequest(),
    JudgeRequest("judge-json", 3, False),
    BenchRequest("alpha"),
    BenchRequest("alpha", "judge-json", "gpt-4-turbo", 7, True),
    ProbeRequest(),
    ProbeRequest("judge-json", 20, True),
]


@pytest.mark.parametrize("request_", REQUESTS, ids=repr)
def test_a_request_comes_back_whole_from_its_stored_parameters(request_) -> None:
    stored = json.dumps(request_.params(), sort_keys=True)
    assert request_from_params(request_.kind, stored) == request_
    assert set(KINDS) == {"generate", "judge", "bench", "probe"}


def test_parameters_stay_those_of_jobs_already_in_stores() -> None:
    """Stored jobs are found again by their parameters: their form must not drift."""
    assert GenerateRequest(("beta", "alpha")).params() == {
        "models": ["alpha", "beta"],
        "limit": None,
        "retry_failed": False,
    }
    assert JudgeRequest("j", 2).params() == {"judge": "j", "limit": 2, "retry_failed": False}
    assert BenchRequest("m", "j", "r").params() == {
        "model": "m",
        "judge": "j",
        "reference": "r",
        "limit": None,
        "retry_failed": False,
    }
    assert ProbeRequest("j", 20).params() == {"judge": "j", "sample": 20, "retry_failed": False}


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("generate", {"models": None, "limit": None}),  # a key missing
        ("judge", {"judge": None, "limit": None, "retry_failed": False, "panel": "mean"}),
        ("translate", {}),
    ],
)
def test_parameters_this_version_does_not_know_are_refused(kind, params) -> None:
    with pytest.raises(ParamsError):
        request_from_params(kind, params)


def test_the_command_line_and_the_workbench_make_the_same_job(cli, server, tmp_path) -> None:
    """`cuf-tui judge` and J in the workbench resolve the default judge the same way, so
    they find the same job: running one after the other resumes, never duplicates."""
    from cuf_tui.tui.batch import describe_plan
    from cuf_tui.workspace import Workspace

    ws = make_workspace(tmp_path / "ws", server.base_url, ["alpha", "beta"], ["judge-json"])
    assert cli("generate", "-w", ws).code == 0
    _, _, params = describe_plan(Workspace(ws), "judge")
    assert params == JudgeRequest("judge-json").params()
    assert cli("judge", "--limit", "2", "-w", ws).code == 0
    stored = rows(ws, "SELECT params FROM jobs WHERE kind = 'judge'")
    assert [json.loads(p) for (p,) in stored] == [JudgeRequest("judge-json", 2).params()]
