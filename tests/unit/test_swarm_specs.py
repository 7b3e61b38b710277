"""From a compose service to a Swarm service spec: labels, networks, limits, placement, ports, payloads."""

from __future__ import annotations

import dataclasses
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from stagetui.compose.model import (
    ComposeProject,
    DeploySpec,
    EndpointSpec,
    Healthcheck,
    PortMapping,
    ServiceSpec,
    StagetuiExtension,
    UpdateConfig,
    VolumeMount,
)
from stagetui.runtimes.swarm.payloads import PART_BYTES, PARTS_ROOT, ConfigPart, Payload, payload
from stagetui.runtimes.swarm.specs import (
    EndpointMode,
    ImageDefaults,
    ServiceRequest,
    command_of,
    service_request,
    wrapped_command,
)

ENV = "feat-x-swarm-1a2b3"
SECOND = 1_000_000_000
WEB = ServiceSpec(
    name="web",
    image="shop:1",
    command=("serve", "--port", "8080"),
    environment={"MODE": "staging", "COLOR": "green"},
    ports=(PortMapping(8080), PortMapping(9000, "udp", "0.0.0.0", 9000)),
    healthcheck=Healthcheck(("CMD", "true"), interval=0.5, timeout=2, retries=4, start_period=1.5),
    labels={"team": "shop"},
    networks=("back", "front"),
    stop_grace_period=7,
    working_dir="/srv",
    user="1000",
    deploy=DeploySpec(
        replicas=3,
        constraints=("node.role == worker", "node.labels.zone != c"),
        spread=("node.labels.zone",),
        max_replicas_per_node=2,
        cpu_limit=0.5,
        memory_limit=256 * 1024**2,
        labels={"tier": "front"},
        update=UpdateConfig(
            parallelism=2, delay=1.5, monitor=0.5, order="start-first", failure_action="rollback"
        ),
    ),
)
BARE = ServiceSpec(name="cache", image="redis:7")
DATA_MOUNT = VolumeMount("/srv/data", "data")
IN_PLACE = Payload(
    "data",
    "/srv/data",
    (ConfigPart("cfg-0", "/srv/data/shop.db", b"db"), ConfigPart("cfg-1", "/srv/data/a/b.txt", b"b")),
)
JOINED = Payload(
    "data",
    "/srv/data",
    (ConfigPart("cfg-0", "/run/stagetui/data/0", b"x"), ConfigPart("cfg-1", "/run/stagetui/data/1", b"y")),
    (("shop.db", ("/run/stagetui/data/0", "/run/stagetui/data/1")),),
)
IDS = {"cfg-0": "id0", "cfg-1": "id1"}


def project(*services: ServiceSpec) -> ComposeProject:
    return ComposeProject(
        path=Path("/defs/compose.yaml"),
        name="shop",
        services={s.name: s for s in services},
        volumes=("data", "cache"),
        networks=("back", "front"),
        stagetui=StagetuiExtension(EndpointSpec("web", 8080), data_volume="data"),
        start_levels=(),
    )


def request(
    spec: ServiceSpec,
    *,
    endpoint_mode: EndpointMode = "vip",
    payloads: Mapping[str, Payload] | None = None,
    config_ids: Mapping[str, str] | None = None,
    image: ImageDefaults | None = None,
    replicas: int | None = None,
) -> ServiceRequest:
    return service_request(
        project(spec),
        spec,
        ENV,
        {"stagetui.env": ENV},
        {"": "net-default", "back": "net-back", "front": "net-front"},
        endpoint_mode=endpoint_mode,
        extra_environment={"COLOR": "blue", "STAGETUI_ENV_ID": ENV},
        stop_timeout=2.5,
        payloads=payloads or {},
        config_ids=config_ids or {},
        image=image,
        replicas=replicas,
    )


def container(made: ServiceRequest) -> dict[str, Any]:
    spec: dict[str, Any] = made.task_template["ContainerSpec"]
    return spec


