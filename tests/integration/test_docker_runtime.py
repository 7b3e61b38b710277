"""The docker runtime against a real Docker Engine: multi-service environments defined by compose files,
started in dependency order, torn down and collected by label, and every engine problem rolled back."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import docker
import pytest

from stagetui.domain.ids import environment_id
from stagetui.domain.models import Strategy
from stagetui.runtimes.docker.images import BUSYBOX_IMAGE, ensure_sample_image
from tests.conftest import SMALL_CONFIG
from tests.integration.docker_engine import labelled_resources
from tests.integration.helpers import cli, get_json
from tests.with_dockerd import Dockerd, DockerdUnavailable, bridges, processes_mentioning

pytestmark = pytest.mark.integration

# A definition on the busybox image only (built in a fraction of a second): an HTTP endpoint whose health
# document is written at start, behind a dependency with a healthcheck.
BUSYBOX_COMPOSE = """\
name: shop
x-stagetui:
  endpoint: {{service: web, port: 8080}}
  data_volume: data
  config_volume: config
services:
  cache:
    image: stagetui-busybox:1
    command: ["sh", "-c", "touch /tmp/ready && sleep 3600"]
    healthcheck:
      test: {cache_check}
      interval: 500ms
      timeout: 2s
      retries: {retries}
  web:
    image: stagetui-busybox:1
    command:
      - sh
      - -c
      - >-
        mkdir -p /tmp/w && ls /data > /tmp/w/files &&
        echo '{{"customers": 1, "config": "'$(wc -c < /config/config.json)'"}}' > /tmp/w/health &&
        exec httpd -f -p 8080 -h /tmp/w
    environment:
      ROLE: web
    volumes: ["data:/data:ro", "config:/config:ro"]
    ports: ["{port}"]
    depends_on:
      cache: {{condition: service_healthy}}
volumes:
  data: {{}}
  config: {{}}
