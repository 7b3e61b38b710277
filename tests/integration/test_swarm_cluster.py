"""The two-node swarm fixture itself: both nodes ready, services spread over both and reach each other by
name across nodes, draining a node moves its task, and the cluster leaves nothing behind, also when its
setup fails half way."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import docker.models.swarm
import pytest
from docker.models.services import Service
from docker.types import EndpointSpec, ServiceMode

from stagetui.runtimes.docker.images import BUSYBOX_IMAGE
from tests.integration.swarm_cluster import (
    MANAGER,
    WORKER,
    SwarmCluster,
    SwarmUnavailable,
    leftovers_of,
    running_swarm,
    skip_or_fail,
    wait_for,
)
from tests.with_dockerd import DockerdUnavailable

pytestmark = pytest.mark.integration


LABEL = "stagetui.swarm-test"
WEB_PORT = 8080


def running_tasks(service: Service) -> list[dict[str, Any]]:
    tasks = service.tasks(filters={"desired-state": "running"})
    return [task for task in tasks if task["Status"]["State"] == "running"]


def nodes_running(service: Service) -> list[str]:
    """The node of each running task, sorted (a node twice when it runs two)."""
    return sorted(task["NodeID"] for task in running_tasks(service))


def replicas_running(service: Service, count: int) -> list[str] | None:
    nodes = nodes_running(service)
    return nodes if len(nodes) == count else None


def task_containers(client: docker.DockerClient, stopped: bool = True) -> list[str]:
    """Swarm keeps the containers of ended tasks (task history) until their service goes."""
    filters = {"label": "com.docker.swarm.task"}
    # The low-level list: the high-level one inspects each container, which races with their removal.
    return [entry["Names"][0].lstrip("/") for entry in client.api.containers(all=stopped, filters=filters)]


def set_availability(cluster: SwarmCluster, node_id: str, availability: str) -> None:
    node = cluster.manager.nodes.get(node_id)
    node.update({**node.attrs["Spec"], "Availability": availability})


@pytest.fixture
def swarm(swarm_cluster: SwarmCluster) -> Iterator[SwarmCluster]:
    """The session's cluster; what a test created (labelled LABEL) is removed after it, its nodes active."""
    yield swarm_cluster
    cluster = swarm_cluster
    for node_id in cluster.node_ids.values():
        if cluster.manager.nodes.get(node_id).attrs["Spec"]["Availability"] != "active":
            set_availability(cluster, node_id, "active")
    for service in cluster.manager.services.list(filters={"label": LABEL}):
        service.remove()
    # Task containers go asynchronously, on each node; an overlay network can go once none uses it.
    wait_for(
        "task containers removed on both nodes",
        lambda: not task_containers(cluster.manager) and not task_containers(cluster.worker),
    )
    for network in cluster.manager.networks.list(filters={"label": LABEL}):
        network.remove()
    wait_for(
        "test networks removed on both nodes",
        lambda: not any(c.networks.list(filters={"label": LABEL}) for c in (cluster.manager, cluster.worker)),
    )
    assert not cluster.manager.services.list()


def overlay_network(cluster: SwarmCluster) -> str:
    name = f"stgt-{secrets.token_hex(3)}"
    cluster.manager.networks.create(name, driver="overlay", attachable=True, labels={LABEL: "1"})
    return name


def test_both_nodes_ready_one_manager_one_worker(swarm: SwarmCluster) -> None:
    nodes = {node.id: node.attrs for node in swarm.manager.nodes.list()}
    assert set(nodes) == {swarm.manager_id, swarm.worker_id}
    for name, node_id in swarm.node_ids.items():
        attrs = nodes[node_id]
        assert attrs["Status"]["State"] == "ready"
        assert attrs["Spec"]["Availability"] == "active"
        assert attrs["Description"]["Hostname"] == name
        assert attrs["Status"]["Addr"] == swarm.addresses[name]
    assert nodes[swarm.manager_id]["Spec"]["Role"] == "manager"
    assert nodes[swarm.manager_id]["ManagerStatus"]["Leader"] is True
    assert nodes[swarm.worker_id]["Spec"]["Role"] == "worker"
    # Each client talks to its own node; both have the sample image, tagged (no registry to pull from).
    assert swarm.manager.info()["Swarm"]["NodeID"] == swarm.manager_id
    assert swarm.worker.info()["Swarm"]["NodeID"] == swarm.worker_id
    assert BUSYBOX_IMAGE in swarm.worker.images.get(BUSYBOX_IMAGE).tags


