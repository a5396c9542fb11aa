"""The interface every backend implements, and the registry of backends by name.

The service decides what may change (the array's rules, from the backend's traits) and records
it; a backend makes the decided change real and reports what it measures and reads. Every
change method is called inside the store transaction that records the change, so raising rolls
the change back; each must be idempotent, so that the service can re-apply its records after a
restart (tgtd, for one, forgets its targets). Every method that reaches hardware (the change
methods, read_hardware, measure_usage, poll, the start-up ones) is called from a worker thread,
never from a request's read: reads use what these returned last.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opensan.domain.errors import InvalidArgument, NotSupported
from opensan.domain.measured import HardwareReadings, Performance, Usage
from opensan.domain.models import (
    ArrayState,
    Disk,
    EventLevel,
    FcPort,
    LunMapping,
    Pool,
    SensorStatus,
    Snapshot,
    Target,
    Volume,
)
from opensan.domain.raid import RaidLevel
from opensan.domain.traits import BackendTraits
from opensan.store.base import Store

# An event a backend asks the service to record: (level, source, message).
BackendEvent = tuple[EventLevel, str, str]


class StorageBackend(ABC):
    """What the service needs from the world below it."""

    traits: BackendTraits

    # Identity: from memory, never from hardware.

    @abstractmethod
    def model_name(self) -> str:
        """The array model reported in system information and IQNs, e.g. "XS5226D"."""

    @abstractmethod
    def serial_number(self) -> str:
        """The system serial number, used in IQNs and WWNs."""

    @abstractmethod
    def controller_count(self) -> int:
        """How many controllers serve targets (1 or 2)."""

    def configuration(self) -> dict[str, Any]:
        """The backend's config file as it was read, for the service package (the service
        removes secrets); a backend without one has nothing to add to the array's options."""
        return {}

    @abstractmethod
    def portals(self, controller: int) -> tuple[str, ...]:
        """The iSCSI portals (address:port) of one controller."""

    def fc_ports(self, controller: int) -> tuple[FcPort, ...]:
        """The Fibre Channel ports of one controller's host cards: none unless the backend
        has an FC card (the virtual array's hardware may)."""
        return ()

    # Start-up

    @abstractmethod
    def discover_disks(self, now: float, new_id: Callable[[], int]) -> list[Disk]:
        """The disks present on first start; IDs come from new_id so they never repeat."""

    def adopt_pools(self, now: float, new_id: Callable[[], int], disks: list[Disk]) -> list[Pool]:
        """Pools that exist below the array before its first start and become its pools.
        Raises InvalidArgument for one the array cannot serve."""
        return []

    def remove_orphans(self, state: ArrayState) -> None:
        """At start-up, with every other writer of the records kept out: delete what changes
        killed before their commit left behind (the records are the truth). Raises
        BackendError when the storage cannot be read."""

    def reconcile(self, state: ArrayState) -> None:
        """Make the world match the records: at start-up, and when another controller changed
        them. Raises BackendError when that fails."""

    # What the service keeps in memory for reads

    @abstractmethod
    def read_hardware(self, state: ArrayState, now: float,
                      sensor_overrides: Mapping[str, SensorStatus]) -> HardwareReadings:
        """System, sensors, S.M.A.R.T., temperatures, the storage's own health and disk
        changes, as they are now. Raises BackendError when the hardware cannot be read."""

    def measure_usage(self, state: ArrayState) -> Usage:
        """What the storage says the pools, volumes and snapshots of state use; called only
        where traits.measures_usage. Raises BackendError when it cannot be measured."""
        return Usage()

    def read_performance(self, state: ArrayState, now: float) -> Performance | None:
        """The I/O counters of volumes, disks and ports at `now` (array clock), monotonic
        since this backend started counting; None where the storage counts nothing. Counts
        only what the storage really counts: an object it has no counter for is left out.
        Raises BackendError when the counters cannot be read."""
        return None

    def poll(self) -> list[BackendEvent]:
        """Called every tick: repair what the world forgot; returns the events to record, e.g.
        that a crashed iSCSI daemon was restarted."""
        return []

    # Changes: each may raise BackendError (the storage failed), InsufficientCapacity (it is
    # full), Conflict (it is busy, or holds what it should not) or NotSupported.

    def pool_protection(self, raid_level: RaidLevel, disk_count: int) -> str | None:
        """What will protect a new pool's data when that is not the RAID level itself (e.g.
        "Replica 2")."""
        return None

    @abstractmethod
    def create_pool(self, pool: Pool, disks: list[Disk], force: bool) -> None:
        """Build the pool; refuse disks that hold data (a file-system signature) unless force
        (Conflict)."""

    @abstractmethod
    def delete_pool(self, pool: Pool, members: list[Disk]) -> None:
        """Remove the pool and leave its disks free for another pool."""

    @abstractmethod
    def add_pool_disks(self, pool: Pool, disks: list[Disk]) -> None:
        """Grow the pool (pool.disk_ids already holds the new disks) onto disks."""

    @abstractmethod
    def create_volume(self, volume: Volume) -> None: ...

    @abstractmethod
    def extend_volume(self, volume: Volume) -> None:
        """Grow the volume to volume.capacity_bytes; mapped LUNs show the new size."""

    @abstractmethod
    def delete_volume(self, volume: Volume) -> None: ...

    @abstractmethod
    def set_snapshot_space(self, volume: Volume) -> None: ...

    @abstractmethod
    def create_snapshot(self, volume: Volume, snapshot: Snapshot) -> None: ...

    @abstractmethod
    def delete_snapshot(self, volume: Volume, snapshot: Snapshot) -> None: ...

    @abstractmethod
    def rollback_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        """Give the volume the snapshot's data. `volume` is the record as the change will
        store it, one generation on: a backend that can, makes that generation's data beside
        the current one, so that a change that never commits leaves the volume as it was."""

    def finish_rollback(self, before: Volume, after: Volume) -> None:
        """Once the rollback committed: serve the new generation, let go of the old one."""

    @abstractmethod
    def create_clone(self, clone: Volume, source: Volume, snapshot: Snapshot | None) -> None:
        """Make the clone's volume with the source's data as it is now (or as the snapshot
        holds it), or what the rest of the copy is made from; clone.capacity_bytes is the
        source's. Called inside the change, like create_volume: a clone killed before its
        commit is an orphan."""

    @abstractmethod
    def clone_progress(self, clone: Volume, source: Volume, snapshot: Snapshot | None,
                       now: float) -> int:
        """How much of the clone's copy is done, in percent: 100 once the clone needs its
        source no more. What is left is copied in the backend's own time, and a copy that a
        restart cut off goes on (the tick asks again); raises BackendError when it failed."""

    def finish_clone(self, clone: Volume, source: Volume, snapshot: Snapshot | None) -> None:
        """Once the clone's end committed: let go of what held the source's data for it."""

    def set_qos(self, volume: Volume, max_iops: int, max_bytes_per_second: int) -> None:
        """Hold the volume to these limits (0: none), where traits.enforces_qos."""

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

    # Fault injection (traits.capabilities)

    def replacement_disk(self, failed: Disk, now: float, new_id: Callable[[], int]) -> Disk:
        """A new disk in a failed disk's slot."""
        raise NotSupported(f"The {self.traits.name} backend cannot replace disks by itself.")

    def set_change_latency(self, seconds: float) -> None:
        """Make every change take this long."""
        raise NotSupported(f"The {self.traits.name} backend cannot simulate slow changes.")

    def close(self) -> None:
        """Stop whatever the backend started."""


