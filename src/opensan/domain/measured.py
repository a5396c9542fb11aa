"""What the backend measures and reads below the records: use, sensors, S.M.A.R.T., health.

The periodic tick (and each change, once it has committed) asks the backend for these and keeps
them in memory; a request only ever reads the kept values, so no read waits on hardware.
Derived figures (domain/views.py) are pure functions of the records and these values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from opensan.domain.models import (
    Disk,
    DiskSmart,
    Enclosure,
    EventLevel,
    SystemHardware,
    SystemHealth,
)


@dataclass(frozen=True)
class PoolUsage:
    capacity_bytes: int
    used_bytes: int


@dataclass(frozen=True)
class Usage:
    """Use as the storage measures it, by object ID. A figure that is absent follows from the
    records instead (all of them on the virtual array, whose use is what the records say)."""

    pools: Mapping[int, PoolUsage] = field(default_factory=dict)
    # Bytes a volume really occupies.
    volumes: Mapping[int, int] = field(default_factory=dict)
    # Bytes only this snapshot holds: what deleting it would free.
    snapshots: Mapping[int, int] = field(default_factory=dict)
    # By volume ID: what its snapshots take out of its snapshot space, all together.
    snapshot_space: Mapping[int, int] = field(default_factory=dict)


NOT_MEASURED = Usage()


@dataclass(frozen=True)
class HealthCheck:
    """One of the storage's own health checks (a Ceph health check), as it is now."""

    level: EventLevel
    message: str


@dataclass(frozen=True)
class DiskJoined:
    """A disk that appeared below the array (an OSD joined). It gets its ID when the service
    records it; device_path tells whether it is recorded already."""

    device_path: str
    build: Callable[[int], Disk]


@dataclass(frozen=True)
class DiskChanged:
    """A recorded disk whose health, status or size changed below the array (an OSD went
    down): the record as it should be now."""

    disk: Disk


DiskChange = DiskJoined | DiskChanged


@dataclass(frozen=True)
class HardwareReadings:
    system: SystemHardware
    enclosures: tuple[Enclosure, ...]
    # By disk ID; a disk missing here has not been read yet.
    smart: Mapping[int, DiskSmart]
    temperatures: Mapping[int, int | None]
    # The storage's own verdict on its health and its health checks, where it has them.
    storage_health: SystemHealth | None = None
    health_checks: Mapping[str, HealthCheck] | None = None
    disk_changes: tuple[DiskChange, ...] = ()


@dataclass(frozen=True, slots=True)
class IoCounters:
    """I/O done since the counters started, reads and writes apart: operations, bytes, and the
    time they took (the sum of every operation's latency). They only grow, so any reader takes
    rates from two readings without disturbing another: IOPS = d(ops)/dt, latency =
    d(seconds)/d(ops)."""

    read_ops: int = 0
    write_ops: int = 0
    read_bytes: int = 0
    write_bytes: int = 0
    read_seconds: float = 0.0
    write_seconds: float = 0.0

    def __add__(self, other: IoCounters) -> IoCounters:
        return IoCounters(self.read_ops + other.read_ops, self.write_ops + other.write_ops,
                          self.read_bytes + other.read_bytes, self.write_bytes + other.write_bytes,
                          self.read_seconds + other.read_seconds,
                          self.write_seconds + other.write_seconds)


NO_IO = IoCounters()


def total_io(counters: Iterable[IoCounters]) -> IoCounters:
    return sum(counters, NO_IO)


@dataclass(frozen=True)
class Performance:
    """The storage's I/O counters at one moment of the array clock, each monotonic since
    `since` (when this server started counting). An object absent here has no counter of its
    own on this backend (volumes on Linux): it is shown as unknown, never as idle."""

    taken_at: float
    since: float
    volumes: Mapping[int, IoCounters] = field(default_factory=dict)
    disks: Mapping[int, IoCounters] = field(default_factory=dict)
    # By port: the portal address (host:port) hosts reach the array through.
    ports: Mapping[str, IoCounters] = field(default_factory=dict)
