"""Time to first paint, peak memory and keypress latency of the terminal UI with many environments.

    .venv/bin/python benchmarks/ui_scale.py [--sizes 10,500,2000] [--repeat 3] [--keys 40]

Per size, a temporary state directory is seeded once through the real APIs: `Store.save_environment` for
each environment (READY, mixed strategies, drift summaries, data ages from fresh to stale), a few step
records, a drift check and three drift metrics each (`Store.add_steps` / `add_checks` / `add_metrics`), and
a workspace per environment made by the local runtime (`LocalRuntime.create_workspace`). Each workspace's
process record points at one live `sleep` process this benchmark starts, so discovery (`/proc` per
environment, as the docker and swarm runtimes ask their engine per environment) finds them running: the
case of hundreds of live environments. One in twenty has no process record and shows degraded. No Docker
is needed: DOCKER_HOST points at a socket that does not exist.

Every sample runs in a fresh subprocess (`--repeat` per size and per app), which reports:

- first paint: from just before the service is opened and the app is built (imports excluded) until the
  first frame composed after the environments table holds every row of the first reconciliation (the first
  `App._display` call with a renderable once `row_count` reached the size; headless, 120x40);
- peak RSS: `ru_maxrss` of the subprocess at its end (after the keys and the refresh cycles);
- keys: --keys `down` key events (`up` at the last row) posted one after another the way the terminal
  driver posts them, each timed until the cursor moved (handled) and until the next frame after that
  (frame), 20 ms apart; p95 matters: a key landing during a tick or a reconciliation waits for it;
- refresh cycle (stagetui only): the reconciliation a periodic reload runs in its thread worker
  (`service.environments()` + budgets), what the UI loop then does with it (`on_environments_loaded` and a
  panel flush), and the once-a-second clock tick (`_tick` and a panel flush) — the last two block keys.

The floor ("direct way") is a bare Textual app with one DataTable of the same columns, filled in on_mount
with the same number of rows of plain text, measured the same way in its own subprocess.

Prints a table (medians, min-max over repeats), writes JSON under benchmarks/results/ with machine info and
every sample; `--label` names the run (e.g. before/after).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import textual  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402
from textual import events  # noqa: E402
from textual.app import App, ComposeResult  # noqa: E402
from textual.css.query import NoMatches  # noqa: E402
from textual.widgets import DataTable  # noqa: E402

from stagetui import __version__  # noqa: E402
from stagetui.config import load_config  # noqa: E402
from stagetui.domain.ids import environment_id  # noqa: E402
from stagetui.domain.models import (  # noqa: E402
    CheckRecord,
    DriftSummary,
    Environment,
    EnvironmentStatus,
    MetricSample,
    StepOutcome,
    StepPhase,
    StepRecord,
    Strategy,
)
from stagetui.runtimes.local import PROCESS_FILE  # noqa: E402
from stagetui.runtimes.processes import ProcessHandle, start_ticks  # noqa: E402
from stagetui.service.api import StagetuiService  # noqa: E402
from stagetui.service.paths import STATE_DIR_ENV  # noqa: E402
from stagetui.ui.view_models import COLUMNS  # noqa: E402

SIZE = (120, 40)
TIMEOUT = 120.0
NO_DOCKER = "unix:///nonexistent/stagetui-ui-scale/docker.sock"
WORST = ("info", "minor", "major", "critical")


# --- seeding ----------------------------------------------------------------------------------------------
def environments(count: int, now: datetime) -> list[Environment]:
    """`count` live environments, newest first, one a minute apart; mixed strategies, drift and data ages."""
    strategies = list(Strategy)
    made = []
    for index in range(count):
        strategy = strategies[index % len(strategies)]
        branch = f"feat/team-{index % 17}/change-{index:05d}"
        created = now - timedelta(minutes=index + 1)
        drifted = index % 4
        made.append(
            Environment(
                uid=f"{index + 1:032x}",
                id=environment_id(branch, strategy),
                branch=branch,
                strategy=strategy,
                runtime="local",
                owner=f"dev{index % 23}",
                created_at=created,
                expires_at=created + timedelta(hours=8 + index % 40),
                status=EnvironmentStatus.READY,
                updated_at=created,
                endpoint=f"http://127.0.0.1:{40000 + index}",
                data_as_of=created - timedelta(hours=index % 30),
                data_source="benchmark seed",
                max_data_age=timedelta(hours=24),
                drift=DriftSummary(drifted, WORST[drifted] if drifted else None, index % 3, created),
                orphans=0,
                provision_seconds=10.0 + index % 50,
                data_bytes=1_000_000 * (1 + index % 100),
            )
        )
    return made


def history(env: Environment) -> tuple[list[StepRecord], list[CheckRecord], list[MetricSample]]:
    steps, at = [], env.created_at
    for name, seconds in (("provision_runtime", 0.2), ("subset_data", 4.0), ("start_services", 1.5)):
        steps.append(
            StepRecord(
                env.uid,
                env.id,
                name,
                StepPhase.PROVISION,
                at,
                at + timedelta(seconds=seconds),
                StepOutcome.OK,
            )
        )
        at += timedelta(seconds=seconds)
    count = env.drift.count if env.drift else 0
    check = CheckRecord(env.uid, "drift", at, count == 0, f"{count} unapproved", {"differences": []})
    metrics = [
        MetricSample(
            at - timedelta(hours=hours), "drift.unapproved", float(count + hours), env.uid, env.id,
            env.strategy, env.runtime, env.branch,
        )
        for hours in (2, 1, 0)
    ]  # fmt: skip
    return steps, [check], metrics


def seed(state: Path, config_file: Path, count: int, sleeper: ProcessHandle, console: Console) -> None:
    """Seed `state` with `count` environments; one seeded earlier (--state-root) only gets the new sleeper."""
    marker = state / "ui-scale-seeded"
    if marker.exists():
        for record in (state / "environments").glob(f"*/{PROCESS_FILE}"):
            record.write_text(json.dumps(sleeper.to_dict()))
        console.print(f"reusing {count:,} environments seeded in {state}")
        return
    service = StagetuiService.open(load_config(config_file), child_environ(state))
    store, runtime = service.core.store, service.core.runtimes["local"]
    started = time.perf_counter()
    steps: list[StepRecord] = []
    checks: list[CheckRecord] = []
    metrics: list[MetricSample] = []
    for index, env in enumerate(environments(count, datetime.now(UTC))):
        store.save_environment(env)
        workspace = runtime.create_workspace(env)
        if index % 20 != 7:  # the rest show degraded: their process is gone
            (workspace.root / PROCESS_FILE).write_text(json.dumps(sleeper.to_dict()))
        env_steps, env_checks, env_metrics = history(env)
        steps += env_steps
        checks += env_checks
        metrics += env_metrics
    store.add_steps(steps)
    store.add_checks(checks)
    store.add_metrics(metrics)
    marker.write_text(datetime.now(UTC).isoformat())
    console.print(f"seeded {count:,} environments in {time.perf_counter() - started:.1f}s")


def child_environ(state: Path) -> dict[str, str]:
    environ = {**os.environ, STATE_DIR_ENV: str(state), "DOCKER_HOST": NO_DOCKER}
    environ.pop("STAGETUI_FAILPOINTS", None)
    return environ


# --- in the subprocess ------------------------------------------------------------------------------------
class FrameProbe:
    """Records the first frame composed after the table holds `rows` rows, and times keys like a user."""

    def __init__(self, app: App[Any], table: Any, rows: int) -> None:
        self.app, self.table, self.rows = app, table, rows
        self.painted: float | None = None
        self._target: int | None = None
        self._handled: asyncio.Future[float] | None = None
        self._frame: asyncio.Future[float] | None = None
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None:
                now = time.perf_counter()
                table = self.table()
                if self.painted is None and table is not None and table.row_count >= self.rows:
                    self.painted = now
                frame, handled = self._frame, self._handled
                if frame and not frame.done() and handled and handled.done():
                    frame.set_result(now)
            original(screen, renderable)

        app._display = display  # type: ignore[method-assign]

    def _moved(self, value: Any) -> None:
        if self._handled is not None and not self._handled.done() and value.row == self._target:
            self._handled.set_result(time.perf_counter())

    async def keys(self, count: int) -> list[tuple[float, float | None]]:
        table = self.table()
        table.focus()
        table.move_cursor(row=0)
        table.watch(table, "cursor_coordinate", self._moved, init=False)
        await asyncio.sleep(0.2)
        loop, samples = asyncio.get_running_loop(), []
        for _ in range(count):
            row = table.cursor_row
            down = row + 1 < table.row_count or row == 0
            key, self._target = ("down", row + 1) if down else ("up", row - 1)
            self._handled, self._frame = loop.create_future(), loop.create_future()
            started = time.perf_counter()
            self.app.post_message(events.Key(key, None))
            handled = await asyncio.wait_for(asyncio.shield(self._handled), TIMEOUT)
            try:
                frame: float | None = await asyncio.wait_for(asyncio.shield(self._frame), 5.0)
            except TimeoutError:
                frame = None
            samples.append(((handled - started) * 1000, None if frame is None else (frame - started) * 1000))
            await asyncio.sleep(0.02)
        return samples


async def wait_for(condition: Any) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("gave up waiting")
        await asyncio.sleep(0.005)


class Floor(App[None]):
    """The direct way: one DataTable with the same columns and rows of plain text."""

    def __init__(self, rows: list[tuple[str, ...]]) -> None:
        super().__init__()
        self.rows = rows

    def compose(self) -> ComposeResult:
        yield DataTable(cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for column in COLUMNS:
            table.add_column(column.label, key=column.key, width=column.width)
        table.add_rows(self.rows)


def floor_rows(count: int) -> list[tuple[str, ...]]:
    return [
        (
            env.id,
            "ready",
            "3h/24h",
            "1 minor",
            "7h",
            env.strategy.value[:9],
            "5m",
            "$0.12",
            "local",
            env.branch,
        )
        for env in environments(count, datetime.now(UTC))
    ]


async def run_child(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {}
    if args.child == "floor":
        started = time.perf_counter()
        app: App[Any] = Floor(floor_rows(args.size))

        def floor_table() -> Any:
            try:
                return app.query_one(DataTable)
            except NoMatches:  # not composed yet
                return None

        probe = FrameProbe(app, floor_table, args.size)
    else:
        from stagetui.ui.app import StagetuiApp

        config = load_config(Path(args.config))
        started = time.perf_counter()
        service = StagetuiService.open(config, child_environ(Path(args.state)))
        app = stagetui = StagetuiApp(service)

        def table() -> Any:
            dashboard = stagetui.dashboard
            return dashboard.table if dashboard.is_mounted else None

        probe = FrameProbe(app, table, args.size)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(lambda: probe.painted is not None)
        assert probe.painted is not None
        result["first_paint_ms"] = (probe.painted - started) * 1000
        await pilot.pause()
        result["keys"] = await probe.keys(args.keys)
        if args.child == "app":
            result["cycle"] = await refresh_cycles(stagetui, args.cycles)
    result["max_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return result


async def refresh_cycles(app: Any, count: int) -> dict[str, list[float]]:
    """Time the parts of a refresh cycle separately: reconcile (thread), apply and tick (UI loop)."""
    from stagetui.ui.messages import EnvironmentsLoaded

    dashboard, backend = app.dashboard, app.backend
    timings: dict[str, list[float]] = {"reconcile_ms": [], "apply_ms": [], "tick_ms": []}
    for _ in range(count):
        started = time.perf_counter()
        loaded = EnvironmentsLoaded(backend.environments(), backend.budgets())
        timings["reconcile_ms"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        dashboard.on_environments_loaded(loaded)
        dashboard._flush_panels()
        timings["apply_ms"].append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        dashboard._tick()
        dashboard._flush_panels()
        timings["tick_ms"].append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.05)
    return timings


# --- the parent -------------------------------------------------------------------------------------------
def run_sample(kind: str, size: int, state: Path, config: Path, args: argparse.Namespace) -> dict[str, Any]:
    command = [
        sys.executable, __file__, "--child", kind, "--size", str(size), "--state", str(state),
        "--config", str(config), "--keys", str(args.keys), "--cycles", str(args.cycles),
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, env=child_environ(state))
    if done.returncode != 0:
        raise SystemExit(f"{kind} {size} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def summarize(samples: list[dict[str, Any]]) -> dict[str, Any]:
    paint = [s["first_paint_ms"] for s in samples]
    rss = [s["max_rss_kib"] / 1024 for s in samples]
    handled = [k[0] for s in samples for k in s["keys"]]
    frames = [k[1] for s in samples for k in s["keys"] if k[1] is not None]
    summary: dict[str, Any] = {
        "first_paint_ms": {"median": median(paint), "min": min(paint), "max": max(paint)},
        "max_rss_mib": {"median": median(rss), "min": min(rss), "max": max(rss)},
        "key_handled_ms": {"median": median(handled), "p95": p95(handled), "max": max(handled)},
        "key_frame_ms": {"median": median(frames), "p95": p95(frames), "max": max(frames)} if frames else {},
    }
    if "cycle" in samples[0]:
        for part in samples[0]["cycle"]:
            values = [v for s in samples for v in s["cycle"][part]]
            summary[part] = {"median": median(values), "min": min(values), "max": max(values)}
    return summary


def report(results: dict[str, dict[str, Any]], args: argparse.Namespace, console: Console) -> None:
    table = Table(title=f"UI at scale ({args.repeat} fresh processes per cell, {args.keys} keys each)")
    for column in (
        "environments", "app", "first paint ms", "peak RSS MiB", "key handled p50/p95",
        "key frame p50/p95", "reconcile ms", "apply ms", "tick ms",
    ):  # fmt: skip
        table.add_column(column, justify="left" if column == "app" else "right")

    def spread(stat: dict[str, float] | None) -> str:
        if not stat:
            return "-"
        return f"{stat['median']:.0f} ({stat['min']:.0f}-{stat['max']:.0f})"

    def keys(stat: dict[str, float]) -> str:
        return f"{stat['median']:.1f} / {stat['p95']:.1f}" if stat else "-"

    for size, by_kind in results.items():
        for kind, summary in by_kind.items():
            table.add_row(
                size, kind, spread(summary["first_paint_ms"]), spread(summary["max_rss_mib"]),
                keys(summary["key_handled_ms"]), keys(summary["key_frame_ms"]),
                *(spread(summary.get(part)) for part in ("reconcile_ms", "apply_ms", "tick_ms")),
            )  # fmt: skip
    console.print(table)
    for size, by_kind in results.items():
        app, floor = by_kind["stagetui"], by_kind["floor"]
        paint = app["first_paint_ms"]["median"] / floor["first_paint_ms"]["median"]
        rss = app["max_rss_mib"]["median"] / floor["max_rss_mib"]["median"]
        key = app["key_frame_ms"]["median"] / floor["key_frame_ms"]["median"]
        console.print(
            f"{size}: stagetui/floor first paint {paint:.1f}x, peak RSS {rss:.2f}x, key frame {key:.2f}x"
        )
    sizes = list(results)
    small, large = results[sizes[0]]["stagetui"], results[sizes[-1]]["stagetui"]
    console.print(
        f"keys with {sizes[-1]} vs {sizes[0]} environments: handled "
        f"{large['key_handled_ms']['median'] / small['key_handled_ms']['median']:.2f}x, frame "
        f"{large['key_frame_ms']['median'] / small['key_frame_ms']['median']:.2f}x (medians)"
    )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="10,500,2000", help="environments per case (default 10,500,2000)")
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per case and app (default 3)")
    parser.add_argument("--keys", type=int, default=40, help="down keys timed per process (default 40)")
    parser.add_argument("--cycles", type=int, default=5, help="refresh cycles timed per process (default 5)")
    parser.add_argument("--label", default="", help="a name for this run, kept in the JSON")
    parser.add_argument(
        "--state-root", help="keep the seeded state directories here and reuse them (default: a temp dir)"
    )
    parser.add_argument("--child", choices=("app", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--state", help=argparse.SUPPRESS)
    parser.add_argument("--config", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(asyncio.run(run_child(args))))
        return 0
    console = Console(width=max(Console().width, 140))  # the table is unreadable narrower
    sizes = [int(s) for s in args.sizes.split(",")]
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {}
    sleeper = subprocess.Popen(["sleep", "infinity"], start_new_session=True)
    try:
        with contextlib.ExitStack() as stack:
            temp = args.state_root or stack.enter_context(tempfile.TemporaryDirectory(prefix="stagetui-ui-"))
            Path(temp).mkdir(parents=True, exist_ok=True)
            config = Path(temp) / "bench.yaml"
            shutil.copyfile(ROOT / "sample_config.yaml", config)
            handle = ProcessHandle(sleeper.pid, start_ticks(sleeper.pid))
            for size in sizes:
                state = Path(temp) / f"state-{size}"
                seed(state, config, size, handle, console)
                cases = samples.setdefault(str(size), {"stagetui": [], "floor": []})
                for _ in range(args.repeat):  # interleaved, so drift in the machine hits both alike
                    cases["stagetui"].append(run_sample("app", size, state, config, args))
                    cases["floor"].append(run_sample("floor", size, state, config, args))
                console.print(f"{size}: done")
    finally:
        sleeper.kill()
        sleeper.wait()
    results = {size: {kind: summarize(s) for kind, s in by_kind.items()} for size, by_kind in samples.items()}
    report(results, args, console)
    out = ROOT / "benchmarks" / "results" / f"ui-scale-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "stagetui": __version__,
        "textual": textual.__version__,
    }
    payload = {"label": args.label, "machine": machine, "arguments": vars(args), "summary": results}
    out.write_text(json.dumps({**payload, "samples": samples}, indent=2))
    console.print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
