"""The state directory's owner-only modes: made so whatever the umask, and tightened when older and wider."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagetui.store.atomic import atomic_write_text
from stagetui.store.lock import StateLock
from stagetui.store.private import make_private_directory, tighten_state_directory


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_missing_parents_are_made_owner_only_too(tmp_path: Path) -> None:
    make_private_directory(tmp_path / "a" / "b" / "c")
    assert [_mode(tmp_path / p) for p in ("a", "a/b", "a/b/c")] == [0o700] * 3


def test_atomic_writes_and_the_lock_file_are_owner_only(tmp_path: Path) -> None:
    atomic_write_text(tmp_path / "state" / "store" / "envs.json", "{}")
    with StateLock(tmp_path / "state" / "locks" / "store.lock").hold():
        pass
    assert _mode(tmp_path / "state" / "store" / "envs.json") == 0o600
    assert _mode(tmp_path / "state" / "locks" / "store.lock") == 0o600
    assert _mode(tmp_path / "state") == _mode(tmp_path / "state" / "store") == 0o700


def test_an_older_wider_state_directory_is_tightened_symlinks_untouched(tmp_path: Path) -> None:
    root = tmp_path / "state"
    (root / "store").mkdir(parents=True, mode=0o755)
    root.chmod(0o755)
    (root / "store" / "envs.json").write_text("{}")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o755)
    outside = tmp_path / "outside.txt"
    outside.write_text("not ours")
    (root / "link").symlink_to(outside)
    tighten_state_directory(root)
    assert _mode(root) == _mode(root / "store") == _mode(root / "run.sh") == 0o700
    assert _mode(root / "store" / "envs.json") == 0o600
    assert _mode(outside) == 0o644  # a symlink's target is not the state directory's to change
