"""The real `stagetui` TUI in a real terminal (tmux, 80x24), driven by keystrokes only.

Launch an environment with `n`, a branch and Enter; wait until the table shows it ready; tear it down with
ctrl+d and `y`; quit with `q`; then check the process exited 0 and left nothing behind. Every wait polls
`tmux capture-pane` against a generous deadline: the deadline catches hangs, it does not measure speed.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from stagetui.domain.ids import environment_id
from stagetui.domain.models import EnvironmentStatus, Strategy
from tests.integration.helpers import processes_of

pytestmark = pytest.mark.integration

WIDTH, HEIGHT = 80, 24
DEADLINE_SECONDS = 60.0
BRANCH = "tmux/e2e"
STATUSES = "|".join(re.escape(s.value) for s in EnvironmentStatus)


class Tmux:
    """One private tmux server (its own socket) holding one session: the app under test."""

    def __init__(self, socket: str, config: Path) -> None:
        self.socket = socket
        self.config = config
        self.socket_path: Path | None = None

    def run(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"tmux {' '.join(args)} failed ({result.returncode}): {result.stderr}")
        return result.stdout

    def start(self, command: list[str], cwd: Path, environ: dict[str, str], exit_file: Path) -> None:
        """Run `command` in a new session; its exit status is written to `exit_file` when it ends.

        Not `#{pane_dead_status}`: tmux 3.3a can mark the pane dead when the pty closes and never record
        the status (seen here; see https://github.com/tmux/tmux/pull/4841).
        """
        partial = shlex.quote(f"{exit_file}.partial")
        shell = f"{shlex.join(command)}; echo $? > {partial} && mv {partial} {shlex.quote(str(exit_file))}"
        # The server starts with this call (the socket is new), so the app inherits `environ` from it.
        subprocess.run(
            [
                *("tmux", "-L", self.socket, "-f", str(self.config)),
                *("new-session", "-d", "-s", "tui", "-x", str(WIDTH), "-y", str(HEIGHT)),
                shell,
            ],
            cwd=cwd,
            env=environ,
            check=True,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        self.socket_path = Path(self.run("display-message", "-p", "#{socket_path}").strip())

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "tui", *keys)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "tui", "-l", text)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "tui")

    def pane(self, fmt: str) -> str:
        return self.run("display-message", "-p", "-t", "tui", fmt).strip()

    def kill_server(self) -> None:
        self.run("kill-server", check=False)
        if self.socket_path is not None:  # tmux 3.3 leaves the socket file behind
            self.socket_path.unlink(missing_ok=True)

    def wait_for(self, what: str, condition: Callable[[str], bool]) -> str:
        """Poll the screen until `condition` holds; fail with the last screen if the deadline passes."""
        deadline = time.monotonic() + DEADLINE_SECONDS
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if self.pane("#{pane_dead}") == "1":
                pytest.fail(f"the app exited while waiting for {what}; last screen:\n{screen}")
            if time.monotonic() > deadline:
                pytest.fail(f"gave up after {DEADLINE_SECONDS:.0f}s waiting for {what}; screen:\n{screen}")
            time.sleep(0.2)


@contextmanager
def tmux_server(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        pytest.fail(
            "tmux is not installed: this test drives the TUI in a real terminal. Install it "
            "(`apt-get install tmux`; `make test` does that on Debian) and run again."
        )
    config = tmp_path / "tmux.conf"
    # No status line: the pane is the whole 80x24 window. remain-on-exit keeps the pane (and its last
    # screen, for failure messages) after the app exits. sh runs the command, whatever the user's $SHELL.
    config.write_text(
        "set -g status off\nset -g remain-on-exit on\nset -g history-limit 0\nset -g default-shell /bin/sh\n"
    )
    tmux = Tmux(f"stagetui-test-{uuid.uuid4().hex[:12]}", config)
    try:
        yield tmux
    finally:
        tmux.kill_server()


def table_status(screen: str, env_id: str) -> str | None:
    """The STATUS cell of the environment's table row, or None if no row shows it.

    Table cells are separated by at least two spaces (cell padding), which tells the row apart from the
    notifications and panels that also mention the id ("<id> ready in 300ms", "ready <id> 300ms").
    """
    match = re.search(rf"{re.escape(env_id)}\s{{2,}}({STATUSES})\??(?=\s|$)", screen, re.MULTILINE)
    return match.group(1) if match else None


def leftover_directories(state_dir: Path) -> list[str]:
    environments = state_dir / "environments"
    return sorted(p.name for p in environments.iterdir()) if environments.exists() else []


def test_launch_and_tear_down_with_keystrokes(small_config: Path, state_dir: Path, tmp_path: Path) -> None:
    env_id = environment_id(BRANCH, Strategy.CONTAINERIZED)
    environ = {k: v for k, v in os.environ.items() if k not in {"TMUX", "TMUX_PANE"}}
    environ["STAGETUI_STATE_DIR"] = str(state_dir)
    command = [sys.executable, "-m", "stagetui", "--config", str(small_config)]

    with tmux_server(tmp_path) as tmux:
        exit_file = tmp_path / "exit-status"
        tmux.start(command, cwd=tmp_path, environ=environ, exit_file=exit_file)
        assert tmux.pane("#{pane_width}x#{pane_height}") == f"{WIDTH}x{HEIGHT}"

        tmux.wait_for("the dashboard", lambda s: "Environments" in s and "0 environments" in s)
        tmux.keys("n")
        tmux.wait_for("the launch dialog", lambda s: "Launch an environment" in s)
        tmux.type(BRANCH)
        tmux.wait_for(f"the id preview {env_id}", lambda s: f"environment id {env_id}" in s)
        tmux.keys("Enter")
        screen = tmux.wait_for(
            f"{env_id} ready in the table",
            lambda s: table_status(s, env_id) in {"ready", "failed"} or "not launched" in s,
        )
        assert table_status(screen, env_id) == "ready", f"launch did not succeed:\n{screen}"
        assert processes_of(env_id), "the environment is ready but its service process is not running"

        tmux.keys("C-d")
        tmux.wait_for("the teardown confirmation", lambda s: f"Tear down {env_id}?" in s)
        tmux.keys("y")
        screen = tmux.wait_for(
            f"the row of {env_id} to disappear",
            lambda s: (table_status(s, env_id) is None and "0 environments" in s) or "not torn down" in s,
        )
        assert "not torn down" not in screen, f"the UI reported the teardown failed:\n{screen}"

        tmux.keys("q")
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not exit_file.exists():
            if time.monotonic() > deadline:
                pytest.fail(f"the app did not exit after q; last screen:\n{tmux.screen()}")
            time.sleep(0.2)
        status = exit_file.read_text().strip()
        assert status == "0", f"stagetui exited with {status}; last screen:\n{tmux.screen()}"

    assert leftover_directories(state_dir) == []
    assert processes_of(env_id) == []


def _app_pid(tmux: Tmux) -> int:
    """The stagetui process: the child of the pane's shell."""
    shell = int(tmux.pane("#{pane_pid}"))
    children = Path(f"/proc/{shell}/task/{shell}/children").read_text().split()
    assert children, "the pane's shell has no child: stagetui is not running"
    return int(children[0])


def test_a_note_being_typed_survives_kill_9(small_config: Path, state_dir: Path, tmp_path: Path) -> None:
    """Nothing typed is ever lost: kill the app while the notes editor is open, start it again, and the
    draft comes back in the editor."""
    environ = {k: v for k, v in os.environ.items() if k not in {"TMUX", "TMUX_PANE"}}
    environ["STAGETUI_STATE_DIR"] = str(state_dir)
    command = [sys.executable, "-m", "stagetui", "--config", str(small_config)]
    with tmux_server(tmp_path) as tmux:
        tmux.start(command, cwd=tmp_path, environ=environ, exit_file=tmp_path / "first-exit")
        tmux.wait_for("the dashboard", lambda s: "Environments" in s)
        tmux.keys("N")
        tmux.wait_for("the notes screen", lambda s: "retrospective notes" in s)
        tmux.type("Crash retro")
        tmux.wait_for("the title typed", lambda s: "Crash retro" in s)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not any((state_dir / "drafts").glob("*.json")):  # the autosave after a pause in typing
            assert time.monotonic() < deadline, "no draft was written"
            time.sleep(0.1)
        os.kill(_app_pid(tmux), 9)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not (tmp_path / "first-exit").exists():  # the shell records the killed app's status
            assert time.monotonic() < deadline, "the killed app did not end"
            time.sleep(0.1)
    with tmux_server(tmp_path) as tmux:
        exit_file = tmp_path / "second-exit"
        tmux.start(command, cwd=tmp_path, environ=environ, exit_file=exit_file)
        tmux.wait_for("the dashboard again", lambda s: "Environments" in s)
        tmux.keys("N")
        screen = tmux.wait_for("the recovered draft", lambda s: "Crash retro" in s)
        assert "recovered an unsaved draft" in screen or "Crash retro" in screen
        tmux.keys("C-s")
        tmux.wait_for("the note saved", lambda s: "saved: Crash retro" in s)
        tmux.keys("Escape")
        # Escape then q at once reads as alt+q in a terminal: wait for the dashboard before quitting.
        tmux.wait_for("the dashboard", lambda s: "retrospective notes" not in s and "Environments" in s)
        tmux.keys("q")
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not exit_file.exists():
            assert time.monotonic() < deadline, f"the app did not exit; screen:\n{tmux.screen()}"
            time.sleep(0.2)
    notes_file = state_dir / "store" / "notes.json"
    assert "Crash retro" in notes_file.read_text()
    assert not list((state_dir / "drafts").glob("*.json"))
