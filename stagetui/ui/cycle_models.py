"""Pure data for the improvement-cycle screens: plot series, reference lines, table cells."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from stagetui.domain.benchmarks import Aggregation, Benchmark, BenchmarkStatus
from stagetui.domain.metric_format import format_metric
from stagetui.domain.models import MetricSample, Strategy
from stagetui.ui.view_models import Cell, Tone


@dataclass(frozen=True)
class Series:
    label: str
    xs: tuple[datetime, ...]
    ys: tuple[float, ...]


@dataclass(frozen=True)
class ReferenceLine:
    label: str
    value: float


def series_by_strategy(
    samples: Iterable[MetricSample], metric: str, start: datetime, *, scale: float = 1.0
) -> list[Series]:
    """One series per strategy, in strategy order, experiment samples left out."""
    points: dict[Strategy, list[tuple[datetime, float]]] = defaultdict(list)
    for sample in samples:
        if sample.metric == metric and sample.experiment is None and sample.at >= start:
            points[sample.strategy].append((sample.at, sample.value * scale))
    found = []
    for strategy in Strategy:
        ordered = sorted(points.get(strategy, []))
        if ordered:
            found.append(Series(strategy.value, tuple(x for x, _ in ordered), tuple(y for _, y in ordered)))
    return found


def reference_lines(benchmarks: Sequence[Benchmark], metric: str) -> list[ReferenceLine]:
    """Target and baseline lines of the benchmarks on `metric` that are in the metric's own unit."""
    lines = []
    for bench in benchmarks:
        if bench.metric != metric or bench.scope.strategy is not None:
            continue
        if bench.aggregation is Aggregation.SHARE_UNDER and bench.limit is not None:
            lines.append(ReferenceLine(f"{bench.name}: limit", bench.limit))
            continue
        lines.append(ReferenceLine(f"{bench.name}: target", bench.target))
        if bench.baseline is not None:
            lines.append(ReferenceLine(f"{bench.name}: baseline", bench.baseline))
    return lines


def benchmark_cells(status: BenchmarkStatus, source: str) -> dict[str, Cell]:
    bench = status.benchmark
    if status.met is None:
        state = Cell("no data", Tone.MUTED)
    else:
        state = Cell("met", Tone.SUCCESS) if status.met else Cell("missed", Tone.ERROR)
    return {
        "name": Cell(bench.name),
        "current": Cell(format_metric(bench.metric, status.value, bench.aggregation)),
        "baseline": Cell(format_metric(bench.metric, bench.baseline, bench.aggregation), Tone.MUTED),
        "target": Cell(format_metric(bench.metric, bench.target, bench.aggregation)),
        "status": state,
        "samples": Cell(str(status.n)),
        "source": Cell(source, Tone.MUTED),
        "description": Cell(bench.description, Tone.MUTED),
    }
