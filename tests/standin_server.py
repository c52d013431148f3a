"""A stand-in for `vllm serve` (and llama-cpp-python's server) in lifecycle tests: the same
command-line shape, the same HTTP (`/health`, `/v1/models`, chat completions, from
fake_openai.py), and the ways real servers misbehave, chosen by environment variables that
the test puts in `server.env` of cuf.toml:

- STANDIN_START_DELAY=S: take S seconds before listening (a model loading).
- STANDIN_NEVER_READY=1: listen, but answer 503 on /health forever.
- STANDIN_CRASH_AFTER=N: die (exit 3) after answering N chat completions.
- STANDIN_CRASH_SEGFAULT=1: die by a segmentation fault instead, as native code does.
- STANDIN_EXIT_AT_START=1: print an error and exit 1 before listening.
- STANDIN_PORT_TAKEN_ONCE=PATH: the first time (PATH absent), fail as vLLM does when its port
  was taken between being chosen and being bound.
- STANDIN_IGNORE_SIGTERM=1: ignore SIGTERM (only SIGKILL stops it).
- STANDIN_CHILD=1: start a child process in the same process group, as vLLM starts engine
  processes.
- STANDIN_LATENCY=S: answer each request after S seconds.
- STANDIN_RECORD=DIR: write DIR/<pid>.json with the argv, port and CUDA_VISIBLE_DEVICES.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai import FakeOpenAI  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("served", nargs="?")
    parser.add_argument("--model")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args, _ = parser.parse_known_args()
    model = args.served or args.model
    env = os.environ
    print(f"stand-in server for {model} on port {args.port}, pid {os.getpid()}", flush=True)
    if env.get("STANDIN_RECORD"):
        record = {
            "argv": sys.argv[1:],
            "port": args.port,
            "devices": env.get("CUDA_VISIBLE_DEVICES"),
        }
        Path(env["STANDIN_RECORD"], f"{os.getpid()}.json").write_text(json.dumps(record))
    if env.get("STANDIN_IGNORE_SIGTERM"):
        signal.signal(signal.SIGTERM, lambda *_: print("ignoring SIGTERM", flush=True))
    if env.get("STANDIN_CHILD"):
        subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    taken = env.get("STANDIN_PORT_TAKEN_ONCE")
    if taken and not Path(taken).exists():
        Path(taken).write_text("taken once")
        print(f"OSError: [Errno 98] Address already in use: ('127.0.0.1', {args.port})")
        sys.exit(1)
    if env.get("STANDIN_EXIT_AT_START"):
        print("ValueError: the model does not fit in memory", flush=True)
        sys.exit(1)
    time.sleep(float(env.get("STANDIN_START_DELAY", "0")))
    server = FakeOpenAI(
        served_models=[model],
        ready=not env.get("STANDIN_NEVER_READY"),
        latency=float(env.get("STANDIN_LATENCY", "0")),
    )
    crash_after = int(env.get("STANDIN_CRASH_AFTER", "0"))
    answered = [0]

    def count() -> None:
        answered[0] += 1
        print(f"answered {answered[0]}", flush=True)
        if crash_after and answered[0] >= crash_after:
            if env.get("STANDIN_CRASH_SEGFAULT"):
                import ctypes

                ctypes.string_at(0)  # a real segmentation fault, as in native code
            print("RuntimeError: engine core died unexpectedly", flush=True)
            os._exit(3)

    server.on_completion = count
    server.start(args.port)
    print("ready", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
