"""Test results (JUnit XML) per environment, and production outcomes (escaped defects, incidents) to see
how well each strategy's green runs predicted production."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date
from pathlib import Path
from typing import Any

from stagetui.domain.junit import MAX_BYTES, JUnitError, TestRun, parse_junit
from stagetui.domain.models import Environment, MetricSample, Strategy
from stagetui.domain.outcomes import OutcomeError, ProductionOutcome, parse_outcomes
from stagetui.service.core import ServiceCore
from stagetui.service.errors import BadInputError
from stagetui.service.queries import resolve

RUNS = "test_runs"
OUTCOMES = "outcomes"
MAX_FILE = MAX_BYTES


@dataclasses.dataclass(frozen=True)
class RecordedRun:
    id: str
    environment: Environment
    run: TestRun


def record_junit(core: ServiceCore, reference: str, path: Path) -> RecordedRun:
    """Parse a JUnit file for an environment (live or ended) and record its pass rate as a metric."""
    env = resolve(core, reference, include_history=True).environment
    try:
        if path.stat().st_size > MAX_FILE:
            raise BadInputError(f"{path}: larger than {MAX_FILE // (1024 * 1024)} MB")
        run = parse_junit(path.read_bytes(), str(path))
    except OSError as error:
        raise BadInputError(f"{path}: {error.strerror or error}") from None
    except JUnitError as error:
        raise BadInputError(str(error)) from None
    now = core.clock()
    run_id = hashlib.sha256(f"{env.uid}\0{now.isoformat()}\0{path}".encode()).hexdigest()[:12]
    record: dict[str, Any] = {
        "id": run_id,
        "environment_uid": env.uid,
        "environment_id": env.id,
        "strategy": env.strategy.value,
        "at": now.isoformat(),
        "source": run.source,
        "tests": run.tests,
        "passed": run.passed,
        "failures": run.failures,
        "errors": run.errors,
        "skipped": run.skipped,
        "seconds": run.seconds,
        "pass_rate": run.pass_rate,
        "flaky": run.flaky,
        "failed_cases": list(run.failed_cases),
        "flaky_cases": list(run.flaky_cases),
    }
    core.store.collection(RUNS).put(record)
    if run.pass_rate is not None:
        # Tagged with the experiment the environment was provisioned under, whenever the tests ran:
        # its results describe that setup, not whatever runs at the time they are recorded.
        sample = MetricSample(
            now,
            "tests.pass_rate",
            run.pass_rate,
            env.uid,
            env.id,
            env.strategy,
            env.runtime,
            env.branch,
            experiment=env.experiment,
        )
        core.store.add_metrics([sample])
    core.audit("tests", env.id, f"{run.passed}/{run.tests} passed from {path.name}", env.id)
    return RecordedRun(run_id, env, run)


def test_runs(core: ServiceCore, reference: str | None = None) -> list[dict[str, Any]]:
    runs = core.store.collection(RUNS).all()
    if reference is not None:
        env = resolve(core, reference, include_history=True).environment
        runs = [r for r in runs if r["environment_uid"] == env.uid]
    return sorted(runs, key=lambda r: str(r["at"]), reverse=True)


def _outcome_key(outcome: ProductionOutcome) -> str:
    text = "\0".join((outcome.date.isoformat(), outcome.kind, outcome.reference, outcome.description))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def import_outcomes(core: ServiceCore, path: Path) -> tuple[int, int]:
    """Import a CSV of production outcomes; rows seen before are not duplicated. Returns (new, total)."""
    try:
        parsed = parse_outcomes(path.read_text(encoding="utf-8"), str(path))
    except OSError as error:
        raise BadInputError(f"{path}: {error.strerror or error}") from None
    except (OutcomeError, UnicodeDecodeError) as error:
        raise BadInputError(str(error)) from None
    envs = {e.id: e.strategy for e in core.store.environments()}
    collection = core.store.collection(OUTCOMES, key="key")
    known = {r["key"] for r in collection.all()}
    new = 0
    for outcome in parsed:
        if outcome.strategy is None and outcome.environment_id in envs:  # attribute through the environment
            outcome = dataclasses.replace(outcome, strategy=envs[outcome.environment_id])
        key = _outcome_key(outcome)
        if key in known:
            continue
        record = {**dataclasses.asdict(outcome), "key": key, "date": outcome.date.isoformat()}
        record["strategy"] = outcome.strategy.value if outcome.strategy else None
        collection.put(record)
        known.add(key)
        new += 1
    core.audit("outcomes", str(path), f"{new} new of {len(parsed)} production outcomes")
    return new, len(parsed)


def outcomes(core: ServiceCore) -> list[ProductionOutcome]:
    found = []
    for record in core.store.collection(OUTCOMES, key="key").all():
        fields = {k: v for k, v in record.items() if k != "key"}
        fields["date"] = date.fromisoformat(fields["date"])
        fields["strategy"] = Strategy(fields["strategy"]) if fields.get("strategy") else None
        found.append(ProductionOutcome(**fields))
    return sorted(found, key=lambda o: o.date, reverse=True)
