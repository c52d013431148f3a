"""The kinds of batch, one module each (a request, its plan and its work); a new kind is a
new module here and a line in KINDS."""

from __future__ import annotations

import json
from typing import Any

from cuf_tui.jobs.kinds.base import (
    BatchPlan,
    BatchRequest,
    ParamsError,
    Planning,
    check_endpoints,
)
from cuf_tui.jobs.kinds.bench import BenchRequest
from cuf_tui.jobs.kinds.generate import GenerateRequest
from cuf_tui.jobs.kinds.judge import JudgeRequest
from cuf_tui.jobs.kinds.probe import ProbeRequest

KINDS: dict[str, Any] = {
    GenerateRequest.kind: GenerateRequest,
    JudgeRequest.kind: JudgeRequest,
    BenchRequest.kind: BenchRequest,
    ProbeRequest.kind: ProbeRequest,
}


def request_from_params(kind: str, params: str | dict[str, Any]) -> BatchRequest:
    """The request a job of ``kind`` was made for, from its stored parameters."""
    if kind not in KINDS:
        raise ParamsError(f"a job of kind {kind!r}, which this cuf-tui does not know")
    if not isinstance(params, str):
        values: Any = params
    else:
        try:
            values = json.loads(params)
        except (ValueError, RecursionError):
            shown = params if len(params) <= 80 else params[:77] + "..."
            raise ParamsError(f"a {kind} job's parameters are not JSON: {shown!r}") from None
    request: BatchRequest = KINDS[kind].from_params(values)
    return request


__all__ = [
    "KINDS",
    "BatchPlan",
    "BatchRequest",
    "BenchRequest",
    "GenerateRequest",
    "JudgeRequest",
    "Planning",
    "ProbeRequest",
    "check_endpoints",
    "request_from_params",
]
