"""Faults of real components in the middle of real work: PostgreSQL restarted while a provisioning run is in
a database step, the disk full while the store is written, and an AWS endpoint answering throttling and
500s. Each ends in a success or a clear error, a rollback (or a gc once the fault is gone) that leaves
nothing behind, and a store in which nothing recorded before, and nothing the user typed, is lost."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg.conninfo import make_conninfo

from stagetui.config import load_config
from stagetui.data.engine import DataLocation
from stagetui.data.postgres.engine import PostgresEngine
from stagetui.service.api import StagetuiService
from stagetui.store.drafts import DraftStore
from tests.conftest import SMALL_CONFIG
from tests.integration.fault_proxy import Fault, FaultProxy, fault_proxy
from tests.integration.helpers import CliResult, cli, get_json, kill_leftovers, processes_of, start_hanging_up
from tests.integration.postgres_server import MISSING_BINARIES, PostgresCluster, find_bindir, running_cluster
from tests.integration.test_aws_runtime import aws_config, make_production, s3_keys, tagged

pytestmark = pytest.mark.integration

ENGINE = PostgresEngine()


def start_cli(config: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "stagetui", "--config", str(config), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def typed_cli(config: Path, typed: str, *args: str) -> CliResult:
    """The CLI with `typed` on its standard input, as a note piped or typed into it."""
    done = subprocess.run(
        [sys.executable, "-m", "stagetui", "--config", str(config), *args],
        input=typed,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return CliResult(done.returncode, done.stdout, done.stderr)


# --- PostgreSQL restarted mid-provision ------------------------------------------------------------------


@pytest.fixture(scope="module")
def own_server() -> Iterator[PostgresCluster]:
    """A cluster of this module's own: restarting the session's shared one would hit other modules' work."""
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(MISSING_BINARIES, pytrace=False)
    with running_cluster(bindir) as cluster:
        yield cluster


def pg_ctl(cluster: PostgresCluster, *args: str) -> None:
    done = cluster._run("pg_ctl", "-D", str(cluster.data), *args)
    assert done.returncode == 0, done.stderr


def stop_server(cluster: PostgresCluster) -> None:
    pg_ctl(cluster, "-m", "fast", "-w", "-t", "30", "stop")


def start_server(cluster: PostgresCluster) -> None:
    """On the port and socket directory it had: the config and the running services point there."""
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={cluster.port} -c unix_socket_directories={cluster.sockets} "
        "-c fsync=off -c full_page_writes=off -c synchronous_commit=off"
    )
    pg_ctl(cluster, "-l", str(cluster.base / "server.log"), "-w", "-o", options, "start")


def server_running(cluster: PostgresCluster) -> bool:
    return (cluster.data / "postmaster.pid").exists()


@pytest.fixture
def pg_production(own_server: PostgresCluster, sample_sqlite: Path) -> Iterator[DataLocation]:
    production = DataLocation.postgres(own_server.dsn, "stagetui_prod_faults")
    ENGINE.load_sqlite(sample_sqlite, production)
    try:
        yield production
    finally:
        if not server_running(own_server):
            start_server(own_server)  # a test that failed half way through a restart
        for name in ENGINE.list_databases(own_server.dsn, "stagetui_"):
            ENGINE.drop(DataLocation.postgres(own_server.dsn, name))


@pytest.fixture
def pg_config(tmp_path: Path, state_dir: Path, pg_production: DataLocation) -> Path:
    assert pg_production.dsn is not None and pg_production.database is not None
    dsn = make_conninfo(pg_production.dsn, dbname=pg_production.database)
    path = tmp_path / "stagetui.yaml"
    path.write_text(SMALL_CONFIG.format(customers=100) + f"production:\n  postgres: {json.dumps(dsn)}\n")
    return path


def env_databases(cluster: PostgresCluster) -> list[str]:
    return [name for name in ENGINE.list_databases(cluster.dsn, "stagetui_") if "_env_" in name]


def stagetui_held(cluster: PostgresCluster) -> bool:
    """A stagetui session is inside a statement, held there (by a lock, or by a slow subset filter)."""
    with psycopg.connect(cluster.dsn, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'stagetui' "
            "AND (wait_event_type = 'Lock' OR wait_event = 'PgSleep')"
        ).fetchone()
    return row is not None and row[0] > 0


