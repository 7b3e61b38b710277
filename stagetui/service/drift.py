"""Drift checks: production's configuration (from its sources) against an environment's (or another
environment's), with severities, approvals from the config and the store, a threshold, secrets hashed."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from stagetui.config.model import SourceConfig
from stagetui.domain.drift import Approval, DriftInputError, DriftReport, SeverityRule, compute_drift
from stagetui.domain.drift_threshold import DriftThreshold, ThresholdResult, evaluate_threshold
from stagetui.domain.models import CheckRecord, DriftSummary, Environment, MetricSample
from stagetui.runtimes.aws.runtime import AwsRuntime
from stagetui.service.core import ServiceCore
from stagetui.service.errors import BadInputError
from stagetui.service.queries import reconcile, resolve
from stagetui.service.samples import record_samples
from stagetui.sources.base import ConfigSource, LoadedConfig, merge_sources
from stagetui.sources.files import ConfigSourceError
from stagetui.sources.local import FeatureFlagsSource, FilesSource, LiveVariablesSource, RenderedConfigSource
from stagetui.sources.ssm import SsmSource

APPROVALS = "approvals"


@dataclass(frozen=True)
class DriftCheck:
    environment: Environment
    against: str
    """"production", or the id of the environment compared with."""
    report: DriftReport
    threshold: ThresholdResult
    at: datetime


def _source(core: ServiceCore, spec: SourceConfig, env: Environment | None) -> ConfigSource:
    path = (spec.path or "").replace("{env_id}", env.id if env else "")
    if spec.type == "files":
        return FilesSource(Path(path), spec.namespace)
    if spec.type == "feature_flags":
        return FeatureFlagsSource(Path(path), spec.namespace or "feature_flags")
    if spec.type == "ssm":
        endpoint = spec.endpoint_url or core.environ.get("AWS_ENDPOINT_URL") or None
        return SsmSource(path, namespace=spec.namespace or "ssm", region=spec.region, endpoint_url=endpoint)
    assert env is not None  # validated: rendered and live_variables only describe environments
    runtime = core.runtime(env.runtime)
    if spec.type == "rendered":
        return RenderedConfigSource(runtime.workspace(env.id).config_file)
    return LiveVariablesSource(env.id, runtime.live_environment(env.id), spec.namespace or "env")


def production_config(core: ServiceCore, env: Environment | None = None) -> LoadedConfig:
    specs = core.config.drift.production_sources
    if not specs and env is not None and env.runtime == "aws":
        return merge_sources([_aws_ssm(core, core.config.runtimes.aws.production.ssm_path)])
    sources = [_source(core, s, None) for s in specs] or [FilesSource(core.production().config)]
    return merge_sources(sources)


def environment_config(core: ServiceCore, env: Environment) -> LoadedConfig:
    specs = core.config.drift.environment_sources
    if not specs and env.runtime == "aws":
        prefix = core.config.runtimes.aws.environment.ssm_prefix
        return merge_sources([_aws_ssm(core, f"{prefix}{env.id}/")])
    if not specs:
        return merge_sources([RenderedConfigSource(core.runtime(env.runtime).workspace(env.id).config_file)])
    return merge_sources([_source(core, s, env) for s in specs], later_wins=True)


def _aws_ssm(core: ServiceCore, path: str | None) -> ConfigSource:
    """An environment on AWS is compared with production where both keep their config: SSM, by path,
    through the aws runtime's clients (its region, profile, endpoint and retries)."""
    if path is None:
        raise ConfigSourceError("runtimes.aws.production.ssm_path is not set: there is no config to compare")
    runtime = core.runtime("aws")
    client = runtime.clients.ssm if isinstance(runtime, AwsRuntime) else None
    return SsmSource(path, client=client)


def secret_digest(core: ServiceCore) -> Callable[[object], str]:
    """A keyed-hash prefix of a secret value: equal secrets look equal, and nobody without the key can
    test guesses against it (a plain hash of a weak password could be looked up)."""
    key = core.mask_key()

    def digest(value: object) -> str:
        return "h:" + hmac.new(key, f"drift\0{value}".encode(), hashlib.sha256).hexdigest()[:10]

    return digest


def _approval_from_record(record: dict[str, Any]) -> Approval:
    return Approval(
        record["pattern"],
        record["reason"],
        record["approver"],
        date.fromisoformat(record["expires"]) if record.get("expires") else None,
        date.fromisoformat(record["created"]) if record.get("created") else None,
        record.get("environment"),
    )


def approvals(core: ServiceCore, environment_id: str | None = None) -> list[tuple[Approval, str]]:
    """Approvals from the config (every environment) and the store (per environment or all), with where
    each lives; only those applying to `environment_id` when one is given."""
    found = [
        (Approval(a.pattern, a.reason, a.approver, a.expires, a.created), "config")
        for a in core.config.drift.approved
    ]
    found += [(_approval_from_record(r), "store") for r in core.store.collection(APPROVALS).all()]
    if environment_id is None:
        return found
    return [(approval, source) for approval, source in found if approval.applies_to(environment_id)]


