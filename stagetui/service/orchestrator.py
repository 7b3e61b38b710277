"""Runs plans: dependency order with parallel branches, a concurrency limit across environments, a timeout
per step, progress events, cancellation, and rollback of what the plan created when anything fails."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from stagetui.domain.models import Environment, StepOutcome, StepPhase, StepRecord
from stagetui.domain.plans import Plan, Step, StepResult
from stagetui.service.events import EventBus, StepFinished, StepProgress, StepStarted
from stagetui.service.failpoints import Failpoints, InjectedFault
from stagetui.strategies.context import StepCancelled, StepContext, current_step

Clock = Callable[[], datetime]
Recorder = Callable[[StepRecord], None]
C = TypeVar("C", bound=StepContext)


class StepTimeout(RuntimeError):
    pass


@dataclass
class RunOutcome:
    outcome: StepOutcome
    """OK when every step succeeded; FAILED or CANCELLED when the plan was rolled back."""
    error: str = ""
    failed_step: str | None = None
    records: list[StepRecord] = field(default_factory=list)
    rollback_errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.outcome is StepOutcome.OK


class Orchestrator:
    def __init__(
        self,
        events: EventBus,
        clock: Clock,
        *,
        max_parallel: int = 4,
        step_timeout: timedelta = timedelta(minutes=15),
        failpoints: Failpoints | None = None,
    ) -> None:
        self.events = events
        self.clock = clock
        self.step_timeout = step_timeout
        self.failpoints = failpoints or Failpoints()
        self.max_parallel = max_parallel
        # One semaphore per event loop: the CLI runs several loops in turn, the TUI one; a semaphore
        # bound to a finished loop must never be awaited from another.
        self._slots: dict[asyncio.AbstractEventLoop, asyncio.Semaphore] = {}

    async def run(self, env: Environment, plan: Plan[C], context: C, record: Recorder) -> RunOutcome:
        """Wait for a slot, run `plan`, roll back on failure or cancellation. Never raises for a step
        failure; re-raises CancelledError after rolling back so callers see the cancellation."""
        loop = asyncio.get_running_loop()
        slots = self._slots.setdefault(loop, asyncio.Semaphore(self.max_parallel))
        for finished in [other for other in self._slots if other.is_closed()]:
            del self._slots[finished]
        async with slots:
            return await self._run(env, plan, context, record)

    async def _run(self, env: Environment, plan: Plan[C], context: C, record: Recorder) -> RunOutcome:
        loop = asyncio.get_running_loop()

        def sink(step: str, fraction: float | None, message: str) -> None:
            event = StepProgress(env.id, env.uid, self.clock(), step, fraction, message)
            loop.call_soon_threadsafe(self.events.emit, event)

        context.progress_sink = sink
        unrecorded: list[Exception] = []

        def record_safely(step_record: StepRecord) -> None:
            # A store that cannot take a record (disk full) must neither stop a rollback half way nor
            # replace a cancellation: the first such error is raised once the rollback is done.
            try:
                record(step_record)
            except Exception as error:
                unrecorded.append(error)

        run = RunOutcome(StepOutcome.OK)
        done: set[str] = set()
        running: dict[asyncio.Task[StepRecord], Step[C]] = {}
        pending = list(plan.steps)
        try:
            while pending or running:
                for step in [s for s in pending if all(d in done for d in s.depends_on)]:
                    pending.remove(step)
                    running[asyncio.create_task(self._step(env, step, context, record_safely))] = step
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                for task in finished:
                    step = running.pop(task)
                    step_record = task.result()
                    run.records.append(step_record)
                    if step_record.outcome in {StepOutcome.OK, StepOutcome.SKIPPED}:
                        done.add(step.name)
                    elif run.outcome is StepOutcome.OK:
                        run.outcome, run.failed_step, run.error = (
                            StepOutcome.FAILED,
                            step.name,
                            step_record.detail,
                        )
                if unrecorded and run.outcome is StepOutcome.OK:
                    run.outcome, run.error = StepOutcome.FAILED, f"recording a step failed: {unrecorded[0]}"
                if run.outcome is not StepOutcome.OK:
                    await self._cancel(running, context, run)
                    break
        except BaseException as error:
            # Cancellation (Ctrl-C) or anything escaping a step: never leave what the plan created behind.
            cancelled = isinstance(error, asyncio.CancelledError | KeyboardInterrupt)
            run.outcome = StepOutcome.CANCELLED if cancelled else StepOutcome.FAILED
            run.error = "cancelled" if cancelled else _describe(error)
            await self._cancel(running, context, run)
            await self._roll_back(env, context, record_safely, run)
            raise
        if run.outcome is StepOutcome.OK:
            context.rollback.drain()
        else:
            await self._roll_back(env, context, record_safely, run)
        if unrecorded:
            raise unrecorded[0]
        return run

    async def _step(self, env: Environment, step: Step[C], context: C, record: Recorder) -> StepRecord:
        current_step.set(step.name)
        started = self.clock()
        self.events.emit(StepStarted(env.id, env.uid, started, step.name, StepPhase.PROVISION))
        outcome, detail = StepOutcome.OK, ""
        try:
            await self.failpoints.before(step.name)
            result = await asyncio.wait_for(step.run(context), self.step_timeout.total_seconds())
            self.failpoints.after(step.name)
            result = result or StepResult()
            outcome = StepOutcome.SKIPPED if result.skipped else StepOutcome.OK
            detail = result.detail
        except TimeoutError:
            context.cancelled.set()
            outcome, detail = StepOutcome.FAILED, f"timed out after {self.step_timeout.total_seconds():.0f}s"
        except asyncio.CancelledError:
            outcome, detail = StepOutcome.CANCELLED, "cancelled"
            self._finish(env, step.name, StepPhase.PROVISION, started, outcome, detail, record)
            raise
        except StepCancelled:
            outcome, detail = StepOutcome.CANCELLED, "cancelled"
        except Exception as error:
            outcome, detail = StepOutcome.FAILED, _describe(error)
        return self._finish(env, step.name, StepPhase.PROVISION, started, outcome, detail, record)

    async def _cancel(
        self, running: dict[asyncio.Task[StepRecord], Step[C]], context: C, run: RunOutcome
    ) -> None:
        """Stop sibling steps; their blocking threads notice `cancelled` and are awaited before rollback."""
        context.cancelled.set()
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                run.records.append(await task)
        running.clear()

    async def _roll_back(self, env: Environment, context: C, record: Recorder, run: RunOutcome) -> None:
        for description, undo in context.rollback.drain():
            started = self.clock()
            self.events.emit(StepStarted(env.id, env.uid, started, description, StepPhase.ROLLBACK))
            outcome, detail = StepOutcome.OK, ""
            try:
                self.failpoints.before_sync("rollback")
                # Shielded: a second Ctrl-C must not leave half a rollback.
                await asyncio.shield(asyncio.to_thread(undo))
            except Exception as error:
                outcome, detail = StepOutcome.FAILED, _describe(error)
                run.rollback_errors.append(f"{description}: {detail}")
            run.records.append(
                self._finish(env, description, StepPhase.ROLLBACK, started, outcome, detail, record)
            )

    def _finish(
        self,
        env: Environment,
        name: str,
        phase: StepPhase,
        started: datetime,
        outcome: StepOutcome,
        detail: str,
        record: Recorder,
    ) -> StepRecord:
        step_record = StepRecord(env.uid, env.id, name, phase, started, self.clock(), outcome, detail)
        record(step_record)
        self.events.emit(StepFinished(env.id, env.uid, step_record.ended_at, step_record))
        return step_record


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return text if isinstance(error, InjectedFault | StepTimeout) else f"{type(error).__name__}: {text}"
