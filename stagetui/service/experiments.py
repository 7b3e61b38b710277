"""Experiments: started with a hypothesis, samples tagged while they run, analysed against the baseline."""

from __future__ import annotations

from datetime import datetime

from stagetui.domain.benchmarks import Aggregation, Scope
from stagetui.domain.experiments import Experiment, ExperimentResult, ExperimentStatus, analyse
from stagetui.domain.ids import slugify
from stagetui.service.core import ServiceCore
from stagetui.service.cycle_records import experiment_from_record, experiment_to_record
from stagetui.service.errors import BadInputError, ConflictError, NotFoundError

COLLECTION = "experiments"


def all_experiments(core: ServiceCore) -> list[Experiment]:
    found = [experiment_from_record(r) for r in core.store.collection(COLLECTION).all()]
    return sorted(
        found, key=lambda e: e.started_at or datetime.min.replace(tzinfo=core.clock().tzinfo), reverse=True
    )


def running(core: ServiceCore, at: datetime | None = None) -> list[Experiment]:
    at = at or core.clock()
    return [e for e in all_experiments(core) if e.is_running(at)]


def get(core: ServiceCore, reference: str) -> Experiment:
    for experiment in all_experiments(core):
        if reference in {experiment.id, experiment.name}:
            return experiment
    raise NotFoundError(f"no experiment {reference!r} (see `stagetui experiment list`)")


def start(
    core: ServiceCore,
    name: str,
    *,
    hypothesis: str,
    change: str,
    metric: str,
    expected_change: float,
    scope: Scope | None = None,
    step: str | None = None,
    aggregation: Aggregation = Aggregation.MEDIAN,
    lower_is_better: bool = True,
) -> Experiment:
    identifier = slugify(name, 48)
    if not identifier:
        raise BadInputError("an experiment needs a name with letters or digits")
    if not hypothesis.strip():
        raise BadInputError("an experiment needs a hypothesis")
    try:
        experiment = Experiment(
            id=identifier,
            name=name.strip(),
            hypothesis=hypothesis.strip(),
            change=change.strip(),
            metric=metric,
            scope=scope or Scope(),
            expected_change=expected_change,
            started_at=core.clock(),
            ended_at=None,
            status=ExperimentStatus.RUNNING,
            step=step,
            aggregation=aggregation,
            lower_is_better=lower_is_better,
            baseline_window=core.config.cycle.baseline_window,
        )
    except ValueError as error:
        raise BadInputError(str(error)) from None
    with core.store.transaction():  # the check and the write as one: two starts at once have one winner
        if any(e.id == identifier for e in all_experiments(core)):
            raise ConflictError(f"an experiment {identifier!r} exists already")
        core.store.collection(COLLECTION).put(experiment_to_record(experiment))
    core.audit("experiment", identifier, f"started: {experiment.hypothesis}")
    return experiment


def stop(core: ServiceCore, reference: str, *, cancel: bool = False) -> Experiment:
    experiment = get(core, reference)
    if experiment.status is not ExperimentStatus.RUNNING:
        raise ConflictError(f"experiment {experiment.id} is {experiment.status.value}, not running")
    status = ExperimentStatus.CANCELLED if cancel else ExperimentStatus.FINISHED
    ended = Experiment(**{**experiment.__dict__, "ended_at": core.clock(), "status": status})
    core.store.collection(COLLECTION).put(experiment_to_record(ended))
    core.audit("experiment", experiment.id, status.value)
    return ended


def result(core: ServiceCore, reference: str) -> ExperimentResult:
    experiment = get(core, reference)
    now = core.clock()
    since = (experiment.started_at or now) - experiment.baseline_window
    return analyse(experiment, core.store.metrics(since=since), now)
