"""Where a swarm environment answers, how its objects are named, and what a swarm refuses to run."""

from __future__ import annotations

import hashlib
import textwrap
from pathlib import Path

import pytest

from stagetui.compose.parse import load_compose
from stagetui.runtimes.base import RuntimeOperationError
from stagetui.runtimes.swarm.definition import load_swarm_project, swarm_problems
from stagetui.runtimes.swarm.endpoint import choose_endpoint_mode, endpoint_urls, node_host
from stagetui.runtimes.swarm.naming import MAX_NAME, config_name, fit, network_name, service_name
from stagetui.runtimes.swarm.tasks import TaskEntry

LOCAL = "unix:///var/run/docker.sock"
REMOTE = "tcp://manager.lan:2376"

# --- choose_endpoint_mode --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configured", "engine", "ipvs", "expected"),
    [
        ("vip", REMOTE, False, "vip"),
        ("dnsrr", LOCAL, True, "dnsrr"),
        ("auto", LOCAL, True, "vip"),
        ("auto", "npipe:////./pipe/docker_engine", True, "vip"),
        ("auto", LOCAL, False, "dnsrr"),
        ("auto", REMOTE, True, "dnsrr"),
        ("auto", "ssh://deploy@manager.lan", True, "dnsrr"),
    ],
)
def test_auto_picks_vip_only_on_a_local_manager_with_ipvs(
    tmp_path: Path, configured: str, engine: str, ipvs: bool, expected: str
) -> None:
    table = tmp_path / "ip_vs"
    if ipvs:
        table.write_text("IP Virtual Server version 1.2.1 (size=4096)\n")
    assert choose_endpoint_mode(configured, engine, table) == expected


# --- node_host and endpoint_urls -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "engine", "expected"),
    [
        ("10.0.0.3", LOCAL, "10.0.0.3"),
        ("10.0.0.3", REMOTE, "10.0.0.3"),
        ("127.0.0.1", LOCAL, "127.0.0.1"),
        ("", LOCAL, "127.0.0.1"),
        ("127.0.1.1", REMOTE, "manager.lan"),
        ("0.0.0.0", "ssh://deploy@manager.lan", "manager.lan"),
        ("::", "https://10.1.2.3:2376", "10.1.2.3"),
        ("::1", "http://10.1.2.4:2375", "10.1.2.4"),
    ],
)
def test_a_node_is_reached_at_its_address_unless_it_is_loopback(
    address: str, engine: str, expected: str
) -> None:
    assert node_host(address, engine) == expected


def entry(
    task_id: str,
    node: str,
    published: tuple[tuple[int, int], ...],
    service_id: str = "svc-web",
    state: str = "running",
) -> TaskEntry:
    return TaskEntry(
        id=task_id,
        service_id=service_id,
        service="web",
        environment_id="env-1",
        node_id=node,
        state=state,
        desired_state="running",
        error="",
        message="",
        published=published,
        updated_at="2024-05-01T10:00:00Z",
    )


def test_one_url_per_running_task_of_the_service_at_its_nodes_address() -> None:
    tasks = [
        entry("t3", "node-b", ((8080, 30003), (9000, 30004))),
        entry("t1", "node-a", ((8080, 30001),)),
        entry("t2", "node-a", ((8080, 30002),), state="starting"),
        entry("t0", "node-a", ((8080, 30000),), service_id="svc-db"),
        entry("t4", "node-c", ((9000, 30005),)),
        entry("t5", "node-unknown", ((8080, 30006),)),
    ]
    nodes = {"node-a": "10.0.0.3", "node-b": "127.0.0.1", "node-c": "10.0.0.5"}
    assert endpoint_urls(tasks, "svc-web", 8080, nodes, REMOTE) == [
        "http://10.0.0.3:30001",
        "http://manager.lan:30003",
        "http://manager.lan:30006",
    ]
    assert endpoint_urls(tasks, "svc-web", 7000, nodes, REMOTE) == []


def test_an_ipv6_node_address_makes_a_valid_url() -> None:
    tasks = [entry("t1", "node-a", ((8080, 30001),))]
    assert endpoint_urls(tasks, "svc-web", 8080, {"node-a": "fd00::3"}, LOCAL) == ["http://[fd00::3]:30001"]


# --- naming ----------------------------------------------------------------------------------------------


