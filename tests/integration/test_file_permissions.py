"""Everything stagetui writes under its state directory is owner-only, whatever the umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.helpers import cli

pytestmark = pytest.mark.integration


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)  # the common default, under which a plain open() makes 0644 files
    try:
        yield
    finally:
        os.umask(previous)


def _open_to_others(root: Path) -> list[str]:
    """Paths under `root` that group or others may read, write or enter. Symlinks are skipped (their own
    mode means nothing on Linux); sockets and pipes would be too (none are made today, and their access
    is the directory's: a 0700 parent already keeps others out)."""
    found = []
    for path in [root, *root.rglob("*")]:
        info = path.lstat()
        if stat.S_ISLNK(info.st_mode) or stat.S_ISSOCK(info.st_mode) or stat.S_ISFIFO(info.st_mode):
            continue
        if stat.S_IMODE(info.st_mode) & (stat.S_IRWXG | stat.S_IRWXO):
            found.append(f"{path.relative_to(root)}: {stat.filemode(info.st_mode)}")
    return found


def test_up_note_down_leave_only_owner_only_files(
    small_config: Path, state_dir: Path, tmp_path: Path, permissive_umask: None
) -> None:
    up = cli(small_config, "up", "private", "--strategy", "containerized", "--json")
    assert up.code == 0, up.stderr
    body = tmp_path / "note.md"
    body.write_text("a note\n", encoding="utf-8")
    assert cli(small_config, "note", "add", "--title", "t", "--file", str(body)).code == 0
    # While the environment runs (workspace, rendered config, logs, data copy), then after it is gone.
    assert _open_to_others(state_dir) == []
    assert cli(small_config, "down", up.json()["id"]).code == 0
    assert _open_to_others(state_dir) == []


def test_a_state_directory_from_an_older_version_is_tightened_when_opened(
    small_config: Path, state_dir: Path, permissive_umask: None
) -> None:
    (state_dir / "store").mkdir(parents=True, mode=0o755)
    state_dir.chmod(0o755)
    (state_dir / "store" / "old.json").write_text("{}")
    (state_dir / "store" / "old.json").chmod(0o644)
    assert cli(small_config, "ls").code == 0
    assert _open_to_others(state_dir) == []
