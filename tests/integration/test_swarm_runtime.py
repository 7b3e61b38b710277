"""The swarm runtime on a real two-node swarm: environments whose services land on both nodes and reach
each other by name, scaled without restarts, reconfigured by a rolling update, surviving a node drain, and
torn down to zero labelled resources on either node."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest
from textual.widgets import DataTable

from stagetui.config import load_config
from stagetui.service.api import StagetuiService
from stagetui.ui.app import StagetuiApp
from stagetui.ui.screens.nodes import NodesScreen
from tests.conftest import SMALL_CONFIG
from tests.integration.helpers import CliResult, cli, get_json
from tests.integration.swarm_cluster import MANAGER, WORKER, SwarmCluster, wait_for

pytestmark = pytest.mark.integration


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
    assert result.code == 0, result.stderr + result.stdout
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

    # The caller's log as it is written (what `f` shows in the UI), ended promptly when asked to stop.
    service = StagetuiService.open(load_config(swarm_config))
    lines: list[str] = []
    began = time.monotonic()
    for line in service.follow_logs(
        env_id, "caller", lambda: len(lines) >= 2 or time.monotonic() - began > 30
    ):
        if line.strip():
            lines.append(line)
    assert len(lines) >= 2 and all("customers" in line for line in lines), lines
    assert time.monotonic() - began < 30

    down = cli(swarm_config, "down", env_id, "--json")
    assert down.code == 0, down.stderr
    for node in (MANAGER, WORKER):
        client = swarm_cluster.client(node)
        assert wait_for(f"nothing labelled left on the {node}", lambda c=client: not labelled(c) or None, 30)


def running_task_ids(cluster: SwarmCluster, environment_id: str, service: str) -> set[str]:
    return {t["ID"] for t in tasks_of(cluster, environment_id, service)}


def test_scaling_keeps_running_tasks_and_a_config_change_rolls_out(
    swarm_config: Path, swarm_cluster: SwarmCluster
) -> None:
    env_id = up(swarm_config, "feature/scale")["id"]
    callers = running_task_ids(swarm_cluster, env_id, "caller")
    apps = running_task_ids(swarm_cluster, env_id, "app")
    assert len(callers) == 1

    scaled = ok(cli(swarm_config, "scale", env_id, "caller=3", "--json"))
    assert scaled["scaled"] == ["caller: 1 -> 3 replica(s), running"]
    now = running_task_ids(swarm_cluster, env_id, "caller")
    assert len(now) == 3 and callers < now  # the first task was not restarted
    assert running_task_ids(swarm_cluster, env_id, "app") == apps  # nor was anything else

    changed = ok(cli(swarm_config, "reconfigure", env_id, "--set", "FEATURE_SWARM=on", "--json"))
    assert "app" in changed["detail"]
    # A rolling update replaced the app's task (start-first) with one running the new config...
    after = running_task_ids(swarm_cluster, env_id, "app")
    assert after and not after & apps
    shown = ok(cli(swarm_config, "show", env_id, "--json"))
    served = get_json(shown["endpoint"] + "/config")
    assert served["env"]["FEATURE_SWARM"] == "on"
    # ...and left the other services alone.
    assert running_task_ids(swarm_cluster, env_id, "caller") == now
    api = swarm_cluster.manager.api
    configs = [c["Spec"]["Name"] for c in api.configs(filters={"label": f"stagetui.env={env_id}"})]
    assert sum("-config-" in name for name in configs) == 1, configs  # the old config is gone

    refused = cli(swarm_config, "scale", env_id, "nosuch=2")
    assert refused.code != 0 and "no service 'nosuch'" in refused.stderr
    bad = cli(swarm_config, "reconfigure", env_id, "--set", "not a key=1")
    assert bad.code == 2 and "KEY=VALUE" in bad.stderr
    assert ok(cli(swarm_config, "down", env_id, "--json"))


def set_availability(cluster: SwarmCluster, node_id: str, availability: str) -> None:
    node = cluster.manager.nodes.get(node_id)
    node.update({**node.attrs["Spec"], "Availability": availability})


def test_environment_survives_a_node_drain_shown_degraded_until_healthy_again(
    swarm_config: Path, swarm_cluster: SwarmCluster, tmp_path: Path
) -> None:
    # Nothing pinned: the app may go anywhere. The assets server keeps one replica per node, so with a node
    # drained it is one short (degraded) until the node is back.
    unpinned = re.sub(r"placement: \{constraints: \[.*\]\}", "labels: {pinned: none}", SWARM_COMPOSE)
    (tmp_path / "compose.yaml").write_text(unpinned)
    env_id = up(swarm_config, "feature/drain")["id"]
    (app_task,) = tasks_of(swarm_cluster, env_id, "app")
    drained_id = app_task["NodeID"]
    other = WORKER if drained_id == swarm_cluster.manager_id else MANAGER

    def status() -> str:
        listed = ok(cli(swarm_config, "ls", "--json"))
        return str(next(e["status"] for e in listed if e["id"] == env_id))

    assert status() == "ready"
    set_availability(swarm_cluster, drained_id, "drain")
    try:
        wait_for("the environment shown degraded", lambda: status() == "degraded" or None)
        # The app's task was rescheduled on the other node, and the environment answers there.
        moved = wait_for("the app rescheduled", lambda: tasks_of(swarm_cluster, env_id, "app") or None)
        assert moved[0]["NodeID"] != drained_id
        shown = ok(cli(swarm_config, "show", env_id, "--json"))
        assert swarm_cluster.addresses[other] in shown["endpoint"]
        assert get_json(shown["endpoint"] + "/health")["customers"] > 0
        nodes = ok(cli(swarm_config, "nodes", "--json"))[0]["nodes"]
        drained = next(n for n in nodes if n["id"] == drained_id)
        assert drained["availability"] == "drain" and env_id not in drained["environments"]
    finally:
        set_availability(swarm_cluster, drained_id, "active")
    wait_for("the environment ready again", lambda: status() == "ready" or None)
    assert ok(cli(swarm_config, "down", env_id, "--json"))


def test_snapshot_data_is_joined_on_the_nodes_and_gc_collects_by_label_across_the_cluster(
    swarm_config: Path, swarm_cluster: SwarmCluster, state_dir: Path
) -> None:
    # The snapshot's data (~0.5 MB) is over one config's limit: it travels in parts, joined when the app's
    # task starts on the worker.
    expired = up(swarm_config, "feature/short", "--strategy", "snapshot", "--ttl", "1s")
    assert get_json(expired["endpoint"] + "/health")["customers"] == 300
    api = swarm_cluster.manager.api
    parts = [c["Spec"]["Name"] for c in api.configs(filters={"label": f"stagetui.env={expired['id']}"})]
    assert sum("-data-" in name for name in parts) >= 2, parts
    orphan = up(swarm_config, "feature/orphan")["id"]
    # Stopped in effect (its app can be placed nowhere): gc leaves running environments it has no record of
    # alone, since they may be a teammate's.
    (app,) = api.services(filters={"label": [f"stagetui.env={orphan}", "stagetui.service=app"]})
    template = {**app["Spec"]["TaskTemplate"], "Placement": {"Constraints": ["node.hostname == nowhere"]}}
    spec = {k: v for k, v in app["Spec"].items() if k in {"Name", "Labels", "Mode", "EndpointSpec"}}
    api.update_service(
        app["ID"],
        app["Version"]["Index"],
        task_template=template,
        name=spec["Name"],
        labels=spec["Labels"],
        mode=spec["Mode"],
        endpoint_spec=spec["EndpointSpec"],
    )
    time.sleep(1.2)
    # The store is lost: only the swarm's labels say what exists.
    for store_file in (state_dir / "store").rglob("*"):
        if store_file.is_file():
            store_file.unlink()
    listed = ok(cli(swarm_config, "ls", "--json"))
    assert {(e["id"], e["recorded"]) for e in listed} == {(expired["id"], False), (orphan, False)}
    impatient = swarm_config.with_name("impatient.yaml")  # unrecorded ones wait 2 x step_timeout = 2s
    impatient.write_text(swarm_config.read_text() + "orchestrator:\n  step_timeout: 1s\n")
    time.sleep(2.1)
    collected = ok(cli(impatient, "gc", "--json"))
    assert sorted(a["id"] for a in collected["actions"]) == sorted([expired["id"], orphan])
    assert all(not a["error"] for a in collected["actions"]), collected
    for node in (MANAGER, WORKER):
        client = swarm_cluster.client(node)
        assert wait_for(f"nothing labelled left on the {node}", lambda c=client: not labelled(c) or None, 30)


def test_a_service_that_cannot_start_fails_the_plan_and_rolls_back(
    swarm_config: Path, swarm_cluster: SwarmCluster, tmp_path: Path
) -> None:
    # An image no node has (there is no registry to pull it from): the tasks are rejected, which no wait
    # can fix, so the plan fails at once with Swarm's reason, and everything made so far is removed.
    missing = SWARM_COMPOSE.replace(
        "image: stagetui-busybox:1\n    command: [sh", "image: stagetui-nosuch:1\n    command: [sh"
    )
    (tmp_path / "compose.yaml").write_text(missing)
    started = time.monotonic()
    result = cli(swarm_config, "up", "feature/broken", "--runtime", "swarm", "--json", timeout=240)
    assert result.code == 1
    detail = result.json()["status_detail"]
    assert "caller" in detail and "No such image" in detail, detail
    assert time.monotonic() - started < 80  # well before the 90 s health timeout
    for node in (MANAGER, WORKER):
        client = swarm_cluster.client(node)
        assert wait_for(f"nothing labelled left on the {node}", lambda c=client: not labelled(c) or None, 30)


def test_what_a_swarm_cannot_run_is_refused_before_anything_is_made(
    swarm_config: Path, swarm_cluster: SwarmCluster, tmp_path: Path
) -> None:
    bound = SWARM_COMPOSE.replace('"config:/config:ro"]', '"config:/config:ro", "/etc:/host-etc:ro"]')
    (tmp_path / "compose.yaml").write_text(bound)
    result = cli(swarm_config, "up", "feature/bound", "--runtime", "swarm", "--json")
    assert result.code != 0
    detail = result.json()["status_detail"]
    assert "compose.yaml" in detail and "services.app.volumes: /etc:/host-etc is a host path" in detail, (
        detail
    )
    assert not labelled(swarm_cluster.manager)


async def test_the_ui_cluster_view_shows_the_real_swarm(
    swarm_config: Path, swarm_cluster: SwarmCluster
) -> None:
    env_id = up(swarm_config, "feature/tui")["id"]
    app = StagetuiApp(StagetuiService.open(load_config(swarm_config)))
    try:
        async with app.run_test(size=(140, 40)) as pilot:
            await pilot.press("C")  # the binding itself: this is what a user does
            deadline = time.monotonic() + 30
            cells: list[str] = []
            while time.monotonic() < deadline:
                await pilot.app.workers.wait_for_complete()
                await pilot.pause(0.2)
                if isinstance(app.screen, NodesScreen):
                    cells = [
                        str(cell)
                        for table in app.screen.query(DataTable)
                        for index in range(table.row_count)
                        for cell in table.get_row_at(index)
                    ]
                    if any(env_id in cell for cell in cells):
                        break
            assert isinstance(app.screen, NodesScreen)
            assert {MANAGER, WORKER} <= set(cells), cells  # both nodes, by hostname
            assert sum(env_id in cell for cell in cells) == 2, cells  # placed on both
    finally:
        assert ok(cli(swarm_config, "down", env_id, "--json"))
