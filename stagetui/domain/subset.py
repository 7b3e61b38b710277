"""Planning a referentially complete subset: which foreign keys to follow, in which order to copy tables.

Rows of the root table are sampled; every row that references a selected row is selected too (downward,
transitively); then every row referenced by a selected row is pulled in (upward, to a fixpoint), which is
what guarantees zero orphans. Tables not connected to the root at all are copied whole.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from stagetui.domain.integrity import ForeignKey


class CycleError(ValueError):
    """The foreign keys between distinct tables form a cycle, so no parent-first order exists."""


@dataclass(frozen=True)
class SubsetPlan:
    root: str
    # Edges parent -> child to follow from the root. A table's incoming edges all come before its outgoing
    # ones, so a table's selection is complete before its children are derived from it.
    downward: tuple[ForeignKey, ...]
    # Every foreign key, children first, to close the selection over required parents.
    upward: tuple[ForeignKey, ...]
    copy_order: tuple[str, ...]  # every table, parents before children
    selected: tuple[str, ...]  # the root and the tables reached downward from it
    parents: tuple[str, ...]  # other tables that only contribute the rows selected tables reference
    passthrough: tuple[str, ...]  # tables with no path to or from the selection: copied whole

    def is_subsetted(self, table: str) -> bool:
        return table in self.selected or table in self.parents


def plan_subset(foreign_keys: Sequence[ForeignKey], root: str, tables: Sequence[str]) -> SubsetPlan:
    names = list(dict.fromkeys(tables))
    if root not in names:
        raise ValueError(f"root table {root!r} is not one of the tables")
    known = set(names)
    for fk in foreign_keys:
        if fk.table not in known or fk.parent_table not in known:
            raise ValueError(f"foreign key {fk} refers to a table that is not in the list")

    fks = sorted(set(foreign_keys), key=lambda f: (f.table, f.column, f.parent_table, f.parent_column))
    # Self-references (customers.referred_by) say nothing about table order; the upward closure handles them.
    between = [fk for fk in fks if fk.table != fk.parent_table]
    copy_order = _topological(names, [(fk.parent_table, fk.table) for fk in between])
    rank = {table: i for i, table in enumerate(copy_order)}

    selected = _reach({root}, between, downward=True)
    parents = _reach(selected, between, downward=False) - selected
    downward = sorted(
        (fk for fk in between if fk.parent_table in selected),
        key=lambda f: (rank[f.parent_table], rank[f.table], f.column),
    )
    upward = sorted(fks, key=lambda f: (-rank[f.table], rank[f.parent_table], f.column))
    return SubsetPlan(
        root=root,
        downward=tuple(downward),
        upward=tuple(upward),
        copy_order=tuple(copy_order),
        selected=tuple(t for t in copy_order if t in selected),
        parents=tuple(t for t in copy_order if t in parents),
        passthrough=tuple(t for t in copy_order if t not in selected and t not in parents),
    )


def parent_first(foreign_keys: Sequence[ForeignKey], tables: Sequence[str]) -> list[str]:
    """Every table, parents before children (self-references ignored): the order to insert rows in."""
    edges = [(fk.parent_table, fk.table) for fk in foreign_keys if fk.table != fk.parent_table]
    return _topological(list(dict.fromkeys(tables)), edges)


def _reach(starts: set[str], edges: Iterable[ForeignKey], *, downward: bool) -> set[str]:
    """Tables reachable from ``starts`` (included) following children (downward) or parents (upward)."""
    step: dict[str, list[str]] = {}
    for fk in edges:
        src, dst = (fk.parent_table, fk.table) if downward else (fk.table, fk.parent_table)
        step.setdefault(src, []).append(dst)
    seen = set(starts)
    queue = deque(sorted(starts))
    while queue:
        for nxt in step.get(queue.popleft(), []):
            if nxt not in seen:
                seen.add(nxt)
                queue.append(nxt)
    return seen


def _topological(names: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[str]:
    """Kahn's algorithm; ties broken by the caller's table order so the result is stable."""
    position = {name: i for i, name in enumerate(names)}
    children: dict[str, list[str]] = {name: [] for name in names}
    indegree = dict.fromkeys(names, 0)
    for parent, child in set(edges):
        children[parent].append(child)
        indegree[child] += 1
    ready = [(position[n], n) for n in names if indegree[n] == 0]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(name)
        for child in children[name]:
            indegree[child] -= 1
            if indegree[child] == 0:
                heapq.heappush(ready, (position[child], child))
    if len(order) < len(names):
        raise CycleError(f"foreign keys form a cycle: {_describe_cycle(set(names) - set(order), edges)}")
    return order


def _describe_cycle(stuck: set[str], edges: Sequence[tuple[str, str]]) -> str:
    # Every stuck table has a stuck parent, so walking parents must revisit a table: that loop is a cycle.
    parent_of = {child: parent for parent, child in sorted(edges) if child in stuck and parent in stuck}
    path = [min(stuck)]
    while path[-1] not in path[:-1]:
        path.append(parent_of[path[-1]])
    loop = path[path.index(path[-1]) :]
    return " -> ".join(reversed(loop))


@dataclass(frozen=True)
class TableSubset:
    table: str
    source_rows: int
    rows: int


@dataclass(frozen=True)
class SubsetReport:
    root_table: str
    fraction: float
    seed: int
    sampled: int  # root rows picked by sampling (more root rows may be pulled in as parents)
    tables: tuple[TableSubset, ...]
    where: str | None = None  # the filter on the root table the sample was drawn from

    @property
    def total_rows(self) -> int:
        return sum(t.rows for t in self.tables)

    @property
    def source_total_rows(self) -> int:
        return sum(t.source_rows for t in self.tables)

    def rows(self, table: str) -> int:
        return next(t.rows for t in self.tables if t.table == table)

    def summary(self) -> str:
        scope = f" where {self.where}" if self.where else ""
        return (
            f"subset of {self.root_table}{scope} at {self.fraction:.0%} (seed {self.seed}): "
            f"{self.total_rows:,} of {self.source_total_rows:,} rows in {len(self.tables)} tables"
        )
