"""pool status|fill|drain: the warm pool of ready environments, and its refill behind a claim."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from stagetui.cli import exit_codes, serialize
from stagetui.cli.context import CliContext
from stagetui.cli.progress import ProgressReporter
from stagetui.service.pool import PoolStatus
from stagetui.store.private import FILE_MODE, make_private_directory


def status_to_json(status: PoolStatus, ctx: CliContext) -> dict[str, Any]:
    now = ctx.service.now()
    return {
        "size": status.size,
        "definition": status.key,
        "strategy": status.strategy.value,
        "ready": [serialize.view_to_json(v, now) for v in status.ready],
        "building": [serialize.view_to_json(v, now) for v in status.building],
        "stale": [serialize.view_to_json(v, now) for v in status.stale],
        "missing": status.missing,
    }


def run_pool_status(args: argparse.Namespace, ctx: CliContext) -> int:
    status = ctx.service.pool_status()
    if ctx.json_output:
        ctx.emit_json(status_to_json(status, ctx))
        return exit_codes.OK
    if status.size == 0:
        ctx.show("no warm pool (set runtimes.docker.warm_pool.size)")
        return exit_codes.OK
    ctx.show(
        f"warm pool of {status.size} {status.strategy.value} environment(s), definition {status.key}: "
        f"{len(status.ready)} ready, {len(status.building)} building, {status.missing} missing"
    )
    table = Table(box=None, padding=(0, 2))
    for column in ("id", "state", "built in", "age"):
        table.add_column(column)
    now = ctx.service.now()
    for state, views in (("ready", status.ready), ("building", status.building), ("stale", status.stale)):
        for view in views:
            env = view.environment
            built = f"{env.provision_seconds:.1f}s" if env.provision_seconds else "-"
            age = f"{(now - env.created_at).total_seconds() / 60:.0f} min"
            table.add_row(env.id, state, built, age)
    if table.row_count:
        ctx.show(table)
    return exit_codes.OK


def run_pool_fill(args: argparse.Namespace, ctx: CliContext) -> int:
    service = ctx.service

    def starting(count: int) -> None:
        ctx.note(f"building {count} pooled environment(s) …" if count else "the pool is full")

    with ProgressReporter(service.events, ctx.err, enabled=not (ctx.json_output or args.quiet)):
        result = asyncio.run(service.fill_pool(None if args.quiet else starting))
    failed = [r for r in result.built if not r.ok]
    if ctx.json_output:
        ctx.emit_json(
            {
                "busy": result.busy,
                "built": [r.environment.id for r in result.built if r.ok],
                "failed": [{"id": r.environment.id, "error": r.outcome.error} for r in failed],
                "drained": [r.environment.id for r in result.drained],
            }
        )
    elif result.busy:
        ctx.note("another process is filling the pool")
    else:
        for built in result.built:
            mark = "[green]✓[/]" if built.ok else "[red]✗[/]"
            ctx.note(f"{mark} {built.environment.id} {escape(built.outcome.error)}")
    return exit_codes.FAILED if failed else exit_codes.OK


def run_pool_drain(args: argparse.Namespace, ctx: CliContext) -> int:
    drained, errors = asyncio.run(ctx.service.drain_pool())
    if ctx.json_output:
        ctx.emit_json({"drained": [r.environment.id for r in drained], "errors": errors})
    else:
        ctx.show(f"drained {len(drained)} pooled environment(s)")
        for error in errors:
            ctx.err.print(f"[red]✗[/] {escape(error)}", highlight=False, soft_wrap=True)
    return exit_codes.FAILED if errors else exit_codes.OK


def refill_in_background(ctx: CliContext) -> Path:
    """Start `stagetui pool fill` as its own session, so it outlives this command; returns its log file.
    A second filler exits at once (one at a time), so starting one after every claim is safe."""
    log = ctx.service.core.paths.root / "logs" / "pool-fill.log"
    make_private_directory(log.parent)
    command = [sys.executable, "-m", "stagetui", "--config", str(ctx.config_path), "pool", "fill", "--quiet"]
    with os.fdopen(os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, FILE_MODE), "ab") as output:
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            start_new_session=True,
            env={**os.environ},
        )
    return log


def register(commands: Any, add_json: Any) -> None:
    pool = commands.add_parser("pool", help="the warm pool of ready environments that `up` claims")
    sub = pool.add_subparsers(dest="pool_command", metavar="COMMAND", required=True)
    status = sub.add_parser("status", help="ready, building and stale pooled environments")
    status.set_defaults(handler=run_pool_status)
    add_json(status)
    fill = sub.add_parser("fill", help="build the missing pooled environments (and drain stale ones)")
    fill.set_defaults(handler=run_pool_fill)
    fill.add_argument("--quiet", "-q", action="store_true", help="no progress output (for background runs)")
    add_json(fill)
    drain = sub.add_parser("drain", help="tear down every environment waiting in the pool")
    drain.set_defaults(handler=run_pool_drain)
    add_json(drain)
