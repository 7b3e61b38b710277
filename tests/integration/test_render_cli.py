"""`stagetui render --target kubernetes`: a live environment of the local runtime as manifests that the
Kubernetes API's schemas accept, on stdout or in a file that is never overwritten by accident."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.integration.helpers import cli

pytestmark = pytest.mark.integration

KUBERNETES = "1.30.0"


def test_render_a_local_environment_as_valid_kubernetes_manifests(
    small_config: Path, state_dir: Path, tmp_path: Path
) -> None:
    up = cli(small_config, "up", "feat/Render me", "--strategy", "containerized", "--json")
    assert up.code == 0, up.stderr
    env_id = up.json()["id"]
    try:
        rendered = cli(small_config, "render", "--target", "kubernetes", "feat/Render me")
        assert rendered.code == 0, rendered.stderr
        assert "compose file: " in rendered.stdout.splitlines()[1]
        manifests = [m for m in yaml.safe_load_all(rendered.stdout) if m is not None]
        for manifest in manifests:
            kubernetes_validate.validate(manifest, desired_version=KUBERNETES, strict=True)
            assert manifest["metadata"]["labels"]["stagetui.io/env"] == env_id
            assert "stagetui.io/expires-at" in manifest["metadata"]["annotations"]
        namespace = manifests[0]
        assert (namespace["kind"], namespace["metadata"]["name"]) == ("Namespace", env_id)
        assert {m["kind"] for m in manifests} == {"Namespace", "ConfigMap", "Secret", "Service", "Deployment"}
        # The local environment's database path is rewritten to where the pods mount the data volume.
        variables = next(m for m in manifests if m["metadata"]["name"] == "stagetui-env")["data"]
        assert variables["DATABASE_URL"] == "sqlite:////data/app.db"
        assert str(state_dir) not in json.dumps(manifests)
        for manifest in manifests:
            if manifest["kind"] != "Secret":
                assert "test-secret" not in json.dumps(manifest)
        config_file = next(m for m in manifests if m["metadata"]["name"] == "stagetui-config")
        config = json.loads(base64.b64decode(config_file["data"]["config.json"]))
        assert config["app"]["service"]["instance"] == env_id

        as_json = cli(small_config, "render", "--target", "kubernetes", env_id[:12], "--json")
        assert as_json.code == 0, as_json.stderr
        assert as_json.json() == manifests

        output = tmp_path / "env.yaml"
        written = cli(small_config, "render", "-t", "kubernetes", env_id, "--output", str(output))
        assert written.code == 0 and written.stdout == ""
        assert output.read_text() == rendered.stdout
        assert output.stat().st_mode & 0o077 == 0  # Secrets inside: the owner's only
        output.write_text("mine\n")
        refused = cli(small_config, "render", "-t", "kubernetes", env_id, "--output", str(output))
        assert refused.code == 2 and "--force" in refused.stderr
        assert output.read_text() == "mine\n"
        forced = cli(small_config, "render", "-t", "kubernetes", env_id, "-o", str(output), "--force")
        assert forced.code == 0 and output.read_text() == rendered.stdout
    finally:
        assert cli(small_config, "down", env_id).code == 0
    ended = cli(small_config, "render", "--target", "kubernetes", env_id)
    assert ended.code == 3 and "torn_down" in ended.stderr


def test_render_of_an_unknown_environment_fails_clearly(small_config: Path, state_dir: Path) -> None:
    result = cli(small_config, "render", "--target", "kubernetes", "nothing-here")
    assert result.code == 3
    assert "no environment matches 'nothing-here'" in result.stderr
    assert result.stdout == "" and "Traceback" not in result.stderr
    as_json = cli(small_config, "render", "--target", "kubernetes", "nothing-here", "--json")
    assert as_json.code == 3 and as_json.json()["exit_code"] == 3
    missing_target = cli(small_config, "render", "nothing-here")
    assert missing_target.code == 2 and "--target" in missing_target.stderr
