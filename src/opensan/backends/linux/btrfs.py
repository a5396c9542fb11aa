"""btrfs: a pool is one multi-device btrfs file system, a volume a subvolume, a snapshot a
read-only snapshot of it, and snapshot space a quota group (qgroup) limit.

Snapshot space is enforced with a level-1 qgroup per volume ("1/<volume id>") that holds the
volume's subvolume and every snapshot of it, limited to capacity + snapshot space. Checked on
loop devices (tests/backends/linux/test_linux_btrfs.py, btrfs-progs 6.2, kernel 6.18): once the volume
and its snapshots together hold more than the limit, writes into the volume fail with EDQUOT.
An exclusive limit (-e) and a referenced limit both stop the writes here, because every
subvolume that shares the volume's extents is in the group, so the group's exclusive and
referenced bytes are the same. They differ once data is shared with a subvolume outside the
group (a clone made from a snapshot): exclusive then leaves the shared bytes out, which is
the space the group really holds, so limit_qgroup sets the exclusive limit.

Two traps, both handled here:
- a qgroup limit is only enforced while the accounting is consistent. Assigning a subvolume
  that holds data to a group makes it inconsistent: measured, with `assign --no-rescan` the
  numbers froze and a write over the limit went through ("WARNING: quotas may be
  inconsistent, rescan needed"). assign_qgroup lets btrfs schedule the rescan and waits for
  it; creating a subvolume or snapshot straight into its group (create_subvolume/snapshot
  with qgroup=) keeps the accounting consistent and needs no rescan, which on a large pool
  is much cheaper.
- `btrfs --format json qgroup show` of btrfs-progs 6.2 aborts ("unknown unit base") as soon
  as any limit is set (kdave/btrfs-progs#1104), so qgroups are read from the text table.

And one for the caller: btrfs frees an extent only when no part of it is referenced any
more, and a file written in one go has extents of up to 128 MiB. Rewriting part of one adds
the new data and frees nothing, so a volume can hold more than its size without any snapshot
(measured: 32 MiB written at once, 8 MiB rewritten = 40 MiB; a full rewrite of a 32 MiB file
needed more than 48 MiB). Volume limits need headroom for this. A nodatacow image
(chattr +C while still empty) is rewritten in place and does not grow (measured: three full
rewrites within 48 MiB, EDQUOT as soon as a snapshot held the old data), at the price of no
data checksums for that file.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from opensan.backends.runner import StrPath, run
from opensan.domain.errors import BackendError, InvalidArgument, NotSupported
from opensan.domain.raid import RaidLevel

# Data and metadata profiles per RAID level. Metadata is mirrored at least as well as the data
# survives failures: RAID 5 keeps metadata on two disks, RAID 6 on three (raid1c3), so losing
# the disks the data survives never loses the tree that finds it.
PROFILES: dict[RaidLevel, tuple[str, str]] = {
    RaidLevel.RAID0: ("raid0", "raid1"),
    RaidLevel.RAID1: ("raid1", "raid1"),
    RaidLevel.RAID10: ("raid10", "raid10"),
    RaidLevel.RAID5: ("raid5", "raid1"),
    RaidLevel.RAID6: ("raid6", "raid1c3"),
}
# A balance or rescan lasts as long as the data it rewrites or reads: no fixed timeout fits.
_NO_TIMEOUT = None


def profiles(level: RaidLevel, device_count: int) -> tuple[str, str]:
    """The (data, metadata) profiles for a pool; a one-disk RAID 0 keeps two metadata copies
    on its disk (dup), as btrfs itself does, since raid1 needs two disks."""
    if level not in PROFILES:
        raise NotSupported(
            f"{level.value} is not supported by the Linux backend: btrfs has no nested "
            "RAID levels; use RAID 5 or RAID 6."
        )
    data, metadata = PROFILES[level]
    if level is RaidLevel.RAID0 and device_count == 1:
        metadata = "dup"
    return data, metadata


def make_filesystem(devices: Sequence[StrPath], level: RaidLevel, label: str) -> None:
    """Create a pool's file system over its disks.

    mkfs.btrfs refuses a disk that holds a file system; wipe it first on purpose.
    """
    if not devices:
        raise InvalidArgument("A file system needs at least one device.")
    data, metadata = profiles(level, len(devices))
    run(["mkfs.btrfs", "-L", label, "-d", data, "-m", metadata, *devices], timeout=600)


def mount(device: StrPath, mountpoint: StrPath) -> None:
    """Mount a pool (any of its devices names it), creating the mount point.

    `btrfs device scan` first, so the kernel knows every member of a multi-disk pool even
    without udev (after a reboot, in a container). noatime: reading must not rewrite
    metadata that snapshots would then have to keep twice.
    """
    os.makedirs(mountpoint, exist_ok=True)
    run(["btrfs", "device", "scan"])
    run(["mount", "-t", "btrfs", "-o", "noatime", device, mountpoint])


def unmount(mountpoint: StrPath) -> None:
    run(["umount", mountpoint])


def _unescape_mountinfo(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in a path as octal escapes."""
    return re.sub(r"\\([0-7]{3})", lambda match: chr(int(match.group(1), 8)), field)


