"""Swarm tasks as stagetui reads them, when a service is ready or hopeless, and what runs on each node."""

from __future__ import annotations

from typing import Any

import pytest

from stagetui.domain.nodes import NodeCapacity
from stagetui.runtimes.swarm.capacity import node_capacity
from stagetui.runtimes.swarm.tasks import (
    ServiceProgress,
    TaskEntry,
    hopeless,
    progress_of,
    task_entry,
)

ENV = "feat-x-swarm-1a2b3"
SINCE = "2024-05-01T10:00:00.5Z"
BEFORE = "2024-05-01T09:59:58.25Z"
AFTER = "2024-05-01T10:00:03.75Z"


def raw_task(
    task_id: str,
    *,
    state: str = "running",
    desired: str = "running",
    err: str | None = None,
    message: str = "started",
    updated: str = AFTER,
    node: str | None = "node-a",
    service_id: str = "svc-web",
    service: str = "web",
    environment_id: str = ENV,
    ports: tuple[tuple[int, int], ...] = (),
) -> dict[str, Any]:
    """A task as GET /tasks returns it (what stagetui does not read included, so as to be ignored)."""
    status: dict[str, Any] = {
        "Timestamp": updated,
        "State": state,
        "Message": message,
        "ContainerStatus": {"ContainerID": f"c-{task_id}", "PID": 42, "ExitCode": 0},
        "PortStatus": {
            "Ports": [
                {"Protocol": "tcp", "TargetPort": t, "PublishedPort": p, "PublishMode": "host"}
                for t, p in ports
            ]
        }
        if ports
        else {},
    }
    if err is not None:
        status["Err"] = err
    task: dict[str, Any] = {
        "ID": task_id,
        "Version": {"Index": 117},
        "CreatedAt": "2024-05-01T09:59:00.123456789Z",
        "UpdatedAt": updated,
        "Labels": {},
        "Spec": {
            "ContainerSpec": {
                "Image": "shop:1@sha256:" + "ab" * 32,
                "Labels": {"stagetui.env": environment_id, "stagetui.service": service, "team": "shop"},
                "Init": True,
            },
            "Resources": {"Limits": {"NanoCPUs": 500_000_000}},
            "ForceUpdate": 0,
        },
        "ServiceID": service_id,
        "Slot": 1,
        "Status": status,
        "DesiredState": desired,
    }
    if node is not None:
        task["NodeID"] = node
    return task


def task(task_id: str, **kwargs: Any) -> TaskEntry:
    return task_entry(raw_task(task_id, **kwargs))


# --- task_entry ------------------------------------------------------------------------------------------


def test_a_task_is_read_from_the_api() -> None:
    raw = raw_task(
        "t1",
        err="task: non-zero exit (1)",
        message="started",
        ports=((9000, 30002), (8080, 30001), (8080, 30001)),
    )
    raw["Status"]["PortStatus"]["Ports"].append(
        {"Protocol": "tcp", "TargetPort": 7000, "PublishMode": "host"}
    )
    assert task_entry(raw) == TaskEntry(
        id="t1",
        service_id="svc-web",
        service="web",
        environment_id=ENV,
        node_id="node-a",
        state="running",
        desired_state="running",
        error="task: non-zero exit (1)",
        message="started",
        published=((8080, 30001), (9000, 30002)),
        updated_at=AFTER,
    )


def test_a_new_task_has_no_node_ports_nor_error_yet() -> None:
    entry = task("t2", state="pending", node=None, message="pending task scheduling")
    assert (entry.node_id, entry.published, entry.error) == ("", (), "")
    assert entry.message == "pending task scheduling"
    bare = task_entry({"ID": "t3"})
    assert (bare.service, bare.environment_id, bare.state, bare.desired_state) == ("", "", "", "")


@pytest.mark.parametrize(
    ("state", "desired", "running"),
    [("running", "running", True), ("running", "shutdown", False), ("starting", "running", False)],
)
def test_running_means_running_and_meant_to(state: str, desired: str, running: bool) -> None:
    assert task("t", state=state, desired=desired).running is running


# --- progress_of and hopeless ----------------------------------------------------------------------------


