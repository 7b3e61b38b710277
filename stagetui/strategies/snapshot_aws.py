"""Snapshot on AWS: restore an environment from the latest snapshot set of production's RDS database, EBS
volumes and S3 seed files (taking a new set when the latest is older than refresh_after), and give it its
own configuration path in SSM Parameter Store, production's values with secrets replaced.

The data restored is what production's snapshot holds: stagetui cannot mask inside RDS, so the production
resources must hold anonymized data already (`runtimes.aws.production.anonymized`), and the plan refuses
to start otherwise.
"""

from __future__ import annotations

import json

from stagetui.config.aws import AwsProductionConfig
from stagetui.domain.plans import Plan, Step, StepResult
from stagetui.domain.secrets import is_secret_key
from stagetui.runtimes.aws.runtime import AwsRuntime
from stagetui.sources.ssm import SsmSource
from stagetui.store.atomic import atomic_write_text
from stagetui.strategies import steps
from stagetui.strategies.config_render import environment_secret
from stagetui.strategies.provision import ProvisionContext


def aws(ctx: ProvisionContext) -> AwsRuntime:
    if not isinstance(ctx.runtime, AwsRuntime):
        raise RuntimeError(f"this plan runs on the aws runtime, not {ctx.runtime.name}")
    return ctx.runtime


async def prepare_aws(ctx: ProvisionContext) -> StepResult:
    """Refuse before anything is made when the production resources are not declared anonymized, and
    name what the snapshot sets are made of."""
    runtime = aws(ctx)
    production = runtime.settings.production
    if not production.anonymized:
        raise RuntimeError(
            "runtimes.aws.production.anonymized is false: stagetui cannot mask data inside RDS, so it only "
            "snapshots resources that hold anonymized data (e.g. a sanitized replica); set it once that is so"
        )
    parts = [
        f"rds {production.rds_instance or production.rds_cluster}"
        if production.rds_instance or production.rds_cluster
        else "",
        f"{len(production.ebs_volumes)} ebs volume(s)" if production.ebs_volumes else "",
        f"seed {production.s3_seed}" if production.s3_seed else "",
        f"config {production.ssm_path}" if production.ssm_path else "",
    ]
    described = ", ".join(p for p in parts if p)
    if not described:
        raise RuntimeError("runtimes.aws.production names no resource to snapshot")
    region = runtime.clients.region or "the profile's region"
    return StepResult(f"production on AWS ({region}): {described}")


async def ensure_snapshot_set(ctx: ProvisionContext) -> StepResult:
    """The latest complete set, or a new one when it is older than strategies.snapshot.refresh_after."""
    runtime = aws(ctx)
    refresh_after = ctx.settings.strategies.snapshot.refresh_after
    snapshot_set, detail, new = await ctx.blocking(
        lambda: runtime.ensure_snapshot_set(ctx.clock(), refresh_after, progress=ctx.scaled(0, 0.95))
    )
    ctx.snapshot_set = snapshot_set
    ctx.data_as_of, ctx.data_source = snapshot_set.taken_at, f"snapshot set {snapshot_set.id}"
    if new:
        ctx.audit("snapshot", snapshot_set.id, detail)
    return StepResult(detail, skipped=not new)


async def restore_database(ctx: ProvisionContext) -> StepResult:
    runtime, snapshot_set = aws(ctx), ctx.snapshot_set
    endpoint = await ctx.blocking(runtime.restore_database, ctx.env, snapshot_set, ctx.scaled(0, 1))
    ctx.audit("restore", ctx.env.id, f"database from snapshot set {snapshot_set.id}")
    return StepResult(f"database restored ({runtime.settings.environment.instance_class}) at {endpoint}")


async def create_volumes(ctx: ProvisionContext) -> StepResult:
    runtime = aws(ctx)
    volumes = await ctx.blocking(runtime.create_volumes, ctx.env, ctx.snapshot_set, ctx.scaled(0, 1))
    return StepResult(f"{len(volumes)} volume(s) from snapshots: {', '.join(volumes)}")


async def copy_seed(ctx: ProvisionContext) -> StepResult:
    runtime = aws(ctx)
    target, copied = await ctx.blocking(runtime.copy_seed, ctx.env, ctx.snapshot_set, ctx.scaled(0, 1))
    return StepResult(f"seed files copied to {target} ({copied:,} bytes)")


