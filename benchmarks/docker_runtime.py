"""Docker runtime timings: a cold start of the sample environment (three services) through stagetui's
DockerRuntime next to the same work written plainly with the docker SDK; a warm-pool claim next to a cold
`up` through the service API; and 50 environments asked for at once.

    .venv/bin/python tests/with_dockerd.py .venv/bin/python benchmarks/docker_runtime.py [--repeat 3]

with_dockerd.py starts a private Docker engine, exports DOCKER_HOST and removes it all afterwards (with
DOCKER_HOST already naming an engine that answers, it uses that one). Other options: --customers 2000 (the
sample production's size), --parallel 50 (environments asked for at once; 0 skips those cases), --workers 4
(how many start at a time: the service's max_parallel and the direct side's threads), --rounds 1.

The parallel cases report throughput (environments/minute) and each environment's latency from the common
start to healthy (p50/p90/p99/max, queueing included). The peer is the same containers made with the SDK by
`workers` threads at once, not the single cold time x N / workers: that estimate leaves out what N
environments cost the engine together (its API, healthchecks, port proxies), which is what this case is for.
The service API's 50 `up`s are shown next to it (they also subset, mask and verify data and record every
step). Each environment is removed once it is healthy, in its worker: kept up, 150 containers with
1-second healthchecks load a 2-core machine (load average ~70 seen) until that is all the run measures.

Prints tables and writes JSON under benchmarks/results/. Absolute times on shared machines are noise; the
ratios, measured in the same run, are the numbers to watch. Everything the benchmark creates on the engine
is removed even when it fails; it exits non-zero on failure, and when its final sweep finds something that
teardown left behind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import json
import os
import platform
import secrets
import shutil
import signal
import statistics
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import docker
import docker.errors
from docker.models.containers import Container
from rich.console import Console
from rich.table import Table

from stagetui import __version__
from stagetui.compose.model import ComposeProject, ServiceSpec
from stagetui.compose.parse import load_compose
from stagetui.compose.sample import packaged_compose
from stagetui.config import load_config
from stagetui.config.model import DockerRuntimeConfig
from stagetui.domain.models import Environment, EnvironmentStatus, StepPhase, Strategy
from stagetui.runtimes.docker import naming
from stagetui.runtimes.docker.image_policy import ensure_images
from stagetui.runtimes.docker.images import BUSYBOX_IMAGE, SAMPLE_APP_IMAGE, ensure_sample_image
from stagetui.runtimes.docker.runtime import DockerRuntime
from stagetui.runtimes.workspaces import START_FILE
from stagetui.sample.generator import SampleSpec, generate_production_db
from stagetui.service.api import StagetuiService
from stagetui.service.provisioning import UpResult

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 120.0  # per environment: generous, so a slow start shows in the numbers instead of failing the run
POLL = 0.1  # the direct side polls as often as stagetui's start_in_order, so polling is not what differs
STOP_TIMEOUT = 2  # the docker runtime's default grace period; the direct side stops with the same
NANOSECONDS = 1_000_000_000
BENCH_LABEL = "stagetui-bench.run"
"""Marks the direct side's resources. Not a stagetui.* label: stagetui must not take them for environments."""
Timings = dict[str, list[float]]


@dataclass(frozen=True)
class Sample:
    """What both sides of the cold start put into an environment."""

    project: ComposeProject
    database: Path
    config: bytes


@dataclass
class Owned:
    """What this run creates on the engine, so all of it (and nothing else, on a shared engine) is removed
    whatever happens."""

    token: str
    environment_ids: set[str] = field(default_factory=set)
    services: list[StagetuiService] = field(default_factory=list)

    def ids(self) -> set[str]:
        known = set(self.environment_ids)
        for service in self.services:  # the warm pool names its environments itself: the stores know them
            with contextlib.suppress(Exception):
                known |= {env.id for env in service.core.store.environments()}
        return known


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}s ±{statistics.pstdev(values):.3f}"


def ratio(numerator: list[float], denominator: list[float]) -> float:
    return statistics.median(numerator) / statistics.median(denominator)


# --- case 1: cold start, stagetui's DockerRuntime -----------------------------------------------------------


