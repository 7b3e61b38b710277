"""Swarm runtime timings on a real two-node swarm (the integration tests' cluster, built and always torn
down here): a 3-service environment provisioned to ready and torn down through stagetui's SwarmRuntime
next to the same services made plainly with docker-py's low-level API; scaling a service 1 -> 3 with
SwarmRuntime.scale() next to docker-py's Service.scale() (time, and how many running tasks were
restarted); a config rollout (update_config) next to a plain update_service with a new config.

    .venv/bin/python benchmarks/swarm_runtime.py [--repeat 3] [--json PATH]

Needs root, ip, nsenter, unshare and dockerd. Prints a table, and writes JSON with --json. Absolute times
on shared machines are noise; the ratios, measured in the same run and interleaved, are the numbers to watch.
Which side goes first alternates run by run: an even --repeat balances the order.
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import urllib.request
from argparse import ArgumentParser, RawDescriptionHelpFormatter
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import docker
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the cluster helper lives with the integration tests

from stagetui import __version__  # noqa: E402
from stagetui.compose.model import ComposeProject, ServiceSpec  # noqa: E402
from stagetui.compose.parse import load_compose  # noqa: E402
from stagetui.config.swarm import SwarmRuntimeConfig  # noqa: E402
from stagetui.domain.models import Environment, EnvironmentStatus, Strategy  # noqa: E402
from stagetui.runtimes.docker.images import BUSYBOX_IMAGE, SAMPLE_APP_IMAGE  # noqa: E402
from stagetui.runtimes.swarm.runtime import SwarmRuntime  # noqa: E402
from stagetui.sample.generator import SampleSpec, generate_production_db  # noqa: E402
from tests.integration.swarm_cluster import SwarmCluster, running_swarm  # noqa: E402

# The integration tests' 3-service definition, spread over both nodes (imported, not type-checked: a test).
SWARM_COMPOSE: str = importlib.import_module("tests.integration.test_swarm_runtime").SWARM_COMPOSE

TIMEOUT = 120.0
POLL = 0.25  # as stagetui's Rollout polls
NS = 1_000_000_000
STOP_GRACE = 2  # stagetui's default stop_timeout; the direct services get the same
BENCH_LABEL = "stagetui-bench.env"  # not stagetui.*: stagetui must not take the direct side for environments
Timings = dict[str, list[float]]  # seconds, and a few counts (tasks restarted)
CASES = {"up": "provision to ready", "down": "teardown", "3-running": "scale 1 -> 3: 3 tasks run"}
CASES |= {"scale": "scale 1 -> 3: settled", "rollout": "config rollout"}


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.2f}s ±{statistics.pstdev(values):.2f}"


def wait(what: str, probe: Callable[[], object]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not probe():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what}: not within {TIMEOUT:.0f}s")
        time.sleep(POLL)


def clock(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def running_tasks(api: Any, service_id: str) -> set[str]:
    tasks = api.tasks(filters={"service": service_id, "desired-state": "running"})
    return {t["ID"] for t in tasks if t["Status"]["State"] == "running"}


def all_running(api: Any, wanted: dict[str, int]) -> bool:
    return all(len(running_tasks(api, service_id)) >= replicas for service_id, replicas in wanted.items())


def config_json(flag: str) -> bytes:
    return json.dumps({"app": {"name": "swarm-benchmark"}, "env": {"FEATURE_SWARM": flag}}).encode()


# --- the direct way: docker-py's low-level API -------------------------------------------------------------


@dataclass
class Direct:
    prefix: str
    network: str = ""
    services: dict[str, str] = field(default_factory=dict)  # compose name -> id
    configs: dict[str, tuple[str, str]] = field(default_factory=dict)  # file name -> config id, name


def template(spec: ServiceSpec, d: Direct, env: dict[str, str], files: dict[str, bytes]) -> dict[str, Any]:
    """The service as stagetui would run it (command, healthcheck, placement, init, grace period, files as
    configs where it mounts the data and config volumes), read from the same parsed compose file."""
    assert spec.image is not None
    check, configs = spec.healthcheck, []
    for mount in spec.volumes:
        name = {"data": "app.db", "config": "config.json"}.get(mount.source or "")
        if name in files:
            file = {"Name": f"{mount.target}/{name}", "UID": "0", "GID": "0", "Mode": 0o444}
            config_id, config_name = d.configs[name]
            configs.append({"ConfigID": config_id, "ConfigName": config_name, "File": file})
    container: dict[str, Any] = {
        "Image": spec.image,
        "Args": list(spec.command or ()),
        "Env": [f"{k}={v}" for k, v in {**spec.environment, **env}.items()],
        "Labels": {BENCH_LABEL: d.prefix},
        "Hostname": spec.name,
        "Init": True,
        "StopGracePeriod": STOP_GRACE * NS,
        "Configs": configs,
    }
    if check is not None:
        seconds = {"Interval": check.interval, "Timeout": check.timeout, "StartPeriod": check.start_period}
        durations = {key: int(value * NS) for key, value in seconds.items()}
        container["Healthcheck"] = {"Test": list(check.test), "Retries": check.retries, **durations}
    placement: dict[str, Any] = {"Constraints": list(spec.deploy.constraints)}
    if spec.deploy.max_replicas_per_node is not None:
        placement["MaxReplicas"] = spec.deploy.max_replicas_per_node
    networks = [{"Target": d.network, "Aliases": [spec.name]}]
    return {"ContainerSpec": container, "Networks": networks, "Placement": placement}


def direct_up(cluster: SwarmCluster, project: ComposeProject, d: Direct, files: dict[str, bytes]) -> None:
    """Network, configs, then the services level by level, each level waited for until every replica runs;
    then GET /health at the app task's host port on its node."""
    api, labels = cluster.manager.api, {BENCH_LABEL: d.prefix}
    d.network = api.create_network(d.prefix, driver="overlay", attachable=True, labels=labels)["Id"]
    for name, content in files.items():
        config = f"{d.prefix}-{name}"
        d.configs[name] = (api.create_config(config, content, labels=labels)["ID"], config)
    env = {"FEATURE_SWARM": "off", "STAGETUI_ENV_ID": d.prefix}  # what stagetui gives the config service
    for level in project.start_levels:
        for name in level:
            spec = project.services[name]
            ports = [{"TargetPort": p.container_port, "PublishMode": "host"} for p in spec.ports]
            update = spec.deploy.update
            d.services[name] = api.create_service(
                template(spec, d, env if name == project.config_service else {}, files),
                name=f"{d.prefix}-{name}",
                labels=labels,
                mode={"Replicated": {"Replicas": spec.deploy.replicas}},
                # As the compose file says, like stagetui's (Swarm's own monitor default is 5 s).
                update_config={
                    "Parallelism": update.parallelism,
                    "Delay": round(update.delay * 1e9),
                    "Monitor": round(update.monitor * 1e9),
                    "Order": update.order,
                    "FailureAction": update.failure_action,
                },
                endpoint_spec={"Mode": "dnsrr", "Ports": ports},
            )["ID"]
        wanted = {d.services[n]: project.services[n].deploy.replicas for n in level}
        wait(f"{', '.join(level)} running", partial(all_running, api, wanted))
    (task,) = api.tasks(filters={"service": d.services["app"], "desired-state": "running"})
    port = task["Status"]["PortStatus"]["Ports"][0]["PublishedPort"]
    address = {cluster.node_ids[n]: a for n, a in cluster.addresses.items()}[task["NodeID"]]

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://{address}:{port}/health", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    wait("GET /health", healthy)


