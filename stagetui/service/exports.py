"""Exports: Prometheus text exposition (for Grafana), JSON/CSV of measurements, and a Markdown report."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from datetime import datetime
from typing import Any

from stagetui.domain import prometheus as prom
from stagetui.domain.benchmarks import Aggregation
from stagetui.domain.cost import cost_so_far
from stagetui.domain.durations import format_duration
from stagetui.domain.freshness import assess_freshness
from stagetui.domain.report import (
    BenchmarkLine,
    ExperimentLine,
    ReportData,
    RetroNote,
    StrategyRow,
    render_report,
)
from stagetui.domain.statistics import percentile
from stagetui.service import benchmarks, budget, compare, experiments, notes
from stagetui.service.core import ServiceCore
from stagetui.service.queries import reconcile


def _family(
    name: str, kind: prom.MetricKind, help_text: str, samples: list[prom.Sample]
) -> prom.MetricFamily:
    return prom.MetricFamily(name, kind, help_text, tuple(samples))


def prometheus_text(core: ServiceCore, now: datetime | None = None) -> str:
    """Everything a dashboard needs, as gauges (and one summary) labelled by environment and strategy."""
    now = now or core.clock()
    views = reconcile(core, now)
    model = core.cost_model
    counts: dict[tuple[str, str, str], int] = defaultdict(int)
    ages, drift, costs = [], [], []
    for view in views:
        env = view.environment
        counts[(view.status.value, env.strategy.value, env.runtime)] += 1
        labels = {"environment": env.id, "strategy": env.strategy.value, "runtime": env.runtime}
        freshness = assess_freshness(env.data_as_of, env.max_data_age, now)
        if freshness.age is not None:
            ages.append(prom.Sample("", labels, freshness.age.total_seconds()))
        if env.drift is not None:
            drift.append(prom.Sample("", labels, float(env.drift.count)))
        costs.append(prom.Sample("", {**labels, "currency": model.currency}, cost_so_far(env, now, model)))
    window = core.config.cycle.current_window
    totals: dict[str, list[float]] = defaultdict(list)
    for sample in core.store.metrics(since=now - window, metric="provision.total_seconds"):
        if sample.experiment is None:
            totals[sample.strategy.value].append(sample.value)
    summary = []
    for strategy, values in sorted(totals.items()):
        for quantile in (0.5, 0.9):
            summary.append(
                prom.Sample(
                    "", {"strategy": strategy, "quantile": str(quantile)}, percentile(values, quantile * 100)
                )
            )
        summary.append(prom.Sample("_sum", {"strategy": strategy}, sum(values)))
        summary.append(prom.Sample("_count", {"strategy": strategy}, float(len(values))))
    bench_value, bench_target, bench_met = [], [], []
    for status in benchmarks.statuses(core, now):
        labels = {"benchmark": status.benchmark.name}
        bench_target.append(prom.Sample("", labels, status.benchmark.target))
        if status.value is not None:
            bench_value.append(prom.Sample("", labels, status.value))
            bench_met.append(prom.Sample("", labels, 1.0 if status.met else 0.0))
    spend = [prom.Sample("", {"period": b.period}, b.spent) for b in budget.budgets(core, now)]
    limits = [prom.Sample("", {"period": b.period}, b.limit) for b in budget.budgets(core, now)]
    families = [
        _family(
            "stagetui_environments",
            "gauge",
            "Live environments by status, strategy and runtime.",
            [
                prom.Sample("", {"status": s, "strategy": st, "runtime": r}, float(n))
                for (s, st, r), n in sorted(counts.items())
            ],
        ),
        _family("stagetui_environment_data_age_seconds", "gauge", "Age of each environment's data.", ages),
        _family(
            "stagetui_environment_drift_unapproved",
            "gauge",
            "Unapproved configuration differences from production.",
            drift,
        ),
        _family(
            "stagetui_environment_cost_so_far", "gauge", "Estimated cost of each environment so far.", costs
        ),
        _family(
            "stagetui_provision_seconds",
            "summary",
            f"Provisioning time over the last {format_duration(window)}, experiments excluded.",
            summary,
        ),
        _family("stagetui_benchmark_value", "gauge", "Current value of each benchmark.", bench_value),
        _family("stagetui_benchmark_target", "gauge", "Target of each benchmark.", bench_target),
        _family(
            "stagetui_benchmark_met",
            "gauge",
            "1 when a benchmark meets its target, 0 when it misses.",
            bench_met,
        ),
        _family("stagetui_budget_spend", "gauge", "Spend in the current budget period.", spend),
        _family("stagetui_budget_limit", "gauge", "Budget limit of the period.", limits),
    ]
    return prom.render(families)


METRIC_FIELDS = (
    "at",
    "metric",
    "value",
    "step",
    "strategy",
    "runtime",
    "branch",
    "environment_id",
    "experiment",
)


def metric_rows(core: ServiceCore, since: datetime | None) -> list[dict[str, Any]]:
    return [
        {
            "at": s.at.isoformat(),
            "metric": s.metric,
            "value": s.value,
            "step": s.step,
            "strategy": s.strategy.value,
            "runtime": s.runtime,
            "branch": s.branch,
            "environment_id": s.environment_id,
            "experiment": s.experiment,
        }
        for s in sorted(core.store.metrics(since=since), key=lambda s: s.at)
    ]


def export_metrics(core: ServiceCore, fmt: str, since: datetime | None = None) -> str:
    rows = metric_rows(core, since)
    if fmt == "json":
        return json.dumps(rows, indent=2) + "\n"
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=METRIC_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


UNITS = {
    "provision.total_seconds": "s",
    "provision.step_seconds": "s",
    "data.age_seconds": "s",
    "cost.per_day": "per day",
}


def report_markdown(core: ServiceCore, title: str = "Staging environments: where we stand") -> str:
    now = core.clock()
    strategies = [
        StrategyRow(
            row.strategy.value,
            row.provision_p50,
            row.provision_p90,
            row.data_age_median,
            row.drift_median,
            row.cost_per_day_median,
            row.pass_rate,
            row.environments,
            row.best_for,
        )
        for row in compare.compare(core, now)
    ]
    bench_lines = []
    for status in benchmarks.statuses(core, now):
        state = "no data" if status.met is None else "met" if status.met else "missed"
        bench = status.benchmark
        share = bench.aggregation is Aggregation.SHARE_UNDER or bench.metric == "tests.pass_rate"
        scale, unit = (100.0, "%") if share else (1.0, UNITS.get(bench.metric, ""))

        def scaled(value: float | None, factor: float = scale) -> float | None:
            return None if value is None else value * factor

        bench_lines.append(
            BenchmarkLine(
                bench.name, scaled(status.value), scaled(bench.baseline), scaled(bench.target), state, unit
            )
        )
    experiment_lines = []
    for experiment in experiments.all_experiments(core):
        result = experiments.result(core, experiment.id)
        experiment_lines.append(
            ExperimentLine(experiment.name, experiment.hypothesis, experiment.status.value, result.summary)
        )
    retro = [RetroNote(n.title, n.linked_to, n.created_at, n.body) for n in notes.list_notes(core)]
    currency = core.config.cost.currency
    budget_lines = [
        f"{b.period}: {b.spent:.2f} of {b.limit:.2f} {currency} ({b.state.value})"
        for b in budget.budgets(core, now)
    ]
    data = ReportData(title, now, currency, strategies, bench_lines, experiment_lines, retro, budget_lines)
    return render_report(data)
