"""`demo`: the main job on the embedded default. One environment of the sample production per strategy,
provisioned one after another (so step timings compare cleanly), then the strategies side by side."""

from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import datetime

from rich import box
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from stagetui.cli import exit_codes
from stagetui.cli.context import CliContext
from stagetui.cli.progress import ProgressReporter
from stagetui.cli.render import STATUS_STYLES, drift_text, freshness_age, time_bars
from stagetui.cli.serialize import detail_to_json
from stagetui.cli.tui_commands import run_tui
from stagetui.domain.durations import format_duration
from stagetui.domain.ids import environment_id
from stagetui.domain.models import Strategy
from stagetui.service.api import StagetuiService
from stagetui.service.queries import EnvironmentDetail


async def _provision_all(
    service: StagetuiService, branch: str, ttl: str | None, ctx: CliContext
) -> list[str]:
    # Production and the golden snapshot come first, as a nightly job would make them, so the three
    # strategies are compared on their own steps rather than on one-off preparation.
    prepared = await service.prepare_production()
    if prepared:
        ctx.note(prepared)
    refresh = await service.refresh_snapshot()
    ctx.note(f"golden snapshot {refresh.snapshot.id}: {'built' if refresh.refreshed else refresh.reason}")
    ids = []
    for strategy in Strategy:
        env_id = environment_id(branch, strategy)
        if any(v.environment.id == env_id for v in service.environments()):
            await service.down(env_id)  # a re-run replaces the previous demo environment
        result = await service.up(service.up_request(branch, strategy=strategy.value, ttl=ttl))
        ids.append(result.environment.id if result.ok else result.environment.uid)
    return ids


def comparison_table(details: list[EnvironmentDetail], now: datetime) -> Table:
    table = Table(
        title="Strategies compared: same production, same machine",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for column in ("strategy", "status", "time", "data age", "drift", "orphans"):
        table.add_column(column.upper(), no_wrap=True)
    for detail in details:
        env = detail.view.environment
        table.add_row(
            env.strategy.value,
            Text(detail.view.status.value, style=STATUS_STYLES[detail.view.status]),
            format_duration(env.provision_seconds),
            freshness_age(detail.view.freshness),
            drift_text(detail.view),
            "-" if env.orphans is None else str(env.orphans),
        )
    return table


def run_demo(args: argparse.Namespace, ctx: CliContext) -> int:
    service = ctx.service
    ctx.note(f"state directory: {escape(str(service.core.paths.root))}")
    ctx.note(f"provisioning branch [bold]{escape(args.branch)}[/] with each strategy on the local runtime …")
    with ProgressReporter(service.events, ctx.err, enabled=not ctx.json_output):
        references = asyncio.run(_provision_all(service, args.branch, args.ttl, ctx))
    details = [service.detail(reference) for reference in references]
    now = service.core.clock()
    ok = all(d.view.status.is_live for d in details)
    if ctx.json_output:
        ctx.emit_json([detail_to_json(d, now) for d in details])
        return exit_codes.OK if ok else exit_codes.FAILED
    ctx.show(comparison_table(details, now))
    ctx.show("[bold]Step times[/] (█ slowest step; one scale for all strategies)")
    ctx.show(time_bars([(d.view.environment.strategy.value, d.steps) for d in details], width=30))
    ctx.show("")
    for detail in details:
        env = detail.view.environment
        ctx.show(f"  {env.id:<22} {escape(env.endpoint or env.status_detail)}")
    ctx.note(
        "next: stagetui (the UI) · stagetui ls · stagetui show ID · curl ENDPOINT/stats · stagetui down ID"
    )
    if args.open_ui and sys.stdin.isatty() and sys.stdout.isatty():
        run_tui(args, ctx)
    return exit_codes.OK if ok else exit_codes.FAILED
