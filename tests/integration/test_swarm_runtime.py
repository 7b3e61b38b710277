"""The swarm runtime on a real two-node swarm: environments whose services land on both nodes and reach
each other by name, scaled without restarts, reconfigured by a rolling update, surviving a node drain, and
torn down to zero labelled resources on either node."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import docker
import pytest

from tests.conftest import SMALL_CONFIG
from tests.integration.helpers import CliResult, cli, get_json
from tests.integration.swarm_cluster import MANAGER, WORKER, SwarmCluster

pytestmark = pytest.mark.integration

T = TypeVar("T")
TIMEOUT = 90.0

# The sample definition, spread over the cluster: the assets server on both nodes (one replica each), the
# sample service on the worker, the job runner on the manager, so every call it makes crosses nodes.
SWARM_COMPOSE = """\
name: shop
x-stagetui:
  endpoint: {service: app, port: 8080, health_path: /health}
  data_volume: data
  config_volume: config
services:
  assets:
    image: stagetui-busybox:1
    command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8081 -h /www"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8081/"]
      interval: 500ms
      timeout: 2s
      retries: 30
    deploy:
      replicas: 2
      placement: {max_replicas_per_node: 1}
  app:
    image: stagetui-sample-app:1
    command: [python3, -m, stagetui.sample.service, --db, /data/app.db, --config, /config/config.json,
              --host, 0.0.0.0, --port, "8080"]
    environment:
      ASSETS_URL: http://assets:8081/
    volumes: ["data:/data:ro", "config:/config:ro"]
    ports: ["8080"]
    depends_on:
      assets: {condition: service_healthy}
    healthcheck:
      test: [CMD, python3, -c, "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health')"]
      interval: 500ms
      timeout: 3s
      retries: 30
    deploy:
      placement: {constraints: ["node.hostname == worker"]}
      update_config: {parallelism: 1, order: start-first}
  caller:
    image: stagetui-busybox:1
    command: [sh, -c, "while true; do wget -q -O - http://app:8080/health && echo; sleep 1; done"]
    depends_on:
      app: {condition: service_healthy}
    deploy:
      placement: {constraints: ["node.hostname == manager"]}
volumes:
  data: {}
  config: {}
"""


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = TIMEOUT) -> T:
    deadline = time.monotonic() + timeout
    while True:
        answer = probe()
        if answer:
            return answer
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout:g} s (last: {answer!r})")
        time.sleep(0.3)


def labelled(client: docker.DockerClient) -> list[str]:
    """Everything on one node that carries a stagetui label (the manager also lists swarm objects)."""
    api, label = client.api, {"label": "stagetui.env"}
    found = [f"container {c['Names'][0]}" for c in api.containers(all=True, filters=label)]
    found += [f"network {n['Name']}" for n in api.networks(filters=label)]
    found += [f"volume {v['Name']}" for v in api.volumes(filters=label).get("Volumes") or []]
    if client.info()["Swarm"].get("ControlAvailable"):
        found += [f"service {s['Spec']['Name']}" for s in api.services(filters=label)]
        found += [f"config {c['Spec']['Name']}" for c in api.configs(filters=label)]
    return found


@pytest.fixture
def swarm_config(tmp_path: Path, state_dir: Path, swarm_cluster: SwarmCluster) -> Iterator[Path]:
    compose = tmp_path / "compose.yaml"
    compose.write_text(SWARM_COMPOSE)
    runtime = (
        f"  swarm:\n    compose: {compose}\n    host: {swarm_cluster.manager_host}\n    health_timeout: 90s\n"
    )
    path = tmp_path / "stagetui.yaml"
    path.write_text(SMALL_CONFIG.format(customers=300).replace("runtimes:\n", "runtimes:\n" + runtime))
    yield path
    # A failing test must not leave its environment for the next: remove every service and config.
    api = swarm_cluster.manager.api
    for service in api.services(filters={"label": "stagetui.env"}):
        api.remove_service(service["ID"])
    wait_for("tasks gone", lambda: not api.tasks(filters={"label": "stagetui.env"}) or None, 60)
    for config in api.configs(filters={"label": "stagetui.env"}):
        api.remove_config(config["ID"])
    for network in api.networks(filters={"label": "stagetui.env"}):
        api.remove_network(network["Id"])


def up(config: Path, branch: str, *extra: str) -> dict[str, Any]:
    result = cli(config, "up", branch, "--runtime", "swarm", "--json", *extra, timeout=240)
    assert result.code == 0, result.stderr
    payload: dict[str, Any] = result.json()
    return payload


def ok(result: CliResult) -> Any:
    assert result.code == 0, result.stderr
    return result.json()


def tasks_of(cluster: SwarmCluster, environment_id: str, service: str) -> list[dict[str, Any]]:
    tasks = cluster.manager.api.tasks(
        filters={"label": f"stagetui.env={environment_id}", "desired-state": "running"}
    )
    return [
        t
        for t in tasks
        if t["Spec"]["ContainerSpec"]["Labels"].get("stagetui.service") == service
        and t["Status"]["State"] == "running"
    ]


def test_environment_spans_both_nodes_and_its_services_reach_each_other_by_name(
    swarm_config: Path, swarm_cluster: SwarmCluster
) -> None:
    created = up(swarm_config, "feature/swarm")
    env_id, endpoint = created["id"], created["endpoint"]
    # The endpoint is a task's host-mode port on the worker, at the worker's address.
    assert swarm_cluster.addresses[WORKER] in endpoint
    health = get_json(endpoint + "/health")
    assert health["customers"] > 0  # the data reached the worker through the configs

    nodes = {t["NodeID"] for t in tasks_of(swarm_cluster, env_id, "assets")}
    assert nodes == {swarm_cluster.manager_id, swarm_cluster.worker_id}
    # The caller on the manager reaches the app on the worker by its compose name.

    def caller_logged() -> dict[str, Any] | None:
        shown: dict[str, Any] = ok(cli(swarm_config, "show", env_id, "--json"))
        calls = [line for line in shown["log_tail"] if line.startswith("caller |") and "customers" in line]
        return shown if calls else None

    shown = wait_for("the caller's calls in the log", caller_logged)
    services = {s["name"]: s for s in shown["services"]}
    assert set(services) == {"assets", "app", "caller"}
    assert services["assets"]["state"] == "running 2/2"

    listing = ok(cli(swarm_config, "nodes", "--json"))
    placed = {n["hostname"]: n["environments"].get(env_id, 0) for n in listing[0]["nodes"]}
    assert placed == {MANAGER: 2, WORKER: 2}  # assets on each; caller on the manager, app on the worker

    down = cli(swarm_config, "down", env_id, "--json")
    assert down.code == 0, down.stderr
    for node in (MANAGER, WORKER):
        client = swarm_cluster.client(node)
        assert wait_for(f"nothing labelled left on the {node}", lambda c=client: not labelled(c) or None, 30)
