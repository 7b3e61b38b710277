"""Every in-flight environment's steps with a bar and elapsed time each; the slowest step stands out."""

from __future__ import annotations

from datetime import datetime

from textual.content import Content
from textual.widget import Widget
from textual.widgets import Static

from stagetui.domain.durations import format_duration
from stagetui.domain.models import StepOutcome, StepPhase
from stagetui.ui.provisioning_model import ProvisioningTracker, Run, StepState

BAR_WIDTH = 12
MARKS = {
    None: ("·", "$text-muted"),
    StepOutcome.OK: ("✓", "$text-success"),
    StepOutcome.SKIPPED: ("-", "$text-muted"),
    StepOutcome.FAILED: ("✗", "$text-error"),
    StepOutcome.CANCELLED: ("✗", "$text-warning"),
}


def _bar(step: StepState, now: datetime) -> str:
    if step.outcome is not None:
        return "━" * BAR_WIDTH if step.outcome is StepOutcome.OK else " " * BAR_WIDTH
    if step.started is None:
        return "╌" * BAR_WIDTH
    if step.fraction is None:  # no measure of progress: a marker that moves with time
        position = int((now - step.started).total_seconds() * 4) % BAR_WIDTH
        return "─" * position + "━" + "─" * (BAR_WIDTH - position - 1)
    done = round(step.fraction * BAR_WIDTH)
    return "━" * done + "─" * (BAR_WIDTH - done)


def render_run(run: Run, now: datetime) -> Content:
    status = run.status.value
    header = Content.from_markup(
        "[b]$id[/b] [$text-muted]$status · $elapsed[/]",
        id=run.environment_id,
        status=status,
        elapsed=format_duration(run.elapsed(now)),
    )
    lines = [header]
    slowest = run.slowest(now)
    for step in run.steps.values():
        mark, tone = MARKS[step.outcome] if step.started or step.outcome else MARKS[None]
        if step.started and step.outcome is None:
            mark, tone = "▸", "$text-primary"
        name = step.name if step.phase is StepPhase.PROVISION else f"↶ {step.name}"
        elapsed = step.elapsed(now)
        style = "b $text-accent" if step.name == slowest else "$text"
        lines.append(
            Content.from_markup(
                f"[{tone}]$mark[/] [{style}]$name[/] [$text-primary]$bar[/] $elapsed",
                mark=mark,
                name=f"{name[:22]:<22}",
                bar=_bar(step, now),
                elapsed=format_duration(elapsed) if elapsed is not None else "",
            )
        )
    return Content("\n").join(lines)


def render_compact(run: Run, now: datetime) -> Content:
    """One line per run, for small terminals: the current step (or the outcome) and the slowest step."""
    provision = [s for s in run.steps.values() if s.phase is StepPhase.PROVISION]
    done = sum(1 for s in provision if s.outcome is not None)
    running = next((s for s in run.steps.values() if s.started and s.outcome is None), None)
    slowest = run.slowest(now)
    if run.finished_at is None and running is not None:
        return Content.from_markup(
            "[$text-primary]▸[/] $id [b]$step[/] [$text-primary]$bar[/] $count $elapsed",
            id=run.environment_id,
            step=running.name,
            bar=_bar(running, now),
            count=f"{done}/{len(provision)}",
            elapsed=format_duration(run.elapsed(now)),
        )
    tone = "$text-success" if run.status.value == "ready" else "$text-error"
    return Content.from_markup(
        f"[{tone}]$status[/] $id $elapsed [$text-muted]slowest $slowest[/]",
        status=run.status.value,
        id=run.environment_id,
        elapsed=format_duration(run.elapsed(now)),
        slowest=slowest or "-",
    )


class ProvisioningPanel(Static):
    """Redrawn from the tracker on events and on a short timer while anything runs."""

    def __init__(self, tracker: ProvisioningTracker, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.tracker = tracker

    def redraw(self, now: datetime) -> None:
        runs = self.tracker.visible(now)
        if not runs:
            self.update(Content.from_markup("[$text-muted]idle · [b]n[/b] launches"))
            return
        room = self.parent.size.height if isinstance(self.parent, Widget) else 0
        needed = sum(len(run.steps) + 2 for run in runs)
        if room and needed > room:
            self.update(Content("\n").join(render_compact(run, now) for run in runs))
        else:
            self.update(Content("\n\n").join(render_run(run, now) for run in runs))
