"""Data engine timings, SQLite against PostgreSQL: clone, full copy, mask, verify and subset on the sample
production (~65k customers, about 1 M rows), each copy next to the direct way of doing it in the same run;
then a golden copy refreshed incrementally (clone it, apply the ~1 % of rows changed since, deletions
included) against a full refresh (copy and mask everything), on both engines. Masking and verification are
also reported as rows/s (over the rows of the masked tables, and over the whole database).

    .venv/bin/python benchmarks/data_engines.py [--customers 65000] [--repeat 3] [--jobs 2]

Direct ways: SQLite clone = shutil.copyfile; PostgreSQL clone and full copy = `pg_dump -Fc | pg_restore`.
The benchmark starts its own PostgreSQL cluster (the integration tests' helper) and always stops it.
Prints a table and writes JSON under benchmarks/results/. Absolute times on shared machines are noise;
the ratios, measured in the same run and interleaved, are the numbers to watch.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the cluster helper lives with the integration tests

from stagetui import __version__  # noqa: E402
from stagetui.data.engine import DataLocation  # noqa: E402
from stagetui.data.postgres import PostgresEngine  # noqa: E402
from stagetui.data.postgres.connection import tool_conninfo  # noqa: E402
from stagetui.data.sqlite_changes import apply_changes  # noqa: E402
from stagetui.data.sqlite_copy import backup_copy, fast_copy  # noqa: E402
from stagetui.data.sqlite_engine import SqliteEngine  # noqa: E402
from stagetui.data.sqlite_masking import apply_masking, verify_masking  # noqa: E402
from stagetui.data.sqlite_schema import row_counts  # noqa: E402
from stagetui.data.sqlite_subset import subset_copy  # noqa: E402
from stagetui.domain.anonymize import ColumnRule, Masker, MaskKind  # noqa: E402
from stagetui.sample.generator import SampleSpec, generate_production_db  # noqa: E402
from tests.integration.postgres_server import MISSING_BINARIES, find_bindir, running_cluster  # noqa: E402

# The sample config's rules (sample_config.yaml), without its `keep` entries.
RULES = [
    ColumnRule("customers", "full_name", MaskKind.FAKE_NAME),
    ColumnRule("customers", "email", MaskKind.FAKE_EMAIL),
    ColumnRule("customers", "phone", MaskKind.FAKE_PHONE),
    ColumnRule("customers", "address", MaskKind.FAKE_ADDRESS),
    ColumnRule("customers", "birth_date", MaskKind.DATE_SHIFT),
    ColumnRule("orders", "shipping_address", MaskKind.FAKE_ADDRESS),
    ColumnRule("payments", "payer_email", MaskKind.FAKE_EMAIL),
    ColumnRule("payments", "card_last4", MaskKind.NULL),
]
MASKER = Masker(b"benchmark-masking-key-0123456789")
SUBSET_FRACTION = 0.01
Timings = dict[str, list[float]]


def timed(times: Timings, name: str, action: Callable[[], object]) -> None:
    started = time.perf_counter()
    action()
    times[name].append(time.perf_counter() - started)


def dump_restore(source: DataLocation, target: DataLocation, bindir: Path) -> None:
    """The direct way to copy a PostgreSQL database: createdb, then pg_dump -Fc piped into pg_restore."""
    assert source.dsn is not None
    maintenance, env = tool_conninfo(DataLocation.postgres(source.dsn, "postgres"))
    src_info, _ = tool_conninfo(source)
    dst_info, _ = tool_conninfo(target)
    environ = {**os.environ, **env}
    createdb = [str(bindir / "createdb"), f"--maintenance-db={maintenance}", str(target.database)]
    subprocess.run(createdb, check=True, env=environ)
    dump = subprocess.Popen(
        [str(bindir / "pg_dump"), "-Fc", f"--dbname={src_info}"], stdout=subprocess.PIPE, env=environ
    )
    restore = subprocess.run(
        [str(bindir / "pg_restore"), "--no-owner", f"--dbname={dst_info}"], stdin=dump.stdout, env=environ
    )
    assert dump.stdout is not None
    dump.stdout.close()
    if dump.wait() != 0 or restore.returncode != 0:
        raise RuntimeError("pg_dump | pg_restore failed")


def sqlite_round(work: Path, production: Path, golden: Path, run: int, times: Timings) -> None:
    clone, plain, copy, subset = (work / f"{name}-{run}.db" for name in ("clone", "plain", "copy", "subset"))
    timed(times, "sqlite clone", lambda: fast_copy(golden, clone))
    timed(times, "sqlite clone direct", lambda: shutil.copyfile(golden, plain))
    timed(times, "sqlite full copy", lambda: backup_copy(production, copy))
    timed(times, "sqlite mask", lambda: apply_masking(copy, RULES, MASKER))
    timed(times, "sqlite verify", lambda: verify_masking(copy, production, RULES))
    timed(times, "sqlite subset", lambda: subset_copy(production, subset, "customers", SUBSET_FRACTION, run))
    for path in (clone, plain, copy, subset):
        path.unlink()


def postgres_round(
    engine: PostgresEngine, bindir: Path, prod: DataLocation, golden: DataLocation, run: int, times: Timings
) -> None:
    def at(name: str) -> DataLocation:
        assert prod.dsn is not None
        return DataLocation.postgres(prod.dsn, f"stagetui_bench_{name}_{run}")

    open_golden = at("open")  # pg_dump cannot read a sealed golden (no connections): an unsealed twin
    engine.clone(golden, open_golden)
    engine.unseal_golden(open_golden)
    timed(times, "postgres clone", lambda: engine.clone(golden, at("clone")))
    timed(times, "postgres clone direct", lambda: dump_restore(open_golden, at("plain"), bindir))
    timed(times, "postgres full copy", lambda: engine.full_copy(prod, at("copy")))
    timed(times, "postgres full copy direct", lambda: dump_restore(prod, at("copy_plain"), bindir))
    timed(times, "postgres mask", lambda: engine.mask(at("copy"), RULES, MASKER))
    timed(times, "postgres verify", lambda: engine.verify_masking(at("copy"), prod, RULES))
    timed(
        times, "postgres subset", lambda: engine.subset(prod, at("subset"), "customers", SUBSET_FRACTION, run)
    )
    for name in ("open", "clone", "plain", "copy", "copy_plain", "subset"):
        engine.drop(at(name))


# About 1 % of the rows change after the golden copy was taken, and 0.1 % of the order items go away.
CHANGED_AT = "2026-02-01T00:00:00Z"  # later than every updated_at of the sample (generated for 2026-01-15)
CHANGES = (
    f"UPDATE customers SET email = 'changed-' || id || '@example.org', updated_at = '{CHANGED_AT}' "
    "WHERE id % 100 = 0",
    f"UPDATE orders SET status = 'refunded', updated_at = '{CHANGED_AT}' WHERE id % 100 = 0",
    f"UPDATE payments SET amount_cents = amount_cents + 1, updated_at = '{CHANGED_AT}' WHERE id % 100 = 0",
    "DELETE FROM order_items WHERE id % 1000 = 0",
)


def change_production(production: Path, prod: DataLocation) -> None:
    import sqlite3

    import psycopg
    from psycopg.conninfo import make_conninfo

    with sqlite3.connect(production) as conn:
        for statement in CHANGES:
            conn.execute(statement)
    assert prod.dsn is not None
    with psycopg.connect(make_conninfo(prod.dsn, dbname=prod.database), autocommit=True) as conn:
        for statement in CHANGES:
            conn.execute(statement.replace("'2026", "TIMESTAMPTZ '2026"))


def refresh_round(
    engine: PostgresEngine,
    work: Path,
    golden: tuple[Path, DataLocation],
    production: tuple[Path, DataLocation],
    since: tuple[datetime, datetime],
    run: int,
    times: Timings,
) -> None:
    """A refresh as the golden store makes it: incremental = clone the old copy and apply the changes;
    full = copy production and mask it. (Both then verify alike, which is left out.)"""
    lite_golden, pg_golden = golden
    lite_prod, pg_prod = production
    incremental, full = work / f"incremental-{run}.db", work / f"full-{run}.db"

    def lite_incremental() -> None:
        fast_copy(lite_golden, incremental)
        apply_changes(incremental, lite_prod, since[0], RULES, MASKER)

    def lite_full() -> None:
        backup_copy(lite_prod, full)
        apply_masking(full, RULES, MASKER)

    assert pg_prod.dsn is not None
    pg_incremental = DataLocation.postgres(pg_prod.dsn, f"stagetui_bench_incremental_{run}")
    pg_full = DataLocation.postgres(pg_prod.dsn, f"stagetui_bench_full_{run}")

    def pg_incremental_refresh() -> None:
        engine.clone(pg_golden, pg_incremental)
        engine.unseal_golden(pg_incremental)
        engine.apply_changes(pg_incremental, pg_prod, since[1], RULES, MASKER)

    def pg_full_refresh() -> None:
        engine.full_copy(pg_prod, pg_full)
        engine.mask(pg_full, RULES, MASKER)

    timed(times, "sqlite refresh incremental", lite_incremental)
    timed(times, "sqlite refresh full", lite_full)
    timed(times, "postgres refresh incremental", pg_incremental_refresh)
    timed(times, "postgres refresh full", pg_full_refresh)
    incremental.unlink()
    full.unlink()
    engine.drop(pg_incremental)
    engine.drop(pg_full)


def spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f}s ±{statistics.pstdev(values):.3f}"


def throughput(median: dict[str, float], rows: int, masked_rows: int) -> dict[str, float]:
    """Rows per second of masking and verification: over the rows of the tables they touch (what they
    read and rewrite) and over the whole database (what a user waits on per database row)."""
    result = {}
    for engine in ("sqlite", "postgres"):
        for operation in ("mask", "verify"):
            seconds = median[f"{engine} {operation}"]
            result[f"{engine} {operation} masked-table rows/s"] = masked_rows / seconds
            result[f"{engine} {operation} database rows/s"] = rows / seconds
    return result


def report(
    console: Console, times: Timings, counts: dict[str, int], args: argparse.Namespace
) -> dict[str, object]:
    rows = sum(counts.values())
    masked_rows = sum(counts[table] for table in {rule.table for rule in RULES})
    table = Table(title=f"Data engines on {rows:,} rows ({args.customers:,} customers), {args.repeat} runs")
    for column in ("operation", "SQLite (median ±sd)", "PostgreSQL (median ±sd)", "PostgreSQL/SQLite"):
        table.add_column(column)
    median = {name: statistics.median(values) for name, values in times.items()}
    operations = ("clone", "clone direct", "full copy", "full copy direct", "mask", "verify", "subset")
    for operation in (*operations, "refresh incremental", "refresh full"):
        lite, pg = times.get(f"sqlite {operation}"), times[f"postgres {operation}"]
        ratio = f"{median[f'postgres {operation}'] / median[f'sqlite {operation}']:.2f}x" if lite else "-"
        table.add_row(operation, spread(lite) if lite else "-", spread(pg), ratio)
    console.print(table)
    ours_vs_direct = {
        "sqlite clone / copyfile": median["sqlite clone"] / median["sqlite clone direct"],
        "postgres template clone / pg_dump|pg_restore": (
            median["postgres clone"] / median["postgres clone direct"]
        ),
        "postgres full_copy (-Fd -j) / pg_dump|pg_restore": (
            median["postgres full copy"] / median["postgres full copy direct"]
        ),
        "sqlite incremental refresh / full refresh": (
            median["sqlite refresh incremental"] / median["sqlite refresh full"]
        ),
        "postgres incremental refresh / full refresh": (
            median["postgres refresh incremental"] / median["postgres refresh full"]
        ),
    }
    for name, share in ours_vs_direct.items():
        console.print(f"{name}: {share:.3f}x")
    rates = throughput(median, rows, masked_rows)
    table = Table(title=f"Masking and verification throughput ({masked_rows:,} rows in the masked tables)")
    for column in (
        "operation",
        "SQLite rows/s",
        "PostgreSQL rows/s",
        "SQLite db rows/s",
        "PostgreSQL db rows/s",
    ):
        table.add_column(column)
    for operation in ("mask", "verify"):
        table.add_row(
            operation,
            *(
                f"{rates[f'{engine} {operation} {scope} rows/s']:,.0f}"
                for scope in ("masked-table", "database")
                for engine in ("sqlite", "postgres")
            ),
        )
    console.print(table)
    return {
        "seconds": dict(times),
        "median_seconds": median,
        "engine_vs_direct": ours_vs_direct,
        "masked_table_rows": masked_rows,
        "rows_per_second": rates,
    }


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=65_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2, help="pg_dump / pg_restore workers for full copies")
    parser.add_argument(
        "--clone-strategy",
        choices=("file_copy", "wal_log"),
        default="file_copy",
        help="CREATE DATABASE STRATEGY",
    )
    args = parser.parse_args()
    console = Console()
    bindir = find_bindir()
    if bindir is None:
        raise SystemExit(MISSING_BINARIES)
    times: Timings = defaultdict(list)
    setup: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="stagetui-bench-data-") as tmp,
        running_cluster(bindir) as cluster,
    ):
        work = Path(tmp)
        production = work / "production.db"
        console.print(f"generating the sample production ({args.customers:,} customers) …")
        started = time.perf_counter()
        generate_production_db(
            production, SampleSpec(customers=args.customers, now=datetime(2026, 1, 15, tzinfo=UTC))
        )
        setup["generate sqlite"] = time.perf_counter() - started
        counts = row_counts(production)
        rows = sum(counts.values())
        engine = PostgresEngine(
            jobs=args.jobs, bindir=bindir, workdir=work, clone_strategy=args.clone_strategy
        )
        prod = DataLocation.postgres(cluster.dsn, "stagetui_bench_production")
        golden = DataLocation.postgres(cluster.dsn, "stagetui_bench_golden")
        started = time.perf_counter()
        engine.load_sqlite(production, prod)
        setup["load into postgres"] = time.perf_counter() - started
        console.print(f"{rows:,} rows; building the golden copies …")
        sqlite_golden = work / "golden.db"
        backup_copy(production, sqlite_golden)
        apply_masking(sqlite_golden, RULES, MASKER)
        engine.full_copy(prod, golden)
        engine.mask(golden, RULES, MASKER)
        engine.seal_golden(golden, {"source": "benchmark"})
        for run in range(args.repeat):  # interleaved, so drift of the machine hits both engines alike
            sqlite_round(work, production, sqlite_golden, run, times)
            postgres_round(engine, bindir, prod, golden, run, times)
            console.print(f"run {run + 1}/{args.repeat} done")
        since = (
            SqliteEngine().newest(DataLocation.sqlite(sqlite_golden), "updated_at"),
            engine.newest(prod, "updated_at"),
        )
        assert since[0] is not None and since[1] is not None
        change_production(production, prod)
        console.print("changed ~1 % of production's rows; refreshing incrementally and in full …")
        for run in range(args.repeat):
            refresh_round(
                engine, work, (sqlite_golden, golden), (production, prod), (since[0], since[1]), run, times
            )
        results = report(console, times, counts, args)
    out = ROOT / "benchmarks" / "results" / f"data-engines-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    machine = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "stagetui": __version__,
    }
    document = {
        "machine": machine,
        "customers": args.customers,
        "rows": rows,
        "repeat": args.repeat,
        "jobs": args.jobs,
        "clone_strategy": args.clone_strategy,
        "setup_seconds": setup,
        **results,
    }
    out.write_text(json.dumps(document, indent=2))
    console.print(f"written {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
