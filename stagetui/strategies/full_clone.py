"""Full clone: every row of production, anonymized and verified, with production's complete configuration.
Highest fidelity; slowest and costliest.

On SQLite each environment gets its own online backup of production, masked in place. On PostgreSQL
production is brought over once into a golden database (pg_dump/pg_restore, masked, VACUUM FULL, sealed),
kept in step with production by incremental refreshes, and every environment is a template clone of it.
"""

from __future__ import annotations

from datetime import timedelta

from stagetui.config.model import StagetuiConfig
from stagetui.domain.models import Strategy
from stagetui.domain.plans import Plan, Step, StepResult
from stagetui.sources.files import load_tree, write_json_tree
from stagetui.strategies import steps
from stagetui.strategies.base import ProvisioningStrategy
from stagetui.strategies.config_render import merge, replace_secrets, runtime_overrides
from stagetui.strategies.golden import refresh_golden
from stagetui.strategies.provision import ProvisionContext

KEEP_FULL_GOLDEN = 1  # the full clone follows production: an older golden copy has no use


async def restore_data(ctx: ProvisionContext) -> StepResult:
    steps.claim_environment_database(ctx)
    read_at = ctx.clock()
    target = ctx.env_data

    def copy() -> None:
        ctx.engine.full_copy(ctx.production.data, target, ctx.scaled(0, 0.95))
        steps.set_as_of(ctx, read_at, ctx.engine.newest(target, ctx.settings.data.change_column))

    await ctx.blocking(copy)
    ctx.data_source = "full copy of production"
    ctx.audit("read", ctx.production.data.describe(), f"full copy into {ctx.env.id} ({target.describe()})")
    return StepResult(f"copied production into {target.describe()}")


async def sync_golden(ctx: ProvisionContext) -> StepResult:
    """Bring the golden copy in step with production: incrementally when it can, in full otherwise."""
    if ctx.full_golden is None:
        raise RuntimeError("no store for the full clone's golden copy")
    store, source = ctx.full_golden, ctx.golden_source()
    result = await ctx.blocking(
        lambda: refresh_golden(
            store,
            source,
            refresh_after=None,
            keep=KEEP_FULL_GOLDEN,
            follow_production=True,
            progress=ctx.scaled(0, 1),
        )
    )
    if not result.refreshed:
        return StepResult(f"golden {result.snapshot.id} is in step with production", skipped=True)
    how = result.snapshot.method + (f" ({result.fallback})" if result.fallback else "")
    ctx.audit("read", ctx.production.data.describe(), f"golden {result.snapshot.id} refreshed, {how}")
    ctx.audit("golden", result.snapshot.id, f"{result.reason}: {result.snapshot.masking_summary}")
    return StepResult(f"refreshed golden {result.snapshot.id} {how} ({result.reason})")


async def clone_data(ctx: ProvisionContext) -> StepResult:
    if ctx.full_golden is None:
        raise RuntimeError("no store for the full clone's golden copy")
    store = ctx.full_golden
    steps.claim_environment_database(ctx)
    target = ctx.env_data

    def clone() -> tuple[str, str]:
        with store.lock.hold():
            golden = store.latest()
            if golden is None:
                raise RuntimeError("no golden copy to clone")
            method = ctx.engine.clone(golden.location(ctx.golden_source().server_dsn), target)
        steps.set_as_of(ctx, golden.taken_at, golden.newest_change)
        ctx.data_source = f"full clone of golden {golden.id}"
        return golden.id, method

    golden_id, method = await ctx.blocking(clone)
    ctx.audit("restore", ctx.env.id, f"from golden {golden_id} by {method} into {target.describe()}")
    return StepResult(f"cloned golden {golden_id} by {method}")


async def apply_config(ctx: ProvisionContext) -> StepResult:
    def render() -> int:
        production = load_tree(ctx.production.config)
        patterns = ctx.settings.drift.secret_patterns
        overrides = runtime_overrides(ctx.env.id, ctx.ws, ctx.services_data())
        tree = merge(replace_secrets(production, ctx.env.id, patterns), overrides)
        write_json_tree(tree, ctx.ws.config_file)
        return len(tree)

    namespaces = await ctx.blocking(render)
    return StepResult(f"copied production config ({namespaces} namespaces), secrets replaced")


class FullCloneStrategy(ProvisioningStrategy):
    kind = Strategy.FULL_CLONE

    def plan(self, settings: StagetuiConfig, runtime: str = "local") -> Plan[ProvisionContext]:
        data: tuple[Step[ProvisionContext], ...]
        if settings.production.on_postgres:
            data = (
                Step("sync_golden", sync_golden, ("prepare_production",)),
                Step("restore_data", clone_data, ("sync_golden", "provision_runtime")),
            )
            masked = "restore_data"
        else:
            data = (
                Step("restore_data", restore_data, ("provision_runtime",)),
                Step("anonymize", steps.anonymize, ("restore_data",)),
            )
            masked = "anonymize"
        return Plan(
            (
                Step("prepare_production", steps.prepare_production),
                Step("provision_runtime", steps.provision_runtime, ("prepare_production",)),
                *data,
                Step("verify_anonymization", steps.verify_anonymization, (masked,)),
                Step("verify_integrity", steps.verify_integrity, (masked,)),
                Step("apply_config", apply_config, ("provision_runtime",)),
                Step(
                    "start_services",
                    steps.start_services,
                    ("verify_anonymization", "verify_integrity", "apply_config"),
                ),
                Step("health_check", steps.health_check, ("start_services",)),
                Step("check_drift", steps.check_drift, ("health_check",)),
            )
        )

    def max_data_age(self, settings: StagetuiConfig) -> timedelta:
        return settings.strategies.full_clone.max_data_age
