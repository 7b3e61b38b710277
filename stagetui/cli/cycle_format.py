"""Formatting of the improvement cycle's numbers for people (units per metric) and for scripts (JSON)."""

from __future__ import annotations

from typing import Any

from stagetui.domain.benchmarks import BenchmarkStatus
from stagetui.domain.cost import BudgetStatus
from stagetui.domain.experiments import Experiment, ExperimentResult
from stagetui.service.compare import StrategyComparison
from stagetui.service.cycle_records import experiment_to_record, scope_to_record


def benchmark_status_json(status: BenchmarkStatus) -> dict[str, Any]:
    bench = status.benchmark
    return {
        "name": bench.name,
        "description": bench.description,
        "metric": bench.metric,
        "step": bench.step,
        "aggregation": bench.aggregation.value,
        "limit": bench.limit,
        "direction": bench.direction.value,
        "scope": scope_to_record(bench.scope),
        "value": status.value,
        "baseline": bench.baseline,
        "target": bench.target,
        "met": status.met,
        "vs_baseline": status.vs_baseline,
        "samples": status.n,
        "window_start": status.window_start.isoformat(),
        "window_end": status.window_end.isoformat(),
    }


def experiment_json(experiment: Experiment) -> dict[str, Any]:
    return experiment_to_record(experiment)


def result_json(result: ExperimentResult) -> dict[str, Any]:
    c = result.comparison
    return {
        "experiment": experiment_json(result.experiment),
        "n_baseline": c.n_baseline,
        "n_experiment": c.n_experiment,
        "baseline_median": c.baseline_median,
        "experiment_median": c.experiment_median,
        "statistic": c.statistic,
        "relative_change": c.relative_change,
        "ci_low": c.ci_low,
        "ci_high": c.ci_high,
        "confidence": c.confidence,
        "p_value": c.p_value,
        "cliffs_delta": c.cliffs_delta,
        "verdict": c.verdict.value,
        "met_expectation": result.met_expectation,
        "summary": result.summary,
    }


def comparison_json(row: StrategyComparison) -> dict[str, Any]:
    prediction = row.prediction
    return {
        "strategy": row.strategy.value,
        "environments": row.environments,
        "provision_p50_seconds": row.provision_p50,
        "provision_p90_seconds": row.provision_p90,
        "data_age_median_seconds": row.data_age_median,
        "drift_median": row.drift_median,
        "cost_per_day_median": row.cost_per_day_median,
        "test_pass_rate": row.pass_rate,
        "escaped_defects_per_100_envs": prediction.defects_per_100_envs if prediction else None,
        "incidents_per_100_envs": prediction.incidents_per_100_envs if prediction else None,
        "best_for": row.best_for,
    }


def budget_json(status: BudgetStatus) -> dict[str, Any]:
    return {
        "period": status.period,
        "spent": status.spent,
        "limit": status.limit,
        "share": status.share,
        "state": status.state.value,
    }
