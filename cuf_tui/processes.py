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


def worker_state(host: str | None, pid: int | None, started: str | None) -> str:
    """'gone' when the recorded worker ran on this machine and its process has ended (no
    such process, a zombie, or another process given the same pid since); 'alive' when it
    runs on this machine now (its pid and start time match); 'unknown' for a worker on
    another machine, or one this machine cannot check, such as one recorded without a start
    time (its heartbeat tells then)."""
    if pid is None or host is None or host != this_host():
        return "unknown"
    if _PROC.is_dir():
        try:
            fields = _stat_fields(pid)
        except OSError:
            return "unknown"
        if fields is None or fields[0] in ("Z", "X", "x"):  # exited, not (yet) reaped
            return "gone"
        if started is not None and len(fields) > 19 and fields[19] != started:
            return "gone"
        # Without its start time, a live pid may be another process given the same pid.
        return "alive" if started is not None else "unknown"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return "gone"
    except PermissionError:
        pass
    return "unknown"  # no start time to tell a reused pid: the heartbeat tells
