"""Benchmarks: defined in the config or added later (kept in the store), evaluated on recorded metrics,
and baselines assessed over a window."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime

from stagetui.domain.baselines import BaselineAssessment, assess_baseline
from stagetui.domain.benchmarks import Benchmark, BenchmarkStatus, evaluate
from stagetui.service.core import ServiceCore
from stagetui.service.cycle_records import benchmark_from_record, benchmark_to_record
from stagetui.service.errors import BadInputError, ConflictError, NotFoundError

COLLECTION = "benchmarks"
BASELINES = "baselines"


@dataclass(frozen=True)
class DefinedBenchmark:
    benchmark: Benchmark
    source: str
    """"config" (read-only here: edit the file) or "store" (added from the UI or CLI)."""


def defined(core: ServiceCore) -> list[DefinedBenchmark]:
    """Config benchmarks first, then stored ones; a recorded baseline overrides the configured one."""
    baselines = {r["name"]: r for r in core.store.collection(BASELINES, key="name").all()}
    found = [DefinedBenchmark(c.to_benchmark(), "config") for c in core.config.benchmarks]
    found += [
        DefinedBenchmark(benchmark_from_record(r), "store")
        for r in core.store.collection(COLLECTION, key="name").all()
    ]
    result = []
    for item in found:
        saved = baselines.get(item.benchmark.name)
        benchmark = dataclasses.replace(item.benchmark, baseline=saved["value"]) if saved else item.benchmark
        result.append(DefinedBenchmark(benchmark, item.source))
    return result


def get(core: ServiceCore, name: str) -> DefinedBenchmark:
    for item in defined(core):
        if item.benchmark.name == name:
            return item
    names = ", ".join(i.benchmark.name for i in defined(core)) or "none defined"
    raise NotFoundError(f"no benchmark named {name!r} (known: {names})")


def statuses(core: ServiceCore, now: datetime | None = None) -> list[BenchmarkStatus]:
    now = now or core.clock()
    window = core.config.cycle.current_window
    samples = core.store.metrics(since=now - window)
    return [evaluate(item.benchmark, samples, now, window) for item in defined(core)]


def assess(core: ServiceCore, name: str, now: datetime | None = None) -> BaselineAssessment:
    now = now or core.clock()
    cycle = core.config.cycle
    benchmark = get(core, name).benchmark
    return assess_baseline(
        benchmark,
        core.store.metrics(since=now - cycle.baseline_window),
        window_end=now,
        window=cycle.baseline_window,
        min_samples=cycle.min_samples,
        peak_hours=cycle.peak_hours,
        utc_offset_hours=cycle.utc_offset_hours,
    )


def save_baseline(core: ServiceCore, name: str, assessment: BaselineAssessment) -> None:
    if assessment.value is None:
        raise BadInputError(f"no samples for {name!r} in the baseline window: nothing to record")
    record = {
        "name": name,
        "value": assessment.value,
        "n": assessment.n,
        "window_start": assessment.window_start.isoformat(),
        "window_end": assessment.window_end.isoformat(),
        "warnings": list(assessment.warnings),
    }
    core.store.collection(BASELINES, key="name").put(record)
    core.audit("baseline", name, f"{assessment.value:.4g} from {assessment.n} samples")


def add(core: ServiceCore, benchmark: Benchmark) -> None:
    if any(item.benchmark.name == benchmark.name for item in defined(core) if item.source == "config"):
        raise ConflictError(f"{benchmark.name!r} is defined in the config; edit it there")
    core.store.collection(COLLECTION, key="name").put(benchmark_to_record(benchmark))
    core.audit("benchmark", benchmark.name, "defined")


def remove(core: ServiceCore, name: str) -> None:
    item = get(core, name)
    if item.source == "config":
        raise ConflictError(f"{name!r} is defined in the config; remove it there")
    core.store.collection(COLLECTION, key="name").delete(name)
    core.audit("benchmark", name, "removed")
