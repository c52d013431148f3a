"""Judge throughput: our judge job against the bare client and a one-at-a-time loop.

Starts the loopback test server (tests/fake_openai.py) in its own process with 50 ms of
latency per request, builds a workspace of N instructions with 4 responses each, and times,
over the same judge prompts:
- our judge job (the same code `cuf-tui judge` runs), concurrency 64, results in the store;
- a bare `asyncio.gather` over `openai.AsyncOpenAI`, 64 requests at a time, results dropped;
- a one-request-at-a-time loop with the synchronous client, as the paper's scripts did
  (on a sample of requests, to keep the run short);
- distilabel's TextGeneration with OpenAILLM, where distilabel is installed.
Targets: job >= 80% of the bare client, >= 20x the loop, >= 2.5x distilabel.

    python benchmarks/bench_jobs.py [--requests 2000] [--sequential 200]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.fake_openai import start_in_subprocess  # noqa: E402

PREFERENCES = ("instruction-following", "explanation", "complexity", "readability", "style")
CONCURRENCY = 64


def build_workspace(root: Path, base_url: str, count: int) -> Path:
    from cuf_tui.cli import main

    models = ["alpha", "beta", "gamma", "delta"]
    rows = []
    for i in range(count):
        instruction = f"Task {i}: write a function that merges two sorted lists in Python."
        rows.append(
            {
                "instruction": instruction,
                "preference": PREFERENCES[i % 5],
                "models": models,
                "responses": [
                    {
                        "model": m,
                        "response": f"```python\ndef merge(a, b):\n    return sorted(a + b)\n"
                        f"```\nThis is answer {i}.\n-- answered by {m}",
                    }
                    for m in models
                ],
                "annotations": [],
            }
        )
    source = root / "cuf.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    ws = root / "ws"
    main(["init", str(ws)])
    with (ws / "cuf.toml").open("a", encoding="utf-8") as config:
        config.write(
            f'\n[[judges]]\nname = "judge"\nengine = "openai"\nmodel = "judge-markdown"\n'
            f'base_url = "{base_url}"\nmax_concurrency = {CONCURRENCY}\ntemperature = 0.0\n'
        )
    main(["import", str(source), "-w", str(ws)])
    return ws


def judge_prompts(ws: Path) -> list[list[dict[str, str]]]:
    from cuf_tui.jobs.plan import plan_judging
    from cuf_tui.prompts import load_prompts
    from cuf_tui.workspace import Workspace

    workspace = Workspace(ws)
    prompts = load_prompts(ws)
    with workspace.open_store() as store:
        plan = plan_judging(store, workspace.config, prompts, None, None)
    return [
        prompts.judge_messages(u.instruction.text, u.preference, list(u.responses.values()))
        for u in plan.units
    ]


def time_our_job(ws: Path) -> tuple[float, int]:
    from cuf_tui.jobs.launch import prepare_job
    from cuf_tui.jobs.runner import run_job
    from cuf_tui.workspace import Workspace

    workspace = Workspace(ws)
    job_id = prepare_job(workspace, "judge", {"judge": "judge", "limit": None})
    start = time.perf_counter()
    outcome = asyncio.run(run_job(workspace, job_id))
    elapsed = time.perf_counter() - start
    assert outcome.progress.failed == 0, outcome
    return elapsed, outcome.progress.done


def time_bare_client(base_url: str, prompts: list[list[dict[str, str]]]) -> float:
    from openai import AsyncOpenAI

    async def run() -> None:
        client = AsyncOpenAI(base_url=base_url, api_key="not-needed")
        limit = asyncio.Semaphore(CONCURRENCY)

        async def one(messages: list[dict[str, str]]) -> None:
            async with limit:
                await client.chat.completions.create(
                    model="judge-markdown",
                    messages=messages,
                    temperature=0.0,  # type: ignore[arg-type]
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
            messages=messages,
            temperature=0.0,  # type: ignore[arg-type]
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
            input_batch_size=CONCURRENCY,
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
    args = parser.parse_args()
    server, base_url = start_in_subprocess(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            ws = build_workspace(Path(tmp), base_url, args.requests)
            prompts = judge_prompts(ws)
            time_bare_client(base_url, prompts[:200])  # warm up the server and the client
            job_s, judged = time_our_job(ws)
            bare_s = time_bare_client(base_url, prompts)
            seq_s = time_sequential(base_url, prompts[: args.sequential])
            distilabel_s = time_distilabel(base_url, prompts)
    finally:
        server.terminate()
        server.wait()
    n = len(prompts)
    ours, bare, seq = n / job_s, n / bare_s, args.sequential / seq_s
    print(
        f"judge requests            {n} (server latency {args.latency * 1000:.0f} ms, "
        f"concurrency {CONCURRENCY})"
    )
    print(
        f"our judge job             {job_s:6.2f} s  {ours:7.1f} req/s  ({judged} judgments stored)"
    )
    print(f"bare AsyncOpenAI gather   {bare_s:6.2f} s  {bare:7.1f} req/s")
    print(f"one at a time ({args.sequential:>4})      {seq_s:6.2f} s  {seq:7.1f} req/s")
    if distilabel_s is None:
        print("distilabel                not installed")
    else:
        print(f"distilabel TextGeneration {distilabel_s:6.2f} s  {n / distilabel_s:7.1f} req/s")
    print(f"job / bare client         {ours / bare:6.0%}   (target >= 80%)")
    print(f"job / one at a time       {ours / seq:6.1f}x  (target >= 20x)")
    if distilabel_s is not None:
        print(f"job / distilabel          {ours / (n / distilabel_s):6.1f}x  (target >= 2.5x)")


if __name__ == "__main__":
    main()