@pytest.mark.parametrize(
    ("strategy", "step", "restart"),
    [
        # Held reading production in verify_anonymization, after restore_data made its database; the server
        # stays down until the run has ended, so its rollback cannot drop that database: gc must, after.
        ("snapshot", "verify_anonymization", "down through the rollback"),
        # Held in subset_data's read of production (a slow subset filter); restarted at once.
        ("containerized", "subset_data", "at once"),
    ],
    ids=["stopped-through-rollback", "restarted-at-once"],
)
def test_postgres_restarted_mid_provision(
    own_server: PostgresCluster,
    pg_config: Path,
    pg_production: DataLocation,
    strategy: str,
    step: str,
    restart: str,
) -> None:
    before = cli(pg_config, "up", "pg-before", "--strategy", strategy, "--json")
    assert before.code == 0, before.stderr
    kept = before.json()
    (kept_database,) = env_databases(own_server)

    assert pg_production.database is not None
    holder = psycopg.connect(make_conninfo(own_server.dsn, dbname=pg_production.database))
    inside: Callable[[], bool]
    if strategy == "snapshot":
        holder.execute("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE")  # held until the server stops

        def inside() -> bool:
            return len(env_databases(own_server)) == 2 and stagetui_held(own_server)
    else:
        slow = "strategies:\n  containerized:\n    subset_where: pg_sleep(60) IS NOT NULL\n"
        pg_config.write_text(f"{pg_config.read_text()}\n{slow}")

        def inside() -> bool:
            return stagetui_held(own_server)

    run = start_cli(pg_config, "up", "pg-during", "--strategy", strategy, "--json")
    try:
        deadline = time.monotonic() + 60
        while not inside():
            assert run.poll() is None and time.monotonic() < deadline, "the run never got inside its step"
            time.sleep(0.05)
        stop_server(own_server)
        if restart == "at once":
            start_server(own_server)
        stdout, stderr = run.communicate(timeout=120)
        result = CliResult(run.returncode, stdout, stderr)
    finally:
        holder.close()
        if run.poll() is None:
            run.kill()
            run.wait()
    if not server_running(own_server):
        start_server(own_server)

    # A clear error naming the step and the server, and a rollback.
    assert result.code == 1, result.stderr
    failed = result.json()
    cause = failed["status_detail"].split("; rolled back")[0]
    assert cause.startswith(f"{step}: ") and "lost the connection to the server at" in cause, cause
    assert f"127.0.0.1:{own_server.port}" in cause, cause
    rollback = {s["name"]: s for s in failed["steps"] if s["phase"] == "rollback"}
    assert rollback[f"destroy {failed['id']} on local"]["outcome"] == "ok"
    if restart == "down through the rollback":
        # Its database may be left: gc finds it once the server is back.
        assert failed["status"] == "interrupted"
        drops = [s for name, s in rollback.items() if name.startswith("drop ")]  # its login, its database
        assert drops and all(d["outcome"] == "failed" for d in drops), drops
        assert all(f"127.0.0.1:{own_server.port}" in d["detail"] for d in drops), drops
    else:
        assert failed["status"] in ("failed", "interrupted")  # whether the server was back for its rollback

    gc = cli(pg_config, "gc", "--json")
    assert gc.code == 0, gc.stdout + gc.stderr
    assert env_databases(own_server) == [kept_database]  # zero leftovers, the earlier environment's kept

    # Every environment recorded before is intact, and the earlier one still serves and tears down.
    listed = {e["id"]: e for e in cli(pg_config, "ls", "--all", "--json").json()}
    assert set(listed) == {kept["id"], failed["id"]}
    assert {k: listed[kept["id"]][k] for k in ("uid", "status", "endpoint", "created_at", "database")} == {
        k: kept[k] for k in ("uid", "status", "endpoint", "created_at", "database")
    }
    assert get_json(f"{kept['endpoint']}/customers?limit=5")["customers"]
    assert cli(pg_config, "down", kept["id"]).code == 0
    assert env_databases(own_server) == []


