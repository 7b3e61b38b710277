"""The store at dashboard scale: recording 100k metric samples and answering the queries the UI, `stagetui
bench`, `compare`, `budget`, `metrics` and experiments make at that size, against the direct ways.

    .venv/bin/python benchmarks/store.py [--samples 100000] [--batches 100] [--environments 2000] [--repeat 5]

Cases, each on a fresh temporary state directory, with samples spread over the last 45 days (two or three
monthly partitions) the way provisioning records them (about 20 per environment: step times, total,
data age, drift, orphans, cost):

- record bulk: `Store.add_metrics` of all samples at once, against converting the same samples and writing
  them as one JSON file, atomically (the direct way);
- record per environment: `record_samples` (the service's path, experiment tagging included) of one
  environment's batch into a store already holding all samples, against appending the same batch to a
  JSON-lines file with an fsync (the least a durable append costs);
- queries: `Store.metrics(since[, metric])`, `benchmarks.statuses`, `compare.compare` and
  `experiments.result`, first on a fresh `Store` (cold: nothing read yet) and then again (warm), against the
  same computation over the samples already in memory (the floor);
- environments: filling the store with `save_environment` one by one (against appending each to a
  JSON-lines file with an fsync); one more `save_environment` (cold: the first after a fresh `Store` read
  them; then the next one) against rewriting that many records as one JSON file, atomically;
  `environments()` against converting the records already in memory; the budget computation over
  `environments()` against the same over the environments in memory.

Prints medians with spread (min-max) and the ratio store/direct (measured in the same run, interleaved), and
writes JSON under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from stagetui import __version__
from stagetui.config import load_config
from stagetui.domain.benchmarks import evaluate
from stagetui.domain.cost import budget_status
from stagetui.domain.experiments import analyse
from stagetui.domain.models import Environment, EnvironmentStatus, MetricSample, Strategy
from stagetui.service import benchmarks, compare, experiments
from stagetui.service.api import StagetuiService
from stagetui.service.core import ServiceCore
from stagetui.service.samples import record_samples
from stagetui.store import records
from stagetui.store.atomic import atomic_write_text
from stagetui.store.store import Store

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime.now(UTC).replace(microsecond=0)
STEPS = ["prepare_production", "provision_runtime", "restore_data", "anonymize", "verify_anonymization"]
STEPS += ["verify_integrity", "apply_config", "start_services", "health_check", "check_drift"]
PER_ENVIRONMENT = len(STEPS) + 8


def environment_samples(index: int, rng: random.Random) -> list[MetricSample]:
    """What one provisioning run records (see service/provisioning.py `_metrics`)."""
    strategy = list(Strategy)[index % 3]
    at = NOW - timedelta(seconds=rng.uniform(0, 45 * 86400))
    tag = (f"u{index:06d}", f"feat-{index % 97}-{strategy.value[:3]}-{index:05d}", strategy, "local")
    base = (*tag, f"feat/{index % 97}")
    pairs: list[tuple[str, float, str | None]] = [
        ("provision.step_seconds", rng.uniform(0.1, 30), step) for step in STEPS
    ]
    pairs += [
        ("provision.total_seconds", rng.uniform(5, 600), None),
        ("data.age_seconds", rng.uniform(0, 172800), None),
        ("drift.unapproved", float(rng.randrange(4)), None),
        ("drift.approved", float(rng.randrange(3)), None),
        ("drift.passed", float(rng.randrange(2)), None),
        ("integrity.orphans", 0.0, None),
        ("cost.per_day", rng.uniform(0.1, 9), None),
        ("tests.pass_rate", rng.uniform(0.8, 1), None),
    ]
    return [MetricSample(at, metric, value, *base, step=step) for metric, value, step in pairs]


def make_samples(count: int) -> list[list[MetricSample]]:
    rng = random.Random(11)
    return [environment_samples(i, rng) for i in range((count + PER_ENVIRONMENT - 1) // PER_ENVIRONMENT)]


def make_environment(index: int) -> Environment:
    strategy = list(Strategy)[index % 3]
    live = index % 4 == 0
    return Environment(
        uid=f"u{index:06d}",
        id=f"feat-{index}-{strategy.value[:3]}-{index:05d}",
        branch=f"feat/{index}",
        strategy=strategy,
        runtime="local",
        owner="bench",
        created_at=NOW - timedelta(hours=index % 500),
        expires_at=NOW + timedelta(hours=8),
        status=EnvironmentStatus.READY if live else EnvironmentStatus.TORN_DOWN,
        max_data_age=timedelta(hours=24),
        data_as_of=NOW - timedelta(hours=3),
        provision_seconds=42.0,
        labels={"team": "bench"},
        hourly_cost=0.2,
    )


def timed(work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def open_core(state: Path) -> ServiceCore:
    config = load_config(ROOT / "sample_config.yaml")
    return StagetuiService.open(config, {"STAGETUI_STATE_DIR": str(state)}, clock=lambda: NOW).core


def new_dir(parent: Path, name: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
    return path


def bulk(parent: Path, flat: list[MetricSample], repeat: int) -> dict[str, list[float]]:
    def direct() -> None:
        rows = [records.metric_to_record(s) for s in flat]
        atomic_write_text(new_dir(parent, "direct") / "metrics.json", json.dumps(rows))

    seconds: dict[str, list[float]] = {"store": [], "direct": []}
    for _ in range(repeat):
        seconds["store"].append(timed(lambda: Store(new_dir(parent, "bulk")).add_metrics(flat)))
        seconds["direct"].append(timed(direct))
    return seconds


def jsonl_append(path: Path, batch: list[MetricSample]) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write("".join(json.dumps(records.metric_to_record(s)) + "\n" for s in batch))
        handle.flush()
        os.fsync(handle.fileno())


def per_environment(core: ServiceCore, parent: Path, batches: list[list[MetricSample]]) -> dict[str, Any]:
    lines = new_dir(parent, "jsonl") / "metrics.jsonl"
    seconds: dict[str, list[float]] = {"store": [], "direct": []}
    for batch in batches:  # interleaved, so a noisy moment of the machine hits both alike
        seconds["store"].append(timed(lambda b=batch: record_samples(core, b)))  # type: ignore[misc]
        seconds["direct"].append(timed(lambda b=batch: jsonl_append(lines, b)))  # type: ignore[misc]
    return seconds


def by_strategy(samples: list[MetricSample]) -> dict[tuple[str, Strategy], float]:
    """compare's numbers (median per metric and strategy, experiments left out) the direct way."""
    grouped: dict[tuple[str, Strategy], list[float]] = {}
    for sample in samples:
        if sample.experiment is None:
            grouped.setdefault((sample.metric, sample.strategy), []).append(sample.value)
    return {key: statistics.median(values) for key, values in grouped.items()}