def direct_down(api: Any, d: Direct) -> None:
    for service_id in d.services.values():
        api.remove_service(service_id)
    wait("tasks gone", lambda: not api.tasks(filters={"label": f"{BENCH_LABEL}={d.prefix}"}))
    for config_id, _ in d.configs.values():
        api.remove_config(config_id)
    api.remove_network(d.network)


def direct_rollout(cluster: SwarmCluster, d: Direct, flag: str) -> None:
    """A new config.json and variable for the app: a new config, update_service, wait for the update."""
    api, app = cluster.manager.api, d.services["app"]
    old, name = d.configs["config.json"][0], f"{d.prefix}-config-{flag}"
    new = api.create_config(name, config_json(flag), labels={BENCH_LABEL: d.prefix})["ID"]
    d.configs["config.json"] = (new, name)
    spec = api.inspect_service(app)
    before = (spec.get("UpdateStatus") or {}).get("StartedAt")
    task_template = spec["Spec"]["TaskTemplate"]
    container = task_template["ContainerSpec"]
    container["Env"] = [e for e in container["Env"] if not e.startswith("FEATURE_SWARM=")]
    container["Env"].append(f"FEATURE_SWARM={flag}")
    for mounted in container["Configs"]:
        if mounted["ConfigID"] == old:
            mounted.update(ConfigID=new, ConfigName=name)
    api.update_service(app, spec["Version"]["Index"], task_template=task_template, fetch_current_spec=True)

    def done() -> bool:
        status = api.inspect_service(app).get("UpdateStatus") or {}
        return status.get("State") == "completed" and status.get("StartedAt") != before

    wait("the app's rolling update", done)
    api.remove_config(old)


