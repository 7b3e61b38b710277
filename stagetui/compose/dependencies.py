"""The `depends_on` graph: conditions that can be met, no cycles, and the order services start in."""

from __future__ import annotations

from collections.abc import Mapping

from stagetui.compose.model import ServiceSpec
from stagetui.compose.values import Node


def check_dependencies(services: Mapping[str, ServiceSpec], nodes: Mapping[str, Mapping[str, Node]]) -> None:
    """Raise at the offending `depends_on` entry; `nodes[service][dependency]` is where it is written."""
    for service in services.values():
        for dependency in service.depends_on:
            if dependency.condition == "service_healthy" and services[dependency.service].healthcheck is None:
                raise nodes[service.name][dependency.service].error(
                    f"condition service_healthy needs a healthcheck on {dependency.service!r}, which has none"
                )
    cycle = find_cycle(services)
    if cycle:
        raise nodes[cycle[0]][cycle[1]].error(f"dependency cycle: {' -> '.join(cycle)}")


def find_cycle(services: Mapping[str, ServiceSpec]) -> list[str] | None:
    """A cycle as [a, b, ..., a], searched in file order, or None."""
    finished: set[str] = set()
    path: list[str] = []

    def visit(name: str) -> list[str] | None:
        path.append(name)
        for dependency in services[name].depends_on:
            if dependency.service in path:
                return [*path[path.index(dependency.service) :], dependency.service]
            if dependency.service not in finished:
                cycle = visit(dependency.service)
                if cycle:
                    return cycle
        path.pop()
        finished.add(name)
        return None

    for name in services:
        if name not in finished:
            cycle = visit(name)
            if cycle:
                return cycle
    return None


def start_levels(services: Mapping[str, ServiceSpec]) -> tuple[tuple[str, ...], ...]:
    """Services by dependency depth, in file order within a level; the graph must be acyclic."""
    depth: dict[str, int] = {}

    def depth_of(name: str) -> int:
        if name not in depth:
            depth[name] = 1 + max((depth_of(d.service) for d in services[name].depends_on), default=-1)
        return depth[name]

    for name in services:
        depth_of(name)
    levels = max(depth.values(), default=-1) + 1
    return tuple(tuple(name for name in services if depth[name] == level) for level in range(levels))
