"""The kernel's I/O counters of a block device: /sys/class/block/<name>/stat.

Documentation/block/stat.rst: reads completed, reads merged, sectors read, milliseconds spent
reading, then the same four for writes, then I/Os in flight and more. Sectors are always 512
bytes there, whatever the device's own sector size. The counters run from the device's
appearance (boot, or a loop device's attachment) and only grow; they are the disk's own, so
they include what other users of the device do (btrfs's scrubs and balances too).

Nothing like them exists per volume here: a volume is an image file on btrfs served by tgtd,
and neither keeps per-file or per-LUN I/O counters (docs/linux.md).
"""

from __future__ import annotations

import os
from pathlib import Path

from opensan.domain.measured import IoCounters

SECTOR_BYTES = 512
SYS_BLOCK = Path("/sys/class/block")


def parse_stat(text: str) -> IoCounters:
    """The counters of one stat file's line. Raises ValueError on a line that is not one."""
    fields = [int(field) for field in text.split()]
    if len(fields) < 8:
        raise ValueError(f"a block stat line has at least 8 fields, got {len(fields)}")
    reads, _merged, read_sectors, read_ms, writes, _wmerged, write_sectors, write_ms = fields[:8]
    return IoCounters(reads, writes, read_sectors * SECTOR_BYTES, write_sectors * SECTOR_BYTES,
                      read_ms / 1000, write_ms / 1000)


def read_counters(device_path: str, root: Path = SYS_BLOCK) -> IoCounters | None:
    """The device's counters, None when the kernel has no such device (now)."""
    name = os.path.basename(os.path.realpath(device_path))
    try:
        return parse_stat((root / name / "stat").read_text())
    except (OSError, ValueError):
        return None


def boot_time(proc_stat: Path = Path("/proc/stat")) -> float:
    """When the kernel booted (unix time): where its disks' counters start."""
    for line in proc_stat.read_text().splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise ValueError("/proc/stat has no btime line")
