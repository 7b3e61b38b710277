"""Experiments: which running experiment a sample belongs to, and the analysis against the prior baseline."""

from __future__ import annotations

import dataclasses
import math
import random
from datetime import UTC, datetime, timedelta

import pytest

from stagetui.domain.benchmarks import Aggregation, Scope
from stagetui.domain.experiments import Experiment, ExperimentStatus, analyse, tag_for, tag_sample
from stagetui.domain.models import MetricSample, Strategy
from stagetui.domain.statistics import Verdict

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NOW = START + timedelta(days=7)
TOTAL = "provision.total_seconds"


def _experiment(**overrides: object) -> Experiment:
    fields: dict[str, object] = {
        "id": "exp-1",
        "name": "parallel copy",
        "hypothesis": "copying tables in parallel cuts provisioning time",
        "change": "copy tables in parallel",
        "metric": TOTAL,
        "scope": Scope(strategy=Strategy.SNAPSHOT),
        "expected_change": -0.3,
        "started_at": START,
        "ended_at": None,
        "status": ExperimentStatus.RUNNING,
    }
    fields.update(overrides)
    return Experiment(**fields)  # type: ignore[arg-type]


def _sample(
    at: datetime,
    value: float,
    experiment: str | None = None,
    metric: str = TOTAL,
    strategy: Strategy = Strategy.SNAPSHOT,
) -> MetricSample:
    return MetricSample(at, metric, value, "uid", "env", strategy, "local", "main", None, experiment)


def _tag(experiments: list[Experiment], at: datetime = NOW, metric: str = TOTAL) -> str | None:
    return tag_for(
        experiments, at=at, metric=metric, strategy=Strategy.SNAPSHOT, runtime="local", branch="main"
    )


