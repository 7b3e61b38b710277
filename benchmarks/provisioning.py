"""Provisioning time per strategy, runtime and step, and stagetui's orchestration overhead against the same
operations called directly (same data engine, same runtime calls, no orchestrator, store or events).

    .venv/bin/python benchmarks/provisioning.py [--customers 20000] [--repeat 5] [--runtimes local,docker]
    .venv/bin/python tests/with_dockerd.py .venv/bin/python benchmarks/provisioning.py  # docker too

The docker runtime is measured only when an engine answers (DOCKER_HOST, or the default socket); with none,
it is skipped with a note. The sample images are built (or found current) before anything is timed.

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

import docker
from rich.console import Console
from rich.table import Table

from stagetui import __version__
from stagetui.config import load_config
from stagetui.data.production import ensure_production
from stagetui.domain.anonymize import Masker
from stagetui.domain.drift import compute_drift
from stagetui.domain.models import Environment, EnvironmentStatus, StepPhase, Strategy
from stagetui.runtimes.base import Runtime
from stagetui.runtimes.docker.images import BUSYBOX_IMAGE, SAMPLE_APP_IMAGE, ensure_sample_image
from stagetui.runtimes.docker.runtime import DockerRuntime
from stagetui.runtimes.local import LocalRuntime
from stagetui.service.api import StagetuiService
from stagetui.sources.files import load_tree, write_json_tree
from stagetui.strategies.config_render import (
    merge,
    packaged_template,
    render_template,
    replace_secrets,
    runtime_overrides,
    services_database_url,
)
from stagetui.strategies.provision import mask_rules

ROOT = Path(__file__).resolve().parents[1]


def direct_runtime(service: StagetuiService, name: str) -> Runtime:
    """A runtime of its own (own workspace root), configured as the service's one."""
    core = service.core
    if name == "docker":
        return DockerRuntime(core.paths.root / "direct-docker", core.config.runtimes.docker, core.environ)
    return LocalRuntime(core.paths.root / "direct", stop_timeout=2)


def direct_run(service: StagetuiService, strategy: Strategy, runtime: Runtime, run: int) -> float:
    """The same work as a stagetui plan, done by hand in sequence through the same data engine and runtime
    calls: the baseline for overhead. (The plan may run independent steps side by side; this does not.)"""
    core = service.core
    production, engine = core.production(), core.engine
    rules, masker = mask_rules(core.config), Masker(core.mask_key())
    patterns = core.config.drift.secret_patterns
    now = datetime.now(UTC)
    name = f"direct-{runtime.name}-{strategy.value.replace('_', '-')}-{run + 1}"
    env = Environment(
        name, name, "bench", strategy, runtime.name, "bench", now, now, EnvironmentStatus.PROVISIONING
    )
    started = time.perf_counter()
    workspace = runtime.create_workspace(env)
    target = core.environment_data(env.id, workspace)
    overrides = runtime_overrides(env.id, workspace, target)
    if strategy is Strategy.FULL_CLONE:
        engine.full_copy(production.data, target)
        engine.mask(target, rules, masker)
        engine.verify_masking(target, production.data, rules)
        config = merge(replace_secrets(load_tree(production.config), env.id, patterns), overrides)
    elif strategy is Strategy.SNAPSHOT:
        golden = core.golden.latest()
        assert golden is not None
        engine.clone(golden.location(None), target)
        engine.verify_masking(target, production.data, rules)  # the plan proves it for every restore too
        # As the snapshot step does: the docker runtime shares one data volume per golden copy.
        workspace.data_identity_file.write_text(f"golden snapshot {golden.id}\n", encoding="utf-8")
        tree = json.loads(golden.config_file.read_text(encoding="utf-8"))
        config = merge(replace_secrets(tree, env.id, patterns), overrides)
    else:
        settings = core.config.strategies.containerized
        root, fraction, where = settings.subset_root, settings.subset_fraction, settings.subset_where
        engine.subset(production.data, target, root, fraction, run, where)
        engine.mask(target, rules, masker)
        engine.verify_masking(target, production.data, rules)
        variables = {"ENV_ID": env.id, "DATABASE_URL": services_database_url(workspace, target)}
        config = merge(render_template(packaged_template(), variables), overrides)
    engine.integrity(target, engine.foreign_keys(production.data))
    write_json_tree(config, workspace.config_file)
    endpoint = runtime.start_services(env, workspace, 60)
    runtime.wait_healthy(env, endpoint, 60)
    compute_drift(load_tree(production.config), config, today=now.date())
    elapsed = time.perf_counter() - started
    runtime.destroy(env.id)
    return elapsed


