"""Load a compose file into a ComposeProject: read, interpolate, validate, build."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from pathlib import Path

import yaml

from stagetui.compose.dependencies import check_dependencies, start_levels
from stagetui.compose.errors import ComposeError
from stagetui.compose.model import ComposeProject, EndpointSpec, ServiceSpec, StagetuiExtension
from stagetui.compose.service import Declarations, parse_labels, parse_service
from stagetui.compose.unsupported import NETWORK_DECLARATION, TOP_LEVEL, VOLUME_DECLARATION
from stagetui.compose.values import NAME_RULE, Node, Source, is_compose_name
from stagetui.compose.yaml12 import load_yaml12
from stagetui.config.errors import ConfigError
from stagetui.config.interpolation import InterpolationError, interpolate
from stagetui.config.yaml_lines import LocatedDocument, parse_yaml

__all__ = ["ComposeError", "load_compose"]

TOP_LEVEL_KEYS = ("name", "networks", "services", "version", "volumes", "x-stagetui")
DECLARATION_KEYS = ("driver", "labels")
STAGETUI_KEYS = ("config_service", "config_volume", "data_volume", "endpoint")
ENDPOINT_KEYS = ("health_path", "port", "service")
_RESERVED_NETWORKS = {
    "default": "'default' is the environment's own network, which services without `networks` join; "
    "declare networks under other names"
}
_DEFINITION_MAPS = {("services",), ("volumes",), ("networks",)}
"""Top-level keys whose entries may carry `x-*` extension keys."""
_RESOURCE_NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*")
_STAGETUI_EXAMPLE = "x-stagetui: {endpoint: {service: web, port: 8080}}"


def load_compose(path: Path, environ: Mapping[str, str]) -> ComposeProject:
    """Read `path` and build its project; every problem raises ComposeError naming file, line and key."""
    source = Source(path, _read_document(path), environ)
    root = Node(source, (), source.document.data)
    if not isinstance(root.value, dict):
        raise root.error("the top level must be a mapping with `services:` and `x-stagetui:`")
    fields = {
        key: _interpolated(node)
        for key, node in root.fields(TOP_LEVEL_KEYS, TOP_LEVEL, extensions=True).items()
        if key != "version"  # obsolete in compose: accepted and ignored
    }
    name = _project_name(fields.get("name"), source)
    volumes = _declared(fields.get("volumes"), VOLUME_DECLARATION, "local", {})
    networks = _declared(fields.get("networks"), NETWORK_DECLARATION, "bridge", _RESERVED_NETWORKS)
    services = _services(root.required(fields, "services"), name, volumes, networks)
    if "x-stagetui" not in fields:
        raise root.error(f"missing required key 'x-stagetui' (stagetui's endpoint, e.g. {_STAGETUI_EXAMPLE})")
    return ComposeProject(
        path=path.resolve(),
        name=name,
        services=services,
        volumes=volumes,
        networks=networks,
        stagetui=_stagetui_extension(fields["x-stagetui"], services, volumes),
        start_levels=start_levels(services),
    )


def _read_document(path: Path) -> LocatedDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ComposeError(path, None, (), "compose file not found") from None
    except (OSError, UnicodeDecodeError) as error:
        raise ComposeError(path, None, (), f"cannot read compose file: {error}") from None
    try:
        document = parse_yaml(text, path, construct=False)
    except ConfigError as error:
        problem = error.problems[0]
        location = tuple(problem.field.split(".")) if problem.field else ()
        raise ComposeError(path, problem.line, location, problem.message) from None
    try:
        # parse_yaml reads YAML 1.1; compose reads 1.2, so only its line index is kept.
        data = load_yaml12(text)
    except yaml.YAMLError as error:
        raise ComposeError(path, None, (), f"YAML error: {error}") from None
    except (ValueError, OverflowError) as error:
        # A scalar the resolvers match but cannot build, e.g. an int of 5,000 digits.
        raise ComposeError(path, None, (), f"unreadable value: {error}") from None
    return LocatedDocument({} if data is None else data, document.lines)


def _interpolated(node: Node) -> Node:
    value = _without_extensions(node.value) if node.location in _DEFINITION_MAPS else node.value
    try:
        return Node(node.source, node.location, interpolate(value, node.source.environ, node.location))
    except InterpolationError as error:
        raise node.source.error(error.location, str(error)) from None


def _without_extensions(definitions: object) -> object:
    """Definitions without their `x-*` keys: ignored, so not interpolated either (an unset variable there
    is no error)."""
    if not isinstance(definitions, dict):
        return definitions
    return {
        name: {key: value for key, value in body.items() if not str(key).startswith("x-")}
        if isinstance(body, dict)
        else body
        for name, body in definitions.items()
    }


def _project_name(node: Node | None, source: Source) -> str:
    if node is not None:
        name = node.text()
        if not is_compose_name(name):
            raise node.error(f"project name {name!r} is invalid: {NAME_RULE}")
        return name
    if not is_compose_name(source.path.stem):
        raise source.error(
            (), f"the file name {source.path.stem!r} is not a valid project name ({NAME_RULE}); set `name:`"
        )
    return source.path.stem


def _declared(
    node: Node | None, refused: Mapping[str, str], driver: str, reserved: Mapping[str, str]
) -> tuple[str, ...]:
    """Names of the top-level `volumes:` or `networks:`; each maps to null, {} or {driver, labels}."""
    if node is None or node.is_null:
        return ()
    names = []
    for name, definition in node.mapping().items():
        if not _RESOURCE_NAME.fullmatch(name):
            raise definition.error(f"name {name!r} is invalid: use letters, digits, '_', '.' and '-'")
        if name in reserved:
            raise definition.error(reserved[name])
        if not definition.is_null:
            fields = definition.fields(DECLARATION_KEYS, refused, extensions=True)
            if "driver" in fields and fields["driver"].text() != driver:
                raise fields["driver"].error(
                    f"driver {fields['driver'].value!r} is not supported; use {driver}"
                )
            if "labels" in fields:
                parse_labels(fields["labels"])
        names.append(name)
    return tuple(names)


def _services(
    node: Node, project: str, volumes: tuple[str, ...], networks: tuple[str, ...]
) -> dict[str, ServiceSpec]:
    entries = node.mapping()
    if not entries:
        raise node.error("must define at least one service")
    declared = Declarations(project, tuple(entries), volumes, networks)
    parsed = {name: parse_service(entry, name, declared) for name, entry in entries.items()}
    services = {name: service.spec for name, service in parsed.items()}
    check_dependencies(services, {name: service.dependency_nodes for name, service in parsed.items()})
    return services


def _stagetui_extension(
    node: Node, services: Mapping[str, ServiceSpec], volumes: tuple[str, ...]
) -> StagetuiExtension:
    fields = node.fields(STAGETUI_KEYS)
    endpoint = _endpoint(node.required(fields, "endpoint"), services)

    def optional(key: str, declared: Collection[str], kind: str) -> str | None:
        return _reference(fields[key], declared, kind) if key in fields else None

    return StagetuiExtension(
        endpoint=endpoint,
        data_volume=optional("data_volume", volumes, "volume"),
        config_volume=optional("config_volume", volumes, "volume"),
        config_service=optional("config_service", services, "service"),
    )


def _endpoint(node: Node, services: Mapping[str, ServiceSpec]) -> EndpointSpec:
    fields = node.fields(ENDPOINT_KEYS)
    service = _reference(node.required(fields, "service"), services, "service")
    port_node = node.required(fields, "port")
    port = port_node.integer(1, 65535)
    published = [mapping.container_port for mapping in services[service].ports]
    if port not in published:
        ports = ", ".join(str(number) for number in published)
        listing = f"it publishes {ports}" if published else f"add it under services.{service}.ports"
        raise port_node.error(f"port {port} is not a published container port of {service!r}; {listing}")
    health_path = fields["health_path"].text() if "health_path" in fields else EndpointSpec.health_path
    if not health_path.startswith("/"):
        raise fields["health_path"].error(f"must start with '/' (got {health_path!r})")
    return EndpointSpec(service, port, health_path)


def _reference(node: Node, declared: Collection[str], kind: str) -> str:
    """A name that must be one the file declares, with the nearest one suggested."""
    name = node.text()
    if name not in declared:
        close = difflib.get_close_matches(name, list(declared), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"declared: {', '.join(declared) or 'none'}"
        raise node.error(f"unknown {kind} {name!r}; {hint}")
    return name
