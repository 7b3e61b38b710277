"""Pure functions from service views to what the screens show. No Textual here: the clock and the data are
passed in, so every cell can be tested (and snapshot-tested) with a frozen clock.

Cells carry a tone, not a colour: widgets turn tones into the current theme's colours.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from stagetui.domain.cost import CostModel, cost_so_far, format_money
from stagetui.domain.durations import format_duration
from stagetui.domain.freshness import Freshness, FreshnessStatus, assess_freshness
from stagetui.domain.models import Environment, EnvironmentStatus
from stagetui.service.queries import EnvironmentView


class Tone(StrEnum):
    NORMAL = "text"
    MUTED = "text-muted"
    SUCCESS = "text-success"
    WARNING = "text-warning"
    ERROR = "text-error"
    ACCENT = "text-accent"
    PRIMARY = "text-primary"


@dataclass(frozen=True)
class Cell:
    text: str
    tone: Tone = Tone.NORMAL
    sort_key: float | str = field(default="", compare=False)
    """Orders the column; not part of equality, so an unchanged text is never rewritten."""


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int | None = None
    """Fixed width for cells whose text changes length as time passes; None sizes to content."""
    time_dependent: bool = False
    """Changes as the clock moves: refreshed on every tick."""


# Most telling first: on an 80-column terminal the last columns scroll.
COLUMNS: tuple[Column, ...] = (
    Column("id", "ENVIRONMENT"),
    Column("status", "STATUS", 12),
    Column("freshness", "DATA AGE/MAX", 12, time_dependent=True),
    Column("drift", "DRIFT", 10),
    Column("ttl", "TTL", 6, time_dependent=True),
    Column("strategy", "STRATEGY", 9),
    Column("age", "AGE", 6, time_dependent=True),
    Column("cost", "COST", 7, time_dependent=True),
    Column("runtime", "RUNTIME", 7),
    Column("branch", "BRANCH"),
)
COLUMN_KEYS = tuple(column.key for column in COLUMNS)

STATUS_TONES = {
    EnvironmentStatus.READY: Tone.SUCCESS,
    EnvironmentStatus.PROVISIONING: Tone.PRIMARY,
    EnvironmentStatus.TEARING_DOWN: Tone.PRIMARY,
    EnvironmentStatus.DEGRADED: Tone.WARNING,
    EnvironmentStatus.INTERRUPTED: Tone.ERROR,
    EnvironmentStatus.FAILED: Tone.ERROR,
    EnvironmentStatus.TORN_DOWN: Tone.MUTED,
}
FRESHNESS_TONES = {
    FreshnessStatus.FRESH: Tone.SUCCESS,
    FreshnessStatus.AGING: Tone.WARNING,
    FreshnessStatus.STALE: Tone.ERROR,
    FreshnessStatus.UNKNOWN: Tone.MUTED,
}
SEVERITY_TONES = {"critical": Tone.ERROR, "major": Tone.ERROR, "minor": Tone.WARNING, "info": Tone.MUTED}
STRATEGY_SHORT = {"full_clone": "clone", "snapshot": "snapshot", "containerized": "container"}


def format_age(delta: timedelta) -> str:
    """Ages at the resolution a dashboard needs: seconds only in the first minute. Coarser text changes
    less often, so the once-a-second tick rewrites (and re-renders) few cells."""
    seconds = int(delta.total_seconds())
    if seconds < 60:
        return format_duration(delta)
    if seconds < 3600:
        return f"{seconds // 60}m"
    return format_duration(timedelta(seconds=seconds - seconds % 60))


def current_freshness(view: EnvironmentView, now: datetime) -> Freshness:
    """Freshness at `now` (a view's own was computed when it was loaded)."""
    env = view.environment
    return assess_freshness(env.data_as_of, env.max_data_age, now)


def format_target(delta: timedelta) -> str:
    """Targets are round numbers: 24h, 36h, 30m, 7d."""
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and (unit != "d" or seconds // size > 2):
            return f"{seconds // size}{unit}"
    return format_duration(delta)


def freshness_cell(freshness: Freshness) -> Cell:
    tone = FRESHNESS_TONES[freshness.status]
    if freshness.age is None:
        return Cell("n/a", tone, -1.0)
    target = f"/{format_target(freshness.max_age)}" if freshness.max_age else ""
    return Cell(f"{format_age(freshness.age)}{target}", tone, freshness.age.total_seconds())


def drift_cell(view: EnvironmentView) -> Cell:
    drift = view.environment.drift
    if drift is None:
        return Cell("-", Tone.MUTED, -1.0)
    if drift.count == 0:
        return Cell(f"0 +{drift.approved}ok" if drift.approved else "0", Tone.SUCCESS, 0.0)
    severity_rank = {"info": 0, "minor": 1, "major": 2, "critical": 3}.get(drift.worst or "", 0)
    tone = SEVERITY_TONES.get(drift.worst or "", Tone.WARNING)
    return Cell(f"{drift.count} {drift.worst}", tone, drift.count + severity_rank * 10_000)


def environment_cells(view: EnvironmentView, now: datetime, costs: CostModel) -> dict[str, Cell]:
    """Every cell of one environment's row, keyed by column."""
    env = view.environment
    status = view.status.value + ("?" if not view.recorded else "")
    cells = {
        "id": Cell(env.id, Tone.NORMAL, env.id),
        "strategy": Cell(
            STRATEGY_SHORT.get(env.strategy.value, env.strategy.value), Tone.NORMAL, env.strategy.value
        ),
        "runtime": Cell(env.runtime, Tone.NORMAL, env.runtime),
        "branch": Cell(env.branch, Tone.MUTED, env.branch),
        "status": Cell(status, STATUS_TONES[view.status], view.status.value),
        "drift": drift_cell(view),
        **time_cells(view, now, costs),
    }
    return {key: cells[key] for key in COLUMN_KEYS}


def same_row(old: EnvironmentView, new: EnvironmentView) -> bool:
    """True when `new` shows the same row as `old` but for the time-dependent cells: what environment_cells
    reads of a view. (Its freshness is not compared: cells assess it again at the time they show.)"""
    return (old.status, old.recorded, old.environment) == (new.status, new.recorded, new.environment)


def time_cells(view: EnvironmentView, now: datetime, costs: CostModel) -> dict[str, Cell]:
    """The cells that change as the clock moves (the once-a-second tick computes only these)."""
    env = view.environment
    ttl = env.ttl_left(now)
    ttl_tone = (
        Tone.ERROR
        if ttl.total_seconds() <= 0
        else (Tone.WARNING if ttl.total_seconds() < 900 else Tone.NORMAL)
    )
    cost = cost_so_far(env, now, costs)
    return {
        "freshness": freshness_cell(current_freshness(view, now)),
        "ttl": Cell(format_age(ttl) if ttl.total_seconds() > 0 else "expired", ttl_tone, ttl.total_seconds()),
        "age": Cell(format_age(now - env.created_at), Tone.NORMAL, (now - env.created_at).total_seconds()),
        "cost": Cell(format_money(cost, costs.currency), Tone.NORMAL, cost),
    }


def matches(view: EnvironmentView, text: str) -> bool:
    """The `/` filter: every word must appear in the id, branch, strategy, runtime, status or owner."""
    words = text.lower().split()
    if not words:
        return True  # no filter: every reconcile asks this of every row
    env = view.environment
    haystack = " ".join(
        (env.id, env.branch, env.strategy.value, env.runtime, view.status.value, env.owner)
    ).lower()
    return all(word in haystack for word in words)


def sort_views(
    views: Sequence[EnvironmentView], column: str | None, reverse: bool, now: datetime, costs: CostModel
) -> list[EnvironmentView]:
    """Newest first by default; else by the column's sort key (ties broken by id)."""
    if column is None:
        return sorted(views, key=lambda v: v.environment.created_at, reverse=not reverse)

    def key(view: EnvironmentView) -> tuple[int, float | str, str]:
        value = environment_cells(view, now, costs)[column].sort_key
        # Numbers before text, so mixed keys never compare across types.
        return (
            (0, value, view.environment.id) if isinstance(value, float) else (1, value, view.environment.id)
        )

    return sorted(views, key=key, reverse=reverse)


@dataclass(frozen=True)
class FreshnessRow:
    environment_id: str
    share: float | None
    """Age as a share of the max age (may exceed 1 when stale); None when unknown."""
    label: str
    tone: Tone


def freshness_rows(views: Sequence[EnvironmentView], now: datetime) -> list[FreshnessRow]:
    """Most urgent first: stale, then aging, then fresh, then unknown."""
    rows = []
    for view in views:
        freshness = current_freshness(view, now)
        cell = freshness_cell(freshness)
        rows.append(FreshnessRow(view.environment.id, freshness.share_of_target, cell.text, cell.tone))
    return sorted(rows, key=lambda r: (r.share is None, -(r.share or 0.0), r.environment_id))


def view_of(env: Environment, now: datetime, previous: EnvironmentView | None = None) -> EnvironmentView:
    """A view from an environment record an event carried, keeping what only reconciliation knows."""
    running = env.status is EnvironmentStatus.READY if previous is None else previous.running
    resources = previous.resources if previous else ()
    return EnvironmentView(
        env, env.status, running, True, assess_freshness(env.data_as_of, env.max_data_age, now), resources
    )
