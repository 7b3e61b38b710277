"""Provisioning time per strategy and step, and stagetui's orchestration overhead against the same
operations called directly (same data engine, same runtime, no orchestrator, store or events).

    .venv/bin/python benchmarks/provisioning.py [--customers 20000] [--repeat 5]

Prints a table and writes JSON under benchmarks/results/. Absolute times on shared machines are noise;
the ratio stagetui/direct, measured in the same run, interleaved, is the number to watch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from stagetui import __version__
from stagetui.config import load_config
from stagetui.data.production import ensure_production
from stagetui.data.sqlite_copy import backup_copy, fast_copy
from stagetui.data.sqlite_integrity import check_integrity
from stagetui.data.sqlite_masking import apply_masking, verify_masking
from stagetui.data.sqlite_subset import subset_copy
from stagetui.domain.anonymize import Masker
from stagetui.domain.drift import compute_drift
from stagetui.domain.models import Environment, EnvironmentStatus, StepPhase, Strategy
from stagetui.runtimes.local import LocalRuntime
from stagetui.service.api import StagetuiService
from stagetui.sources.files import load_tree, write_json_tree
from stagetui.strategies.config_render import packaged_template, render_template
from stagetui.strategies.provision import mask_rules

ROOT = Path(__file__).resolve().parents[1]


def direct_run(service: StagetuiService, strategy: Strategy, run: int) -> float:
    """The same work as a stagetui plan, done by hand in sequence: the baseline for overhead."""
    core = service.core
    production = core.production()
    key = core.mask_key()
    rules, masker = mask_rules(core.config), Masker(key)
    runtime = LocalRuntime(core.paths.root / "direct", stop_timeout=2)
    now = datetime.now(UTC)
    env = Environment(
        f"direct-{run}",
        f"direct-{strategy.value.replace('_', '-')}-{run}",
        "bench",
        strategy,
        "local",
        "bench",
        now,
        now,
        EnvironmentStatus.PROVISIONING,
    )
    started = time.perf_counter()
    workspace = runtime.create_workspace(env)
    if strategy is Strategy.FULL_CLONE:
        backup_copy(production.database, workspace.database)
        apply_masking(workspace.database, rules, masker)
        verify_masking(workspace.database, production.database, rules)
        config = load_tree(production.config)
    elif strategy is Strategy.SNAPSHOT:
        golden = core.golden.latest()
        assert golden is not None
        fast_copy(golden.database, workspace.database)
        config = json.loads(golden.config_file.read_text())
    else:
        subset_copy(production.database, workspace.database, "customers", 0.01, run)
        apply_masking(workspace.database, rules, masker)
        verify_masking(workspace.database, production.database, rules)
        config = render_template(packaged_template(), {"ENV_ID": env.id, "DATABASE_URL": "x"})
    check_integrity(workspace.database)
    write_json_tree(config, workspace.config_file)
    endpoint = runtime.start_services(env, workspace, 30)
    runtime.wait_healthy(env, endpoint, 30)
    compute_drift(load_tree(production.config), config, today=now.date())
    elapsed = time.perf_counter() - started
    runtime.destroy(env.id)
    return elapsed


def stagetui_run(service: StagetuiService, strategy: Strategy, steps: dict[str, list[float]]) -> float:
    result = asyncio.run(service.up(service.up_request(f"bench/{strategy.value}", strategy=strategy.value)))
    if not result.ok:
        raise SystemExit(f"provisioning failed: {result.outcome.error}")
    for record in result.outcome.records:
        if record.phase is StepPhase.PROVISION:
            steps[record.name].append(record.seconds)
    asyncio.run(service.down(result.environment.id))
    return result.environment.provision_seconds or 0.0


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}s ±{statistics.pstdev(values):.3f}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="stagetui-bench-") as state:
        config_file = Path(state) / "bench.yaml"
        sample = (ROOT / "sample_config.yaml").read_text()
        config_file.write_text(sample.replace("customers: 50000", f"customers: {args.customers}"))
        environ = {**os.environ, "STAGETUI_STATE_DIR": str(Path(state) / "state")}
        environ.pop("STAGETUI_FAILPOINTS", None)
        service = StagetuiService.open(load_config(config_file), environ)
        console.print(f"generating the sample production ({args.customers:,} customers) …")
        ensure_production(service.core.production())
        asyncio.run(service.refresh_snapshot())
        results: dict[str, dict[str, object]] = {}
        for strategy in Strategy:
            ours: list[float] = []
            direct: list[float] = []
            steps: dict[str, list[float]] = defaultdict(list)
            stagetui_run(service, strategy, defaultdict(list))  # warm-up: caches, imports
            for run in range(args.repeat):  # interleaved, so drift of the machine hits both alike
                ours.append(stagetui_run(service, strategy, steps))
                direct.append(direct_run(service, strategy, run))
            ratio = statistics.median(ours) / statistics.median(direct)
            results[strategy.value] = {
                "stagetui_seconds": ours,
                "direct_seconds": direct,
                "ratio": ratio,
                "step_median_seconds": {name: statistics.median(v) for name, v in steps.items()},
            }
            console.print(f"{strategy.value}: done")
    table = Table(
        title=f"Provisioning on the local runtime, {args.customers:,} customers, {args.repeat} runs"
    )
    for column in (
        "strategy",
        "stagetui (median ±sd)",
        "direct (median ±sd)",
        "stagetui/direct",
        "slowest step",
    ):
        table.add_column(column)
    for name, result in results.items():
        step_medians: dict[str, float] = result["step_median_seconds"]  # type: ignore[assignment]
        slowest = max(step_medians.items(), key=lambda item: item[1])
        table.add_row(
            name,
            spread(result["stagetui_seconds"]),
            spread(result["direct_seconds"]),  # type: ignore[arg-type]
            f"{result['ratio']:.2f}x",
            f"{slowest[0]} {slowest[1]:.3f}s",
        )
    console.print(table)
    for name, result in results.items():
        step_medians = result["step_median_seconds"]  # type: ignore[assignment]
        console.print(
            f"[bold]{name}[/] steps: " + ", ".join(f"{k} {v:.3f}s" for k, v in step_medians.items())
        )
    out = ROOT / "benchmarks" / "results" / f"provisioning-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "stagetui": __version__,
    }
    out.write_text(
        json.dumps(
            {"machine": machine, "customers": args.customers, "repeat": args.repeat, "results": results},
            indent=2,
        )
    )
    console.print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