def parse_mount_points(mountinfo_text: str) -> set[str]:
    """Mount points from /proc/self/mountinfo (field 5)."""
    return {
        _unescape_mountinfo(line.split()[4]) for line in mountinfo_text.splitlines() if line.strip()
    }


def is_mounted(mountpoint: StrPath) -> bool:
    mountinfo = Path("/proc/self/mountinfo").read_text()
    return os.path.realpath(mountpoint) in parse_mount_points(mountinfo)


def parse_profiles(json_text: str) -> tuple[str, str]:
    """(data, metadata) profiles from `btrfs --format json filesystem df`, lower case.

    While a conversion is unfinished a type has chunks of two profiles; the one holding
    more space is the pool's.
    """
    largest: dict[str, tuple[int, str]] = {}
    for entry in json.loads(json_text)["filesystem-df"]:
        kind, total = entry["bg-type"], int(entry["total"])
        if kind in ("Data", "Metadata") and total >= largest.get(kind, (-1, ""))[0]:
            largest[kind] = (total, entry["bg-profile"].lower())
    try:
        return largest["Data"][1], largest["Metadata"][1]
    except KeyError:
        raise BackendError("btrfs filesystem df reported no data or metadata.") from None


def add_devices(mountpoint: StrPath, devices: Sequence[StrPath], level: RaidLevel) -> None:
    """Grow a pool by new disks and restripe everything over all of them; returns when done.

    The balance rewrites every data and metadata chunk with the profiles of the pool's level
    (converting only a type whose profile differs: a one-disk RAID 0 pool's metadata goes
    from dup to raid1 now that there is a second disk). It takes as long as the data takes
    to copy.
    """
    run(["btrfs", "device", "add", *devices, mountpoint], timeout=600)
    data, metadata = profiles(level, device_count=2)  # a pool that just grew has at least two
    current = parse_profiles(run(["btrfs", "--format", "json", "filesystem", "df", mountpoint]))
    # A bare -d or -m balances all chunks of that type; -m also covers system chunks.
    balance = [
        "-d" if current[0] == data else f"-dconvert={data}",
        "-m" if current[1] == metadata else f"-mconvert={metadata}",
    ]
    run(["btrfs", "balance", "start", *balance, mountpoint], timeout=_NO_TIMEOUT)


def enable_quota(mountpoint: StrPath) -> None:
    """Turn on qgroup accounting (needed for snapshot space); harmless when already on."""
    run(["btrfs", "quota", "enable", mountpoint])


@dataclass(frozen=True)
class FsUsage:
    size_bytes: int
    used_bytes: int
    free_bytes: int


_USAGE_FIELD = re.compile(r"^\s*Free \(estimated\):\s+(\d+)", re.MULTILINE)
_USAGE_CHUNKS = re.compile(r"^(Data|Metadata),[^:]+: Size:(\d+), Used:(\d+)", re.MULTILINE)


def parse_usage(text: str) -> FsUsage:
    """Capacity as a client sees it, from `btrfs filesystem usage -b`.

    used = bytes stored in data and metadata chunks, counted once (before RAID copies or
    parity); free = btrfs's "Free (estimated)": room left in data chunks plus unallocated
    space divided by the data profile's ratio. size = used + free, so the three always add
    up and size follows the RAID level. Allocated but unused metadata space counts as
    neither: it can only ever hold metadata.
    """
    free = _USAGE_FIELD.search(text)
    chunks = _USAGE_CHUNKS.findall(text)
    if free is None or not chunks:
        raise BackendError("Unexpected output from btrfs filesystem usage.")
    used = sum(int(chunk_used) for _, _, chunk_used in chunks)
    free_bytes = int(free.group(1))
    return FsUsage(size_bytes=used + free_bytes, used_bytes=used, free_bytes=free_bytes)


def usage(mountpoint: StrPath) -> FsUsage:
    """Usage after a sync: until a transaction commits, new writes are not counted."""
    run(["btrfs", "filesystem", "sync", mountpoint])
    return parse_usage(run(["btrfs", "filesystem", "usage", "-b", mountpoint]))


