"""Process groups that outlive the command that started them, and can be found and stopped safely later.

A pid alone is not an identity: after a reboot or a long time it may belong to another program. So with each
pid we keep its start time from /proc, and only signal a process whose start time still matches.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ProcessHandle:
    pid: int
    start_ticks: int | None

    def to_dict(self) -> dict[str, int | None]:
        return {"pid": self.pid, "start_ticks": self.start_ticks}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ProcessHandle:
        pid, ticks = data.get("pid"), data.get("start_ticks")
        if not isinstance(pid, int) or not (ticks is None or isinstance(ticks, int)):
            raise ValueError("malformed process record")
        return cls(pid, ticks)


def start_ticks(pid: int) -> int | None:
    """Start time of `pid` in clock ticks since boot (field 22 of /proc/PID/stat), None if unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after its closing parenthesis.
    fields = stat[stat.rfind(")") + 2 :].split()
    return int(fields[19])


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat[stat.rfind(")") + 2 :].split()[0]


def is_alive(handle: ProcessHandle) -> bool:
    """True if the very process of `handle` still runs (zombies count as gone)."""
    _reap(handle.pid)
    state = _state(handle.pid)
    if state is None or state in {"Z", "X"}:
        return False
    return handle.start_ticks is None or start_ticks(handle.pid) == handle.start_ticks


def spawn_group(
    command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log_file: Path
) -> ProcessHandle:
    """Start `command` as the leader of a new session and process group, output appended to `log_file`."""
    # Owner-only like the rest of the workspace: service logs can echo secrets from the rendered config.
    with os.fdopen(os.open(log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "ab") as log:
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    return ProcessHandle(process.pid, start_ticks(process.pid))


def stop_group(handle: ProcessHandle, timeout: float) -> bool:
    """SIGTERM the group, SIGKILL it after `timeout`. Returns False if it was already gone."""
    if not is_alive(handle):
        # Gone, or the pid now belongs to someone else: signal nothing.
        return False
    _kill_group(handle.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(handle):
            break
        time.sleep(0.02)
    _kill_group(handle.pid, signal.SIGKILL)
    for _ in range(100):
        if not is_alive(handle):
            break
        time.sleep(0.01)
    return True


def _kill_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _reap(pid: int) -> None:
    """Collect the exit status if `pid` is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def processes_working_in(directory: Path) -> list[ProcessHandle]:
    """Live processes whose working directory is `directory` or below it (Linux /proc; [] elsewhere).

    How a service started for an environment is found when its process record was never written: the
    starting process was killed between the spawn and the write. The service runs in its workspace."""
    found = []
    root = directory.resolve()
    own_group = os.getpgrp()
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        try:
            cwd = (entry / "cwd").readlink()
            if not cwd.is_relative_to(root) or os.getpgid(pid) == own_group:
                continue
        except OSError:
            continue  # gone, or another user's
        handle = ProcessHandle(pid, start_ticks(pid))
        if is_alive(handle):
            found.append(handle)
    return found


def stop_processes_in(directory: Path, timeout: float) -> list[int]:
    """Stop the process group of every process working in `directory`; the pids found."""
    strays = processes_working_in(directory)
    for handle in strays:
        with contextlib.suppress(OSError):
            stop_group(ProcessHandle(os.getpgid(handle.pid), None), timeout)
    return [handle.pid for handle in strays]
