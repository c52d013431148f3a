"""Servers the workbench runs itself: `vllm serve` or llama-cpp-python's server, one per
model replica, for the length of a batch.

A server is started in its own process group on a free loopback port, with its output in a
log file of the workspace; it is ready when `GET /health` answers 200 and `/v1/models` lists
the model. It is stopped with SIGTERM to the whole group, then SIGKILL after a grace period,
so no child (vLLM's engine processes) is left holding GPU memory. On Linux the server also
gets SIGTERM if the worker that started it dies without stopping it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cuf_tui.config import ModelEntry
from cuf_tui.engines.server_processes import (
    die_with_parent,
    free_port,
    port_in_use,
    stop_group,
)
from cuf_tui.errors import CufError

HEALTH_POLL_S = 0.5
EXIT_POLL_S = 0.25
LOG_TAIL_LINES = 15
PORT_ATTEMPTS = 3
PORT_TAKEN = ("address already in use", "errno 98", "eaddrinuse")


class ServerFailed(CufError):
    """A managed server did not start, or stopped while it was needed."""


@dataclass(frozen=True)
class Launch:
    """What to run for one replica, and where it will listen."""

    argv: list[str]
    env: dict[str, str]
    port: int
    log_path: Path
    replica: int  # 1-based

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


def server_argv(entry: ModelEntry, port: int) -> list[str]:
    """The command line of one server of ``entry`` listening on 127.0.0.1:``port``."""
    if entry.engine == "vllm":
        command = entry.server.command or [_installed_vllm(), "serve"]
        argv = [*command, entry.model, "--host", "127.0.0.1", "--port", str(port)]
        return argv + _flags(entry.engine_args, dash=True)
    if entry.engine == "llamacpp":
        command = entry.server.command or [sys.executable, "-m", "llama_cpp.server"]
        settings: dict[str, Any] = {
            # One request at a time is decoded; without this a new request aborts the one
            # being decoded, which breaks concurrent batches.
            "interrupt_requests": False,
            "n_threads": os.cpu_count() or 1,
        } | entry.engine_args
        argv = [*command, "--model", entry.model, "--host", "127.0.0.1", "--port", str(port)]
        return argv + _flags(settings, dash=False)
    raise ServerFailed(f"{entry.name}: engine {entry.engine!r} has no server to run")


def _installed_vllm() -> str:
    """`vllm` on the PATH, else the one installed beside this Python (a virtual environment
    that was not activated), else plain `vllm` for the error message to name."""
    if shutil.which("vllm"):
        return "vllm"
    beside = Path(sys.executable).parent / "vllm"
    return str(beside) if os.access(beside, os.X_OK) else "vllm"


def _flags(args: dict[str, Any], *, dash: bool) -> list[str]:
    """`engine_args` as command-line flags: vLLM spells them with dashes (`--max-model-len`),
    llama-cpp-python with underscores. True is a bare flag for vLLM; `extra_args` (a list)
    is passed as written."""
    flags: list[str] = []
    for key, value in args.items():
        if key == "extra_args":
            flags += [str(v) for v in (value if isinstance(value, list) else [value])]
            continue
        flag = "--" + (key.replace("_", "-") if dash else key)
        if isinstance(value, bool) and dash:
            if value:
                flags.append(flag)
            else:
                flags.append("--no-" + flag[2:])
        elif isinstance(value, dict):
            flags += [flag, json.dumps(value)]
        elif isinstance(value, list):
            flags += [flag, *(str(v) for v in value)]
        else:
            flags += [flag, str(value)]
    return flags


def check_server_command(entry: ModelEntry) -> None:
    """Raise ServerFailed when the program that serves ``entry`` cannot be found."""
    program = server_argv(entry, 0)[0]
    found = os.access(program, os.X_OK) if os.sep in program else shutil.which(program)
    if not found:
        hint = (
            "install vLLM (`pip install vllm` on a GPU server; `cuf-tui demo-model` makes a "
            "CPU build for a small model)"
            if entry.engine == "vllm"
            else "install llama-cpp-python's server (`pip install 'cuf-tui[llamacpp]'`)"
        )
        raise ServerFailed(
            f"{entry.name}: cannot find {program!r} to start its {entry.engine} server; {hint}, "
            f"or set server.command in cuf.toml"
        )
    if entry.engine == "llamacpp" and program == sys.executable and not _has_llama_cpp():
        raise ServerFailed(
            f"{entry.name}: llama-cpp-python is not installed in {sys.prefix}; "
            "`pip install 'cuf-tui[llamacpp]'`, or set server.command in cuf.toml"
        )


def _has_llama_cpp() -> bool:
    from importlib.util import find_spec

    return find_spec("llama_cpp") is not None


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    try:
        if not path.is_file():  # a FIFO would block, a device might never end
            return "(no log)"
        with path.open("rb") as log:
            log.seek(0, os.SEEK_END)
            log.seek(max(0, log.tell() - 64 * 1024))
            text = log.read(64 * 1024).decode("utf-8", "replace")
    except OSError:
        return "(no log)"
    kept = [line for line in text.splitlines() if line.strip()][-lines:]
    return "\n".join(kept) if kept else "(the log is empty)"


class ManagedServer:
    """One running server process."""

    def __init__(self, entry: ModelEntry, launch: Launch) -> None:
        self.entry = entry
        self.launch = launch
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def spawn(self) -> None:
        env = os.environ.copy() | self.launch.env
        self.launch.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.launch.log_path.open("ab") as log:
            log.write(f"$ {' '.join(self.launch.argv)}\n".encode())
            log.flush()
            try:
                self.process = subprocess.Popen(
                    self.launch.argv,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=env,
                    start_new_session=True,
                    close_fds=True,
                    preexec_fn=die_with_parent if sys.platform == "linux" else None,
                )
            except OSError as err:
                raise ServerFailed(
                    f"{self.entry.name}: cannot run {self.launch.argv[0]!r}: {err.strerror}"
                    + (
                        " (install vLLM, or set server.command in cuf.toml)"
                        if self.entry.engine == "vllm"
                        else " (install cuf-tui[llamacpp], or set server.command in cuf.toml)"
                    )
                ) from None

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    async def wait_ready(self, limit_s: float) -> None:
        """Return once the server answers /health and lists the model; raise ServerFailed
        if it exits first or is not ready after ``limit_s`` seconds."""
        import httpx2

        deadline = time.monotonic() + limit_s
        root = f"http://127.0.0.1:{self.launch.port}"
        async with httpx2.AsyncClient(timeout=5.0, trust_env=False) as http:
            while True:
                code = self.exit_code()
                if code is not None:
                    raise ServerFailed(self._ended(f"exited ({_how(code)}) while starting"))
                if await self._answers(http, root):
                    return
                if time.monotonic() >= deadline:
                    raise ServerFailed(
                        self._ended(f"was not ready after {limit_s:g} s (server.startup_timeout)")
                    )
                await asyncio.sleep(HEALTH_POLL_S)

    async def _answers(self, http: Any, root: str) -> bool:
        import httpx2

        try:
            health = await http.get(root + "/health")
            # llama-cpp-python's server has no /health (404); its /v1/models says enough.
            no_health_route = health.status_code == 404 and self.entry.engine == "llamacpp"
            if health.status_code != 200 and not no_health_route:
                return False
            models = await http.get(root + "/v1/models")
            if models.status_code != 200:
                return False
            listed = [m.get("id") for m in models.json().get("data", [])]
        except (httpx2.HTTPError, ValueError, AttributeError):
            return False
        return self.entry.engine == "llamacpp" or self.entry.model in listed

    def _ended(self, what: str) -> str:
        return (
            f"{self.entry.name}: the {self.entry.engine} server on port {self.launch.port} "
            f"{what}; last lines of {self.launch.log_path}:\n{log_tail(self.launch.log_path)}"
        )

    def died_message(self) -> str:
        return self._ended(f"stopped ({_how(self.exit_code())}) in the middle of the batch")

    def port_was_taken(self) -> bool:
        tail = log_tail(self.launch.log_path, 40).lower()
        return any(sign in tail for sign in PORT_TAKEN)

    async def stop(self) -> None:
        if self.process is None:
            return
        process = self.process
        await asyncio.to_thread(stop_group, process.pid, self.entry.server.stop_grace, process)


def _how(code: int | None) -> str:
    """An exit status in words: a code, or the signal that killed the process."""
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
        return f"killed by signal {-code}"
    return f"exit code {code}"


ServerEvent = Callable[[str, ManagedServer, str], None]  # (state, server, detail)


def _no_events(state: str, server: ManagedServer, detail: str) -> None:
    return None


def _launches(entry: ModelEntry, log_for: Callable[[int], Path]) -> Iterator[Launch]:
    """One launch per replica: its port, its devices, its log."""
    for replica in range(entry.replicas):
        if entry.server.port is not None:
            port = entry.server.port + replica
            if port_in_use(port):
                raise ServerFailed(
                    f"{entry.name}: port {port} on 127.0.0.1 is in use (server.port in "
                    f"cuf.toml); free it or leave server.port out to pick a free port"
                )
        else:
            port = free_port()
        env = dict(entry.server.env)
        if entry.devices is not None:
            env["CUDA_VISIBLE_DEVICES"] = ",".join(str(d) for d in entry.devices[replica])
        yield Launch(server_argv(entry, port), env, port, log_for(replica), replica + 1)


@contextlib.asynccontextmanager
async def serving(
    entry: ModelEntry,
    log_for: Callable[[int], Path],
    on_event: ServerEvent = _no_events,
) -> AsyncIterator[list[ManagedServer]]:
    """Start every replica of ``entry``, wait until all are ready, and stop them all on the
    way out, whatever happens inside."""
    servers: list[ManagedServer] = []
    try:
        for launch in _launches(entry, log_for):
            servers.append(await _start(entry, launch, on_event))
        yield servers
    finally:
        await asyncio.shield(_stop_all(servers, on_event))


async def _start(entry: ModelEntry, launch: Launch, on_event: ServerEvent) -> ManagedServer:
    for attempt in range(1, PORT_ATTEMPTS + 1):
        server = ManagedServer(entry, launch)
        server.spawn()
        on_event("starting", server, "")
        try:
            await server.wait_ready(entry.server.startup_timeout)
        except ServerFailed as failure:
            await server.stop()
            retry = entry.server.port is None and attempt < PORT_ATTEMPTS
            if retry and server.port_was_taken():
                on_event("failed", server, f"port {launch.port} was taken; trying another")
                port = free_port()
                launch = Launch(
                    server_argv(entry, port), launch.env, port, launch.log_path, launch.replica
                )
                continue
            on_event("failed", server, str(failure))
            raise
        except BaseException:
            await asyncio.shield(server.stop())
            on_event("stopped", server, "stopped before it was ready")
            raise
        on_event("ready", server, "")
        return server
    raise AssertionError("unreachable")


async def _stop_all(servers: list[ManagedServer], on_event: ServerEvent) -> None:
    for server in servers:
        code = server.exit_code()
        await server.stop()
        on_event("stopped" if code is None else "crashed", server, "")


async def first_exit(servers: list[ManagedServer]) -> ManagedServer:
    """Wait until one of ``servers`` exits; return it."""
    while True:
        for server in servers:
            if server.exit_code() is not None:
                return server
        await asyncio.sleep(EXIT_POLL_S)
