"""The virtual array's host workload: counters that follow the array clock, the same for the
same seed and changes, never going back, and adding up from volumes to ports and disks."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from opensan.array import open_array
from opensan.backends.simulated.workload import WRITE_PENALTY, HostWorkload
from opensan.config import Settings
from opensan.domain.measured import IoCounters, Performance, total_io
from opensan.domain.models import ArrayState, DiskHealth
from opensan.domain.raid import RaidLevel
from opensan.domain.workload import WORKLOADS_KEY, Workload, seeded_workload

SEED = 20261129
T0 = 1_800_000_000.0


@pytest.fixture(scope="module")
def default_state(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ArrayState]:
    """The records of a new array of the default profile: vol-db mapped on both controllers'
    targets (4 portals), vol-backup unmapped, Pool-1 RAID 6 over 8 hard disks."""
    state_dir: Path = tmp_path_factory.mktemp("workload") / "state"
    array = open_array(Settings(state_dir=state_dir, seed=SEED))
    try:
        yield array.service.state.copy()
    finally:
        array.close()


def volume_id(state: ArrayState, name: str) -> int:
    return next(v.id for v in state.volumes.values() if v.name == name)


def with_workload(state: ArrayState, name: str, work: Workload) -> ArrayState:
    changed = state.copy()
    chosen = dict(changed.meta.get(WORKLOADS_KEY, {}))
    chosen[str(volume_id(state, name))] = work.to_setting()
    changed.meta[WORKLOADS_KEY] = chosen
    return changed


def unmapped(state: ArrayState, name: str) -> ArrayState:
    changed = state.copy()
    vid = volume_id(state, name)
    changed.mappings = {k: m for k, m in changed.mappings.items() if m.volume_id != vid}
    return changed


def with_failed_disk(state: ArrayState, disk_id: int) -> ArrayState:
    changed = state.copy()
    changed.disks[disk_id] = replace(changed.disks[disk_id], health=DiskHealth.FAILED)
    return changed


def assert_not_less(later: Performance, earlier: Performance) -> None:
    for kind in ("volumes", "disks", "ports"):
        before, after = getattr(earlier, kind), getattr(later, kind)
        for key, counters in before.items():
            if key in after:
                for field in IoCounters.__slots__:
                    assert getattr(after[key], field) >= getattr(counters, field), (kind, key,
                                                                                     field)


def test_a_mapped_volume_runs_its_workload_on_the_array_clock(default_state: ArrayState) -> None:
    state = with_workload(default_state, "vol-db", Workload(1000, 75, 8))
    counters = HostWorkload(SEED)
    counters.read(state, T0)
    hour = counters.read(state, T0 + 3600)
    db = hour.volumes[volume_id(state, "vol-db")]
    # The load swings by at most 35% around the average; over an hour it stays near it.
    assert 0.65 * 3600 * 1000 < db.read_ops + db.write_ops < 1.35 * 3600 * 1000
    assert db.read_ops / (db.read_ops + db.write_ops) == pytest.approx(0.75, abs=0.001)
    assert db.read_bytes == db.read_ops * 8192 and db.write_bytes == db.write_ops * 8192
    assert db.read_seconds > 0 and db.write_seconds > 0
    # vol-backup is not mapped: no host reaches it, whatever its workload.
    assert hour.volumes[volume_id(state, "vol-backup")] == IoCounters()


def test_a_volume_mapped_only_on_a_target_without_ports_runs_nothing(
        default_state: ArrayState) -> None:
    """The fuzz's find: such a mapping made the reading divide by zero ports (a 500)."""
    state = with_workload(default_state, "vol-db", Workload(1000, 75, 8))
    vid = volume_id(state, "vol-db")
    portless = state.copy()
    portless.targets = {tid: replace(t, portals=()) for tid, t in state.targets.items()}
    counters = HostWorkload(SEED)
    counters.read(portless, T0)
    hour = counters.read(portless, T0 + 3600)
    assert hour.volumes[vid] == IoCounters()
    assert all(c == IoCounters() for c in hour.ports.values())


def test_the_same_seed_and_changes_give_the_same_counters_however_often_read(
        default_state: ArrayState) -> None:
    later = with_workload(default_state, "vol-db", Workload(5000, 30, 64))
    often, seldom = HostWorkload(SEED), HostWorkload(SEED)
    often.read(default_state, T0)
    seldom.read(default_state, T0)
    for second in range(1, 600):
        often.read(default_state, T0 + second)
    # The change is read at its own time by both; the rest of the time only `often` is read.
    often.read(later, T0 + 600)
    seldom.read(later, T0 + 600)
    for second in range(601, 1200, 7):
        often.read(later, T0 + second)
    assert often.read(later, T0 + 1200) == seldom.read(later, T0 + 1200)
    other_seed = HostWorkload(SEED + 1)
    other_seed.read(default_state, T0)
    assert other_seed.read(default_state, T0 + 1200).volumes != \
        seldom.read(later, T0 + 1200).volumes