# --- one run: both environments up, scaled, reconfigured, down -----------------------------------------


def one_run(
    cluster: SwarmCluster, runtime: SwarmRuntime, project: ComposeProject, data: Path, name: str, flip: bool
) -> Timings:
    """Both environments up, the caller scaled 1 -> 3 on each, a config rolled out to each, both down;
    who goes first alternates with `flip`."""
    api, d, now = cluster.manager.api, Direct(f"bench-direct-{name}"), datetime.now(UTC)
    status, expires, kind = EnvironmentStatus.PROVISIONING, now + timedelta(hours=1), Strategy.CONTAINERIZED
    env = Environment(name, name, f"bench/{name}", kind, "swarm", "bench", now, expires, status)
    files = {"app.db": data.read_bytes(), "config.json": config_json("off")}
    times: Timings = defaultdict(list)

    def both(key: str, stagetui: Callable[[], float], direct: Callable[[], float]) -> None:
        for side, action in (("stagetui", stagetui), ("direct", direct))[:: -1 if flip else 1]:
            times[f"{side} {key}"].append(action())

    def stagetui_up() -> None:
        workspace = runtime.create_workspace(env)
        shutil.copyfile(data, workspace.database)
        workspace.config_file.write_bytes(files["config.json"])
        runtime.wait_healthy(env, runtime.start_services(env, workspace, TIMEOUT), TIMEOUT)

    both("up", lambda: clock(stagetui_up), lambda: clock(lambda: direct_up(cluster, project, d, files)))
    services = api.services(filters={"label": f"stagetui.env={env.id}"})
    ids = {s["Spec"]["Labels"]["stagetui.service"]: s["ID"] for s in services}

    def scaled(side: str, service_id: str, scale: Callable[[], object]) -> float:
        """Until 3 run, and until 3 run with no update under way (Swarm then waits its update monitor
        period, 5 s by default, before it calls the update completed); restarts are counted a second later."""
        before = running_tasks(api, service_id)

        def settled() -> bool:
            state = (api.inspect_service(service_id).get("UpdateStatus") or {}).get("State")
            return state in {None, "completed"} and len(running_tasks(api, service_id)) >= 3

        def scale_and_wait() -> None:
            began = time.perf_counter()
            scale()
            wait("3 callers running", lambda: len(running_tasks(api, service_id)) >= 3)
            times[f"{side} 3-running"].append(time.perf_counter() - began)
            wait("the update settled", settled)

        took = clock(scale_and_wait)
        time.sleep(1.0)
        times[f"{side} restarted"].append(len(before - running_tasks(api, service_id)))
        times[f"{side} running before"].append(len(before))
        return took

    caller = d.services["caller"]
    both(
        "scale",
        lambda: scaled("stagetui", ids["caller"], lambda: runtime.scale(env.id, "caller", 3, TIMEOUT)),
        lambda: scaled("direct", caller, lambda: cluster.manager.services.get(caller).scale(3)),
    )

    def stagetui_rollout() -> float:
        workspace, old_apps = runtime.workspace(env.id), running_tasks(api, ids["app"])
        workspace.config_file.write_bytes(config_json(f"on-{name}"))
        took = clock(lambda: runtime.update_config(env, workspace, TIMEOUT))
        # update_config should return once the rolling update is done: the old task replaced (start-first).
        times["stagetui old app tasks at return"].append(len(old_apps & running_tasks(api, ids["app"])))
        return took

    both("rollout", stagetui_rollout, lambda: clock(lambda: direct_rollout(cluster, d, f"on-{name}")))
    both("down", lambda: clock(lambda: runtime.destroy(env.id)), lambda: clock(lambda: direct_down(api, d)))
    return times


