"""Fault injection in every step of every strategy: a failure anywhere leaves no process, no file and no
live store record behind, and the rollback itself is recorded."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from stagetui.config import load_config
from stagetui.config.model import StagetuiConfig
from stagetui.domain.models import EnvironmentStatus, StepPhase, Strategy
from stagetui.service.api import StagetuiService
from stagetui.strategies.registry import strategy_for
from tests.integration.helpers import processes_of

pytestmark = pytest.mark.integration

CASES = [
    (strategy, step, when)
    for strategy in Strategy
    for step in strategy_for(strategy).plan(StagetuiConfig()).names
    for when in ("before", "after")
    if not (step == "prepare_production" and when == "before")
]


@pytest.mark.parametrize(("strategy", "step", "when"), CASES, ids=[f"{s.value}-{p}-{w}" for s, p, w in CASES])
def test_a_fault_in_any_step_rolls_everything_back(
    strategy: Strategy, step: str, when: str, small_config: Path, state_dir: Path
) -> None:
    environ = {**os.environ, "STAGETUI_FAILPOINTS": step if when == "before" else f"{step}:after"}
    service = StagetuiService.open(load_config(small_config), environ)
    result = asyncio.run(service.up(service.up_request("feat/faulty", strategy=strategy.value)))

    env = result.environment
    assert not result.ok and result.outcome.failed_step == step, (
        result.outcome.failed_step,
        result.outcome.error,
    )
    assert not (state_dir / "environments" / env.id).exists()
    assert not processes_of(env.id)
    assert service.environments() == []
    record = service.core.store.environment(env.uid)
    assert record is not None and record.status is EnvironmentStatus.FAILED
    assert f"{step}: failpoint" in record.status_detail
    steps = service.core.store.steps(env.uid)
    rollback = [s for s in steps if s.phase is StepPhase.ROLLBACK]
    if any(s.name == "provision_runtime" and s.outcome.value == "ok" for s in steps):
        assert rollback
    assert all(s.outcome.value == "ok" for s in rollback)


def test_a_failed_environment_can_be_provisioned_again(small_config: Path, state_dir: Path) -> None:
    faulty = StagetuiService.open(
        load_config(small_config), {**os.environ, "STAGETUI_FAILPOINTS": "health_check"}
    )
    request = faulty.up_request("retry", strategy="containerized")
    assert not asyncio.run(faulty.up(request)).ok
    healthy = StagetuiService.open(load_config(small_config))
    result = asyncio.run(healthy.up(request))
    assert result.ok
    asyncio.run(healthy.down(result.environment.id))
