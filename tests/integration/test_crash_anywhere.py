"""kill -9 at every step boundary of every strategy and runtime, of the CLI and of the TUI: the next start
finds the environment interrupted, `gc` removes everything it made (zero leftovers), and the store opens
intact. Each runtime's crashes share one state directory, so one store lives through all of them, and a
note written before the first crash must still be there after the last."""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from psycopg.conninfo import make_conninfo

from stagetui.config.model import StagetuiConfig
from stagetui.data.engine import DataLocation
from stagetui.data.postgres.engine import PostgresEngine
from stagetui.domain.ids import environment_id
from stagetui.domain.models import Strategy
from stagetui.strategies.registry import strategy_for
from tests.conftest import SMALL_CONFIG
from tests.integration.crash_harness import (
    CrashPoint,
    CrashSite,
    assert_note_kept,
    crash_points,
    recover_and_check,
    write_note,
)
from tests.integration.docker_engine import labelled_resources
from tests.integration.moto_server import reset_moto
from tests.integration.swarm_cluster import SwarmCluster
from tests.integration.test_aws_runtime import aws_config, make_production, tagged
from tests.integration.test_docker_runtime import busybox_compose, docker_config
from tests.integration.test_tui_tmux import DEADLINE_SECONDS, tmux_server

pytestmark = pytest.mark.integration

NOTE = "kept through every crash"
STRATEGIES = tuple(Strategy)
TEARDOWN_POINTS = [CrashPoint("destroy", "crash"), CrashPoint("destroy", "crash-after")]


def _cases(
    runtime: str,
    *,
    both_sides: bool,
    strategies: tuple[Strategy, ...] = STRATEGIES,
    settings: StagetuiConfig | None = None,
) -> list[Any]:
    cases = []
    for strategy in strategies:
        steps = strategy_for(strategy).plan(settings or StagetuiConfig(), runtime).names
        for point in crash_points(steps, both_sides=both_sides):
            cases.append(pytest.param(strategy, point, id=f"{strategy.value}-{point.label}"))
    return cases


def _teardown_cases(strategies: tuple[Strategy, ...] = STRATEGIES) -> list[Any]:
    return [
        pytest.param(strategy, point, id=f"{strategy.value}-{point.label}")
        for strategy in strategies
        for point in TEARDOWN_POINTS
    ]


def crash_up(site: CrashSite, strategy: Strategy, point: CrashPoint, prefix: str = "crash") -> str:
    branch = f"{prefix}/{point.label}"
    site.killed_cli(point.failpoints, "up", branch, "--strategy", strategy.value, "--runtime", site.runtime)
    return environment_id(branch, strategy)


def crash_down(site: CrashSite, strategy: Strategy, point: CrashPoint) -> str:
    """A ready environment whose `down` is killed as it removes the resources, or right after."""
    branch = f"teardown/{point.label}"
    up = site.cli("up", branch, "--strategy", strategy.value, "--runtime", site.runtime, "--json")
    assert up.code == 0, up.stdout + up.stderr
    env_id: str = up.json()["id"]
    site.killed_cli(point.failpoints, "down", env_id)
    return env_id


@pytest.fixture(scope="module")
def site_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("crash")


def _open_site(site: CrashSite) -> Iterator[CrashSite]:
    write_note(site, NOTE)
    yield site
    assert_note_kept(site, NOTE)


# --- local runtime, embedded SQLite: before and after every step -------------------------------------


@pytest.fixture(scope="module")
def local_site(site_root: Path) -> Iterator[CrashSite]:
    config = site_root / "local.yaml"
    config.write_text(SMALL_CONFIG.format(customers=200))
    # The local runtime holds a directory and processes, which recover_and_check looks at for every site.
    yield from _open_site(CrashSite(config, site_root / "local-state", "local", lambda _id: []))


@pytest.mark.parametrize(("strategy", "point"), _cases("local", both_sides=True))
def test_local_cli_killed_at_a_step_boundary(
    local_site: CrashSite, strategy: Strategy, point: CrashPoint
) -> None:
    recover_and_check(local_site, crash_up(local_site, strategy, point))


@pytest.mark.parametrize(("strategy", "point"), _teardown_cases())
def test_local_down_killed_while_removing(
    local_site: CrashSite, strategy: Strategy, point: CrashPoint
) -> None:
    recover_and_check(local_site, crash_down(local_site, strategy, point))


def test_a_gc_killed_while_collecting_is_finished_by_the_next(local_site: CrashSite) -> None:
    env_id = crash_up(local_site, Strategy.CONTAINERIZED, CrashPoint("health_check", "crash"), "gc")
    local_site.killed_cli("destroy:crash-after", "gc")
    recover_and_check(local_site, env_id)


# --- local runtime, PostgreSQL data engine: databases on a real server ---------------------------------