def test_the_service_is_the_environments_own() -> None:
    made = request(WEB)
    labels = {
        "team": "shop",
        "stagetui.env": ENV,
        "stagetui.service": "web",
        "stagetui.role": "service",
        "stagetui.env.project": "shop",
    }
    assert made.name == f"stagetui-{ENV}-web"
    assert made.service == "web"
    assert made.labels == {"tier": "front", **labels}
    spec = made.task_template["ContainerSpec"]
    assert spec["Image"] == "shop:1"
    assert spec["Labels"] == labels
    assert spec["Hostname"] == "web"
    assert spec["Env"] == ["MODE=staging", "COLOR=blue", f"STAGETUI_ENV_ID={ENV}"]
    assert spec["Init"] is True
    assert spec["StopGracePeriod"] == 7 * SECOND
    assert (spec["Dir"], spec["User"]) == ("/srv", "1000")
    assert made.task_template["RestartPolicy"] == {"Condition": "any", "Delay": SECOND, "MaxAttempts": 0}


def test_without_a_grace_period_of_its_own_the_stop_timeout_applies() -> None:
    spec = container(request(BARE))
    assert spec["StopGracePeriod"] == 2.5 * SECOND
    assert "Dir" not in spec
    assert "User" not in spec


@pytest.mark.parametrize(("replicas", "expected"), [(None, 3), (5, 5), (0, 0)])
def test_replicas_are_the_files_unless_the_current_count_is_kept(replicas: int | None, expected: int) -> None:
    assert request(WEB, replicas=replicas).mode == {"Replicated": {"Replicas": expected}}


def test_placement_and_limits_follow_deploy() -> None:
    template = request(WEB).task_template
    assert template["Placement"] == {
        "Constraints": ["node.role == worker", "node.labels.zone != c"],
        "Preferences": [{"Spread": {"SpreadDescriptor": "node.labels.zone"}}],
        "MaxReplicas": 2,
    }
    assert template["Resources"] == {"Limits": {"NanoCPUs": 500_000_000, "MemoryBytes": 256 * 1024**2}}


def test_without_deploy_there_is_no_placement_nor_limit() -> None:
    made = request(BARE)
    assert made.task_template["Placement"] == {}
    assert made.task_template["Resources"] == {}
    assert made.mode == {"Replicated": {"Replicas": 1}}
    assert made.update_config == {
        "Parallelism": 1,
        "Delay": 0,
        "Monitor": SECOND,
        "Order": "stop-first",
        "FailureAction": "pause",
    }


def test_rolling_updates_follow_deploy_update_config() -> None:
    assert request(WEB).update_config == {
        "Parallelism": 2,
        "Delay": 1_500_000_000,
        "Monitor": 500_000_000,
        "Order": "start-first",
        "FailureAction": "rollback",
    }


def test_the_healthcheck_uses_the_service_apis_keys() -> None:
    assert container(request(WEB))["Healthcheck"] == {
        "Test": ["CMD", "true"],
        "Interval": SECOND // 2,
        "Timeout": 2 * SECOND,
        "Retries": 4,
        "StartPeriod": 1_500_000_000,
    }


def test_without_a_healthcheck_the_images_own_is_turned_off() -> None:
    assert container(request(BARE))["Healthcheck"] == {"Test": ["NONE"]}


def test_each_network_gets_the_compose_name_as_alias() -> None:
    assert request(WEB).task_template["Networks"] == [
        {"Target": "net-back", "Aliases": ["web"]},
        {"Target": "net-front", "Aliases": ["web"]},
    ]
    assert request(BARE).task_template["Networks"] == [{"Target": "net-default", "Aliases": ["cache"]}]


def test_dnsrr_publishes_in_host_mode_with_the_given_port_only() -> None:
    assert request(WEB, endpoint_mode="dnsrr").endpoint_spec == {
        "Mode": "dnsrr",
        "Ports": [
            {"Protocol": "tcp", "TargetPort": 8080, "PublishMode": "host"},
            {"Protocol": "udp", "TargetPort": 9000, "PublishMode": "host", "PublishedPort": 9000},
        ],
    }


