"""Environments rendered as Kubernetes manifests, validated offline against the API's schemas."""

from __future__ import annotations

import ast
import base64
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from stagetui.compose.model import ComposeProject
from stagetui.compose.parse import load_compose
from stagetui.compose.sample import packaged_compose
from stagetui.domain.ids import environment_id
from stagetui.domain.models import Environment, EnvironmentStatus, Strategy
from stagetui.runtimes.kubernetes.manifests import kubernetes_manifests, namespace_name, not_rendered
from stagetui.runtimes.kubernetes.names import dns_label, is_dns_label, label_value
from stagetui.strategies.config_render import packaged_template, render_template

KUBERNETES = "1.30.0"
START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SAMPLE_IMAGES = frozenset({"stagetui-busybox:1", "stagetui-sample-app:1"})
# The grammars, written out here rather than imported, so the test does not grade names.py by itself.
DNS_1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
DNS_1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$")
LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
)

Manifest = dict[str, Any]


def make_env(branch: str = "feature/Login page", owner: str = "alice@example.com") -> Environment:
    return Environment(
        "0123456789abcdef0123456789abcdef",
        environment_id(branch, Strategy.CONTAINERIZED),
        branch,
        Strategy.CONTAINERIZED,
        "local",
        owner,
        START,
        START + timedelta(hours=8),
        EnvironmentStatus.READY,
    )


def sample_config(
    env: Environment, database_url: str = "sqlite:////data/app.db"
) -> tuple[dict[str, str], str]:
    """The containerized strategy's rendered config for `env`: its variables and config.json."""
    tree = render_template(packaged_template(), {"ENV_ID": env.id, "DATABASE_URL": database_url})
    env_section = tree["env"]
    assert isinstance(env_section, dict)
    return {str(k): str(v) for k, v in env_section.items()}, json.dumps(tree, indent=2)


def render(
    env: Environment | None = None,
    project: ComposeProject | None = None,
    config: tuple[dict[str, str], str | None] | None = None,
    **options: Any,
) -> list[Manifest]:
    env = env or make_env()
    variables, config_json = config if config is not None else sample_config(env)
    project = project or load_compose(packaged_compose(), {})
    manifests = kubernetes_manifests(
        project, env, variables, config_json, local_images=SAMPLE_IMAGES, **options
    )
    for manifest in manifests:
        kubernetes_validate.validate(manifest, desired_version=KUBERNETES, strict=True)
    return manifests


