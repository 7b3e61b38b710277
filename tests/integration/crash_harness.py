"""kill -9 at a chosen step boundary, then what the next start must do: find the environment interrupted,
collect everything it made with `gc`, and open the store intact.

A crash point is a failpoint (stagetui/service/failpoints.py) that makes the process SIGKILL itself: right
before a step runs, or right after it succeeded but before its record is written. Killing from inside is
what makes the harness systematic: an outside `kill -9` timed on what the process writes would land at a
different point on every run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stagetui.domain.models import EnvironmentStatus, StepPhase
from stagetui.store.store import Store
from tests.integration.helpers import CliResult, cli, processes_of

KILLED = -signal.SIGKILL
"""Popen's return code for a process ended by SIGKILL."""

Leftovers = Callable[[str], list[str]]
"""Whatever an environment id still holds on a runtime or server (described), [] when nothing."""


@dataclass(frozen=True)
class CrashPoint:
    step: str
    action: str
    """`crash` (before the step) or `crash-after` (after it succeeded, before its record)."""
    failing: str = ""
    """A step made to fail first, so the crash lands in the rollback that follows."""

    @property
    def failpoints(self) -> str:
        crash = f"{self.step}:{self.action}"
        return f"{self.failing},{crash}" if self.failing else crash

    @property
    def label(self) -> str:
        side = "before" if self.action == "crash" else "after"
        return f"{side}-{self.step}" + (f"-after-failed-{self.failing}" if self.failing else "")


def crash_points(steps: Sequence[str], *, both_sides: bool) -> list[CrashPoint]:
    """Before every step, and after every step too with `both_sides`. Without it, after the last step
    only: the state after step k and before step k+1 differs by the step record alone, which the local
    runs (both sides) already prove; runtimes differ in what they hold, and that is the same at both."""
    points = [CrashPoint(step, "crash") for step in steps]
    after = steps if both_sides else steps[-1:]
    points += [CrashPoint(step, "crash-after") for step in after]
    # The rollback of a failure in the last step: killed at its first undo, whatever that is.
    points.append(CrashPoint("rollback", "crash", failing=steps[-1]))
    return points


@dataclass(frozen=True)
class CrashSite:
    """Where the runs happen: a config, its state directory, and what to check on the runtime."""

    config: Path
    state: Path
    runtime: str
    leftovers: Leftovers

    @property
    def environ(self) -> dict[str, str]:
        return {"STAGETUI_STATE_DIR": str(self.state)}

    def cli(self, *args: str, failpoints: str = "", timeout: float = 300) -> CliResult:
        extra = {**self.environ, "STAGETUI_FAILPOINTS": failpoints}
        return cli(self.config, *args, extra_env=extra, timeout=timeout)

    def killed_cli(self, failpoints: str, *args: str) -> None:
        """Run the CLI until its failpoint kills it; fail if it ended any other way."""
        environ = {**os.environ, **self.environ, "STAGETUI_FAILPOINTS": failpoints}
        command = [sys.executable, "-m", "stagetui", "--config", str(self.config), *args]
        run = subprocess.run(
            command, env=environ, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL
        )
        assert run.returncode == KILLED, (
            f"`{' '.join(args)}` with {failpoints} ended with {run.returncode}, not kill -9:\n{run.stderr}"
        )


def recover_and_check(site: CrashSite, env_id: str) -> None:
    """The next start after a crash: `gc` finds `env_id` interrupted and removes every resource; nothing of
    it is left on the runtime, in the state directory or in a process, and the store is intact."""
    collected = site.cli("gc", "--json")
    assert collected.code == 0, collected.stdout + collected.stderr
    actions = {a["id"]: a for a in collected.json()["actions"]}
    assert env_id in actions, f"gc did not collect {env_id}: {collected.stdout}"
    action = actions[env_id]
    assert action["reason"] == "interrupted" and not action["error"], action
    assert site.leftovers(env_id) == [], f"{env_id} left {site.leftovers(env_id)} on {site.runtime}"
    assert not (site.state / "environments" / env_id).exists()
    assert processes_of(env_id, site.state) == []
    assert not list(site.state.glob("golden*/.building-*")), "an abandoned golden build is left"
    assert_store_intact(site.state)
    assert_recorded_once(site.state, env_id)


def assert_store_intact(state: Path) -> None:
    """Every store file parses, no temp file is left, and the store opens and reads through its API."""
    directory = state / "store"
    temp_files = [p.name for p in directory.rglob("*.tmp")]
    assert not temp_files, f"temp files left in the store: {temp_files}"
    for path in directory.rglob("*.json"):
        json.loads(path.read_text(encoding="utf-8"))  # raises on a torn or corrupt file
    store = Store(directory)
    for env in store.environments():
        store.steps(env.uid)
        store.checks(env.uid)
    store.metrics()
    store.audit_trail()


def assert_recorded_once(state: Path, env_id: str) -> None:
    """One record of the crashed run, now torn down by gc after being marked interrupted; its step records
    appear once each, and gc's removal is recorded."""
    store = Store(state / "store")
    records = [e for e in store.environments() if e.id == env_id]
    assert len(records) == 1, f"{len(records)} records of {env_id}"
    (env,) = records
    assert env.status is EnvironmentStatus.TORN_DOWN and env.status_detail == "gc: interrupted", (
        env.status,
        env.status_detail,
    )
    steps = store.steps(env.uid)
    provision = [(s.name, s.phase) for s in steps if s.phase is not StepPhase.TEARDOWN]
    assert len(provision) == len(set(provision)), f"duplicated step records: {provision}"
    destroys = [s for s in steps if s.phase is StepPhase.TEARDOWN]
    assert destroys and destroys[-1].outcome.value == "ok", destroys
    audit = [a for a in store.audit_trail() if a.environment_id == env_id]
    assert any(a.action == "teardown" and "gc: interrupted" in a.detail for a in audit), audit


def write_note(site: CrashSite, title: str) -> None:
    body = site.state.parent / "note.md"
    body.write_text(f"Written before the crashes: {title}\n")
    written = site.cli("note", "add", "--title", title, "--file", str(body))
    assert written.code == 0, written.stderr


def assert_note_kept(site: CrashSite, title: str) -> None:
    notes = site.cli("note", "list", "--json")
    assert notes.code == 0, notes.stderr
    assert [n for n in notes.json() if n["title"] == title], f"the note {title!r} was lost"
