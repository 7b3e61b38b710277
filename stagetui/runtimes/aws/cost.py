"""What an environment costs: an estimate per day from the configured price table and what it holds (no
pricing API is assumed), and what Cost Explorer actually billed to its tag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from stagetui.config.aws import AwsPricesConfig
from stagetui.runtimes.aws.errors import aws_errors
from stagetui.runtimes.aws.inventory import env_objects, owned_resources, seed_prefix, split_s3_url
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.aws.tags import ENV_TAG
from stagetui.runtimes.base import RuntimeOperationError

DAYS_PER_MONTH = 30.4375
"""AWS's GB-month prices are per average month: 365.25 / 12 days."""
HOURS_PER_DAY = 24
GIB = 1024**3
"""AWS bills storage "GB" as GiB."""


@dataclass(frozen=True)
class CostEstimate:
    per_day: float
    breakdown: dict[str, float]
    """What each part costs per day, e.g. "instance db.t4g.micro", "rds storage 20 GB", "ebs 30 GB"."""
    unknown: tuple[str, ...]
    """Instance classes missing from the price table: estimated at 0, so the total is too low."""


def estimate_per_day(
    prices: AwsPricesConfig,
    instance_class: str | None,
    rds_storage_gb: float,
    ebs_gb: float,
    s3_gb: float,
) -> CostEstimate:
    """Per day: the instance's hourly price * 24, and each GB-month price / 30.4375 for its storage. Parts
    the environment does not have (no instance, 0 GB) are left out of the breakdown."""
    breakdown: dict[str, float] = {}
    unknown: list[str] = []
    if instance_class is not None:
        hourly = prices.instance_hourly.get(instance_class)
        if hourly is None:
            unknown.append(instance_class)
        breakdown[f"instance {instance_class}"] = (hourly or 0.0) * HOURS_PER_DAY
    for label, size, per_gb_month in (
        ("rds storage", rds_storage_gb, prices.rds_storage_gb_month),
        ("ebs", ebs_gb, prices.ebs_gb_month),
        ("s3", s3_gb, prices.s3_gb_month),
    ):
        if size > 0:
            breakdown[f"{label} {size:g} GB"] = size * per_gb_month / DAYS_PER_MONTH
    return CostEstimate(sum(breakdown.values()), breakdown, tuple(unknown))


def environment_sizes(
    clients: AwsClients, environment_id: str, seed_bucket: str | None
) -> tuple[str | None, float, float, float]:
    """What the environment holds, for estimate_per_day: its database's instance class, the GB allocated to
    its RDS storage, to its EBS volumes and taken by its S3 seed copy. Aurora storage is billed by use and
    not counted (its clusters report no allocated size)."""
    owned = owned_resources(clients, environment_id)
    instances = sorted(owned.instances.items())
    instance_class = str(instances[0][1]["DBInstanceClass"]) if instances else None
    rds_gb = float(
        sum(int(d.get("AllocatedStorage", 0)) for _, d in instances if not d.get("DBClusterIdentifier"))
    )
    ebs_gb = float(sum(owned.volumes.values()))
    s3_bytes = 0
    if seed_bucket:
        url = seed_prefix(clients.settings, seed_bucket, environment_id)
        bucket, prefix = split_s3_url(url)
        doing = f"environment {environment_id}: sizing its seed copy {url}"
        s3_bytes = sum(int(obj.get("Size", 0)) for obj in env_objects(clients, bucket, prefix, doing))
    return instance_class, rds_gb, ebs_gb, s3_bytes / GIB


def actual_cost(clients: AwsClients, environment_id: str, start: date, end: date) -> float | None:
    """The unblended cost Cost Explorer has for resources tagged with the environment's id, from `start` up
    to `end` (exclusive). None when Cost Explorer cannot be asked (unreachable, not enabled, no permission):
    cost is shown beside an environment, never a reason for a command to fail. The tag must be activated as
    a cost allocation tag in the billing console before Cost Explorer knows it."""
    if end <= start:
        return 0.0
    query: dict[str, Any] = {
        "TimePeriod": {"Start": start.isoformat(), "End": end.isoformat()},
        "Granularity": "DAILY",
        "Metrics": ["UnblendedCost"],
        "Filter": {"Tags": {"Key": ENV_TAG, "Values": [environment_id]}},
    }
    total = 0.0
    try:
        with aws_errors(f"environment {environment_id}: cost from Cost Explorer"):
            while True:
                answer = clients.cost_explorer.get_cost_and_usage(**query)
                for period in answer.get("ResultsByTime", []):
                    amount = period.get("Total", {}).get("UnblendedCost", {}).get("Amount")
                    total += float(amount or 0)
                token = answer.get("NextPageToken")
                if not token:
                    break
                query["NextPageToken"] = token
    except (RuntimeOperationError, ValueError):
        return None
    return total
