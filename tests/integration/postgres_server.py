"""A throwaway PostgreSQL cluster for integration tests and benchmarks: one per test session.

The cluster lives in a temp directory, listens on a free loopback port with trust authentication, and is
always stopped (fast shutdown, then SIGKILL of the postmaster if it is still alive). initdb and pg_ctl
refuse to run as root, so under root they run as the `postgres` user in a directory chowned to it.
The fixtures are registered for every module under tests/integration by that directory's conftest.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stagetui.data.engine import DataLocation
from stagetui.data.postgres import PostgresEngine
from stagetui.sample.generator import SampleSpec, generate_production_db

SERVICE_USER = "postgres"  # the OS user that owns the cluster when tests run as root
SAMPLE_CUSTOMERS = 300
SAMPLE_NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)  # fixed: the same sample every session
_START_ATTEMPTS = 3  # a free port can be taken by someone else between choosing it and binding it


def find_bindir() -> Path | None:
    """The directory holding initdb and pg_ctl: pg_config's answer, else the newest Debian-style install."""
    pg_config = shutil.which("pg_config")
    candidates: list[Path] = []
    if pg_config is not None:
        result = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if result.returncode == 0:
            candidates.append(Path(result.stdout.strip()))
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: _version(p.parent.name))
    candidates += reversed(versions)
    return next((c for c in candidates if (c / "initdb").is_file() and (c / "pg_ctl").is_file()), None)


def _version(name: str) -> tuple[int, ...]:
    return tuple(int(part) for part in name.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class PostgresCluster:
    bindir: Path
    base: Path
    port: int = 0

    @property
    def data(self) -> Path:
        return self.base / "data"

    @property
    def sockets(self) -> Path:
        return self.base / "sock"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [str(self.bindir / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", SERVICE_USER, "--", *command]
        return subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)

    def start(self) -> None:
        self.sockets.mkdir(parents=True)
        if os.geteuid() == 0:
            shutil.chown(self.base, SERVICE_USER, SERVICE_USER)
            shutil.chown(self.sockets, SERVICE_USER, SERVICE_USER)
        init = self._run(
            "initdb", "-D", str(self.data), "--auth=trust", "--username=postgres", "--no-sync",
            "--locale=C.UTF-8", "--encoding=UTF8",
        )  # fmt: skip
        if init.returncode != 0:
            raise RuntimeError(f"initdb failed: {init.stderr.strip()}")
        for _attempt in range(_START_ATTEMPTS):
            self.port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories={self.sockets} "
                "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
            )
            log = str(self.base / "server.log")
            started = self._run("pg_ctl", "-D", str(self.data), "-l", log, "-w", "-o", options, "start")
            if started.returncode == 0:
                return
        log_tail = (self.base / "server.log").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"pg_ctl start failed: {started.stderr.strip()}\n{log_tail}")

    def stop(self) -> None:
        """Stop the server whatever state it is in, then remove its files."""
        if self.data.is_dir():
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "-t", "30", "stop")
            pid_file = self.data / "postmaster.pid"
            with contextlib.suppress(OSError, ValueError, IndexError):
                pid = int(pid_file.read_text().splitlines()[0])
                os.kill(pid, signal.SIGKILL)  # only reached when the fast shutdown left it running
        shutil.rmtree(self.base, ignore_errors=True)


MISSING_BINARIES = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found via pg_config or /usr/lib/postgresql: "
    "install them (apt-get install -y --no-install-recommends postgresql)"
)


@contextlib.contextmanager
def running_cluster(bindir: Path) -> Iterator[PostgresCluster]:
    """A started cluster, stopped and removed on exit (whatever happened inside, SIGTERM included)."""
    # Not pytest's tmp_path: that is private to the test user (0700), and the server may run as another.
    cluster = PostgresCluster(bindir, Path(tempfile.mkdtemp(prefix="stagetui-pg-")))
    with _terminate_as_interrupt():
        try:
            cluster.start()
            yield cluster
        finally:
            cluster.stop()


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt("SIGTERM")


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM (what `timeout` and CI cancellation send) would end Python without running any finally:
    the server, started as a daemon, would outlive the run. As KeyboardInterrupt it unwinds, and pytest
    still tears its fixtures down."""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """Admin DSN (user postgres, trust auth, database postgres) of a cluster for this session."""
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(MISSING_BINARIES, pytrace=False)  # CI installs them: a missing server is a failure
    with running_cluster(bindir) as cluster:
        yield cluster.dsn


@pytest.fixture(scope="session")
def sample_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small sample production as a SQLite file, generated once per session (it is only read)."""
    path = tmp_path_factory.mktemp("pg-sample") / "production.db"
    generate_production_db(path, SampleSpec(customers=SAMPLE_CUSTOMERS, now=SAMPLE_NOW))
    return path


@pytest.fixture
def pg_production(postgres_server: str, sample_sqlite: Path) -> Iterator[DataLocation]:
    """The sample production loaded into a fresh database; every stagetui_ database is dropped after."""
    engine = PostgresEngine()
    production = DataLocation.postgres(postgres_server, f"stagetui_prod_{uuid.uuid4().hex[:8]}")
    engine.load_sqlite(sample_sqlite, production)
    try:
        yield production
    finally:
        for name in engine.list_databases(postgres_server, "stagetui_"):
            engine.drop(DataLocation.postgres(postgres_server, name))
