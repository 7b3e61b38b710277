"""`snapshot refresh|ls --runtime aws`: snapshot sets of production's RDS, EBS and S3 on AWS."""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from rich.markup import escape
from rich.table import Table

from stagetui.cli import exit_codes
from stagetui.cli.context import CliContext
from stagetui.domain.durations import format_duration


def snapshot_set_to_json(snapshot_set: Any, now: Any) -> dict[str, Any]:
    return {
        "id": snapshot_set.id,
        "taken_at": snapshot_set.taken_at.isoformat(),
        "age_seconds": round((now - snapshot_set.taken_at).total_seconds(), 1),
        "complete": snapshot_set.complete,
        "size_gb": round(snapshot_set.size_gb, 3),
        "parts": [
            {"kind": p.kind, "source": p.source, "snapshot": p.snapshot, "size_gb": round(p.size_gb, 3)}
            for p in snapshot_set.parts
        ],
    }


def run_aws_refresh(args: argparse.Namespace, ctx: CliContext) -> int:
    result = asyncio.run(ctx.service.refresh_aws_snapshot_set(force=args.force))
    now = ctx.service.now()
    if ctx.json_output:
        ctx.emit_json(
            {
                "refreshed": result.refreshed,
                "detail": result.detail,
                "set": snapshot_set_to_json(result.snapshot_set, now),
            }
        )
    elif result.refreshed:
        ctx.show(f"[green]✓[/] {escape(result.detail)}")
    else:
        ctx.show(f"{escape(result.detail)}; use --force to take a new one")
    return exit_codes.OK


def run_aws_ls(args: argparse.Namespace, ctx: CliContext) -> int:
    sets = ctx.service.aws_snapshot_sets()
    now = ctx.service.now()
    if ctx.json_output:
        ctx.emit_json([snapshot_set_to_json(s, now) for s in sets])
        return exit_codes.OK
    if not sets:
        ctx.show("no snapshot sets on AWS yet (stagetui snapshot refresh --runtime aws)")
        return exit_codes.OK
    table = Table(box=None, padding=(0, 2))
    for column in ("set", "taken", "age", "complete", "parts", "size"):
        table.add_column(column)
    for snapshot_set in sets:
        kinds = ", ".join(sorted({p.kind for p in snapshot_set.parts}))
        table.add_row(
            snapshot_set.id,
            f"{snapshot_set.taken_at:%Y-%m-%d %H:%M}",
            format_duration(now - snapshot_set.taken_at),
            "yes" if snapshot_set.complete else "[red]no (cut short)[/]",
            kinds,
            f"{snapshot_set.size_gb:,.1f} GB",
        )
    ctx.show(table)
    return exit_codes.OK
