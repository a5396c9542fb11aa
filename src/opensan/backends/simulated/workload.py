"""The hosts' I/O on the virtual array: each mapped volume runs its workload
(domain/workload.py), and the counters of volumes, disks and ports follow on the array clock.

Rates. A volume's IOPS swing around its workload's average, by 25% over a day and 10% over
10 to 30 minutes (phases and period from the seed), in closed form: a counter at any moment is
the exact integral of its rate, however long ago the last reading was, also across a jump of
the simulated clock.

Plans. What sets the rates (workloads, mappings, pools, their disks' health) is a plan, a pure
function of the records. While one plan holds, each counter is its value when the plan began
plus the integral since; when the records change, the service reads the counters at the
change's own time, and the counters then become the next plan's starting values. The counters
thus depend on the seed, the changes and their times only, never on how often or by whom they
are read.

Spread. A volume's I/O goes evenly to the portals of the targets it is mapped on (hosts use
every path, round-robin), and to its pool's member disks that have not failed, with the RAID
layout's small-write penalty: RAID 0 writes the block once; RAID 1 and 10 write both mirrors;
RAID 5 and 50 read the old data and parity and write both (2 reads and 2 writes a host write);
RAID 6 and 60 do so with both parities (3 and 3). A host read is read from one disk. Integer
operations and bytes are split evenly with the remainder to the first members, so disks and
ports add up exactly to the host I/O (times the layout's factors for disks).

Latency. A disk serves an operation in its access time plus the block's transfer time,
stretched by queueing as the pool's disks get busy (1 / (1 - utilization), utilization from the
average rates); hosts see that for reads (1.5 times while the pool is degraded, since a missing
member is rebuilt from the others), the controllers' mirrored write-back cache for writes, or
the disks' time twice (data, then parity) for write-through volumes.
"""

from __future__ import annotations

import math
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import TypeVar

from opensan.domain import views
from opensan.domain.measured import IoCounters, Performance
from opensan.domain.models import (
    ArrayState,
    CacheMode,
    DiskHealth,
    DiskType,
    PoolHealth,
    PoolStatus,
)
from opensan.domain.raid import RaidLevel
from opensan.domain.workload import workload_of

DAY = 86400.0
DAILY_SWING = 0.25
SHORT_SWING = 0.10
# (access seconds, transfer bytes per second) of one operation.
_DISK_SPEED = {
    DiskType.NL_SAS_HDD: (8.0e-3, 180e6), DiskType.SATA_HDD: (8.5e-3, 160e6),
    DiskType.SAS_HDD: (4.5e-3, 250e6), DiskType.SAS_SSD: (8.0e-5, 900e6),
    DiskType.SATA_SSD: (1.0e-4, 500e6), DiskType.NVME_SSD: (3.0e-5, 2500e6),
    DiskType.VIRTUAL: (1.0e-4, 500e6),
}
CACHE_WRITE_SECONDS = 1.5e-4  # the write-back cache, mirrored to the other controller
CACHE_BYTES_PER_SECOND = 1.2e9
DEGRADED_READ_FACTOR = 1.5
MAX_UTILIZATION = 0.9
# Disk operations a host write costs: (reads, writes).
WRITE_PENALTY = {
    RaidLevel.RAID0: (0, 1), RaidLevel.RAID1: (0, 2), RaidLevel.RAID10: (0, 2),
    RaidLevel.RAID5: (2, 2), RaidLevel.RAID50: (2, 2),
    RaidLevel.RAID6: (3, 3), RaidLevel.RAID60: (3, 3),
}


@dataclass(frozen=True)
class _Shape:
    """How one volume's load swings: a daily wave and a short one."""

    daily_phase: float
    short_period: float
    short_phase: float

    def integral(self, start: float, end: float) -> float:
        """The integral from start to end of 1 + the swings (an average of 1)."""
        def wave(amplitude: float, period: float, phase: float) -> float:
            omega = 2 * math.pi / period
            return amplitude / omega * (math.cos(omega * start + phase)
                                        - math.cos(omega * end + phase))
        return (end - start + wave(DAILY_SWING, DAY, self.daily_phase)
                + wave(SHORT_SWING, self.short_period, self.short_phase))