# --- Subvolumes and snapshots ------------------------------------------------------------------


def _inherit(qgroup: str | None) -> list[str]:
    return ["-i", qgroup] if qgroup else []


def create_subvolume(path: StrPath, qgroup: str | None = None) -> None:
    """Create a subvolume, made a member of `qgroup` (e.g. "1/7") at birth when given."""
    run(["btrfs", "subvolume", "create", *_inherit(qgroup), path])


def delete_subvolume(path: StrPath) -> None:
    """Delete a subvolume and wait for the transaction commit.

    Without --commit-after a deletion the store has already recorded could come back after
    a crash; the commit is cheap. The space is freed in the background afterwards.
    """
    run(["btrfs", "subvolume", "delete", "--commit-after", path])


def snapshot(source: StrPath, dest: StrPath, readonly: bool, qgroup: str | None = None) -> None:
    """Snapshot a subvolume in constant time; put it in `qgroup` at birth when given.

    Note: btrfs copies the source's own (level 0) qgroup limits to the snapshot.
    """
    flags = ["-r"] if readonly else []
    run(["btrfs", "subvolume", "snapshot", *flags, *_inherit(qgroup), source, dest])


def sync_subvolumes(mountpoint: StrPath) -> None:
    """Wait until deleted subvolumes are really dropped (their quota groups free then)."""
    run(["btrfs", "subvolume", "sync", mountpoint], timeout=_NO_TIMEOUT)


def subvolume_id(path: StrPath) -> int:
    return int(run(["btrfs", "inspect-internal", "rootid", path]).strip())


# --- Quota groups ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Qgroup:
    qgroupid: str
    referenced: int
    exclusive: int
    max_referenced: int | None
    max_exclusive: int | None
    parents: tuple[str, ...]
    children: tuple[str, ...]


def create_qgroup(mountpoint: StrPath, qgroupid: str) -> None:
    run(["btrfs", "qgroup", "create", qgroupid, mountpoint])


def destroy_qgroup(mountpoint: StrPath, qgroupid: str) -> None:
    """Remove a qgroup, e.g. a volume's level-1 group after the volume is gone."""
    run(["btrfs", "qgroup", "destroy", qgroupid, mountpoint])


def assign_qgroup(mountpoint: StrPath, child: str, parent: str) -> None:
    """Make `child` (e.g. "0/258") a member of `parent` (e.g. "1/7") and wait until the
    accounting is consistent again: until then btrfs does not enforce limits."""
    run(["btrfs", "qgroup", "assign", child, parent, mountpoint])
    # assign schedules a rescan when the numbers changed; -W waits for it without starting one.
    run(["btrfs", "quota", "rescan", "-W", mountpoint], timeout=_NO_TIMEOUT)


def limit_qgroup(mountpoint: StrPath, qgroupid: str, limit_bytes: int | None) -> None:
    """Set (or with None remove) the exclusive limit of a qgroup; see the module docstring."""
    limit = "none" if limit_bytes is None else str(limit_bytes)
    run(["btrfs", "qgroup", "limit", "-e", limit, qgroupid, mountpoint])


def _ids(field: str) -> tuple[str, ...]:
    return () if field == "-" else tuple(field.split(","))


def _limit(field: str) -> int | None:
    return None if field == "none" else int(field)


def parse_qgroups(text: str) -> dict[str, Qgroup]:
    """Qgroups by ID from `btrfs qgroup show -pcre --raw`.

    The columns are fixed by those flags: qgroupid, referenced, exclusive, max referenced,
    max exclusive, parents, children, then (btrfs-progs 5.x and later) a path, ignored here.
    """
    qgroups = {}
    for line in text.splitlines():
        fields = line.split(None, 7)
        if len(fields) < 7 or not re.fullmatch(r"\d+/\d+", fields[0]):
            continue  # the header, its underline, blank lines
        qgroupid, referenced, exclusive, max_referenced, max_exclusive, parents, children = fields[:7]
        qgroups[qgroupid] = Qgroup(
            qgroupid=qgroupid,
            referenced=int(referenced),
            exclusive=int(exclusive),
            max_referenced=_limit(max_referenced),
            max_exclusive=_limit(max_exclusive),
            parents=_ids(parents),
            children=_ids(children),
        )
    return qgroups


def qgroups(mountpoint: StrPath) -> dict[str, Qgroup]:
    """Current qgroup numbers (--sync commits first, so recent writes are counted)."""
    return parse_qgroups(run(["btrfs", "qgroup", "show", "-pcre", "--raw", "--sync", mountpoint]))
