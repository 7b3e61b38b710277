"""Rich renderables for the CLI, built from service views only (pure: the clock is passed in)."""

from __future__ import annotations

from datetime import datetime

from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from stagetui.domain.durations import format_duration
from stagetui.domain.fidelity import TableFidelity
from stagetui.domain.freshness import Freshness, FreshnessStatus
from stagetui.domain.metric_format import format_bytes
from stagetui.domain.models import EnvironmentStatus, StepOutcome, StepPhase, StepRecord
from stagetui.domain.service_status import ServiceStatus
from stagetui.service.queries import EnvironmentDetail, EnvironmentView

STATUS_STYLES = {
    EnvironmentStatus.READY: "green",
    EnvironmentStatus.PROVISIONING: "cyan",
    EnvironmentStatus.TEARING_DOWN: "cyan",
    EnvironmentStatus.DEGRADED: "yellow",
    EnvironmentStatus.INTERRUPTED: "red",
    EnvironmentStatus.FAILED: "red",
    EnvironmentStatus.TORN_DOWN: "dim",
}
FRESHNESS_STYLES = {
    FreshnessStatus.FRESH: "green",
    FreshnessStatus.AGING: "yellow",
    FreshnessStatus.STALE: "red",
    FreshnessStatus.UNKNOWN: "dim",
}
OUTCOME_MARKS = {
    StepOutcome.OK: ("✓", "green"),
    StepOutcome.SKIPPED: ("-", "dim"),
    StepOutcome.FAILED: ("✗", "red"),
    StepOutcome.CANCELLED: ("✗", "yellow"),
}


def freshness_text(freshness: Freshness) -> Text:
    style = FRESHNESS_STYLES[freshness.status]
    if freshness.age is None:
        return Text("n/a", style=style)
    target = f" / {format_duration(freshness.max_age)}" if freshness.max_age else ""
    return Text(f"{format_duration(freshness.age)}{target}", style=style)


def drift_text(view: EnvironmentView) -> Text:
    drift = view.environment.drift
    if drift is None:
        return Text("-", style="dim")
    if drift.count == 0:
        return Text(f"0 (+{drift.approved} ok)" if drift.approved else "0", style="green")
    style = "red" if drift.worst in {"critical", "major"} else "yellow"
    return Text(f"{drift.count} {drift.worst}", style=style)


WIDE_COLUMNS = ("branch", "strategy", "runtime", "owner")
"""Shown only on wide terminals: the id already carries a slug of the branch and the strategy."""


def environments_table(views: list[EnvironmentView], now: datetime, *, wide: bool = False) -> Table:
    table = Table(box=box.SIMPLE_HEAD, expand=False, pad_edge=False)
    columns = ["id", *(WIDE_COLUMNS if wide else ()), "status", "age", "data age", "drift", "ttl left"]
    for column in columns:
        table.add_column(column.upper(), no_wrap=column in {"id", "status"}, overflow="ellipsis")
    for view in views:
        env = view.environment
        status = Text(view.status.value, style=STATUS_STYLES[view.status])
        if not view.recorded:
            status.append("?", style="dim")
        freshness = freshness_text(view.freshness) if wide else freshness_age(view.freshness)
        # Text, not str: branch names and owners are user input and must never be read as Rich markup.
        extra = (Text(env.branch), env.strategy.value, env.runtime, Text(env.owner)) if wide else ()
        table.add_row(
            env.id,
            *extra,
            status,
            format_duration(now - env.created_at),
            freshness,
            drift_text(view),
            format_duration(env.ttl_left(now)),
        )
    return table


def freshness_age(freshness: Freshness) -> Text:
    """The data age alone, coloured by status against the target (narrow tables)."""
    style = FRESHNESS_STYLES[freshness.status]
    return Text("n/a" if freshness.age is None else format_duration(freshness.age), style=style)