@pytest.fixture(scope="module")
def postgres_site(site_root: Path, postgres_server: str, sample_sqlite: Path) -> Iterator[CrashSite]:
    engine = PostgresEngine()
    production = DataLocation.postgres(postgres_server, "stagetui_prod_crash")
    engine.load_sqlite(sample_sqlite, production)
    config = site_root / "postgres.yaml"
    dsn = make_conninfo(postgres_server, dbname=production.database)
    config.write_text(SMALL_CONFIG.format(customers=100) + f"production:\n  postgres: {json.dumps(dsn)}\n")

    def databases(env_id: str) -> list[str]:
        # Only one environment exists at a time here: any environment database or login left is a leftover.
        found = [f"database {n}" for n in engine.list_databases(postgres_server, "stagetui_")]
        found += [f"login {n}" for n in engine.list_logins(postgres_server, "stagetui_")]
        return [name for name in found if "_env_" in name]

    try:
        yield from _open_site(CrashSite(config, site_root / "postgres-state", "local", databases))
    finally:
        for name in engine.list_databases(postgres_server, "stagetui_"):
            engine.drop(DataLocation.postgres(postgres_server, name))


# Only the plan's shape is read from it (a PostgreSQL production masks while it restores).
ON_POSTGRES = StagetuiConfig.model_validate({"production": {"postgres": "postgresql://shop@db/shop"}})


@pytest.mark.parametrize(("strategy", "point"), _cases("local", both_sides=False, settings=ON_POSTGRES))
def test_postgres_cli_killed_at_a_step_boundary(
    postgres_site: CrashSite, strategy: Strategy, point: CrashPoint
) -> None:
    recover_and_check(postgres_site, crash_up(postgres_site, strategy, point))


@pytest.mark.parametrize(("strategy", "point"), _teardown_cases((Strategy.FULL_CLONE,)))
def test_postgres_down_killed_while_removing(
    postgres_site: CrashSite, strategy: Strategy, point: CrashPoint
) -> None:
    recover_and_check(postgres_site, crash_down(postgres_site, strategy, point))


# --- docker runtime: containers, networks and volumes on a real engine ---------------------------------


@pytest.fixture(scope="module")
def docker_site(
    site_root: Path, docker_client: docker.DockerClient, sample_images: None
) -> Iterator[CrashSite]:
    directory = site_root / "docker"
    directory.mkdir()
    config = docker_config(directory, busybox_compose(directory))

    def labelled(env_id: str) -> list[str]:
        found = labelled_resources(docker_client)
        return [f"{kind} {name}" for kind, names in found.items() for name in names if env_id in name]

    yield from _open_site(CrashSite(config, site_root / "docker-state", "docker", labelled))


@pytest.mark.parametrize(("strategy", "point"), _cases("docker", both_sides=False))
def test_docker_cli_killed_at_a_step_boundary(
    docker_site: CrashSite, strategy: Strategy, point: CrashPoint
) -> None:
    recover_and_check(docker_site, crash_up(docker_site, strategy, point))


@pytest.mark.parametrize(("strategy", "point"), _teardown_cases())
def test_docker_down_killed_while_removing(
    docker_site: CrashSite, strategy: Strategy, point: CrashPoint
) -> None:
    recover_and_check(docker_site, crash_down(docker_site, strategy, point))


# --- swarm runtime: services, configs and networks across a real two-node cluster ----------------------

SWARM_COMPOSE = """\
name: shop
x-stagetui:
  endpoint: {service: web, port: 8080}
  data_volume: data
  config_volume: config
services:
  web:
    image: stagetui-busybox:1
    command: [sh, -c, "mkdir -p /tmp/w && echo '{}' > /tmp/w/health && exec httpd -f -p 8080 -h /tmp/w"]
    volumes: ["data:/data:ro", "config:/config:ro"]
    ports: ["8080"]
volumes:
  data: {}
  config: {}
"""


def _swarm_labelled(cluster: SwarmCluster, env_id: str) -> list[str]:
    found = []
    for node in (cluster.manager, cluster.worker):
        api, label = node.api, {"label": f"stagetui.env={env_id}"}
        found += [f"container {c['Names'][0]}" for c in api.containers(all=True, filters=label)]
        found += [f"volume {v['Name']}" for v in api.volumes(filters=label).get("Volumes") or []]
    api = cluster.manager.api
    found += [f"service {s['Spec']['Name']}" for s in api.services(filters=label)]
    found += [f"config {c['Spec']['Name']}" for c in api.configs(filters=label)]
    found += [f"network {n['Name']}" for n in api.networks(filters=label)]
    return found


@pytest.fixture(scope="module")
def swarm_site(site_root: Path, swarm_cluster: SwarmCluster) -> Iterator[CrashSite]:
    compose = site_root / "swarm-compose.yaml"
    compose.write_text(SWARM_COMPOSE)
    runtime = (
        f"  swarm:\n    compose: {compose}\n    host: {swarm_cluster.manager_host}\n    health_timeout: 60s\n"
    )
    config = site_root / "swarm.yaml"
    config.write_text(SMALL_CONFIG.format(customers=100).replace("runtimes:\n", "runtimes:\n" + runtime))

    def leftovers(env_id: str) -> list[str]:
        # The nodes remove a removed service's containers shortly after the manager removed it.
        deadline = time.monotonic() + 60
        while (found := _swarm_labelled(swarm_cluster, env_id)) and time.monotonic() < deadline:
            time.sleep(0.2)
        return found

    yield from _open_site(CrashSite(config, site_root / "swarm-state", "swarm", leftovers))


