"""The nodes screen's data: each cluster runtime's nodes as toned cells, a calm line for a cluster that does
not answer, and a summary of capacity and placement. A pure function of what `cluster_nodes` returned, the
clock and the dashboard's selection: no Textual, so it is tested (and snapshot-tested) with fixed data."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from stagetui.domain.metric_format import format_bytes
from stagetui.domain.nodes import NodeCapacity
from stagetui.service.cluster import ClusterNodes
from stagetui.ui.view_models import Cell, Column, Tone

# Most telling first: on an 80-column terminal the last columns scroll. The environments come last, one a
# line (a row is as tall as its node has environments), so the table stays as narrow as its longest id.
NODE_COLUMNS: tuple[Column, ...] = (
    Column("mark", "", 1),
    Column("node", "NODE"),
    Column("role", "ROLE"),
    Column("availability", "AVAILABILITY"),
    Column("state", "STATE"),
    Column("cpus", "CPUS"),
    Column("memory", "MEMORY"),
    Column("tasks", "TASKS"),
    Column("address", "ADDRESS"),
    Column("environments", "ENVIRONMENTS"),
)
NODE_COLUMN_KEYS = tuple(column.key for column in NODE_COLUMNS)

AVAILABILITY_TONES = {"active": Tone.SUCCESS, "pause": Tone.WARNING, "drain": Tone.ERROR}
"""As `stagetui nodes` colours them: takes tasks, keeps its tasks but takes no new ones, sends them away."""
PLACED_MARK = "●"
"""Marks the nodes running tasks of the environment selected on the dashboard."""


@dataclass(frozen=True)
class NodeRow:
    key: str
    """runtime/node id: unique across clusters, stable across reloads."""
    cells: dict[str, Cell]
    runs_selected: bool


@dataclass(frozen=True)
class ClusterSection:
    """One cluster runtime: its nodes, or why they could not be listed (and what to do about it)."""

    runtime: str
    title: str
    rows: tuple[NodeRow, ...] = ()
    problem: Cell | None = None
    hint: str = ""


@dataclass(frozen=True)
class NodesView:
    sections: tuple[ClusterSection, ...]
    summary: Cell
    selection: Cell | None
    """Where the dashboard's selected environment runs; None when nothing is selected."""
    read_at: str


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def node_cells(node: NodeCapacity, runs_selected: bool) -> dict[str, Cell]:
    environments = "\n".join(f"{env} ({tasks})" for env, tasks in sorted(node.environments.items()))
    cells = {
        "mark": Cell(PLACED_MARK, Tone.ACCENT) if runs_selected else Cell(""),
        "node": Cell(node.hostname or node.id[:12], Tone.ACCENT if runs_selected else Tone.NORMAL),
        "role": Cell(node.role + (" (leader)" if node.leader else "")),
        "availability": Cell(node.availability, AVAILABILITY_TONES.get(node.availability, Tone.WARNING)),
        "state": Cell(node.state, Tone.NORMAL if node.state == "ready" else Tone.ERROR),
        "address": Cell(node.address or "-", Tone.MUTED),
        "cpus": Cell(f"{node.cpus:g}"),
        "memory": Cell(format_bytes(node.memory_bytes)),
        "tasks": Cell(str(node.tasks), Tone.NORMAL if node.tasks else Tone.MUTED),
        "environments": Cell(environments, Tone.NORMAL) if environments else Cell("-", Tone.MUTED),
    }
    return {key: cells[key] for key in NODE_COLUMN_KEYS}


def _ordered(nodes: Sequence[NodeCapacity]) -> list[NodeCapacity]:
    """The leader first, then the other managers, then workers; by hostname within each."""
    return sorted(nodes, key=lambda n: (not n.leader, n.role != "manager", n.hostname or n.id))


def _row(runtime: str, node: NodeCapacity, selected: str | None) -> NodeRow:
    runs_selected = selected is not None and selected in node.environments
    return NodeRow(f"{runtime}/{node.id}", node_cells(node, runs_selected), runs_selected)