def steps_table(steps: list[StepRecord], title: str = "Steps") -> Table:
    table = Table(title=title, title_justify="left")
    table.add_column("")
    table.add_column("step")
    table.add_column("time", justify="right")
    table.add_column("share", justify="right")
    table.add_column("detail", overflow="fold")
    provision = [s for s in steps if s.phase is StepPhase.PROVISION]
    total = sum(s.seconds for s in provision) or 1.0
    slowest = max(provision, key=lambda s: s.seconds, default=None)
    for step in steps:
        mark, style = OUTCOME_MARKS[step.outcome]
        name = step.name if step.phase is StepPhase.PROVISION else f"{step.phase.value}: {step.name}"
        share = f"{step.seconds / total:.0%}" if step.phase is StepPhase.PROVISION else ""
        name_style = "bold" if step is slowest else ""
        table.add_row(
            Text(mark, style=style),
            Text(name, style=name_style),
            format_duration(step.seconds),
            share,
            Text(step.detail),
        )
    return table


def detail_view(detail: EnvironmentDetail, now: datetime) -> RenderableType:
    view, env = detail.view, detail.view.environment
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    status = Text(view.status.value, style=STATUS_STYLES[view.status])
    if env.status_detail:
        status.append(f"  {env.status_detail}", style="dim")
    rows: list[tuple[str, RenderableType]] = [
        ("environment", Text(f"{env.id}  (branch {env.branch}, uid {env.uid[:8]})")),
        ("strategy", Text(f"{env.strategy.value} on {env.runtime}, owner {env.owner}")),
        ("status", status),
        ("endpoint", env.endpoint or "-"),
        ("provisioned in", format_duration(env.provision_seconds)),
        ("data", Text(env.data_source or "-")),
        ("database", Text(env.database or "-")),
        ("freshness", freshness_text(view.freshness)),
        ("drift", drift_text(view)),
        ("integrity", "-" if env.orphans is None else f"{env.orphans} orphan rows"),
        ("cost", cost_text(detail)),
        ("expires", f"{env.expires_at:%Y-%m-%d %H:%M} UTC (in {format_duration(env.ttl_left(now))})"),
    ]
    for label, value in rows:
        facts.add_row(label, value)
    parts: list[RenderableType] = [facts]
    if detail.steps:
        parts.append(steps_table(detail.steps))
    drift = detail.latest_check("drift")
    if drift is not None:
        parts.append(Text("drift against production:", style="bold"))
        parts.append(drift_lines(drift.result))
    for kind in ("anonymization", "masking", "integrity"):
        check = detail.latest_check(kind)
        if check is not None:
            parts.append(Text(f"{kind}: {check.summary}", style="green" if check.ok else "red"))
    fidelity = detail.fidelity()
    if fidelity:
        parts.append(fidelity_table(fidelity))
    if detail.services:
        parts.append(services_table(detail.services))
    if view.unreachable:
        parts.append(Text(f"runtime unreachable: {view.unreachable}", style="yellow"))
    if detail.log_tail:
        parts.append(Text("service log (last lines):\n" + "\n".join(detail.log_tail[-8:]), style="dim"))
    return Group(*parts)


def cost_text(detail: EnvironmentDetail) -> Text:
    """The estimate per day, and what was billed so far when the provider says."""
    if detail.cost_per_day is None:
        return Text("-")
    text = Text(f"{detail.currency} {detail.cost_per_day:.2f} per day (estimate)")
    if detail.billed is not None:
        text.append(f"  ·  billed so far {detail.billed:.2f}", style="bold")
    return text


def fidelity_table(rows: list[TableFidelity]) -> Table:
    """Per table: masked columns and values, leaks found by the proof, foreign keys and orphans."""
    table = Table(title="data fidelity", title_justify="left", box=None, padding=(0, 2))
    table.add_column("table")
    for name in ("masked columns", "values masked", "leaks", "foreign keys", "orphans"):
        table.add_column(name, justify="right")

    def count(value: int | None, bad_when_positive: bool = False) -> Text:
        if value is None:
            return Text("-", style="dim")
        return Text(f"{value:,}", style="red" if bad_when_positive and value else "")

    for row in rows:
        table.add_row(
            Text(row.table, style="" if row.ok else "red"),
            str(row.masked_columns) if row.masked_columns else Text("-", style="dim"),
            count(row.values_masked),
            count(row.leaks, bad_when_positive=True),
            str(row.foreign_keys) if row.foreign_keys else Text("-", style="dim"),
            count(row.orphans, bad_when_positive=True),
        )
    return table


