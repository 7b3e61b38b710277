"""Containerized (on demand): seed data is a masked subset of production or synthetic data, and the config is
rendered from a template kept in code, which can miss production-only settings: drift makes that visible.
Seconds and cheap. The strategy does not care which runtime runs it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from stagetui.config.model import StagetuiConfig
from stagetui.data.sqlite_subset import subset_copy
from stagetui.domain.models import Strategy
from stagetui.domain.plans import Plan, Step, StepResult
from stagetui.sample.generator import SampleSpec, generate_production_db
from stagetui.sources.files import write_json_tree
from stagetui.strategies import steps
from stagetui.strategies.base import ProvisioningStrategy
from stagetui.strategies.config_render import merge, packaged_template, render_template, runtime_overrides
from stagetui.strategies.provision import ProvisionContext


def _seed_for(environment_id: str) -> int:
    return int.from_bytes(hashlib.sha256(environment_id.encode()).digest()[:4], "big")


async def subset_data(ctx: ProvisionContext) -> StepResult:
    settings = ctx.settings.strategies.containerized
    as_of = ctx.clock()
    report = await ctx.blocking(
        subset_copy,
        ctx.production.database,
        ctx.ws.database,
        settings.subset_root,
        settings.subset_fraction,
        _seed_for(ctx.env.id),
        ctx.scaled(0, 1),
    )
    ctx.data_as_of = as_of
    ctx.data_source = f"{settings.subset_fraction:.1%} subset of production by {settings.subset_root}"
    ctx.audit("read", str(ctx.production.database), f"subset into {ctx.env.id}: {report.summary()}")
    return StepResult(report.summary())


async def generate_data(ctx: ProvisionContext) -> StepResult:
    settings = ctx.settings.strategies.containerized
    spec = SampleSpec(customers=settings.synthetic_customers, seed=_seed_for(ctx.env.id), now=ctx.clock())
    report = await ctx.blocking(generate_production_db, ctx.ws.database, spec, ctx.scaled(0, 1))
    # Synthetic data is not a copy of anything: it has no age to measure against production.
    ctx.data_as_of, ctx.data_source = None, "synthetic"
    return StepResult(f"generated {sum(report.row_counts.values()):,} synthetic rows")


async def render_config(ctx: ProvisionContext) -> StepResult:
    template = ctx.settings.strategies.containerized.config_template or packaged_template()

    def render() -> None:
        variables = {"ENV_ID": ctx.env.id, "DATABASE_URL": f"sqlite:///{ctx.ws.database}"}
        tree = merge(render_template(template, variables), runtime_overrides(ctx.env.id, ctx.ws))
        write_json_tree(tree, ctx.ws.config_file)

    await ctx.blocking(render)
    return StepResult(f"rendered {template.name}")


class ContainerizedStrategy(ProvisioningStrategy):
    kind = Strategy.CONTAINERIZED

    def plan(self, settings: StagetuiConfig) -> Plan[ProvisionContext]:
        config_ready = ("render_config",)
        data_steps: tuple[Step[ProvisionContext], ...]
        checks: tuple[Step[ProvisionContext], ...]
        if settings.strategies.containerized.seed == "synthetic":
            data_steps = (Step("generate_data", generate_data, ("provision_runtime",)),)
            data_ready: tuple[str, ...] = ("verify_integrity",)
            checks = (Step("verify_integrity", steps.verify_integrity, ("generate_data",)),)
        else:
            data_steps = (
                Step("subset_data", subset_data, ("provision_runtime",)),
                Step("anonymize", steps.anonymize, ("subset_data",)),
            )
            data_ready = ("verify_anonymization", "verify_integrity")
            checks = (
                Step("verify_anonymization", steps.verify_anonymization, ("anonymize",)),
                Step("verify_integrity", steps.verify_integrity, ("anonymize",)),
            )
        return Plan(
            (
                Step("prepare_production", steps.prepare_production),
                Step("provision_runtime", steps.provision_runtime, ("prepare_production",)),
                *data_steps,
                *checks,
                Step("render_config", render_config, ("provision_runtime",)),
                Step("start_services", steps.start_services, data_ready + config_ready),
                Step("health_check", steps.health_check, ("start_services",)),
                Step("check_drift", steps.check_drift, ("health_check",)),
            )
        )

    def max_data_age(self, settings: StagetuiConfig) -> timedelta:
        return settings.strategies.containerized.max_data_age
