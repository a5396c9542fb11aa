"""RAID levels: how many disks each needs, what capacity it gives and what failures it survives."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from opensan.domain.errors import InvalidArgument


class RaidLevel(StrEnum):
    RAID0 = "RAID 0"
    RAID1 = "RAID 1"
    RAID5 = "RAID 5"
    RAID6 = "RAID 6"
    RAID10 = "RAID 10"
    RAID50 = "RAID 50"
    RAID60 = "RAID 60"


@dataclass(frozen=True)
class RaidRule:
    min_disks: int
    # Parity (or mirror) disks per group of the layout; RAID 10 mirrors pairs.
    redundancy_per_group: int
    group_size_even: bool = False
    nested: bool = False


RULES: dict[RaidLevel, RaidRule] = {
    RaidLevel.RAID0: RaidRule(min_disks=1, redundancy_per_group=0),
    RaidLevel.RAID1: RaidRule(min_disks=2, redundancy_per_group=1),
    RaidLevel.RAID5: RaidRule(min_disks=3, redundancy_per_group=1),
    RaidLevel.RAID6: RaidRule(min_disks=4, redundancy_per_group=2),
    RaidLevel.RAID10: RaidRule(min_disks=4, redundancy_per_group=1, group_size_even=True),
    RaidLevel.RAID50: RaidRule(min_disks=6, redundancy_per_group=1, nested=True),
    RaidLevel.RAID60: RaidRule(min_disks=8, redundancy_per_group=2, nested=True),
}

# RAID 50 and 60 stripe over sub-groups; OpenSAN uses two, as QSAN's default.
NESTED_GROUPS = 2


# "RAID 5", "raid5", "RAID-5", "5" or "05", spaces around allowed: also the pattern the API description gives.
RAID_LEVEL_PATTERN = r"^ *(?:[rR][aA][iI][dD][ _-]?)?(0?[0156]|10|50|60) *$"


def parse_raid_level(text: str) -> RaidLevel:
    """Accept "RAID 5", "raid5", "RAID-5" or "5"."""
    match = re.fullmatch(RAID_LEVEL_PATTERN.strip("^$"), text)
    if match:
        return RaidLevel(f"RAID {int(match.group(1))}")
    choices = ", ".join(level.value for level in RaidLevel)
    raise InvalidArgument(f"Unknown RAID level {text!r}; use one of {choices}.")


def fault_tolerance(level: RaidLevel) -> int:
    """How many failed disks any group of the level survives at least (RAID 1 and 10: one)."""
    return RULES[level].redundancy_per_group


def check_disk_count(level: RaidLevel, disk_count: int) -> None:
    rule = RULES[level]
    if disk_count < rule.min_disks:
        raise InvalidArgument(f"{level.value} needs at least {rule.min_disks} disks, got {disk_count}.")
    if level is RaidLevel.RAID1 and disk_count != 2:
        raise InvalidArgument("RAID 1 mirrors exactly 2 disks; use RAID 10 for more.")
    if rule.group_size_even and disk_count % 2:
        raise InvalidArgument(f"{level.value} needs an even number of disks, got {disk_count}.")
    if rule.nested and disk_count % NESTED_GROUPS:
        raise InvalidArgument(
            f"{level.value} stripes over {NESTED_GROUPS} equal sub-groups; "
            f"use a disk count divisible by {NESTED_GROUPS}, got {disk_count}."
        )


def groups(level: RaidLevel, disk_count: int) -> list[range]:
    """Index ranges of the redundancy groups of a layout (mirror pairs for RAID 10)."""
    if level is RaidLevel.RAID10:
        return [range(i, i + 2) for i in range(0, disk_count, 2)]
    if RULES[level].nested:
        size = disk_count // NESTED_GROUPS
        return [range(i, i + size) for i in range(0, disk_count, size)]
    return [range(disk_count)]


def data_disk_count(level: RaidLevel, disk_count: int) -> int:
    if level is RaidLevel.RAID1:
        return 1
    if level is RaidLevel.RAID10:
        return disk_count // 2
    redundancy = RULES[level].redundancy_per_group
    return sum(len(group) - redundancy for group in groups(level, disk_count))


def usable_bytes(level: RaidLevel, disk_sizes: Sequence[int]) -> int:
    """Capacity a layout offers: the smallest member sets the size of every stripe."""
    if not disk_sizes:
        return 0
    return data_disk_count(level, len(disk_sizes)) * min(disk_sizes)


def survives(level: RaidLevel, disk_count: int, failed_positions: set[int]) -> bool:
    """Whether data is still readable with the members at these positions failed."""
    tolerance = RULES[level].redundancy_per_group
    return all(
        len(failed_positions.intersection(group)) <= tolerance
        for group in groups(level, disk_count)
    )
