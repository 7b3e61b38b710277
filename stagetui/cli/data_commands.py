"""refresh, snapshot refresh / ls (golden copies here, or snapshot sets on AWS with --runtime aws), audit:
the golden copies and the trail of what happened to the data."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence

from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from stagetui.cli import exit_codes, serialize
from stagetui.cli.aws_snapshot_commands import run_aws_ls, run_aws_refresh
from stagetui.cli.context import CliContext
from stagetui.domain.durations import InvalidDurationError, format_duration, parse_duration
from stagetui.service.audit import DATA_ACTIONS
from stagetui.service.errors import BadInputError
from stagetui.strategies.golden import RefreshResult

LABELS = {"snapshot": "golden snapshot", "full": "full clone's golden copy"}


def run_refresh(args: argparse.Namespace, ctx: CliContext) -> int:
    """Every golden copy this config keeps, each refreshed when stale: cron-friendly and idempotent."""
    kinds = ctx.service.golden_kinds() if args.kind == "all" else [args.kind]
    if args.kind not in ("all", *ctx.service.golden_kinds()):
        raise BadInputError(f"no {args.kind} golden copy with this config (production is not on PostgreSQL)")
    return _refresh(ctx, kinds, force=args.force)


def run_snapshot_refresh(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.runtime == "aws":
        return run_aws_refresh(args, ctx)
    return _refresh(ctx, ["snapshot"], force=args.force)


def _refresh(ctx: CliContext, kinds: Sequence[str], *, force: bool) -> int:
    results = [(kind, _refresh_one(ctx, kind, force)) for kind in kinds]
    now = ctx.service.core.clock()
    if ctx.json_output:
        payload = [
            {
                "kind": kind,
                "refreshed": result.refreshed,
                "reason": result.reason,
                "fallback": result.fallback,
                "pruned": list(result.pruned),
                "snapshot": serialize.snapshot_to_json(result.snapshot, now),
            }
            for kind, result in results
        ]
        ctx.emit_json(payload if len(payload) > 1 else payload[0])
        return exit_codes.OK
    for kind, result in results:
        snapshot, label = result.snapshot, LABELS[kind]
        if result.refreshed:
            fallback = f", full because {escape(result.fallback)}" if result.fallback else ""
            ctx.show(
                f"[green]✓[/] {label} {snapshot.id} built {snapshot.method}{fallback} in "
                f"{snapshot.build_seconds:.1f}s ({escape(result.reason)}); {escape(snapshot.masking_summary)}"
            )
        else:
            ctx.show(f"{label} {snapshot.id} is {escape(result.reason)}; use --force to rebuild it")
    return exit_codes.OK


def _refresh_one(ctx: CliContext, kind: str, force: bool) -> RefreshResult:
    progress = Progress(
        TextColumn(LABELS[kind]),
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
        callback: Callable[[float, str], None] | None = report if live else None
        return asyncio.run(ctx.service.refresh_snapshot(kind=kind, force=force, progress=callback))
    finally:
        if live:
            progress.stop()


def run_snapshot_ls(args: argparse.Namespace, ctx: CliContext) -> int:
    if args.runtime == "aws":
        return run_aws_ls(args, ctx)
    service = ctx.service
    snapshots = service.snapshots()
    now = service.core.clock()
    if ctx.json_output:
        ctx.emit_json([serialize.snapshot_to_json(s, now) for s in snapshots])
        return exit_codes.OK
    table = Table(title="Golden copies", title_justify="left")
    for column in ("id", "taken", "age", "data as of", "rows", "orphans", "built", "in", "where", "rules"):
        table.add_column(column)
    for snapshot in snapshots:
        newest = snapshot.newest_change
        table.add_row(
            snapshot.id,
            f"{snapshot.taken_at:%Y-%m-%d %H:%M:%S}",
            format_duration(snapshot.age(now)),
            f"{newest:%Y-%m-%d %H:%M:%S}" if newest else "-",
            f"{sum(snapshot.row_counts.values()):,}",
            str(snapshot.orphans),
            snapshot.method,
            format_duration(snapshot.build_seconds),
            snapshot.database_name or "file",
            snapshot.rules_fingerprint,
        )
    ctx.show(table if snapshots else "no golden copies yet (stagetui refresh)")
    return exit_codes.OK


def run_audit(args: argparse.Namespace, ctx: CliContext) -> int:
    try:
        since = parse_duration(args.since) if args.since else None
    except InvalidDurationError as error:
        raise BadInputError(f"--since: {error}") from None
    actions = DATA_ACTIONS if args.data else (frozenset(args.action) if args.action else None)
    entries = ctx.service.audit_trail(environment=args.env, since=since, actions=actions, limit=args.limit)
    if ctx.json_output:
        ctx.emit_json([serialize.audit_to_json(e) for e in entries])
        return exit_codes.OK
    if not entries:
        ctx.show("no audit entries match")
        return exit_codes.OK
    # A log, not a grid: the detail gets the width, the target is shortened (it is repeated in --json).
    table = Table.grid(padding=(0, 2), expand=True)
    table.add_column(no_wrap=True, style="dim")
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, style="bold")
    table.add_column(max_width=30, overflow="ellipsis", no_wrap=True)
    table.add_column(ratio=1, min_width=30, overflow="fold")
    for entry in entries:
        table.add_row(
            f"{entry.at:%Y-%m-%d %H:%M:%S}",
            escape(entry.actor),
            entry.action,
            escape(entry.target),
            escape(entry.detail),
        )
    ctx.show(table)
    return exit_codes.OK


def add_data_commands(
    command: Callable[..., argparse.ArgumentParser],
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    refresh = command(
        "refresh", run_refresh, "refresh stale golden copies (for cron: idempotent, safe twice at once)"
    )
    refresh.add_argument("--force", action="store_true", help="rebuild even those that are fresh")
    refresh.add_argument(
        "--kind",
        choices=["all", "snapshot", "full"],
        default="all",
        help="which golden copy: the snapshot strategy's, the full clone's (PostgreSQL), or all (default)",
    )

    audit = command("audit", run_audit, "the audit trail: reads of production, masking, who got which data")
    audit.add_argument(
        "--env", metavar="ENV", help="only entries about this environment (id, branch or prefix)"
    )
    audit.add_argument("--since", metavar="DURATION", help="only the last DURATION, e.g. 24h or 7d")
    audit.add_argument("--action", action="append", metavar="ACTION", help="only this action (repeatable)")
    audit.add_argument("--data", action="store_true", help="only data entries (reads, masking, restores)")
    audit.add_argument("--limit", type=int, metavar="N", help="only the newest N entries")

    snapshot = commands.add_parser("snapshot", help="golden snapshots of production")
    snapshot_commands = snapshot.add_subparsers(dest="snapshot_command", metavar="COMMAND", required=True)
    snapshot_refresh = snapshot_commands.add_parser(
        "refresh", help="build a new golden snapshot if stale (or --force)"
    )
    snapshot_refresh.set_defaults(handler=run_snapshot_refresh)
    snapshot_refresh.add_argument(
        "--force", action="store_true", help="rebuild even if the latest one is fresh"
    )
    snapshot_refresh.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    snapshot_ls = snapshot_commands.add_parser("ls", help="list golden copies")
    snapshot_ls.set_defaults(handler=run_snapshot_ls)
    snapshot_ls.add_argument("--json", action="store_true", help="print machine-readable JSON on stdout")
    for sub in (snapshot_refresh, snapshot_ls):
        sub.add_argument(
            "--runtime",
            choices=["local", "aws"],
            default="local",
            help="golden copies of the local runtimes (default), or snapshot sets on AWS",
        )