"""
HEALTHY = '["CMD", "test", "-f", "/tmp/ready"]'


def docker_config(
    tmp_path: Path, compose: Path | None, health_timeout: str = "60s", pull: str = "never"
) -> Path:
    runtime = "  docker:\n"
    runtime += f"    compose: {compose}\n" if compose else ""
    runtime += f"    health_timeout: {health_timeout}\n    pull: {pull}\n"
    path = tmp_path / "stagetui.yaml"
    path.write_text(SMALL_CONFIG.format(customers=300).replace("runtimes:\n", "runtimes:\n" + runtime))
    return path


def busybox_compose(
    tmp_path: Path, cache_check: str = HEALTHY, retries: int = 20, port: str = "127.0.0.1::8080"
) -> Path:
    path = tmp_path / "compose.yaml"
    path.write_text(BUSYBOX_COMPOSE.format(cache_check=cache_check, retries=retries, port=port))
    return path


@pytest.fixture
def busybox_config(tmp_path: Path, state_dir: Path, sample_images: None) -> Path:
    return docker_config(tmp_path, busybox_compose(tmp_path))


def start_cli(config: Path, *args: str) -> subprocess.Popen[str]:
    """The CLI in the background, for runs that must overlap."""
    command = [sys.executable, "-m", "stagetui", "--config", str(config), *args]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def environment_resources(client: docker.DockerClient, environment_id: str) -> dict[str, list[str]]:
    found = labelled_resources(client)
    return {kind: [n for n in names if environment_id in n] for kind, names in found.items()}


def nothing_left(client: docker.DockerClient, environment_id: str) -> bool:
    return not any(environment_resources(client, environment_id).values())


@pytest.fixture(autouse=True)
def _remove_what_tests_leave(docker_client: docker.DockerClient) -> Iterator[None]:
    """A failing test must not leave resources behind for the next ones: whatever carries an environment
    created since the test began is removed (tests run one after another on their own engine)."""
    began = datetime.now(UTC) - timedelta(seconds=1)
    yield
    for label in ("stagetui.env", "stagetui.seed"):
        for kind in ("containers", "networks", "volumes"):
            collection = getattr(docker_client, kind)
            listing = {"all": True} if kind == "containers" else {}
            for resource in collection.list(**listing, filters={"label": label}):
                labels = resource.attrs.get("Labels") or resource.attrs.get("Config", {}).get("Labels") or {}
                created = labels.get("stagetui.created")
                if created and datetime.fromisoformat(created) >= began:
                    resource.remove(**({"force": True} if kind != "networks" else {}))


def env_id(branch: str) -> str:
    return environment_id(branch, Strategy.CONTAINERIZED)


def test_the_sample_definition_runs_three_services_and_leaves_nothing_on_teardown(
    tmp_path: Path, state_dir: Path, docker_client: docker.DockerClient, sample_images: None
) -> None:
    config = docker_config(tmp_path, None)
    up = cli(config, "up", "feature/cart", "--runtime", "docker", "--strategy", "containerized", "--json")
    assert up.code == 0, up.stderr
    env = up.json()
    health = get_json(f"{env['endpoint']}/health")
    assert health["status"] == "ok" and health["customers"] > 0

    resources = environment_resources(docker_client, env["id"])
    assert sorted(resources["containers"]) == sorted(
        f"stagetui-{env['id']}-{s}" for s in ("app", "assets", "worker")
    )
    assert resources["networks"] == [f"stagetui-{env['id']}"]
    assert sorted(resources["volumes"]) == [f"stagetui-{env['id']}-config", f"stagetui-{env['id']}-data"]
    labels = docker_client.containers.get(f"stagetui-{env['id']}-app").labels
    assert labels["stagetui.branch"] == "feature/cart" and labels["stagetui.strategy"] == "containerized"
    assert labels["stagetui.expires"] and labels["stagetui.owner"]

    shown = cli(config, "show", env["id"], "--json").json()
    services = {s["name"]: s for s in shown["services"]}
    assert set(services) == {"app", "assets", "worker"}
    assert services["app"]["health"] == "healthy" and services["app"]["memory_bytes"] > 0
    assert services["app"]["ports"][0].startswith("127.0.0.1:")
    steps = {s["name"]: s for s in shown["steps"]}
    assert (
        "started 3 service(s)" in steps["start_services"]["detail"]
        or steps["start_services"]["outcome"] == "ok"
    )

    # The worker reaches the service by name on the environment's own network.
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if any(
            "worker |" in line and '"status": "ok"' in line
            for line in cli(config, "show", env["id"], "--json").json()["log_tail"]
        ):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("the worker never reached the service")

    down = cli(config, "down", env["id"], "--json")
    assert down.code == 0, down.stderr
    assert nothing_left(docker_client, env["id"])
    assert not (state_dir / "docker" / env["id"]).exists()


def test_environments_of_one_definition_run_side_by_side(
    busybox_config: Path, docker_client: docker.DockerClient
) -> None:
    runs = [start_cli(busybox_config, "up", f"par-{n}", "--runtime", "docker", "--json") for n in range(3)]
    results = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0], [err for _, err in results]
    envs = [json.loads(out) for out, _ in results]
    endpoints = {e["endpoint"] for e in envs}
    assert len(endpoints) == 3
    for env in envs:
        assert get_json(f"{env['endpoint']}/health")["customers"] == 1
    listed = cli(busybox_config, "ls", "--json").json()
    assert sorted(e["id"] for e in listed) == sorted(e["id"] for e in envs)
    for env in envs:
        assert cli(busybox_config, "down", env["id"]).code == 0
        assert nothing_left(docker_client, env["id"])


def test_expired_environments_are_collected_by_label(
    busybox_config: Path, docker_client: docker.DockerClient
) -> None:
    up = cli(busybox_config, "up", "short", "--runtime", "docker", "--ttl", "1s", "--json")
    assert up.code == 0, up.stderr
    expired = up.json()["id"]
    time.sleep(1.2)
    gc = cli(busybox_config, "gc", "--json")
    assert gc.code == 0, gc.stderr
    assert [a["reason"] for a in gc.json()["actions"]] == ["expired"]
    assert nothing_left(docker_client, expired)


def test_resources_without_a_record_are_found_and_collected(
    busybox_config: Path, docker_client: docker.DockerClient, state_dir: Path
) -> None:
    """A lost store loses history, never track of resources: the engine's labels tell what exists."""
    up = cli(busybox_config, "up", "orphaned", "--runtime", "docker", "--json")
    assert up.code == 0, up.stderr
    orphan = up.json()["id"]
    docker_client.containers.get(f"stagetui-{orphan}-web").stop(timeout=1)
    for store_file in (state_dir / "store").rglob("*"):
        if store_file.is_file():
            store_file.unlink()
    listed = cli(busybox_config, "ls", "--json").json()
    assert [(e["id"], e["recorded"], e["branch"]) for e in listed] == [(orphan, False, "orphaned")]
    # Young, it may be a teammate's environment still being made: gc leaves it alone for a while.
    assert cli(busybox_config, "gc", "--json").json()["actions"] == []
    impatient = busybox_config.with_name("impatient.yaml")  # a grace of 2 x step_timeout = 2s
    impatient.write_text(busybox_config.read_text() + "orchestrator:\n  step_timeout: 1s\n")
    time.sleep(2.1)
    gc = cli(impatient, "gc", "--json")
    assert gc.code == 0 and gc.json()["actions"][0]["reason"] == "leftover without a live record"
    assert nothing_left(docker_client, orphan)