def bench_environment(environment_id: str) -> Environment:
    now = datetime.now(UTC)
    return Environment(
        environment_id,
        environment_id,
        f"bench/{environment_id}",
        Strategy.CONTAINERIZED,
        "docker",
        "bench",
        now,
        now + timedelta(hours=1),
        EnvironmentStatus.PROVISIONING,
    )


def stagetui_start(runtime: DockerRuntime, sample: Sample, environment_id: str, times: Timings) -> str:
    """What a plan's runtime steps do: workspace, data and config into it, start, wait until healthy."""
    env = bench_environment(environment_id)
    began = time.perf_counter()
    workspace = runtime.create_workspace(env)
    shutil.copyfile(sample.database, workspace.database)
    workspace.config_file.write_bytes(sample.config)
    filled = time.perf_counter()
    endpoint = runtime.start_services(env, workspace, TIMEOUT)
    started = time.perf_counter()
    runtime.wait_healthy(env, endpoint, TIMEOUT)
    healthy = time.perf_counter()
    # When each service was started, from the start of the containers (the runtime records it per start).
    started_at: dict[str, float] = json.loads((workspace.logs_dir / START_FILE).read_text())
    times["stagetui start"].append(healthy - began)
    times["stagetui: workspace"].append(filled - began)
    times["stagetui: start_services"].append(started - filled)
    times["stagetui: wait_healthy"].append(healthy - started)
    for service, seconds in started_at.items():
        times[f"stagetui started: {service}"].append(seconds)
    return environment_id


def stagetui_cold(runtime: DockerRuntime, sample: Sample, environment_id: str, times: Timings) -> None:
    stagetui_start(runtime, sample, environment_id, times)
    began = time.perf_counter()
    runtime.destroy(environment_id)
    times["stagetui teardown"].append(time.perf_counter() - began)


# --- case 1: cold start, the docker SDK directly ------------------------------------------------------------


