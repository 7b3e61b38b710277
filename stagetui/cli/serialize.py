"""JSON shapes of what the CLI prints with --json: stable keys, ISO times, seconds as numbers."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from stagetui.data.golden_store import GoldenSnapshot
from stagetui.domain.models import AuditEntry, CheckRecord, StepRecord
from stagetui.service.queries import EnvironmentDetail, EnvironmentView
from stagetui.service.teardown import GcAction


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def view_to_json(view: EnvironmentView, now: datetime) -> dict[str, Any]:
    env, fresh = view.environment, view.freshness
    return {
        "id": env.id,
        "uid": env.uid,
        "branch": env.branch,
        "strategy": env.strategy.value,
        "runtime": env.runtime,
        "owner": env.owner,
        "status": view.status.value,
        "status_detail": env.status_detail,
        "recorded": view.recorded,
        "running": view.running,
        "endpoint": env.endpoint,
        "created_at": _time(env.created_at),
        "expires_at": _time(env.expires_at),
        "ttl_left_seconds": round(env.ttl_left(now).total_seconds(), 1),
        "provision_seconds": env.provision_seconds,
        "claim_seconds": env.claim_seconds,
        "data_source": env.data_source,
        "database": env.database,
        "data_bytes": env.data_bytes,
        "freshness": {
            "as_of": _time(fresh.as_of),
            "age_seconds": fresh.age.total_seconds() if fresh.age is not None else None,
            "max_age_seconds": fresh.max_age.total_seconds() if fresh.max_age else None,
            "status": fresh.status.value,
        },
        "drift": (
            {"unapproved": env.drift.count, "worst": env.drift.worst, "approved": env.drift.approved}
            if env.drift
            else None
        ),
        "orphans": env.orphans,
        "unreachable": view.unreachable,
    }


def step_to_json(step: StepRecord) -> dict[str, Any]:
    return {
        "name": step.name,
        "phase": step.phase.value,
        "outcome": step.outcome.value,
        "started_at": _time(step.started_at),
        "seconds": round(step.seconds, 4),
        "detail": step.detail,
    }


def check_to_json(check: CheckRecord) -> dict[str, Any]:
    return {
        "kind": check.kind,
        "at": _time(check.at),
        "ok": check.ok,
        "summary": check.summary,
        "result": check.result,
    }


def detail_to_json(detail: EnvironmentDetail, now: datetime) -> dict[str, Any]:
    return {
        **view_to_json(detail.view, now),
        "steps": [step_to_json(s) for s in detail.steps],
        "checks": [check_to_json(c) for c in detail.checks],
        "fidelity": [asdict(row) for row in detail.fidelity()],
        "log_tail": detail.log_tail,
        "services": [asdict(service) for service in detail.services],
        "cost_per_day": detail.cost_per_day,
        "billed": detail.billed,
        "currency": detail.currency,
    }


def gc_to_json(action: GcAction) -> dict[str, Any]:
    return {
        "id": action.environment_id,
        "reason": action.reason,
        "removed": action.removed,
        "error": action.error,
    }


def snapshot_to_json(snapshot: GoldenSnapshot, now: datetime) -> dict[str, Any]:
    return {**snapshot.to_dict(), "age_seconds": snapshot.age(now).total_seconds()}


def audit_to_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at.isoformat(),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "detail": entry.detail,
        "environment": entry.environment_id,
    }
