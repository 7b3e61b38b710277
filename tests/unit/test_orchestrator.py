from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from stagetui.domain.models import (
    Environment,
    EnvironmentStatus,
    StepOutcome,
    StepPhase,
    StepRecord,
    Strategy,
)
from stagetui.domain.plans import Plan, Step, StepResult
from stagetui.service.events import Event, EventBus, StepFinished, StepProgress, StepStarted
from stagetui.service.failpoints import Failpoints
from stagetui.service.orchestrator import Orchestrator
from stagetui.strategies.context import StepContext

NOW = datetime(2026, 11, 26, tzinfo=UTC)
ENV = Environment(
    "uid", "env-1", "b", Strategy.CONTAINERIZED, "local", "me", NOW, NOW, EnvironmentStatus.PROVISIONING
)


def orchestrator(**options: object) -> tuple[Orchestrator, list[Event]]:
    events = EventBus()
    seen: list[Event] = []
    events.subscribe(seen.append)
    return Orchestrator(events, lambda: datetime.now(UTC), **options), seen  # type: ignore[arg-type]


def step(name: str, log: list[str], *deps: str, undo: bool = True, fail: bool = False) -> Step[StepContext]:
    async def run(ctx: StepContext) -> StepResult:
        log.append(name)
        if undo:
            ctx.rollback.push(f"undo {name}", lambda: log.append(f"undo {name}"))
        if fail:
            raise ValueError(f"{name} broke")
        return StepResult(f"{name} done")

    return Step(name, run, deps)


async def test_independent_steps_run_in_parallel() -> None:
    b_started, c_started = asyncio.Event(), asyncio.Event()

    async def b(ctx: StepContext) -> None:
        b_started.set()
        await c_started.wait()  # only returns if c runs at the same time

    async def c(ctx: StepContext) -> None:
        c_started.set()
        await b_started.wait()

    log: list[str] = []
    plan = Plan((step("a", log), Step("b", b, ("a",)), Step("c", c, ("a",)), step("d", log, "b", "c")))
    records: list[StepRecord] = []
    runner, _ = orchestrator()
    outcome = await asyncio.wait_for(runner.run(ENV, plan, StepContext(), records.append), 10)
    assert outcome.ok and log == ["a", "d"]
    assert records[0].name == "a" and records[-1].name == "d"


async def test_failure_rolls_back_in_reverse_order_and_records_it() -> None:
    log: list[str] = []
    plan = Plan((step("a", log), step("b", log, "a"), step("c", log, "b", fail=True), step("d", log, "c")))
    records: list[StepRecord] = []
    runner, _ = orchestrator()
    outcome = await runner.run(ENV, plan, StepContext(), records.append)
    assert outcome.outcome is StepOutcome.FAILED and outcome.failed_step == "c"
    assert "ValueError: c broke" in outcome.error
    assert log == ["a", "b", "c", "undo c", "undo b", "undo a"]
    rollback = [r.name for r in records if r.phase is StepPhase.ROLLBACK]
    assert rollback == ["undo c", "undo b", "undo a"]
    assert "d" not in [r.name for r in records]


async def test_cancellation_rolls_back_then_propagates() -> None:
    log: list[str] = []
    hanging = asyncio.Event()

    async def hang(ctx: StepContext) -> None:
        hanging.set()
        await asyncio.Event().wait()

    plan = Plan((step("a", log), Step("hang", hang, ("a",))))
    records: list[StepRecord] = []
    runner, _ = orchestrator()
    task = asyncio.create_task(runner.run(ENV, plan, StepContext(), records.append))
    await hanging.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert log == ["a", "undo a"]
    assert {r.name: r.outcome for r in records}["hang"] is StepOutcome.CANCELLED


