"""Provisioning progress on the terminal, fed by the service's events.

On a TTY: a live Rich progress display, one line per running step with a bar and its elapsed time.
Elsewhere (CI logs): one plain line per finished step. With --json: nothing (stdout stays parseable).
"""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn

from stagetui.cli.render import OUTCOME_MARKS
from stagetui.domain.durations import format_duration
from stagetui.domain.models import StepPhase
from stagetui.service.events import Event, EventBus, StepFinished, StepProgress, StepStarted


class ProgressReporter:
    """Subscribe to an EventBus for the duration of a `with` block."""

    def __init__(self, events: EventBus, console: Console, *, enabled: bool = True) -> None:
        self.events = events
        self.console = console
        self.enabled = enabled
        self.live = enabled and console.is_terminal
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[note]}", style="dim"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._tasks: dict[tuple[str, str], TaskID] = {}
        self._unsubscribe: object = None

    def __enter__(self) -> ProgressReporter:
        if self.enabled:
            self._unsubscribe = self.events.subscribe(self.handle)
            if self.live:
                self._progress.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if callable(self._unsubscribe):
            self._unsubscribe()
        if self.live:
            self._progress.stop()

    def handle(self, event: Event) -> None:
        key_of = (event.environment_id, getattr(event, "step", ""))
        if isinstance(event, StepStarted):
            label = event.step if event.phase is StepPhase.PROVISION else f"{event.phase.value}: {event.step}"
            if self.live:
                description = f"{event.environment_id} [bold]{label}[/]"
                self._tasks[key_of] = self._progress.add_task(description, total=None, note="")
        elif isinstance(event, StepProgress) and self.live and key_of in self._tasks:
            task = self._tasks[key_of]
            if event.fraction is None:
                self._progress.update(task, note=event.message[:40])
            else:
                self._progress.update(task, total=1.0, completed=event.fraction, note=event.message[:40])
        elif isinstance(event, StepFinished):
            self._finished(event)

    def _finished(self, event: StepFinished) -> None:
        record = event.record
        label = record.name if record.phase is StepPhase.PROVISION else f"{record.phase.value}: {record.name}"
        mark, style = OUTCOME_MARKS[record.outcome]
        line = f"[{style}]{mark}[/] {record.environment_id} {label} {format_duration(record.seconds)}"
        task = self._tasks.pop((record.environment_id, record.name), None)
        if self.live and task is not None:
            self._progress.update(task, total=1.0, completed=1.0, note="")
            self._progress.remove_task(task)
            self._progress.console.print(f"{line} [dim]{record.detail}[/]", highlight=False)
        elif not self.live:
            self.console.print(f"{line}  {record.detail}", highlight=False, markup=True)
