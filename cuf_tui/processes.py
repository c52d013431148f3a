"""Which process is which: the identity a batch worker records with its job (host, pid, and
the process's start time), and whether the process behind such a record still runs."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")


@dataclass(frozen=True)
class WorkerIdentity:
    host: str
    pid: int
    started: str | None  # the kernel's start time of the process (Linux), to tell a reused pid


def this_host() -> str:
    return socket.gethostname()


def this_worker() -> WorkerIdentity:
    pid = os.getpid()
    return WorkerIdentity(this_host(), pid, process_started(pid))


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name: state first. None when the
    process does not exist; raises OSError when /proc cannot tell."""
    try:
        text = (_PROC / str(pid) / "stat").read_text()
    except FileNotFoundError:
        return None
    # The command name sits in parentheses and may itself hold spaces or parentheses.
    return text[text.rindex(")") + 2 :].split()


def process_started(pid: int) -> str | None:
    try:
        fields = _stat_fields(pid)
    except OSError:
        return None
    return fields[19] if fields and len(fields) > 19 else None


def worker_is_gone(host: str | None, pid: int | None, started: str | None) -> bool:
    """True when the recorded worker ran on this machine and its process has ended: no such
    process, a zombie, or another process that was given the same pid since. A worker on
    another machine, or one this machine cannot check, is never called gone here (its
    heartbeat tells instead)."""
    if pid is None or host is None or host != this_host():
        return False
    if _PROC.is_dir():
        try:
            fields = _stat_fields(pid)
        except OSError:
            return False
        if fields is None:
            return True
        if fields[0] in ("Z", "X", "x"):  # exited, not yet (or never to be) reaped
            return True
        return started is not None and len(fields) > 19 and fields[19] != started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