def test_a_compose_file_with_unsupported_keys_is_refused_before_anything_is_created(
    tmp_path: Path, state_dir: Path, docker_client: docker.DockerClient, sample_images: None
) -> None:
    compose = busybox_compose(tmp_path)
    text = compose.read_text().replace("    environment:\n      ROLE: web\n", "    privileged: true\n")
    compose.write_text(text)
    config = docker_config(tmp_path, compose)
    line = text.splitlines().index("    privileged: true") + 1

    check = cli(config, "config", "check")
    assert check.code == 2
    assert f"{compose}:{line}" in check.stderr and "privileged" in check.stderr

    up = cli(config, "up", "bad-def", "--runtime", "docker")
    assert up.code != 0 and f"{compose}:{line}" in up.stderr
    assert nothing_left(docker_client, env_id("bad-def"))
    assert not list((state_dir / "docker").glob("bad-def*"))


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        ("unhealthy", "unhealthy"),
        ("image", "image stagetui-missing:9 of service cache is missing"),
        ("port", "port"),
    ],
)
def test_engine_problems_fail_clearly_and_roll_back(
    tmp_path: Path,
    state_dir: Path,
    docker_client: docker.DockerClient,
    sample_images: None,
    case: str,
    expected: str,
) -> None:
    holder: socket.socket | None = None
    if case == "unhealthy":
        compose = busybox_compose(tmp_path, cache_check='["CMD", "false"]', retries=2)
    elif case == "image":
        compose = busybox_compose(tmp_path)
        compose.write_text(
            compose.read_text().replace(
                'image: stagetui-busybox:1\n    command: ["sh", "-c", "touch',
                'image: stagetui-missing:9\n    command: ["sh", "-c", "touch',
            )
        )
    else:
        holder = socket.socket()
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        compose = busybox_compose(tmp_path, port=f"127.0.0.1:{holder.getsockname()[1]}:8080")
    config = docker_config(tmp_path, compose, health_timeout="30s")
    try:
        up = cli(config, "up", f"fail-{case}", "--runtime", "docker", "--json")
    finally:
        if holder is not None:
            holder.close()
    assert up.code != 0
    assert expected in (up.stdout + up.stderr).lower()
    assert nothing_left(docker_client, env_id(f"fail-{case}"))
    assert not (state_dir / "docker" / env_id(f"fail-{case}")).exists()