def test_counters_never_go_back_across_changes_and_clock_jumps(default_state: ArrayState) -> None:
    db = volume_id(default_state, "vol-db")
    pool = default_state.pools[default_state.volumes[db].pool_id]
    states = [default_state, with_workload(default_state, "vol-db", Workload(20000, 10, 128)),
              with_failed_disk(default_state, pool.disk_ids[0]), unmapped(default_state, "vol-db"),
              default_state]
    counters = HostWorkload(SEED)
    previous = counters.read(default_state, T0)
    now = T0
    for step, state in enumerate(states * 3):
        now += 10 if step % 2 else 86400  # seconds, then a simulated day
        reading = counters.read(state, now)
        assert_not_less(reading, previous)
        previous = reading
    # A reading for a time before the latest one does not go back either.
    assert_not_less(counters.read(default_state, T0), previous)


def test_ports_and_disks_add_up_to_the_volumes(default_state: ArrayState) -> None:
    state = with_workload(default_state, "vol-db", Workload(3000, 60, 16))
    db = volume_id(state, "vol-db")
    counters = HostWorkload(SEED)
    counters.read(state, T0)
    reading = counters.read(state, T0 + 1234.5)
    host = reading.volumes[db]
    ports = total_io(reading.ports.values())
    assert (ports.read_ops, ports.write_ops, ports.read_bytes, ports.write_bytes) == (
        host.read_ops, host.write_ops, host.read_bytes, host.write_bytes)
    assert ports.read_seconds == pytest.approx(host.read_seconds)
    assert len(reading.ports) == 4 and all(p.read_ops > 0 for p in reading.ports.values())
    pool = state.pools[state.volumes[db].pool_id]
    assert pool.raid_level is RaidLevel.RAID6
    reads_per_write, writes_per_write = WRITE_PENALTY[pool.raid_level]
    members = [reading.disks[d] for d in pool.disk_ids]
    disks = total_io(members)
    assert disks.read_ops == host.read_ops + reads_per_write * host.write_ops
    assert disks.write_ops == writes_per_write * host.write_ops
    assert disks.read_bytes == disks.read_ops * 16 * 1024
    # Evenly: no member does more than one operation more than another.
    assert max(m.read_ops for m in members) - min(m.read_ops for m in members) <= 1
    others = [c for d, c in reading.disks.items() if d not in pool.disk_ids]
    assert others and all(c == IoCounters() for c in others)


def test_a_failed_member_stops_and_the_others_take_its_share(default_state: ArrayState) -> None:
    db = volume_id(default_state, "vol-db")
    pool = default_state.pools[default_state.volumes[db].pool_id]
    failed = pool.disk_ids[0]
    degraded = with_failed_disk(default_state, failed)
    counters = HostWorkload(SEED)
    counters.read(default_state, T0)
    healthy = counters.read(default_state, T0 + 100)
    counters.read(degraded, T0 + 100)
    later = counters.read(degraded, T0 + 200)
    assert later.disks[failed] == healthy.disks[failed]
    survivor = pool.disk_ids[1]
    assert later.disks[survivor].read_ops - healthy.disks[survivor].read_ops > \
        healthy.disks[survivor].read_ops
    # Reads are slower while the pool rebuilds a missing member from the others.
    host_before, host_after = healthy.volumes[db], later.volumes[db]
    before_latency = host_before.read_seconds / host_before.read_ops
    after_latency = ((host_after.read_seconds - host_before.read_seconds)
                     / (host_after.read_ops - host_before.read_ops))
    assert after_latency > before_latency


def test_a_volume_without_a_set_workload_runs_the_seeded_one(default_state: ArrayState) -> None:
    db = volume_id(default_state, "vol-db")
    seeded = seeded_workload(SEED, db)
    assert seeded == seeded_workload(SEED, db) != seeded_workload(SEED + 1, db)
    counters = HostWorkload(SEED)
    counters.read(default_state, T0)
    day = counters.read(default_state, T0 + 86400).volumes[db]
    # Over a whole day the daily swing averages out: within the short swing of the average.
    assert (day.read_ops + day.write_ops) / 86400 == pytest.approx(seeded.iops, rel=0.02)
