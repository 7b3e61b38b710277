"""bench, experiment, compare, budget: the improvement cycle from the command line."""

from __future__ import annotations

import argparse
from typing import Any

from rich.markup import escape
from rich.table import Table
from rich.text import Text

from stagetui.cli import exit_codes
from stagetui.cli.context import CliContext
from stagetui.cli.cycle_format import (
    benchmark_status_json,
    budget_json,
    comparison_json,
    experiment_json,
    result_json,
)
from stagetui.domain.benchmarks import Aggregation, Scope
from stagetui.domain.cost import BudgetState, format_money
from stagetui.domain.durations import format_duration
from stagetui.domain.metric_format import format_metric
from stagetui.domain.models import Strategy
from stagetui.domain.statistics import format_change
from stagetui.service.compare import StrategyComparison
from stagetui.service.errors import BadInputError


def run_bench(args: argparse.Namespace, ctx: CliContext) -> int:
    statuses = ctx.service.benchmark_statuses()
    if ctx.json_output:
        ctx.emit_json([benchmark_status_json(s) for s in statuses])
    else:
        window = format_duration(ctx.config.cycle.current_window)
        table = Table(title=f"Benchmarks (current value over the last {window})", title_justify="left")
        wide = ctx.out.width >= 120
        for column in ("benchmark", "current", "baseline", "target", "status", "samples"):
            table.add_column(column, no_wrap=column == "benchmark")
        if wide:
            table.add_column("description")
        for status in statuses:
            bench = status.benchmark
            label, style = (
                ("no data", "dim")
                if status.met is None
                else ("met", "green")
                if status.met
                else ("missed", "red")
            )
            table.add_row(
                bench.name,
                format_metric(bench.metric, status.value, bench.aggregation),
                format_metric(bench.metric, bench.baseline, bench.aggregation),
                format_metric(bench.metric, bench.target, bench.aggregation),
                Text(label, style=style),
                str(status.n),
                *([Text(bench.description)] if wide else []),
            )
        ctx.show(table)
    missed = any(s.met is False for s in statuses)
    return exit_codes.TARGET_MISSED if args.fail_on_miss and missed else exit_codes.OK


def run_baseline(args: argparse.Namespace, ctx: CliContext) -> int:
    assessment = ctx.service.assess_baseline(args.benchmark, save=args.save)
    if ctx.json_output:
        ctx.emit_json(
            {
                "benchmark": args.benchmark,
                "value": assessment.value,
                "n": assessment.n,
                "window_start": assessment.window_start.isoformat(),
                "window_end": assessment.window_end.isoformat(),
                "summary": assessment.summary.__dict__ if assessment.summary else None,
                "warnings": list(assessment.warnings),
                "saved": args.save,
            }
        )
        return exit_codes.OK
    bench = ctx.service.benchmarks()
    metric = next(b.benchmark for b in bench if b.benchmark.name == args.benchmark)
    value = format_metric(metric.metric, assessment.value, metric.aggregation)
    ctx.show(
        f"baseline of [bold]{escape(args.benchmark)}[/]: {value} from {assessment.n} samples "
        f"({assessment.window_start:%Y-%m-%d} to {assessment.window_end:%Y-%m-%d})"
    )
    if assessment.summary:
        s = assessment.summary
        ctx.show(f"  spread: median {s.median:.4g}, IQR {s.iqr:.4g}, p90 {s.p90:.4g}")
        ctx.show(f"          min {s.minimum:.4g}, max {s.maximum:.4g}")
    for warning in assessment.warnings:
        ctx.show(f"  [yellow]warning:[/] {escape(warning)}")
    if args.save:
        ctx.show("[green]✓[/] recorded as the benchmark's baseline")
    return exit_codes.OK


def _expected(text: str) -> float:
    """ "-50%" -> -0.5; a bare "-0.5" is a fraction. A fall beyond -100% is impossible for the metrics here
    (times, ages, counts, costs, rates are never negative), so it is refused rather than misread."""
    cleaned = text.strip().replace("\u2212", "-")  # accept a typeset minus sign too
    try:
        value = float(cleaned.removesuffix("%"))
    except ValueError:
        raise BadInputError(f"--expect: {text!r} is not a change like -50% or +20%") from None
    change = value / 100 if cleaned.endswith("%") else value
    if change < -1:
        raise BadInputError(f"--expect: {text!r} is a fall of more than 100%; did you mean {value:g}%?")
    return change


