"""The processes of a server the workbench runs: a free loopback port, its own process group
(stopped with SIGTERM, then SIGKILL, until no live member is left), the death signal that
follows its worker, and stopping a group a dead worker left behind."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def die_with_parent() -> None:
    """In the server's process, before exec: SIGTERM when the worker dies (Linux)."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of a process group."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces, so split after the last ')'.
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def stop_group(pgid: int, grace: float, process: subprocess.Popen[bytes] | None = None) -> None:
    """SIGTERM the group, wait up to ``grace`` seconds for all of it, then SIGKILL."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if process is not None:
            process.poll()
        if not group_members(pgid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and group_members(pgid):
        if process is not None:
            process.poll()
        time.sleep(0.05)
    if process is not None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=1)


def stop_abandoned(pid: int, port: int, grace: float = 10.0) -> bool:
    """Stop the process group of a server whose worker died; True when something was
    stopped. The leader must still be the server that listened on ``port`` (its command line
    says so), so a reused pid is left alone; a group whose leader has exited holds only the
    server's own children, since a group id is not reused while the group has members."""
    leader = Path(f"/proc/{pid}/cmdline")
    try:
        argv = leader.read_bytes().split(b"\0")
    except OSError:
        argv = None
    if argv is not None and str(port).encode() not in argv:
        return False
    if not group_members(pid):
        return False
    stop_group(pid, grace)
    return True