def query_cases(core: ServiceCore) -> dict[str, tuple[Callable[[], object], Callable[[list[Any]], object]]]:
    """name -> (through the store, the same over samples in memory)."""
    window, base = core.config.cycle.current_window, core.config.cycle.baseline_window
    defined = [item.benchmark for item in benchmarks.defined(core)]
    experiment = experiments.start(
        core,
        "bench-faster-restore",
        hypothesis="a faster restore",
        change="bench",
        metric="provision.total_seconds",
        expected_change=-0.2,
    )
    since = NOW - timedelta(days=14)

    def recent(samples: list[MetricSample], start: datetime, metric: str | None = None) -> list[Any]:
        return [s for s in samples if s.at >= start and (metric is None or s.metric == metric)]

    return {
        "metrics(since 14d) — plots": (
            lambda: core.store.metrics(since=since),
            lambda s: recent(s, since),
        ),
        "metrics(since, drift.unapproved)": (
            lambda: core.store.metrics(since=since, metric="drift.unapproved"),
            lambda s: recent(s, since, "drift.unapproved"),
        ),
        "bench statuses": (
            lambda: benchmarks.statuses(core, NOW),
            lambda s: [evaluate(b, recent(s, NOW - window), NOW, window) for b in defined],
        ),
        "compare": (lambda: compare.compare(core, NOW), lambda s: by_strategy(recent(s, NOW - base))),
        "experiment result": (
            lambda: experiments.result(core, experiment.id),
            lambda s: analyse(experiment, recent(s, NOW - base), NOW),
        ),
    }


def queries(core: ServiceCore, flat: list[MetricSample], repeat: int) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for name, (through_store, in_memory) in query_cases(core).items():
        core.store = Store(core.store.directory)  # cold: a fresh process's first look
        cold = timed(through_store)
        seconds: dict[str, list[float]] = {"cold": [cold], "store": [], "direct": []}
        for _ in range(repeat):
            seconds["store"].append(timed(through_store))
            if in_memory is not None:
                seconds["direct"].append(timed(lambda f=in_memory: f(flat)))  # type: ignore[misc]
        results[name] = seconds
    return results


