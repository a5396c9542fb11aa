from __future__ import annotations

import pytest

from opensan.domain import raid, rules
from opensan.domain.errors import InvalidArgument
from opensan.domain.raid import RaidLevel

TB = 10**12


@pytest.mark.parametrize("text, level", [
    ("RAID 5", RaidLevel.RAID5), ("raid5", RaidLevel.RAID5), ("5", RaidLevel.RAID5),
    ("RAID-10", RaidLevel.RAID10), ("raid 1", RaidLevel.RAID1), ("raid_60", RaidLevel.RAID60),
    (" raid 0 ", RaidLevel.RAID0),
])
def test_parse_raid_level(text: str, level: RaidLevel) -> None:
    assert raid.parse_raid_level(text) is level


@pytest.mark.parametrize("text", ["RAID 7", "raid", "", "55", "RAID 5x", "RAID 3", "-1", "\uff11"])
def test_parse_raid_level_refuses(text: str) -> None:
    with pytest.raises(InvalidArgument):
        raid.parse_raid_level(text)


@pytest.mark.parametrize("level, disks, data_disks", [
    (RaidLevel.RAID0, 3, 3), (RaidLevel.RAID1, 2, 1), (RaidLevel.RAID5, 6, 5),
    (RaidLevel.RAID6, 6, 4), (RaidLevel.RAID10, 8, 4), (RaidLevel.RAID50, 8, 6),
    (RaidLevel.RAID60, 8, 4),
])
def test_usable_capacity(level: RaidLevel, disks: int, data_disks: int) -> None:
    assert raid.usable_bytes(level, [4 * TB] * disks) == data_disks * 4 * TB


def test_smallest_member_sets_the_stripe() -> None:
    assert raid.usable_bytes(RaidLevel.RAID5, [4 * TB, 2 * TB, 4 * TB]) == 4 * TB


@pytest.mark.parametrize("level, count", [
    (RaidLevel.RAID5, 2), (RaidLevel.RAID6, 3), (RaidLevel.RAID10, 5), (RaidLevel.RAID1, 3),
    (RaidLevel.RAID50, 7), (RaidLevel.RAID60, 6), (RaidLevel.RAID0, 0),
])
def test_minimum_disk_counts(level: RaidLevel, count: int) -> None:
    with pytest.raises(InvalidArgument):
        raid.check_disk_count(level, count)


@pytest.mark.parametrize("level, count, failed, alive", [
    (RaidLevel.RAID0, 4, {0}, False),
    (RaidLevel.RAID5, 4, {1}, True), (RaidLevel.RAID5, 4, {1, 2}, False),
    (RaidLevel.RAID6, 6, {0, 5}, True), (RaidLevel.RAID6, 6, {0, 1, 5}, False),
    (RaidLevel.RAID10, 4, {0, 2}, True), (RaidLevel.RAID10, 4, {0, 1}, False),
    (RaidLevel.RAID50, 6, {0, 3}, True), (RaidLevel.RAID50, 6, {0, 1}, False),
    (RaidLevel.RAID60, 8, {0, 1, 4, 5}, True), (RaidLevel.RAID60, 8, {0, 1, 2}, False),
])
def test_fault_tolerance(level: RaidLevel, count: int, failed: set[int], alive: bool) -> None:
    assert raid.survives(level, count, failed) is alive


@pytest.mark.parametrize("name", ["a", "Z9", "a.b-c_d", "x" * 32])
def test_good_names(name: str) -> None:
    assert rules.check_name(name, "volume") == name


@pytest.mark.parametrize("name", ["", "x" * 33, "-a", "_a", ".a", "a b", "a/b", "é", "a\x00"])
def test_bad_names(name: str) -> None:
    with pytest.raises(InvalidArgument):
        rules.check_name(name, "volume")


@pytest.mark.parametrize("host", ["*", "iqn.1994-05.com.redhat:host-1",
                                  "iqn.2004-08.com.qsan:xs5226d-1:dev0.ctr1",
                                  "eui.0123456789ABCDEF", "naa.60013780000000000000000000000001"])
def test_good_hosts(host: str) -> None:
    assert rules.check_host(host) == host


@pytest.mark.parametrize("hosts", [[], ["*", "iqn.1994-05.com.x:y"], ["host1"], ["iqn.x"],
                                   ["iqn.1994-05.com.x:" + "a" * 300]])
def test_bad_hosts(hosts: list[str]) -> None:
    with pytest.raises(InvalidArgument):
        rules.check_hosts(hosts)


def test_duplicate_hosts_are_folded() -> None:
    assert rules.check_hosts(["iqn.1994-05.com.x:y"] * 2) == ("iqn.1994-05.com.x:y",)