def test_a_service_is_ready_when_as_many_tasks_run_as_it_wants() -> None:
    tasks = [task("a"), task("b"), task("c", state="starting", message="starting")]
    progress = progress_of("web", 3, tasks, SINCE)
    assert (progress.running, progress.wanted, progress.ready) == (2, 3, False)
    assert progress.last_error == "starting"
    assert progress.describe() == "web 2/3 running (starting)"
    done = progress_of("web", 2, tasks[:2], SINCE)
    assert done.ready
    assert done.describe() == "web 2/2 running"


def test_tasks_stopping_after_an_update_do_not_count_as_running() -> None:
    tasks = [task("old", desired="shutdown"), task("new", state="preparing", message="preparing")]
    assert progress_of("web", 1, tasks, SINCE).running == 0


def test_failures_count_from_the_start_of_the_wait() -> None:
    tasks = [
        task("old", state="failed", desired="shutdown", err="old failure", updated=BEFORE),
        task("f1", state="failed", desired="shutdown", err="task: non-zero exit (1)", updated=AFTER),
        task("f2", state="rejected", desired="shutdown", err="later failure", updated="2024-05-01T10:00:09Z"),
        task("done", state="shutdown", desired="shutdown", updated=AFTER),
    ]
    progress = progress_of("web", 1, tasks, SINCE)
    assert progress.failed == 2
    assert progress.last_error == "later failure"
    assert progress.describe() == "web 0/1 running, 2 failed (later failure)"
    assert progress_of("web", 1, tasks).failed == 3


def test_a_task_that_cannot_be_placed_says_why() -> None:
    pending = task(
        "p",
        state="pending",
        node=None,
        err="no suitable node (insufficient resources on 2 nodes)",
        message="pending task scheduling",
    )
    progress = progress_of("web", 2, [task("a"), pending], SINCE)
    assert progress.last_error == "no suitable node (insufficient resources on 2 nodes)"


def test_a_ready_service_reports_no_error() -> None:
    tasks = [task("f", state="failed", desired="shutdown", err="boom"), task("a")]
    progress = progress_of("web", 1, tasks, SINCE)
    assert (progress.ready, progress.failed, progress.last_error) == (True, 1, "")
    assert not hopeless(progress)


@pytest.mark.parametrize(("failed", "expected"), [(2, False), (3, True), (4, True)])
def test_waiting_stops_after_three_failures(failed: int, expected: bool) -> None:
    assert hopeless(ServiceProgress("web", 1, 0, failed, "task: non-zero exit (1)")) is expected


@pytest.mark.parametrize(
    "error",
    [
        "No such image: shop:9",
        'invalid mount config for type "volume": invalid mount path',
        'starting container failed: exec: "serve": executable file not found in $PATH',
    ],
)
def test_errors_no_retry_can_fix_stop_the_wait_at_once(error: str) -> None:
    rejected = task("r", state="rejected", desired="shutdown", err=error)
    progress = progress_of("web", 1, [rejected], SINCE)
    assert (progress.failed, progress.last_error) == (1, error)
    assert hopeless(progress)
    assert not hopeless(ServiceProgress("web", 1, 1, 5, error))


@pytest.mark.parametrize(
    ("since", "updated", "counted"),
    [
        ("2024-05-01T12:00:00.5+02:00", "2024-05-01T10:00:03.25Z", True),
        ("2024-05-01T05:00:00.5-05:00", "2024-05-01T09:00:00.25Z", False),
        ("2024-05-01T10:00:05.1Z", "2024-05-01T10:00:05.123Z", True),
        ("2024-05-01T10:00:05Z", "2024-05-01T10:00:05.5Z", True),
    ],
)
def test_failures_count_from_the_start_of_the_wait_in_any_time_format(
    since: str, updated: str, counted: bool
) -> None:
    failed = task("f", state="failed", desired="shutdown", err="boom", updated=updated)
    assert progress_of("web", 1, [failed], since).failed == int(counted)


# --- node_capacity ---------------------------------------------------------------------------------------


