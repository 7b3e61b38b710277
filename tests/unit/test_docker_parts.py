"""The docker runtime's pure parts: container requests, start conditions, stats arithmetic, log tails."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from stagetui.compose.model import (
    ComposeProject,
    Dependency,
    EndpointSpec,
    Healthcheck,
    PortMapping,
    ServiceSpec,
    StagetuiExtension,
    VolumeMount,
)
from stagetui.runtimes.base import RuntimeOperationError, new_lines
from stagetui.runtimes.docker import images
from stagetui.runtimes.docker.containers import container_request, healthcheck_request
from stagetui.runtimes.docker.inventory import _exit_code
from stagetui.runtimes.docker.startup import ContainerState, dependency_met, start_in_order
from stagetui.runtimes.docker.status import cpu_percent, memory_bytes

APP = ServiceSpec(
    name="app",
    image="shop:1",
    command=("serve", "--port", "8080"),
    environment={"MODE": "staging", "ASSETS": "http://assets/"},
    ports=(PortMapping(8080), PortMapping(9000, "udp", "0.0.0.0", 9000)),
    volumes=(VolumeMount("/data", "data", "volume", True), VolumeMount("/host", "/srv/x", "bind")),
    depends_on=(Dependency("assets", "service_healthy"),),
    healthcheck=Healthcheck(("CMD", "true"), interval=0.5, timeout=2, retries=4, start_period=1.5),
    labels={"team": "shop"},
    networks=("back",),
    stop_grace_period=7,
)
ASSETS = ServiceSpec(name="assets", image="web:1", healthcheck=Healthcheck(("CMD-SHELL", "true")))
JOB = ServiceSpec(name="job", image="web:1", depends_on=(Dependency("app"),))


def project(*services: ServiceSpec, levels: tuple[tuple[str, ...], ...] = ()) -> ComposeProject:
    return ComposeProject(
        path=Path("/defs/compose.yaml"),
        name="shop",
        services={s.name: s for s in services},
        volumes=("data",),
        networks=("back",),
        stagetui=StagetuiExtension(EndpointSpec("app", 8080), data_volume="data"),
        start_levels=levels,
    )


def test_a_container_request_is_the_environments_own() -> None:
    request = container_request(
        project(APP, ASSETS), APP, "feat-x-ctr-1a2b3", {"stagetui.env": "feat-x-ctr-1a2b3"}, {"MODE": "x"}, 2
    )
    assert request.name == "stagetui-feat-x-ctr-1a2b3-app"
    assert request.environment == {"MODE": "x", "ASSETS": "http://assets/"}
    assert request.labels == {
        "team": "shop",
        "stagetui.env": "feat-x-ctr-1a2b3",
        "stagetui.service": "app",
        "stagetui.role": "service",
        "stagetui.env.project": "shop",
    }
    assert request.ports == {"8080/tcp": ("127.0.0.1",), "9000/udp": ("0.0.0.0", 9000)}
    assert [(m["Target"], m["Source"], m["Type"], m["ReadOnly"]) for m in request.mounts] == [
        ("/data", "stagetui-feat-x-ctr-1a2b3-data", "volume", True),
        ("/host", "/srv/x", "bind", False),
    ]
    assert request.networks == {"stagetui-feat-x-ctr-1a2b3-back": ["app"]}
    assert request.stop_timeout == 7
    assert request.command == ["serve", "--port", "8080"]


def test_a_service_without_networks_joins_the_default_one_by_its_name() -> None:
    request = container_request(project(ASSETS), ASSETS, "e1", {}, {}, 2.4)
    assert request.networks == {"stagetui-e1": ["assets"]}
    assert request.stop_timeout == 2


def test_healthchecks_are_sent_in_nanoseconds_and_absent_ones_disable_the_images() -> None:
    assert healthcheck_request(APP.healthcheck) == {
        "test": ["CMD", "true"],
        "interval": 500_000_000,
        "timeout": 2_000_000_000,
        "retries": 4,
        "start_period": 1_500_000_000,
    }
    assert healthcheck_request(None) == {"test": ["NONE"]}


@pytest.mark.parametrize(
    ("condition", "state", "met"),
    [
        ("service_started", ContainerState("running", None, 0), True),
        ("service_started", ContainerState("created", None, 0), False),
        ("service_healthy", ContainerState("running", "starting", 0), False),
        ("service_healthy", ContainerState("running", "healthy", 0), True),
        ("service_completed_successfully", ContainerState("running", None, 0), False),
        ("service_completed_successfully", ContainerState("exited", None, 0), True),
    ],
)
def test_dependency_conditions(condition: str, state: ContainerState, met: bool) -> None:
    assert dependency_met(Dependency("db", condition), state) is met  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("condition", "state", "reason"),
    [
        (
            "service_healthy",
            ContainerState("running", "unhealthy", 0, "connection refused"),
            "unhealthy: connection",
        ),
        ("service_healthy", ContainerState("exited", None, 3), "exited with code 3 while starting"),
        ("service_started", ContainerState("dead", None, 137), "exited with code 137"),
        ("service_completed_successfully", ContainerState("exited", None, 1), "exited with code 1"),
    ],
)
def test_a_dependency_that_never_will_fails_at_once(
    condition: str, state: ContainerState, reason: str
) -> None:
    with pytest.raises(RuntimeOperationError, match=reason):
        dependency_met(Dependency("db", condition), state)  # type: ignore[arg-type]


def test_services_start_after_their_dependencies_meet_their_conditions() -> None:
    states = {"c-assets": ContainerState("running", "starting", 0)}
    order: list[str] = []
    polls = {"n": 0}

    def launch(service: str) -> str:
        order.append(service)
        states[f"c-{service}"] = states.get(f"c-{service}", ContainerState("running", None, 0))
        return f"c-{service}"

    def inspect(container_id: str) -> ContainerState:
        polls["n"] += 1
        if container_id == "c-assets" and polls["n"] > 2:
            return ContainerState("running", "healthy", 0)
        return states[container_id]

    report = start_in_order(project(APP, ASSETS, JOB), launch, inspect, timeout=10)
    assert order == ["assets", "app", "job"]
    assert polls["n"] > 2  # app waited for assets to turn healthy
    assert set(report.started) == {"app", "assets", "job"}
    assert report.summary().startswith("started 3 service(s): assets")


def test_a_dependency_is_no_longer_read_once_its_dependents_are_launched() -> None:
    # With many environments starting at once every inspect is load on the engine: assets only
    # decides when app may start, app only when job may.
    launched: list[str] = []
    read_after_app: list[str] = []

    def launch(service: str) -> str:
        launched.append(service)
        return f"c-{service}"

    def inspect(container_id: str) -> ContainerState:
        if "app" in launched:
            read_after_app.append(container_id)
        return ContainerState("running", "healthy", 0)

    start_in_order(project(APP, ASSETS, JOB), launch, inspect, timeout=10)
    assert launched == ["assets", "app", "job"]
    assert "c-assets" not in read_after_app


def test_a_start_that_never_gets_ready_names_what_it_waits_for() -> None:
    def inspect(_container_id: str) -> ContainerState:
        return ContainerState("running", "starting", 0, "wget: connection refused")

    with pytest.raises(RuntimeOperationError) as caught:
        start_in_order(project(APP, ASSETS), lambda s: f"c-{s}", inspect, timeout=0.3)
    message = str(caught.value)
    assert "services not ready within 0s: app" in message
    assert "assets to be healthy (now running, health starting: wget: connection refused)" in message


def test_exit_codes_from_list_entries() -> None:
    assert _exit_code("Exited (137) 2 seconds ago") == 137
    assert _exit_code("Exited (0) About a minute ago") == 0
    assert _exit_code("Up 3 seconds (healthy)") == 0


def test_cpu_and_memory_like_docker_stats() -> None:
    stats = {
        "cpu_stats": {"cpu_usage": {"total_usage": 3_000}, "system_cpu_usage": 20_000, "online_cpus": 2},
        "precpu_stats": {"cpu_usage": {"total_usage": 1_000}, "system_cpu_usage": 10_000},
        "memory_stats": {"usage": 50_000, "limit": 1_000_000, "stats": {"inactive_file": 10_000}},
    }
    assert cpu_percent(stats) == pytest.approx(40.0)
    assert memory_bytes(stats) == (40_000, 1_000_000)
    assert cpu_percent({"cpu_stats": {}}) is None
    assert memory_bytes({}) == (None, None)


def test_new_lines_between_two_tails_of_one_log() -> None:
    assert new_lines(["a", "b", "c"], ["b", "c", "d", "e"]) == ["d", "e"]
    assert new_lines(["a"], ["x", "y"]) == ["x", "y"]
    assert new_lines([], ["x"]) == ["x"]
    assert new_lines(["a", "b"], ["a", "b"]) == []


def test_the_busybox_image_is_made_once_per_host_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    # Every environment start ensures its images; tarring and hashing ~2 MB each time was most of it.
    made: list[int] = []

    def rootfs() -> bytes:
        made.append(1)
        return b"rootfs"

    monkeypatch.setattr(images, "busybox_rootfs", rootfs)
    monkeypatch.setattr(images, "_busybox_cache", {})
    first = images._busybox_image()
    assert images._busybox_image() == first
    assert len(made) == 1
    assert first[1] == hashlib.sha256(b"rootfs").hexdigest()
