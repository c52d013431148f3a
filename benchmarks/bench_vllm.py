"""Generation on a real vLLM server: the workbench's job against a bare client, and start-up.

Uses the demo model (`cuf-tui demo-model` builds it, once per machine: SmolLM2-135M-Instruct
on vLLM's CPU build) and times:
- server start-up: from starting `vllm serve` (as the job runner does) until it is ready;
- a generation job (the code `cuf-tui generate` runs), sending N instructions to that server,
  every response saved in the store;
- a bare `asyncio.gather` of `openai.AsyncOpenAI` chat completions with the very same
  messages and sampling settings, results dropped.
Both runs use greedy decoding and the same max_tokens, so they ask the server for the same
work; each is run twice, alternating, and the better of each is kept. Output tokens per
second are the completion tokens the server reports over the wall time.
Target: the job at least 90% of the bare client's output tokens per second.

    python -m benchmarks.bench_vllm [--requests 32] [--max-tokens 128]
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
PREFERENCES = ("instruction-following", "explanation", "complexity", "readability", "style")
TASKS = (
    "Write a Python function that merges two sorted lists.",
    "Write a function that checks whether a string is a palindrome.",
    "Explain how a hash map handles collisions, with a short example.",
    "Write a SQL query that lists the ten customers with the highest total orders.",
    "Write a JavaScript function that debounces another function.",
    "Write a Python class for a stack with push, pop and peek.",
    "Write a Bash one-liner that counts the lines of every .py file in a folder.",
    "Write a Go function that reverses a slice of integers in place.",
)


def demo_entry(max_tokens: int, concurrency: int, base_url: str | None = None) -> dict:
    from cuf_tui.demo.entries import entry_text
    from cuf_tui.demo.model import DEMO_NAME, cache_folder, prepare

    demo = prepare(lambda line: print(line, file=sys.stderr), cache_folder())
    import tomllib

    entry = tomllib.loads(entry_text("models", demo, judge=False))["models"][0]
    entry.update(
        name=DEMO_NAME,
        temperature=0.0,
        top_p=1.0,
        max_tokens=max_tokens,
        max_concurrency=concurrency,
    )
    if base_url:
        entry["base_url"] = base_url
        del entry["server"]
    return entry


def toml_entry(entry: dict) -> str:
    from cuf_tui.config.toml import toml_value

    return "[[models]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in entry.items())


def build_workspace(root: Path, entry: dict, count: int) -> Path:
    from cuf_tui.cli import main

    root.mkdir(parents=True)
    (root / "cuf.toml").write_text(
        '[workspace]\nname = "bench"\nseed = 1\nresponses_per_instruction = 1\n\n'
        + toml_entry(entry)
    )
    rows = [
        {"instruction": f"{TASKS[i % len(TASKS)]} (task {i})", "preference": PREFERENCES[i % 5]}
        for i in range(count)
    ]
    source = root / "instructions.jsonl"
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert main(["import", str(source), "-w", str(root)]) == 0
    return root


def job_messages(root: Path) -> list[list[dict[str, str]]]:
    """The messages the job sends, built the way the job builds them."""
    import sqlite3

    from cuf_tui.prompts import load_prompts
    from cuf_tui.workspace import Workspace

    prompts = load_prompts(root)
    config = Workspace(root).config
    seed, model = config.workspace.seed, config.models[0].name
    with sqlite3.connect(root / "cuf.db") as db:
        rows = db.execute(
            "SELECT text_sha256, text, preference FROM instructions ORDER BY id"
        ).fetchall()
    messages = []
    for key, text, preference in rows:
        principle = prompts.choose_principle(preference, seed, key, model)
        messages.append(prompts.generation_messages(text, preference, principle))
    return messages


def run_job(root: Path) -> tuple[float, int]:
    import sqlite3

    from cuf_tui.jobs.launch import prepare_job, run_in_foreground
    from cuf_tui.workspace import Workspace

    with sqlite3.connect(root / "cuf.db") as db:
        db.execute("DELETE FROM responses")
        db.execute("DELETE FROM jobs")
    workspace = Workspace(root)
    job_id = prepare_job(workspace, "generate", {"models": None, "limit": None})
    started = time.perf_counter()
    outcome = run_in_foreground(workspace, job_id, lambda _: None)
    wall = time.perf_counter() - started
    assert outcome.state == "done" and not outcome.progress.failed, outcome
    return wall, outcome.progress.completion_tokens


async def run_bare(base_url: str, entry: dict, all_messages: list) -> tuple[float, int]:
    from openai import AsyncOpenAI

    client = AsyncOpenAI(base_url=base_url, api_key="not-needed", max_retries=0)

    async def one(messages: list) -> int:
        reply = await client.chat.completions.create(
            model=entry["model"],
            messages=messages,
            temperature=entry["temperature"],
            top_p=entry["top_p"],
            max_tokens=entry["max_tokens"],
        )
        return reply.usage.completion_tokens if reply.usage else 0

    started = time.perf_counter()
    tokens = await asyncio.gather(*(one(m) for m in all_messages))
    wall = time.perf_counter() - started
    await client.close()
    return wall, sum(tokens)


async def start_server(entry: dict, log: Path):
    """The demo server, started by the job runner's own code; returns (servers, seconds)."""
    from cuf_tui.config import parse_config
    from cuf_tui.engines.managed import serving

    model = parse_config({"models": [entry]}).models[0]
    started = time.perf_counter()
    context = serving(model, lambda replica: log)
    servers = await context.__aenter__()
    return context, servers, time.perf_counter() - started


async def main_async(args: argparse.Namespace) -> None:
    managed = demo_entry(args.max_tokens, args.requests)
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        context, servers, startup = await start_server(managed, log)
        print(f"server start-up (vllm serve to ready): {startup:.1f} s")
        try:
            base_url = servers[0].launch.base_url
            entry = demo_entry(args.max_tokens, args.requests, base_url)
            root = build_workspace(Path(tmp) / "ws", entry, args.requests)
            messages = job_messages(root)
            await run_bare(base_url, entry, messages[:4])  # warm-up
            bare, job = [], []
            for _ in range(2):
                bare.append(await run_bare(base_url, entry, messages))
                job.append(await asyncio.to_thread(run_job, root))
        finally:
            await context.__aexit__(None, None, None)
    for name, runs in (("bare AsyncOpenAI gather", bare), ("workbench generation job", job)):
        for wall, tokens in runs:
            print(f"{name}: {tokens} output tokens in {wall:.1f} s = {tokens / wall:.1f} tok/s")
    best_bare = max(t / w for w, t in bare)
    best_job = max(t / w for w, t in job)
    print(
        f"best: job {best_job:.1f} tok/s, bare {best_bare:.1f} tok/s, "
        f"ratio {best_job / best_bare:.0%} (target >= 90%)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=32)
    parser.add_argument("--max-tokens", type=int, default=128)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
