"""Benchmarks and experiments to and from the plain dicts the store keeps."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from stagetui.domain.benchmarks import Aggregation, Benchmark, Direction, Scope
from stagetui.domain.experiments import Experiment, ExperimentStatus
from stagetui.domain.models import Strategy


def scope_to_record(scope: Scope) -> dict[str, Any]:
    return {
        "strategy": scope.strategy.value if scope.strategy else None,
        "runtime": scope.runtime,
        "branch": scope.branch,
    }


def scope_from_record(record: dict[str, Any]) -> Scope:
    strategy = record.get("strategy")
    return Scope(Strategy(strategy) if strategy else None, record.get("runtime"), record.get("branch"))


def benchmark_to_record(benchmark: Benchmark) -> dict[str, Any]:
    return {
        "name": benchmark.name,
        "metric": benchmark.metric,
        "aggregation": benchmark.aggregation.value,
        "target": benchmark.target,
        "direction": benchmark.direction.value,
        "scope": scope_to_record(benchmark.scope),
        "step": benchmark.step,
        "limit": benchmark.limit,
        "baseline": benchmark.baseline,
        "description": benchmark.description,
    }


def benchmark_from_record(record: dict[str, Any]) -> Benchmark:
    return Benchmark(
        name=record["name"],
        metric=record["metric"],
        aggregation=Aggregation(record["aggregation"]),
        target=float(record["target"]),
        direction=Direction(record["direction"]),
        scope=scope_from_record(record.get("scope") or {}),
        step=record.get("step"),
        limit=record.get("limit"),
        baseline=record.get("baseline"),
        description=record.get("description", ""),
    )


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def experiment_to_record(experiment: Experiment) -> dict[str, Any]:
    return {
        "id": experiment.id,
        "name": experiment.name,
        "hypothesis": experiment.hypothesis,
        "change": experiment.change,
        "metric": experiment.metric,
        "scope": scope_to_record(experiment.scope),
        "expected_change": experiment.expected_change,
        "started_at": _time(experiment.started_at),
        "ended_at": _time(experiment.ended_at),
        "status": experiment.status.value,
        "step": experiment.step,
        "aggregation": experiment.aggregation.value,
        "lower_is_better": experiment.lower_is_better,
        "baseline_window_seconds": experiment.baseline_window.total_seconds(),
    }


def experiment_from_record(record: dict[str, Any]) -> Experiment:
    return Experiment(
        id=record["id"],
        name=record["name"],
        hypothesis=record["hypothesis"],
        change=record["change"],
        metric=record["metric"],
        scope=scope_from_record(record.get("scope") or {}),
        expected_change=float(record["expected_change"]),
        started_at=_parse(record.get("started_at")),
        ended_at=_parse(record.get("ended_at")),
        status=ExperimentStatus(record["status"]),
        step=record.get("step"),
        aggregation=Aggregation(record.get("aggregation", "median")),
        lower_is_better=bool(record.get("lower_is_better", True)),
        baseline_window=timedelta(seconds=float(record.get("baseline_window_seconds", 14 * 86400))),
    )