# --- Disk full while the store is written --------------------------------------------------------------


FILLER = "filler"


@dataclass
class SmallDisk:
    mountpoint: Path

    @property
    def filler(self) -> Path:
        return self.mountpoint / FILLER

    def fill(self) -> None:
        """Write until the file system refuses: not one block is left for anyone."""
        chunk = b"\0" * 65536
        with self.filler.open("ab", buffering=0) as handle:
            try:
                while True:
                    handle.write(chunk)
            except OSError as error:
                if error.errno != errno.ENOSPC:
                    raise
        if os.statvfs(self.mountpoint).f_bavail:
            raise RuntimeError(f"{self.mountpoint} still has room after the filler")

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


@contextmanager
def small_disk(mountpoint: Path, size: str, state: Path) -> Iterator[SmallDisk]:
    """A tmpfs of `size` mounted at `mountpoint`; unmounted on exit (the services of `state` stopped first:
    their working directories would keep it busy)."""
    if os.geteuid() != 0:
        pytest.skip("a full disk is a tmpfs mounted for the test, which needs root (CI runs as root)")
    mountpoint.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield SmallDisk(mountpoint)
    finally:
        kill_leftovers(state)
        if subprocess.run(["umount", str(mountpoint)], capture_output=True).returncode != 0:
            subprocess.run(["umount", "-l", str(mountpoint)], check=True)  # detached now, gone when unused


def store_files(state: Path) -> dict[str, bytes]:
    store = state / "store"
    files = [p for p in sorted(store.rglob("*")) if p.is_file() and p.name != FILLER]
    return {str(p.relative_to(store)): p.read_bytes() for p in files}


def temp_files(state: Path) -> list[Path]:
    return list(state.rglob("*.tmp"))


def assert_no_space_error(result: CliResult, state: Path) -> None:
    assert result.code == 5, result.stdout + result.stderr  # a state error
    assert "Traceback" not in result.stderr, result.stderr
    error = result.stderr.strip().splitlines()[-1]
    assert error.startswith("stagetui: error: ") and f"cannot write {state / 'store'}/" in error, error
    assert "No space left on device" in error and "its previous content is intact" in error, error


def open_service(config: Path) -> StagetuiService:
    """For setup and reading back, in this process: a CLI round trip would prove nothing more there."""
    return StagetuiService.open(load_config(config))


def test_a_full_disk_changes_nothing_and_loses_nothing(small_config: Path, state_dir: Path) -> None:
    with small_disk(state_dir, "16m", state_dir) as disk:
        up = cli(small_config, "up", "first", "--strategy", "containerized", "--json")
        assert up.code == 0, up.stderr
        first = up.json()["id"]
        service = open_service(small_config)
        service.add_note("before", "written before\n")
        service.start_experiment(
            "exp-before", hypothesis="h", change="", metric="provision.total_seconds", expected_change=-0.1
        )
        before = store_files(state_dir)

        disk.fill()
        typed = "What went wrong\n\n- the disk filled up\n- [ ] alert on it\n"
        note = typed_cli(small_config, typed, "note", "add", "-t", "typed on a full disk")
        assert_no_space_error(note, state_dir)
        assert "the note was not saved" in note.stderr and typed in note.stderr  # the text is not lost
        for args in (
            ("up", "second", "--strategy", "containerized"),
            ("down", first),
            ("experiment", "start", "exp-full", "--hypothesis", "h", "--expect", "-10%"),
        ):
            assert_no_space_error(cli(small_config, *args), state_dir)

        # Nothing changed: the store byte for byte, no temp file, `first` still running, nothing of `second`.
        assert store_files(state_dir) == before
        assert temp_files(state_dir) == []
        assert processes_of(first, state_dir)
        assert [p.name for p in (state_dir / "environments").iterdir()] == [first]

        disk.free()
        listed = cli(small_config, "ls", "--all", "--json").json()
        assert [(e["id"], e["status"]) for e in listed] == [(first, "ready")]
        reopened = open_service(small_config)
        assert [n.title for n in reopened.notes()] == ["before"]
        assert [(e.name, e.status.value) for e in reopened.experiments()] == [("exp-before", "running")]
        assert cli(small_config, "down", first).code == 0


