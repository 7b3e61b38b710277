"""Drift computation time for 1k / 10k / 100k config keys, against the direct ways of diffing the same data.

    .venv/bin/python benchmarks/drift.py [--sizes 1000,10000,100000] [--repeat 7]

Each size is a generated production tree (services with scalar settings and lists of scalars, plus a list of
server maps keyed by `name`) and an environment with 1% of the keys differing: changed values, added and
removed keys, int -> str type changes, changed servers, and the server list reordered (not drift). Four ways
are timed, interleaved, on the same pair:

- stagetui: `compute_drift` on the nested trees, everything included (normalising both trees, guards, the
  walk, secret checks, building the report);
- deepdiff: a plain `DeepDiff` of the two trees already flattened by `flatten` (flattening not timed);
- hand: a hand-written comparison of those flattened dicts (same-type equality per key, as drift uses);
- flatten+hand: the same, flattening included: the whole job done the simplest way.

Prints median and spread (min-max) per size with the ratios stagetui/deepdiff and stagetui/flatten+hand,
checks all the same number of differences, and writes JSON under benchmarks/results/.
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import deepdiff
from deepdiff import DeepDiff
from rich.console import Console
from rich.table import Table

from stagetui import __version__
from stagetui.domain.drift import compute_drift
from stagetui.domain.tree_diff import flatten

ROOT = Path(__file__).resolve().parents[1]
TODAY = dt.date(2024, 6, 15)
SETTINGS_PER_SERVICE = 96  # plus one list of scalars: 97 leaves per service
SERVER_SHARE = 0.1  # of the keys, in the keyed `servers` list (3 leaves per server)


def make_pair(keys: int, seed: int = 7) -> tuple[dict[str, Any], dict[str, Any], int]:
    """(production, environment, differences planted), about `keys` leaves each."""
    rng = random.Random(seed)
    servers = max(2, int(keys * SERVER_SHARE) // 3)
    services = max(1, (keys - servers * 3) // (SETTINGS_PER_SERVICE + 1))
    production: dict[str, Any] = {
        "services": {
            f"svc{i}": {
                **{
                    f"setting{j}": (j * i) % 97 if j % 3 else f"value-{i}-{j}"
                    for j in range(SETTINGS_PER_SERVICE)
                },
                "middleware": ["auth", "cors", "gzip", f"m{i}"],
            }
            for i in range(services)
        },
        "servers": [{"name": f"web-{i}", "port": 8000 + i, "zone": f"z{i % 3}"} for i in range(servers)],
    }
    environment = copy.deepcopy(production)
    env_services: dict[str, dict[str, Any]] = environment["services"]
    planted = max(5, keys // 100)
    targets = rng.sample([(s, k) for s, v in env_services.items() for k in v], planted - planted // 10)
    for index, (service, key) in enumerate(targets):
        settings = env_services[service]
        match index % 5:
            case 0 | 1:  # changed value (a list of scalars changes as a whole)
                settings[key] = [*settings[key], "extra"] if isinstance(settings[key], list) else "changed"
            case 2:  # removed
                del settings[key]
            case 3:  # added next to it
                settings[f"{key}_new"] = True
            case _:  # type change between scalars: int -> str, str -> int, list -> str
                value = settings[key]
                settings[key] = str(value) if isinstance(value, int) else 0 if isinstance(value, str) else "a"
    for server in rng.sample(environment["servers"], planted // 10):
        server["port"] += 1
    environment["servers"].reverse()  # the keyed list's order is not drift
    return production, environment, planted


def hand_diff(left: dict[str, object], right: dict[str, object]) -> int:
    missing = object()
    changed = 0
    for key in left.keys() | right.keys():
        a, b = left.get(key, missing), right.get(key, missing)
        if type(a) is not type(b) or a != b:
            changed += 1
    return changed


def timed(work: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def deepdiff_count(diff: DeepDiff) -> int:
    return sum(len(levels) for levels in diff.tree.values())


def measure(keys: int, repeat: int) -> dict[str, Any]:
    production, environment, planted = make_pair(keys)
    flat_prod, flat_env = flatten(production), flatten(environment)
    ways: dict[str, Callable[[], object]] = {
        "stagetui": lambda: compute_drift(production, environment, today=TODAY),
        "deepdiff": lambda: DeepDiff(flat_prod, flat_env, view="tree"),
        "hand": lambda: hand_diff(flat_prod, flat_env),
        "flatten+hand": lambda: hand_diff(flatten(production), flatten(environment)),
    }
    found = {
        "stagetui": len(compute_drift(production, environment, today=TODAY).items),  # also the warm-up
        "deepdiff": deepdiff_count(DeepDiff(flat_prod, flat_env, view="tree")),
        "hand": hand_diff(flat_prod, flat_env),
        "flatten+hand": hand_diff(flatten(production), flatten(environment)),
    }
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(repeat):  # interleaved, so a noisy moment of the machine hits every way alike
        for name, work in ways.items():
            seconds[name].append(timed(work)[0])
    return {
        "keys": len(flat_prod),
        "planted": planted,
        "found": found,
        "seconds": seconds,
        "median": {name: statistics.median(values) for name, values in seconds.items()},
    }


def cell(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} ({min(values) * 1000:.1f}-{max(values) * 1000:.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000", help="comma-separated key counts")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    console = Console(width=max(Console().width, 150))  # the table needs it; pipes report 80
    results = []
    for size in (int(text) for text in args.sizes.split(",")):
        console.print(f"{size:,} keys …")
        results.append(measure(size, args.repeat))
    table = Table(title=f"Drift time in ms, 1% of keys differing, {args.repeat} runs: median (min-max)")
    for column in (
        "keys",
        "diffs",
        "stagetui",
        "deepdiff",
        "hand",
        "flatten+hand",
        "stagetui/deepdiff",
        "stagetui/flatten+hand",
    ):
        table.add_column(column, justify="right")
    for result in results:
        seconds, median, found = result["seconds"], result["median"], result["found"]
        agreed = len(set(found.values())) == 1
        table.add_row(
            f"{result['keys']:,}",
            f"{found['stagetui']:,}" if agreed else f"[red]{found}[/]",
            cell(seconds["stagetui"]),
            cell(seconds["deepdiff"]),
            cell(seconds["hand"]),
            cell(seconds["flatten+hand"]),
            f"{median['stagetui'] / median['deepdiff']:.2f}x",
            f"{median['stagetui'] / median['flatten+hand']:.2f}x",
        )
    console.print(table)
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "stagetui": __version__,
        "deepdiff": deepdiff.__version__,
    }
    out = ROOT / "benchmarks" / "results" / f"drift-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"machine": machine, "repeat": args.repeat, "results": results}, indent=2))
    console.print(f"written {out.relative_to(ROOT)}")
    return 0 if all(len(set(result["found"].values())) == 1 for result in results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
