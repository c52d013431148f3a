"""Batch throughput: our generate and judge jobs against the bare client, at several
concurrencies, and against a one-at-a-time loop (and distilabel, where installed).

Starts the loopback test server (tests/fake_openai.py) in its own process with 50 ms of
latency per request, builds a workspace of N instructions with 4 responses each, and times,
over the same prompts:
- our jobs (the code `cuf-tui generate` and `cuf-tui judge` run, results in the store) at
  concurrency 16, 64 and 256;
- a bare `asyncio.gather` over `openai.AsyncOpenAI` at the same concurrency, results dropped;
- a one-request-at-a-time loop with the synchronous client, as the paper's scripts did
  (on a sample of requests, to keep the run short);
- distilabel's TextGeneration with OpenAILLM, where distilabel is installed.
Targets: each job >= the bare client at every concurrency, the judge job >= 20x the loop and
>= 2.5x distilabel.

    python -m benchmarks.bench_jobs [--requests 2000] [--sequential 200] [--concurrency 16 64 256]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from pathlib import Path

from tests.fake_openai import start_in_subprocess

PREFERENCES = ("instruction-following", "explanation", "complexity", "readability", "style")
CONCURRENCIES = (16, 64, 256)
MODELS = ["alpha", "beta", "gamma", "delta"]
# (kind, entry name prefix, the model the loopback server plays)
RUNS = (("generate", "gen", "alpha"), ("judge", "judge", "judge-markdown"))


def build_workspace(
    root: Path, base_url: str, count: int, concurrencies: list[int], kind: str
) -> Path:
    """N instructions, with 4 responses each for judging, bare for generation; one entry per
    concurrency (so each run has its own work), all on the loopback server."""
    from cuf_tui.cli import main

    rows = []
    for i in range(count):
        row: dict[str, object] = {
            "instruction": f"Task {i}: write a function that merges two sorted lists.",
            "preference": PREFERENCES[i % 5],
        }
        if kind == "judge":
            row["models"] = MODELS
            row["responses"] = [
                {
                    "model": m,
                    "response": f"```python\ndef merge(a, b):\n    return sorted(a + b)\n"
                    f"```\nThis is answer {i}.\n-- answered by {m}",
                }
                for m in MODELS
            ]
            row["annotations"] = []
        rows.append(row)
    source = root / f"{kind}.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ws = root / kind
    main(["init", str(ws)])
    section, prefix, model = next(run for run in RUNS if run[0] == kind)[0:3]
    section = "judges" if kind == "judge" else "models"
    entries = [
        f'\n[[{section}]]\nname = "{prefix}-{concurrency}"\nengine = "openai"\n'
        f'model = "{model}"\nbase_url = "{base_url}"\nmax_concurrency = {concurrency}\n'
        "temperature = 0.0\n"
        for concurrency in concurrencies
    ]
    config = (ws / "cuf.toml").read_text(encoding="utf-8")
    # Every generation entry answers every instruction: each run has the same work.
    config = config.replace(
        "responses_per_instruction = 4", f"responses_per_instruction = {len(concurrencies)}"
    )
    (ws / "cuf.toml").write_text(config + "".join(entries), encoding="utf-8")
    main(["import", str(source), "-w", str(ws)])
    return ws


def prompts_of(ws: Path, kind: str, name: str) -> list[list[dict[str, str]]]:
    """The messages the job of ``kind`` for entry ``name`` would send."""
    from cuf_tui.jobs.kinds import GenerateRequest, JudgeRequest, Planning
    from cuf_tui.prompts import load_prompts
    from cuf_tui.workspace import Workspace

    workspace = Workspace(ws)
    prompts = load_prompts(ws)
    with workspace.open_store() as store:
        planning = Planning(store, workspace.config, prompts)
        if kind == "judge":
            plan = JudgeRequest(name).plan(planning).plan  # type: ignore[attr-defined]
            return [
                prompts.judge_messages(u.instruction.text, u.preference, list(u.responses.values()))
                for u in plan.units
            ]
        plan = GenerateRequest((name,)).plan(planning).plan  # type: ignore[attr-defined]
        return [
            prompts.generation_messages(
                u.instruction.text,
                u.preference,
                prompts.choose_principle(u.preference, 42, u.instruction.key, name),
            )
            for u in plan.units
        ]


def time_our_job(ws: Path, kind: str, name: str) -> tuple[float, int]:
    from cuf_tui.jobs.kinds import GenerateRequest, JudgeRequest
    from cuf_tui.jobs.launch import prepare_job
    from cuf_tui.jobs.lifecycle import run_job
    from cuf_tui.workspace import Workspace

    workspace = Workspace(ws)
    request = JudgeRequest(name) if kind == "judge" else GenerateRequest((name,))
    job_id = prepare_job(workspace, request)
    start = time.perf_counter()
    outcome = asyncio.run(run_job(workspace, job_id))
    elapsed = time.perf_counter() - start
    assert outcome.progress.failed == 0, outcome
    return elapsed, outcome.progress.done


def time_bare_client(
    base_url: str, model: str, prompts: list[list[dict[str, str]]], concurrency: int
) -> float:
    from openai import AsyncOpenAI

    async def run() -> None:
        client = AsyncOpenAI(base_url=base_url, api_key="not-needed")
        limit = asyncio.Semaphore(concurrency)

        async def one(messages: list[dict[str, str]]) -> None:
            async with limit:
                await client.chat.completions.create(
                    model=model,
                    messages=messages,  # type: ignore[arg-type]
                    temperature=0.0,
                )

        await asyncio.gather(*(one(m) for m in prompts))
        await client.close()

    start = time.perf_counter()
    asyncio.run(run())
    return time.perf_counter() - start


def time_sequential(base_url: str, prompts: list[list[dict[str, str]]]) -> float:
    from openai import OpenAI

    client = OpenAI(base_url=base_url, api_key="not-needed")
    start = time.perf_counter()
    for messages in prompts:
        client.chat.completions.create(
            model="judge-markdown",
            messages=messages,  # type: ignore[arg-type]
            temperature=0.0,
        )
    return time.perf_counter() - start


def time_distilabel(base_url: str, prompts: list[list[dict[str, str]]]) -> float | None:
    try:
        try:
            from distilabel.models import OpenAILLM  # type: ignore[import-not-found]
        except ImportError:
            from distilabel.llms import OpenAILLM  # type: ignore[import-not-found]
        from distilabel.pipeline import Pipeline  # type: ignore[import-not-found]
        from distilabel.steps import LoadDataFromDicts  # type: ignore[import-not-found]
        from distilabel.steps.tasks import TextGeneration  # type: ignore[import-not-found]
    except ImportError:
        return None
    data = [{"instruction": m[-1]["content"], "system_prompt": m[0]["content"]} for m in prompts]
    with Pipeline(name="bench") as pipeline:
        load = LoadDataFromDicts(data=data, batch_size=len(data))
        generate = TextGeneration(
            llm=OpenAILLM(model="judge-markdown", base_url=base_url, api_key="not-needed"),
            input_batch_size=64,
        )
        load >> generate
    start = time.perf_counter()
    distiset = pipeline.run(use_cache=False)
    elapsed = time.perf_counter() - start
    generations = distiset["default"]["train"]["generation"]
    answered = sum(1 for g in generations if g)
    assert answered == len(data), f"distilabel answered {answered} of {len(data)}"
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--sequential", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05)
    parser.add_argument("--concurrency", type=int, nargs="+", default=list(CONCURRENCIES))
    args = parser.parse_args()
    server, base_url = start_in_subprocess(args.latency)
    results: list[tuple[str, int, float, float, int]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workspaces = {
                kind: build_workspace(Path(tmp), base_url, args.requests, args.concurrency, kind)
                for kind, _, _ in RUNS
            }
            warm = prompts_of(workspaces["judge"], "judge", f"judge-{args.concurrency[0]}")
            time_bare_client(base_url, "judge-markdown", warm[:200], 64)  # warm up both sides
            for concurrency in args.concurrency:
                for kind, prefix, model in (
                    ("generate", "gen", "alpha"),
                    ("judge", "judge", "judge-markdown"),
                ):
                    name = f"{prefix}-{concurrency}"
                    ws = workspaces[kind]
                    prompts = prompts_of(ws, kind, name)
                    job_s, stored = time_our_job(ws, kind, name)
                    bare_s = time_bare_client(base_url, model, prompts, concurrency)
                    results.append(
                        (kind, concurrency, len(prompts) / job_s, len(prompts) / bare_s, stored)
                    )
            seq_s = time_sequential(base_url, warm[: args.sequential])
            distilabel_s = time_distilabel(base_url, warm)
    finally:
        server.terminate()
        server.wait()
    print(
        f"requests per run           {args.requests} (server latency {args.latency * 1000:.0f} ms)"
    )
    print("job           concurrency   job req/s   bare client req/s   job / bare")
    for kind, concurrency, ours, bare, stored in results:
        print(
            f"{kind:<13} {concurrency:>11}   {ours:9.1f}   {bare:17.1f}   {ours / bare:9.0%}"
            f"   ({stored} stored)"
        )
    seq = args.sequential / seq_s
    print(f"one at a time ({args.sequential:>4})      {seq:7.1f} req/s")
    judged = {c: ours for kind, c, ours, _, _ in results if kind == "judge"}
    # The paper's comparison at 64 requests in flight, or the fastest concurrency run.
    best = 64 if 64 in judged else max(judged, key=lambda c: judged[c])
    print(f"judge job at {best} / one at a time   {judged[best] / seq:6.1f}x  (target >= 20x)")
    if distilabel_s is None:
        print("distilabel                 not installed")
    else:
        rate = len(warm) / distilabel_s
        print(f"distilabel TextGeneration  {rate:7.1f} req/s")
        print(f"judge job at {best} / distilabel   {judged[best] / rate:6.1f}x  (target >= 2.5x)")
    print("target: every job >= 100% of the bare client at the same concurrency")


if __name__ == "__main__":
    main()
