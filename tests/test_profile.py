"""The profile's host workload: a volume's `workload` is set when the profile fills the array."""

from __future__ import annotations

from pathlib import Path

import pytest

from opensan.array import open_array
from opensan.config import Settings
from opensan.domain.errors import InvalidArgument
from opensan.profile import Profile

PROFILE = """
[[pools]]
name = "P"
raid = "RAID 5"
disks = 3

[[volumes]]
name = "busy"
pool = "P"
size_gb = 10
workload = { iops = 1234, read_percent = 20 }

[[volumes]]
name = "seeded"
pool = "P"
size_gb = 10
"""


def test_a_profiles_workload_is_set_and_the_others_are_seeded(tmp_path: Path) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE)
    array = open_array(Settings(state_dir=tmp_path / "state", seed=7, profile=profile))
    try:
        workloads = {w.name: w for w in array.service.simulation.workloads()}
    finally:
        array.close()
    busy = workloads["busy"]
    assert (busy.workload.iops, busy.workload.read_percent, busy.workload.block_kb) == (1234, 20, 8)
    assert busy.chosen and not busy.running  # the profile maps neither
    assert not workloads["seeded"].chosen


def test_a_profiles_workload_out_of_range_is_refused(tmp_path: Path) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(PROFILE.replace("read_percent = 20", "read_percent = 120"))
    with pytest.raises(InvalidArgument, match="read_percent"):
        Profile.load(profile)