def test_the_warm_pool_hands_out_ready_environments_and_refills_behind_them(
    tmp_path: Path, state_dir: Path, docker_client: docker.DockerClient, sample_images: None
) -> None:
    config = docker_config(tmp_path, busybox_compose(tmp_path))
    config.write_text(
        config.read_text().replace("    pull: never\n", "    pull: never\n    warm_pool: {size: 2}\n")
    )
    filled = cli(config, "pool", "fill", "--json")
    assert filled.code == 0, filled.stderr
    pooled = filled.json()["built"]
    assert len(pooled) == 2 and all(p.startswith("warm-pool-") for p in pooled)
    assert cli(config, "ls", "--json").json() == []  # waiting environments are the pool's, not anyone's

    claims = [start_cli(config, "up", f"claim-{n}", "--runtime", "docker", "--json") for n in range(2)]
    outputs = [json.loads(c.communicate(timeout=120)[0]) for c in claims]
    assert sorted(o["id"] for o in outputs) == sorted(pooled)  # one each, never the same one twice
    for claimed in outputs:
        assert claimed["claim_seconds"] is not None and claimed["provision_seconds"] > 0
        assert claimed["status_detail"] == "claimed from the warm pool"
        assert get_json(f"{claimed['endpoint']}/health")["customers"] == 1

    listed = {e["id"]: e["branch"] for e in cli(config, "ls", "--json").json()}
    assert sorted(listed.values()) == ["claim-0", "claim-1"]
    # The engine knows the new branch too: a store-less view (a teammate's) reads the claim's labels.
    claim_labels = docker_client.volumes.get(f"stagetui-{outputs[0]['id']}-claim").attrs["Labels"]
    assert claim_labels["stagetui.branch"] == outputs[0]["branch"]
    # Claim times are samples of their own, apart from the provisioning times the pool's builds recorded.
    samples = cli(config, "export", "--format", "json").json()
    claimed_samples = [s for s in samples if s["metric"] == "pool.claim_seconds"]
    assert sorted(s["branch"] for s in claimed_samples) == ["claim-0", "claim-1"]
    assert not [
        s for s in samples if s["metric"] == "provision.total_seconds" and s["branch"].startswith("claim")
    ]

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the refill started by the claims
        status = cli(config, "pool", "status", "--json").json()
        if len(status["ready"]) == 2:
            break
        time.sleep(1)
    else:
        raise AssertionError(f"the pool did not refill: {status}")
    refilled = [v["id"] for v in status["ready"]]
    assert not set(refilled) & set(pooled)

    drained = cli(config, "pool", "drain", "--json")
    assert drained.code == 0 and sorted(drained.json()["drained"]) == sorted(refilled)
    for claimed in outputs:
        assert cli(config, "down", claimed["id"]).code == 0
    for environment in pooled + refilled:
        assert nothing_left(docker_client, environment)


@pytest.fixture
def private_engine(docker_client: docker.DockerClient) -> Iterator[Dockerd]:
    """An engine of this test's own, to stop in the middle of a provisioning run (the shared one must
    keep running). Its resources and bridges are removed afterwards, whatever happens."""
    directory = Path(tempfile.mkdtemp(prefix="stg-", dir="/tmp"))  # short: unix socket paths are limited
    engine = Dockerd(directory, bridges())
    try:
        engine.start()
    except DockerdUnavailable as error:
        shutil.rmtree(directory, ignore_errors=True)
        pytest.skip(f"cannot start a second dockerd here: {error}")
    try:
        yield engine
    finally:
        engine.teardown()


