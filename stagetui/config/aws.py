"""The `runtimes.aws` section: which production resources snapshot sets are taken from, how environments
are restored from them, how AWS is reached, and the price table for cost estimates."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import Field, field_validator, model_validator

from stagetui.config.sections import PositiveDuration, Section


def _s3_url(value: str | None) -> str | None:
    if value is not None and (not value.startswith("s3://") or len(value) <= len("s3://")):
        raise ValueError("an S3 location is written s3://bucket/prefix/")
    return value


def _ssm_path(value: str) -> str:
    if not value.startswith("/") or not value.endswith("/"):
        raise ValueError("an SSM path starts and ends with / (e.g. /prod/shop/)")
    return value


class AwsProductionConfig(Section):
    rds_instance: str | None = None
    """Identifier of production's RDS instance, snapshotted into each snapshot set."""
    rds_cluster: str | None = None
    """Or an Aurora cluster's identifier (set one of rds_instance and rds_cluster)."""
    ebs_volumes: list[str] = Field(default_factory=list)
    """EBS volume ids snapshotted into each set (e.g. a file store's data volume)."""
    s3_seed: str | None = None
    """Seed files copied into each set and from there into each environment: s3://bucket/prefix/."""
    ssm_path: str | None = None
    """Production's configuration in SSM Parameter Store (e.g. /prod/shop/): copied, secrets replaced, to
    each environment's own path, and compared with it for drift."""
    anonymized: bool = False
    """The resources above hold anonymized data already (e.g. a sanitized replica kept by a masking job).
    stagetui cannot mask inside RDS, so it refuses to restore environments from them until this says so."""

    @field_validator("s3_seed")
    @classmethod
    def _check_seed(cls, value: str | None) -> str | None:
        return _s3_url(value)

    @field_validator("ssm_path")
    @classmethod
    def _check_ssm(cls, value: str | None) -> str | None:
        return None if value is None else _ssm_path(value)

    @model_validator(mode="after")
    def _one_database(self) -> AwsProductionConfig:
        if self.rds_instance and self.rds_cluster:
            raise ValueError("set rds_instance or rds_cluster, not both")
        return self


class AwsEnvironmentConfig(Section):
    instance_class: str = "db.t4g.micro"
    """Instance class of an environment's restored database (smaller than production's by default)."""
    availability_zone: str | None = None
    """Zone of an environment's EBS volumes. Unset: the zone of the production volume each comes from."""
    ssm_prefix: str = "/stagetui/"
    """An environment's configuration goes to {ssm_prefix}{environment id}/ in SSM Parameter Store."""
    s3_prefix: str = "stagetui/"
    """Key prefix in the seed bucket: snapshot sets' copies go under {s3_prefix}sets/, environments' under
    {s3_prefix}envs/."""
    final_snapshot: bool = False
    """Take a final snapshot of an environment's database when it is torn down (ephemeral: no)."""

    @field_validator("ssm_prefix")
    @classmethod
    def _check_prefix(cls, value: str) -> str:
        return _ssm_path(value)

    @field_validator("s3_prefix")
    @classmethod
    def _check_s3_prefix(cls, value: str) -> str:
        if value.startswith("/") or not value.endswith("/"):
            raise ValueError("an S3 key prefix ends with / and does not start with one (e.g. stagetui/)")
        return value


class AwsPricesConfig(Section):
    instance_hourly: dict[str, float] = Field(
        default_factory=lambda: {
            "db.t4g.micro": 0.016,
            "db.t4g.small": 0.032,
            "db.t4g.medium": 0.065,
            "db.r6g.large": 0.258,
        }
    )
    """Price per hour by RDS instance class (an unknown class is estimated at 0 and flagged)."""
    rds_storage_gb_month: float = Field(default=0.115, ge=0)
    """RDS storage per GB-month."""
    ebs_gb_month: float = Field(default=0.08, ge=0)
    """EBS volume storage (gp3) per GB-month."""
    snapshot_gb_month: float = Field(default=0.095, ge=0)
    """Snapshot storage per GB-month (RDS and EBS), charged to the snapshot sets."""
    s3_gb_month: float = Field(default=0.023, ge=0)
    """S3 storage per GB-month."""

    @field_validator("instance_hourly")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        negative = sorted(name for name, price in value.items() if price < 0)
        if negative:
            raise ValueError(f"prices must not be negative: {', '.join(negative)}")
        return value


class AwsRuntimeConfig(Section):
    region: str | None = None
    """AWS region. Unset: $AWS_REGION / $AWS_DEFAULT_REGION, else the profile's."""
    profile: str | None = None
    """Named profile of the shared AWS config files. Unset: the standard credential chain."""
    endpoint_url: str | None = None
    """Another endpoint for every service (LocalStack, moto, a private endpoint). Unset: $AWS_ENDPOINT_URL,
    else AWS itself."""
    production: AwsProductionConfig = AwsProductionConfig()
    """The production resources snapshot sets are taken from."""
    environment: AwsEnvironmentConfig = AwsEnvironmentConfig()
    """How environments are made from a snapshot set."""
    keep_sets: int = Field(default=2, ge=1, le=50)
    """Snapshot sets kept; older ones are deleted after a new set is complete."""
    waiter_delay: PositiveDuration = timedelta(seconds=15)
    """Seconds between polls while waiting for AWS (snapshots, restores, volumes)."""
    waiter_timeout: PositiveDuration = timedelta(minutes=45)
    """How long one wait may take before the step fails (and rolls back)."""
    max_attempts: int = Field(default=5, ge=1, le=20)
    """Attempts per API call, retries of throttling and transient errors included."""
    retry_mode: Literal["standard", "adaptive", "legacy"] = "standard"
    """botocore's retry mode; adaptive also rate-limits the client when AWS throttles."""
    prices: AwsPricesConfig = AwsPricesConfig()
    """Price table for cost estimates (no pricing API is assumed)."""
