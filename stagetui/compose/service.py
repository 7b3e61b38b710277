"""One entry of `services:`, validated against the names the rest of the file declares."""

from __future__ import annotations

import difflib
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from stagetui.compose.deploy import parse_deploy
from stagetui.compose.environment import resolved_variables, service_environment
from stagetui.compose.healthcheck import parse_healthcheck
from stagetui.compose.model import BuildSpec, Dependency, DependencyCondition, DeploySpec, ServiceSpec
from stagetui.compose.mounts import parse_mounts
from stagetui.compose.ports import parse_ports
from stagetui.compose.unsupported import NETWORK_ATTACHMENT, SERVICE
from stagetui.compose.values import NAME_RULE, Node, is_compose_name

SERVICE_KEYS = (
    *("build", "command", "depends_on", "entrypoint", "env_file", "environment", "healthcheck", "image"),
    *("labels", "networks", "ports", "stop_grace_period", "user", "volumes", "working_dir", "deploy"),
)
BUILD_KEYS = ("args", "context", "dockerfile", "target")
CONDITIONS: tuple[DependencyCondition, ...] = (
    "service_started",
    "service_healthy",
    "service_completed_successfully",
)
RESERVED_LABEL_PREFIX = "stagetui."
_T = TypeVar("_T")


@dataclass(frozen=True)
class Declarations:
    """What a service may refer to: the project, its services, named volumes and networks."""

    project: str
    services: tuple[str, ...]
    volumes: tuple[str, ...]
    networks: tuple[str, ...]


@dataclass(frozen=True)
class ParsedService:
    spec: ServiceSpec
    dependency_nodes: dict[str, Node]
    """Where each dependency is written, for errors found once every service is known."""


def parse_service(node: Node, name: str, declared: Declarations) -> ParsedService:
    if not is_compose_name(name):
        raise node.error(f"service name {name!r} is invalid: {NAME_RULE}")
    fields = node.fields(SERVICE_KEYS, SERVICE, extensions=True)
    build = _optional(fields, "build", _build, None)
    image = _optional(fields, "image", lambda image: image.text(), None)
    if image is None and build is None:
        raise node.error("needs `image` or `build`")
    dependencies, dependency_nodes = _depends_on(fields.get("depends_on"), name, declared.services)
    spec = ServiceSpec(
        name=name,
        image=image or f"{declared.project}-{name}:latest",
        build=build,
        command=_optional(fields, "command", _words, None),
        entrypoint=_optional(fields, "entrypoint", _words, None),
        environment=service_environment(fields),
        ports=_optional(fields, "ports", parse_ports, ()),
        volumes=_optional(fields, "volumes", lambda volumes: parse_mounts(volumes, declared.volumes), ()),
        depends_on=dependencies,
        healthcheck=_optional(fields, "healthcheck", parse_healthcheck, None),
        labels=_optional(fields, "labels", parse_labels, {}),
        networks=_optional(fields, "networks", lambda networks: _networks(networks, declared.networks), ()),
        working_dir=_optional(fields, "working_dir", _working_dir, None),
        user=_optional(fields, "user", lambda user: user.scalar_text(), None),
        stop_grace_period=_optional(fields, "stop_grace_period", lambda period: period.duration(), None),
        deploy=_optional(fields, "deploy", parse_deploy, DeploySpec()),
    )
    return ParsedService(spec, dependency_nodes)


def parse_labels(node: Node) -> dict[str, str]:
    """Labels as a mapping or a list of `K=V`; stagetui's own prefix is reserved."""
    labels: dict[str, str] = {}
    for key, value, item in node.key_values():
        if key.lower().startswith(RESERVED_LABEL_PREFIX):
            raise item.error(
                f"label {key!r}: keys starting with {RESERVED_LABEL_PREFIX!r} are reserved for stagetui's own"
            )
        labels[key] = value or ""
    return labels