def evaluate(
    core: ServiceCore, env: Environment, production: LoadedConfig, environment: LoadedConfig
) -> DriftCheck:
    settings = core.config.drift
    now = core.clock()
    try:
        report = compute_drift(
            production.tree,
            environment.tree,
            severity_rules=[SeverityRule(r.pattern, r.severity) for r in settings.severity],
            default_severity=settings.default_severity,
            approvals=[a for a, _ in approvals(core, env.id)],
            today=now.date(),
            secret_patterns=settings.secret_patterns,
            secret_keys=production.secret_keys | environment.secret_keys,
            secret_digest=secret_digest(core),
            compare_secret_values=settings.compare_secret_values,
        )
    except DriftInputError as error:
        raise BadInputError(f"drift of {env.id}: {error}") from None
    threshold = settings.threshold
    result = evaluate_threshold(
        report,
        DriftThreshold(threshold.max_unapproved, threshold.max_approved, threshold.max_approved_severity),
    )
    return DriftCheck(env, "production", report, result, now)


def check_against_production(core: ServiceCore, env: Environment) -> DriftCheck:
    """Read both sides now and compare (used after provisioning and by `stagetui drift`)."""
    try:
        return evaluate(core, env, production_config(core, env), environment_config(core, env))
    except ConfigSourceError as error:
        raise BadInputError(f"drift of {env.id}: {error}") from None


def check(
    core: ServiceCore, reference: str, against: str | None = None, *, record: bool = True
) -> DriftCheck:
    env = resolve(core, reference).environment
    if against in {None, "production"}:
        result = check_against_production(core, env)
    else:
        other = resolve(core, against).environment
        try:
            baseline = environment_config(core, other)
            result = evaluate(core, env, baseline, environment_config(core, env))
        except ConfigSourceError as error:
            raise BadInputError(f"drift of {env.id} against {other.id}: {error}") from None
        result = DriftCheck(env, other.id, result.report, result.threshold, result.at)
    if record and result.against == "production":
        record_check(core, result)
    return result


def check_all(core: ServiceCore) -> list[tuple[Environment, DriftCheck | None, str]]:
    """Every live, recorded environment: its check, or the error that prevented it."""
    results: list[tuple[Environment, DriftCheck | None, str]] = []
    for view in reconcile(core):
        if not view.recorded or not view.status.is_live:
            continue
        try:
            outcome = check_against_production(core, view.environment)
        except BadInputError as error:
            results.append((view.environment, None, str(error)))
            continue
        record_check(core, outcome)
        results.append((view.environment, outcome, ""))
    return results


def drift_samples(env: Environment, drift: DriftCheck, now: datetime) -> list[MetricSample]:
    """Counts by severity, approved count and pass/fail: the drift history a sparkline or Grafana plots."""
    common = (env.uid, env.id, env.strategy, env.runtime, env.branch)
    samples = [
        MetricSample(now, "drift.unapproved", float(drift.report.count), *common),
        MetricSample(now, "drift.approved", float(drift.report.approved_count), *common),
        MetricSample(now, "drift.pass", 1.0 if drift.threshold.passed else 0.0, *common),
    ]
    samples += [
        MetricSample(now, f"drift.{severity.value}", float(count), *common)
        for severity, count in drift.threshold.unapproved_by_severity.items()
    ]
    return samples


def check_record(drift: DriftCheck) -> CheckRecord:
    result = drift.report.to_dict() | {
        "threshold": {"passed": drift.threshold.passed, "reasons": list(drift.threshold.reasons)}
    }
    summary = drift.report.summary() + ("" if drift.threshold.passed else " · over threshold")
    return CheckRecord(drift.environment.uid, "drift", drift.at, drift.threshold.passed, summary, result)


def record_check(core: ServiceCore, drift: DriftCheck) -> None:
    env = drift.environment
    core.store.add_checks([check_record(drift)])
    record_samples(core, drift_samples(env, drift, drift.at))
    worst = drift.report.worst
    env.drift = DriftSummary(
        drift.report.count, worst.value if worst else None, drift.report.approved_count, drift.at
    )
    core.store.save_environment(env)


def approve(
    core: ServiceCore,
    reference: str,
    pattern: str,
    *,
    reason: str,
    approver: str,
    expires: date | None = None,
    all_environments: bool = False,
) -> Approval:
    """Record an approved difference in the store (for one environment, or all of them)."""
    if not pattern.strip() or not reason.strip() or not approver.strip():
        raise BadInputError("an approval needs a path pattern, a reason and an approver")
    named = resolve(core, reference).environment  # checked even for all environments: a typo is an error
    env = None if all_environments else named
    today = core.clock().date()
    if expires is not None and expires < today:
        raise BadInputError(f"--expires {expires} is in the past")
    approval = Approval(
        pattern.strip(), reason.strip(), approver.strip(), expires, today, env.id if env else None
    )
    record = {**approval.to_dict(), "id": uuid.uuid4().hex[:12]}
    core.store.collection(APPROVALS).put(record)
    core.audit(
        "approve",
        approval.pattern,
        f"{approval.reason} (by {approval.approver}, for {env.id if env else 'all'})",
    )
    return approval


def history(core: ServiceCore, uid: str, since: datetime) -> list[float]:
    """Unapproved drift counts of one environment over time, oldest first."""
    found = [
        s for s in core.store.metrics(since=since, metric="drift.unapproved") if s.environment_uid == uid
    ]
    return [s.value for s in sorted(found, key=lambda s: s.at)]
