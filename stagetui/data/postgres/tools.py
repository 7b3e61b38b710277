"""Running the PostgreSQL client tools (pg_dump, pg_restore) against a `DataLocation`."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from stagetui.data.engine import DataEngineError, DataLocation
from stagetui.data.postgres.connection import scrub, tool_conninfo

STDERR_TAIL = 1500  # characters of a failed tool's stderr kept in the error: the cause is at the end


class ClientTools:
    """pg_dump and pg_restore from `bindir`, or from PATH when None.

    pg_dump must not be older than the server it reads; on Debian, PATH's pg_dump is a wrapper that picks
    the newest installed version, which is what a mixed fleet needs.
    """

    def __init__(self, bindir: Path | None = None) -> None:
        self.bindir = bindir

    def path(self, tool: str) -> str:
        if self.bindir is not None:
            candidate = self.bindir / tool
            if candidate.is_file():
                return str(candidate)
            raise DataEngineError(f"{tool} not found in the configured PostgreSQL bin directory")
        found = shutil.which(tool)
        if found is None:
            raise DataEngineError(f"{tool} not found on PATH: install the PostgreSQL client tools")
        return found

    def run(self, tool: str, location: DataLocation, args: list[str], what: str) -> None:
        """Run `tool` connected to `location`; a non-zero exit raises DataEngineError saying `what` failed."""
        dbname, password_env = tool_conninfo(location)
        # Never prompt: a missing password must fail now rather than hang a headless run.
        command = [self.path(tool), "--no-password", f"--dbname={dbname}", *args]
        result = subprocess.run(
            command,
            env={**os.environ, **password_env},
            capture_output=True,
            text=True,
            errors="replace",
            check=False,
            stdin=subprocess.DEVNULL,
        )
        if result.returncode != 0:
            # DETAIL lines can quote row values (production data): the error lines around them say enough.
            lines = [line for line in result.stderr.splitlines() if not line.lstrip().startswith("DETAIL:")]
            detail = (
                scrub("\n".join(lines).strip(), location.dsn)[-STDERR_TAIL:] or f"exit {result.returncode}"
            )
            raise DataEngineError(f"{what} failed: {detail}")

    def dump(
        self,
        source: DataLocation,
        out: Path,
        *,
        directory: bool = False,
        jobs: int = 1,
        schema_only: bool = False,
        snapshot: str | None = None,
    ) -> None:
        """Dump `source` to `out`: directory format (parallel with `jobs`) or custom format (one file)."""
        args = ["--format=directory", f"--jobs={jobs}"] if directory else ["--format=custom"]
        if schema_only:
            args.append("--schema-only")
        if snapshot is not None:  # the caller's transaction snapshot: the dump sees exactly what it sees
            args.append(f"--snapshot={snapshot}")
        self.run("pg_dump", source, [*args, f"--file={out}"], f"pg_dump of {source.describe()}")

    def restore(
        self,
        archive: Path,
        target: DataLocation,
        *,
        jobs: int = 1,
        section: str | None = None,
        label: str = "",
    ) -> None:
        """Restore a custom or directory archive into the existing `target`, owned by the connecting user."""
        args = ["--no-owner", "--no-privileges", "--exit-on-error", f"--jobs={jobs}"]
        if section is not None:
            args.append(f"--section={section}")
        what = f"pg_restore of {label or archive.name} into {target.describe()}"
        self.run("pg_restore", target, [*args, str(archive)], what)


def archive_format(path: Path) -> str:
    """'directory' or 'custom' for pg_restore archives; anything else (plain SQL, missing) is refused."""
    if path.is_dir():
        if (path / "toc.dat").is_file():
            return "directory"
        raise DataEngineError(f"{path} is a directory but not a pg_dump directory archive (no toc.dat)")
    if not path.is_file():
        raise DataEngineError(f"no dump at {path}")
    with path.open("rb") as file:
        magic = file.read(5)
    if magic != b"PGDMP":
        raise DataEngineError(f"{path} is not a pg_dump custom or directory archive")
    return "custom"