@pytest.mark.parametrize(("strategy", "point"), _cases("swarm", both_sides=False))
def test_swarm_cli_killed_at_a_step_boundary(
    swarm_site: CrashSite, strategy: Strategy, point: CrashPoint
) -> None:
    recover_and_check(swarm_site, crash_up(swarm_site, strategy, point))


# --- aws runtime: snapshot environments restored on the moto server over HTTP --------------------------


@pytest.fixture(scope="module")
def aws_site(site_root: Path, moto_server: str) -> Iterator[CrashSite]:
    reset_moto(moto_server)
    environ = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(site_root / "absent-aws-config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(site_root / "absent-aws-credentials"),
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        for name, value in environ.items():
            patch.setenv(name, value)
        directory = site_root / "aws"
        directory.mkdir()
        config = aws_config(directory, moto_server, make_production(moto_server)["volume"])

        def leftovers(env_id: str) -> list[str]:
            return tagged(moto_server, "stagetui.env", env_id)

        yield from _open_site(CrashSite(config, site_root / "aws-state", "aws", leftovers))


@pytest.mark.parametrize(
    ("strategy", "point"), _cases("aws", both_sides=False, strategies=(Strategy.SNAPSHOT,))
)
def test_aws_cli_killed_at_a_step_boundary(
    aws_site: CrashSite, strategy: Strategy, point: CrashPoint
) -> None:
    recover_and_check(aws_site, crash_up(aws_site, strategy, point))


@pytest.mark.parametrize(("strategy", "point"), _teardown_cases((Strategy.SNAPSHOT,)))
def test_aws_down_killed_while_removing(aws_site: CrashSite, strategy: Strategy, point: CrashPoint) -> None:
    recover_and_check(aws_site, crash_down(aws_site, strategy, point))


# --- the TUI, in a real terminal: launched with keystrokes, killed at every step ----------------------


@pytest.fixture(scope="module")
def tui_sites(site_root: Path) -> Iterator[dict[Strategy, CrashSite]]:
    """One state directory, and a config per strategy that makes it the launch dialog's default."""
    sites = {}
    for strategy in Strategy:
        config = site_root / f"tui-{strategy.value}.yaml"
        defaults = f"defaults:\n  strategy: {strategy.value}\n"
        config.write_text(SMALL_CONFIG.format(customers=200) + defaults)
        sites[strategy] = CrashSite(config, site_root / "tui-state", "local", lambda _id: [])
    yield from (sites for _ in _open_site(sites[Strategy.CONTAINERIZED]))


def crash_tui(site: CrashSite, strategy: Strategy, point: CrashPoint, tmp_path: Path) -> str:
    """Launch an environment from the dashboard (n, the branch, Enter) in an app that dies at `point`."""
    # Short: the id preview stays on one line at 80 columns, where the wait below reads it.
    branch = f"t/{strategy_for(strategy).plan(StagetuiConfig(), 'local').names.index(point.step)}"
    env_id = environment_id(branch, strategy)
    environ = {k: v for k, v in os.environ.items() if k not in {"TMUX", "TMUX_PANE"}}
    environ |= {**site.environ, "STAGETUI_FAILPOINTS": point.failpoints}
    command = [sys.executable, "-m", "stagetui", "--config", str(site.config)]
    exit_file = tmp_path / "exit-status"
    with tmux_server(tmp_path) as tmux:
        tmux.start(command, cwd=tmp_path, environ=environ, exit_file=exit_file)
        tmux.wait_for("the dashboard", lambda s: "Environments" in s)
        tmux.keys("n")
        tmux.wait_for("the launch dialog", lambda s: "Launch an environment" in s)
        tmux.type(branch)
        tmux.wait_for(f"the id preview {env_id}", lambda s: f"environment id {env_id}" in s)
        tmux.keys("Enter")
        deadline = time.monotonic() + DEADLINE_SECONDS
        while not exit_file.exists():
            assert time.monotonic() < deadline, f"the app was not killed at {point}:\n{tmux.screen()}"
            time.sleep(0.1)
        status = exit_file.read_text().strip()
        assert status == str(128 + signal.SIGKILL), f"the app exited {status}:\n{tmux.screen()}"
    return env_id


TUI_CASES = [
    pytest.param(strategy, CrashPoint(step, "crash"), id=f"{strategy.value}-before-{step}")
    for strategy in Strategy
    for step in strategy_for(strategy).plan(StagetuiConfig(), "local").names
]


@pytest.mark.parametrize(("strategy", "point"), TUI_CASES)
def test_tui_killed_at_a_step_boundary(
    tui_sites: dict[Strategy, CrashSite], strategy: Strategy, point: CrashPoint, tmp_path: Path
) -> None:
    site = tui_sites[strategy]
    recover_and_check(site, crash_tui(site, strategy, point, tmp_path))