def raw_node(
    node_id: str,
    hostname: str,
    role: str = "worker",
    availability: str = "active",
    state: str = "ready",
    address: str = "10.0.0.2",
) -> dict[str, Any]:
    node: dict[str, Any] = {
        "ID": node_id,
        "Version": {"Index": 9},
        "Spec": {"Labels": {"zone": "a"}, "Role": role, "Availability": availability},
        "Description": {
            "Hostname": hostname,
            "Platform": {"Architecture": "x86_64", "OS": "linux"},
            "Resources": {"NanoCPUs": 4_000_000_000, "MemoryBytes": 8 * 1024**3},
            "Engine": {"EngineVersion": "27.3.1", "Plugins": []},
        },
        "Status": {"State": state, "Addr": address},
    }
    if role == "manager":
        node["ManagerStatus"] = {"Leader": True, "Reachability": "reachable", "Addr": "10.0.0.2:2377"}
    return node


def test_nodes_list_what_runs_on_them_managers_first() -> None:
    nodes = [
        raw_node("n3", "worker-b"),
        raw_node("n2", "worker-a", state="down"),
        raw_node("n1", "zz", "manager"),
    ]
    tasks = [
        task("a", node="n3", service_id="web"),
        task("b", node="n3", service_id="web"),
        task("c", node="n3", service_id="db", environment_id="other-env"),
        task("d", node="n1", service_id="db"),
        task("e", node="n2", service_id="web", state="failed", desired="shutdown"),
        task("f", node="n2", service_id="web", desired="shutdown"),
    ]
    limits = {"web": (0.5, 256 * 1024**2), "db": (1.0, 1024**3)}
    found = node_capacity(nodes, tasks, limits)
    assert [n.id for n in found] == ["n1", "n2", "n3"]
    assert found[0] == NodeCapacity(
        id="n1",
        hostname="zz",
        role="manager",
        availability="active",
        state="ready",
        address="10.0.0.2",
        cpus=4.0,
        memory_bytes=8 * 1024**3,
        leader=True,
        engine_version="27.3.1",
        tasks=1,
        environments={ENV: 1},
        reserved_cpus=1.0,
        reserved_memory_bytes=1024**3,
    )
    assert (found[1].tasks, found[1].environments, found[1].reserved_cpus) == (0, {}, 0.0)
    assert (found[2].tasks, found[2].environments) == (3, {ENV: 2, "other-env": 1})
    assert (found[2].reserved_cpus, found[2].reserved_memory_bytes) == (2.0, 1536 * 1024**2)
    assert list(found[2].environments) == sorted(found[2].environments)
    assert not found[2].leader


def test_without_limits_nothing_is_reserved() -> None:
    (node,) = node_capacity([raw_node("n1", "w")], [task("a", node="n1")])
    assert (node.tasks, node.reserved_cpus, node.reserved_memory_bytes) == (1, 0.0, 0)


def test_a_node_with_little_to_say_still_shows() -> None:
    (node,) = node_capacity([{"ID": "n9"}], [])
    assert (node.id, node.hostname, node.role, node.cpus, node.memory_bytes) == ("n9", "", "", 0.0, 0)
    assert not node.schedulable


@pytest.mark.parametrize(
    ("availability", "state", "schedulable"),
    [
        ("active", "ready", True),
        ("pause", "ready", False),
        ("drain", "ready", False),
        ("active", "down", False),
    ],
)
def test_only_active_ready_nodes_take_tasks(availability: str, state: str, schedulable: bool) -> None:
    (node,) = node_capacity([raw_node("n1", "w", availability=availability, state=state)], [])
    assert node.schedulable is schedulable


def test_a_routine_message_of_a_replacement_does_not_hide_the_error() -> None:
    rejected = task(
        "r", state="rejected", desired="shutdown", err="No such image: shop:9", updated="2024-05-01T10:00:01Z"
    )
    replacement = task("n", state="preparing", message="preparing", updated="2024-05-01T10:00:02Z")
    progress = progress_of("web", 1, [rejected, replacement], "2024-05-01T10:00:00Z")
    assert progress.last_error == "No such image: shop:9"
    assert hopeless(progress)


def test_a_service_scaled_to_zero_is_ready_without_an_error() -> None:
    stopped = task("s", state="shutdown", desired="shutdown", message="shutdown")
    progress = progress_of("web", 0, [stopped])
    assert progress.ready and progress.last_error == ""
