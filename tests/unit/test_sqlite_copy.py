"""Whole-file copies: backup API (online, consistent) and reflink / plain copy (offline)."""

from __future__ import annotations

import errno
import io
import shutil
import sqlite3
import stat
import sys
import tarfile
from contextlib import closing
from pathlib import Path

import pytest

from stagetui.data import sqlite_copy
from stagetui.data.sqlite_copy import backup_copy, fast_copy
from stagetui.data.sqlite_schema import row_counts, table_names
from stagetui.data.sqlite_subset import subset_copy
from stagetui.runtimes.docker.volumes import directory_tar
from tests.unit.test_sqlite_schema import build_shop


def open_wal_writer(db: Path) -> sqlite3.Connection:
    """Switch ``db`` to WAL and commit a row that stays in the -wal while the connection is open."""
    conn = sqlite3.connect(db, isolation_level=None)
    assert conn.execute("PRAGMA journal_mode=WAL").fetchone()[0] == "wal"
    conn.execute("PRAGMA wal_autocheckpoint=0")
    conn.execute("INSERT INTO products (sku, name, price_cents) VALUES ('WAL-1', 'only in the wal', 1)")
    assert Path(f"{db}-wal").stat().st_size > 0
    return conn


def skus(db: Path) -> set[str]:
    with closing(sqlite3.connect(db)) as conn:
        return {sku for (sku,) in conn.execute("SELECT sku FROM products")}


def test_backup_copy_includes_committed_wal_frames(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db")
    target = tmp_path / "env" / "copy.db"
    with closing(open_wal_writer(source)):
        backup_copy(source, target)
        assert "WAL-1" in skus(target)
    assert row_counts(target) == row_counts(source)
    with closing(sqlite3.connect(target)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.db"]


def test_backup_copy_reports_progress_in_page_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_copy, "PAGES_PER_STEP", 2)
    seen: list[float] = []
    backup_copy(build_shop(tmp_path / "prod.db"), tmp_path / "copy.db", lambda done, _msg: seen.append(done))
    assert len(seen) > 3
    assert seen == sorted(seen)
    assert seen[-1] == 1.0


def test_copy_replaces_target_and_drops_its_stale_wal(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db")
    old = tmp_path / "old.db"
    with closing(sqlite3.connect(old, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA wal_autocheckpoint=0")
        conn.execute("CREATE TABLE stale (x)")
        target = tmp_path / "copy.db"
        shutil.copyfile(old, target)
        shutil.copyfile(f"{old}-wal", f"{target}-wal")  # as if an old environment was left open
    # SQLite would replay a -wal left next to the new file into it; the copy must remove it.
    backup_copy(source, target)
    assert table_names(target) == table_names(source)
    assert not Path(f"{target}-wal").exists()


def test_failed_copy_leaves_no_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(FileNotFoundError):
        backup_copy(tmp_path / "missing.db", out / "copy.db")
    assert list(out.iterdir()) == []


def test_fast_copy_is_byte_identical(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db")
    method = fast_copy(source, tmp_path / "copy.db")
    assert method in {"reflink", "copy"}  # "copy" on ext4 and tmpfs, "reflink" on XFS / btrfs
    assert (tmp_path / "copy.db").read_bytes() == source.read_bytes()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="FICLONE is Linux-only")
def test_fast_copy_falls_back_to_a_plain_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import fcntl

    calls: list[int] = []

    def unsupported(fd: int, request: int, arg: int) -> int:
        calls.append(request)
        raise OSError(errno.EOPNOTSUPP, "Operation not supported")

    monkeypatch.setattr(fcntl, "ioctl", unsupported)
    source = build_shop(tmp_path / "prod.db")
    assert fast_copy(source, tmp_path / "copy.db") == "copy"
    assert calls, "the reflink was never attempted"
    assert (tmp_path / "copy.db").read_bytes() == source.read_bytes()


def test_fast_copy_checkpoints_the_wal_first(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db")
    with closing(open_wal_writer(source)):
        fast_copy(source, tmp_path / "copy.db")
    assert "WAL-1" in skus(tmp_path / "copy.db")
    with closing(sqlite3.connect(tmp_path / "copy.db")) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("copy")) == ["copy.db"]


def test_fast_copy_refuses_when_a_reader_pins_the_wal(tmp_path: Path) -> None:
    source = build_shop(tmp_path / "prod.db")
    with closing(open_wal_writer(source)) as writer, closing(sqlite3.connect(source)) as reader:
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM products").fetchone()  # pins the current snapshot
        writer.execute(
            "INSERT INTO products (sku, name, price_cents) VALUES ('WAL-2', 'after the reader', 1)"
        )
        with pytest.raises(RuntimeError, match=r"could not checkpoint prod\.db"):
            fast_copy(source, tmp_path / "copy.db")
        reader.rollback()
    assert not (tmp_path / "copy.db").exists()


@pytest.mark.parametrize("mode", [0o644, 0o600])
def test_copies_are_owner_only_whatever_the_source(tmp_path: Path, mode: int) -> None:
    # Copies live in the private state directory; containers get readable ones through directory_tar.
    source = build_shop(tmp_path / "prod.db")
    source.chmod(mode)
    backup_copy(source, tmp_path / "backup.db")
    fast_copy(source, tmp_path / "fast.db")
    subset_copy(source, tmp_path / "subset.db", "customers", 0.5, seed=1)
    for name in ("backup.db", "fast.db", "subset.db"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name


def test_data_put_into_a_container_volume_is_readable_by_its_user(tmp_path: Path) -> None:
    (tmp_path / "data" / "sub").mkdir(parents=True, mode=0o700)
    source = build_shop(tmp_path / "data" / "app.db")
    source.chmod(0o600)
    with tarfile.open(fileobj=io.BytesIO(directory_tar(tmp_path / "data"))) as archive:
        modes = {member.name: member.mode for member in archive.getmembers()}
    assert modes == {"app.db": 0o644, "sub": 0o755}
