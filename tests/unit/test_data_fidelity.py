"""Per-table fidelity from recorded checks, strict-mode coverage, and the names of server databases."""

from __future__ import annotations

from pathlib import Path

from stagetui.domain.anonymize import ColumnRule, MaskKind, uncovered_columns
from stagetui.domain.fidelity import table_fidelity
from stagetui.service.databases import environment_database, golden_database, installation_tag
from stagetui.service.paths import StatePaths


def test_fidelity_joins_masking_proof_and_orphans_per_table() -> None:
    anonymization = {
        "columns": [
            {"table": "customers", "column": "email", "kind": "fake_email", "changed": 40},
            {"table": "customers", "column": "id", "kind": "keep", "changed": 0},
            {"table": "payments", "column": "payer_email", "kind": "fake_email", "changed": 90},
        ]
    }
    masking = {
        "columns": [
            {"table": "customers", "column": "email", "row_leaks": 0, "set_leaks": 0},
            {"table": "payments", "column": "payer_email", "row_leaks": 2, "set_leaks": 1},
        ]
    }
    integrity = {
        "foreign_keys": [
            {"foreign_key": "orders.customer_id -> customers.id", "table": "orders", "orphans": 3},
            {"foreign_key": "payments.order_id -> orders.id", "orphans": 0},  # recorded before "table" was
        ]
    }
    rows = {row.table: row for row in table_fidelity(anonymization, masking, integrity)}
    assert list(rows) == ["customers", "orders", "payments"]
    assert (rows["customers"].masked_columns, rows["customers"].values_masked, rows["customers"].leaks) == (
        1,
        40,
        0,
    )
    assert rows["customers"].ok and rows["customers"].orphans is None
    assert rows["payments"].leaks == 3 and not rows["payments"].ok and rows["payments"].foreign_keys == 1
    assert rows["orders"].orphans == 3 and rows["orders"].values_masked is None


def test_a_snapshot_environment_counts_masked_columns_from_the_proof_alone() -> None:
    masking = {"columns": [{"table": "customers", "column": "email", "row_leaks": 0, "set_leaks": 0}]}
    (row,) = table_fidelity(None, masking, None)
    assert (row.masked_columns, row.values_masked, row.leaks) == (1, None, 0)


def test_strict_mode_lists_columns_of_sensitive_tables_without_a_rule() -> None:
    rules = [
        ColumnRule("customers", "email", MaskKind.FAKE_EMAIL),
        ColumnRule("customers", "id", MaskKind.KEEP),
    ]
    columns = {"customers": ["id", "email", "loyalty_tier"], "products": ["id", "name"]}
    assert uncovered_columns(rules, columns) == ["customers.loyalty_tier"]


def test_server_database_names_fit_postgres_and_are_distinct_per_installation() -> None:
    one = installation_tag(StatePaths(Path("/state/a")), "host")
    two = installation_tag(StatePaths(Path("/state/b")), "host")
    assert one != two
    name = environment_database(one, "feat-login-ctr-1a2b3")
    assert name == f"stagetui_{one}_env_feat_login_ctr_1a2b3"
    long_id = "x" * 63
    assert len(environment_database(one, long_id)) <= 63
    assert environment_database(one, long_id) != environment_database(one, long_id[:-1] + "y")
    assert golden_database(one, "snapshot", "20261126T120000000000Z").startswith(
        f"stagetui_{one}_golden_snapshot_"
    )