def test_an_engine_stopped_mid_provision_fails_clearly_and_gc_removes_the_rest_when_it_is_back(
    tmp_path: Path, state_dir: Path, private_engine: Dockerd
) -> None:
    client = docker.DockerClient(base_url=private_engine.docker_host)
    ensure_sample_image(client, BUSYBOX_IMAGE)
    compose = busybox_compose(tmp_path, cache_check='["CMD", "false"]', retries=1000)
    config = docker_config(tmp_path, compose, health_timeout="120s")
    engine_env = {**os.environ, "DOCKER_HOST": private_engine.docker_host}
    run = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stagetui",
            "--config",
            str(config),
            "up",
            "engine-stops",
            "--runtime",
            "docker",
        ],
        env=engine_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stuck = f"stagetui-{env_id('engine-stops')}-cache"
    deadline = time.monotonic() + 60
    while not client.containers.list(filters={"name": stuck}):
        assert run.poll() is None and time.monotonic() < deadline, "the run never started its first service"
        time.sleep(0.1)
    private_engine.stop_daemon()
    _, stderr = run.communicate(timeout=120)
    assert run.returncode != 0
    assert "Docker engine does not answer" in stderr
    assert not processes_mentioning(private_engine.directory)  # nothing of the environment runs any more

    private_engine.start()  # the engine is back, with what it held when it stopped
    leftovers = labelled_resources(client)
    assert any(env_id("engine-stops") in name for name in leftovers["containers"])
    listed = cli(config, "ls", "--json", extra_env={"DOCKER_HOST": private_engine.docker_host}).json()
    assert [(e["id"], e["status"]) for e in listed] == [(env_id("engine-stops"), "interrupted")]
    gc = cli(config, "gc", "--json", extra_env={"DOCKER_HOST": private_engine.docker_host})
    assert gc.code == 0, gc.stdout + gc.stderr
    assert not any(labelled_resources(client).values())


def test_drift_reads_the_environment_the_containers_run_with(
    tmp_path: Path, state_dir: Path, docker_client: docker.DockerClient, sample_images: None
) -> None:
    config = docker_config(tmp_path, busybox_compose(tmp_path))
    # drift is the config's last section: this line joins it.
    sources = "  environment_sources: [{type: rendered}, {type: live_variables}]\n"
    config.write_text(config.read_text() + sources)
    up = cli(config, "up", "drifting", "--runtime", "docker", "--json")
    assert up.code == 0, up.stderr
    environment = up.json()["id"]
    # The config's variables reach the container's environment, next to what the compose file sets; the
    # image's own (PATH) and the runtime's plumbing are left out.
    inspected = docker_client.containers.get(f"stagetui-{environment}-web").attrs["Config"]["Env"]
    assert "ROLE=web" in inspected and "DATABASE_URL=sqlite:////data/app.db" in inspected
    checked = cli(config, "drift", "check", environment, "--json")
    assert checked.code in (0, 1), checked.stderr
    assert '"env.ROLE"' in checked.stdout
    assert '"env.PATH"' not in checked.stdout and '"env.STAGETUI_ENV_ID"' not in checked.stdout


def test_environments_of_one_snapshot_share_a_read_only_seed_volume(
    tmp_path: Path, state_dir: Path, docker_client: docker.DockerClient, sample_images: None
) -> None:
    """The data is filled into the engine once per golden snapshot; each environment keeps its own
    config volume, and the shared volume outlives them until gc finds it unused."""
    config = docker_config(tmp_path, busybox_compose(tmp_path))
    ids = []
    for branch in ("shared-a", "shared-b"):
        up = cli(config, "up", branch, "--runtime", "docker", "--strategy", "snapshot", "--json")
        assert up.code == 0, up.stderr
        ids.append(up.json()["id"])
        with urllib.request.urlopen(f"{up.json()['endpoint']}/files", timeout=10) as listing:
            assert listing.read().decode().split() == ["app.db"]  # what the web service found in /data
    mounts = [
        {m["Destination"]: m for m in docker_client.containers.get(f"stagetui-{i}-web").attrs["Mounts"]}
        for i in ids
    ]
    assert mounts[0]["/data"]["Name"] == mounts[1]["/data"]["Name"]
    assert mounts[0]["/data"]["Name"].startswith("stagetui-seed-") and not mounts[0]["/data"]["RW"]
    assert mounts[0]["/config"]["Name"] != mounts[1]["/config"]["Name"]
    seed = mounts[0]["/data"]["Name"]
    assert [v.name for v in docker_client.volumes.list(filters={"label": "stagetui.seed"})] == [seed]

    for environment in ids:
        assert cli(config, "down", environment).code == 0
        assert nothing_left(docker_client, environment)
    assert docker_client.volumes.get(seed)  # shared: not one environment's to remove
    gc = cli(config, "gc", "--json")
    assert gc.code == 0, gc.stderr
    assert [(a["id"], a["removed"]) for a in gc.json()["actions"]] == [("docker-shared", [f"volume {seed}"])]
    assert not docker_client.volumes.list(filters={"label": "stagetui.seed"})