def run_experiment_start(args: argparse.Namespace, ctx: CliContext) -> int:
    scope = Scope(Strategy(args.strategy) if args.strategy else None, args.runtime, args.branch)
    experiment = ctx.service.start_experiment(
        args.name,
        hypothesis=args.hypothesis,
        change=args.change or "",
        metric=args.metric,
        step=args.step,
        scope=scope,
        expected_change=_expected(args.expect),
        aggregation=Aggregation(args.aggregation),
        lower_is_better=not args.higher_is_better,
    )
    if ctx.json_output:
        ctx.emit_json(experiment_json(experiment))
    else:
        since = f"{experiment.started_at:%Y-%m-%d %H:%M} UTC"
        ctx.show(f"[green]✓[/] experiment {experiment.id} running since {since}")
        ctx.show("samples in its scope are tagged until `stagetui experiment stop`")
    return exit_codes.OK


def run_experiment_stop(args: argparse.Namespace, ctx: CliContext) -> int:
    experiment = ctx.service.stop_experiment(args.experiment, cancel=args.cancel)
    result = ctx.service.experiment_result(experiment.id)
    if ctx.json_output:
        ctx.emit_json(result_json(result))
    else:
        ctx.show(f"experiment {experiment.id} {experiment.status.value}")
        ctx.show(Text(result.summary))
    return exit_codes.OK


def run_experiment_list(args: argparse.Namespace, ctx: CliContext) -> int:
    found = ctx.service.experiments()
    if ctx.json_output:
        ctx.emit_json([experiment_json(e) for e in found])
        return exit_codes.OK
    table = Table(title="Experiments", title_justify="left")
    for column in ("id", "status", "started", "metric", "expect", "hypothesis"):
        table.add_column(column)
    for e in found:
        started = f"{e.started_at:%Y-%m-%d %H:%M}" if e.started_at else "-"
        table.add_row(
            e.id, e.status.value, started, e.metric, format_change(e.expected_change), Text(e.hypothesis)
        )
    ctx.show(table if found else "no experiments yet (stagetui experiment start NAME --hypothesis ...)")
    return exit_codes.OK


def run_experiment_show(args: argparse.Namespace, ctx: CliContext) -> int:
    result = ctx.service.experiment_result(args.experiment)
    if ctx.json_output:
        ctx.emit_json(result_json(result))
        return exit_codes.OK
    e, c = result.experiment, result.comparison
    ctx.show(Text.assemble((e.name, "bold"), f"  ({e.status.value})"))
    metric = f"{e.metric} ({e.aggregation.value}), expected {format_change(e.expected_change)}"
    ctx.show(Text(f"hypothesis: {e.hypothesis}\nchange: {e.change or '-'}\nmetric: {metric}"))
    ctx.show(f"baseline samples: {c.n_baseline}  ·  experiment samples: {c.n_experiment}")
    ctx.show(
        Text(
            result.summary,
            style="green"
            if result.met_expectation
            else "yellow"
            if result.met_expectation is None
            else "red",
        )
    )
    return exit_codes.OK


def run_compare(args: argparse.Namespace, ctx: CliContext) -> int:
    rows = ctx.service.compare()
    if ctx.json_output:
        ctx.emit_json([comparison_json(r) for r in rows])
        return exit_codes.OK
    currency = ctx.config.cost.currency
    window = format_duration(ctx.config.cycle.baseline_window)
    table = Table(title=f"Strategies side by side (this team's data, last {window})", title_justify="left")
    for column in ("", *(r.strategy.value for r in rows)):
        table.add_column(column)

    def seconds(value: float | None) -> str:
        return format_duration(value) if value is not None else "-"

    def share(value: float | None) -> str:
        return f"{value:.0%}" if value is not None else "-"

    def number(value: float | None, text: str) -> str:
        return "-" if value is None else text

    def money(value: float | None) -> str:
        return "-" if value is None else format_money(value, currency)

    def escaped(row: StrategyComparison) -> str:
        rate = row.prediction.defects_per_100_envs if row.prediction else None
        return "-" if rate is None else f"{rate:.1f}"

    lines: list[tuple[str, list[Any]]] = [
        ("environments", [str(r.environments) for r in rows]),
        ("provisioning p50", [seconds(r.provision_p50) for r in rows]),
        ("provisioning p90", [seconds(r.provision_p90) for r in rows]),
        ("data age (median)", [seconds(r.data_age_median) for r in rows]),
        ("unapproved drift (median)", [number(r.drift_median, f"{r.drift_median or 0:g}") for r in rows]),
        ("cost / env / day", [money(r.cost_per_day_median) for r in rows]),
        ("test pass rate", [share(r.pass_rate) for r in rows]),
        ("escaped defects / 100 envs", [escaped(r) for r in rows]),
        ("best for", [Text(r.best_for) for r in rows]),
    ]
    for label, values in lines:
        table.add_row(label, *values)
    ctx.show(table)
    return exit_codes.OK