def stagetui_run(
    service: StagetuiService, strategy: Strategy, runtime: str, steps: dict[str, list[float]]
) -> float:
    request = service.up_request(f"bench/{strategy.value}", strategy=strategy.value, runtime=runtime)
    result = asyncio.run(service.up(request))
    if not result.ok:
        raise SystemExit(f"provisioning failed: {result.outcome.error}")
    for record in result.outcome.records:
        if record.phase is StepPhase.PROVISION:
            steps[record.name].append(record.seconds)
    asyncio.run(service.down(result.environment.id))
    return result.environment.provision_seconds or 0.0


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}s ±{statistics.pstdev(values):.3f}"


def docker_answers(console: Console) -> bool:
    """Whether a Docker engine answers; when it does, the sample images are made current before timing."""
    try:
        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as error:  # any failure to reach it means: no docker case in this run
        console.print(f"[yellow]docker skipped: no engine answers ({type(error).__name__})[/]")
        return False
    for image in (BUSYBOX_IMAGE, SAMPLE_APP_IMAGE):
        ensure_sample_image(client, image)
    return True


def measure(service: StagetuiService, strategy: Strategy, runtime: str, repeat: int) -> dict[str, object]:
    ours: list[float] = []
    direct: list[float] = []
    steps: dict[str, list[float]] = defaultdict(list)
    by_hand = direct_runtime(service, runtime)
    stagetui_run(service, strategy, runtime, defaultdict(list))  # warm-up: caches, imports
    direct_run(service, strategy, by_hand, -1)
    for run in range(repeat):
        # Interleaved, and who goes first alternates, so drift of the machine hits both alike.
        if run % 2:
            direct.append(direct_run(service, strategy, by_hand, run))
        ours.append(stagetui_run(service, strategy, runtime, steps))
        if not run % 2:
            direct.append(direct_run(service, strategy, by_hand, run))
    return {
        "runtime": runtime,
        "strategy": strategy.value,
        "stagetui_seconds": ours,
        "direct_seconds": direct,
        "ratio": statistics.median(ours) / statistics.median(direct),
        "step_median_seconds": {name: statistics.median(v) for name, v in steps.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--runtimes", default="local,docker", help="comma-separated: local, docker")
    args = parser.parse_args()
    console = Console()
    runtimes = [name for name in args.runtimes.split(",") if name]
    if "docker" in runtimes and not docker_answers(console):
        runtimes.remove("docker")
    results: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="stagetui-bench-") as state:
        config_file = Path(state) / "bench.yaml"
        sample = (ROOT / "sample_config.yaml").read_text()
        config_file.write_text(sample.replace("customers: 50000", f"customers: {args.customers}"))
        environ = {**os.environ, "STAGETUI_STATE_DIR": str(Path(state) / "state")}
        environ.pop("STAGETUI_FAILPOINTS", None)
        service = StagetuiService.open(load_config(config_file), environ)
        console.print(f"generating the sample production ({args.customers:,} customers) …")
        ensure_production(service.core.production(), service.core.engine)
        asyncio.run(service.refresh_snapshot())
        for runtime in runtimes:
            for strategy in Strategy:
                results[f"{runtime}/{strategy.value}"] = measure(service, strategy, runtime, args.repeat)
                console.print(f"{runtime}/{strategy.value}: done")
    report(console, results, args)
    out = ROOT / "benchmarks" / "results" / f"provisioning-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "stagetui": __version__,
    }
    document = {"machine": machine, "customers": args.customers, "repeat": args.repeat, "results": results}
    out.write_text(json.dumps(document, indent=2))
    console.print(f"written {out.relative_to(ROOT)}")
    return 0


def report(console: Console, results: dict[str, dict[str, object]], args: argparse.Namespace) -> None:
    table = Table(
        title=f"Provisioning per runtime and strategy, {args.customers:,} customers, {args.repeat} runs"
    )
    for column in (
        "runtime/strategy",
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
            spread(result["stagetui_seconds"]),  # type: ignore[arg-type]
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


if __name__ == "__main__":
    raise SystemExit(main())
