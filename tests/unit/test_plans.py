from __future__ import annotations

import pytest

from stagetui.domain.plans import Plan, PlanError, Step, StepResult


async def _noop(ctx: object) -> StepResult:
    return StepResult()


def test_levels_group_independent_steps() -> None:
    plan = Plan(
        (
            Step("a", _noop),
            Step("b", _noop, ("a",)),
            Step("c", _noop, ("a",)),
            Step("d", _noop, ("b", "c")),
        )
    )
    assert [[s.name for s in level] for level in plan.levels()] == [["a"], ["b", "c"], ["d"]]


def test_cycles_unknown_dependencies_and_duplicates_are_refused() -> None:
    with pytest.raises(PlanError, match="cycle"):
        Plan((Step("a", _noop, ("b",)), Step("b", _noop, ("a",))))
    with pytest.raises(PlanError, match="unknown step 'z'"):
        Plan((Step("a", _noop, ("z",)),))
    with pytest.raises(PlanError, match="duplicate"):
        Plan((Step("a", _noop), Step("a", _noop)))


def test_every_strategy_plan_is_a_valid_dag_ending_in_drift() -> None:
    from stagetui.config.model import StagetuiConfig
    from stagetui.strategies.registry import STRATEGIES

    for strategy in STRATEGIES.values():
        plan = strategy.plan(StagetuiConfig())
        assert plan.levels()[-1][0].name == "check_drift"
        assert plan.names[0] == "prepare_production"