def run_budget(args: argparse.Namespace, ctx: CliContext) -> int:
    statuses = ctx.service.budgets()
    currency = ctx.config.cost.currency
    if ctx.json_output:
        ctx.emit_json([budget_json(s) for s in statuses])
    elif not statuses:
        ctx.show("no budgets configured (cost.budgets in the config)")
    for status in statuses if not ctx.json_output else []:
        style = {"ok": "green", "warning": "yellow", "over": "red"}[status.state.value]
        spent, limit = format_money(status.spent, currency), format_money(status.limit, currency)
        state = f"[{style}]{status.state.value:>7}[/]"
        ctx.show(f"{state}  this {status.period}: {spent} of {limit} ({status.share:.0%})")
    over = any(s.state is BudgetState.OVER for s in statuses)
    return exit_codes.BUDGET_EXCEEDED if over else exit_codes.OK


def register(commands: Any, add_json: Any) -> None:
    bench = commands.add_parser("bench", help="benchmarks: current value, baseline, target, status")
    bench.set_defaults(handler=run_bench)
    bench.add_argument(
        "--fail-on-miss", action="store_true", help=f"exit {exit_codes.TARGET_MISSED} if a target is missed"
    )
    add_json(bench)
    bench_commands = bench.add_subparsers(dest="bench_command", metavar="COMMAND")
    baseline = bench_commands.add_parser(
        "baseline", help="assess a benchmark's baseline over the baseline window"
    )
    baseline.set_defaults(handler=run_baseline)
    baseline.add_argument("benchmark", metavar="NAME")
    baseline.add_argument("--save", action="store_true", help="record it as the benchmark's baseline")
    add_json(baseline)

    experiment = commands.add_parser("experiment", help="experiments: a change, a hypothesis, a verdict")
    sub = experiment.add_subparsers(dest="experiment_command", metavar="COMMAND", required=True)
    start = sub.add_parser("start", help="start an experiment now; samples in its scope get tagged")
    start.set_defaults(handler=run_experiment_start)
    start.add_argument("name")
    start.add_argument(
        "--hypothesis",
        required=True,
        help="e.g. 'snapshots instead of full restore cut provisioning time by 50%%'",
    )
    start.add_argument("--change", help="what was changed")
    start.add_argument(
        "--metric",
        default="provision.total_seconds",
        help="metric to compare (default: provision.total_seconds)",
    )
    start.add_argument("--step", help="with provision.step_seconds: the step")
    start.add_argument("--expect", required=True, help="expected relative change, e.g. -50%% or +10%%")
    start.add_argument("--aggregation", default="median", choices=["median", "p90", "p95", "max", "mean"])
    start.add_argument("--higher-is-better", action="store_true", help="for metrics such as pass rate")
    start.add_argument("--strategy", choices=[s.value for s in Strategy], help="scope: only this strategy")
    start.add_argument("--runtime", help="scope: only this runtime")
    start.add_argument("--branch", help="scope: only branches matching this glob")
    add_json(start)
    stop = sub.add_parser("stop", help="end an experiment and show its result")
    stop.set_defaults(handler=run_experiment_stop)
    stop.add_argument("experiment", metavar="NAME")
    stop.add_argument("--cancel", action="store_true", help="record it as cancelled rather than finished")
    add_json(stop)
    listing = sub.add_parser("list", help="every experiment")
    listing.set_defaults(handler=run_experiment_list)
    add_json(listing)
    show = sub.add_parser("show", help="an experiment's result so far: effect, interval, p-value, verdict")
    show.set_defaults(handler=run_experiment_show)
    show.add_argument("experiment", metavar="NAME")
    add_json(show)

    compare = commands.add_parser("compare", help="strategies side by side, from this team's measurements")
    compare.set_defaults(handler=run_compare)
    add_json(compare)
    budget = commands.add_parser(
        "budget", help=f"spend against budgets (exit {exit_codes.BUDGET_EXCEEDED} when exceeded)"
    )
    budget.set_defaults(handler=run_budget)
    add_json(budget)