@cache
def _shape(seed: int, volume_id: int) -> _Shape:
    rng = random.Random(f"{seed}:load-shape:{volume_id}")
    return _Shape(rng.uniform(0, 2 * math.pi), rng.uniform(600.0, 1800.0),
                  rng.uniform(0, 2 * math.pi))


@dataclass(frozen=True)
class _VolumePlan:
    volume_id: int
    pool_id: int
    read_iops: float
    write_iops: float
    block_bytes: int
    read_latency: float
    write_latency: float
    disk_seconds: float  # one disk operation of this volume's, queueing included
    ports: tuple[str, ...]


@dataclass(frozen=True)
class _PoolPlan:
    disks: tuple[int, ...]  # the members that serve I/O (not failed), in the pool's order
    reads_per_write: int
    writes_per_write: int


@dataclass(frozen=True)
class _Plan:
    volumes: tuple[_VolumePlan, ...] = ()
    pools: Mapping[int, _PoolPlan] = field(default_factory=dict)


def _service_seconds(disk_type: DiskType, block_bytes: int) -> float:
    access, transfer = _DISK_SPEED.get(disk_type, _DISK_SPEED[DiskType.VIRTUAL])
    return access + block_bytes / transfer


def plan(state: ArrayState) -> _Plan:
    """Who runs what now: the mapped volumes of pools that serve I/O, with their latencies."""
    ports_of: dict[int, set[str]] = {}
    for mapping in state.mappings.values():
        if mapping.snapshot_id is None and mapping.target_id in state.targets:
            ports_of.setdefault(mapping.volume_id, set()).update(
                state.targets[mapping.target_id].portals)
    running: dict[int, list[tuple[int, float, float, int, CacheMode]]] = {}
    for volume in sorted(state.volumes.values(), key=lambda v: v.id):
        # Mapped only on targets without data ports: no host reaches it either.
        if not ports_of.get(volume.id) or volume.pool_id not in state.pools:
            continue
        work = workload_of(state, volume.id)
        if work.iops > 0:
            reads = work.iops * work.read_share
            running.setdefault(volume.pool_id, []).append(
                (volume.id, reads, work.iops - reads, work.block_bytes, volume.cache_mode))
    volumes: list[_VolumePlan] = []
    pools: dict[int, _PoolPlan] = {}
    for pool_id, members in running.items():
        pool = state.pools[pool_id]
        health = views.pool_health(state, pool)
        if health is PoolHealth.FAILED:
            continue
        disks = tuple(d for d in pool.disk_ids if state.disks[d].health is not DiskHealth.FAILED)
        disk_type = state.disks[disks[0]].type
        reads_per_write, writes_per_write = WRITE_PENALTY[pool.raid_level]
        busy = sum((reads + writes * reads_per_write + writes * writes_per_write)
                   * _service_seconds(disk_type, block) for _vid, reads, writes, block, _c in members)
        queueing = 1 / (1 - min(busy / len(disks), MAX_UTILIZATION))
        degraded = health is PoolHealth.DEGRADED or \
            views.pool_status(state, pool) is PoolStatus.REBUILDING
        pools[pool_id] = _PoolPlan(disks, reads_per_write, writes_per_write)
        for volume_id, reads, writes, block, cache_mode in members:
            disk = _service_seconds(disk_type, block) * queueing
            read_latency = disk * (DEGRADED_READ_FACTOR if degraded else 1.0)
            write_latency = (CACHE_WRITE_SECONDS + block / CACHE_BYTES_PER_SECOND
                             if cache_mode is CacheMode.WRITE_BACK else 2 * disk)
            volumes.append(_VolumePlan(volume_id, pool_id, reads, writes, block, read_latency,
                                       write_latency, disk, tuple(sorted(ports_of[volume_id]))))
    return _Plan(tuple(volumes), pools)


def _split(total: int, parts: int) -> list[int]:
    """total split evenly, the remainder to the first parts: each part only grows with total."""
    each, rest = divmod(total, parts)
    return [each + 1] * rest + [each] * (parts - rest)