def test_replicas_spread_over_both_nodes_and_reach_each_other_by_name(swarm: SwarmCluster) -> None:
    network = overlay_network(swarm)
    web_name = f"web-{secrets.token_hex(3)}"
    web = swarm.manager.services.create(
        BUSYBOX_IMAGE,
        # Each replica serves the hostname of the node it runs on (set by the template below).
        ["sh", "-c", f"hostname > /www/node && exec httpd -f -p {WEB_PORT} -h /www"],
        name=web_name,
        hostname="{{.Node.Hostname}}",
        networks=[network],
        # No IPVS here, so no virtual IP nor routing mesh: DNS answers with the tasks, and a published port
        # is bound on the node its task runs on.
        endpoint_spec=EndpointSpec(mode="dnsrr", ports={WEB_PORT: (WEB_PORT, "tcp", "host")}),
        mode=ServiceMode("replicated", replicas=2),
        maxreplicas=1,
        init=True,  # busybox as PID 1 ignores SIGTERM: removal would wait out the grace period
        labels={LABEL: "1"},
    )
    spread = wait_for("two web replicas running", lambda: replicas_running(web, 2))
    assert spread == sorted([swarm.manager_id, swarm.worker_id])

    # From the worker, by service name, until the replica on the manager has answered: dnsrr orders the
    # answers at random, so both replicas answer soon, and one of them is across the overlay.
    client = swarm.manager.services.create(
        BUSYBOX_IMAGE,
        ["sh", "-c", f"while true; do wget -q -O - http://{web_name}:{WEB_PORT}/node; sleep 0.2; done"],
        name=f"client-{secrets.token_hex(3)}",
        networks=[network],
        constraints=["node.role==worker"],
        init=True,
        labels={LABEL: "1"},
    )
    wait_for("client running on the worker", lambda: nodes_running(client) == [swarm.worker_id])

    def answers() -> set[str] | None:
        """The node names the client has got back so far, once both are among them."""
        seen = set(b"".join(client.logs(stdout=True, stderr=True)).decode().split())
        return seen if seen >= {MANAGER, WORKER} else None

    assert wait_for("answers from the replicas on both nodes", answers) == {MANAGER, WORKER}
    # The same through the worker's own engine: the client's container is there.
    (container,) = swarm.worker.containers.list(filters={"label": f"com.docker.swarm.service.id={client.id}"})
    assert MANAGER in container.logs().decode().split()

    # The published port, on each node's address, seen from the other node's namespace.
    for here, there in ((MANAGER, WORKER), (WORKER, MANAGER)):
        assert swarm.fetch(here, f"http://{swarm.addresses[there]}:{WEB_PORT}/node").strip() == there


def test_draining_the_worker_moves_its_task_to_the_manager(swarm: SwarmCluster) -> None:
    service = swarm.manager.services.create(
        BUSYBOX_IMAGE,
        ["sleep", "3600"],
        name=f"spread-{secrets.token_hex(3)}",
        mode=ServiceMode("replicated", replicas=2),
        preferences=[("spread", "node.id")],  # soft, but with two nodes and two replicas: one on each
        init=True,
        labels={LABEL: "1"},
    )
    both = sorted([swarm.manager_id, swarm.worker_id])
    wait_for("one task on each node", lambda: nodes_running(service) == both)

    set_availability(swarm, swarm.worker_id, "drain")
    wait_for(
        "both tasks on the manager",
        lambda: (
            nodes_running(service) == [swarm.manager_id] * 2
            and not task_containers(swarm.worker, stopped=False)
        ),
    )
    assert swarm.manager.nodes.get(swarm.worker_id).attrs["Spec"]["Availability"] == "drain"

    set_availability(swarm, swarm.worker_id, "active")
    worker = swarm.manager.nodes.get(swarm.worker_id).attrs
    assert (worker["Spec"]["Availability"], worker["Status"]["State"]) == ("active", "ready")
    # Swarm does not rebalance running tasks on its own: both stay on the manager until the next update.
    assert nodes_running(service) == [swarm.manager_id] * 2


# --- the cluster's own lifecycle: setup and teardown leave nothing behind ---------------------------------


@contextlib.contextmanager
def swarm_or_skip() -> Iterator[None]:
    """These tests make their own cluster: they skip (or fail) like the fixture when the machine cannot."""
    reason: str | None = None
    try:
        yield
    except (SwarmUnavailable, DockerdUnavailable) as error:
        reason = str(error)
    if reason is not None:
        skip_or_fail(reason)


def assert_nothing_left(tag: str, directories: list[Path]) -> None:
    assert leftovers_of(tag, None) == []
    for directory in directories:
        assert leftovers_of(tag, directory) == []


def test_a_cluster_leaves_nothing_behind() -> None:
    tag = secrets.token_hex(3)
    with swarm_or_skip(), running_swarm(images=(), tag=tag) as cluster:
        directory = cluster.directory
        assert set(cluster.node_ids) == {MANAGER, WORKER}
        assert cluster.run_in(WORKER, "ip", "-o", "addr").stdout.count(cluster.addresses[WORKER]) == 1
        assert directory.is_dir()
    assert_nothing_left(tag, [directory])
    assert "teardown" in cluster.timings


def test_a_setup_failing_half_way_leaves_nothing_behind(monkeypatch: pytest.MonkeyPatch) -> None:
    """The worker's join fails: both daemons and namespaces exist by then, and must go."""

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise docker.errors.APIError("join refused (by the test)")

    monkeypatch.setattr(docker.models.swarm.Swarm, "join", refuse)
    tag = secrets.token_hex(3)
    with (
        swarm_or_skip(),
        pytest.raises(docker.errors.APIError, match="by the test"),
        running_swarm(images=(), tag=tag),
    ):
        pass
    assert_nothing_left(tag, sorted(Path("/tmp").glob(f"stgsw-{tag}.*")))