async def test_step_timeout_fails_the_step() -> None:
    async def slow(ctx: StepContext) -> None:
        await asyncio.sleep(30)

    runner, _ = orchestrator(step_timeout=timedelta(milliseconds=50))
    outcome = await runner.run(ENV, Plan((Step("slow", slow),)), StepContext(), lambda r: None)
    assert outcome.outcome is StepOutcome.FAILED and "timed out" in outcome.error


@pytest.mark.parametrize(
    ("spec", "expected_log"), [("b", ["a", "undo a"]), ("b:after", ["a", "b", "undo b", "undo a"])]
)
async def test_failpoints(spec: str, expected_log: list[str]) -> None:
    log: list[str] = []
    runner, _ = orchestrator(failpoints=Failpoints.parse(spec))
    outcome = await runner.run(
        ENV, Plan((step("a", log), step("b", log, "a"))), StepContext(), lambda r: None
    )
    assert not outcome.ok and "failpoint 'b'" in outcome.error
    assert log == expected_log


def test_failpoint_syntax_is_checked() -> None:
    with pytest.raises(ValueError, match="action must be one of"):
        Failpoints.parse("a:explode")


async def test_blocking_work_stops_and_finishes_before_rollback() -> None:
    log: list[str] = []
    lock = threading.Lock()
    started = threading.Event()

    def work(ctx: StepContext) -> None:
        started.set()
        while True:  # stops only through StepCancelled raised by progress()
            ctx.progress(None, "working")
            threading.Event().wait(0.005)

    async def long(ctx: StepContext) -> None:
        ctx.rollback.push("undo long", lambda: log.append("undo long"))
        try:
            await ctx.blocking(work, ctx)
        finally:
            with lock:
                log.append("thread finished")

    async def failing(ctx: StepContext) -> None:
        await asyncio.to_thread(started.wait)
        raise RuntimeError("boom")

    runner, _ = orchestrator()
    plan = Plan((Step("long", long), Step("failing", failing)))
    outcome = await asyncio.wait_for(runner.run(ENV, plan, StepContext(), lambda r: None), 10)
    assert outcome.failed_step == "failing"
    assert log == ["thread finished", "undo long"]


async def test_concurrency_limit_serializes_runs() -> None:
    log: list[str] = []

    def plan_for(name: str) -> Plan[StepContext]:
        async def run(ctx: StepContext) -> None:
            log.append(f"{name} start")
            await asyncio.sleep(0.01)
            log.append(f"{name} end")

        return Plan((Step(name, run),))

    runner, _ = orchestrator(max_parallel=1)
    await asyncio.gather(*(runner.run(ENV, plan_for(n), StepContext(), lambda r: None) for n in ("x", "y")))
    assert log in (["x start", "x end", "y start", "y end"], ["y start", "y end", "x start", "x end"])


async def test_events_report_start_progress_and_finish() -> None:
    async def reporting(ctx: StepContext) -> None:
        await ctx.blocking(ctx.progress, 0.5, "half way")

    runner, seen = orchestrator()
    await runner.run(ENV, Plan((Step("r", reporting),)), StepContext(), lambda r: None)
    await asyncio.sleep(0)  # progress from threads arrives through call_soon_threadsafe
    kinds = [type(e) for e in seen]
    assert kinds == [StepStarted, StepProgress, StepFinished]
    progress = seen[1]
    assert isinstance(progress, StepProgress) and progress.step == "r" and progress.fraction == 0.5


def test_the_limit_holds_per_event_loop_across_runs() -> None:
    """The CLI runs one event loop after another with the same orchestrator; contention in one loop must
    not leave a semaphore bound to it for the next."""
    runner, _ = orchestrator(max_parallel=1)

    async def contended() -> None:
        async def wait(ctx: StepContext) -> None:
            await asyncio.sleep(0.01)

        plan = Plan((Step("w", wait),))
        await asyncio.gather(*(runner.run(ENV, plan, StepContext(), lambda r: None) for _ in range(3)))

    asyncio.run(contended())
    asyncio.run(contended())
