"""Whole-database copies: parallel dump and restore, restore of a given dump, and template clones."""

from __future__ import annotations

import tempfile
from pathlib import Path

from stagetui.data.engine import DataEngineError, DataLocation, ProgressFn
from stagetui.data.postgres import databases
from stagetui.data.postgres.connection import (
    connect,
    database_of,
    server_address,
    translated,
    validate_name,
)
from stagetui.data.postgres.tools import ClientTools, archive_format


def _quiet(_fraction: float, _message: str) -> None:
    pass


def full_copy(
    tools: ClientTools,
    source: DataLocation,
    target: DataLocation,
    jobs: int,
    workdir: Path | None,
    progress: ProgressFn | None = None,
) -> None:
    """Directory-format dump of `source` with `jobs` workers, restored with as many into a new `target`.

    pg_dump's workers share one exported snapshot, so the copy is consistent; `source` is only read.
    The dump holds unmasked production data: it lives in a private (0700) temp dir, removed right after.
    """
    say = progress or _quiet
    refuse_existing(target)
    with tempfile.TemporaryDirectory(prefix="stagetui-pgdump-", dir=workdir) as tmp:
        archive = Path(tmp) / "dump"
        say(0.0, f"dumping {source.describe()}")
        tools.dump(source, archive, directory=True, jobs=jobs)
        say(0.5, f"restoring into {target.describe()}")
        _restore_new(tools, archive, target, jobs, label=f"the dump of {source.describe()}")
    say(1.0, "copy complete")


def restore_dump(tools: ClientTools, path: Path, target: DataLocation, jobs: int) -> None:
    """A new `target` from a custom-format file or a directory archive made by pg_dump."""
    archive_format(path)  # refuses plain SQL and missing files before anything is created
    refuse_existing(target)
    databases.create(target)
    with databases.removed_on_failure(target):
        try:
            tools.restore(path, target, jobs=jobs, label=str(path))
        except DataEngineError as exc:
            raise DataEngineError(f"cannot restore {path} (truncated or damaged dump?): {exc}") from exc
        analyze(target)


def clone(
    golden: DataLocation, target: DataLocation, attempts: int, strategy: databases.CloneStrategy | None
) -> str:
    """CREATE DATABASE ... TEMPLATE golden: a file-level copy inside the server, no dump involved."""
    if server_address(golden) != server_address(target):
        raise DataEngineError(f"cannot clone {golden.describe()}: a template clone needs both on one server")
    databases.create(target, template=database_of(golden), attempts=attempts, strategy=strategy)
    return "template"


def refuse_existing(target: DataLocation) -> None:
    validate_name(target.database)
    if databases.exists(target):
        raise DataEngineError(f"{target.describe()} already exists")


def _restore_new(tools: ClientTools, archive: Path, target: DataLocation, jobs: int, label: str) -> None:
    databases.create(target)  # from template0: template1 may hold local objects the dump would clash with
    with databases.removed_on_failure(target):
        tools.restore(archive, target, jobs=jobs, label=label)
        analyze(target)


def analyze(target: DataLocation) -> None:
    """Fresh planner statistics: a restored database has none, and its first queries would plan blind."""
    with translated(target, "analyzing"), connect(target, autocommit=True) as conn:
        conn.execute("ANALYZE")