HEALTH_STYLES = {"healthy": "green", "starting": "yellow", "unhealthy": "red"}


def services_table(services: list[ServiceStatus]) -> Table:
    """Per service: state, health, CPU, memory against its limit, restarts and published ports."""
    table = Table(title="services", title_justify="left", box=None, padding=(0, 2))
    table.add_column("service")
    table.add_column("state")
    table.add_column("health")
    table.add_column("cpu", justify="right")
    table.add_column("memory", justify="right")
    table.add_column("restarts", justify="right")
    table.add_column("ports")
    for service in services:
        memory = "-" if service.memory_bytes is None else format_bytes(service.memory_bytes)
        table.add_row(
            service.name,
            Text(service.state, style="" if service.state == "running" else "red"),
            Text(service.health or "-", style=HEALTH_STYLES.get(service.health or "", "dim")),
            "-" if service.cpu_percent is None else f"{service.cpu_percent:.1f}%",
            memory,
            Text(str(service.restarts), style="red" if service.restarts else ""),
            ", ".join(service.ports) or "-",
        )
    return table


KIND_MARKS = {"changed": "~", "added": "+", "removed": "-", "type_changed": "≠"}


def drift_lines(result: dict[str, object]) -> Table:
    """One line per difference, unapproved first: severity, change, key, values; approved ones dimmed
    with who approved them. Fits 80 columns (the values shorten, the key never wraps)."""
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True)
    table.add_column(overflow="fold")
    items = [i for i in result.get("items") or [] if isinstance(i, dict)]  # type: ignore[attr-defined]
    items.sort(key=lambda i: isinstance(i.get("approval"), dict))
    for item in items:
        approval = item.get("approval")
        severity = str(item.get("severity", ""))
        kind = str(item.get("kind"))
        production, environment = _short(item.get("production"), 24), _short(item.get("environment"), 24)
        change = {"added": f"= {environment}", "removed": f"was {production}"}.get(
            kind, f"{production} → {environment}"
        )
        if item.get("detail"):
            change += f" ({item['detail']})"
        if isinstance(approval, dict):
            until = f", until {approval.get('expires')}" if approval.get("expires") else ""
            change += f"  ✓ {approval.get('approver')}: {approval.get('reason')}{until}"
            style = "dim"
        else:
            style = "red" if severity in {"critical", "major"} else "yellow"
        table.add_row(
            Text(severity, style=style),
            KIND_MARKS.get(kind, "?"),
            Text(str(item.get("path")), style=style),
            Text(change, style="dim" if isinstance(approval, dict) else ""),
        )
    return table


def _short(value: object, width: int = 40) -> str:
    text = "—" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def time_bars(rows: list[tuple[str, list[StepRecord]]], width: int = 40) -> Table:
    """Provisioning time per label as bars on one linear scale, the slowest step of each in bold colour:
    where the time goes, at a glance."""
    longest = max((sum(s.seconds for s in steps) for _, steps in rows), default=0.0) or 1.0
    table = Table.grid(padding=(0, 1))
    for _ in range(4):
        table.add_column(no_wrap=True)
    for label, steps in rows:
        provision = [s for s in steps if s.phase is StepPhase.PROVISION]
        total = sum(s.seconds for s in provision)
        slowest = max(provision, key=lambda s: s.seconds, default=None)
        bar = Text()
        for step in provision:
            cells = round(step.seconds / longest * width)
            bar.append(
                "█" * cells if step is slowest else "▒" * cells, style="bold" if step is slowest else "dim"
            )
        if not bar.plain:
            bar.append("▏", style="dim")
        share = f"{slowest.name} {slowest.seconds / total:.0%}" if slowest and total else "-"
        table.add_row(label, Text(format_duration(total), justify="right"), bar, Text(share, style="dim"))
    return table
