"""config check, snapshot refresh / ls."""

from __future__ import annotations

import argparse
import asyncio

from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from stagetui.cli import exit_codes, serialize
from stagetui.cli.context import CliContext
from stagetui.config import ConfigError, load_config, resolve_config_path
from stagetui.domain.durations import format_duration


def run_config_check(args: argparse.Namespace, ctx: CliContext) -> int:
    path = resolve_config_path(args.file or ctx.config_option)
    try:
        config = load_config(path)
    except ConfigError as error:
        if ctx.json_output:
            ctx.emit_json({"file": str(path), "ok": False, "problems": [str(p) for p in error.problems]})
        else:
            for problem in error.problems:
                ctx.err.print(f"[red]✗[/] {escape(str(problem))}", highlight=False, soft_wrap=True)
        return exit_codes.BAD_INPUT
    rules = sum(len(columns) for columns in config.anonymization.tables.values())
    summary = (
        f"{len(config.drift.approved)} approved differences, {len(config.drift.severity)} severity rules, "
        f"{rules} masking rules"
    )
    if ctx.json_output:
        ctx.emit_json({"file": str(path), "ok": True, "summary": summary})
    else:
        ctx.show(f"[green]✓[/] {escape(str(path))} is valid: {summary}")
    return exit_codes.OK


def run_snapshot_refresh(args: argparse.Namespace, ctx: CliContext) -> int:
    service = ctx.service
    progress = Progress(
        TextColumn("golden snapshot"),
        BarColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=ctx.err,
    )
    live = ctx.err.is_terminal and not ctx.json_output
    task = progress.add_task("", total=1.0)

    def report(fraction: float, message: str) -> None:
        progress.update(task, completed=fraction, description=message[:40])

    if live:
        progress.start()
    try:
        result = asyncio.run(service.refresh_snapshot(force=args.force, progress=report if live else None))
    finally:
        if live:
            progress.stop()
    now = service.core.clock()
    if ctx.json_output:
        ctx.emit_json(
            {
                "refreshed": result.refreshed,
                "reason": result.reason,
                "pruned": list(result.pruned),
                "snapshot": serialize.snapshot_to_json(result.snapshot, now),
            }
        )
    elif result.refreshed:
        snapshot = result.snapshot
        ctx.show(
            f"[green]✓[/] golden snapshot {snapshot.id} built in {snapshot.build_seconds:.1f}s "
            f"({result.reason}); "
            f"{snapshot.masking_summary}"
        )
    else:
        ctx.show(f"golden snapshot {result.snapshot.id} is {result.reason}; use --force to rebuild it")
    return exit_codes.OK


def run_snapshot_ls(args: argparse.Namespace, ctx: CliContext) -> int:
    service = ctx.service
    snapshots = service.snapshots()
    now = service.core.clock()
    if ctx.json_output:
        ctx.emit_json([serialize.snapshot_to_json(s, now) for s in snapshots])
        return exit_codes.OK
    table = Table(title="Golden snapshots", title_justify="left")
    for column in ("id", "taken", "age", "rows", "orphans", "built in", "rules"):
        table.add_column(column)
    for snapshot in snapshots:
        table.add_row(
            snapshot.id,
            f"{snapshot.taken_at:%Y-%m-%d %H:%M:%S}",
            format_duration(snapshot.age(now)),
            f"{sum(snapshot.row_counts.values()):,}",
            str(snapshot.orphans),
            format_duration(snapshot.build_seconds),
            snapshot.rules_fingerprint,
        )
    ctx.show(table if snapshots else "no golden snapshots yet (stagetui snapshot refresh)")
    return exit_codes.OK
