"""A workspace directory as Swarm configs: mounted file by file, or cut into parts joined at start."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from stagetui.runtimes.swarm.naming import MAX_NAME
from stagetui.runtimes.swarm.payloads import PART_BYTES, PARTS_ROOT, Payload, PayloadError, payload

ENV = "feat-x-swarm-1a2b3"
BIG = 100 * PART_BYTES


def pattern(size: int, seed: int = 0) -> bytes:
    """`size` bytes that differ from part to part, so a misordered join shows."""
    block = bytes((seed + i) % 251 for i in range(251))
    return (block * (size // len(block) + 1))[:size]


def write(directory: Path, files: dict[str, bytes]) -> Path:
    for relative, content in files.items():
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return directory


def join_for_real(shipped: Payload, parts_root: Path) -> None:
    """Run the start script with /bin/sh, the parts written where the script reads them (under
    `parts_root` instead of /run/stagetui)."""
    for part in shipped.parts:
        path = parts_root / Path(part.target).relative_to(PARTS_ROOT)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(part.content)
    script = shipped.start_script().replace(str(PARTS_ROOT), str(parts_root))
    subprocess.run(["/bin/sh", "-c", script], check=True, timeout=30)


def test_files_that_fit_are_mounted_in_place_one_config_each(tmp_path: Path) -> None:
    files = {"shop.db": b"sqlite" * 10, "a/b/nested.txt": b"deep", "exact.bin": pattern(PART_BYTES)}
    shipped = payload(ENV, "data", write(tmp_path / "data", files), "/srv/data", max_bytes=BIG)
    assert not shipped.joined
    assert shipped.joins == ()
    assert shipped.kind == "data"
    assert shipped.target == "/srv/data"
    assert {part.target: part.content for part in shipped.parts} == {
        f"/srv/data/{relative}": content for relative, content in files.items()
    }
    assert len({part.name for part in shipped.parts}) == 3
    assert shipped.size == sum(len(content) for content in files.values())


def test_one_file_over_a_part_joins_every_file_from_parts(tmp_path: Path) -> None:
    big = pattern(2 * PART_BYTES + 100)
    files = {"big.db": big, "small.txt": b"small"}
    shipped = payload(ENV, "data", write(tmp_path / "data", files), "/srv/data", max_bytes=BIG)
    assert shipped.joined
    assert [part.target for part in shipped.parts] == [f"/run/stagetui/data/{n}" for n in range(4)]
    assert [len(part.content) for part in shipped.parts] == [PART_BYTES, PART_BYTES, 100, 5]
    assert all(len(part.content) <= PART_BYTES for part in shipped.parts)
    assert shipped.joins == (
        ("big.db", ("/run/stagetui/data/0", "/run/stagetui/data/1", "/run/stagetui/data/2")),
        ("small.txt", ("/run/stagetui/data/3",)),
    )
    assert b"".join(part.content for part in shipped.parts[:3]) == big


def test_the_start_script_joins_byte_identical_files(tmp_path: Path) -> None:
    files = {
        "big.db": pattern(PART_BYTES + 1, seed=7),
        "sub dir/it's.json": b'{"a": 1}',
        "sub dir/deeper/x": pattern(PART_BYTES * 2, seed=3),
    }
    target = tmp_path / "target dir"
    shipped = payload(ENV, "config", write(tmp_path / "config", files), str(target), max_bytes=BIG)
    assert shipped.joined
    script = shipped.start_script()
    assert script.startswith("set -e\nmkdir -p ")
    assert "/run/stagetui/config/0" in script
    join_for_real(shipped, tmp_path / "run")
    assert {p.relative_to(target).as_posix(): p.read_bytes() for p in target.rglob("*") if p.is_file()} == (
        files
    )


def test_the_start_script_stops_at_a_missing_part(tmp_path: Path) -> None:
    shipped = payload(
        ENV,
        "data",
        write(tmp_path / "data", {"big": pattern(PART_BYTES + 1)}),
        str(tmp_path / "t"),
        max_bytes=BIG,
    )
    script = shipped.start_script().replace(str(PARTS_ROOT), str(tmp_path / "nowhere"))
    finished = subprocess.run(["/bin/sh", "-c", script + "\necho reached"], capture_output=True, timeout=30)
    assert finished.returncode != 0
    assert b"reached" not in finished.stdout


def names(
    directory: Path, files: dict[str, bytes], environment_id: str = ENV, kind: str = "data"
) -> list[str]:
    shipped = payload(environment_id, kind, write(directory, files), "/srv/data", max_bytes=BIG)
    return [part.name for part in shipped.parts]


def test_names_are_addressed_by_content(tmp_path: Path) -> None:
    files = {"shop.db": b"one", "conf/app.json": b"{}"}
    first = names(tmp_path / "a", files)
    assert names(tmp_path / "b", files) == first
    for other in (
        names(tmp_path / "c", {**files, "shop.db": b"two"}),
        names(tmp_path / "d", {"shop2.db": b"one", "conf/app.json": b"{}"}),
        names(tmp_path / "e", files, environment_id="other-env"),
        names(tmp_path / "f", files, kind="config"),
    ):
        assert len(other) == len(first)
        assert not set(first) & set(other)


def test_names_fit_in_63_characters_for_the_longest_environment_id(tmp_path: Path) -> None:
    environment_id = "e" * 63
    files = {f"f{n}": pattern(10, n) for n in range(12)} | {"big": pattern(3 * PART_BYTES)}
    shipped = payload(environment_id, "config", write(tmp_path / "c", files), "/c", max_bytes=BIG)
    names = [part.name for part in shipped.parts]
    assert len(names) == 15
    assert all(len(name) <= MAX_NAME for name in names)
    assert len(set(names)) == len(names)


def test_over_the_limit_is_refused_naming_the_size_and_the_setting(tmp_path: Path) -> None:
    directory = write(tmp_path / "data", {"a": pattern(1_500_000), "b": pattern(1_000_000)})
    with pytest.raises(PayloadError) as caught:
        payload(ENV, "data", directory, "/srv/data", max_bytes=2_000_000)
    message = str(caught.value)
    assert "2.5 MB" in message
    assert "runtimes.swarm.max_data_size" in message
    assert "(2.0 MB)" in message
    assert payload(ENV, "data", directory, "/srv/data", max_bytes=2_500_000).size == 2_500_000


def test_symlinks_are_refused(tmp_path: Path) -> None:
    directory = write(tmp_path / "data", {"real.txt": b"x"})
    (directory / "link.txt").symlink_to(directory / "real.txt")
    with pytest.raises(PayloadError, match=r"link\.txt: only plain files and directories"):
        payload(ENV, "data", directory, "/srv/data", max_bytes=BIG)


def test_a_linked_directory_is_refused(tmp_path: Path) -> None:
    directory = write(tmp_path / "data", {"real.txt": b"x"})
    write(tmp_path / "outside", {"secret": b"y"})
    (directory / "more").symlink_to(tmp_path / "outside", target_is_directory=True)
    with pytest.raises(PayloadError, match="more: only plain files"):
        payload(ENV, "data", directory, "/srv/data", max_bytes=BIG)


def test_a_fifo_is_refused(tmp_path: Path) -> None:
    directory = write(tmp_path / "data", {"real.txt": b"x"})
    os.mkfifo(directory / "pipe")
    with pytest.raises(PayloadError, match="pipe: only plain files"):
        payload(ENV, "data", directory, "/srv/data", max_bytes=BIG)


@pytest.mark.parametrize("make", [False, True])
def test_a_missing_or_empty_directory_ships_nothing(tmp_path: Path, make: bool) -> None:
    directory = tmp_path / "data"
    if make:
        (directory / "only" / "subdirectories").mkdir(parents=True)
    shipped = payload(ENV, "data", directory, "/srv/data", max_bytes=BIG)
    assert shipped.parts == ()
    assert not shipped.joined
    assert shipped.size == 0


@pytest.mark.parametrize("big", [False, True])
def test_no_part_is_empty(tmp_path: Path, big: bool) -> None:
    files = {"empty.lock": b"", "shop.db": pattern(PART_BYTES + 1 if big else 10)}
    shipped = payload(ENV, "data", write(tmp_path / "data", files), "/srv/data", max_bytes=BIG)
    assert all(part.content for part in shipped.parts)
    # The empty file is made by the start script (both cases join: a file in place needs a config).
    target = tmp_path / "target"
    shipped = payload(ENV, "data", tmp_path / "data", str(target), max_bytes=BIG)
    assert shipped.joined
    join_for_real(shipped, tmp_path / "run")
    assert (target / "empty.lock").read_bytes() == b""
    assert (target / "shop.db").read_bytes() == files["shop.db"]