def tar_of(files: dict[str, Path | bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, content in files.items():
            if isinstance(content, Path):
                archive.add(content, arcname=name)
            else:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def fill(client: docker.DockerClient, volume: str, payload: bytes, labels: dict[str, str]) -> None:
    """Through a container that mounts the volume and never starts, as stagetui does: the engine writes."""
    loader = client.containers.create(
        BUSYBOX_IMAGE,
        ["true"],
        volumes={volume: {"bind": "/fill", "mode": "rw"}},
        network_disabled=True,
        labels=labels,
    )
    try:
        loader.put_archive("/fill", payload)
    finally:
        loader.remove(force=True)


def run_service(
    client: docker.DockerClient,
    spec: ServiceSpec,
    prefix: str,
    network: str,
    volumes: dict[str, str],
    environment: dict[str, str],
    labels: dict[str, str],
) -> Container:
    """One service's container. Command, healthcheck, mounts and ports are read from the parsed sample file,
    so both sides run the very same containers and only the orchestration differs."""
    assert spec.image is not None
    check = spec.healthcheck
    healthcheck = (
        None
        if check is None
        else {
            "test": list(check.test),
            "interval": int(check.interval * NANOSECONDS),
            "timeout": int(check.timeout * NANOSECONDS),
            "retries": check.retries,
            "start_period": int(check.start_period * NANOSECONDS),
        }
    )
    container = client.containers.create(
        spec.image,
        list(spec.command) if spec.command is not None else None,
        name=f"{prefix}-{spec.name}",
        hostname=spec.name,
        environment={**spec.environment, **environment},
        labels=labels,
        volumes={
            volumes[m.source]: {"bind": m.target, "mode": "ro" if m.read_only else "rw"}
            for m in spec.volumes
            if m.source is not None
        },
        ports={f"{p.container_port}/{p.protocol}": (p.host_ip, p.host_port) for p in spec.ports},
        network=network,
        # Other services reach it by its service name (the app calls http://assets:8081/).
        networking_config={network: client.api.create_endpoint_config(aliases=[spec.name])},
        healthcheck=healthcheck,
        # As stagetui creates them: busybox sh as PID 1 would ignore SIGTERM and wait out the grace period.
        init=True,
        use_config_proxy=False,
    )
    container.start()
    return container


def wait_until_healthy(container: Container) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        container.reload()
        state = container.attrs["State"]
        health = (state.get("Health") or {}).get("Status")
        if health == "healthy":
            return
        if state.get("Status") in {"exited", "dead"} or health == "unhealthy":
            raise RuntimeError(f"{container.name} is {state.get('Status')}, health {health}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{container.name} not healthy within {TIMEOUT:.0f}s (health {health})")
        time.sleep(POLL)


def get_until_ok(url: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer 200 within {TIMEOUT:.0f}s")
        time.sleep(POLL)


@dataclass
class DirectEnvironment:
    """What direct_start made, for direct_stop."""

    containers: list[Container]
    network: Any
    volumes: list[Any]


def direct_start(
    client: docker.DockerClient, sample: Sample, prefix: str, token: str, times: Timings
) -> DirectEnvironment:
    """The sample environment by hand, one call after another: network, volumes and their contents, then
    assets, app and worker, each after the one it depends on is healthy, then GET /health."""
    labels = {BENCH_LABEL: token}
    services = sample.project.services
    began = time.perf_counter()
    network = client.networks.create(prefix, driver="bridge", labels=labels)
    data = client.volumes.create(f"{prefix}-data", labels=labels)
    config = client.volumes.create(f"{prefix}-config", labels=labels)
    made = DirectEnvironment([], network, [data, config])
    fill(client, data.name, tar_of({"app.db": sample.database}), labels)
    fill(client, config.name, tar_of({"config.json": sample.config}), labels)
    filled = time.perf_counter()
    volumes = {"data": data.name, "config": config.name}
    assets = run_service(client, services["assets"], prefix, network.name, volumes, {}, labels)
    made.containers.insert(0, assets)
    times["direct started: assets"].append(time.perf_counter() - filled)
    wait_until_healthy(assets)
    app_environment = {"STAGETUI_ENV_ID": prefix}  # stagetui sets it too; the app reports it
    app = run_service(client, services["app"], prefix, network.name, volumes, app_environment, labels)
    made.containers.insert(0, app)
    times["direct started: app"].append(time.perf_counter() - filled)
    wait_until_healthy(app)
    worker = run_service(client, services["worker"], prefix, network.name, volumes, {}, labels)
    made.containers.insert(0, worker)
    started = time.perf_counter()
    times["direct started: worker"].append(started - filled)
    app.reload()
    port = app.ports["8080/tcp"][0]["HostPort"]
    get_until_ok(f"http://127.0.0.1:{port}/health")
    healthy = time.perf_counter()
    times["direct start"].append(healthy - began)
    times["direct: network and volumes"].append(filled - began)
    times["direct: containers"].append(started - filled)
    times["direct: GET /health"].append(healthy - started)
    return made


def direct_stop(made: DirectEnvironment) -> None:
    for container in made.containers:  # dependents first
        container.stop(timeout=STOP_TIMEOUT)
        container.remove(v=True)
    made.network.remove()
    for volume in made.volumes:
        volume.remove()


def direct_cold(client: docker.DockerClient, sample: Sample, prefix: str, token: str, times: Timings) -> None:
    made = direct_start(client, sample, prefix, token, times)
    began = time.perf_counter()
    direct_stop(made)
    times["direct teardown"].append(time.perf_counter() - began)


def image_check_seconds(client: docker.DockerClient, project: ComposeProject, runs: int = 5) -> float:
    """What start_services spends making sure the (present, current) images are there, on every start."""
    seconds = []
    for _ in range(runs):
        began = time.perf_counter()
        ensure_images(client, project, "never", lambda _fraction, _message: None)
        seconds.append(time.perf_counter() - began)
    return statistics.median(seconds)


def make_sample(work: Path, customers: int) -> Sample:
    project = load_compose(packaged_compose(), os.environ)
    database = work / "sample.db"
    generate_production_db(database, SampleSpec(customers=customers, now=datetime(2026, 1, 15, tzinfo=UTC)))
    # The sample service needs /config/config.json to be a JSON object; nothing in it is read for /health.
    config = json.dumps({"app": {"name": "docker-runtime-benchmark"}}, indent=2).encode()
    return Sample(project, database, config)


def cold_start_case(
    client: docker.DockerClient,
    runtime: DockerRuntime,
    sample: Sample,
    owned: Owned,
    repeat: int,
    console: Console,
) -> dict[str, Any]:
    project, database = sample.project, sample.database
    times: Timings = defaultdict(list)

    def stagetui_side(name: str, into: Timings) -> None:
        owned.environment_ids.add(name)
        stagetui_cold(runtime, sample, name, into)

    def direct_side(name: str, into: Timings) -> None:
        direct_cold(client, sample, f"bench-direct-{name}", owned.token, into)

    # Warm-up, not recorded: a fresh engine's first containers of an image pay for mounting its layers.
    stagetui_side(f"bench-{owned.token}-warmup", defaultdict(list))
    direct_side(f"{owned.token}-warmup", defaultdict(list))
    for run in range(repeat):
        sides = [(stagetui_side, f"bench-{owned.token}-{run}"), (direct_side, f"{owned.token}-{run}")]
        # Interleaved, and who goes first alternates: the engine may still be settling the previous
        # teardown when the next start begins, and that must not always hit the same side.
        for side, name in sides if run % 2 == 0 else sides[::-1]:
            side(name, times)
        console.print(f"cold start: run {run + 1}/{repeat} done")
    return {
        "services": list(project.services),
        "data_bytes": database.stat().st_size,
        "seconds": dict(times),
        "median_seconds": {name: statistics.median(values) for name, values in times.items()},
        "ratio_start": ratio(times["stagetui start"], times["direct start"]),
        "ratio_teardown": ratio(times["stagetui teardown"], times["direct teardown"]),
        "stagetui_image_check_seconds": image_check_seconds(client, project),
    }


# --- cases 2 and 3: the service API -----------------------------------------------------------------------


def open_service(directory: Path, customers: int, pool_size: int, workers: int) -> StagetuiService:
    """The sample config (as provisioning.py uses it) with a smaller production, the given pool size and
    max_parallel."""
    text = (ROOT / "sample_config.yaml").read_text()
    for old, new in (
        ("customers: 50000", f"customers: {customers}"),
        ("  max_parallel: 4\n", f"  max_parallel: {workers}\n"),
        ("      size: 0\n", f"      size: {pool_size}\n"),
    ):
        if old not in text:
            raise SystemExit(f"sample_config.yaml changed: no {old.strip()!r} to replace")
        text = text.replace(old, new)
    directory.mkdir(parents=True)
    path = directory / "bench.yaml"
    path.write_text(text)
    environ = {**os.environ, "STAGETUI_STATE_DIR": str(directory / "state")}
    for name in ("STAGETUI_FAILPOINTS", "STAGETUI_CONFIG"):
        environ.pop(name, None)
    return StagetuiService.open(load_config(path, environ), environ)


def up(service: StagetuiService, branch: str) -> tuple[UpResult, float]:
    began = time.perf_counter()
    result = asyncio.run(service.up(service.up_request(branch, runtime="docker", strategy="containerized")))
    wall = time.perf_counter() - began
    if not result.ok:
        raise RuntimeError(f"up {branch} failed at {result.outcome.failed_step}: {result.outcome.error}")
    return result, wall


def down(service: StagetuiService, environment_id: str) -> float:
    began = time.perf_counter()
    asyncio.run(service.down(environment_id))
    return time.perf_counter() - began


def tear_down_all(service: StagetuiService) -> None:
    """Whatever of this service still lives, after a failure too (errors here must not hide the first)."""
    with contextlib.suppress(Exception):
        asyncio.run(service.drain_pool())
    for env in service.core.store.environments():
        if env.status.is_live:
            with contextlib.suppress(Exception):
                asyncio.run(service.down(env.id))


def warm_pool_case(
    pooled: StagetuiService, cold: StagetuiService, owned: Owned, repeat: int, console: Console
) -> dict[str, Any]:
    for service in (pooled, cold):
        asyncio.run(service.prepare_production())
        # Warm-up, not recorded: the first provisioning run pays for imports and the first subset.
        result, _ = up(service, f"bench-{owned.token}-warmup")
        down(service, result.environment.id)
    began = time.perf_counter()
    filled = asyncio.run(pooled.fill_pool())
    fill_seconds = time.perf_counter() - began
    if filled.busy or len(filled.built) != repeat or not all(r.ok for r in filled.built):
        errors = [r.outcome.error for r in filled.built if not r.ok]
        raise RuntimeError(f"filling the pool gave {len(filled.built)}/{repeat} environments: {errors}")
    console.print(f"warm pool: {repeat} environment(s) ready in {fill_seconds:.1f}s")
    times: Timings = defaultdict(list)
    steps: Timings = defaultdict(list)
    for run in range(repeat):
        # Interleaved; each environment goes as soon as it is measured, so the engine's load (pooled
        # environments run their healthchecks every second) only shrinks as the run goes on, alike for both.
        claimed, wall = up(pooled, f"bench-{owned.token}-claim-{run}")
        if not claimed.claimed or claimed.environment.claim_seconds is None:
            raise RuntimeError(f"up did not claim from the pool (run {run}): {claimed.environment.id}")
        times["claim seconds"].append(claimed.environment.claim_seconds)
        times["claim wall"].append(wall)
        times["down claimed"].append(down(pooled, claimed.environment.id))
        result, wall = up(cold, f"bench-{owned.token}-cold-{run}")
        if result.claimed:
            raise RuntimeError("the pool-less service claimed an environment")
        times["cold wall"].append(wall)
        times["cold provision seconds"].append(result.environment.provision_seconds or 0.0)
        for record in result.outcome.records:  # where a cold up's time goes beyond the runtime's part
            if record.phase is StepPhase.PROVISION:
                steps[record.name].append(record.seconds)
        times["down cold"].append(down(cold, result.environment.id))
        console.print(f"warm pool: run {run + 1}/{repeat} done")
    drained, drain_errors = asyncio.run(pooled.drain_pool())
    if drain_errors:
        raise RuntimeError(f"draining the pool failed: {drain_errors}")
    return {
        "pool_size": repeat,
        "fill_seconds": fill_seconds,
        "drained": [r.environment.id for r in drained],
        "seconds": dict(times),
        "median_seconds": {name: statistics.median(values) for name, values in times.items()},
        "cold_step_median_seconds": {name: statistics.median(v) for name, v in steps.items()},
        "cold_over_claim": ratio(times["cold wall"], times["claim seconds"]),
        "cold_over_claim_wall": ratio(times["cold wall"], times["claim wall"]),
    }


def percentiles(latencies: list[float], walls: list[float], count: int) -> dict[str, float]:
    """Throughput of a round (environments per minute, median over rounds) and per-environment latency."""
    cuts = (
        statistics.quantiles(latencies, n=100, method="inclusive") if len(latencies) > 1 else latencies * 99
    )
    return {
        "envs_per_minute": statistics.median(count / wall * 60 for wall in walls),
        "p50_latency_seconds": statistics.median(latencies),
        "p90_latency_seconds": cuts[89],
        "p99_latency_seconds": cuts[98],
        "max_latency_seconds": max(latencies),
    }


async def parallel_round(service: StagetuiService, branches: list[str]) -> tuple[float, list[float]]:
    """`up` of every branch at once; each one's latency from the common start, and the round's wall time.
    The orchestrator runs max_parallel of them at a time; the others wait their turn (and that counts)."""
    began = time.perf_counter()

    async def one(branch: str) -> tuple[UpResult, float]:
        result = await service.up(service.up_request(branch, runtime="docker", strategy="containerized"))
        latency = time.perf_counter() - began
        if result.ok:  # removed once up, as in parallel_runtime_case (a failed one is rolled back)
            await service.down(result.environment.id)
        return result, latency

    outcomes = await asyncio.gather(*(one(b) for b in branches), return_exceptions=True)
    wall = time.perf_counter() - began
    latencies, failures = [], []
    for branch, outcome in zip(branches, outcomes, strict=True):
        if isinstance(outcome, BaseException):
            failures.append(f"{branch}: {outcome!r}")
            continue
        result, latency = outcome
        if result.ok:
            latencies.append(latency)
        else:
            failures.append(f"{branch}: {result.outcome.failed_step}: {result.outcome.error}")
    if failures:
        raise RuntimeError("parallel up failed: " + "; ".join(failures))
    return wall, latencies


def parallel_case(
    service: StagetuiService, owned: Owned, count: int, rounds: int, console: Console
) -> dict[str, Any]:
    walls: list[float] = []
    latencies: list[float] = []
    for run in range(rounds):
        branches = [f"bench-{owned.token}-par-{run}-{n}" for n in range(count)]
        wall, latency = asyncio.run(parallel_round(service, branches))
        walls.append(wall)
        latencies += latency
        console.print(f"parallel up: round {run + 1}/{rounds} done in {wall:.1f}s")
    return {
        "environments": count,
        "rounds": rounds,
        "max_parallel": service.config.orchestrator.max_parallel,
        "wall_seconds": walls,
        "latency_seconds": latencies,
        **percentiles(latencies, walls, count),
    }


def threaded_round(
    start: Callable[[str, Timings], object],
    stop: Callable[[object], object],
    names: list[str],
    workers: int,
) -> tuple[float, list[float]]:
    """Every start submitted at once to `workers` threads; latency of each from the common start to healthy.
    Each environment is removed by its thread once measured (see parallel_runtime_case)."""
    began = time.perf_counter()

    def one(name: str) -> float:
        made = start(name, defaultdict(list))
        latency = time.perf_counter() - began
        stop(made)
        return latency

    pool = ThreadPoolExecutor(max_workers=workers)
    try:
        futures = [pool.submit(one, name) for name in names]
        wait(futures)
    finally:  # interrupted: the queued ones never start (the running ones end, then the sweep removes all)
        pool.shutdown(wait=True, cancel_futures=True)
    wall = time.perf_counter() - began
    errors = [repr(f.exception()) for f in futures if f.exception() is not None]
    if errors:
        raise RuntimeError(f"{len(errors)} parallel start(s) failed: {errors[0]}")
    return wall, [f.result() for f in futures]


def parallel_runtime_case(
    client: docker.DockerClient,
    runtime: DockerRuntime,
    sample: Sample,
    owned: Owned,
    args: argparse.Namespace,
    console: Console,
) -> dict[str, Any]:
    """The same N environments as the cold-start case, all asked for at once and started by `workers`
    threads: through DockerRuntime, and with the SDK directly. Same containers, same data, same concurrency,
    so this is the honest peer of stagetui's runtime under load (N x the single cold time / workers would
    ignore the engine's contention). Each environment is removed once it answers, in its thread, on both
    sides: kept up, 150 containers with 1-second healthchecks load a 2-core machine (load average ~70
    seen) until that is all the run measures."""
    count, workers = args.parallel, args.workers
    results: dict[str, Any] = {"environments": count, "workers": workers, "rounds": args.rounds}
    for side in ("stagetui", "direct"):
        walls: list[float] = []
        latencies: list[float] = []
        for run in range(args.rounds):
            names = [f"bench-{owned.token}-thr-{side[0]}{run}-{n}" for n in range(count)]
            if side == "stagetui":
                owned.environment_ids.update(names)
                wall, latency = threaded_round(
                    lambda name, into: stagetui_start(runtime, sample, name, into),
                    lambda name: runtime.destroy(str(name)),
                    names,
                    workers,
                )
            else:
                wall, latency = threaded_round(
                    lambda name, into: direct_start(client, sample, name, owned.token, into),
                    lambda made: direct_stop(made),  # type: ignore[arg-type]
                    names,
                    workers,
                )
            walls.append(wall)
            latencies += latency
            console.print(f"parallel {side}: round {run + 1}/{args.rounds} done in {wall:.1f}s")
        results[side] = {"wall_seconds": walls, "latency_seconds": latencies}
        results[side].update(percentiles(latencies, walls, count))
    results["throughput_ratio"] = (
        results["stagetui"]["envs_per_minute"] / results["direct"]["envs_per_minute"]
    )
    results["p99_ratio"] = (
        results["stagetui"]["p99_latency_seconds"] / results["direct"]["p99_latency_seconds"]
    )
    return results


# --- cleanup ------------------------------------------------------------------------------------------------


def sweep(client: docker.DockerClient, owned: Owned) -> list[str]:
    """Remove what this run created and is still there; returns what it found (empty when teardown was
    complete). Only resources marked with this run's token or an environment id of this run."""
    ids = owned.ids()

    def ours(labels: dict[str, str] | None) -> bool:
        labels = labels or {}
        return labels.get(BENCH_LABEL) == owned.token or labels.get(naming.ENV_LABEL) in ids

    found: list[str] = []
    for label in (BENCH_LABEL, naming.ENV_LABEL):
        for container in client.containers.list(all=True, filters={"label": label}):
            if ours(container.labels):
                found.append(f"container {container.name}")
                with contextlib.suppress(docker.errors.NotFound):
                    container.remove(force=True, v=True)
    for label in (BENCH_LABEL, naming.ENV_LABEL):
        for network in client.networks.list(filters={"label": label}):
            if ours(network.attrs.get("Labels")):
                found.append(f"network {network.name}")
                with contextlib.suppress(docker.errors.NotFound):
                    network.remove()
        for volume in client.volumes.list(filters={"label": label}):
            if ours(volume.attrs.get("Labels")):
                found.append(f"volume {volume.name}")
                with contextlib.suppress(docker.errors.NotFound):
                    volume.remove(force=True)
    return found


def interrupted(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM (with_dockerd forwards it) would end the process without running the finally blocks.
    raise SystemExit(128 + signum)


# --- report -----------------------------------------------------------------------------------------------


def report(console: Console, results: dict[str, Any], repeat: int) -> None:
    cold = results["cold_start"]
    seconds = cold["seconds"]
    table = Table(title=f"Cold start of the sample environment (3 services) on Docker, {repeat} runs")
    for column in ("", "stagetui (median ±sd)", "docker SDK direct (median ±sd)", "stagetui/direct"):
        table.add_column(column)
    table.add_row(
        "start to healthy",
        spread(seconds["stagetui start"]),
        spread(seconds["direct start"]),
        f"{cold['ratio_start']:.2f}x",
    )
    table.add_row(
        "teardown",
        spread(seconds["stagetui teardown"]),
        spread(seconds["direct teardown"]),
        f"{cold['ratio_teardown']:.2f}x",
    )
    console.print(table)
    phases = cold["median_seconds"]
    for side in ("stagetui", "direct"):
        parts = [f"{k.split(': ')[1]} {v:.3f}s" for k, v in phases.items() if k.startswith(f"{side}: ")]
        console.print(f"[bold]{side}[/] phases: " + ", ".join(parts))
        parts = [
            f"{service} {phases[f'{side} started: {service}']:.3f}s"
            for service in ("assets", "app", "worker")
        ]
        console.print(f"[bold]{side}[/] services started, after the volumes: " + ", ".join(parts))
    console.print(f"image check in every start_services: {cold['stagetui_image_check_seconds']:.3f}s")

    pool = results["warm_pool"]
    seconds = pool["seconds"]
    table = Table(title=f"Warm-pool claim against a cold `up` (service API, containerized), {repeat} runs")
    for column in ("", "median ±sd", "cold up (wall) / this"):
        table.add_column(column)
    cold_up = statistics.median(seconds["cold wall"])
    rows = (
        ("claim (claim_seconds)", "claim seconds", True),
        ("claim (wall of up)", "claim wall", True),
        ("cold up (wall)", "cold wall", False),
        ("cold up (provision_seconds)", "cold provision seconds", False),
        ("down of a claimed one", "down claimed", False),
        ("down of a cold one", "down cold", False),
    )
    for label, key, compared in rows:
        share = f"{cold_up / statistics.median(seconds[key]):.0f}x" if compared else "-"
        table.add_row(label, spread(seconds[key]), share)
    console.print(table)
    console.print(f"pool of {pool['pool_size']} filled in {pool['fill_seconds']:.1f}s")
    step_medians = pool["cold_step_median_seconds"]
    console.print(
        "[bold]cold up[/] steps: " + ", ".join(f"{name} {value:.3f}s" for name, value in step_medians.items())
    )

    if "parallel" in results:
        parallel_report(console, results["parallel"], results.get("parallel_runtime"), cold_up)


def parallel_report(
    console: Console, par: dict[str, Any], threaded: dict[str, Any] | None, cold_up: float
) -> None:
    columns = ("", "wall", "envs/minute", "p50", "p90", "p99", "max")

    def row(label: str, side: dict[str, Any]) -> list[str]:
        keys = ("p50_latency_seconds", "p90_latency_seconds", "p99_latency_seconds", "max_latency_seconds")
        return [
            label,
            f"{statistics.median(side['wall_seconds']):.1f}s",
            f"{side['envs_per_minute']:.1f}",
            *(f"{side[key]:.2f}s" for key in keys),
        ]

    count = par["environments"]
    if threaded is not None:
        table = Table(
            title=f"{threaded['environments']} sample environments at once, {threaded['workers']} threads "
            f"(runtime only: same containers and data), {threaded['rounds']} round(s)"
        )
        for column in columns:
            table.add_column(column)
        table.add_row(*row("stagetui DockerRuntime", threaded["stagetui"]))
        table.add_row(*row("docker SDK direct", threaded["direct"]))
        console.print(table)
        ratios = f"throughput {threaded['throughput_ratio']:.2f}x, p99 {threaded['p99_ratio']:.2f}x"
        console.print(f"stagetui/direct: {ratios}")
    table = Table(
        title=f"{count} `up` at once through the service API (containerized, max_parallel "
        f"{par['max_parallel']}), {par['rounds']} round(s)"
    )
    for column in columns:
        table.add_column(column)
    table.add_row(*row("stagetui up", par))
    serial = count * cold_up
    table.add_row(f"{count} cold ups in a row (estimate)", f"{serial:.1f}s", f"{60 / cold_up:.1f}", *"----")
    console.print(table)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--customers", type=int, default=2_000, help="sample production of the service cases")
    parser.add_argument("--parallel", type=int, default=50, help="environments started at once (0: skip)")
    parser.add_argument(
        "--workers", type=int, default=4, help="started at a time (max_parallel; the direct side's threads)"
    )
    parser.add_argument("--rounds", type=int, default=1, help="rounds of the parallel cases")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    signal.signal(signal.SIGTERM, interrupted)
    console = Console()
    client = docker.from_env(timeout=120)
    client.ping()
    owned = Owned(secrets.token_hex(3))
    results: dict[str, Any] = {}
    leftovers: list[str] = []
    with tempfile.TemporaryDirectory(prefix="stagetui-bench-docker-") as tmp:
        work = Path(tmp)
        try:
            for image in (BUSYBOX_IMAGE, SAMPLE_APP_IMAGE):  # built before anything is timed
                started = time.perf_counter()
                built = ensure_sample_image(client, image)
                console.print(
                    f"{image}: {'built' if built else 'current'} in {time.perf_counter() - started:.1f}s"
                )
            sample = make_sample(work, args.customers)
            runtime = DockerRuntime(work / "workspaces", DockerRuntimeConfig(pull="never"), os.environ)
            results["cold_start"] = cold_start_case(client, runtime, sample, owned, args.repeat, console)
            if args.parallel > 0:
                results["parallel_runtime"] = parallel_runtime_case(
                    client, runtime, sample, owned, args, console
                )
            pooled = open_service(work / "pooled", args.customers, args.repeat, args.workers)
            cold = open_service(work / "cold", args.customers, 0, args.workers)
            owned.services += [pooled, cold]
            try:
                results["warm_pool"] = warm_pool_case(pooled, cold, owned, args.repeat, console)
                if args.parallel > 0:
                    results["parallel"] = parallel_case(cold, owned, args.parallel, args.rounds, console)
            finally:
                for service in (pooled, cold):
                    tear_down_all(service)
        finally:
            leftovers = sweep(client, owned)  # before the temp dir goes: the stores name the environments
    report(console, results, args.repeat)
    engine = client.version()
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "stagetui": __version__,
        "docker_sdk": docker.__version__,
        "engine": engine.get("Version"),
        "engine_api": engine.get("ApiVersion"),
        "storage_driver": client.info().get("Driver"),
    }
    out = ROOT / "benchmarks" / "results" / f"docker-runtime-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "machine": machine,
        "repeat": args.repeat,
        "customers": args.customers,
        "results": results,
        "left_behind": leftovers,
    }
    out.write_text(json.dumps(document, indent=2))
    console.print(f"written {out.relative_to(ROOT)}")
    if leftovers:
        console.print(f"[red]left behind by teardown (now removed):[/] {', '.join(leftovers)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