def test_vip_publishes_through_the_routing_mesh() -> None:
    assert request(WEB, endpoint_mode="vip").endpoint_spec == {
        "Mode": "vip",
        "Ports": [
            {"Protocol": "tcp", "TargetPort": 8080, "PublishMode": "ingress"},
            {"Protocol": "udp", "TargetPort": 9000, "PublishMode": "ingress", "PublishedPort": 9000},
        ],
    }


@pytest.mark.parametrize(("own", "runtime"), [("dnsrr", "vip"), ("vip", "dnsrr")])
def test_a_services_own_endpoint_mode_wins(own: EndpointMode, runtime: EndpointMode) -> None:
    spec = dataclasses.replace(WEB, deploy=DeploySpec(endpoint_mode=own))
    endpoint = request(spec, endpoint_mode=runtime).endpoint_spec
    assert endpoint["Mode"] == own
    assert endpoint["Ports"][0]["PublishMode"] == ("host" if own == "dnsrr" else "ingress")


def test_without_ports_the_endpoint_has_only_its_mode() -> None:
    assert request(BARE, endpoint_mode="dnsrr").endpoint_spec == {"Mode": "dnsrr"}


def test_files_in_place_are_configs_without_a_mount() -> None:
    spec = dataclasses.replace(BARE, volumes=(DATA_MOUNT,))
    made = container(request(spec, payloads={"data": IN_PLACE}, config_ids=IDS))
    assert made["Mounts"] == []
    assert made["Configs"] == [
        {
            "ConfigID": "id0",
            "ConfigName": "cfg-0",
            "File": {"Name": "/srv/data/shop.db", "UID": "0", "GID": "0", "Mode": 0o444},
        },
        {
            "ConfigID": "id1",
            "ConfigName": "cfg-1",
            "File": {"Name": "/srv/data/a/b.txt", "UID": "0", "GID": "0", "Mode": 0o444},
        },
    ]
    assert "Command" not in made
    assert "Args" not in made


def test_an_empty_payload_is_an_empty_tmpfs() -> None:
    spec = dataclasses.replace(BARE, volumes=(DATA_MOUNT,))
    made = container(request(spec, payloads={"data": Payload("data", "/srv/data", ())}))
    assert made["Mounts"] == [{"Type": "tmpfs", "Target": "/srv/data"}]
    assert made["Configs"] == []


def test_other_volumes_are_the_tasks_own_anonymous_volumes() -> None:
    spec = dataclasses.replace(
        BARE, volumes=(VolumeMount("/cache", "cache", read_only=True), VolumeMount("/tmp/scratch"))
    )
    made = container(request(spec))
    labels = made["Labels"]
    assert made["Mounts"] == [
        {"Type": "volume", "Target": "/cache", "ReadOnly": True, "VolumeOptions": {"Labels": labels}},
        {"Type": "volume", "Target": "/tmp/scratch", "ReadOnly": False, "VolumeOptions": {"Labels": labels}},
    ]


def test_a_joined_payload_wraps_the_command_in_its_start_script() -> None:
    spec = dataclasses.replace(BARE, volumes=(DATA_MOUNT, VolumeMount("/cache", "cache")), command=("run",))
    made = container(
        request(spec, payloads={"data": JOINED}, config_ids=IDS, image=ImageDefaults(("/entry",), ("x",)))
    )
    assert made["Mounts"][0] == {"Type": "tmpfs", "Target": "/srv/data"}
    assert made["Mounts"][1]["Type"] == "volume"
    assert [c["File"]["Name"] for c in made["Configs"]] == ["/run/stagetui/data/0", "/run/stagetui/data/1"]
    assert made["Command"] == [
        "/bin/sh",
        "-c",
        JOINED.start_script() + '\nexec "$@"',
        "stagetui-start",
    ]
    assert made["Args"] == ["/entry", "run"]


