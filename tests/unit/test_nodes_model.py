"""The nodes screen's data from fixed cluster answers: cells and tones, order, summary, the selection, and
a cluster that does not answer (calm when nothing runs there, a warning when something does)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from stagetui.domain.nodes import NodeCapacity
from stagetui.service.cluster import ClusterNodes
from stagetui.ui.nodes_model import NODE_COLUMN_KEYS, PLACED_MARK, nodes_view
from stagetui.ui.view_models import Cell, Tone

NOW = datetime(2025, 3, 14, 12, 0, 5, tzinfo=UTC)
GIB = 2**30


def node(
    hostname: str,
    role: str = "worker",
    availability: str = "active",
    state: str = "ready",
    cpus: float = 4,
    memory_bytes: int = 8 * GIB,
    **fields: Any,
) -> NodeCapacity:
    return NodeCapacity(
        f"id-{hostname}", hostname, role, availability, state, "10.0.0.1", cpus, memory_bytes, **fields
    )


CLUSTER = ClusterNodes(
    "swarm",
    [
        node("w-drained", availability="drain", cpus=8, memory_bytes=16 * GIB),
        node("w-busy", tasks=3, environments={"env-b": 1, "env-a": 2}, reserved_cpus=1.5,
             reserved_memory_bytes=GIB),
        node("m-leader", role="manager", leader=True, tasks=1, environments={"env-a": 1}, reserved_cpus=0.5,
             reserved_memory_bytes=GIB // 2),
        node("m-other", role="manager", state="down"),
        node("w-paused", availability="pause"),
    ],
)  # fmt: skip


def test_rows_leader_first_then_managers_then_workers_with_toned_cells() -> None:
    (section,) = nodes_view([CLUSTER], NOW).sections
    assert [row.cells["node"].text for row in section.rows] == [
        "m-leader",
        "m-other",
        "w-busy",
        "w-drained",
        "w-paused",
    ]
    assert all(tuple(row.cells) == NODE_COLUMN_KEYS for row in section.rows)
    cells = {row.cells["node"].text: row.cells for row in section.rows}
    assert cells["m-leader"]["role"].text == "manager (leader)"
    assert cells["w-busy"]["environments"].text == "env-a (2)\nenv-b (1)"  # one a line
    assert cells["w-busy"]["tasks"] == Cell("3", Tone.NORMAL)
    assert (cells["w-drained"]["environments"].text, cells["w-drained"]["environments"].tone) == (
        "-",
        Tone.MUTED,
    )
    assert cells["w-drained"]["tasks"].tone is Tone.MUTED
    assert cells["w-drained"]["memory"].text == "16.0 GiB"
    assert {name: c["availability"].tone for name, c in cells.items()} == {
        "m-leader": Tone.SUCCESS,
        "m-other": Tone.SUCCESS,
        "w-busy": Tone.SUCCESS,
        "w-drained": Tone.ERROR,
        "w-paused": Tone.WARNING,
    }
    assert cells["m-other"]["state"].tone is Tone.ERROR
    assert cells["m-leader"]["state"].tone is Tone.NORMAL
    assert section.title == "swarm · 5 nodes, 2 schedulable"
    assert section.problem is None
    assert len({row.key for row in section.rows}) == 5


def test_summary_counts_nodes_schedulable_placed_and_reserved_capacity() -> None:
    view = nodes_view([CLUSTER], NOW)
    assert view.summary.text == (
        "5 nodes · 2 schedulable · 2 environments placed · "
        "reserved 2 of 8 schedulable CPUs, 1.5 GiB of 16.0 GiB"
    )
    idle = ClusterNodes("swarm", [node("vm", role="manager", leader=True)])
    assert nodes_view([idle], NOW).summary.text.endswith("reserved 0 of 4 schedulable CPUs, 0 of 8.0 GiB")
    assert view.summary.tone is Tone.NORMAL
    assert view.selection is None
    assert view.read_at == "12:00:05 UTC"
    assert not any(row.runs_selected for row in view.sections[0].rows)


def test_the_selected_environment_marks_its_nodes() -> None:
    view = nodes_view([CLUSTER], NOW, selected="env-a")
    marked = {row.cells["node"].text for row in view.sections[0].rows if row.runs_selected}
    assert marked == {"m-leader", "w-busy"}
    row = next(row for row in view.sections[0].rows if row.runs_selected)
    assert (row.cells["mark"].text, row.cells["node"].tone) == (PLACED_MARK, Tone.ACCENT)
    assert view.selection is not None
    assert view.selection.text == f"{PLACED_MARK} env-a: 3 tasks on m-leader (1), w-busy (2)"

    elsewhere = nodes_view([CLUSTER], NOW, selected="env-local")
    assert elsewhere.selection is not None
    assert elsewhere.selection.tone is Tone.MUTED
    assert "no running task on a cluster node" in elsewhere.selection.text


def test_a_silent_cluster_is_calm_when_nothing_runs_on_it() -> None:
    error = "Swarm manager at unix:///var/run/docker.sock: the Docker engine does not answer (refused)"
    view = nodes_view([ClusterNodes("swarm", [], error)], NOW, environments_on={"local": 3})
    (section,) = view.sections
    assert section.rows == ()
    assert section.problem is not None
    assert section.problem.text == f"swarm: {error}"
    assert section.problem.tone is Tone.MUTED
    assert "nothing is missing" in section.hint and "runtimes.swarm.host" in section.hint
    assert (view.summary.text, view.summary.tone) == ("no cluster answered", Tone.MUTED)


def test_a_silent_cluster_with_environments_on_it_is_a_warning() -> None:
    silent = ClusterNodes("swarm-eu", [], "the Docker engine does not answer")
    view = nodes_view([CLUSTER, silent], NOW, environments_on={"swarm-eu": 2})
    listed, warned = view.sections
    assert listed.problem is None
    assert warned.problem is not None
    assert warned.problem.tone is Tone.WARNING
    assert warned.hint.startswith("2 environments on swarm-eu cannot be seen")
    assert view.summary.text.startswith("5 nodes · 2 schedulable")  # the cluster that answered counts


def test_no_cluster_runtime_no_schedulable_node_and_a_service_error() -> None:
    assert nodes_view([], NOW).summary.text == "no cluster runtime is configured"
    drained = ClusterNodes("swarm", [node("only", availability="drain")])
    summary = nodes_view([drained], NOW).summary
    assert (summary.text, summary.tone) == ("1 node · 0 schedulable · 0 environments placed", Tone.WARNING)
    failed = nodes_view([], NOW, error="unknown runtime 'x'").summary
    assert (failed.text, failed.tone) == ("the clusters could not be asked: unknown runtime 'x'", Tone.ERROR)
