"""Every key binding of the terminal UI, by id: the single table the UI builds its bindings from and the
config validates `ui.keymap` against (so a typo in a binding id is an error with a line, not ignored)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BindingSpec:
    id: str
    key: str
    action: str
    description: str
    tooltip: str
    show: bool = True
    scope: str = "dashboard"
    """Where the binding lives: the dashboard screen, or the whole app."""


BINDINGS: tuple[BindingSpec, ...] = (
    BindingSpec("launch", "n", "launch", "Launch", "Launch an environment for a branch"),
    BindingSpec("teardown", "ctrl+d", "teardown", "Tear down", "Tear the selected environment down"),
    BindingSpec("detail", "enter", "detail", "Detail", "Steps, timings, logs and history of the selection"),
    BindingSpec("filter", "slash", "filter", "Filter", "Show only environments matching text"),
    BindingSpec("sort", "s", "sort", "Sort", "Sort by the next column"),
    BindingSpec("sort-reverse", "S", "sort_reverse", "Reverse", "Reverse the sort order", show=False),
    BindingSpec(
        "refresh-snapshot", "R", "refresh_snapshot", "Snapshot", "Rebuild the golden snapshot", show=False
    ),
    BindingSpec("reload", "ctrl+r", "reload", "Reload", "Reconcile with the runtimes now", show=False),
    BindingSpec(
        "collect-garbage",
        "G",
        "collect_garbage",
        "GC",
        "Remove expired and leftover environments",
        show=False,
    ),
    BindingSpec(
        "approve", "a", "approve", "Approve", "Approve the difference selected in the drift tree", show=False
    ),
    BindingSpec("compare", "c", "compare", "Compare", "Strategies side by side, with plots", show=False),
    BindingSpec(
        "benchmarks", "b", "benchmarks", "Benchmarks", "Benchmarks, baselines and targets", show=False
    ),
    BindingSpec(
        "experiments", "e", "experiments", "Experiments", "Start, stop and read experiments", show=False
    ),
    BindingSpec(
        "notes", "N", "notes", "Notes", "Retrospective notes (markdown, saved as you type)", show=False
    ),
    BindingSpec(
        "nodes",
        "C",
        "nodes",
        "Nodes",
        "Cluster nodes: availability, capacity and the environments placed on each",
        show=False,
    ),
    BindingSpec("help", "question_mark", "help", "Help", "Every key binding", scope="app"),
    BindingSpec(
        "next-theme", "ctrl+t", "next_theme", "Theme", "Switch to the next theme", show=False, scope="app"
    ),
    BindingSpec("quit", "q", "quit", "Quit", "Quit (provisioning in flight is rolled back)", scope="app"),
)

BINDING_IDS: frozenset[str] = frozenset(spec.id for spec in BINDINGS)
