"""up, down, ls, show, gc: the environment lifecycle from the command line."""

from __future__ import annotations

import argparse
import asyncio

from rich.markup import escape

from stagetui.cli import exit_codes, serialize
from stagetui.cli.context import CliContext
from stagetui.cli.pool_commands import refill_in_background
from stagetui.cli.progress import ProgressReporter
from stagetui.cli.render import detail_view, environments_table


def run_up(args: argparse.Namespace, ctx: CliContext) -> int:
    service = ctx.service
    request = service.up_request(
        args.branch,
        strategy=args.strategy,
        tier=args.tier,
        runtime=args.runtime,
        ttl=args.ttl,
        owner=args.owner,
    )
    ctx.note(
        f"provisioning [bold]{escape(request.branch)}[/] with {request.strategy.value} on {request.runtime} …"
    )
    with ProgressReporter(service.events, ctx.err, enabled=not ctx.json_output):
        result = asyncio.run(service.up(request))
    if result.claimed:
        seconds = result.environment.claim_seconds or 0.0
        ctx.note(
            f"claimed {result.environment.id} from the warm pool in {seconds * 1000:.0f} ms; refilling it"
        )
        refill_in_background(ctx)
    reference = result.environment.id if result.ok else result.environment.uid
    detail = service.detail(reference, with_services=False)
    now = service.core.clock()
    if ctx.json_output:
        ctx.emit_json(serialize.detail_to_json(detail, now))
    else:
        ctx.show(detail_view(detail, now))
        if result.ok:
            ctx.note(
                f"[green]ready[/]: curl {result.environment.endpoint}/stats"
                f"  ·  stagetui down {result.environment.id}"
            )
    return exit_codes.OK if result.ok else exit_codes.FAILED


def run_down(args: argparse.Namespace, ctx: CliContext) -> int:
    result = asyncio.run(ctx.service.down(args.environment))
    if ctx.json_output:
        ctx.emit_json({"id": result.environment.id, "removed": result.removed, "seconds": result.seconds})
    else:
        ctx.show(
            f"[green]torn down[/] {result.environment.id} in {result.seconds:.2f}s: "
            f"{len(result.removed)} resource(s) removed"
        )
    return exit_codes.OK


def run_ls(args: argparse.Namespace, ctx: CliContext) -> int:
    service = ctx.service
    views = service.environments(include_history=args.all)
    now = service.core.clock()
    if ctx.json_output:
        ctx.emit_json([serialize.view_to_json(v, now) for v in views])
    elif views:
        ctx.show(environments_table(views, now, wide=ctx.out.width >= 120))
        if any(not v.recorded for v in views):
            ctx.note(
                "? found on the runtime without a live record in this store (stagetui gc removes leftovers)"
            )
    else:
        ctx.show("no environments (start one with: stagetui up BRANCH --strategy containerized)")
    return exit_codes.OK


def run_show(args: argparse.Namespace, ctx: CliContext) -> int:
    service = ctx.service
    detail = service.detail(args.environment)
    now = service.core.clock()
    if ctx.json_output:
        ctx.emit_json(serialize.detail_to_json(detail, now))
    else:
        ctx.show(detail_view(detail, now))
    return exit_codes.OK


def run_gc(args: argparse.Namespace, ctx: CliContext) -> int:
    service = ctx.service
    actions = asyncio.run(service.gc(dry_run=args.dry_run))
    if ctx.json_output:
        ctx.emit_json({"dry_run": args.dry_run, "actions": [serialize.gc_to_json(a) for a in actions]})
    elif not actions:
        ctx.show("nothing to collect")
    else:
        verb = "would remove" if args.dry_run else "removed"
        for action in actions:
            if action.error:
                ctx.show(f"[red]✗[/] {action.environment_id} ({action.reason}): {escape(action.error)}")
            else:
                ctx.show(
                    f"[green]✓[/] {verb} {action.environment_id} ({action.reason}): "
                    f"{len(action.removed)} resource(s)"
                )
    return exit_codes.FAILED if any(a.error for a in actions) else exit_codes.OK
