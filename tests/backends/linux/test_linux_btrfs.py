"""btrfs: parsers on recorded output, then pools, subvolumes and quota groups on loop devices."""

from __future__ import annotations

import errno
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from opensan.backends.linux import btrfs
from opensan.backends.linux.btrfs import FsUsage, Qgroup
from opensan.backends.runner import run
from opensan.domain.errors import BackendError, NotSupported
from opensan.domain.raid import RaidLevel

DATA = Path(__file__).parent / "data"
MIB = 1024**2
GIB = 1024**3
MakeLoop = Callable[[int], str]


# --- Profiles and parsers -----------------------------------------------------------------------


def test_profiles_per_level() -> None:
    assert btrfs.profiles(RaidLevel.RAID0, 1) == ("raid0", "dup")
    assert btrfs.profiles(RaidLevel.RAID0, 2) == ("raid0", "raid1")
    assert btrfs.profiles(RaidLevel.RAID1, 2) == ("raid1", "raid1")
    assert btrfs.profiles(RaidLevel.RAID10, 4) == ("raid10", "raid10")
    assert btrfs.profiles(RaidLevel.RAID5, 3) == ("raid5", "raid1")
    assert btrfs.profiles(RaidLevel.RAID6, 4) == ("raid6", "raid1c3")


@pytest.mark.parametrize("level", [RaidLevel.RAID50, RaidLevel.RAID60])
def test_nested_levels_are_not_supported(level: RaidLevel) -> None:
    with pytest.raises(NotSupported, match=f"{level.value} is not supported"):
        btrfs.profiles(level, 6)
    with pytest.raises(NotSupported):
        btrfs.make_filesystem(["/dev/null"] * 6, level, "never")


def test_parse_usage_of_a_raid5_pool() -> None:
    usage = btrfs.parse_usage((DATA / "btrfs_usage_raid5.txt").read_text())
    used = 83886080 + 294912  # data + metadata "Used", each counted once
    assert usage == FsUsage(size_bytes=used + 1694498816, used_bytes=used, free_bytes=1694498816)


def test_parse_usage_of_an_empty_one_disk_pool() -> None:
    usage = btrfs.parse_usage((DATA / "btrfs_usage_single.txt").read_text())
    assert usage == FsUsage(949616640 + 131072, 131072, 949616640)


def test_parse_usage_rejects_other_output() -> None:
    with pytest.raises(BackendError):
        btrfs.parse_usage("ERROR: not a btrfs filesystem: /tmp\n")


def test_parse_profiles() -> None:
    assert btrfs.parse_profiles((DATA / "btrfs_df_raid5.json").read_text()) == ("raid5", "raid1")
    assert btrfs.parse_profiles((DATA / "btrfs_df_raid0_single.json").read_text()) == (
        "raid0", "dup"
    )
    half_converted = {"filesystem-df": [
        {"bg-type": "Data", "bg-profile": "single", "total": "1073741824", "used": "0"},
        {"bg-type": "Data", "bg-profile": "RAID1", "total": "2147483648", "used": "0"},
        {"bg-type": "Metadata", "bg-profile": "RAID1", "total": "268435456", "used": "0"},
    ]}
    assert btrfs.parse_profiles(json.dumps(half_converted)) == ("raid1", "raid1")


def test_parse_qgroups() -> None:
    groups = btrfs.parse_qgroups((DATA / "btrfs_qgroup_show.txt").read_text())
    assert groups == {
        "0/5": Qgroup("0/5", 16384, 16384, None, None, (), ()),
        "0/256": Qgroup("0/256", 83902464, 16793600, 104857600, None, ("1/7",), ()),
        # The snapshot (path "snap 1", with a space) got the volume's referenced limit copied.
        "0/257": Qgroup("0/257", 67125248, 16384, 104857600, None, ("1/7",), ()),
        "1/7": Qgroup("1/7", 83918848, 83918848, None, 209715200, (), ("0/256", "0/257")),
    }


def test_parse_mount_points_unescapes_paths() -> None:
    mountinfo = (
        "22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw\n"
        "91 22 7:0 / /tmp/pool\\040one rw,noatime shared:50 - btrfs /dev/loop0 rw,space_cache=v2\n"
    )
    assert btrfs.parse_mount_points(mountinfo) == {"/", "/tmp/pool one"}


# --- Pools on loop devices ----------------------------------------------------------------------


def _pool(make_loop: MakeLoop, mounts: list[Path], mountpoint: Path, level: RaidLevel,
          disk_count: int, disk_bytes: int = GIB) -> list[str]:
    devices = [make_loop(disk_bytes) for _ in range(disk_count)]
    btrfs.make_filesystem(devices, level, f"test-{mountpoint.name}")
    mounts.append(mountpoint)
    btrfs.mount(devices[0], mountpoint)
    return devices