def test_a_note_the_store_cannot_take_is_kept_as_a_draft(small_config: Path, state_dir: Path) -> None:
    with small_disk(state_dir / "store", "1m", state_dir) as disk:  # only the store's file system is full
        open_service(small_config).add_note("before", "kept\n")
        before = store_files(state_dir)
        disk.fill()
        typed = "Typed while the store was full\n"
        note = typed_cli(small_config, typed, "note", "add", "-t", "full store", "--json")
        assert note.code == 5 and "Traceback" not in note.stderr, note.stderr
        error = note.json()["error"]
        (draft,) = DraftStore(state_dir / "drafts").all()
        assert (draft.title, draft.body) == ("full store", typed)
        assert f"its text is kept as the draft {state_dir / 'drafts' / draft.key}.json" in error, error
        assert store_files(state_dir) == before and temp_files(state_dir) == []


def recorded_step(state: Path, name: str) -> bool:
    return any(f'"name":"{name}"'.encode() in p.read_bytes() for p in state.glob("store/history/steps-*"))


def test_a_run_interrupted_on_a_full_disk_still_rolls_back(small_config: Path, state_dir: Path) -> None:
    with small_disk(state_dir, "16m", state_dir) as disk:
        try:
            run = start_hanging_up(small_config, state_dir, "inflight", "containerized")
        except AssertionError as error:
            pytest.fail(str(error))
        (workspace,) = (state_dir / "environments").iterdir()
        try:
            # start_services recorded: the run is in health_check, held there by the failpoint.
            deadline = time.monotonic() + 60
            while not recorded_step(state_dir, "start_services"):
                if run.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the run never recorded start_services")
                time.sleep(0.05)
            disk.fill()
            run.send_signal(signal.SIGINT)  # Ctrl-C: the run rolls back, and its records cannot be written
            assert run.wait(timeout=60) != 0 and temp_files(state_dir) == []
            assert processes_of(workspace.name, state_dir) == [] and not workspace.exists()
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
            disk.free()
            gc = cli(small_config, "gc", "--json")  # what the run left, gc finds once there is space again
            if gc.code != 0 or processes_of(workspace.name, state_dir) or workspace.exists():
                pytest.fail(f"gc did not remove what the run left: {gc.stdout}{gc.stderr}")


# --- An AWS endpoint answering throttling and 500s ------------------------------------------------------

ATTEMPTS = 3
"""runtimes.aws.max_attempts in these tests: every request, the first included."""


@pytest.fixture
def proxy(aws_endpoint: str, state_dir: Path) -> Iterator[FaultProxy]:
    with fault_proxy(aws_endpoint) as running:
        yield running


@pytest.fixture
def proxied_config(tmp_path: Path, aws_endpoint: str, proxy: FaultProxy) -> Path:
    """Production on moto, reached by stagetui through the proxy (tests check moto directly)."""
    production = make_production(aws_endpoint)
    path = aws_config(tmp_path, proxy.url, production["volume"])
    data = yaml.safe_load(path.read_text())
    data["runtimes"]["aws"]["max_attempts"] = ATTEMPTS
    path.write_text(yaml.safe_dump(data))
    return path


def up_on_aws(config: Path, branch: str, extra_env: dict[str, str] | None = None) -> CliResult:
    return cli(config, "up", branch, "-s", "snapshot", "--runtime", "aws", "--json", extra_env=extra_env)


def aws_services(endpoint: str, environment_id: str) -> list[str]:
    return sorted({arn.split(":")[2] for arn in tagged(endpoint, "stagetui.env", environment_id)})


TRANSIENT = [
    Fault("rds", "RestoreDBInstanceFromDBSnapshot", "throttle", times=ATTEMPTS - 1),
    Fault("ec2", "CreateVolume", "throttle", times=ATTEMPTS - 1),
    Fault("s3", "CopyObject", "503", times=ATTEMPTS - 1),
    Fault("ssm", "PutParameter", "500", times=ATTEMPTS - 1),
    Fault("tagging", "GetResources", "throttle", times=ATTEMPTS - 1),
]


