"""Steps shared by the strategies: each takes the ProvisionContext, does one named thing, says what it did.

Blocking work (SQLite, files, HTTP) runs through `ctx.blocking`, so steps in parallel branches of a plan and
environments provisioning side by side share the event loop without stalling it.
"""

from __future__ import annotations

from datetime import datetime

from stagetui.data.production import ensure_production
from stagetui.domain.integrity import IntegrityReport
from stagetui.domain.plans import StepResult
from stagetui.runtimes.base import EnvironmentExistsError
from stagetui.strategies.provision import ProvisionContext
from stagetui.strategies.rule_coverage import check_rules_cover


async def prepare_production(ctx: ProvisionContext) -> StepResult:
    """Generate the sample production on first use, and check that the masking rules cover production's
    schema before any row is read."""

    def prepare() -> str | None:
        done = ensure_production(ctx.production, ctx.engine, ctx.scaled(0, 0.9))
        strict = ctx.settings.anonymization.strict
        check_rules_cover(ctx.engine, ctx.production.data, ctx.rules, strict=strict)
        return done

    done = await ctx.blocking(prepare)
    if done is None:
        return StepResult("production present, masking rules cover it", skipped=True)
    ctx.audit("generate", ctx.production.data.describe(), done)
    return StepResult(done)


def claim_environment_database(ctx: ProvisionContext) -> None:
    """On a server, the environment's database is dropped if the plan fails after this point."""
    target = ctx.env_data
    if target.engine == "postgres":
        ctx.rollback.push(f"drop {target.describe()}", lambda: ctx.engine.drop(target))


def set_as_of(ctx: ProvisionContext, read_at: datetime | None, newest_change: datetime | None) -> None:
    """The environment's data as-of time, as configured: when the copy was read, or its newest change."""
    ctx.data_as_of = newest_change if ctx.settings.data.as_of == "newest_change" else read_at


async def provision_runtime(ctx: ProvisionContext) -> StepResult:
    # Registered before the work: if this step is cancelled half way, whatever it made is still undone.
    # Not when the runtime refused because the environment exists already: that is not this run's.
    refused = False

    def undo() -> object:
        return [] if refused else ctx.runtime.destroy(ctx.env.id)

    ctx.rollback.push(f"destroy {ctx.env.id} on {ctx.runtime.name}", undo)
    try:
        workspace = await ctx.blocking(ctx.runtime.create_workspace, ctx.env)
    except EnvironmentExistsError:
        refused = True
        raise
    ctx.workspace = workspace
    return StepResult(f"workspace {workspace.root.name} on {ctx.runtime.name}")


async def anonymize(ctx: ProvisionContext) -> StepResult:
    report = await ctx.blocking(ctx.engine.mask, ctx.env_data, ctx.rules, ctx.masker(), ctx.scaled(0, 1))
    ctx.record_check(
        "anonymization",
        True,
        report.summary(),
        {
            "columns": [vars(c) | {"kind": c.kind.value} for c in report.columns],
            "rules": report.rules_version,
        },
    )
    ctx.audit("mask", ctx.env.id, f"{report.summary()}: {report.details()}")
    return StepResult(report.summary())


async def verify_anonymization(ctx: ProvisionContext) -> StepResult:
    """Prove no original value of a masked column is left; a leak fails the plan (and rolls it back)."""
    verification = await ctx.blocking(ctx.engine.verify_masking, ctx.env_data, ctx.production.data, ctx.rules)
    ctx.record_check(
        "masking",
        verification.ok,
        verification.summary(),
        {"columns": [vars(c) | {"kind": c.kind.value} for c in verification.columns]},
    )
    ctx.audit("verify-masking", ctx.env.id, verification.summary())
    if not verification.ok:
        raise RuntimeError(verification.summary())
    return StepResult(verification.summary())


async def verify_integrity(ctx: ProvisionContext) -> StepResult:
    """Orphans per foreign key of production's schema (so a copy without constraints is checked too);
    more than data.max_orphans fails the plan."""

    def check() -> IntegrityReport:
        keys = ctx.engine.foreign_keys(ctx.production.data)
        return ctx.engine.integrity(ctx.env_data, keys)

    report = await ctx.blocking(check)
    ctx.integrity = report
    limit = ctx.settings.data.max_orphans
    passed = report.total_orphans <= limit
    ctx.record_check(
        "integrity",
        passed,
        report.summary(),
        {
            "foreign_keys": [
                {"foreign_key": str(c.foreign_key), "table": c.foreign_key.table, "orphans": c.orphans}
                for c in report.checked
            ],
            "max_orphans": limit,
        },
    )
    if not passed:
        raise RuntimeError(f"{report.summary()}: over the threshold of {limit} (data.max_orphans)")
    return StepResult(report.summary())


def _health_timeout(ctx: ProvisionContext) -> float:
    return ctx.settings.runtimes.health_timeout(ctx.runtime.name).total_seconds()


async def start_services(ctx: ProvisionContext) -> StepResult:
    timeout = _health_timeout(ctx)
    if ctx.services_login is not None:  # the data is complete by now: its services' login may come in
        await ctx.blocking(ctx.engine.open_to_services, ctx.services_login)
    ctx.endpoint = await ctx.blocking(ctx.runtime.start_services, ctx.env, ctx.ws, timeout, ctx.scaled(0, 1))
    return StepResult(f"listening at {ctx.endpoint}")


async def health_check(ctx: ProvisionContext) -> StepResult:
    if ctx.endpoint is None:
        raise RuntimeError("no endpoint: start_services must run first")
    timeout = _health_timeout(ctx)
    return StepResult(await ctx.blocking(ctx.runtime.wait_healthy, ctx.env, ctx.endpoint, timeout))


async def check_drift(ctx: ProvisionContext) -> StepResult:
    """Compare the config the environment actually runs with production's config right now (the service
    wires the sources, approvals and secret hashing in `ctx.drift_checker`)."""
    report, threshold = await ctx.blocking(ctx.drift_checker)
    ctx.drift, ctx.drift_threshold = report, threshold
    result = report.to_dict() | {
        "threshold": {"passed": threshold.passed, "reasons": list(threshold.reasons)}
    }
    summary = report.summary() + ("" if threshold.passed else " · over threshold")
    ctx.record_check("drift", threshold.passed, summary, result)
    return StepResult(summary)
