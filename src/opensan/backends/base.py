"""The interface every backend implements, and the registry that picks one by name.

The service decides what may change (domain rules) and records it; a backend makes the
decided change real and reports live hardware. Every change method must be idempotent, so that
the service can re-apply its records after a restart (tgtd, for one, forgets its targets).
Optional operations raise NotSupported and are absent from capabilities().
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from enum import StrEnum
from typing import Any

from opensan.domain.errors import InvalidArgument, NotSupported
from opensan.domain.models import (
    ArrayState,
    Disk,
    DiskSmart,
    Enclosure,
    EventLevel,
    LunMapping,
    Pool,
    Provision,
    SensorStatus,
    Snapshot,
    SystemHealth,
    SystemInfo,
    Target,
    Volume,
)
from opensan.domain.raid import RaidLevel
from opensan.store.base import Store


class Capability(StrEnum):
    """Optional abilities; the API lists the matching extensions only where a backend has them."""

    FAULT_INJECTION = "fault-injection"
    SIMULATED_CLOCK = "simulated-clock"
    HOST_WRITE_SIMULATION = "host-write-simulation"


class StorageBackend(ABC):
    """What the service needs from the world below it."""

    name: str = "abstract"
    # A real array must not serve with QSAN's well-known default passwords; the virtual one may.
    allows_default_passwords: bool = False
    # True where every pool spans all disks (Ceph): disks are then never free, spare or added.
    pools_share_disks: bool = False
    # The provisioning of a pool created without one.
    default_provision: Provision = Provision.THICK
    # False where nothing below the service stops snapshots outgrowing their space (Ceph): the
    # service then deletes the oldest snapshots of a volume whose measured use is over.
    enforces_snapshot_space: bool = True

    def capabilities(self) -> frozenset[Capability]:
        return frozenset()

    # Identity and monitoring

    @abstractmethod
    def model_name(self) -> str:
        """The array model reported in system information and IQNs, e.g. "XS5226D"."""

    @abstractmethod
    def serial_number(self) -> str:
        """The system serial number, used in IQNs."""

    @abstractmethod
    def controller_count(self) -> int:
        """How many controllers serve targets (1 or 2)."""

    @abstractmethod
    def discover_disks(self, now: float, new_id: Callable[[], int]) -> list[Disk]:
        """The disks present on first start; IDs come from new_id so they never repeat."""

    @abstractmethod
    def system_info(
        self, now: float, started_at: float, system_name: str, health: SystemHealth
    ) -> SystemInfo:
        """System information as in the manual's "Information for Technical Support" table."""

    @abstractmethod
    def enclosures(self, now: float, sensor_overrides: Mapping[str, SensorStatus]) -> tuple[
        Enclosure, ...
    ]:
        """Live sensors per enclosure."""

    @abstractmethod
    def disk_smart(self, disk: Disk, now: float) -> DiskSmart:
        """S.M.A.R.T. of one disk."""

    @abstractmethod
    def disk_temperature_c(self, disk: Disk, now: float) -> int | None:
        """Current temperature of one disk; None where the device cannot tell."""

    @abstractmethod
    def portals(self, controller: int) -> tuple[str, ...]:
        """The iSCSI portals (address:port) of one controller."""

    # Changes: each is called inside the store transaction that records it; raising rolls it back.

    @abstractmethod
    def create_pool(self, pool: Pool, disks: list[Disk], force: bool) -> None:
        """Build the pool; refuse disks that hold data (a file-system signature) unless force."""

    @abstractmethod
    def delete_pool(self, pool: Pool, members: list[Disk]) -> None:
        """Remove the pool and leave its disks free for another pool."""

    @abstractmethod
    def add_pool_disks(self, pool: Pool, disks: list[Disk]) -> None: ...

    @abstractmethod
    def create_volume(self, volume: Volume) -> None: ...

    @abstractmethod
    def extend_volume(self, volume: Volume) -> None: ...

    @abstractmethod
    def delete_volume(self, volume: Volume) -> None: ...

    @abstractmethod
    def set_snapshot_space(self, volume: Volume) -> None: ...

    @abstractmethod
    def create_snapshot(self, volume: Volume, snapshot: Snapshot) -> None: ...

    @abstractmethod
    def delete_snapshot(self, volume: Volume, snapshot: Snapshot) -> None: ...

    @abstractmethod
    def rollback_snapshot(self, volume: Volume, snapshot: Snapshot) -> None: ...

    @abstractmethod
    def create_target(self, target: Target) -> None: ...

    @abstractmethod
    def delete_target(self, target: Target) -> None: ...

    @abstractmethod
    def map_lun(
        self, target: Target, mapping: LunMapping, volume: Volume, snapshot: Snapshot | None
    ) -> None:
        """Export the volume, or its snapshot read-only, as mapping.lun of the target."""

    @abstractmethod
    def unmap_lun(self, target: Target, mapping: LunMapping) -> None: ...

    # Live usage: backends that measure it (a real file system) override these; None means
    # "not measured", and the service then computes use from its own records.

    # How long a measured figure may be reused; None when use changes only through the service.
    usage_refresh_seconds: float | None = None

    def measured_pool_usage(self, pool: Pool) -> tuple[int, int] | None:
        """(capacity_bytes, used_bytes) as the pool's storage reports them."""
        return None

    def measured_volume_bytes(self, volume: Volume) -> int | None:
        """Bytes the volume really occupies."""
        return None

    def measured_snapshot_bytes(self, snapshot: Snapshot) -> int | None:
        """Bytes only this snapshot holds: what deleting it would free."""
        return None

    def measured_snapshot_space_used(self, volume: Volume) -> int | None:
        """Bytes the volume's snapshots take out of its snapshot space, all together."""
        return None

    def forget_measurements(self) -> None:
        """Called after every change: measured figures from before it are stale now."""

    def pool_protection(self, raid_level: RaidLevel, disk_count: int) -> str | None:
        """What will protect a new pool's data when that is not the RAID level itself (e.g.
        "Replica 2"); raises NotSupported for a level the backend cannot build."""
        return None

    def adopt_pools(self, now: float, new_id: Callable[[], int], disks: list[Disk]) -> list[Pool]:
        """Pools that exist below the array before its first start and become its pools."""
        return []

    def health_checks(self) -> dict[str, tuple[EventLevel, str]] | None:
        """The storage's own health checks now: name -> (level, message); None where it has
        none. The service writes an event whenever one is raised, changes level or clears."""
        return None

    def system_health(self) -> SystemHealth | None:
        """The storage's own verdict on its health, where it has one."""
        return None

    def disk_updates(self, disks: Mapping[int, Disk], now: float) -> list[Disk]:
        """Disks whose state changed below the array (an OSD went down), with id 0 for disks
        that are new; the service records them."""
        return []

    def poll(self) -> list[tuple[EventLevel, str, str]]:
        """Called every tick: repair what the world forgot; returns (level, source, message)
        events to record, e.g. that a crashed iSCSI daemon was restarted."""
        return []

    # Optional operations

    def replacement_disk(self, failed: Disk, now: float, new_id: Callable[[], int]) -> Disk:
        """A new disk in a failed disk's slot (fault injection)."""
        raise NotSupported(f"The {self.name} backend cannot replace disks by itself.")

    def set_change_latency(self, seconds: float) -> None:
        """Make every change take this long (fault injection)."""
        raise NotSupported(f"The {self.name} backend cannot simulate slow changes.")

    def reconcile(self, state: ArrayState) -> None:
        """Make the world match the records after a start or a restart of what serves them."""

    def remove_orphans(self, state: ArrayState) -> None:
        """At start-up, with every other writer of the records kept out: delete what changes
        killed before their commit left behind (the records are the truth)."""

    def close(self) -> None:
        """Stop whatever the backend started."""


# Each backend's module has a create(options) factory; it is imported only when chosen, so the
# virtual array never loads the Linux tooling and vice versa.
BACKENDS = {
    "simulated": "opensan.backends.simulated.backend",
    "linux": "opensan.backends.linux.backend",
    "ceph": "opensan.backends.ceph.backend",
}


def create_backend(name: str, options: dict[str, Any]) -> StorageBackend:
    try:
        module = importlib.import_module(BACKENDS[name])
    except KeyError:
        known = ", ".join(sorted(BACKENDS))
        raise InvalidArgument(f"Unknown backend {name!r}; available: {known}.") from None
    backend: StorageBackend = module.create(options)
    return backend



def open_backend_store(name: str, config: str | None) -> Store | None:
    """The store a backend keeps its records in itself (Ceph: in the cluster, shared by both
    controllers); None for a backend whose records live in the state dir."""
    if name not in BACKENDS:
        return None
    module = importlib.import_module(BACKENDS[name])
    opener = getattr(module, "open_store", None)
    if opener is None:
        return None
    if config is None:
        raise InvalidArgument(f"The {name} backend needs --config FILE.")
    store: Store = opener(config)
    return store
