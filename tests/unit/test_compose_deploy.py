"""A service's `deploy:` section: replicas, placement, rolling updates and limits, and what is refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagetui.compose.model import DeploySpec, UpdateConfig
from stagetui.compose.parse import ComposeError, load_compose

COMPOSE = """\
name: shop
x-stagetui:
  endpoint: {{service: web, port: 8080}}
services:
  web:
    image: shop:1
    ports: ["8080"]
{deploy}
"""


def load_deploy(tmp_path: Path, deploy: str) -> DeploySpec:
    path = tmp_path / "shop.yaml"
    path.write_text(COMPOSE.format(deploy=deploy))
    return load_compose(path, {}).services["web"].deploy


def test_without_deploy_a_service_runs_once_with_no_limits(tmp_path: Path) -> None:
    assert load_deploy(tmp_path, "") == DeploySpec()


def test_every_supported_key(tmp_path: Path) -> None:
    deploy = load_deploy(
        tmp_path,
        """\
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      labels: {team: shop}
      placement:
        constraints: ["node.role == worker", "node.labels.zone == a"]
        max_replicas_per_node: 1
        preferences: [{spread: node.labels.zone}]
      update_config: {parallelism: 2, delay: 5s, monitor: 2s, order: start-first, failure_action: rollback}
      resources:
        limits: {cpus: "0.5", memory: 256M}""",
    )
    assert deploy == DeploySpec(
        replicas=3,
        endpoint_mode="dnsrr",
        constraints=("node.role == worker", "node.labels.zone == a"),
        max_replicas_per_node=1,
        spread=("node.labels.zone",),
        update=UpdateConfig(
            parallelism=2, delay=5.0, monitor=2.0, order="start-first", failure_action="rollback"
        ),
        cpu_limit=0.5,
        memory_limit=256 * 1024**2,
        labels={"team": "shop"},
    )


@pytest.mark.parametrize(
    ("deploy", "location", "fragment"),
    [
        (
            "mode: global",
            "deploy.mode",
            "'mode' is not supported (yet): environments are replicated services",
        ),
        ("replicas: -1", "deploy.replicas", "must be between 0 and 1000"),
        ("endpoint_mode: mesh", "deploy.endpoint_mode", "must be one of vip, dnsrr (got 'mesh')"),
        ("resources: {limits: {memory: lots}}", "deploy.resources.limits.memory", "such as 256M or 1G"),
        ("resources: {limits: {memory: 1M}}", "deploy.resources.limits.memory", "at least 6M"),
        ("resources: {limits: {cpus: 0}}", "deploy.resources.limits.cpus", "must be more than 0"),
        ("resources: {reservations: {cpus: 1}}", "deploy.resources.reservations", "not supported (yet)"),
        ("placement: {preferences: [{pin: x}]}", "deploy.placement.preferences.0.pin", "unknown key 'pin'"),
        ("update_config: {order: sideways}", "deploy.update_config.order", "must be one of stop-first"),
        ("replcas: 2", "deploy.replcas", "did you mean 'replicas'?"),
    ],
)
def test_refusals_name_the_key(tmp_path: Path, deploy: str, location: str, fragment: str) -> None:
    with pytest.raises(ComposeError) as caught:
        load_deploy(tmp_path, f"    deploy:\n      {deploy}")
    error = caught.value
    assert error.line == 9
    assert ".".join(map(str, error.location)) == f"services.web.{location}"
    assert fragment in error.message
