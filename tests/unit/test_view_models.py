"""The table's cells: which change with the clock, and when a reconciled row needs no rewrite."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from stagetui.domain.cost import CostModel
from stagetui.domain.freshness import assess_freshness
from stagetui.domain.models import DriftSummary, Environment, EnvironmentStatus, Strategy
from stagetui.service.queries import EnvironmentView
from stagetui.ui.view_models import COLUMNS, environment_cells, matches, same_row, time_cells

NOW = datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
COSTS = CostModel("USD", {"local": {Strategy.SNAPSHOT: 0.5}}, 0.1)


def view(now: datetime = NOW, **changes: object) -> EnvironmentView:
    env = Environment(
        uid="u1", id="feat-x-snap-1a2b3", branch="feat/x", strategy=Strategy.SNAPSHOT, runtime="local",
        owner="alice", created_at=NOW - timedelta(hours=2), expires_at=NOW + timedelta(hours=6),
        status=EnvironmentStatus.READY, data_as_of=NOW - timedelta(hours=30),
        max_data_age=timedelta(hours=36), drift=DriftSummary(2, "minor", 1, NOW - timedelta(hours=2)),
    )  # fmt: skip
    env = replace(env, **changes)  # type: ignore[arg-type]
    freshness = assess_freshness(env.data_as_of, env.max_data_age, now)
    return EnvironmentView(env, env.status, True, True, freshness)


def test_the_tick_computes_exactly_the_time_dependent_columns_as_the_full_row_does() -> None:
    later = NOW + timedelta(minutes=7)
    ticked = time_cells(view(), later, COSTS)
    assert set(ticked) == {column.key for column in COLUMNS if column.time_dependent}
    full = environment_cells(view(), later, COSTS)
    assert {key: full[key] for key in ticked} == ticked
    assert ticked != time_cells(view(), NOW, COSTS)


def test_a_reconciled_row_that_only_aged_is_the_same_row() -> None:
    assert same_row(view(), view(NOW + timedelta(minutes=5)))  # its freshness differs: not compared
    assert not same_row(view(), view(status=EnvironmentStatus.DEGRADED))
    assert not same_row(view(), view(drift=DriftSummary(3, "major", 1, NOW)))
    unrecorded = replace(view(), recorded=False)
    assert not same_row(view(), unrecorded)


def test_an_empty_filter_matches_everything_and_words_must_all_match() -> None:
    assert matches(view(), "")
    assert matches(view(), "  ")
    assert matches(view(), "ALICE snapshot")
    assert not matches(view(), "alice bob")