class HostWorkload:
    """The counters of the virtual array since `since` (this server's start)."""

    def __init__(self, seed: int) -> None:
        self._seed = seed
        self._lock = threading.Lock()
        self._since: float | None = None
        self._started = 0.0  # when the plan in force began
        self._last = 0.0  # the latest time read: no reading is ever older
        self._seen: ArrayState | None = None
        self._plan = _Plan()
        # Counters when the plan in force began, by object.
        self._volumes: dict[int, IoCounters] = {}
        self._disks: dict[int, IoCounters] = {}
        self._ports: dict[str, IoCounters] = {}

    def read(self, state: ArrayState, now: float) -> Performance:
        """The counters at `now`; the records in `state` hold from now on (a plan that
        differs from the one in force starts here)."""
        with self._lock:
            if self._since is None:
                self._since = self._started = now
            now = self._last = max(now, self._last)  # the counters never go back
            if state is not self._seen:
                self._seen = state
                new = plan(state)
                if new != self._plan:
                    reading = self._counters(now)
                    self._volumes, self._disks, self._ports = (
                        dict(reading.volumes), dict(reading.disks), dict(reading.ports))
                    self._plan, self._started = new, now
            return self._counters(now)

    def _counters(self, now: float) -> Performance:
        # One zero reading shared by every idle volume (it is frozen): 4,096 volumes are read
        # after every change that steers the hosts' I/O.
        volumes = dict.fromkeys(self._seen.volumes, IoCounters()) if self._seen else {}
        volumes.update((vid, c) for vid, c in self._volumes.items() if vid in volumes)
        disk_sums: dict[int, IoCounters] = {}
        port_sums: dict[tuple[str, ...], IoCounters] = {}
        for volume in self._plan.volumes:
            span = _shape(self._seed, volume.volume_id).integral(self._started, now)
            reads = int(volume.read_iops * span)
            writes = int(volume.write_iops * span)
            done = IoCounters(reads, writes, reads * volume.block_bytes,
                              writes * volume.block_bytes, reads * volume.read_latency,
                              writes * volume.write_latency)
            volumes[volume.volume_id] = volumes.get(volume.volume_id, IoCounters()) + done
            port_sums[volume.ports] = port_sums.get(volume.ports, IoCounters()) + done
            pool = self._plan.pools[volume.pool_id]
            disk_reads = reads + writes * pool.reads_per_write
            disk_writes = writes * pool.writes_per_write
            disk_sums[volume.pool_id] = disk_sums.get(volume.pool_id, IoCounters()) + IoCounters(
                disk_reads, disk_writes, disk_reads * volume.block_bytes,
                disk_writes * volume.block_bytes, disk_reads * volume.disk_seconds,
                disk_writes * volume.disk_seconds)
        disks = dict(self._disks)
        for pool_id, sums in disk_sums.items():
            _spread(disks, self._plan.pools[pool_id].disks, sums)
        ports = dict(self._ports)
        for port_ids, sums in port_sums.items():
            _spread(ports, port_ids, sums)
        if self._seen is not None:
            for disk_id in self._seen.disks:
                disks.setdefault(disk_id, IoCounters())
            for target in self._seen.targets.values():
                for port in target.portals:
                    ports.setdefault(port, IoCounters())
        assert self._since is not None
        return Performance(taken_at=now, since=self._since, volumes=volumes, disks=disks,
                           ports=ports)


Key = TypeVar("Key", int, str)


def _spread(into: dict[Key, IoCounters], keys: tuple[Key, ...], sums: IoCounters) -> None:
    """Add sums to the counters of keys, split evenly (operations and bytes exactly)."""
    parts = len(keys)
    shares = zip(_split(sums.read_ops, parts), _split(sums.write_ops, parts),
                 _split(sums.read_bytes, parts), _split(sums.write_bytes, parts), strict=True)
    for key, (read_ops, write_ops, read_bytes, write_bytes) in zip(keys, shares, strict=True):
        into[key] = into.get(key, IoCounters()) + IoCounters(
            read_ops, write_ops, read_bytes, write_bytes, sums.read_seconds / parts,
            sums.write_seconds / parts)
