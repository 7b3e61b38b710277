"""Full clone: every row of production (consistent online backup), anonymized and verified, with
production's complete configuration. Highest fidelity; slowest and costliest."""

from __future__ import annotations

from datetime import timedelta

from stagetui.config.model import StagetuiConfig
from stagetui.data.sqlite_copy import backup_copy
from stagetui.domain.models import Strategy
from stagetui.domain.plans import Plan, Step, StepResult
from stagetui.sources.files import load_tree, write_json_tree
from stagetui.strategies import steps
from stagetui.strategies.base import ProvisioningStrategy
from stagetui.strategies.config_render import merge, replace_secrets, runtime_overrides
from stagetui.strategies.provision import ProvisionContext


async def restore_data(ctx: ProvisionContext) -> StepResult:
    as_of = ctx.clock()
    await ctx.blocking(backup_copy, ctx.production.database, ctx.ws.database, ctx.scaled(0, 1))
    ctx.data_as_of, ctx.data_source = as_of, "full copy of production"
    size = ctx.ws.database.stat().st_size
    ctx.audit("read", str(ctx.production.database), f"full backup into {ctx.env.id}")
    return StepResult(f"backed up {size / 1e6:.1f} MB of production")


async def apply_config(ctx: ProvisionContext) -> StepResult:
    def render() -> int:
        production = load_tree(ctx.production.config)
        patterns = ctx.settings.drift.secret_patterns
        tree = merge(replace_secrets(production, ctx.env.id, patterns), runtime_overrides(ctx.env.id, ctx.ws))
        write_json_tree(tree, ctx.ws.config_file)
        return len(tree)

    namespaces = await ctx.blocking(render)
    return StepResult(f"copied production config ({namespaces} namespaces), secrets replaced")


class FullCloneStrategy(ProvisioningStrategy):
    kind = Strategy.FULL_CLONE

    def plan(self, settings: StagetuiConfig) -> Plan[ProvisionContext]:
        return Plan(
            (
                Step("prepare_production", steps.prepare_production),
                Step("provision_runtime", steps.provision_runtime, ("prepare_production",)),
                Step("restore_data", restore_data, ("provision_runtime",)),
                Step("anonymize", steps.anonymize, ("restore_data",)),
                Step("verify_anonymization", steps.verify_anonymization, ("anonymize",)),
                Step("verify_integrity", steps.verify_integrity, ("anonymize",)),
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