def test_an_unreachable_engine_is_named_and_nothing_is_left(tmp_path: Path, state_dir: Path) -> None:
    """No engine behind DOCKER_HOST: `up` fails at its first docker step saying so; local environments and
    the commands that list them are not held up by it."""
    config = docker_config(tmp_path, busybox_compose(tmp_path))
    nowhere = {"DOCKER_HOST": f"unix://{tmp_path}/no-engine.sock"}
    up = cli(config, "up", "no-engine", "--runtime", "docker", "--json", extra_env=nowhere)
    assert up.code == 1
    detail = up.json()["status_detail"]
    assert detail.startswith("provision_runtime: ") and "the Docker engine does not answer" in detail
    assert not (state_dir / "docker" / env_id("no-engine")).exists()
    listed = cli(config, "ls", "--json", extra_env=nowhere)
    assert listed.code == 0 and listed.json() == []
    local = cli(config, "up", "still-local", "--json", extra_env=nowhere)
    assert local.code == 0, local.stderr
    assert cli(config, "down", local.json()["id"], extra_env=nowhere).code == 0


def test_a_service_built_from_a_dockerfile(
    tmp_path: Path, state_dir: Path, docker_client: docker.DockerClient, sample_images: None
) -> None:
    context = tmp_path / "cache-image"
    context.mkdir()
    (context / "Dockerfile").write_text(
        'FROM stagetui-busybox:1\nARG GREETING\nRUN echo "$GREETING" > /greeting\n'
    )
    compose = busybox_compose(tmp_path)
    built = "    build:\n      context: ./cache-image\n      args: {GREETING: built-here}\n"
    compose.write_text(compose.read_text().replace("    image: stagetui-busybox:1\n", built, 1))
    config = docker_config(tmp_path, compose)
    up = cli(config, "up", "built", "--runtime", "docker", "--json")
    assert up.code == 0, up.stdout + up.stderr
    cache = docker_client.containers.get(f"stagetui-{env_id('built')}-cache")
    assert cache.image.tags == ["shop-cache:latest"]
    assert cache.exec_run(["cat", "/greeting"]).output == b"built-here\n"
    assert cli(config, "down", env_id("built")).code == 0
    docker_client.images.remove("shop-cache:latest", force=True)


def test_deploy_limits_apply_and_replicas_are_refused_on_one_host(
    tmp_path: Path, state_dir: Path, docker_client: docker.DockerClient, sample_images: None
) -> None:
    compose = busybox_compose(tmp_path)
    limited = "    deploy:\n      resources: {limits: {cpus: '0.5', memory: 64M}}\n    ports:"
    compose.write_text(compose.read_text().replace("    ports:", limited, 1))
    config = docker_config(tmp_path, compose)
    up = cli(config, "up", "limited", "--runtime", "docker", "--json")
    assert up.code == 0, up.stdout + up.stderr
    host = docker_client.containers.get(f"stagetui-{env_id('limited')}-web").attrs["HostConfig"]
    assert (host["Memory"], host["NanoCpus"]) == (64 * 1024**2, 500_000_000)
    web = {s["name"]: s for s in cli(config, "show", env_id("limited"), "--json").json()["services"]}["web"]
    assert web["memory_limit_bytes"] == 64 * 1024**2
    assert cli(config, "down", env_id("limited")).code == 0

    compose.write_text(compose.read_text().replace("    deploy:\n", "    deploy:\n      replicas: 2\n", 1))
    refused = cli(config, "up", "replicated", "--runtime", "docker", "--json")
    assert refused.code == 1
    assert "services.web.deploy.replicas is 2" in refused.json()["status_detail"]
    assert nothing_left(docker_client, env_id("replicated"))