def _profiles_of(mountpoint: Path) -> tuple[str, str]:
    return btrfs.parse_profiles(run(["btrfs", "--format", "json", "filesystem", "df", mountpoint]))


def _write_random(path: Path, size_bytes: int, *, offset: int = 0, sync_each_mib: bool = False) -> None:
    """Write incompressible data. Synced once at the end, btrfs makes extents of up to 128 MiB;
    synced after every MiB, extents of 1 MiB (see test_rewriting_part_of_an_extent...)."""
    with path.open("r+b" if path.exists() else "wb") as file:
        file.seek(offset)
        for _ in range(size_bytes // MIB):
            file.write(os.urandom(MIB))
            if sync_each_mib:
                file.flush()
                os.fsync(file.fileno())
        file.flush()
        os.fsync(file.fileno())


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# Bytes a copy of the data takes on disk: how much raw space one byte of data costs.
_DATA_RATIO = {
    RaidLevel.RAID0: lambda n: 1.0,
    RaidLevel.RAID1: lambda n: 2.0,
    RaidLevel.RAID10: lambda n: 2.0,
    RaidLevel.RAID5: lambda n: n / (n - 1),
    RaidLevel.RAID6: lambda n: n / (n - 2),
}


@pytest.mark.linux
@pytest.mark.parametrize(
    ("level", "disk_count"),
    [
        (RaidLevel.RAID1, 3),
        (RaidLevel.RAID5, 3),
        (RaidLevel.RAID0, 1),
        (RaidLevel.RAID6, 4),
        (RaidLevel.RAID10, 4),
    ],
)
def test_pool_has_the_level_profiles_and_sane_usage(
    make_loop: MakeLoop, mounts: list[Path], tmp_path: Path, level: RaidLevel, disk_count: int
) -> None:
    mountpoint = tmp_path / "pool"
    _pool(make_loop, mounts, mountpoint, level, disk_count)
    assert btrfs.is_mounted(mountpoint)
    assert _profiles_of(mountpoint) == btrfs.profiles(level, disk_count)

    empty = btrfs.usage(mountpoint)
    most = disk_count * GIB / _DATA_RATIO[level](disk_count)
    assert 0.6 * most < empty.size_bytes <= most
    assert empty.used_bytes < 2 * MIB
    assert empty.size_bytes == empty.used_bytes + empty.free_bytes

    _write_random(mountpoint / "data", 64 * MIB)
    full = btrfs.usage(mountpoint)
    assert 64 * MIB <= full.used_bytes - empty.used_bytes < 66 * MIB
    assert abs((empty.free_bytes - full.free_bytes) - 64 * MIB) < 2 * MIB

    btrfs.unmount(mountpoint)
    assert not btrfs.is_mounted(mountpoint)


@pytest.mark.linux
@pytest.mark.parametrize(
    ("level", "disk_count", "before", "after"),
    [
        (RaidLevel.RAID0, 1, ("raid0", "dup"), ("raid0", "raid1")),
        (RaidLevel.RAID5, 3, ("raid5", "raid1"), ("raid5", "raid1")),
    ],
)
def test_adding_disks_restripes_and_keeps_the_level(
    make_loop: MakeLoop, mounts: list[Path], tmp_path: Path, level: RaidLevel, disk_count: int,
    before: tuple[str, str], after: tuple[str, str],
) -> None:
    mountpoint = tmp_path / "pool"
    _pool(make_loop, mounts, mountpoint, level, disk_count)
    _write_random(mountpoint / "data", 96 * MIB)
    digest, size_before = _digest(mountpoint / "data"), btrfs.usage(mountpoint).size_bytes
    assert _profiles_of(mountpoint) == before

    btrfs.add_devices(mountpoint, [make_loop(GIB)], level)

    assert _profiles_of(mountpoint) == after
    assert btrfs.usage(mountpoint).size_bytes > size_before
    assert _digest(mountpoint / "data") == digest


@pytest.mark.linux
def test_subvolumes_and_snapshots(make_loop: MakeLoop, mounts: list[Path], tmp_path: Path) -> None:
    mountpoint = tmp_path / "pool"
    _pool(make_loop, mounts, mountpoint, RaidLevel.RAID1, 2)
    volume = mountpoint / "volume"
    btrfs.create_subvolume(volume)
    _write_random(volume / "image", 32 * MIB)

    readonly, writable = mountpoint / "snapshot-ro", mountpoint / "snapshot-rw"
    btrfs.snapshot(volume, readonly, readonly=True)
    btrfs.snapshot(str(volume), str(writable), readonly=False)
    assert _digest(readonly / "image") == _digest(volume / "image")
    with pytest.raises(OSError) as refused:
        (readonly / "image").write_bytes(b"x")
    assert refused.value.errno == errno.EROFS
    (writable / "image").write_bytes(b"changed")
    assert (volume / "image").stat().st_size == 32 * MIB  # the source is untouched

    ids = {btrfs.subvolume_id(path) for path in (volume, readonly, writable)}
    assert len(ids) == 3 and min(ids) >= 256  # 5 is the top level; subvolumes start at 256

    for path in (readonly, writable, volume):
        btrfs.delete_subvolume(path)
        assert not path.exists()


def _quota_pool(make_loop: MakeLoop, mounts: list[Path], tmp_path: Path) -> Path:
    mountpoint = tmp_path / "pool"
    _pool(make_loop, mounts, mountpoint, RaidLevel.RAID0, 1)
    btrfs.enable_quota(mountpoint)
    btrfs.enable_quota(mountpoint)  # again: harmless
    return mountpoint


def _overwrite_until_quota(path: Path, size_bytes: int) -> bool:
    """Overwrite the file from its start; True when btrfs refused with EDQUOT."""
    try:
        _write_random(path, size_bytes, sync_each_mib=True)
    except OSError as error:
        assert error.errno == errno.EDQUOT, error
        return True
    return False


@pytest.mark.linux
@pytest.mark.parametrize(
    ("membership", "limit_kind"),
    [("at birth", "exclusive"), ("assigned", "exclusive"), ("at birth", "referenced")],
)
def test_group_limit_stops_writes_into_a_volume_with_snapshots(
    make_loop: MakeLoop, mounts: list[Path], tmp_path: Path, membership: str, limit_kind: str
) -> None:
    """The snapshot-space design: group 1/N = the volume + its snapshots, limited together."""
    mountpoint = _quota_pool(make_loop, mounts, tmp_path)
    group, limit = "1/100", 48 * MIB
    btrfs.create_qgroup(mountpoint, group)
    volume, image = mountpoint / "volume", mountpoint / "volume" / "image"
    if membership == "at birth":
        btrfs.create_subvolume(volume, qgroup=group)
    else:
        btrfs.create_subvolume(volume)
        btrfs.assign_qgroup(mountpoint, f"0/{btrfs.subvolume_id(volume)}", group)
    if limit_kind == "exclusive":
        btrfs.limit_qgroup(mountpoint, group, limit)
    else:
        run(["btrfs", "qgroup", "limit", str(limit), group, mountpoint])

    _write_random(image, 32 * MIB, sync_each_mib=True)
    assert not _overwrite_until_quota(image, 32 * MIB), "without snapshots 32 MiB fit in 48"

    snapshot = mountpoint / "snapshot"
    if membership == "at birth":
        btrfs.snapshot(volume, snapshot, readonly=True, qgroup=group)
    else:
        btrfs.snapshot(volume, snapshot, readonly=True)
        btrfs.assign_qgroup(mountpoint, f"0/{btrfs.subvolume_id(snapshot)}", group)
    # The snapshot keeps the old 32 MiB: a full overwrite would make the group hold 64 MiB.
    assert _overwrite_until_quota(image, 32 * MIB)

    groups = btrfs.qgroups(mountpoint)
    members = {f"0/{btrfs.subvolume_id(path)}" for path in (volume, snapshot)}
    assert set(groups[group].children) == members
    assert 32 * MIB < groups[group].exclusive <= limit
    if limit_kind == "exclusive":
        assert (groups[group].max_exclusive, groups[group].max_referenced) == (limit, None)

        btrfs.limit_qgroup(mountpoint, group, None)
        assert btrfs.qgroups(mountpoint)[group].max_exclusive is None
        assert not _overwrite_until_quota(image, 32 * MIB), "no limit, no refusal"


@pytest.mark.linux
def test_destroy_a_group(make_loop: MakeLoop, mounts: list[Path], tmp_path: Path) -> None:
    mountpoint = _quota_pool(make_loop, mounts, tmp_path)
    btrfs.create_qgroup(mountpoint, "1/7")
    assert "1/7" in btrfs.qgroups(mountpoint)
    btrfs.destroy_qgroup(mountpoint, "1/7")
    assert "1/7" not in btrfs.qgroups(mountpoint)


@pytest.mark.linux
def test_rewriting_part_of_an_extent_keeps_the_whole_extent(
    make_loop: MakeLoop, mounts: list[Path], tmp_path: Path
) -> None:
    """Why volume limits need headroom: btrfs frees an extent only when no part of it is used.

    32 MiB written at once is one extent; rewriting 8 MiB inside it adds 8 MiB and frees
    nothing, so the volume holds 40 MiB for a 32 MiB file, with no snapshot involved.
    """
    mountpoint = _quota_pool(make_loop, mounts, tmp_path)
    volume = mountpoint / "volume"
    btrfs.create_subvolume(volume)
    _write_random(volume / "image", 32 * MIB)
    _write_random(volume / "image", 8 * MIB, offset=12 * MIB)
    referenced = btrfs.qgroups(mountpoint)[f"0/{btrfs.subvolume_id(volume)}"].referenced
    assert 40 * MIB <= referenced < 41 * MIB
