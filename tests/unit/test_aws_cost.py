"""An environment's cost: the estimate from the price table (exact numbers), and Cost Explorer's answer
through botocore's Stubber (pages, refusals)."""

from __future__ import annotations

from datetime import date
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from stagetui.config.aws import AwsPricesConfig, AwsRuntimeConfig
from stagetui.runtimes.aws.cost import CostEstimate, actual_cost, estimate_per_day
from stagetui.runtimes.aws.session import AwsClients
from stagetui.runtimes.aws.tags import ENV_TAG

ENV = "feat-x-snap-1a2b3"


def test_the_estimate_is_hourly_times_24_and_gb_months_over_30_4375_days() -> None:
    # Prices chosen so that every part is a whole number per day.
    prices = AwsPricesConfig(
        instance_hourly={"db.t4g.small": 0.25},
        rds_storage_gb_month=60.875,
        ebs_gb_month=30.4375,
        s3_gb_month=121.75,
    )

    estimate = estimate_per_day(prices, "db.t4g.small", 20, 30, 0.5)

    assert estimate == CostEstimate(
        per_day=78.0,
        breakdown={
            "instance db.t4g.small": 6.0,
            "rds storage 20 GB": 40.0,
            "ebs 30 GB": 30.0,
            "s3 0.5 GB": 2.0,
        },
        unknown=(),
    )


def test_the_estimate_with_the_default_price_table() -> None:
    estimate = estimate_per_day(AwsPricesConfig(), "db.t4g.micro", 20, 30, 0.5)

    assert estimate.breakdown == pytest.approx(
        {
            "instance db.t4g.micro": 0.384,
            "rds storage 20 GB": 0.0755646817248460,
            "ebs 30 GB": 0.0788501026694045,
            "s3 0.5 GB": 0.000377823408624230,
        },
        rel=1e-12,
    )
    assert estimate.per_day == pytest.approx(0.538792607802875, rel=1e-12)
    assert estimate.unknown == ()


def test_an_instance_class_missing_from_the_price_table_is_flagged_and_counted_as_zero() -> None:
    estimate = estimate_per_day(AwsPricesConfig(), "db.x2g.16xlarge", 0, 8, 0)

    assert estimate.unknown == ("db.x2g.16xlarge",)
    assert estimate.breakdown == {"instance db.x2g.16xlarge": 0.0, "ebs 8 GB": pytest.approx(0.64 / 30.4375)}
    assert estimate.per_day == pytest.approx(0.0210266940451745, rel=1e-12)


def test_an_environment_without_anything_costs_nothing() -> None:
    assert estimate_per_day(AwsPricesConfig(), None, 0, 0, 0) == CostEstimate(0.0, {}, ())


def cost_explorer() -> tuple[AwsClients, Stubber]:
    client = boto3.session.Session().client(
        "ce", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    settings = AwsRuntimeConfig.model_validate({})
    return AwsClients(settings, {}, overrides={"ce": client}), Stubber(client)


QUERY: dict[str, Any] = {
    "TimePeriod": {"Start": "2024-05-01", "End": "2024-05-31"},
    "Granularity": "DAILY",
    "Metrics": ["UnblendedCost"],
    "Filter": {"Tags": {"Key": ENV_TAG, "Values": [ENV]}},
}


def day(amount: str) -> dict[str, Any]:
    return {"Total": {"UnblendedCost": {"Amount": amount, "Unit": "USD"}}}


def test_actual_cost_reads_every_page() -> None:
    clients, stub = cost_explorer()
    stub.add_response(
        "get_cost_and_usage", {"ResultsByTime": [day("1.5"), day("0.25")], "NextPageToken": "p2"}, QUERY
    )
    stub.add_response(
        "get_cost_and_usage", {"ResultsByTime": [day("2.125")]}, QUERY | {"NextPageToken": "p2"}
    )

    with stub:
        assert actual_cost(clients, ENV, date(2024, 5, 1), date(2024, 5, 31)) == 3.875
        stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "status"),
    [("AccessDeniedException", 400), ("DataUnavailableException", 400), ("InternalServerError", 500)],
)
def test_a_refusing_cost_explorer_gives_no_cost(code: str, status: int) -> None:
    clients, stub = cost_explorer()
    stub.add_client_error("get_cost_and_usage", code, "no", http_status_code=status, expected_params=QUERY)

    with stub:
        assert actual_cost(clients, ENV, date(2024, 5, 1), date(2024, 5, 31)) is None
        stub.assert_no_pending_responses()


def test_an_empty_period_costs_nothing_without_asking() -> None:
    clients, stub = cost_explorer()
    with stub:  # any call would fail: nothing is stubbed
        assert actual_cost(clients, ENV, date(2024, 5, 2), date(2024, 5, 2)) == 0.0
