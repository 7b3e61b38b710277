"""Keypress latency of the terminal UI while environments provision in parallel, against idle.

    .venv/bin/python benchmarks/ui_latency.py [--environments 20] [--customers 2000] [--rounds 3]

Runs the real app headless (`App.run_test`, 120x40) on a temporary state directory and a copy of
sample_config.yaml (fewer customers, `orchestrator.max_parallel` raised to --environments). It generates the
sample production and the golden snapshot first, then launches two environments through the app so the
table has rows to move between, and measures three phases:

- idle: nothing in flight (the baseline);
- busy: right after N launch requests are posted at once (strategies mixed), until every one of them shows
  a final status; repeated --rounds times (the burst is torn down between rounds, not measured);
- idle after: everything ready again, with N+2 rows in the table (same table size as the end of busy).

One sample: a `down` (or `up`, so the cursor stays on the first two rows) key event is posted to the app
the way the terminal driver posts it (`app.post_message(events.Key(...))`: app -> screen -> focused
environments table -> its binding). Two times are taken from the moment it is posted:

- handled: until the table's cursor row changed to the expected row (a synchronous watcher on
  `cursor_coordinate` records the instant, so no polling granularity is added);
- frame: until the next frame after that is composed (the first `App._display` call with an update after
  the cursor moved; headless, so nothing is written to a terminal, but the compositor does all its work).
  This is what a user sees; it includes up to one refresh interval (1/60 s) of frame pacing.

Samples are spaced by --interval (default 20 ms, roughly key repeat). `pilot.press` is not used for timing:
it waits for the app to be idle after every key, which is not what a user's keypress waits for.

Prints a table (median / p95 / max per phase) and the ratios busy/idle, writes JSON under
benchmarks/results/ (machine, versions, every sample), then tears every environment down and checks that
nothing is left (no environment, no workspace directory, no process).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import textual
from rich.console import Console
from rich.table import Table
from textual import events

from stagetui import __version__
from stagetui.config import load_config
from stagetui.domain.ids import environment_id
from stagetui.domain.models import EnvironmentStatus, Strategy
from stagetui.service.api import StagetuiService
from stagetui.service.errors import ServiceError
from stagetui.ui.app import StagetuiApp
from stagetui.ui.messages import LaunchRequested
from stagetui.ui.widgets.environments_table import EnvironmentsTable

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_TIMEOUT = 30.0
"""A key not handled within this is recorded as lost (and reported), not waited for forever."""
WAIT_TIMEOUT = 600.0


@dataclass
class Sample:
    handled_ms: float | None
    frame_ms: float | None
    in_flight: int
    """Operations running on the engine loop when the key was posted."""
    rows: int


class KeyProbe:
    """Posts one key at a time and times it until handled (cursor moved) and until the next frame."""

    def __init__(self, app: StagetuiApp) -> None:
        self.app = app
        self.table = app.dashboard.query_one("#environments", EnvironmentsTable)
        self._target: int | None = None
        self._handled: asyncio.Future[float] | None = None
        self._frame: asyncio.Future[float] | None = None
        self.table.watch(self.table, "cursor_coordinate", self._cursor_moved, init=False)
        original = app._display

        def display(*args: Any, **kwargs: Any) -> Any:
            renderable = args[1] if len(args) > 1 else kwargs.get("renderable")
            frame, handled = self._frame, self._handled
            waiting = frame is not None and not frame.done() and handled is not None and handled.done()
            if renderable is not None and waiting:
                frame.set_result(time.perf_counter())  # type: ignore[union-attr]
            return original(*args, **kwargs)

        app._display = display  # type: ignore[method-assign]

    def _cursor_moved(self, value: Any) -> None:
        if self._handled is not None and not self._handled.done() and value.row == self._target:
            self._handled.set_result(time.perf_counter())

    async def sample(self) -> Sample:
        loop = asyncio.get_running_loop()
        row = self.table.cursor_row
        key, self._target = ("down", row + 1) if row == 0 else ("up", row - 1)
        self._handled, self._frame = loop.create_future(), loop.create_future()
        in_flight, rows = self.app.engine.busy, self.table.row_count
        started = time.perf_counter()
        self.app.post_message(events.Key(key, None))
        try:
            handled = await asyncio.wait_for(asyncio.shield(self._handled), SAMPLE_TIMEOUT)
        except TimeoutError:
            return Sample(None, None, in_flight, rows)
        try:
            frame: float | None = await asyncio.wait_for(asyncio.shield(self._frame), SAMPLE_TIMEOUT)
        except TimeoutError:
            frame = None
        return Sample(
            (handled - started) * 1000,
            None if frame is None else (frame - started) * 1000,
            in_flight,
            rows,
        )


async def wait_until(what: str, condition: Any, timeout: float = WAIT_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for {what}")
        await asyncio.sleep(0.05)


def engine_workers_running(app: StagetuiApp) -> int:
    return sum(1 for w in app.workers if w.group == "engine" and w.is_running)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def summary(samples: list[Sample], field: str) -> dict[str, float | int]:
    values = [getattr(s, field) for s in samples if getattr(s, field) is not None]
    if not values:
        return {"count": 0}
    return {
        "count": len(values),
        "median_ms": statistics.median(values),
        "p95_ms": percentile(values, 0.95),
        "max_ms": max(values),
        "mean_ms": statistics.fmean(values),
    }


def live_processes(environment_ids: set[str]) -> list[int]:
    """Pids of live processes the local runtime started for these environments (tagged in their env)."""
    markers = {f"STAGETUI_ENV_ID={i}".encode() for i in environment_ids}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            tagged = markers & set((entry / "environ").read_bytes().split(b"\0"))
            if tagged and (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                found.append(int(entry.name))
        except OSError:
            continue
    return found


async def measure(
    service: StagetuiService, args: argparse.Namespace, console: Console
) -> tuple[dict[str, list[Sample]], dict[str, Any]]:
    app = StagetuiApp(service)
    phases: dict[str, list[Sample]] = {}
    notes: dict[str, Any] = {}
    strategies = list(Strategy)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        # Two environments so the cursor has rows to move between; they also warm up imports and caches.
        for index in range(2):
            app.post_message(
                LaunchRequested(service.up_request(f"ui-bench/row-{index}", strategy="containerized"))
            )
        await wait_until("the first two environments", lambda: _ready(app, 2))
        await wait_until(
            "the engine to settle", lambda: app.engine.busy == 0 and not engine_workers_running(app)
        )
        probe = KeyProbe(app)
        app.dashboard.query_one("#environments").focus()
        await pilot.pause()

        async def run_phase(name: str, keep_going: Any) -> None:
            samples: list[Sample] = []
            while keep_going(samples):
                samples.append(await probe.sample())
                await asyncio.sleep(args.interval)
            phases[name] = samples
            console.print(f"{name}: {len(samples)} samples")

        await run_phase("idle", lambda s: len(s) < args.samples)

        busy: list[Sample] = []
        notes["burst_seconds"] = []
        for round_index in range(args.rounds):
            console.print(f"round {round_index + 1}: posting {args.environments} launch requests at once …")
            burst_started = time.perf_counter()
            for index in range(args.environments):
                strategy = strategies[index % len(strategies)].value
                request = service.up_request(f"ui-bench/env-{index:02d}", strategy=strategy)
                app.post_message(LaunchRequested(request))

            def provisioning(samples: list[Sample], started: float = burst_started) -> bool:
                """Until every launched environment shows a final status and the engine is idle."""
                if time.perf_counter() - started > WAIT_TIMEOUT:
                    raise SystemExit("the burst did not finish in time")
                return not (_ready(app, args.environments + 2) and app.engine.busy == 0)

            await run_phase("busy", provisioning)
            busy.extend(phases["busy"])
            notes["burst_seconds"].append(time.perf_counter() - burst_started)
            notes[f"statuses_after_round_{round_index + 1}"] = _status_counts(app)
            if round_index < args.rounds - 1:  # between rounds (not measured): tear the burst down
                for index in range(args.environments):
                    env_id = environment_id(f"ui-bench/env-{index:02d}", strategies[index % len(strategies)])
                    with contextlib.suppress(ServiceError):  # a failed launch left nothing to tear down
                        await asyncio.wrap_future(app.engine.submit(service.down(env_id)))
                app.dashboard.action_reload()
                await wait_until("the torn-down rows to go", lambda: probe.table.row_count == 2)
        phases["busy"] = busy
        await pilot.pause()
        await run_phase("idle after", lambda s: len(s) < args.samples)
        notes["table_rows_at_end"] = probe.table.row_count
        notes["statuses_in_table"] = _status_counts(app)
    return phases, notes


def _ready(app: StagetuiApp, count: int) -> bool:
    """True when `count` rows show a final status (ready, degraded or failed)."""
    final = {EnvironmentStatus.READY, EnvironmentStatus.DEGRADED, EnvironmentStatus.FAILED}
    views = app.dashboard.table.views.values()
    return sum(1 for v in views if v.status in final) >= count


def _status_counts(app: StagetuiApp) -> dict[str, int]:
    counts: dict[str, int] = {}
    for view in app.dashboard.table.views.values():
        counts[view.status.value] = counts.get(view.status.value, 0) + 1
    return counts


async def tear_everything_down(service: StagetuiService, state: Path) -> list[str]:
    """`service.down` every environment; the problems left, if any."""
    ids = {v.environment.id for v in service.environments()}
    for env_id in sorted(ids):
        await service.down(env_id)
    problems = []
    if left := service.environments():
        problems.append(f"environments still live: {[v.environment.id for v in left]}")
    workspaces = state / "environments"
    if workspaces.exists() and (dirs := sorted(p.name for p in workspaces.iterdir())):
        problems.append(f"workspace directories left: {dirs}")
    if pids := live_processes(ids):
        problems.append(f"processes left: {pids}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--environments", type=int, default=20, help="launched at once (default 20)")
    parser.add_argument("--customers", type=int, default=2000, help="sample production size (default 2000)")
    parser.add_argument("--samples", type=int, default=200, help="keypresses per idle phase (default 200)")
    parser.add_argument("--rounds", type=int, default=3, help="bursts of launches, each measured (default 3)")
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between keypresses")
    args = parser.parse_args()
    console = Console()
    with tempfile.TemporaryDirectory(prefix="stagetui-ui-bench-") as temp:
        state = Path(temp) / "state"
        config_file = Path(temp) / "bench.yaml"
        sample = (ROOT / "sample_config.yaml").read_text()
        for old, new in (
            ("customers: 50000", f"customers: {args.customers}"),
            ("max_parallel: 4", f"max_parallel: {max(args.environments, 2)}"),
        ):
            if old not in sample:
                raise SystemExit(f"sample_config.yaml changed: {old!r} not found")
            sample = sample.replace(old, new)
        config_file.write_text(sample)
        environ = {**os.environ, "STAGETUI_STATE_DIR": str(state)}
        environ.pop("STAGETUI_FAILPOINTS", None)
        service = StagetuiService.open(load_config(config_file), environ)
        console.print(
            f"generating the sample production ({args.customers:,} customers) and a golden snapshot …"
        )
        asyncio.run(service.prepare_production())
        asyncio.run(service.refresh_snapshot())
        try:
            phases, notes = asyncio.run(measure(service, args, console))
        finally:
            problems = asyncio.run(tear_everything_down(service, state))
    if problems:
        console.print("[red]teardown left something behind:[/] " + "; ".join(problems))

    stats = {name: {f: summary(s, f) for f in ("handled_ms", "frame_ms")} for name, s in phases.items()}
    lost = {name: sum(1 for s in samples if s.handled_ms is None) for name, samples in phases.items()}
    table = Table(
        title=f"Keypress latency, {args.environments} environments provisioning at once "
        f"({args.customers:,} customers, {args.rounds} bursts of "
        f"{'/'.join(f'{b:.1f}' for b in notes['burst_seconds'])}s)"
    )
    for column in ("phase", "keys", "handled p50 / p95 / max", "frame p50 / p95 / max"):
        table.add_column(column, justify="left" if column == "phase" else "right")

    def cell(values: dict[str, float | int]) -> str:
        if not values.get("count"):
            return "-"
        return " / ".join(f"{values[k]:.1f}" for k in ("median_ms", "p95_ms", "max_ms")) + " ms"

    for name, by_field in stats.items():
        keys = f"{by_field['handled_ms'].get('count', 0)}" + (f" ({lost[name]} lost)" if lost[name] else "")
        table.add_row(name, keys, cell(by_field["handled_ms"]), cell(by_field["frame_ms"]))
    console.print(table)
    ratios: dict[str, float] = {}
    for field in ("handled_ms", "frame_ms"):
        for stat in ("median_ms", "p95_ms"):
            idle, busy = stats["idle"][field].get(stat), stats["busy"][field].get(stat)
            if idle and busy:
                ratios[f"{field[:-3]}_{stat[:-3]}"] = busy / idle
    console.print("busy/idle: " + ", ".join(f"{k} {v:.1f}x" for k, v in ratios.items()))
    console.print(f"statuses at the end: {notes['statuses_in_table']}")

    out = ROOT / "benchmarks" / "results" / f"ui-latency-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "stagetui": __version__,
        "textual": textual.__version__,
    }
    out.write_text(
        json.dumps(
            {
                "machine": machine,
                "arguments": vars(args),
                "notes": notes,
                "summary": stats,
                "busy_over_idle": ratios,
                "lost_keys": lost,
                "teardown_problems": problems,
                "samples": {name: [asdict(s) for s in samples] for name, samples in phases.items()},
            },
            indent=2,
        )
    )
    console.print(f"written {out.relative_to(ROOT)}")
    return 1 if problems or any(lost.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