def _optional(fields: Mapping[str, Node], key: str, read: Callable[[Node], _T], default: _T) -> _T:
    return read(fields[key]) if key in fields else default


def _build(node: Node) -> BuildSpec:
    if isinstance(node.value, str):
        return BuildSpec(context=_context(node))
    fields = node.fields(BUILD_KEYS)
    return BuildSpec(
        context=_context(fields["context"]) if "context" in fields else node.source.directory,
        dockerfile=_optional(
            fields, "dockerfile", lambda dockerfile: dockerfile.text(), BuildSpec.dockerfile
        ),
        args=_optional(fields, "args", resolved_variables, {}),
        target=_optional(fields, "target", lambda target: target.text(), None),
    )


def _context(node: Node) -> Path:
    text = node.text()
    if "://" in text or text.startswith("git@"):
        raise node.error(f"remote build contexts are not supported ({text!r}); use a local directory")
    path = (node.source.directory / text).resolve()
    if not path.is_dir():
        raise node.error(f"build context {path} is not a directory")
    return path


def _words(node: Node) -> tuple[str, ...] | None:
    """A command line split like a shell would (no expansion), or a list of arguments."""
    if node.is_null:
        return None
    if isinstance(node.value, list):
        return tuple(item.scalar_text() for item in node.sequence())
    text = node.text(allow_empty=True)
    try:
        return tuple(shlex.split(text))
    except ValueError as error:
        raise node.error(f"cannot split {text!r} into arguments: {error}") from None


def _depends_on(
    node: Node | None, name: str, services: tuple[str, ...]
) -> tuple[tuple[Dependency, ...], dict[str, Node]]:
    if node is None or node.is_null:
        return (), {}
    entries: dict[str, tuple[DependencyCondition, Node]] = {}
    if isinstance(node.value, list):
        for item in node.sequence():
            if item.text() in entries:
                raise item.error(f"{item.value!r} is listed twice")
            entries[item.text()] = ("service_started", item)
    else:
        for dependency, item in node.mapping().items():
            entries[dependency] = (_condition(item), item)
    for dependency, (_, item) in entries.items():
        _check_dependency(item, dependency, name, services)
    dependencies = tuple(Dependency(dependency, condition) for dependency, (condition, _) in entries.items())
    return dependencies, {dependency: item for dependency, (_, item) in entries.items()}


def _condition(node: Node) -> DependencyCondition:
    if node.is_null:
        return "service_started"
    fields = node.fields(
        ("condition",), {"required": "not supported (yet)", "restart": "not supported (yet)"}
    )
    if "condition" not in fields:
        return "service_started"
    condition = fields["condition"].text()
    if condition not in CONDITIONS:
        raise fields["condition"].error(
            f"unknown condition {condition!r}; use one of {', '.join(CONDITIONS)}"
        )
    return condition


def _check_dependency(node: Node, dependency: str, name: str, services: tuple[str, ...]) -> None:
    if dependency == name:
        raise node.error(f"service {name!r} depends on itself")
    if dependency not in services:
        close = difflib.get_close_matches(dependency, services, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"services: {', '.join(services)}"
        raise node.error(f"unknown service {dependency!r}; {hint}")


def _networks(node: Node, declared: tuple[str, ...]) -> tuple[str, ...]:
    if node.is_null:
        return ()
    if isinstance(node.value, list):
        names = [(item.text(), item) for item in node.sequence()]
    else:
        names = list(node.mapping().items())
        for _, options in names:
            if not options.is_null:
                options.fields((), NETWORK_ATTACHMENT)
    for network, item in names:
        if network not in declared:
            listed = ", ".join(declared) or "none"
            raise item.error(
                f"network {network!r} is not declared under the top-level `networks` (declared: {listed})"
            )
    return tuple(network for network, _ in names)


def _working_dir(node: Node) -> str:
    path = node.text()
    if not path.startswith("/"):
        raise node.error(f"must be an absolute path (got {path!r})")
    return path