def test_every_joined_payload_is_assembled_before_the_command() -> None:
    config = Payload(
        "config",
        "/etc/shop",
        (ConfigPart("c-0", "/run/stagetui/config/0", b"c"),),
        (("a", ("/run/stagetui/config/0",)),),
    )
    spec = dataclasses.replace(BARE, volumes=(DATA_MOUNT, VolumeMount("/etc/shop", "config")))
    made = container(
        request(
            spec,
            payloads={"data": JOINED, "config": config},
            config_ids={**IDS, "c-0": "c0"},
            image=ImageDefaults(command=("redis-server",)),
        )
    )
    script = made["Command"][2]
    assert script == f'{JOINED.start_script()}\n{config.start_script()}\nexec "$@"'
    assert made["Args"] == ["redis-server"]


def test_the_wrapped_command_joins_the_files_then_runs_the_service(tmp_path: Path) -> None:
    content = bytes(range(256)) * (PART_BYTES // 128)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "shop.db").write_bytes(content)
    target = tmp_path / "srv data"
    shipped = payload(ENV, "data", tmp_path / "data", str(target), max_bytes=10 * len(content))
    assert shipped.joined
    spec = dataclasses.replace(
        BARE,
        volumes=(VolumeMount(str(target), "data"),),
        entrypoint=("cat",),
        command=(str(target / "shop.db"),),
    )
    made = container(
        request(
            spec,
            payloads={"data": shipped},
            config_ids={p.name: p.name for p in shipped.parts},
            image=ImageDefaults(),
        )
    )
    parts_root = tmp_path / "run"
    for part in shipped.parts:
        path = parts_root / Path(part.target).relative_to(PARTS_ROOT)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(part.content)
    argv = [str(word).replace(str(PARTS_ROOT), str(parts_root)) for word in [*made["Command"], *made["Args"]]]
    finished = subprocess.run(argv, capture_output=True, check=True, timeout=30)
    assert finished.stdout == content


def test_a_joined_payload_needs_the_images_command() -> None:
    spec = dataclasses.replace(BARE, volumes=(DATA_MOUNT,))
    with pytest.raises(ValueError, match="image's command is needed"):
        request(spec, payloads={"data": JOINED}, config_ids=IDS)
    with pytest.raises(ValueError, match="neither the file nor the image redis:7 has a command"):
        request(spec, payloads={"data": JOINED}, config_ids=IDS, image=ImageDefaults())


def test_a_service_needs_an_image() -> None:
    with pytest.raises(ValueError, match="service cache has no image"):
        request(dataclasses.replace(BARE, image=None))


def test_without_a_payload_to_join_the_files_entrypoint_and_command_pass_as_they_are() -> None:
    made = container(request(dataclasses.replace(BARE, entrypoint=("/entry", "-v"), command=())))
    assert made["Command"] == ["/entry", "-v"]
    assert made["Args"] == []
    assert container(request(WEB))["Args"] == ["serve", "--port", "8080"]
    assert "Command" not in container(request(WEB))


@pytest.mark.parametrize(
    ("entrypoint", "command", "expected"),
    [
        (("/entry",), ("serve",), ["/entry", "serve"]),
        (("/entry",), None, ["/entry"]),
        (None, ("serve",), ["/image-entry", "serve"]),
        (None, None, ["/image-entry", "image-cmd"]),
        ((), None, []),
        (None, (), ["/image-entry"]),
    ],
)
def test_command_of_decides_like_compose(
    entrypoint: tuple[str, ...] | None, command: tuple[str, ...] | None, expected: list[str]
) -> None:
    spec = dataclasses.replace(BARE, entrypoint=entrypoint, command=command)
    assert command_of(spec, ImageDefaults(("/image-entry",), ("image-cmd",))) == expected


def test_the_wrapped_command_passes_its_arguments_untouched() -> None:
    command, args = wrapped_command("true", ["printf", "%s|", "a b", "$HOME", "'q'"])
    finished = subprocess.run([*command, *args], capture_output=True, check=True, timeout=30)
    assert finished.stdout == b"a b|$HOME|'q'|"