def environments(parent: Path, count: int, repeat: int) -> dict[str, Any]:
    core = open_core(new_dir(parent, "environments"))
    envs = [make_environment(i) for i in range(count)]

    def fill_one_by_one() -> None:
        for env in envs:
            core.store.save_environment(env)

    def append_one_by_one(path: Path) -> None:
        with path.open("a", encoding="utf-8") as handle:
            for env in envs:
                handle.write(json.dumps(records.environment_to_record(env)) + "\n")
                handle.flush()
                os.fsync(handle.fileno())

    fill = timed(fill_one_by_one)
    direct_fill = timed(lambda: append_one_by_one(core.paths.root / "direct-environments.jsonl"))
    rows = {env.uid: records.environment_to_record(env) for env in envs}
    target = core.paths.root / "direct-environments.json"
    results: dict[str, Any] = {f"fill {count:,} one by one": {"store": [fill], "direct": [direct_fill]}}
    save: dict[str, list[float]] = {"cold": [], "store": [], "direct": []}
    listing: dict[str, list[float]] = {"cold": [], "store": [], "direct": []}
    budgets: dict[str, list[float]] = {"store": [], "direct": []}
    settings = core.config.cost.budgets
    limits = {"day": settings.daily or 50.0, "month": settings.monthly or 1000.0}
    for run in range(repeat):
        core.store = Store(core.store.directory)  # cold: a fresh process's first look
        listing["cold"].append(timed(core.store.environments))
        listing["store"].append(timed(core.store.environments))
        listing["direct"].append(timed(lambda: [records.environment_from_record(r) for r in rows.values()]))
        first = replace(envs[run * 7 % count], status_detail=f"run {run}", updated_at=NOW)
        save["cold"].append(timed(lambda e=first: core.store.save_environment(e)))  # type: ignore[misc]
        changed = replace(envs[run * 11 % count], status_detail=f"run {run}", updated_at=NOW)
        save["store"].append(timed(lambda e=changed: core.store.save_environment(e)))  # type: ignore[misc]

        def direct_save(e: Environment = changed) -> None:
            rows[e.uid] = records.environment_to_record(e)
            atomic_write_text(target, json.dumps(list(rows.values())))

        save["direct"].append(timed(direct_save))
        budgets["store"].append(
            timed(lambda: budget_status(core.store.environments(), NOW, core.cost_model, limits, 0.8))
        )
        budgets["direct"].append(timed(lambda: budget_status(envs, NOW, core.cost_model, limits, 0.8)))
    results["save_environment (one more)"] = save
    results["environments()"] = listing
    results["budget over environments()"] = budgets
    return results


def cell(values: list[float]) -> str:
    if not values:
        return "-"
    middle = statistics.median(values) * 1000
    return f"{middle:.2f} ({min(values) * 1000:.2f}-{max(values) * 1000:.2f})"


def ratio(seconds: dict[str, list[float]]) -> float | None:
    if not seconds.get("direct") or not seconds.get("store"):
        return None
    return statistics.median(seconds["store"]) / statistics.median(seconds["direct"])


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--batches", type=int, default=100, help="per-environment batches recorded")
    parser.add_argument("--environments", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    console = Console(width=max(Console().width, 130))  # the table needs it; pipes report 80
    batches = make_samples(args.samples)
    flat = [sample for batch in batches for sample in batch]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="stagetui-bench-store-") as temp:
        parent = Path(temp)
        console.print(f"recording {len(flat):,} samples in bulk …")
        results["record bulk"] = bulk(parent, flat, args.repeat)
        state = new_dir(parent, "state")
        core = open_core(state)
        core.store.add_metrics(flat)
        console.print("queries …")
        results.update(queries(core, flat, args.repeat))
        console.print(f"recording {args.batches} environments' batches on top …")
        chosen = batches[: args.batches]
        extra = [[replace(s, environment_uid=f"x{i}") for s in batch] for i, batch in enumerate(chosen)]
        results["record one environment's batch"] = per_environment(core, parent, extra)
        console.print(f"{args.environments:,} environments …")
        results.update(environments(parent, args.environments, args.repeat))
    table = Table(title=f"Store with {len(flat):,} samples, ms: median (min-max), {args.repeat} runs")
    for column in ("case", "cold", "store", "direct", "store/direct", "samples/s"):
        table.add_column(column, justify="right" if column != "case" else "left")
    for name, seconds in results.items():
        got = ratio(seconds)
        per_second = ""
        if name.startswith("record"):
            size = len(flat) if name == "record bulk" else PER_ENVIRONMENT
            per_second = f"{size / statistics.median(seconds['store']):,.0f}"
            per_second += f" vs {size / statistics.median(seconds['direct']):,.0f}"
        table.add_row(
            name,
            cell(seconds.get("cold", [])),
            cell(seconds["store"]),
            cell(seconds.get("direct", [])),
            f"{got:.2f}x" if got is not None else "-",
            per_second,
        )
    console.print(table)
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "stagetui": __version__,
    }
    out = ROOT / "benchmarks" / "results" / f"store-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = {name: {"ratio": ratio(seconds), **seconds} for name, seconds in results.items()}
    out.write_text(json.dumps({"machine": machine, "args": vars(args), "results": summary}, indent=2))
    console.print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
