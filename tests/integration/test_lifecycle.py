"""Crashes, TTL expiry, leftovers and concurrent CLIs: gc finds everything by label, nothing is lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.helpers import cli, processes_of, start_hanging_up

pytestmark = pytest.mark.integration


def _wait_for(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_kill_9_mid_provision_is_found_interrupted_and_gc_removes_everything(
    small_config: Path, state_dir: Path
) -> None:
    environments = state_dir / "environments"
    process = start_hanging_up(small_config, state_dir, "crash", "full_clone")
    process.send_signal(signal.SIGKILL)
    process.wait()
    env_id = next(environments.iterdir()).name
    assert processes_of(env_id), "the service outlives the killed CLI"

    listed = cli(small_config, "ls", "--json").json()
    assert [(e["id"], e["status"]) for e in listed] == [(env_id, "interrupted")]
    dry = cli(small_config, "gc", "--dry-run", "--json").json()
    assert [a["reason"] for a in dry["actions"]] == ["interrupted"] and processes_of(env_id)
    collected = cli(small_config, "gc", "--json")
    assert collected.code == 0 and collected.json()["actions"][0]["id"] == env_id
    assert not processes_of(env_id) and not (environments / env_id).exists()
    assert cli(small_config, "ls", "--json").json() == []


def test_expired_environments_are_collected(small_config: Path, state_dir: Path) -> None:
    short = cli(small_config, "up", "short-lived", "--strategy", "containerized", "--ttl", "1s", "--json")
    long = cli(small_config, "up", "long-lived", "--strategy", "containerized", "--json")
    assert short.code == 0 and long.code == 0, short.stderr + long.stderr
    _wait_for(lambda: cli(small_config, "ls", "--json").json()[-1]["ttl_left_seconds"] <= 0, timeout=10)
    result = cli(small_config, "gc", "--json").json()
    assert [(a["id"], a["reason"]) for a in result["actions"]] == [(short.json()["id"], "expired")]
    assert [e["id"] for e in cli(small_config, "ls", "--json").json()] == [long.json()["id"]]
    assert cli(small_config, "down", "long-lived").code == 0


def test_leftovers_without_a_store_record_are_shown_and_collected(
    small_config: Path, state_dir: Path
) -> None:
    up = cli(small_config, "up", "orphan", "--strategy", "containerized", "--json")
    env_id = up.json()["id"]
    (state_dir / "store" / "environments.json").unlink()  # the store is lost; the runtime still knows
    listed = cli(small_config, "ls", "--json").json()
    assert [(e["id"], e["recorded"], e["status"]) for e in listed] == [(env_id, False, "ready")]
    assert cli(small_config, "gc", "--json").json()["actions"] == []  # running and not expired: kept
    down = cli(small_config, "down", env_id)
    assert down.code == 0, down.stderr
    assert not processes_of(env_id)


def test_two_clis_at_once_get_distinct_environments_and_ports(small_config: Path, state_dir: Path) -> None:
    commands = [
        [
            sys.executable,
            "-m",
            "stagetui",
            "--config",
            str(small_config),
            "up",
            branch,
            "-s",
            "containerized",
            "--json",
        ]
        for branch in ("team/a", "team/b", "team/a")
    ]
    processes = [
        subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in commands
    ]
    results = [(p.wait(120), p.stdout.read() if p.stdout else "") for p in processes]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 0, 4], results  # the second `team/a` loses the claim: conflict, nothing created
    listed = cli(small_config, "ls", "--json").json()
    assert len(listed) == 2 and len({e["endpoint"] for e in listed}) == 2
    for env in listed:
        assert cli(small_config, "down", env["id"]).code == 0


def test_a_service_whose_process_record_was_never_written_is_still_stopped(
    small_config: Path, state_dir: Path
) -> None:
    """The window between spawning the service and writing its record: a CLI killed there leaves a
    service nobody has the pid of. Teardown finds it by its working directory."""
    up = cli(small_config, "up", "unrecorded", "--strategy", "containerized", "--json")
    assert up.code == 0, up.stderr
    env_id = up.json()["id"]
    (state_dir / "environments" / env_id / "service.json").unlink()
    assert processes_of(env_id, state_dir)
    down = cli(small_config, "down", env_id, "--json")
    assert down.code == 0, down.stderr
    assert any("working in the environment" in r for r in down.json()["removed"]), down.stdout
    assert processes_of(env_id, state_dir) == []


def test_gc_removes_temp_files_a_killed_write_left_and_only_those(
    small_config: Path, state_dir: Path
) -> None:
    assert cli(small_config, "ls").code == 0  # the state directory exists
    store = state_dir / "store"
    abandoned, in_flight = store / ".environments.json.k1ll3d.tmp", store / ".notes.json.wr1t1ng.tmp"
    for path in (abandoned, in_flight):
        path.write_text("{half a recor")
    hour_ago = time.time() - 3600
    os.utime(abandoned, (hour_ago, hour_ago))
    dry = cli(small_config, "gc", "--dry-run", "--json").json()["actions"]
    assert [(a["id"], a["removed"]) for a in dry] == [("temp-files", ["store/.environments.json.k1ll3d.tmp"])]
    assert abandoned.exists()
    collected = cli(small_config, "gc", "--json")
    assert collected.code == 0 and [a["id"] for a in collected.json()["actions"]] == ["temp-files"]
    assert not abandoned.exists() and in_flight.exists()  # a write still going on is left alone
