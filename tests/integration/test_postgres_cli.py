"""The three strategies end to end on a real PostgreSQL server, from the CLI: production is a database on
the server, golden copies are template databases, environments are databases of their own that the
sample service reads. Teardown, rollback and gc leave no database behind; production is only read."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from stagetui.data.engine import DataLocation
from stagetui.data.postgres.engine import PostgresEngine
from tests.conftest import SMALL_CONFIG
from tests.integration.helpers import cli, get_json

ENGINE = PostgresEngine()


@pytest.fixture
def pg_config(tmp_path: Path, state_dir: Path, pg_production: DataLocation) -> Iterator[Path]:
    assert pg_production.dsn is not None and pg_production.database is not None
    dsn = make_conninfo(pg_production.dsn, dbname=pg_production.database)
    path = tmp_path / "stagetui.yaml"
    path.write_text(SMALL_CONFIG.format(customers=100) + f"production:\n  postgres: {json.dumps(dsn)}\n")
    yield path
    cli(path, "gc")


def server_databases(production: DataLocation, kind: str) -> list[str]:
    assert production.dsn is not None
    names = ENGINE.list_databases(production.dsn, "stagetui_")
    return [n for n in names if f"_{kind}_" in n or n.endswith(f"_{kind}")]


def execute(production: DataLocation, statement: str) -> None:
    assert production.dsn is not None
    with psycopg.connect(make_conninfo(production.dsn, dbname=production.database), autocommit=True) as conn:
        conn.execute(statement)  # type: ignore[arg-type]


def production_emails(production: DataLocation) -> set[str]:
    assert production.dsn is not None
    with psycopg.connect(make_conninfo(production.dsn, dbname=production.database)) as conn:
        return {row[0] for row in conn.execute("SELECT email FROM customers")}


@pytest.mark.parametrize("strategy", ["full_clone", "snapshot", "containerized"])
def test_each_strategy_provisions_a_database_of_its_own_and_removes_it(
    strategy: str, pg_config: Path, pg_production: DataLocation
) -> None:
    up = cli(pg_config, "up", f"pg-{strategy}", "--strategy", strategy, "--json")
    assert up.code == 0, up.stderr
    env = up.json()
    assert env["status"] == "ready"
    (database,) = server_databases(pg_production, "env")
    stats = get_json(f"{env['endpoint']}/stats")
    assert stats["tables"]["customers"] > 0 and stats["newest_updated_at"]
    served = {c["email"] for c in get_json(f"{env['endpoint']}/customers?limit=100")["customers"]}
    assert served and not served & production_emails(pg_production)

    shown = cli(pg_config, "show", env["id"], "--json").json()
    assert shown["database"] == f"postgres database {database}" and shown["data_bytes"] > 0
    assert "data fidelity" in cli(pg_config, "show", env["id"]).stdout
    login = services_login(pg_config.parent / "state", env["id"])
    assert login == database, "the services connect with the environment's own login"
    assert_login_cannot_read_production(pg_production, login)
    assert cli(pg_config, "down", env["id"]).code == 0
    assert server_databases(pg_production, "env") == []
    assert not server_logins(pg_production), "the environment's login outlived it"
    assert production_emails(pg_production)  # production is still there, untouched


def services_login(state: Path, environment_id: str) -> str:
    """The user in the DATABASE_URL the environment's services were given."""
    config = json.loads((state / "environments" / environment_id / "config" / "config.json").read_text())
    user = conninfo_to_dict(config["env"]["DATABASE_URL"]).get("user")
    assert isinstance(user, str), config["env"]
    return user


def server_logins(production: DataLocation) -> list[str]:
    assert production.dsn is not None
    with psycopg.connect(production.dsn) as conn:
        rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname LIKE 'stagetui%'").fetchall()
    return [name for (name,) in rows]


def assert_login_cannot_read_production(production: DataLocation, login: str) -> None:
    """Connected as the environment's login (the test server trusts any password), production's rows
    stay out of reach: branch code holding that login cannot read them."""
    assert production.dsn is not None
    dsn = make_conninfo(production.dsn, dbname=production.database, user=login)
    with pytest.raises(psycopg.Error, match=r"permission denied|not permitted"), psycopg.connect(dsn) as conn:
        conn.execute("SELECT email FROM customers LIMIT 1")


def test_full_clone_follows_production_incrementally(pg_config: Path, pg_production: DataLocation) -> None:
    first = cli(pg_config, "up", "pg-first", "--strategy", "full_clone", "--json")
    assert first.code == 0, first.stderr
    execute(
        pg_production,
        "UPDATE customers SET email = 'moved@example.org', updated_at = now() + interval '1 hour' "
        "WHERE id = 5",
    )
    second = cli(pg_config, "up", "pg-second", "--strategy", "full_clone", "--json")
    assert second.code == 0, second.stderr
    sync = next(s for s in second.json()["steps"] if s["name"] == "sync_golden")
    assert "incremental" in sync["detail"], sync
    goldens = cli(pg_config, "snapshot", "ls", "--json").json()
    assert [g["method"] for g in goldens] == ["incremental"]
    assert len(server_databases(pg_production, "golden")) == 1  # the one it was refreshed from is dropped
    for env in (first.json(), second.json()):
        assert cli(pg_config, "down", env["id"]).code == 0


