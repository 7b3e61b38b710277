"""The data pipeline from the CLI on the embedded engine: refresh (idempotent, concurrent), the audit trail
(complete, free of PII), per-table fidelity in `show`, and strict anonymization refusing a new column."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path

from tests.integration.helpers import cli, column_values


def production_db(state: Path) -> Path:
    return state / "sample" / "production.db"


def test_refresh_is_idempotent_and_safe_twice_at_once(small_config: Path, state_dir: Path) -> None:
    command = [sys.executable, "-m", "stagetui", "--config", str(small_config), "refresh", "--json"]
    runs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    outputs = [run.communicate(timeout=180) for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    results = [json.loads(out) for out, _err in outputs]
    assert sorted(r["refreshed"] for r in results) == [False, True]
    assert results[0]["snapshot"]["id"] == results[1]["snapshot"]["id"]

    again = cli(small_config, "refresh", "--json")
    assert again.code == 0 and again.json()["refreshed"] is False
    listing = cli(small_config, "snapshot", "ls", "--json").json()
    assert len(listing) == 1 and listing[0]["method"] == "full" and listing[0]["newest_change"]


def test_audit_trail_tells_who_read_what_and_holds_no_personal_data(
    small_config: Path, state_dir: Path
) -> None:
    up = cli(small_config, "up", "audit-me", "--strategy", "full_clone", "--json")
    assert up.code == 0, up.stderr
    env_id = up.json()["id"]
    try:
        trail = cli(small_config, "audit", "--env", env_id, "--json")
        assert trail.code == 0, trail.stderr
        actions = [entry["action"] for entry in trail.json()]
        assert {"read", "mask", "verify-masking", "provision"} <= set(actions)
        mask = next(e for e in trail.json() if e["action"] == "mask")
        assert "customers.email fake_email:" in mask["detail"]

        everything = cli(small_config, "audit", "--json").stdout
        for column in ("email", "full_name", "phone"):
            for value in column_values(production_db(state_dir), "customers", column):
                assert value not in everything

        shown = cli(small_config, "show", env_id)
        assert "data fidelity" in shown.stdout and "customers" in shown.stdout
        data_only = cli(small_config, "audit", "--data", "--limit", "2", "--json").json()
        assert len(data_only) == 2 and all(e["action"] != "provision" for e in data_only)
    finally:
        assert cli(small_config, "down", env_id).code == 0


def test_strict_anonymization_refuses_a_new_column_and_leaves_nothing(
    small_config: Path, state_dir: Path
) -> None:
    assert cli(small_config, "refresh").code == 0  # generates production
    with closing(sqlite3.connect(production_db(state_dir))) as conn, conn:
        conn.execute("ALTER TABLE customers ADD COLUMN tax_id TEXT")
    up = cli(small_config, "up", "strict", "--strategy", "containerized")
    assert up.code == 1
    assert "customers.tax_id has no rule" in up.stderr
    assert not list((state_dir / "environments").glob("strict-*"))
    refresh = cli(small_config, "refresh", "--force")
    assert refresh.code == 2 and "customers.tax_id has no rule" in refresh.stderr


def test_audit_rejects_bad_filters(small_config: Path, state_dir: Path) -> None:
    assert cli(small_config, "audit", "--since", "soon").code == 2
    assert cli(small_config, "audit", "--limit", "0").code == 2
    missing = cli(small_config, "audit", "--env", "nobody")
    assert missing.code == 3 and "no environment matches" in missing.stderr
    assert os.environ.get("STAGETUI_STATE_DIR") == str(state_dir)
