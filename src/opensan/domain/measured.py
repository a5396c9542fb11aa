"""What the backend measures and reads below the records: use, sensors, S.M.A.R.T., health.

The periodic tick (and each change, once it has committed) asks the backend for these and keeps
them in memory; a request only ever reads the kept values, so no read waits on hardware.
Derived figures (domain/views.py) are pure functions of the records and these values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
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