def test_a_failed_plan_drops_the_environment_database(pg_config: Path, pg_production: DataLocation) -> None:
    failed = cli(
        pg_config,
        "up",
        "pg-fails",
        "--strategy",
        "snapshot",
        extra_env={"STAGETUI_FAILPOINTS": "health_check"},
    )
    assert failed.code == 1
    assert server_databases(pg_production, "env") == []
    assert len(server_databases(pg_production, "golden")) == 1  # the golden copy is kept for next time


def test_refresh_on_postgres_is_idempotent_and_gc_drops_orphaned_databases(
    pg_config: Path, pg_production: DataLocation, state_dir: Path
) -> None:
    refreshed = cli(pg_config, "refresh", "--json")
    assert refreshed.code == 0, refreshed.stderr
    assert {r["kind"]: r["refreshed"] for r in refreshed.json()} == {"snapshot": True, "full": True}
    again = cli(pg_config, "refresh", "--json").json()
    assert [r["refreshed"] for r in again] == [False, False]

    (golden,) = [n for n in server_databases(pg_production, "golden") if "_golden_snapshot_" in n]
    tag = golden.split("_")[1]
    orphan = DataLocation.postgres(pg_production.dsn or "", f"stagetui_{tag}_env_crashed_ctr_00000")
    ENGINE.clone(DataLocation.postgres(pg_production.dsn or "", golden), orphan)
    gc = cli(pg_config, "gc", "--json")
    assert gc.code == 0, gc.stderr
    assert not ENGINE.exists(orphan)
    assert len(server_databases(pg_production, "golden")) == 2
    assert os.environ.get("STAGETUI_STATE_DIR") == str(state_dir)


def test_production_from_a_dump_archive(
    tmp_path: Path, state_dir: Path, postgres_server: str, pg_production: DataLocation
) -> None:
    archive = tmp_path / "production.dump"
    ENGINE.dump(pg_production, archive)
    config = tmp_path / "from-dump.yaml"
    server = json.dumps(postgres_server)
    settings = f"production:\n  postgres_dump: {archive}\ndata:\n  postgres:\n    dsn: {server}\n"
    config.write_text(SMALL_CONFIG.format(customers=100) + settings)

    up = cli(config, "up", "pg-dump", "--strategy", "snapshot", "--json")
    assert up.code == 0, up.stderr
    prepare = next(s for s in up.json()["steps"] if s["name"] == "prepare_production")
    assert "restored production from production.dump" in prepare["detail"]
    assert len(server_databases(pg_production, "production")) == 1
    again = cli(config, "up", "pg-dump-2", "--strategy", "containerized", "--json")
    assert again.code == 0, again.stderr
    assert next(s for s in again.json()["steps"] if s["name"] == "prepare_production")["outcome"] == "skipped"
    for env in (up.json(), again.json()):
        assert cli(config, "down", env["id"]).code == 0

    truncated = tmp_path / "truncated.dump"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    config.write_text(config.read_text().replace(str(archive), str(truncated)))
    failed = cli(config, "up", "pg-truncated", "--strategy", "snapshot")
    assert failed.code == 1 and "truncated.dump" in failed.stderr, failed.stderr
    assert len(server_databases(pg_production, "production")) == 1  # the complete copy is kept
    assert server_databases(pg_production, "env") == []


def test_an_incremental_refresh_that_fails_on_the_way_falls_back_to_a_full_one(
    pg_config: Path, pg_production: DataLocation
) -> None:
    first = cli(pg_config, "up", "pg-unique", "--strategy", "full_clone", "--json")
    assert first.code == 0, first.stderr
    # A customer leaves and a new one signs up with the same email: upserting the newcomer before the
    # leaver's row is deleted collides on the UNIQUE email in the golden copy.
    leaver = "(SELECT id FROM accounts WHERE customer_id = 7)"
    for statement in (
        "INSERT INTO customers SELECT 100000, full_name, 'tmp-' || email, phone, address, city, country, "
        "birth_date, created_at, now() + interval '1 hour' FROM customers WHERE id = 7",
        "DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE customer_id = 7)",
        "DELETE FROM payments WHERE order_id IN (SELECT id FROM orders WHERE customer_id = 7) "
        f"OR account_id IN {leaver}",
        f"DELETE FROM order_items WHERE order_id IN (SELECT id FROM orders WHERE account_id IN {leaver})",
        f"DELETE FROM orders WHERE customer_id = 7 OR account_id IN {leaver}",
        "DELETE FROM accounts WHERE customer_id = 7",
        "DELETE FROM customers WHERE id = 7",
        "UPDATE customers SET email = substr(email, 5) WHERE id = 100000",
    ):
        execute(pg_production, statement)
    second = cli(pg_config, "up", "pg-unique-2", "--strategy", "full_clone", "--json")
    assert second.code == 0, second.stderr
    sync = next(s for s in second.json()["steps"] if s["name"] == "sync_golden")
    assert " full (" in sync["detail"] and "email" in sync["detail"], sync
    for env in (first.json(), second.json()):
        assert cli(pg_config, "down", env["id"]).code == 0
