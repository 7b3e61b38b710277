"""Running the real CLI in a subprocess, and looking at what it left behind."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def cli(config: Path, *args: str, extra_env: dict[str, str] | None = None, timeout: float = 180) -> CliResult:
    env = {**os.environ, **(extra_env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "stagetui", "--config", str(config), *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CliResult(result.returncode, result.stdout, result.stderr)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def column_values(database: Path, table: str, column: str) -> set[str]:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        return {
            row[0] for row in connection.execute(f"SELECT {column} FROM {table} WHERE {column} IS NOT NULL")
        }


def processes_of(environment_id: str, state: Path | None = None) -> list[int]:
    """Pids of live processes started for an environment (the local runtime tags them in their env).
    With `state`, only those running in that state directory: the same id can exist in another test's
    state directory when suites run side by side on one machine."""
    found = []
    marker = f"STAGETUI_ENV_ID={environment_id}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if state is not None and not str((entry / "cwd").readlink()).startswith(str(state)):
                continue
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                run_state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if run_state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def kill_leftovers(state: Path) -> None:
    """Last-resort cleanup so a failing test never leaves services running."""
    for process_file in (state / "environments").glob("*/service.json"):
        try:
            os.killpg(json.loads(process_file.read_text())["pid"], signal.SIGKILL)
        except (OSError, ValueError, KeyError):
            continue


def start_hanging_up(config: Path, state: Path, branch: str, strategy: str) -> subprocess.Popen[bytes]:
    """Start `stagetui up` that hangs in health_check (a failpoint), once its service is listening:
    a provisioning run caught at a known point, to kill or to race against."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stagetui", "--config", str(config), "up", branch, "--strategy", strategy],
        env={**os.environ, "STAGETUI_FAILPOINTS": "health_check:hang"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not any((state / "environments").glob("*/service.port")):
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError("the provisioning run never reached its service")
        time.sleep(0.05)
    return process