# --- report -------------------------------------------------------------------------------------------------


def report(console: Console, times: Timings, repeat: int) -> dict[str, float]:
    table = Table(title=f"Swarm runtime, two-node swarm, 3 services, {repeat} runs")
    for column in ("", "stagetui", "direct", "stagetui/direct"):
        table.add_column(column)
    ratios = {}
    for key, label in CASES.items():
        mine, theirs = times[f"stagetui {key}"], times[f"direct {key}"]
        ratios[key] = statistics.median(mine) / statistics.median(theirs)
        table.add_row(label, spread(mine), spread(theirs), f"{ratios[key]:.2f}x")

    def restarts(side: str) -> str:
        return f"{sum(times[f'{side} restarted']):.0f} of {sum(times[f'{side} running before']):.0f}"

    table.add_row("scale: tasks restarted", restarts("stagetui"), restarts("direct"), "")
    console.print(table)
    console.print(
        "median ±sd. direct: docker-py's low-level API (network, configs, services level by level, GET "
        "/health; removal, tasks gone, configs, network), Service.scale(3), a new config + "
        "update_service. 3 tasks run: the first moment they do; settled: and no update is under way."
    )
    stale = sum(1 for n in times["stagetui old app tasks at return"] if n)
    console.print(f"update_config returned before the old app task was replaced: {stale} of {repeat} run(s)")
    return ratios


def main() -> int:
    parser = ArgumentParser(description=__doc__, formatter_class=RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--customers", type=int, default=100, help="sample data size (stays one config)")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    console, token = Console(), secrets.token_hex(2)
    times: Timings = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="stagetui-bench-swarm-") as tmp:
        work = Path(tmp)
        compose = work / "compose.yaml"
        compose.write_text(SWARM_COMPOSE)
        project = load_compose(compose, os.environ)
        database = work / "app.db"
        generate_production_db(
            database, SampleSpec(customers=args.customers, now=datetime(2026, 1, 15, tzinfo=UTC))
        )
        data_bytes = database.stat().st_size
        began = time.perf_counter()
        with running_swarm(images=(BUSYBOX_IMAGE, SAMPLE_APP_IMAGE), tag=f"b{token[:3]}") as cluster:
            console.print(f"two-node swarm ready in {time.perf_counter() - began:.1f}s")
            # dnsrr: the cluster's nodes live in network namespaces, so the routing mesh (vip) would publish
            # in the manager's namespace, not where this process is; auto picks dnsrr without IPVS anyway.
            settings = SwarmRuntimeConfig(compose=compose, host=cluster.manager_host, endpoint_mode="dnsrr")
            runtime = SwarmRuntime(work / "workspaces", settings, os.environ)
            # Warm-up, not recorded: the first tasks on fresh nodes pay for overlay setup and image layers.
            one_run(cluster, runtime, project, database, f"bench-{token}-warmup", False)
            for run in range(args.repeat):
                measured = one_run(cluster, runtime, project, database, f"bench-{token}-{run}", run % 2 == 1)
                for key, values in measured.items():
                    times[key] += values
                console.print(f"run {run + 1}/{args.repeat} done")
            engine = cluster.manager.version()
            timings = dict(cluster.timings)
    ratios = report(console, times, args.repeat)
    if args.json:
        machine = {"python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count()}
        machine |= {"stagetui": __version__, "docker_sdk": docker.__version__, "engine": engine["Version"]}
        document = {
            "machine": {**machine, "engine_api": engine["ApiVersion"], "cluster_setup_seconds": timings},
            "repeat": args.repeat,
            "customers": args.customers,
            "data_bytes": data_bytes,
            "seconds": {k: v for k, v in times.items() if k.split()[-1] in CASES},
            "counts": {k: v for k, v in times.items() if k.split()[-1] not in CASES},
            "median": {name: statistics.median(values) for name, values in times.items()},
            "ratio_stagetui_over_direct": ratios,
        }
        args.json.write_text(json.dumps(document, indent=2))
        console.print(f"written {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
