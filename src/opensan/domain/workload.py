"""The host workload of the virtual array: what the hosts of a volume ask of it.

A volume's workload is a setting (integrators set it through the `sim` extension or the
profile); a volume without one runs a workload drawn from the array's seed, so a new array
shows I/O at once and the same seed shows the same I/O. Hosts reach a volume only while it is
mapped, so an unmapped volume runs nothing whatever its workload says.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from opensan.domain.errors import InvalidArgument
from opensan.domain.models import ArrayState

MAX_IOPS = 1_000_000
MAX_BLOCK_KB = 1024
KIB = 1024
# Settings key: {"<volume id>": {"iops": ..., "read_percent": ..., "block_kb": ...}}.
WORKLOADS_KEY = "workloads"


@dataclass(frozen=True)
class Workload:
    iops: int  # the average; the hosts' load swings around it over the day
    read_percent: int
    block_kb: int

    @property
    def read_share(self) -> float:
        return self.read_percent / 100

    @property
    def block_bytes(self) -> int:
        return self.block_kb * KIB

    def to_setting(self) -> dict[str, Any]:
        return asdict(self)


def workload(iops: int, read_percent: int, block_kb: int) -> Workload:
    """A workload, its figures checked. Raises InvalidArgument."""
    if not 0 <= iops <= MAX_IOPS:
        raise InvalidArgument(f"IOPS must be 0 to {MAX_IOPS}, got {iops}.")
    if not 0 <= read_percent <= 100:
        raise InvalidArgument(f"The read share must be 0 to 100 percent, got {read_percent}.")
    if not 1 <= block_kb <= MAX_BLOCK_KB:
        raise InvalidArgument(f"The block size must be 1 to {MAX_BLOCK_KB} KiB, got {block_kb}.")
    return Workload(iops, read_percent, block_kb)


def seeded_workload(seed: int, volume_id: int) -> Workload:
    """The workload of a volume nobody set one for: a database-like mix, from the seed."""
    rng = random.Random(f"{seed}:workload:{volume_id}")
    return Workload(iops=rng.randrange(50, 401, 10), read_percent=rng.randrange(60, 91, 5),
                    block_kb=rng.choice((4, 8, 16, 32, 64)))


def workload_of(state: ArrayState, volume_id: int) -> Workload:
    """The volume's workload: the one set for it, else the seeded one."""
    stored = state.meta.get(WORKLOADS_KEY, {}).get(str(volume_id))
    if stored is not None:
        return Workload(**stored)
    return seeded_workload(int(state.meta.get("seed", 0)), volume_id)


@dataclass(frozen=True)
class VolumeWorkload:
    """A volume's workload and whether its hosts run it (the volume is mapped, its pool up)."""

    volume_id: int
    name: str
    workload: Workload
    chosen: bool  # set for it, rather than drawn from the seed
    running: bool
