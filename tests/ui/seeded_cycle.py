"""The seeded, frozen stagetui of seeded.py plus two weeks of measurements, benchmarks, an experiment with
its tagged samples, and a retrospective note: deterministic data for the improvement-cycle screens."""

from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

import yaml

from stagetui.config.model import StagetuiConfig
from stagetui.domain.benchmarks import Scope
from stagetui.domain.experiments import Experiment, ExperimentStatus
from stagetui.domain.models import MetricSample, Strategy
from stagetui.domain.notes import Note
from stagetui.service import notes as notes_service
from stagetui.service.api import StagetuiService
from stagetui.service.cycle_records import experiment_to_record
from stagetui.ui.app import StagetuiApp
from tests.conftest import SMALL_CONFIG
from tests.ui.seeded import FROZEN, ago, seeded_service

BENCHMARKS = """
benchmarks:
  - {name: ready-in-5-minutes, metric: provision.total_seconds, aggregation: share_under, limit: 300,
     target: 0.9, direction: higher, description: 90% ready in under five minutes}
  - {name: clone-p90, metric: provision.total_seconds, aggregation: p90, target: 240,
     scope: {strategy: full_clone}, baseline: 420, description: full clones ready in 4 minutes}
  - {name: zero-drift, metric: drift.unapproved, aggregation: p90, target: 0}
"""
TYPICAL_SECONDS = {Strategy.FULL_CLONE: 380.0, Strategy.SNAPSHOT: 95.0, Strategy.CONTAINERIZED: 12.0}
TYPICAL_AGE = {Strategy.FULL_CLONE: 60.0, Strategy.SNAPSHOT: 14 * 3600.0, Strategy.CONTAINERIZED: 30.0}
EXPERIMENT = Experiment(
    id="parallel-copy",
    name="parallel-copy",
    hypothesis="copying tables in parallel cuts full clone time by a quarter",
    change="restore_data copies tables on 4 workers",
    metric="provision.total_seconds",
    scope=Scope(Strategy.FULL_CLONE),
    expected_change=-0.25,
    started_at=ago(days=3),
    ended_at=None,
    status=ExperimentStatus.RUNNING,
)


def cycle_config() -> StagetuiConfig:
    data = yaml.safe_load(SMALL_CONFIG.format(customers=400) + BENCHMARKS)
    return StagetuiConfig.model_validate({**data, "owner": "snapshot-tests"})


def measurements() -> list[MetricSample]:
    """Fourteen days of provisioning: a few environments a day per strategy, full clones faster once the
    experiment starts (tagged with it)."""
    rng = random.Random(7)
    samples = []
    for day in range(14, 0, -1):
        for strategy in Strategy:
            for run in range(3):
                at = ago(days=day, hours=-(9 + 3 * run))
                tagged = strategy is Strategy.FULL_CLONE and at >= EXPERIMENT.started_at  # type: ignore[operator]
                seconds = TYPICAL_SECONDS[strategy] * rng.uniform(0.8, 1.25) * (0.55 if tagged else 1.0)
                uid = f"{strategy.value}-{day}-{run}"
                common = (uid, uid, strategy, "local", f"feature/{day}")
                experiment = EXPERIMENT.id if tagged else None
                samples.append(
                    MetricSample(at, "provision.total_seconds", seconds, *common, experiment=experiment)
                )
                age = TYPICAL_AGE[strategy] * rng.uniform(0.5, 1.5)
                samples.append(MetricSample(at, "data.age_seconds", age, *common, experiment=experiment))
                drift = 0.0 if strategy is not Strategy.CONTAINERIZED else float(rng.choice((3, 4, 5)))
                samples.append(MetricSample(at, "drift.unapproved", drift, *common, experiment=experiment))
    return samples


def seeded_cycle_service(state_dir: Path) -> StagetuiService:
    service, _ = seeded_service(state_dir, cycle_config())
    store = service.core.store
    store.add_metrics(measurements())
    store.collection("experiments").put(experiment_to_record(EXPERIMENT))
    note = Note(
        "0123456789ab",
        "Parallel copy: first week",
        "## What worked\n- clones **45% faster**\n\n## Action items\n- [ ] roll out\n",
        "snapshot-tests",
        FROZEN - timedelta(hours=2),
        FROZEN - timedelta(hours=2),
        None,
        EXPERIMENT.id,
    )
    store.collection(notes_service.COLLECTION).put(notes_service.to_record(note))
    return service


def seeded_cycle_app(state_dir: Path) -> StagetuiApp:
    return StagetuiApp(seeded_cycle_service(state_dir))
