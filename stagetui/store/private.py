"""Owner-only state: the state directory holds secrets, rendered configs and copies of production data, so
its directories are 0700 and its files 0600 whatever the umask, and older, wider ones are tightened."""

from __future__ import annotations

import os
import stat
from pathlib import Path

DIRECTORY_MODE = 0o700
FILE_MODE = 0o600
_GROUP_OR_OTHER = stat.S_IRWXG | stat.S_IRWXO


def make_private_directory(directory: Path) -> None:
    """Create `directory` and any missing parents as 0700. Path.mkdir(parents=True) applies its mode
    to the last one only; the umask can only narrow 0700, never widen it."""
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            path.mkdir(mode=DIRECTORY_MODE)
        except FileExistsError:  # another process made it meanwhile
            continue


def tighten_state_directory(root: Path) -> None:
    """Make `root` private, creating it if needed. A root that is already 0700 was made or tightened by
    a stagetui that knows this, so the walk over everything beneath runs once, on the first open after
    an upgrade; it drops group and other bits from each file and directory, following no symlinks."""
    make_private_directory(root)
    if stat.S_IMODE(root.stat().st_mode) & _GROUP_OR_OTHER == 0:
        return
    for directory, subdirectories, files in os.walk(root):
        for name in [*subdirectories, *files]:
            _drop_group_and_other(Path(directory) / name)
    _drop_group_and_other(root)  # last: a crash mid-walk leaves the root wide, so the next open resumes


def _drop_group_and_other(path: Path) -> None:
    try:
        info = path.lstat()
        if not stat.S_ISLNK(info.st_mode) and stat.S_IMODE(info.st_mode) & _GROUP_OR_OTHER:
            path.chmod(stat.S_IMODE(info.st_mode) & ~_GROUP_OR_OTHER)
    except FileNotFoundError:  # removed by a concurrent teardown
        pass
    except PermissionError:  # e.g. a file a container wrote as another user: theirs to fix, not fatal
        pass