def test_running_and_covering_follow_status_scope_and_the_run_window() -> None:
    experiment = _experiment(ended_at=START + timedelta(days=10))
    assert experiment.is_running(START) and not experiment.is_running(START - timedelta(seconds=1))
    assert not experiment.is_running(START + timedelta(days=10))
    assert not _experiment(status=ExperimentStatus.CANCELLED).is_running(NOW)
    assert experiment.covers(_sample(NOW, 1.0))
    assert not experiment.covers(_sample(NOW, 1.0, strategy=Strategy.FULL_CLONE))
    assert not experiment.covers(_sample(START - timedelta(hours=1), 1.0))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"aggregation": Aggregation.SHARE_UNDER}, "share_under"),
        ({"started_at": None}, "needs a start time"),
        ({"ended_at": START - timedelta(days=1)}, "ends before it starts"),
        ({"baseline_window": timedelta(0)}, "baseline window"),
    ],
)
def test_invalid_experiments_are_refused(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _experiment(**overrides)


def test_no_tag_outside_scope_or_when_nothing_runs() -> None:
    assert _tag([]) is None
    assert _tag([_experiment(scope=Scope(strategy=Strategy.FULL_CLONE))]) is None
    assert _tag([_experiment(status=ExperimentStatus.FINISHED, ended_at=NOW)]) is None
    assert _tag([_experiment()], at=START - timedelta(minutes=1)) is None


def test_the_most_recently_started_matching_experiment_wins() -> None:
    older = _experiment(id="older")
    newer = _experiment(id="newer", started_at=START + timedelta(days=1))
    assert _tag([older, newer]) == "newer"
    assert _tag([newer, older]) == "newer"


def test_an_experiment_on_this_metric_beats_a_newer_one_on_another() -> None:
    on_total = _experiment(id="on-total")
    on_age = _experiment(id="on-age", metric="data.age_seconds", started_at=START + timedelta(days=1))
    assert _tag([on_total, on_age]) == "on-total"
    assert _tag([on_total, on_age], metric="data.age_seconds") == "on-age"
    # Other metrics of an environment under a running experiment are tagged too, not left in benchmarks.
    assert _tag([on_total], metric="drift.unapproved") == "on-total"


def test_tag_sample_sets_the_tag() -> None:
    tagged = tag_sample([_experiment()], _sample(NOW, 120.0))
    assert tagged == dataclasses.replace(_sample(NOW, 120.0), experiment="exp-1")


def _lognormal(rng: random.Random, n: int, median_value: float) -> list[float]:
    return [rng.lognormvariate(math.log(median_value), 0.15) for _ in range(n)]


def _history(
    baseline_median: float, experiment_median: float, n_experiment: int, seed: int
) -> list[MetricSample]:
    """Two weeks of untagged samples before START, then `n_experiment` tagged samples after it, plus noise
    that must be ignored: out of scope, older than the baseline window, and another experiment's."""
    rng = random.Random(seed)
    before = [
        _sample(START - timedelta(hours=11 * (i + 1)), v)
        for i, v in enumerate(_lognormal(rng, 30, baseline_median))
    ]
    during = [
        _sample(START + timedelta(hours=5 * (i + 1)), v, experiment="exp-1")
        for i, v in enumerate(_lognormal(rng, n_experiment, experiment_median))
    ]
    ignored = [
        _sample(START - timedelta(days=1), 5.0, strategy=Strategy.FULL_CLONE),
        _sample(START - timedelta(days=20), 5.0),
        _sample(START + timedelta(days=1), 5.0, experiment="exp-other"),
        _sample(START + timedelta(days=1), 5.0, experiment="exp-1", metric="data.age_seconds"),
        _sample(NOW + timedelta(days=1), 5.0, experiment="exp-1"),  # after `now`
    ]
    return before + during + ignored


def test_a_halved_provisioning_time_is_an_improvement_beyond_the_expected_cut() -> None:
    result = analyse(_experiment(), _history(300, 150, 25, seed=1), NOW)
    comparison = result.comparison
    assert (comparison.n_baseline, comparison.n_experiment) == (30, 25)
    assert comparison.verdict is Verdict.IMPROVED
    assert comparison.ci_low is not None and comparison.ci_high is not None
    assert comparison.ci_low < -0.5 < comparison.ci_high < -0.3
    assert result.met_expectation is True
    assert result.summary.startswith("parallel copy: improved: median provisioning time fell ")
    assert "so the hypothesis holds" in result.summary


def test_a_cut_smaller_than_promised_fails_the_expectation() -> None:
    result = analyse(_experiment(expected_change=-0.8), _history(300, 150, 25, seed=1), NOW)
    assert result.comparison.verdict is Verdict.IMPROVED
    assert result.met_expectation is False
    assert "falls short of the expected change (\u221280%)" in result.summary


def test_an_interval_straddling_the_expectation_neither_confirms_nor_rules_out() -> None:
    result = analyse(_experiment(expected_change=-0.5), _history(300, 150, 25, seed=1), NOW)
    assert result.met_expectation is None
    assert "neither confirmed nor ruled out" in result.summary


def test_noise_is_no_clear_change() -> None:
    result = analyse(_experiment(), _history(300, 300, 25, seed=2), NOW)
    assert result.comparison.verdict is Verdict.NO_CLEAR_CHANGE
    assert result.met_expectation is False  # the interval excludes a 30% cut


def test_thin_data_is_inconclusive() -> None:
    result = analyse(_experiment(), _history(300, 150, 3, seed=3), NOW)
    assert result.comparison.verdict is Verdict.INCONCLUSIVE
    assert result.met_expectation is None
    assert result.summary == (
        "parallel copy: inconclusive: only 3 samples in the experiment; "
        "at least 5 per group are needed to conclude"
    )


def test_a_planned_experiment_has_nothing_to_compare() -> None:
    planned = _experiment(started_at=None, status=ExperimentStatus.PLANNED)
    result = analyse(planned, _history(300, 150, 25, seed=4), NOW)
    assert result.comparison.verdict is Verdict.INCONCLUSIVE
    assert "has not started" in result.summary


def test_a_higher_is_better_experiment_on_p90() -> None:
    experiment = _experiment(
        metric=TOTAL, lower_is_better=False, expected_change=0.2, aggregation=Aggregation.P90
    )
    result = analyse(experiment, _history(100, 200, 25, seed=5), NOW)
    assert result.comparison.statistic == "p90"
    assert result.comparison.verdict is Verdict.IMPROVED
    assert result.met_expectation is True
