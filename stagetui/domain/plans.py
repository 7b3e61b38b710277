"""Plans: a small DAG of named steps that a strategy builds and the orchestrator runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

ContextT = TypeVar("ContextT")


@dataclass(frozen=True)
class StepResult:
    """What a step reports back: a short human detail, and whether it had nothing to do."""

    detail: str = ""
    skipped: bool = False


StepFn = Callable[[ContextT], Awaitable[StepResult | None]]


@dataclass(frozen=True)
class Step(Generic[ContextT]):
    name: str
    run: StepFn[ContextT]
    depends_on: tuple[str, ...] = ()
    description: str = ""


class PlanError(ValueError):
    """A plan whose steps do not form a DAG."""


@dataclass(frozen=True)
class Plan(Generic[ContextT]):
    """Steps in a dependency graph. Validated on creation: unique names, known dependencies, no cycle."""

    steps: tuple[Step[ContextT], ...]

    def __post_init__(self) -> None:
        names = [step.name for step in self.steps]
        if len(set(names)) != len(names):
            raise PlanError(f"duplicate step names in plan: {names}")
        for step in self.steps:
            for dependency in step.depends_on:
                if dependency not in names:
                    raise PlanError(f"step {step.name!r} depends on unknown step {dependency!r}")
        self.levels()  # raises on a cycle

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    def __iter__(self) -> Iterator[Step[ContextT]]:
        return iter(self.steps)

    def step(self, name: str) -> Step[ContextT]:
        for step in self.steps:
            if step.name == name:
                return step
        raise KeyError(name)

    def levels(self) -> list[list[Step[ContextT]]]:
        """Steps grouped so each group depends only on earlier groups (Kahn's algorithm)."""
        done: set[str] = set()
        remaining = list(self.steps)
        levels: list[list[Step[ContextT]]] = []
        while remaining:
            level = [s for s in remaining if all(d in done for d in s.depends_on)]
            if not level:
                raise PlanError(f"steps form a cycle: {[s.name for s in remaining]}")
            levels.append(level)
            done.update(s.name for s in level)
            remaining = [s for s in remaining if s.name not in done]
        return levels
