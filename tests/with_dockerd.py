"""Run a command (the test suite) with a Docker Engine: `python tests/with_dockerd.py CMD [ARGS...]`.

When DOCKER_HOST already points at an engine that answers, the command runs against it. Otherwise a
private dockerd is started in a fresh temp dir (its own socket, data and exec roots; iptables and
ip_forward left alone) and DOCKER_HOST plus STAGETUI_REQUIRE_DOCKER=1 are exported to the command.
Whatever happens (the command fails, Ctrl-C, SIGTERM), that daemon is torn down: its containers removed,
the daemon stopped by the pid in its pid file, the bridges it created deleted, leftover mounts under its
dir unmounted, the dir removed. The exit code is the command's.

Without the means to run dockerd (not installed, not root, it does not start) this fails loudly under
CI=true and otherwise runs the command without an engine, so the docker tests skip with their reason.
Standard library only: it runs before, and independently of, the project's dependencies.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

READY_TIMEOUT = float(os.environ.get("STAGETUI_DOCKERD_TIMEOUT", "60"))
STOP_TIMEOUT = 20.0  # dockerd's own shutdown; containers are already gone by then, so it is quick
CHILD_GRACE = 60.0  # how long a forwarded SIGTERM may take to end the command (its own cleanup included)
LOG_TAIL_LINES = 30
SYS_NET = Path("/sys/class/net")
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def log(message: str) -> None:
    print(f"with_dockerd: {message}", file=sys.stderr, flush=True)


class DockerdUnavailable(Exception):
    """This machine cannot run a private dockerd; the message says why and what to do."""


# --- talking to the engine with the standard library ------------------------------------------------------


class _UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self._path)
        self.sock = sock


def _connection(docker_host: str, timeout: float) -> http.client.HTTPConnection | None:
    """A connection to the engine, or None for a kind of address this script cannot probe (ssh://, TLS)."""
    url = urllib.parse.urlsplit(docker_host)
    if url.scheme == "unix":
        return _UnixHTTPConnection(url.path, timeout)
    if url.scheme in ("tcp", "http") and not os.environ.get("DOCKER_TLS_VERIFY") and url.hostname:
        return http.client.HTTPConnection(url.hostname, url.port or 2375, timeout=timeout)
    return None


def api(docker_host: str, method: str, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
    connection = _connection(docker_host, timeout)
    if connection is None:
        raise OSError(f"cannot probe {docker_host} with the standard library")
    try:
        connection.request(method, path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def engine_answers(docker_host: str) -> bool:
    try:
        status, body = api(docker_host, "GET", "/_ping", timeout=2.0)
    except (OSError, http.client.HTTPException):
        return False
    return status == 200 and body.strip() == b"OK"


# --- the host's state: bridges, mounts --------------------------------------------------------------------


def bridges() -> set[str]:
    return {path.parent.name for path in SYS_NET.glob("*/bridge")}


def ip_link(*args: str) -> subprocess.CompletedProcess[str]:
    ip = shutil.which("ip", path=SBIN_PATH) or "ip"
    return subprocess.run([ip, "link", *args], capture_output=True, text=True, check=False)


def mounts_under(directory: Path) -> list[str]:
    """Mount points at or below directory, deepest first (the order they must be unmounted in)."""
    prefix = str(directory)
    points: list[str] = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as mountinfo:  # noqa: PTH123
        for line in mountinfo:
            # The 5th field is the mount point, with spaces and the like escaped as octal (\040).
            point = line.split()[4].encode().decode("unicode_escape")
            if point == prefix or point.startswith(prefix + "/"):
                points.append(point)
    return sorted(set(points), key=len, reverse=True)


def processes_mentioning(directory: Path) -> list[int]:
    """Pids of processes whose command line names directory: a containerd or shim of our daemon that
    outlived it (only after a SIGKILL). The dir is unique to this run, so these are ours."""
    needle = str(directory).encode()
    pids: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "cmdline").read_bytes():
                pids.append(int(entry.name))
    return pids


# --- the private daemon -----------------------------------------------------------------------------------


@dataclass
class Dockerd:
    directory: Path
    bridges_before: set[str]
    process: subprocess.Popen[bytes] | None = None
    own_bridges: set[str] = field(default_factory=set)
    # Our own default bridge rather than docker0: two runs at once (two checkouts on one machine) would
    # share docker0, and the first to finish would delete it under the other. At most 15 characters.
    default_bridge: str = field(default_factory=lambda: f"stgd{secrets.token_hex(4)}")

    @property
    def socket_path(self) -> Path:
        return self.directory / "docker.sock"

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid_file(self) -> Path:
        return self.directory / "dockerd.pid"

    @property
    def log_file(self) -> Path:
        return self.directory / "dockerd.log"

    def log_tail(self) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except OSError:
            return "(no daemon log)"
        return "\n".join(lines[-LOG_TAIL_LINES:]) or "(empty daemon log)"

    def start(self) -> None:
        binary = shutil.which("dockerd") or shutil.which("dockerd", path=SBIN_PATH)
        if binary is None:
            raise DockerdUnavailable("dockerd is not installed (apt-get install -y docker.io)")
        if os.geteuid() != 0:
            raise DockerdUnavailable("starting dockerd needs root (or run an engine and set DOCKER_HOST)")
        if shutil.which("ip", path=SBIN_PATH) is None:
            raise DockerdUnavailable("the ip command is missing (apt-get install -y iproute2)")
        if self.default_bridge not in bridges():  # a restart of the same daemon keeps its bridge
            created = ip_link("add", self.default_bridge, "type", "bridge")
            if created.returncode != 0:
                raise DockerdUnavailable(f"could not create a bridge for dockerd: {created.stderr.strip()}")
        self.own_bridges.add(self.default_bridge)
        command = [
            binary,
            f"--host={self.docker_host}",
            f"--data-root={self.directory / 'root'}",
            f"--exec-root={self.directory / 'exec'}",
            f"--pidfile={self.pid_file}",
            "--storage-driver=overlay2",
            f"--bridge={self.default_bridge}",  # dockerd gives it a free subnet (one no route uses)
            # Leave the host's firewall and forwarding alone; published ports still work via docker-proxy.
            "--iptables=false",
            "--ip-forward=false",
        ]
        self.spawn(command, "dockerd")

    def spawn(self, command: list[str], what: str) -> None:
        """Start `command` (a dockerd, perhaps behind nsenter) and wait until its socket answers."""
        # containerd, runc and docker-proxy live in sbin on Debian; a non-login root PATH may lack it.
        env = {**os.environ, "PATH": os.environ.get("PATH", "") + ":" + SBIN_PATH}
        env.pop("DOCKER_HOST", None)
        self.directory.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("wb") as log_output:
            # Its own session: a Ctrl-C at the terminal must not stop it before its containers are removed.
            self.process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log_output,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        deadline = time.monotonic() + READY_TIMEOUT
        while not engine_answers(self.docker_host):
            if self.process.poll() is not None:
                raise DockerdUnavailable(
                    f"{what} exited with code {self.process.returncode} while starting; its log:\n"
                    + self.log_tail()
                )
            if time.monotonic() > deadline:
                raise DockerdUnavailable(
                    f"{what} did not answer on {self.socket_path} within {READY_TIMEOUT:g} s "
                    f"(STAGETUI_DOCKERD_TIMEOUT); its log:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _remember_bridges(self) -> None:
        """The bridges our daemon's networks use, asked while it still answers: only those that also did not
        exist before it started are deleted (another engine on this host may share docker0)."""
        try:
            status, body = api(self.docker_host, "GET", "/networks")
            networks = json.loads(body) if status == 200 else []
        except (OSError, http.client.HTTPException, ValueError):
            networks = None
        if networks is None:  # it does not answer: fall back to the names dockerd gives bridges
            self.own_bridges |= {name for name in bridges() if name.startswith("br-")}
            return
        for network in networks:
            if network.get("Driver") == "bridge":
                options = network.get("Options") or {}
                name = options.get("com.docker.network.bridge.name") or f"br-{network['Id'][:12]}"
                self.own_bridges.add(name)

    def _remove_containers(self) -> None:
        host = self.docker_host
        with contextlib.suppress(OSError, http.client.HTTPException):
            # A swarm would recreate the tasks we remove; leaving it first (an error when not in one).
            api(host, "POST", "/swarm/leave?force=1", timeout=30)
        try:
            status, body = api(host, "GET", "/containers/json?all=1")
            containers = json.loads(body) if status == 200 else []
        except (OSError, http.client.HTTPException, ValueError) as error:
            log(f"could not list containers ({error}); stopping dockerd anyway")
            return
        for container in containers:
            try:
                api(host, "DELETE", f"/containers/{container['Id']}?force=1&v=1", timeout=30)
            except (OSError, http.client.HTTPException) as error:
                log(f"could not remove container {container['Id'][:12]}: {error}")

    def stop_daemon(self) -> None:
        pid = self._pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        if not self._wait_gone(pid, STOP_TIMEOUT):
            log(f"dockerd (pid {pid}) still running after {STOP_TIMEOUT:.0f} s: SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            self._wait_gone(pid, 10)
        # After a SIGKILL its containerd or shims may linger; they name our dir on their command line.
        for leftover in processes_mentioning(self.directory):
            with contextlib.suppress(ProcessLookupError):
                os.kill(leftover, signal.SIGKILL)

    def _pid(self) -> int | None:
        """The pid from the pid file when it is the process we started; else the one we started."""
        started = self.process.pid if self.process is not None else None
        with contextlib.suppress(OSError, ValueError):
            recorded = int(self.pid_file.read_text().strip())
            if recorded == started:
                return recorded
        if self.process is not None and self.process.poll() is None:
            return started
        return None

    def _wait_gone(self, pid: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and pid == self.process.pid:
                if self.process.poll() is not None:
                    return True
            else:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    return True
            time.sleep(0.1)
        return False

    def _delete_bridges(self) -> None:
        for name in sorted((self.own_bridges & bridges()) - self.bridges_before):
            result = ip_link("del", name)
            if result.returncode != 0:
                log(f"could not delete bridge {name}: {result.stderr.strip()}")

    def _unmount_and_remove(self) -> None:
        for point in mounts_under(self.directory):
            if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
        remaining = mounts_under(self.directory)
        if remaining:
            # Deleting through a mount would delete what it shows (possibly host files): leave the dir.
            log(f"left {self.directory} in place: still mounted: {', '.join(remaining)}")
            return
        shutil.rmtree(self.directory, ignore_errors=True)
        if self.directory.exists():
            log(f"could not remove all of {self.directory}")

    def teardown(self) -> None:
        """Every step runs even when an earlier one fails: each leaves less behind."""
        if self.process is not None and self.process.poll() is None:
            self._remember_bridges()
            self._remove_containers()
        for step in (self.stop_daemon, self._delete_bridges, self._unmount_and_remove):
            try:
                step()
            except Exception as error:  # keep cleaning up: a later step may still succeed
                log(f"cleanup step {step.__name__} failed: {error}")


# --- signals and the command ------------------------------------------------------------------------------


class Interrupted(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


class Runner:
    """Runs the command; signals received meanwhile are passed on to it, and remembered."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[bytes] | None = None
        self.received: int | None = None

    def _foreground(self) -> bool:
        """Whether we are the terminal's foreground group: then a Ctrl-C already reached the command too."""
        try:
            return os.tcgetpgrp(sys.stdin.fileno()) == os.getpgrp()
        except OSError:
            return False

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        self.received = self.received or signum
        child = self.child
        if child is None or child.poll() is not None:
            raise Interrupted(signum)  # nothing running yet: unwind straight to the cleanup
        if signum != signal.SIGINT or not self._foreground():
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signum)

    def run(self, command: list[str], env: dict[str, str]) -> int:
        self.child = subprocess.Popen(command, env=env)
        while True:
            try:
                code = self.child.wait(timeout=CHILD_GRACE if self.received else None)
            except subprocess.TimeoutExpired:
                log(f"the command did not end {CHILD_GRACE:.0f} s after {self.received}: SIGKILL")
                self.child.kill()
                continue
            return code if code >= 0 else 128 - code  # a shell's convention for "killed by signal N"


@contextlib.contextmanager
def cleanup_shielded() -> Iterator[None]:
    """The teardown must finish (it is bounded in time), so more signals wait until it has."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in FORWARDED}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("true", "1", "yes")


def main(argv: list[str]) -> int:
    command = argv[1:]
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        print(__doc__, file=sys.stderr)
        return 2
    runner = Runner()
    for sig in FORWARDED:
        signal.signal(sig, runner.handle)
    env = dict(os.environ)
    existing = env.get("DOCKER_HOST")
    if existing and engine_answers(existing):
        log(f"using the engine at DOCKER_HOST={existing}")
        env["STAGETUI_REQUIRE_DOCKER"] = "1"
        return runner.run(command, env)
    if existing:
        log(f"DOCKER_HOST={existing} does not answer; starting a private dockerd")

    daemon: Dockerd | None = None
    try:
        try:
            # Short and under /tmp: a unix socket path must fit in 108 bytes.
            directory = Path(tempfile.mkdtemp(prefix="stagetui-dockerd.", dir="/tmp"))
            daemon = Dockerd(directory, bridges_before=bridges())
            started = time.monotonic()
            daemon.start()
        except (DockerdUnavailable, OSError) as error:
            if daemon is not None:
                with cleanup_shielded():
                    daemon.teardown()  # a daemon that started but never answered
                daemon = None
            if in_ci():
                log(f"FAILED: no Docker engine for the tests: {error}")
                return 1
            log(f"WARNING: no Docker engine, the docker tests will skip: {error}")
            env.pop("DOCKER_HOST", None)
        else:
            log(f"dockerd ready in {time.monotonic() - started:.1f} s at {daemon.docker_host}")
            env["DOCKER_HOST"] = daemon.docker_host
            env["STAGETUI_REQUIRE_DOCKER"] = "1"
        return runner.run(command, env)
    except Interrupted as interrupted:
        log(f"interrupted by {interrupted}")
        return 128 + interrupted.signum
    finally:
        if daemon is not None:
            with cleanup_shielded():
                daemon.teardown()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
