"""Bad input gets one clear error line, a documented exit code, and creates nothing."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.integration.helpers import cli, start_hanging_up

pytestmark = pytest.mark.integration


def _created_nothing(state_dir: Path) -> bool:
    environments = state_dir / "environments"
    records = state_dir / "store" / "environments.json"
    return not (environments.exists() and any(environments.iterdir())) and not records.exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["up", "x", "--strategy", "teleport"], 2, "invalid choice: 'teleport'"),
        (["up", "", "--strategy", "snapshot"], 2, "branch name is empty"),
        (["up", "a\tb", "--strategy", "snapshot"], 2, "control character"),
        (["up", "x", "--ttl", "forever"], 2, "--ttl: 'forever' is not a duration"),
        (["up", "x", "--runtime", "mainframe"], 2, "unknown runtime 'mainframe'"),
        (["up", "x", "--owner", "eve\n$(id)"], 2, "--owner 'eve\\n$(id)': must be 1-64 letters"),
        (["up", "x", "--strategy", "snapshot", "--tier", "unit"], 2, "not both"),
        (["down", "nothing-here"], 3, "no environment matches 'nothing-here'"),
        (["show", "nothing-here"], 3, "no environment matches"),
    ],
)
def test_bad_arguments(args: list[str], code: int, message: str, small_config: Path, state_dir: Path) -> None:
    result = cli(small_config, *args)
    assert result.code == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert _created_nothing(state_dir)


def test_bad_config_names_file_line_and_field_and_creates_nothing(tmp_path: Path, state_dir: Path) -> None:
    config = tmp_path / "broken.yaml"
    config.write_text("version: 1\nstrategies:\n  snapshot:\n    refresh_afterr: 1h\n")
    result = cli(config, "up", "x")
    assert result.code == 2
    assert "broken.yaml:4: strategies.snapshot.refresh_afterr: unknown key" in result.stderr
    assert "did you mean 'refresh_after'" in result.stderr
    assert not state_dir.exists()
    check = cli(config, "config", "check", "--json")
    assert check.code == 2 and not check.json()["ok"]
    assert cli(tmp_path / "missing.yaml", "ls").code == 2


def test_config_check_accepts_the_sample(small_config: Path) -> None:
    sample = Path(__file__).resolve().parents[2] / "sample_config.yaml"
    result = cli(small_config, "config", "check", str(sample))
    assert result.code == 0 and "is valid" in result.stdout


def test_conflict_and_json_errors(small_config: Path, state_dir: Path) -> None:
    first = cli(small_config, "up", "twice", "--strategy", "containerized")
    assert first.code == 0, first.stderr
    again = cli(small_config, "up", "twice", "--strategy", "containerized", "--json")
    assert again.code == 4 and again.json()["exit_code"] == 4 and "exists" in again.json()["error"]
    assert cli(small_config, "down", "twice").code == 0


def test_a_locked_store_is_a_state_error(small_config: Path, state_dir: Path) -> None:
    corrupt = state_dir / "store" / "meta.json"
    corrupt.parent.mkdir(parents=True)
    corrupt.write_text('{"schema_version": 7}')
    result = cli(small_config, "ls")
    assert result.code == 5 and "schema 7" in result.stderr


def test_a_failed_provision_exits_1_with_the_failure_in_json(small_config: Path, state_dir: Path) -> None:
    result = cli(
        small_config,
        "up",
        "broken",
        "-s",
        "snapshot",
        "--json",
        extra_env={"STAGETUI_FAILPOINTS": "restore_data"},
    )
    assert result.code == 1, result.stderr
    payload = result.json()
    assert payload["status"] == "failed" and "restore_data: failpoint" in payload["status_detail"]
    assert [s["name"] for s in payload["steps"] if s["phase"] == "rollback"]
    assert cli(small_config, "ls", "--json").json() == []


def test_a_bad_mask_key_is_bad_input(small_config: Path, state_dir: Path) -> None:
    result = cli(small_config, "up", "x", "-s", "full_clone", extra_env={"STAGETUI_MASK_KEY": "short"})
    assert result.code == 2 and "shorter than 16 bytes" in result.stderr
    assert _created_nothing(state_dir)


def test_down_refuses_an_environment_another_live_process_is_provisioning(
    small_config: Path, state_dir: Path
) -> None:
    process = start_hanging_up(small_config, state_dir, "busy", "containerized")
    try:
        refused = cli(small_config, "down", "busy")
        assert refused.code == 4 and "provisioning by process" in refused.stderr
        assert cli(small_config, "gc", "--json").json()["actions"] == []
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl-C: the run rolls back by itself
        assert process.wait(60) == 130
    assert cli(small_config, "ls", "--json").json() == []


def test_config_check_refuses_what_a_swarm_cannot_run(tmp_path: Path, state_dir: Path) -> None:
    compose = tmp_path / "compose.yaml"
    compose.write_text(
        "x-stagetui:\n  endpoint: {service: web, port: 80}\n"
        "services:\n  web:\n    build: .\n    ports: ['80']\n    volumes: ['/etc:/host-etc:ro']\n"
    )
    config = tmp_path / "swarm.yaml"
    config.write_text(f"runtimes:\n  swarm:\n    compose: {compose}\n")
    check = cli(config, "config", "check", "--json")
    assert check.code == 2, check.stdout + check.stderr
    (problem,) = check.json()["problems"]
    assert "services.web.build" in problem and "/etc:/host-etc is a host path" in problem
    assert not state_dir.exists()
