"""Steps shared by the strategies: each takes the ProvisionContext, does one named thing, says what it did.

Blocking work (SQLite, files, HTTP) runs through `ctx.blocking`, so steps in parallel branches of a plan and
environments provisioning side by side share the event loop without stalling it.
"""

from __future__ import annotations

from stagetui.data.production import ensure_production
from stagetui.data.sqlite_integrity import check_integrity
from stagetui.data.sqlite_masking import apply_masking, verify_masking
from stagetui.domain.plans import StepResult
from stagetui.strategies.provision import ProvisionContext


async def prepare_production(ctx: ProvisionContext) -> StepResult:
    """Generate the sample production on first use; nothing to do afterwards."""
    done = await ctx.blocking(ensure_production, ctx.production, ctx.scaled(0, 1))
    if done is None:
        return StepResult("production present", skipped=True)
    ctx.audit("generate", str(ctx.production.database), done)
    return StepResult(done)


async def provision_runtime(ctx: ProvisionContext) -> StepResult:
    # Registered before the work: if this step is cancelled half way, whatever it made is still undone.
    ctx.rollback.push(f"destroy {ctx.env.id} on {ctx.runtime.name}", lambda: ctx.runtime.destroy(ctx.env.id))
    workspace = await ctx.blocking(ctx.runtime.create_workspace, ctx.env)
    ctx.workspace = workspace
    return StepResult(f"workspace {workspace.root.name} on {ctx.runtime.name}")


async def anonymize(ctx: ProvisionContext) -> StepResult:
    report = await ctx.blocking(apply_masking, ctx.ws.database, ctx.rules, ctx.masker(), ctx.scaled(0, 1))
    ctx.audit("mask", ctx.env.id, report.summary())
    return StepResult(report.summary())


async def verify_anonymization(ctx: ProvisionContext) -> StepResult:
    """Prove no original value of a masked column is left; a leak fails the plan (and rolls it back)."""
    verification = await ctx.blocking(verify_masking, ctx.ws.database, ctx.production.database, ctx.rules)
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
    report = await ctx.blocking(check_integrity, ctx.ws.database)
    ctx.integrity = report
    ctx.record_check(
        "integrity",
        report.ok,
        report.summary(),
        {"foreign_keys": [{"foreign_key": str(c.foreign_key), "orphans": c.orphans} for c in report.checked]},
    )
    return StepResult(report.summary())


async def start_services(ctx: ProvisionContext) -> StepResult:
    timeout = ctx.settings.runtimes.local.health_timeout.total_seconds()
    ctx.endpoint = await ctx.blocking(ctx.runtime.start_services, ctx.env, ctx.ws, timeout)
    return StepResult(f"listening at {ctx.endpoint}")


async def health_check(ctx: ProvisionContext) -> StepResult:
    if ctx.endpoint is None:
        raise RuntimeError("no endpoint: start_services must run first")
    timeout = ctx.settings.runtimes.local.health_timeout.total_seconds()
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