def environment_values(
    tree: dict[str, object], secret_keys: frozenset[str], environment_id: str, patterns: list[str]
) -> tuple[dict[str, str], set[str], set[str]]:
    """Production's parameters (the `ssm` namespace) as the environment's: dotted keys, every secret (a
    SecureString, or a key that looks secret) replaced by a value of the environment's own, and the keys
    that were StringLists (written back as such, so drift compares like with like)."""
    values: dict[str, str] = {}
    secure: set[str] = set()
    lists: set[str] = set()

    def walk(node: object, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
            return
        # Keys in the drift config's secret patterns are full dotted keys: the namespace is part of them.
        if f"ssm.{path}" in secret_keys or is_secret_key(f"ssm.{path}", patterns):
            secure.add(path)
            values[path] = environment_secret(environment_id, path)
        elif isinstance(node, list):
            lists.add(path)
            values[path] = ",".join(map(str, node))
        else:
            values[path] = str(node)

    walk(tree.get("ssm", {}), "")
    return values, secure, lists


async def apply_config(ctx: ProvisionContext) -> StepResult:
    """Production's SSM parameters, secrets replaced, written to the environment's own path (and to the
    workspace, so the rendered config is on record)."""
    runtime = aws(ctx)
    production_path = runtime.settings.production.ssm_path
    if production_path is None:
        return StepResult("no production config in SSM (runtimes.aws.production.ssm_path)", skipped=True)

    def apply() -> tuple[str, int, int]:
        source = SsmSource(production_path, client=runtime.clients.ssm)
        loaded = source.load()
        patterns = list(ctx.settings.drift.secret_patterns)
        values, secure, lists = environment_values(loaded.tree, loaded.secret_keys, ctx.env.id, patterns)
        path, written = runtime.write_config(ctx.env, values, secure, lists)
        atomic_write_text(ctx.ws.config_file, json.dumps({"ssm": values}, indent=2, sort_keys=True))
        return path, written, len(secure)

    path, written, secrets = await ctx.blocking(apply)
    return StepResult(f"{written} parameter(s) written to {path} ({secrets} secret(s) of its own)")


async def estimate_cost(ctx: ProvisionContext) -> StepResult:
    """What the environment costs per day by the price table, from the resources it actually got."""
    estimate = await ctx.blocking(aws(ctx).estimate_cost, ctx.env.id)
    ctx.hourly_cost = estimate.per_day / 24
    unknown = f"; not in the price table: {', '.join(estimate.unknown)}" if estimate.unknown else ""
    summary = f"{estimate.per_day:.2f} per day{unknown}"
    ctx.record_check(
        "cost",
        not estimate.unknown,
        summary,
        {"per_day": estimate.per_day, "breakdown": estimate.breakdown, "unknown": list(estimate.unknown)},
    )
    return StepResult(summary)


def aws_snapshot_plan(production: AwsProductionConfig, drift_sources: bool = False) -> Plan[ProvisionContext]:
    """The parts the configured production has, each restored in its own step, in parallel. Drift is
    checked when there is a production config to compare with (its SSM path, or configured sources)."""
    after_set = ("ensure_snapshot_set", "provision_runtime")
    parts: list[Step[ProvisionContext]] = []
    if production.rds_instance or production.rds_cluster:
        parts.append(Step("restore_database", restore_database, after_set))
    if production.ebs_volumes:
        parts.append(Step("create_volumes", create_volumes, after_set))
    if production.s3_seed:
        parts.append(Step("copy_seed", copy_seed, after_set))
    parts.append(Step("apply_config", apply_config, ("provision_runtime",)))
    ready = tuple(step.name for step in parts)
    return Plan(
        (
            Step("prepare_aws", prepare_aws),
            Step("ensure_snapshot_set", ensure_snapshot_set, ("prepare_aws",)),
            Step("provision_runtime", steps.provision_runtime, ("prepare_aws",)),
            *parts,
            Step("start_services", steps.start_services, ready),
            Step("health_check", steps.health_check, ("start_services",)),
            Step("estimate_cost", estimate_cost, ("health_check",)),
            *(
                (Step("check_drift", steps.check_drift, ("health_check",)),)
                if production.ssm_path or drift_sources
                else ()
            ),
        )
    )
