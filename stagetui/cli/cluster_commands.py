"""nodes, scale, reconfigure: environments on a cluster (the swarm runtime)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any, Literal

from rich.markup import escape
from rich.table import Table

from stagetui.cli import exit_codes
from stagetui.cli.context import CliContext
from stagetui.domain.metric_format import format_bytes
from stagetui.domain.nodes import NodeCapacity
from stagetui.service.cluster import ClusterNodes, parse_replicas

AVAILABILITY_STYLES = {"active": "green", "pause": "yellow", "drain": "red"}


def node_to_json(node: NodeCapacity) -> dict[str, Any]:
    return {
        "id": node.id,
        "hostname": node.hostname,
        "role": node.role,
        "leader": node.leader,
        "availability": node.availability,
        "state": node.state,
        "address": node.address,
        "cpus": node.cpus,
        "memory_bytes": node.memory_bytes,
        "engine_version": node.engine_version,
        "tasks": node.tasks,
        "environments": node.environments,
        "reserved_cpus": node.reserved_cpus,
        "reserved_memory_bytes": node.reserved_memory_bytes,
    }


def nodes_table(cluster: ClusterNodes) -> Table:
    table = Table(title=f"{cluster.runtime} nodes", title_justify="left", box=None, padding=(0, 1))
    for column in ("node", "role", "availability", "state", "address", "cpus", "memory", "tasks"):
        justify: Literal["left", "right"] = "right" if column in {"cpus", "memory", "tasks"} else "left"
        table.add_column(column, justify=justify, no_wrap=True)
    for node in cluster.nodes:
        style = AVAILABILITY_STYLES.get(node.availability, "")
        table.add_row(
            escape(node.hostname or node.id[:12]),
            "leader" if node.leader else node.role,
            f"[{style}]{node.availability}[/]" if style else node.availability,
            node.state if node.state == "ready" else f"[red]{node.state}[/]",
            node.address,
            f"{node.cpus:g}",
            format_bytes(node.memory_bytes),
            str(node.tasks),
        )
    return table


def placements(cluster: ClusterNodes) -> Table:
    """Which environments run tasks on which node (a line per node; ids are long, so not a column)."""
    table = Table(title="placed", title_justify="left", box=None, padding=(0, 1), show_header=False)
    table.add_column("node", no_wrap=True, style="bold")
    table.add_column("environments")
    for node in cluster.nodes:
        placed = ", ".join(f"{env} ({count})" for env, count in node.environments.items())
        table.add_row(escape(node.hostname or node.id[:12]), escape(placed) or "[dim]no environment[/]")
    return table


def run_nodes(args: argparse.Namespace, ctx: CliContext) -> int:
    clusters = ctx.service.cluster_nodes(args.runtime)
    if ctx.json_output:
        ctx.emit_json(
            [
                {"runtime": c.runtime, "error": c.error, "nodes": [node_to_json(n) for n in c.nodes]}
                for c in clusters
            ]
        )
    else:
        for cluster in clusters:
            if cluster.error:
                ctx.show(f"[red]✗[/] {cluster.runtime}: {escape(cluster.error)}")
            else:
                ctx.show(nodes_table(cluster))
                ctx.show(placements(cluster))
    return exit_codes.FAILED if any(c.error for c in clusters) else exit_codes.OK


def run_scale(args: argparse.Namespace, ctx: CliContext) -> int:
    done = ctx.service.scale(args.environment, parse_replicas(args.replicas))
    if ctx.json_output:
        ctx.emit_json({"environment": args.environment, "scaled": done})
    else:
        for detail in done:
            ctx.show(f"[green]✓[/] {escape(detail)}")
    return exit_codes.OK


def run_reconfigure(args: argparse.Namespace, ctx: CliContext) -> int:
    detail = ctx.service.reconfigure(args.environment, args.set or [], args.unset or [])
    if ctx.json_output:
        ctx.emit_json({"environment": args.environment, "detail": detail})
    else:
        ctx.show(f"[green]✓[/] {escape(detail)}")
    return exit_codes.OK


Command = Callable[..., argparse.ArgumentParser]


def register(command: Command) -> None:
    nodes = command("nodes", run_nodes, "a cluster's nodes, their availability and the environments on each")
    nodes.add_argument("--runtime", "-r", help="one cluster runtime (default: every one, i.e. swarm)")
    scale = command("scale", run_scale, "run more or fewer replicas of an environment's services (swarm)")
    scale.add_argument("environment", metavar="ENV", help="environment id, branch name or unique id prefix")
    scale.add_argument("replicas", metavar="SERVICE=N", nargs="+", help="e.g. app=3 worker=0")
    reconfigure = command(
        "reconfigure",
        run_reconfigure,
        "change config variables of an environment and roll them out to its running services (swarm)",
    )
    reconfigure.add_argument(
        "environment", metavar="ENV", help="environment id, branch name or unique id prefix"
    )
    reconfigure.add_argument(
        "--set", action="append", metavar="KEY=VALUE", help="set a variable (repeatable)"
    )
    reconfigure.add_argument("--unset", action="append", metavar="KEY", help="remove a variable (repeatable)")
