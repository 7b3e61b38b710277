"""The whole benchmark suite in one command: every benchmark in this folder, one after another, then one
table of the ratios that matter (stagetui against the direct way or a peer, measured in the same run) and
one JSON file with the machine, the versions and every benchmark's own results.

    .venv/bin/python benchmarks/suite.py [--quick] [--only NAME[,NAME]] [--skip NAME[,NAME]]

--quick runs each benchmark at a smaller size with fewer repeats (minutes, not an hour); the ratios stay
meaningful, the absolute times are noise either way. Benchmarks that need what the machine lacks are skipped
with the reason: the container ones need dockerd (started privately by tests/with_dockerd.py, and removed),
the swarm one needs root and network namespaces. Each benchmark also prints its own table as it goes, and
writes its own JSON under benchmarks/results/; the suite's is results/suite-<time>.json. Exit code: 0 when
every benchmark ran (or was skipped with its reason), 1 when one failed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PYTHON = sys.executable
WITH_DOCKERD = [PYTHON, str(ROOT / "tests" / "with_dockerd.py")]

Headline = tuple[str, float | None, str]
"""(case, ratio stagetui/peer, what the peer is)."""


@dataclass(frozen=True)
class Benchmark:
    name: str
    script: str
    prefix: str
    """Its result files are results/<prefix>-<time>.json."""
    full: list[str] = field(default_factory=list)
    quick: list[str] = field(default_factory=list)
    needs: str = ""
    """"docker" (run inside a private dockerd) or "swarm" (root and network namespaces)."""
    json_option: bool = False
    """It writes JSON only where --json says (else under results/ by itself)."""


BENCHMARKS = [
    Benchmark(
        "provisioning", "provisioning.py", "provisioning", quick=["--customers", "5000", "--repeat", "3"]
    ),
    Benchmark("data", "data_engines.py", "data-engines", quick=["--customers", "20000", "--repeat", "1"]),
    Benchmark("drift", "drift.py", "drift", quick=["--repeat", "3"]),
    Benchmark("store", "store.py", "store", quick=["--repeat", "1"]),
    Benchmark("ui-scale", "ui_scale.py", "ui-scale", quick=["--repeat", "1"]),
    Benchmark("ui-latency", "ui_latency.py", "ui-latency", quick=["--rounds", "1"]),
    Benchmark(
        "docker",
        "docker_runtime.py",
        "docker-runtime",
        quick=["--repeat", "1", "--parallel", "10"],
        needs="docker",
    ),
    Benchmark(
        "swarm", "swarm_runtime.py", "swarm-runtime", quick=["--repeat", "2"], needs="swarm", json_option=True
    ),
]


def machine() -> dict[str, Any]:
    versions: dict[str, str] = {}
    for package in ("stagetui", "textual", "tinydb", "deepdiff", "docker", "psycopg"):
        try:
            from importlib.metadata import version

            versions[package] = version(package)
        except Exception:  # not installed: nothing to report
            continue
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "versions": versions,
    }


def missing(benchmark: Benchmark) -> str | None:
    """Why the benchmark cannot run here, or None."""
    if not (ROOT / "benchmarks" / benchmark.script).exists():
        return f"benchmarks/{benchmark.script} is not there"
    if benchmark.needs == "docker" and not (shutil.which("dockerd") or Path("/usr/sbin/dockerd").exists()):
        return "no dockerd (apt-get install docker.io)"
    if benchmark.needs == "swarm":
        if os.geteuid() != 0:
            return "the two-node swarm needs root (network namespaces)"
        if not all(shutil.which(t) or Path("/usr/sbin", t).exists() for t in ("dockerd", "ip", "nsenter")):
            return "the two-node swarm needs dockerd, ip and nsenter"
    return None


def command(benchmark: Benchmark, quick: bool, out: Path) -> list[str]:
    line = [
        PYTHON,
        str(ROOT / "benchmarks" / benchmark.script),
        *(benchmark.quick if quick else benchmark.full),
    ]
    if benchmark.json_option:
        line += ["--json", str(out)]
    return [*WITH_DOCKERD, *line] if benchmark.needs == "docker" else line


def newest_result(benchmark: Benchmark, before: set[Path], out: Path) -> Path | None:
    if benchmark.json_option:
        return out if out.exists() else None
    made = sorted(set(RESULTS.glob(f"{benchmark.prefix}-*.json")) - before)
    return made[-1] if made else None


# --- the ratios each benchmark's JSON holds (read defensively: a missing key shows as "-") --------------


def _get(data: Any, *path: str | int) -> Any:
    for key in path:
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _ratio(stagetui: Any, peer: Any) -> float | None:
    try:
        return float(stagetui) / float(peer)
    except (TypeError, ValueError, ZeroDivisionError):
        return None


def headlines(name: str, data: dict[str, Any]) -> list[Headline]:
    reader = READERS.get(name)
    if reader is None:
        return []
    try:
        return reader(data)
    except Exception as error:  # a benchmark changed its JSON: say so, keep the rest of the table
        return [(f"(cannot read: {type(error).__name__})", None, "")]


def _provisioning(data: dict[str, Any]) -> list[Headline]:
    found = []
    for case, result in (data.get("results") or {}).items():
        found.append((f"provision {case}", _get(result, "ratio"), "the same steps called directly"))
    return found


def _drift(data: dict[str, Any]) -> list[Headline]:
    found = []
    for result in data.get("results") or []:
        median = result.get("median") or {}
        found.append(
            (
                f"drift {result.get('keys')} keys",
                _ratio(median.get("stagetui"), median.get("deepdiff")),
                "deepdiff",
            )
        )
    return found


def _swarm(data: dict[str, Any]) -> list[Headline]:
    ratios = data.get("ratio_stagetui_over_direct") or {}
    return [
        (f"swarm {case}", value, "docker-py")
        for case, value in ratios.items()
        if isinstance(value, int | float)
    ]


def _data(data: dict[str, Any]) -> list[Headline]:
    found = []
    for case, ratio in (data.get("engine_vs_direct") or {}).items():
        subject, _, peer = str(case).partition(" / ")
        found.append((subject, ratio, peer))
    return found


def _docker(data: dict[str, Any]) -> list[Headline]:
    results = data.get("results") or {}
    found = [
        (
            "cold 3-service start",
            _get(results, "cold_start", "ratio_start"),
            "the same containers via the SDK",
        ),
        ("teardown", _get(results, "cold_start", "ratio_teardown"), "the same removals via the SDK"),
    ]
    claim = _get(results, "warm_pool", "cold_over_claim")
    found.append(("warm-pool claim", 1 / claim if claim else None, "a cold up"))
    many = results.get("parallel_runtime") or {}
    if many:
        count = many.get("environments")
        throughput = many.get("throughput_ratio")
        # Throughput: higher is better; shown inverted so that < 1 still means stagetui is faster.
        found.append(
            (f"{count} at once: time per env", 1 / throughput if throughput else None, "SDK threads")
        )
        found.append((f"{count} at once: p99 latency", many.get("p99_ratio"), "SDK threads"))
    return found


def _ui_latency(data: dict[str, Any]) -> list[Headline]:
    summary = data.get("summary") or {}
    busy = _get(summary, "busy", "handled_ms", "p95_ms")
    return [
        (
            "keypress p95 while provisioning",
            _ratio(busy, _get(summary, "idle", "handled_ms", "p95_ms")),
            "idle",
        )
    ]


def _store(data: dict[str, Any]) -> list[Headline]:
    return [
        (f"store {case}", _get(result, "ratio"), "the same records/queries done directly")
        for case, result in (data.get("results") or {}).items()
    ]


def _ui_scale(data: dict[str, Any]) -> list[Headline]:
    found = []
    for size, sides in (data.get("summary") or {}).items():
        stagetui, floor = sides.get("stagetui") or {}, sides.get("floor") or {}
        for measure, stat, label in (
            ("first_paint_ms", "median", "first paint"),
            ("max_rss_mib", "median", "peak RSS"),
            ("key_frame_ms", "p95", "key to frame p95"),
        ):
            ratio = _ratio(_get(stagetui, measure, stat), _get(floor, measure, stat))
            found.append((f"UI {size} envs: {label}", ratio, "a bare DataTable of the same rows"))
    return found


READERS: dict[str, Callable[[dict[str, Any]], list[Headline]]] = {
    "provisioning": _provisioning,
    "data": _data,
    "drift": _drift,
    "store": _store,
    "ui-scale": _ui_scale,
    "ui-latency": _ui_latency,
    "docker": _docker,
    "swarm": _swarm,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--only", help="comma-separated names: " + ", ".join(b.name for b in BENCHMARKS))
    parser.add_argument("--skip", help="comma-separated names to leave out")
    args = parser.parse_args(argv)
    names = {b.name for b in BENCHMARKS}
    only = set(args.only.split(",")) if args.only else names
    skip = set(args.skip.split(",")) if args.skip else set()
    unknown = (only | skip) - names
    if unknown:
        parser.error(
            f"unknown benchmark(s): {', '.join(sorted(unknown))} (known: {', '.join(sorted(names))})"
        )
    console = Console(stderr=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}"
    runs: list[dict[str, Any]] = []
    for benchmark in BENCHMARKS:
        if benchmark.name not in only or benchmark.name in skip:
            continue
        reason = missing(benchmark)
        if reason:
            console.print(f"[yellow]skipped[/] {benchmark.name}: {reason}")
            runs.append({"name": benchmark.name, "skipped": reason})
            continue
        out = RESULTS / f"{benchmark.prefix}-{stamp}.json"
        line = command(benchmark, args.quick, out)
        console.rule(
            f"{benchmark.name}: {' '.join(Path(p).name if p.startswith(str(ROOT)) else p for p in line)}"
        )
        before = set(RESULTS.glob(f"{benchmark.prefix}-*.json"))
        started = time.monotonic()
        code = subprocess.run(line, cwd=ROOT, check=False).returncode
        took = time.monotonic() - started
        result_file = newest_result(benchmark, before, out)
        data = json.loads(result_file.read_text()) if result_file else None
        runs.append(
            {
                "name": benchmark.name,
                "command": line,
                "exit_code": code,
                "seconds": round(took, 1),
                "result_file": str(result_file.relative_to(ROOT)) if result_file else None,
                "headlines": [list(h) for h in headlines(benchmark.name, data or {})],
                "result": data,
            }
        )
    table = Table(title="stagetui / the direct way or a peer (< 1: stagetui faster)")
    for column in ("benchmark", "case", "ratio", "peer"):
        table.add_column(column, justify="right" if column == "ratio" else "left")
    for run in runs:
        if "skipped" in run:
            table.add_row(run["name"], f"skipped: {run['skipped']}", "", "")
            continue
        if run["exit_code"] != 0:
            table.add_row(run["name"], f"[red]failed (exit {run['exit_code']})[/]", "", "")
        for case, ratio, peer in run["headlines"] or [("(no ratios in its JSON)", None, "")]:
            table.add_row(run["name"], case, "-" if ratio is None else f"{ratio:.2f}x", peer)
    Console().print(table)
    suite = RESULTS / f"suite-{stamp}.json"
    suite.write_text(
        json.dumps({"machine": machine(), "quick": args.quick, "runs": runs}, indent=2, default=str)
    )
    console.print(f"written {suite.relative_to(ROOT)}")
    return 1 if any(run.get("exit_code") not in (None, 0) for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