def _section(cluster: ClusterNodes, selected: str | None, expected: int) -> ClusterSection:
    if cluster.error is not None:
        if expected:
            # Environments are recorded on it: the dashboard cannot see them either. Worth a warning.
            hint = (
                f"{plural(expected, 'environment')} on {cluster.runtime} cannot be seen until it answers; "
                "asked again on every refresh (r now)"
            )
            return ClusterSection(
                cluster.runtime,
                cluster.runtime,
                problem=Cell(f"{cluster.runtime}: {cluster.error}", Tone.WARNING),
                hint=hint,
            )
        # No environment there: the normal case on a machine without a swarm. Explain, do not alarm.
        hint = (
            f"No environment runs on {cluster.runtime}, so nothing is missing. Its nodes show here once "
            f"runtimes.{cluster.runtime}.host reaches a manager."
        )
        return ClusterSection(
            cluster.runtime,
            cluster.runtime,
            problem=Cell(f"{cluster.runtime}: {cluster.error}", Tone.MUTED),
            hint=hint,
        )
    rows = tuple(_row(cluster.runtime, node, selected) for node in _ordered(cluster.nodes))
    schedulable = sum(1 for node in cluster.nodes if node.schedulable)
    title = f"{cluster.runtime} · {plural(len(cluster.nodes), 'node')}, {schedulable} schedulable"
    if not rows:
        return ClusterSection(
            cluster.runtime, title, problem=Cell(f"{cluster.runtime}: no nodes", Tone.MUTED)
        )
    return ClusterSection(cluster.runtime, title, rows)


def _summary(clusters: Sequence[ClusterNodes]) -> Cell:
    if not clusters:
        return Cell("no cluster runtime is configured", Tone.MUTED)
    nodes = [node for cluster in clusters for node in cluster.nodes]
    if not nodes:
        answered = "no cluster answered" if all(c.error for c in clusters) else "no nodes"
        return Cell(answered, Tone.MUTED)
    usable = [node for node in nodes if node.schedulable]
    placed = {env for node in nodes for env in node.environments}
    parts = [
        plural(len(nodes), "node"),
        f"{len(usable)} schedulable",
        f"{plural(len(placed), 'environment')} placed",
    ]
    if usable:
        cpus = f"{sum(n.reserved_cpus for n in usable):g} of {sum(n.cpus for n in usable):g} schedulable CPUs"
        reserved = sum(n.reserved_memory_bytes for n in usable)
        memory = format_bytes(sum(n.memory_bytes for n in usable))
        parts.append(f"reserved {cpus}, {format_bytes(reserved) if reserved else 0} of {memory}")
    return Cell(" · ".join(parts), Tone.NORMAL if usable else Tone.WARNING)


def _selection(clusters: Sequence[ClusterNodes], selected: str | None) -> Cell | None:
    if selected is None:
        return None
    placements = [
        (node.hostname or node.id[:12], node.environments[selected])
        for cluster in clusters
        for node in _ordered(cluster.nodes)
        if selected in node.environments
    ]
    if not placements:
        return Cell(f"{selected}: no running task on a cluster node", Tone.MUTED)
    tasks = sum(count for _, count in placements)
    where = ", ".join(f"{host} ({count})" for host, count in placements)
    return Cell(f"{PLACED_MARK} {selected}: {plural(tasks, 'task')} on {where}", Tone.ACCENT)


def nodes_view(
    clusters: Sequence[ClusterNodes],
    now: datetime,
    *,
    selected: str | None = None,
    environments_on: Mapping[str, int] | None = None,
    error: str = "",
) -> NodesView:
    """What the nodes screen shows.

    `selected`: the id of the environment selected on the dashboard (its nodes are marked).
    `environments_on`: environments the dashboard shows per runtime; a cluster that does not answer is a
    warning when some are recorded on it, and a calm explanation when none are.
    `error`: why the clusters could not be asked at all.
    """
    expected = environments_on or {}
    summary = Cell(f"the clusters could not be asked: {error}", Tone.ERROR) if error else _summary(clusters)
    return NodesView(
        tuple(_section(cluster, selected, expected.get(cluster.runtime, 0)) for cluster in clusters),
        summary,
        _selection(clusters, selected),
        f"{now.astimezone(UTC):%H:%M:%S} UTC",
    )