@dataclass(frozen=True)
class BackendSpec:
    """How the composition root makes a backend of one kind."""

    create: Callable[[dict[str, Any]], StorageBackend]
    # Where the backend keeps the records itself (Ceph: in the cluster, shared by both
    # controllers), the opener of that store from the backend's config file; None keeps them
    # in the state dir.
    open_store: Callable[[Path], Store] | None = None
    # Whether a new array is filled from the default profile when none is given (a virtual
    # array's default contents; a real array starts empty).
    uses_default_profile: bool = False
    # Whether `opensan serve` speaks HTTPS unless told otherwise: a real array does, with a
    # certificate of its own; the virtual array speaks plain HTTP, as the tests that use it do.
    https_by_default: bool = True


def _simulated() -> BackendSpec:
    from opensan.backends.simulated.backend import SPEC
    return SPEC


def _linux() -> BackendSpec:
    from opensan.backends.linux.backend import SPEC
    return SPEC


def _ceph() -> BackendSpec:
    from opensan.backends.ceph.backend import SPEC
    return SPEC


# Each backend's module is imported only when chosen, so the virtual array never loads the
# Linux tooling or Ceph's bindings.
BACKENDS: dict[str, Callable[[], BackendSpec]] = {
    "simulated": _simulated,
    "linux": _linux,
    "ceph": _ceph,
}


def backend_spec(name: str) -> BackendSpec:
    if name not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise InvalidArgument(f"Unknown backend {name!r}; available: {known}.")
    return BACKENDS[name]()
