"""Containerized (on demand): seed data is a masked subset of production or synthetic data, and the config is
rendered from a template kept in code, which can miss production-only settings: drift makes that visible.
Seconds and cheap. The strategy does not care which runtime runs it."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from stagetui.config.model import StagetuiConfig
from stagetui.domain.models import Strategy
from stagetui.domain.plans import Plan, Step, StepResult
from stagetui.domain.subset import SubsetReport
from stagetui.sample.generator import GenerationReport, SampleSpec, generate_production_db
from stagetui.sources.files import write_json_tree
from stagetui.strategies import steps
from stagetui.strategies.base import ProvisioningStrategy
from stagetui.strategies.config_render import (
    merge,
    packaged_template,
    render_template,
    runtime_overrides,
    services_database_url,
)
from stagetui.strategies.provision import ProvisionContext


def _seed_for(environment_id: str) -> int:
    return int.from_bytes(hashlib.sha256(environment_id.encode()).digest()[:4], "big")


async def subset_data(ctx: ProvisionContext) -> StepResult:
    settings = ctx.settings.strategies.containerized
    steps.claim_environment_database(ctx)
    read_at, target = ctx.clock(), ctx.env_data

    def subset() -> SubsetReport:
        report = ctx.engine.subset(
            ctx.production.data,
            target,
            settings.subset_root,
            settings.subset_fraction,
            _seed_for(ctx.env.id),
            settings.subset_where,
            ctx.scaled(0, 0.95),
        )
        steps.set_as_of(ctx, read_at, ctx.engine.newest(target, ctx.settings.data.change_column))
        return report

    report = await ctx.blocking(subset)
    scope = f" where {settings.subset_where}" if settings.subset_where else ""
    ctx.data_source = f"{settings.subset_fraction:.1%} subset of production by {settings.subset_root}{scope}"
    ctx.audit("read", ctx.production.data.describe(), f"subset into {ctx.env.id}: {report.summary()}")
    return StepResult(report.summary())


async def generate_data(ctx: ProvisionContext) -> StepResult:
    settings = ctx.settings.strategies.containerized
    spec = SampleSpec(customers=settings.synthetic_customers, seed=_seed_for(ctx.env.id), now=ctx.clock())
    steps.claim_environment_database(ctx)
    target = ctx.env_data

    def generate() -> GenerationReport:
        if target.engine == "sqlite":
            return generate_production_db(ctx.ws.database, spec, ctx.scaled(0, 1))
        from stagetui.data.postgres.engine import PostgresEngine  # psycopg is only needed with PostgreSQL

        if not isinstance(ctx.engine, PostgresEngine):
            raise RuntimeError(f"cannot load synthetic data into {target.describe()} with {ctx.engine.name}")
        staging = ctx.ws.data_dir / "synthetic.db"
        try:
            generated = generate_production_db(staging, spec, ctx.scaled(0, 0.6))
            ctx.engine.load_sqlite(staging, target, ctx.scaled(0.6, 1))
        finally:
            staging.unlink(missing_ok=True)
        return generated

    report = await ctx.blocking(generate)
    # Synthetic data is not a copy of anything: it has no age to measure against production.
    ctx.data_as_of, ctx.data_source = None, "synthetic"
    return StepResult(f"generated {sum(report.row_counts.values()):,} synthetic rows")


async def render_config(ctx: ProvisionContext) -> StepResult:
    template = ctx.settings.strategies.containerized.config_template or packaged_template()

    def render() -> None:
        services = ctx.services_data()
        variables = {"ENV_ID": ctx.env.id, "DATABASE_URL": services_database_url(ctx.ws, services)}
        tree = merge(render_template(template, variables), runtime_overrides(ctx.env.id, ctx.ws, services))
        write_json_tree(tree, ctx.ws.config_file)

    await ctx.blocking(render)
    return StepResult(f"rendered {template.name}")


class ContainerizedStrategy(ProvisioningStrategy):
    kind = Strategy.CONTAINERIZED

    def plan(self, settings: StagetuiConfig, runtime: str = "local") -> Plan[ProvisionContext]:
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