def test_transient_aws_faults_are_retried_and_the_run_succeeds(
    aws_endpoint: str, proxy: FaultProxy, proxied_config: Path
) -> None:
    proxy.set_faults(TRANSIENT)
    up = up_on_aws(proxied_config, "feat/flaky")
    assert up.code == 0, up.stdout + up.stderr
    env = up.json()
    assert env["status"] == "ready"
    for fault in TRANSIENT:  # each faulted until its last attempt, which went through
        key = (fault.service, fault.operation)
        assert proxy.faulted[key] == ATTEMPTS - 1 and proxy.seen[key] >= ATTEMPTS, (key, proxy.seen)
    assert aws_services(aws_endpoint, env["id"]) == ["ec2", "rds", "ssm"]
    assert s3_keys(aws_endpoint, f"stagetui/envs/{env['id']}/")
    assert cli(proxied_config, "down", env["id"]).code == 0
    assert tagged(aws_endpoint, "stagetui.env") == []


THROTTLED = "SlowDown: Please reduce your request rate. (AWS kept throttling after every retry"
FAILING = "InternalFailure: We encountered an internal error. Please try again. (AWS kept failing on its side"


@pytest.mark.parametrize(
    ("fault", "step", "hint"),
    [
        (Fault("s3", "CopyObject", "throttle"), "copy_seed", THROTTLED),
        (Fault("ssm", "PutParameter", "500"), "apply_config", FAILING),
    ],
    ids=["s3-throttling", "ssm-500"],
)
def test_persistent_aws_faults_fail_clearly_and_roll_back(
    aws_endpoint: str, proxy: FaultProxy, proxied_config: Path, fault: Fault, step: str, hint: str
) -> None:
    refreshed = cli(proxied_config, "snapshot", "refresh", "--runtime", "aws")  # the set, before any fault
    assert refreshed.code == 0, refreshed.stderr
    proxy.set_faults([fault])
    up = up_on_aws(proxied_config, "feat/stuck")
    assert up.code == 1, up.stdout + up.stderr
    env = up.json()
    assert env["status"] == "failed" and env["status_detail"].startswith(f"{step}: "), env["status_detail"]
    assert hint in env["status_detail"], env["status_detail"]
    faulted = proxy.faulted[(fault.service, fault.operation)]
    assert faulted >= ATTEMPTS and faulted % ATTEMPTS == 0  # every call tried max_attempts times, no more
    rollback = [s for s in env["steps"] if s["phase"] == "rollback"]
    assert rollback and all(s["outcome"] == "ok" for s in rollback), rollback
    # On moto itself, not through the proxy: nothing of the environment is left.
    assert tagged(aws_endpoint, "stagetui.env") == [] and s3_keys(aws_endpoint, "stagetui/envs/") == []
    listed = cli(proxied_config, "ls", "--all", "--json").json()
    assert [(e["id"], e["status"], e["status_detail"]) for e in listed] == [
        (env["id"], "failed", env["status_detail"])
    ]


def test_a_rollback_aws_keeps_throttling_is_finished_by_gc(
    aws_endpoint: str, proxy: FaultProxy, proxied_config: Path
) -> None:
    # Everything made, then a step fails: only the rollback meets the throttling.
    proxy.set_faults([Fault("rds", "DeleteDBInstance", "throttle")])
    up = up_on_aws(proxied_config, "feat/sticky", extra_env={"STAGETUI_FAILPOINTS": "estimate_cost"})
    assert up.code == 1, up.stdout + up.stderr
    env = up.json()
    assert env["status"] == "interrupted", env["status_detail"]  # something is left: gc will look
    assert "rolled back with errors" in env["status_detail"]
    assert "Throttling: Rate exceeded (AWS kept throttling after every retry" in env["status_detail"]
    assert aws_services(aws_endpoint, env["id"]) == ["rds"]  # the rest went despite the stuck database

    proxy.set_faults([])
    gc = cli(proxied_config, "gc", "--json")
    assert gc.code == 0, gc.stdout + gc.stderr
    assert [(a["id"], a["reason"]) for a in gc.json()["actions"]] == [(env["id"], "interrupted")]
    assert tagged(aws_endpoint, "stagetui.env") == [] and s3_keys(aws_endpoint, "stagetui/envs/") == []
