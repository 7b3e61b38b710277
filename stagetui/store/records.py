"""Domain records to and from the plain dicts TinyDB keeps."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from stagetui.domain.models import (
    AuditEntry,
    CheckRecord,
    DriftSummary,
    Environment,
    EnvironmentStatus,
    MetricSample,
    StepOutcome,
    StepPhase,
    StepRecord,
    Strategy,
)

Record = dict[str, Any]


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _required_time(value: str) -> datetime:
    return datetime.fromisoformat(value)


def environment_to_record(env: Environment) -> Record:
    record = asdict(env)
    for key in ("created_at", "expires_at", "data_as_of", "updated_at"):
        record[key] = _time(getattr(env, key))
    record["strategy"] = env.strategy.value
    record["status"] = env.status.value
    record["max_data_age"] = env.max_data_age.total_seconds() if env.max_data_age else None
    if env.drift:
        record["drift"] = {**asdict(env.drift), "checked_at": _time(env.drift.checked_at)}
    return record


def environment_from_record(record: Record) -> Environment:
    drift = record.get("drift")
    max_age = record.get("max_data_age")
    return Environment(
        uid=record["uid"],
        id=record["id"],
        branch=record["branch"],
        strategy=Strategy(record["strategy"]),
        runtime=record["runtime"],
        owner=record["owner"],
        created_at=_required_time(record["created_at"]),
        expires_at=_required_time(record["expires_at"]),
        status=EnvironmentStatus(record["status"]),
        status_detail=record.get("status_detail", ""),
        endpoint=record.get("endpoint"),
        data_as_of=_parse_time(record.get("data_as_of")),
        data_source=record.get("data_source", ""),
        max_data_age=timedelta(seconds=max_age) if max_age is not None else None,
        drift=(
            DriftSummary(
                drift["count"], drift["worst"], drift["approved"], _required_time(drift["checked_at"])
            )
            if drift
            else None
        ),
        orphans=record.get("orphans"),
        provision_seconds=record.get("provision_seconds"),
        data_bytes=record.get("data_bytes"),
        database=record.get("database", ""),
        owner_pid=record.get("owner_pid"),
        owner_host=record.get("owner_host", ""),
        updated_at=_parse_time(record.get("updated_at")),
        experiment=record.get("experiment"),
        labels=dict(record.get("labels") or {}),
        claim_seconds=record.get("claim_seconds"),
        hourly_cost=record.get("hourly_cost"),
    )


def step_to_record(step: StepRecord) -> Record:
    return {
        **asdict(step),
        "phase": step.phase.value,
        "outcome": step.outcome.value,
        "started_at": _time(step.started_at),
        "ended_at": _time(step.ended_at),
        "seconds": step.seconds,
    }


def step_from_record(record: Record) -> StepRecord:
    return StepRecord(
        environment_uid=record["environment_uid"],
        environment_id=record["environment_id"],
        name=record["name"],
        phase=StepPhase(record["phase"]),
        started_at=_required_time(record["started_at"]),
        ended_at=_required_time(record["ended_at"]),
        outcome=StepOutcome(record["outcome"]),
        detail=record.get("detail", ""),
    )


def metric_to_record(sample: MetricSample) -> Record:
    # Spelled out rather than asdict(), which deep-copies every field: bulk recording spent its time there.
    return {
        "at": _time(sample.at),
        "metric": sample.metric,
        "value": sample.value,
        "environment_uid": sample.environment_uid,
        "environment_id": sample.environment_id,
        "strategy": sample.strategy.value,
        "runtime": sample.runtime,
        "branch": sample.branch,
        "step": sample.step,
        "experiment": sample.experiment,
    }


def metric_from_record(record: Record) -> MetricSample:
    return MetricSample(
        **{**record, "at": _required_time(record["at"]), "strategy": Strategy(record["strategy"])}
    )


def check_to_record(check: CheckRecord) -> Record:
    return {**asdict(check), "at": _time(check.at)}


def check_from_record(record: Record) -> CheckRecord:
    return CheckRecord(**{**record, "at": _required_time(record["at"])})


def audit_to_record(entry: AuditEntry) -> Record:
    return {**asdict(entry), "at": _time(entry.at)}


def audit_from_record(record: Record) -> AuditEntry:
    return AuditEntry(**{**record, "at": _required_time(record["at"])})