def find(manifests: list[Manifest], kind: str, name: str) -> Manifest:
    found = [m for m in manifests if m["kind"] == kind and m["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name} in {[(m['kind'], m['metadata']['name']) for m in manifests]}"
    return found[0]


def container(manifests: list[Manifest], name: str) -> Manifest:
    containers = find(manifests, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def all_strings(node: object) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield str(key)
            yield from all_strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from all_strings(item)


def test_the_sample_renders_as_valid_objects_in_apply_order() -> None:
    manifests = render()
    kinds = [(m["kind"], m["metadata"]["name"]) for m in manifests]
    assert kinds == [
        ("Namespace", "feature-login-page-ctr-cdad2"),
        ("ConfigMap", "stagetui-env"),
        ("Secret", "stagetui-secrets"),
        ("Secret", "stagetui-config"),
        ("Service", "app"),
        ("Deployment", "assets"),
        ("Deployment", "app"),
        ("Deployment", "worker"),
    ]
    for manifest in manifests[1:]:
        assert manifest["metadata"]["namespace"] == "feature-login-page-ctr-cdad2"
        assert DNS_1123_LABEL.match(manifest["metadata"]["name"])
    assert find(manifests, "Service", "app")["spec"]["ports"] == [
        {"name": "tcp-8080", "port": 8080, "targetPort": 8080, "protocol": "TCP"}
    ]
    assert find(manifests, "Service", "app")["spec"]["type"] == "ClusterIP"


def test_every_object_and_pod_carries_the_environment_labels_and_its_ttl() -> None:
    env = make_env()
    manifests = render(env)
    for manifest in manifests:
        metadata = manifest["metadata"]
        labels, annotations = metadata["labels"], metadata["annotations"]
        assert labels["stagetui.io/env"] == env.id
        assert labels["stagetui.io/uid"] == env.uid
        assert labels["stagetui.io/strategy"] == "containerized"
        assert labels["stagetui.io/branch"] == "feature-Login-page"
        assert labels["stagetui.io/owner"] == "alice-example.com"
        assert labels["app.kubernetes.io/managed-by"] == "stagetui"
        for key, value in labels.items():
            assert LABEL_KEY.match(key) and LABEL_VALUE.match(value), (key, value)
        # What the label grammar cannot hold is kept verbatim in annotations.
        assert annotations["stagetui.io/branch"] == "feature/Login page"
        assert annotations["stagetui.io/owner"] == "alice@example.com"
        assert annotations["stagetui.io/expires-at"] == "2024-05-01T20:00:00+00:00"
        assert annotations["stagetui.io/created-at"] == "2024-05-01T12:00:00+00:00"
        assert annotations["stagetui.io/ttl-seconds"] == "28800"
        assert all(LABEL_KEY.match(key) for key in annotations)
        if manifest["kind"] == "Deployment":
            template = manifest["spec"]["template"]["metadata"]["labels"]
            assert template["stagetui.io/env"] == env.id
            assert manifest["spec"]["selector"]["matchLabels"].items() <= template.items()


def test_valid_label_values_are_kept_and_others_sanitised_within_63_characters() -> None:
    metadata = render(make_env(branch="main", owner="bob"))[0]["metadata"]
    labels, annotations = metadata["labels"], metadata["annotations"]
    assert labels["stagetui.io/branch"] == "main" and "stagetui.io/branch" not in annotations
    long_value = label_value("x/" * 80)
    assert len(long_value) <= 63 and LABEL_VALUE.match(long_value)
    assert label_value("x/" * 80) == long_value != label_value("y/" * 80)
    assert label_value("/-leading and trailing-/") == "leading-and-trailing"


@pytest.mark.parametrize(
    "branch",
    [
        "main",
        "feature/JIRA-1234_some-very-long-description-of-what-this-branch-does-and-why-it-matters",
        "Ünïcödé/ブランチ",
        "--weird--//..name..",
        "x" * 200,
        "release/2024.05",
    ],
)
def test_namespaces_are_dns_labels_named_after_the_environment(branch: str) -> None:
    env = make_env(branch=branch)
    namespace = render(env)[0]
    assert namespace["kind"] == "Namespace"
    assert namespace["metadata"]["name"] == env.id == namespace_name(env)
    assert DNS_1123_LABEL.match(env.id)


@pytest.mark.parametrize(
    "text", ["Feature/Login", "-a-", "", "a" * 100, "9lives", "__", "ok-already", "UPPER", "ü"]
)
def test_names_are_sanitised_deterministically_into_dns_labels(text: str) -> None:
    name, service = dns_label(text), dns_label(text, letter_first=True)
    assert DNS_1123_LABEL.match(name) and DNS_1035_LABEL.match(service)
    assert dns_label(text) == name  # deterministic
    assert is_dns_label(name)
    if DNS_1123_LABEL.match(text):
        assert name == text
    else:  # two inputs that slugify alike stay apart
        assert dns_label(text) != dns_label(text + "/")


def test_namespace_name_of_an_environment_id_that_is_no_label_is_sanitised() -> None:
    env = make_env()
    env.id = "Odd_ID/from-labels"
    name = namespace_name(env)
    assert DNS_1123_LABEL.match(name) and name.startswith("odd-id-from-labels-")


def test_secrets_go_to_secrets_and_never_to_config_maps_env_values_or_annotations(tmp_path: Path) -> None:
    env = make_env()
    password_url = "postgresql://shop:hunter2@db:5432/shop"
    variables, config_json = sample_config(env, database_url=password_url)
    variables["GITHUB_TOKEN"] = "ghp_sekrit"
    variables["ODD NAME"] = "plain value"  # no valid ConfigMap key: given inline
    variables["ODD SESSION_TOKEN"] = "odd-sekrit"  # no valid Secret key: left out, and said so
    compose = tmp_path / "shop.yaml"
    compose.write_text(
        "x-stagetui: {endpoint: {service: web, port: 8080}}\n"
        "services:\n"
        "  web:\n"
        "    image: shop:1\n"
        "    ports: ['8080']\n"
        "    environment: {DB_PASSWORD: compose-pw, MODE: demo}\n"
        "  cron:\n"
        "    image: shop:1\n"
        "    environment: {DB_PASSWORD: other-pw, CUSTOM_THING: custom-value}\n"
    )
    manifests = render(
        env,
        load_compose(compose, {}),
        (variables, config_json),
        secret_patterns=["*.custom_thing"],
    )
    secret_values = {"test-key", "test-secret", password_url, "hunter2", "ghp_sekrit", "compose-pw"}
    secret_values |= {"other-pw", "custom-value", "odd-sekrit"}
    for manifest in manifests:
        strings = set(all_strings(manifest if manifest["kind"] != "Secret" else manifest["metadata"]))
        assert not {s for s in strings for v in secret_values if v in s}, manifest["kind"]
    secrets = find(manifests, "Secret", "stagetui-secrets")["data"]
    decoded = {key: base64.b64decode(value).decode() for key, value in secrets.items()}
    assert decoded == {
        "DATABASE_URL": password_url,
        "GITHUB_TOKEN": "ghp_sekrit",
        "PAYMENT_API_KEY": "test-key",
        "SESSION_SECRET": "test-secret",
        "web.DB_PASSWORD": "compose-pw",
        "cron.DB_PASSWORD": "other-pw",
        "cron.CUSTOM_THING": "custom-value",
    }
    web_env = {e["name"]: e for e in container(manifests, "web")["env"]}
    assert web_env["PAYMENT_API_KEY"]["valueFrom"] == {
        "secretKeyRef": {"name": "stagetui-secrets", "key": "PAYMENT_API_KEY"}
    }
    assert web_env["DB_PASSWORD"]["valueFrom"]["secretKeyRef"]["key"] == "web.DB_PASSWORD"
    assert web_env["MODE"] == {"name": "MODE", "value": "demo"}
    assert web_env["TZ"]["valueFrom"] == {"configMapKeyRef": {"name": "stagetui-env", "key": "TZ"}}
    assert web_env["STAGETUI_ENV_ID"] == {"name": "STAGETUI_ENV_ID", "value": env.id}
    assert web_env["ODD NAME"] == {"name": "ODD NAME", "value": "plain value"}
    assert "ODD SESSION_TOKEN" not in web_env
    notes = find(manifests, "Deployment", "web")["metadata"]["annotations"]["stagetui.io/not-rendered"]
    assert "variable ODD SESSION_TOKEN: secret, but no valid Secret key" in notes
    cron_env = {e["name"] for e in container(manifests, "cron")["env"]}
    assert cron_env == {"DB_PASSWORD", "CUSTOM_THING"}  # the config goes to the config service only
    plain = find(manifests, "ConfigMap", "stagetui-env")["data"]
    assert "TZ" in plain and not {"DATABASE_URL", "PAYMENT_API_KEY", "GITHUB_TOKEN"} & set(plain)
    config_file = find(manifests, "Secret", "stagetui-config")["data"]["config.json"]
    assert json.loads(base64.b64decode(config_file))["env"]["SESSION_SECRET"] == "test-secret"


def test_a_config_json_without_secrets_is_a_config_map_mounted_at_the_config_volume() -> None:
    env = make_env()
    config_json = json.dumps({"app": {"name": "shop"}, "env": {"TZ": "UTC"}})
    manifests = render(env, config=({"TZ": "UTC"}, config_json))
    assert find(manifests, "ConfigMap", "stagetui-config")["data"] == {"config.json": config_json}
    assert not [m for m in manifests if m["kind"] == "Secret"]
    pod = find(manifests, "Deployment", "app")["spec"]["template"]["spec"]
    assert {"name": "config", "configMap": {"name": "stagetui-config"}} in pod["volumes"]
    mounts = container(manifests, "app")["volumeMounts"]
    assert {"name": "config", "mountPath": "/config", "readOnly": True} in mounts


def test_the_data_volume_is_an_empty_dir_the_runtime_seeds() -> None:
    manifests = render()
    app = find(manifests, "Deployment", "app")
    assert {"name": "data", "emptyDir": {}} in app["spec"]["template"]["spec"]["volumes"]
    assert {"name": "data", "mountPath": "/data", "readOnly": True} in container(manifests, "app")[
        "volumeMounts"
    ]
    assert "seeds" in app["metadata"]["annotations"]["stagetui.io/data-volume"]


def test_without_a_rendered_config_nothing_is_mounted_and_that_is_said() -> None:
    manifests = render(config=({}, None))
    assert not [m for m in manifests if m["kind"] in {"ConfigMap", "Secret"}]
    assert "no rendered config.json" in manifests[0]["metadata"]["annotations"]["stagetui.io/not-rendered"]
    volumes = find(manifests, "Deployment", "app")["spec"]["template"]["spec"]["volumes"]
    assert {"name": "config", "emptyDir": {}} in volumes


def test_sample_probes_commands_and_rolling_updates() -> None:
    manifests = render()
    app, assets, worker = (container(manifests, name) for name in ("app", "assets", "worker"))
    # The endpoint's service: ready when stagetui's health path answers; its compose check gates its start.
    assert app["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert app["startupProbe"]["exec"]["command"][:2] == ["python3", "-c"]
    assert app["startupProbe"]["failureThreshold"] == 30 and app["startupProbe"]["periodSeconds"] == 1
    assert assets["readinessProbe"] == {
        "exec": {"command": ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8081/"]},
        "initialDelaySeconds": 0,
        "periodSeconds": 1,
        "timeoutSeconds": 2,
        "failureThreshold": 30,
    }
    assert "readinessProbe" not in worker and "startupProbe" not in worker
    assert assets["args"] == ["httpd", "-f", "-p", "8081", "-h", "/www"] and "command" not in assets
    assert app["image"] == "stagetui-sample-app:1"
    assert app["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]
    for name in ("app", "assets", "worker"):
        spec = find(manifests, "Deployment", name)["spec"]
        assert spec["replicas"] == 1
        assert spec["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1},
        }


def test_what_the_sample_cannot_express_is_listed_not_dropped() -> None:
    manifests = render()
    notes = not_rendered(manifests)
    assert any(n.startswith("Deployment/app: depends_on assets (service_healthy)") for n in notes)
    assert any(n.startswith("Deployment/assets: no ports declared") for n in notes)
    assert any(
        n.startswith("Deployment/app: image stagetui-sample-app:1: built on this machine") for n in notes
    )
    assert any(n.startswith("Service/app: ports 8080/tcp on 127.0.0.1") for n in notes)
    annotation = find(manifests, "Deployment", "worker")["metadata"]["annotations"][
        "stagetui.io/not-rendered"
    ]
    assert "depends_on app" in annotation


DEPLOYED = """\
name: shop
x-stagetui:
  endpoint: {{service: web_api, port: 8080, health_path: /ready}}
  data_volume: data
services:
  web_api:
    build: {{context: .}}
    image: registry.example/shop:2
    entrypoint: ["/bin/shop"]
    command: ["serve", "--port", "8080"]
    working_dir: /srv
    user: "1000:2000"
    stop_grace_period: 7.5s
    labels: {{com.example.team: shop, "bad key!": x}}
    ports: ["8080", "9090/udp"]
    volumes: ["data:/var/lib/shop", "cache:/cache", "{bind}:/host", "/tmp/anon"]
    networks: [front]
    healthcheck:
      test: curl -fsS http://localhost:8080/ready
      interval: 2s
      timeout: 1500ms
      retries: 4
      start_period: 10s
    deploy:
      replicas: 3
      endpoint_mode: dnsrr
      labels: {{tier: web}}
      placement:
        constraints:
          - node.labels.zone == eu-1
          - node.labels.disk != hdd
          - node.hostname != old-box
          - node.platform.arch == x86_64
          - node.role == manager
        max_replicas_per_node: 1
        preferences: [{{spread: node.labels.rack}}, {{spread: engine.labels.dc}}]
      update_config: {{parallelism: 2, delay: 5s, order: start-first, failure_action: rollback}}
      resources:
        limits: {{cpus: "0.5", memory: 256M}}
  worker:
    image: shop:2
    user: nobody
    deploy:
      replicas: 0
      placement: {{max_replicas_per_node: 2}}
      update_config: {{parallelism: 0}}
volumes:
  data: {{}}
  cache: {{}}
networks:
  front: {{}}
"""


@pytest.fixture
def deployed(tmp_path: Path) -> list[Manifest]:
    compose = tmp_path / "shop.yaml"
    compose.write_text(DEPLOYED.format(bind=tmp_path))
    return render(project=load_compose(compose, {}), config=({}, None))


def test_deploy_maps_to_replicas_limits_strategy_and_scheduling(deployed: list[Manifest]) -> None:
    name = find(deployed, "Service", dns_label("web_api", letter_first=True))["metadata"]["name"]
    assert DNS_1035_LABEL.match(name) and name.startswith("web-api-")
    web = find(deployed, "Deployment", name)
    spec, pod = web["spec"], web["spec"]["template"]["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 2, "maxUnavailable": 0}
    assert spec["minReadySeconds"] == 5
    assert pod["nodeSelector"] == {"zone": "eu-1", "kubernetes.io/arch": "amd64"}
    expressions = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert expressions["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "disk", "operator": "NotIn", "values": ["hdd"]},
        {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": ["old-box"]},
    ]
    anti = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
    assert anti["topologyKey"] == "kubernetes.io/hostname"
    assert anti["labelSelector"]["matchLabels"] == spec["selector"]["matchLabels"]
    assert [c["topologyKey"] for c in pod["topologySpreadConstraints"]] == ["rack"]
    assert pod["terminationGracePeriodSeconds"] == 8
    main = pod["containers"][0]
    assert main["resources"] == {"limits": {"cpu": "500m", "memory": "256Mi"}}
    assert main["command"] == ["/bin/shop"] and main["args"] == ["serve", "--port", "8080"]
    assert main["workingDir"] == "/srv"
    assert main["securityContext"] == {"runAsUser": 1000, "runAsGroup": 2000}
    assert main["startupProbe"] == {
        "exec": {"command": ["/bin/sh", "-c", "curl -fsS http://localhost:8080/ready"]},
        "initialDelaySeconds": 10,
        "periodSeconds": 2,
        "timeoutSeconds": 2,
        "failureThreshold": 4,
    }
    assert main["readinessProbe"]["httpGet"] == {"path": "/ready", "port": 8080}
    assert web["metadata"]["annotations"]["tier"] == "web"
    assert spec["template"]["metadata"]["annotations"] == {"com.example.team": "shop"}
    service = find(deployed, "Service", name)["spec"]
    assert service["clusterIP"] == "None"
    assert [(p["port"], p["protocol"]) for p in service["ports"]] == [(8080, "TCP"), (9090, "UDP")]
    worker = find(deployed, "Deployment", "worker")["spec"]
    assert worker["replicas"] == 0
    assert worker["strategy"]["rollingUpdate"] == {"maxSurge": 0, "maxUnavailable": "100%"}


def test_everything_deploy_cannot_express_is_annotated(deployed: list[Manifest]) -> None:
    name = dns_label("web_api", letter_first=True)
    notes = find(deployed, "Deployment", name)["metadata"]["annotations"]["stagetui.io/not-rendered"]
    for expected in (
        f"name: reachable as {name}",
        "build (",
        "bind mount",
        "volume cache: an emptyDir per pod",
        "placement constraint 'node.role == manager'",
        "placement preference spread 'engine.labels.dc'",
        "update_config delay 5s",
        "failure_action rollback",
        "label 'bad key!'",
    ):
        assert expected in notes, expected
    worker = find(deployed, "Deployment", "worker")["metadata"]["annotations"]["stagetui.io/not-rendered"]
    assert "user 'nobody'" in worker and "max_replicas_per_node 2" in worker
    namespace_notes = deployed[0]["metadata"]["annotations"]["stagetui.io/not-rendered"]
    assert "networks front" in namespace_notes
    volumes = find(deployed, "Deployment", name)["spec"]["template"]["spec"]["volumes"]
    assert [v["name"] for v in volumes][:2] == ["data", "cache"] and len(volumes) == 3  # no bind mount


def test_the_renderer_is_pure() -> None:
    """No I/O, no runtime SDKs, no upper layer: manifests are a function of their inputs."""
    package = Path(__file__).resolve().parents[2] / "stagetui" / "runtimes" / "kubernetes"
    forbidden = ("docker", "boto3", "yaml", "pathlib", "os", "subprocess", "stagetui.service", "stagetui.cli")
    for path in package.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        bad = {name for name in imported if name.split(".")[0] in forbidden or name.startswith(forbidden)}
        assert not bad, f"{path.name} imports {bad}"