def test_short_names_are_kept() -> None:
    assert fit("stagetui-env-web") == "stagetui-env-web"
    assert fit("x" * MAX_NAME) == "x" * MAX_NAME


def test_long_names_keep_their_start_and_a_digest_of_all_of_it() -> None:
    name = "stagetui-" + "a" * 60 + "-web"
    shortened = fit(name)
    assert len(shortened) == MAX_NAME
    assert shortened == name[:54] + "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    assert fit(name[:-3] + "db") != shortened


def test_a_cut_at_a_dash_does_not_double_it() -> None:
    name = "a" * 53 + "-" + "b" * 20
    shortened = fit(name)
    assert "--" not in shortened
    assert shortened.startswith("a" * 53 + "-")
    assert len(shortened) == MAX_NAME - 1


def test_every_swarm_name_fits_even_for_the_longest_environment_id() -> None:
    environment_id = "e" * 63
    names = [
        service_name(environment_id, "web"),
        service_name(environment_id, "db"),
        network_name(environment_id),
        network_name(environment_id, "backend"),
        config_name(environment_id, "data", "f" * 64, 0),
        config_name(environment_id, "data", "f" * 64, 1),
    ]
    assert all(len(name) <= MAX_NAME for name in names)
    assert len(set(names)) == len(names)
    assert service_name("env-1", "web") == "stagetui-env-1-web"
    assert network_name("env-1") == "stagetui-env-1"
    assert config_name("env-1", "config", "0123456789abcdef", 2) == "stagetui-env-1-config-0123456789ab-2"


# --- definition ------------------------------------------------------------------------------------------

COMPOSE = """\
name: shop
services:
  web:
    image: shop:1
    ports: ["8080"]
    volumes: [data:/srv/data, /tmp/scratch]
    deploy: {{replicas: 2, endpoint_mode: dnsrr}}
    depends_on:
      db: {{condition: service_healthy}}
  db:
    image: postgres:16
    healthcheck: {{test: pg_isready}}
{extra}
volumes:
  data:
x-stagetui:
  endpoint: {{service: web, port: 8080}}
  data_volume: data
"""


def write(tmp_path: Path, extra: str = "") -> Path:
    (tmp_path / "app").mkdir(exist_ok=True)
    path = tmp_path / "shop.yaml"
    path.write_text(COMPOSE.format(extra=textwrap.indent(textwrap.dedent(extra), "  ")))
    return path


def test_a_file_of_images_and_named_volumes_can_run_on_a_swarm(tmp_path: Path) -> None:
    assert swarm_problems(load_compose(write(tmp_path), {})) == []
    assert load_swarm_project(write(tmp_path), {}).services["web"].deploy.replicas == 2


def test_what_a_swarm_cannot_run_is_named_key_by_key(tmp_path: Path) -> None:
    extra = """\
    worker:
      build: ./app
      volumes: ["./conf:/etc/shop:ro", {type: bind, source: /var/log/shop, target: /srv/log}, data:/d]
      depends_on:
        migrate: {condition: service_completed_successfully}
        db: {condition: service_started}
    migrate:
      image: shop:1
      command: [alembic, upgrade, head]
    """
    problems = swarm_problems(load_compose(write(tmp_path, extra), {}))
    assert len(problems) == 4
    assert problems[0].startswith("services.worker.build: the nodes cannot share a local build")
    assert problems[1].startswith(f"services.worker.volumes: {tmp_path / 'conf'}:/etc/shop is a host path")
    assert problems[2].startswith("services.worker.volumes: /var/log/shop:/srv/log is a host path")
    assert problems[3].startswith("services.worker.depends_on.migrate: Swarm services run until stopped")


def test_loading_refuses_such_a_file_naming_it(tmp_path: Path) -> None:
    path = write(tmp_path, "job:\n  build: ./app\n")
    with pytest.raises(RuntimeOperationError) as caught:
        load_swarm_project(path, {})
    assert str(caught.value).startswith(f"{path}: services.job.build: ")


def test_the_data_volume_mounted_twice_by_one_service_is_refused(tmp_path: Path) -> None:
    extra = """\
    reader:
      image: shop:1
      volumes: [data:/a, "data:/b:ro"]
    """
    problems = swarm_problems(load_compose(write(tmp_path, extra), {}))
    assert problems == [
        "services.reader.volumes: data is mounted more than once; its files are shipped as configs to one "
        "place per service"
    ]
