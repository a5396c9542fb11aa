"""ArrayService: the only place that changes the array.

Every change takes the service lock, checks the array's rules against the current state, then
writes the new objects and one event into a store transaction while the backend makes the change
real. Only after the transaction commits does the in-memory state move on, so readers always see
a committed state and a failure anywhere leaves everything as it was.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from opensan.backends.base import Capability, StorageBackend
from opensan.domain import raid, rules
from opensan.domain.errors import (
    Conflict,
    ErrorCode,
    InsufficientCapacity,
    InvalidArgument,
    NotFound,
    NotSupported,
    disk_not_found,
    pool_not_found,
    snapshot_not_found,
    target_not_found,
    volume_not_found,
)
from opensan.domain.models import (
    ArrayState,
    Disk,
    DiskHealth,
    DiskSmart,
    DiskStatus,
    DiskUsage,
    DiskView,
    Enclosure,
    EventLevel,
    EventPage,
    LunMapping,
    MappingView,
    Permission,
    Pool,
    PoolHealth,
    PoolStatus,
    PoolView,
    Provision,
    SensorStatus,
    Snapshot,
    SystemHealth,
    SystemInfo,
    Target,
    TargetType,
    TargetView,
    Volume,
    VolumeHealth,
    VolumeStatus,
    VolumeView,
)
from opensan.domain.raid import RaidLevel
from opensan.domain.rules import GIB
from opensan.profile import Profile
from opensan.store.base import Store, StoreTransaction

QSAN_IQN_PREFIX = "iqn.2004-08.com.qsan"
# QSAN's IEEE OUI; volume WWNs are NAA 6 names under it.
QSAN_OUI = "001378"
# Simulated rebuild speed: a spare takes the failed disk's place at this rate.
REBUILD_BYTES_PER_SECOND = 500 * 1000**2


class Clock:
    """Wall-clock time plus an offset that tests and integrators can move forward."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset_seconds = offset_seconds

    def now(self) -> float:
        return time.time() + self.offset_seconds


class Change:
    """The draft state and the store transaction of one change, written together."""

    def __init__(self, tx: StoreTransaction, draft: ArrayState, now: float) -> None:
        self.tx = tx
        self.state = draft
        self.now = now

    def put_disk(self, disk: Disk) -> None:
        self.state.disks[disk.id] = disk
        self.tx.put_disk(disk)

    def delete_disk(self, disk_id: int) -> None:
        del self.state.disks[disk_id]
        self.tx.delete_disk(disk_id)

    def put_pool(self, pool: Pool) -> None:
        self.state.pools[pool.id] = pool
        self.tx.put_pool(pool)

    def delete_pool(self, pool_id: int) -> None:
        del self.state.pools[pool_id]
        self.tx.delete_pool(pool_id)

    def put_volume(self, volume: Volume) -> None:
        self.state.volumes[volume.id] = volume
        self.tx.put_volume(volume)

    def delete_volume(self, volume_id: int) -> None:
        del self.state.volumes[volume_id]
        self.tx.delete_volume(volume_id)

    def put_snapshot(self, snapshot: Snapshot) -> None:
        self.state.snapshots[snapshot.id] = snapshot
        self.tx.put_snapshot(snapshot)

    def delete_snapshot(self, snapshot_id: int) -> None:
        del self.state.snapshots[snapshot_id]
        self.tx.delete_snapshot(snapshot_id)

    def put_target(self, target: Target) -> None:
        self.state.targets[target.id] = target
        self.tx.put_target(target)

    def delete_target(self, target_id: int) -> None:
        del self.state.targets[target_id]
        self.tx.delete_target(target_id)

    def put_mapping(self, mapping: LunMapping) -> None:
        self.state.mappings[(mapping.target_id, mapping.lun)] = mapping
        self.tx.put_mapping(mapping)

    def delete_mapping(self, mapping: LunMapping) -> None:
        del self.state.mappings[(mapping.target_id, mapping.lun)]
        self.tx.delete_mapping(mapping.target_id, mapping.lun)

    def event(self, level: EventLevel, source: str, message: str) -> None:
        self.tx.add_event(self.now, level, source, message)


@dataclass(frozen=True)
class SnapshotSpace:
    volume_id: int
    space_bytes: int
    used_bytes: int


class ArrayService:
    def __init__(
        self,
        store: Store,
        backend: StorageBackend,
        *,
        clock: Clock | None = None,
        event_page_size: int = 50,
    ) -> None:
        self.store = store
        self.backend = backend
        self.clock = clock or Clock()
        self.event_page_size = event_page_size
        self._lock = threading.RLock()
        self._state = ArrayState()
        self._sensor_overrides: dict[str, SensorStatus] = {}
        self.started_at = time.time()
        # Bumped after every committed change; the API caches serialized reads per version.
        self.version = 0
        # The store generation self._state was loaded at (a shared store moves it on when the
        # other controller changed the records).
        self._generation = store.generation

    # Start-up

    def open(self, profile: Profile, seed: int, system_name: str | None = None) -> None:
        """Load the array from the store; a new store is first filled from the profile."""
        if self.store.is_new():
            self._initialize(profile, seed, system_name)
        self.clock.offset_seconds = float(self.store.get_meta("clock_offset", 0.0))
        overrides = self.store.get_meta("sensor_overrides", {})
        self._sensor_overrides = {k: SensorStatus(v) for k, v in overrides.items()}
        if Capability.FAULT_INJECTION in self.backend.capabilities():
            self.backend.set_change_latency(float(self.store.get_meta("change_latency", 0.0)))
        with self.store.transaction():  # another controller's change cannot be half-way now
            self._state = self.store.load_state()
            self._generation = self.store.generation
            self.backend.remove_orphans(self._state)
        self.backend.reconcile(self._state)
        self.started_at = self.clock.now()
        self.version += 1

    def _initialize(self, profile: Profile, seed: int, system_name: str | None) -> None:
        now = self.clock.now()
        with self.store.transaction() as tx:
            tx.set_meta("seed", seed)
            name = system_name or profile.system_name or self._default_system_name()
            tx.set_meta("system_name", rules.check_name(name, "system"))
            disks = self.backend.discover_disks(now, tx.new_object_id)
            for disk in disks:
                tx.put_disk(disk)
            for pool in self.backend.adopt_pools(now, tx.new_object_id, disks):
                tx.put_pool(pool)
                tx.add_event(now, EventLevel.INFO, "Pool",
                             f"Pool {pool.name} ({pool.protection}) taken over from the cluster.")
            tx.set_meta("created_at", now)
            tx.add_event(now, EventLevel.INFO, "System",
                         f"Array {self.backend.model_name()} initialized.")
        self._state = self.store.load_state()
        profile.apply(self)

    def _default_system_name(self) -> str:
        return f"{self.backend.model_name()}-{self.backend.serial_number()[-6:]}"

    @property
    def system_name(self) -> str:
        return str(self.store.get_meta("system_name", self._default_system_name()))

    @contextmanager
    def _change(self) -> Iterator[Change]:
        with self._lock:
            try:
                with self.store.transaction() as tx:
                    # A shared store's transaction starts from the records as they are now.
                    self._catch_up()
                    draft = self._state.copy()
                    yield Change(tx, draft, self.clock.now())
            finally:
                self.backend.forget_measurements()  # a failed change may have moved data too
            self._state = draft
            self.version += 1

    def refresh(self) -> None:
        """Take in what the other controller changed (a shared store only): called before
        every request and every tick, so a change made there is seen here at once."""
        if not self.store.shared:
            return
        with self._lock:
            self.store.refresh()
            self._catch_up()

    def _catch_up(self) -> None:
        if self.store.generation == self._generation:
            return
        state = self.store.load_state()
        self._generation = self.store.generation
        self.version += 1
        self.backend.forget_measurements()
        if state != self._state:  # not only accounts, sessions or settings changed
            self._state = state
            self.backend.reconcile(state)  # e.g. export the LUNs mapped over there

    def record_event(self, level: EventLevel, source: str, message: str) -> None:
        """An event that is not part of a change (logins, for one)."""
        self.store.add_event(self.clock.now(), level, source, message)

    # Lookups: raise when absent, never return None

    def get_disk(self, disk_id: int) -> Disk:
        try:
            return self._state.disks[disk_id]
        except KeyError:
            raise disk_not_found(disk_id) from None

    def get_pool(self, pool_id: int) -> Pool:
        try:
            return self._state.pools[pool_id]
        except KeyError:
            raise pool_not_found(pool_id) from None

    def get_volume(self, volume_id: int) -> Volume:
        try:
            return self._state.volumes[volume_id]
        except KeyError:
            raise volume_not_found(volume_id) from None

    def get_snapshot(self, snapshot_id: int) -> Snapshot:
        try:
            return self._state.snapshots[snapshot_id]
        except KeyError:
            raise snapshot_not_found(snapshot_id) from None

    def get_target(self, target_id: int) -> Target:
        try:
            return self._state.targets[target_id]
        except KeyError:
            raise target_not_found(target_id) from None

    # Reads

    @property
    def state(self) -> ArrayState:
        return self._state

    def system_info(self) -> SystemInfo:
        now = self.clock.now()
        return self.backend.system_info(now, self.started_at, self.system_name,
                                        self.system_health())

    def enclosures(self) -> tuple[Enclosure, ...]:
        return self.backend.enclosures(self.clock.now(), self._sensor_overrides)

    def system_health(self) -> SystemHealth:
        state = self._state
        pool_health = {self._pool_health(state, pool) for pool in state.pools.values()}
        storage = self.backend.system_health()
        if PoolHealth.FAILED in pool_health or storage is SystemHealth.FAILED:
            return SystemHealth.FAILED
        if storage is SystemHealth.DEGRADED:
            return SystemHealth.DEGRADED
        sensors_bad = any(
            sensor.status is not SensorStatus.GOOD
            for enclosure in self.enclosures() for sensor in enclosure.sensors
        )
        disks_bad = any(d.health is not DiskHealth.GOOD for d in state.disks.values())
        if PoolHealth.DEGRADED in pool_health or sensors_bad or disks_bad:
            return SystemHealth.DEGRADED
        return SystemHealth.GOOD

    def disks(self) -> list[DiskView]:
        now = self.clock.now()
        return [
            DiskView(disk, self.backend.disk_temperature_c(disk, now))
            for disk in sorted(self._state.disks.values(), key=lambda d: (d.enclosure_id, d.slot))
        ]

    def disk_smart(self) -> list[DiskSmart]:
        now = self.clock.now()
        return [self.backend.disk_smart(view.disk, now) for view in self.disks()]

    def pools(self) -> list[PoolView]:
        state = self._state
        ordered = sorted(state.pools.values(), key=lambda p: (p.created_at, p.id))
        return [self._pool_view(state, pool) for pool in ordered]

    def volumes(self) -> list[VolumeView]:
        state = self._state
        snapshots_by_volume: dict[int, list[Snapshot]] = {}
        for snapshot in state.snapshots.values():
            snapshots_by_volume.setdefault(snapshot.volume_id, []).append(self._measured(snapshot))
        mapped = {m.volume_id for m in state.mappings.values() if m.snapshot_id is None}
        pool_health = {p.id: self._pool_health(state, p) for p in state.pools.values()}
        pool_status = {p.id: self._pool_status(state, p) for p in state.pools.values()}
        return [
            self._volume_view(
                state, volume, snapshots_by_volume.get(volume.id, []), volume.id in mapped,
                pool_health[volume.pool_id], pool_status[volume.pool_id],
            )
            for volume in sorted(state.volumes.values(), key=lambda v: (v.created_at, v.id))
        ]

    def volume_snapshots(self, volume_id: int) -> tuple[SnapshotSpace, list[Snapshot]]:
        volume = self.get_volume(volume_id)
        snapshots = self._snapshots_of(self._state, volume_id)
        return self._snapshot_space(volume, snapshots), snapshots

    def targets(self) -> list[TargetView]:
        state = self._state
        counts: dict[int, int] = {}
        for target_id, _lun in state.mappings:
            counts[target_id] = counts.get(target_id, 0) + 1
        return [
            TargetView(target, counts.get(target.id, 0))
            for target in sorted(state.targets.values(), key=lambda t: t.id)
        ]

    def target_luns(self, target_id: int) -> tuple[Target, list[MappingView], list[int]]:
        target = self.get_target(target_id)
        views = [view for view in self.mappings() if view.mapping.target_id == target_id]
        used = {view.mapping.lun for view in views}
        free = [lun for lun in range(rules.MAX_LUN + 1) if lun not in used]
        return target, views, free

    def mappings(self) -> list[MappingView]:
        state = self._state
        return [self._mapping_view(state, mapping) for _key, mapping in sorted(state.mappings.items())]

    @staticmethod
    def _mapping_view(state: ArrayState, mapping: LunMapping) -> MappingView:
        snapshot = state.snapshots[mapping.snapshot_id] if mapping.snapshot_id else None
        return MappingView(mapping, state.volumes[mapping.volume_id].name,
                           state.targets[mapping.target_id].type,
                           snapshot.name if snapshot else None)

    @staticmethod
    def _snapshot_mappings(state: ArrayState, snapshot_ids: set[int]) -> list[LunMapping]:
        return [m for m in state.mappings.values() if m.snapshot_id in snapshot_ids]

    def event_page(self, page: int) -> EventPage:
        if page < 1:
            raise InvalidArgument(f"Page numbers start at 1, got {page}.")
        return self.store.event_page(page, self.event_page_size)

    # Derived values

    def _snapshots_of(self, state: ArrayState, volume_id: int) -> list[Snapshot]:
        found = [self._measured(s) for s in state.snapshots.values() if s.volume_id == volume_id]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    def _snapshot_space(self, volume: Volume, snapshots: list[Snapshot]) -> SnapshotSpace:
        measured = self.backend.measured_snapshot_space_used(volume)
        used = sum(s.used_bytes for s in snapshots) if measured is None else measured
        return SnapshotSpace(volume.id, volume.snapshot_space_bytes, used)

    @staticmethod
    def _allocated_bytes(volume: Volume) -> int:
        """What a volume takes from its pool: all of a thick volume, the written part of a thin one."""
        data = volume.capacity_bytes if volume.provision is Provision.THICK else volume.written_bytes
        return data + volume.snapshot_space_bytes

    @staticmethod
    def _pool_capacity(state: ArrayState, pool: Pool) -> int:
        sizes = [state.disks[disk_id].capacity_bytes for disk_id in pool.disk_ids]
        return raid.usable_bytes(pool.raid_level, sizes)

    @staticmethod
    def _pool_health(state: ArrayState, pool: Pool) -> PoolHealth:
        members = [state.disks[disk_id] for disk_id in pool.disk_ids]
        failed = {i for i, disk in enumerate(members) if disk.health is DiskHealth.FAILED}
        if not raid.survives(pool.raid_level, len(members), failed):
            return PoolHealth.FAILED
        rebuilding = any(disk.status is DiskStatus.REBUILDING for disk in members)
        return PoolHealth.DEGRADED if failed or rebuilding else PoolHealth.GOOD

    def _pool_status(self, state: ArrayState, pool: Pool) -> PoolStatus:
        if self._pool_health(state, pool) is PoolHealth.FAILED:
            return PoolStatus.OFFLINE
        members = (state.disks[disk_id] for disk_id in pool.disk_ids)
        if any(disk.status is DiskStatus.REBUILDING for disk in members):
            return PoolStatus.REBUILDING
        return PoolStatus.ONLINE

    def _pool_view(self, state: ArrayState, pool: Pool) -> PoolView:
        volumes = [v for v in state.volumes.values() if v.pool_id == pool.id]
        measured = self.backend.measured_pool_usage(pool)
        if measured is None:
            capacity = self._pool_capacity(state, pool)
            used = sum(self._allocated_bytes(v) for v in volumes)
        else:
            # The file system sees snapshot space only as it fills; the array reserves all of
            # it when it is set, so the part not yet filled counts as used too.
            capacity, used = measured
            used += sum(
                max(0, v.snapshot_space_bytes
                    - self._snapshot_space(v, self._snapshots_of(state, v.id)).used_bytes)
                for v in volumes)
        return PoolView(
            pool=pool,
            health=self._pool_health(state, pool),
            status=self._pool_status(state, pool),
            capacity_bytes=capacity,
            used_bytes=used,
            volume_count=len(volumes),
        )

    def _measured(self, snapshot: Snapshot) -> Snapshot:
        """The snapshot with its use as the backend measures it, where it does."""
        measured = self.backend.measured_snapshot_bytes(snapshot)
        return snapshot if measured is None else replace(snapshot, used_bytes=measured)

    def _volume_used_bytes(self, volume: Volume) -> int:
        measured = self.backend.measured_volume_bytes(volume)
        if measured is not None:
            return measured
        return volume.capacity_bytes if volume.provision is Provision.THICK \
            else volume.written_bytes

    def usage_epoch(self) -> int:
        """Changes when measured use may have moved; part of every cached read's key."""
        refresh = self.backend.usage_refresh_seconds
        return int(time.monotonic() / refresh) if refresh else 0

    def _volume_view(
        self,
        state: ArrayState,
        volume: Volume,
        snapshots: list[Snapshot],
        mapped: bool,
        pool_health: PoolHealth,
        pool_status: PoolStatus,
    ) -> VolumeView:
        health = {
            PoolHealth.GOOD: VolumeHealth.OPTIMAL,
            PoolHealth.DEGRADED: VolumeHealth.DEGRADED,
            PoolHealth.FAILED: VolumeHealth.FAILED,
        }[pool_health]
        status = {
            PoolStatus.OFFLINE: VolumeStatus.OFFLINE,
            PoolStatus.REBUILDING: VolumeStatus.REBUILD,
        }.get(pool_status, VolumeStatus.ONLINE)
        return VolumeView(
            volume=volume,
            protection=state.pools[volume.pool_id].protection_label,
            health=health,
            status=status,
            used_bytes=self._volume_used_bytes(volume),
            snapshot_used_bytes=self._snapshot_space(volume, snapshots).used_bytes,
            snapshot_count=len(snapshots),
            mapped=mapped,
        )

    def _free_bytes(self, state: ArrayState, pool_id: int) -> int:
        return self._pool_view(state, state.pools[pool_id]).free_bytes

    def _require_capacity(self, state: ArrayState, pool_id: int, wanted_bytes: int) -> None:
        free = self._free_bytes(state, pool_id)
        if wanted_bytes > free:
            pool = state.pools[pool_id]
            raise InsufficientCapacity(
                f"Pool {pool.name} has {free // GIB} GiB free; {-(-wanted_bytes // GIB)} GiB needed."
            )

    def _require_usable_pool(self, state: ArrayState, pool: Pool) -> None:
        if self._pool_health(state, pool) is PoolHealth.FAILED:
            raise Conflict(f"Pool {pool.name} has failed; no changes are possible.")

    def _require_volume_ready(self, state: ArrayState, volume: Volume) -> None:
        if self._pool_health(state, state.pools[volume.pool_id]) is PoolHealth.FAILED:
            raise Conflict(f"Volume {volume.name} is not ready: its pool has failed.",
                           ErrorCode.VOLUME_NOT_READY)

    # Snapshot space and snapshots (the manual's POSTs)

    def set_snapshot_space(self, volume_id: int, size_gb: int) -> SnapshotSpace:
        rules.check_snapshot_space_gb(size_gb)
        with self._change() as change:
            volume = self.get_volume(volume_id)
            snapshots = self._snapshots_of(change.state, volume_id)
            space = self._snapshot_space(volume, snapshots)
            new_bytes = size_gb * GIB
            if new_bytes == 0 and snapshots:
                raise Conflict(
                    f"Volume {volume.name} has {len(snapshots)} snapshots; delete them before "
                    "removing its snapshot space.", ErrorCode.SNAPSHOT_SPACE_IN_USE)
            if new_bytes < space.used_bytes:
                raise Conflict(
                    f"Snapshots of volume {volume.name} use {-(-space.used_bytes // GIB)} GiB; "
                    "snapshot space cannot shrink below that.", ErrorCode.SNAPSHOT_SPACE_IN_USE)
            self._require_volume_ready(change.state, volume)
            self._require_capacity(change.state, volume.pool_id,
                                   new_bytes - volume.snapshot_space_bytes)
            updated = replace(volume, snapshot_space_bytes=new_bytes)
            self.backend.set_snapshot_space(updated)
            change.put_volume(updated)
            change.event(EventLevel.INFO, "Snapshot",
                         f"Snapshot space of volume {volume.name} set to {size_gb} GiB.")
            return self._snapshot_space(updated, snapshots)

    def take_snapshot(self, volume_id: int, name: str | None = None) -> Snapshot:
        if name is not None:
            rules.check_snapshot_name(name)
        with self._change() as change:
            volume = self.get_volume(volume_id)
            snapshots = self._snapshots_of(change.state, volume_id)
            if volume.snapshot_space_bytes == 0:
                raise Conflict(
                    f"Volume {volume.name} has no snapshot space; set it with "
                    f"/rest/storage/snapspace/vdid/{volume.id}/sizegb/<size> first.",
                    ErrorCode.NO_SNAPSHOT_SPACE)
            if len(snapshots) >= rules.MAX_SNAPSHOTS_PER_VOLUME:
                raise Conflict(
                    f"Volume {volume.name} already has {rules.MAX_SNAPSHOTS_PER_VOLUME} snapshots, "
                    "the most it can hold; delete one first.", ErrorCode.SNAPSHOT_LIMIT)
            self._require_volume_ready(change.state, volume)
            taken = {snapshot.name for snapshot in snapshots}
            if name is None:
                name = self._automatic_snapshot_name(change.now, taken)
            elif name in taken:
                raise Conflict(f"Volume {volume.name} already has a snapshot named {name}.",
                               ErrorCode.SNAPSHOT_NAME_TAKEN)
            snapshot = Snapshot(change.tx.new_object_id(), volume.id, name, change.now)
            self.backend.create_snapshot(volume, snapshot)
            change.put_snapshot(snapshot)
            change.event(EventLevel.INFO, "Snapshot",
                         f"Snapshot {name} of volume {volume.name} taken.")
            return snapshot

    @staticmethod
    def _automatic_snapshot_name(now: float, taken: set[str]) -> str:
        base = datetime.fromtimestamp(now, UTC).strftime("snap-%Y%m%d-%H%M%S")
        name, suffix = base, 1
        while name in taken:
            suffix += 1
            name = f"{base}-{suffix}"
        return name

    def delete_snapshot(self, snapshot_id: int) -> Snapshot:
        with self._change() as change:
            snapshot = self.get_snapshot(snapshot_id)
            volume = self.get_volume(snapshot.volume_id)
            if self._snapshot_mappings(change.state, {snapshot.id}):
                raise Conflict(f"Snapshot {snapshot.name} is mapped; unmap it first.",
                               ErrorCode.SNAPSHOT_IN_USE)
            self.backend.delete_snapshot(volume, snapshot)
            change.delete_snapshot(snapshot.id)
            change.event(EventLevel.INFO, "Snapshot",
                         f"Snapshot {snapshot.name} of volume {volume.name} deleted.")
            return snapshot

    def rollback_snapshot(self, snapshot_id: int) -> Snapshot:
        """Return a volume to a snapshot; the snapshots taken after it go, as on QSAN arrays."""
        with self._change() as change:
            snapshot = self.get_snapshot(snapshot_id)
            volume = self.get_volume(snapshot.volume_id)
            self._require_volume_ready(change.state, volume)
            later = [
                s for s in self._snapshots_of(change.state, volume.id)
                if (s.created_at, s.id) > (snapshot.created_at, snapshot.id)
            ]
            if self._snapshot_mappings(change.state, {s.id for s in later}):
                raise Conflict(f"A snapshot of {volume.name} taken after {snapshot.name} is mapped; "
                               "rolling back would delete it, so unmap it first.",
                               ErrorCode.SNAPSHOT_IN_USE)
            for gone in later:
                self.backend.delete_snapshot(volume, gone)
                change.delete_snapshot(gone.id)
            self.backend.rollback_snapshot(volume, snapshot)
            # The snapshot now matches the volume again: it holds no changed blocks.
            change.put_snapshot(replace(snapshot, used_bytes=0))
            dropped = f"; later snapshots deleted: {', '.join(s.name for s in later)}" if later else ""
            change.event(EventLevel.INFO, "Snapshot",
                         f"Volume {volume.name} rolled back to snapshot {snapshot.name}{dropped}.")
            return change.state.snapshots[snapshot.id]

    # LUN mapping (the manual's POSTs)

    def map_lun(
        self,
        target_id: int,
        lun: int,
        volume_id: int,
        permission: Permission = Permission.READ_WRITE,
        hosts: tuple[str, ...] = ("*",),
    ) -> MappingView:
        """Export a volume as a LUN of a target."""
        return self._map(target_id, lun, volume_id, None, permission, hosts)

    def map_snapshot(
        self, target_id: int, lun: int, snapshot_id: int, hosts: tuple[str, ...] = ("*",)
    ) -> MappingView:
        """Export a snapshot, read-only, as a LUN: the volume's past, next to its present."""
        snapshot = self.get_snapshot(snapshot_id)
        return self._map(target_id, lun, snapshot.volume_id, snapshot_id, Permission.READ_ONLY,
                         hosts)

    def _map(
        self,
        target_id: int,
        lun: int,
        volume_id: int,
        snapshot_id: int | None,
        permission: Permission,
        hosts: tuple[str, ...],
    ) -> MappingView:
        rules.check_lun(lun)
        hosts = rules.check_hosts(list(hosts))
        with self._change() as change:
            target = self.get_target(target_id)
            volume = self.get_volume(volume_id)
            snapshot = self.get_snapshot(snapshot_id) if snapshot_id is not None else None
            what = f"Snapshot {snapshot.name} of volume {volume.name}" if snapshot \
                else f"Volume {volume.name}"
            if (target_id, lun) in change.state.mappings:
                raise Conflict(f"LUN {lun} of target {target_id} is already in use.",
                               ErrorCode.LUN_IN_USE)
            if any(m.target_id == target_id and m.volume_id == volume_id
                   and m.snapshot_id == snapshot_id for m in change.state.mappings.values()):
                raise Conflict(f"{what} is already mapped on target {target_id}.",
                               ErrorCode.VOLUME_ALREADY_MAPPED)
            self._require_volume_ready(change.state, volume)
            mapping = LunMapping(target_id, lun, volume_id, permission, hosts, snapshot_id)
            self.backend.map_lun(target, mapping, volume, snapshot)
            change.put_mapping(mapping)
            change.event(EventLevel.INFO, "LUN",
                         f"{what} mapped to target {target_id} ({target.iqn}) as "
                         f"LUN {lun}, {permission.value}, hosts {','.join(hosts)}.")
            return self._mapping_view(change.state, mapping)

    def unmap_lun(self, target_id: int, lun: int) -> MappingView:
        rules.check_lun(lun)
        with self._change() as change:
            target = self.get_target(target_id)
            try:
                mapping = change.state.mappings[(target_id, lun)]
            except KeyError:
                raise NotFound(f"LUN {lun} of target {target_id} is not mapped.",
                               ErrorCode.LUN_NOT_MAPPED) from None
            view = self._mapping_view(change.state, mapping)
            self.backend.unmap_lun(target, mapping)
            change.delete_mapping(mapping)
            what = f"Snapshot {view.snapshot_name} of volume {view.volume_name}" \
                if view.snapshot_name else f"Volume {view.volume_name}"
            change.event(EventLevel.INFO, "LUN",
                         f"{what} unmapped from target {target_id} LUN {lun}.")
            return view

    # Pools (extensions)

    def _pool_disks(self, state: ArrayState, disk_ids: list[int]) -> list[Disk]:
        """The disks of a new pool: healthy, one kind, and free unless the backend's pools share
        their disks (every Ceph pool spans the cluster's OSDs)."""
        if not disk_ids:
            raise InvalidArgument("Give at least one disk ID.")
        if len(set(disk_ids)) != len(disk_ids):
            raise InvalidArgument("A disk ID is given twice.")
        disks = [self.get_disk(disk_id) for disk_id in disk_ids]
        for disk in disks:
            if disk.health is not DiskHealth.GOOD:
                raise Conflict(f"Disk {disk.id} (slot {disk.slot}) is {disk.health.value}.",
                               ErrorCode.DISK_IN_USE)
            if disk.usage is not DiskUsage.FREE and not self.backend.pools_share_disks:
                raise Conflict(f"Disk {disk.id} (slot {disk.slot}) is in use as {disk.usage.value}.",
                               ErrorCode.DISK_IN_USE)
        kinds = {disk.type.solid_state for disk in disks}
        if len(kinds) > 1:
            raise InvalidArgument("A pool cannot mix SSDs and hard disks.")
        return disks

    def _require_dedicated_disks(self, what: str) -> None:
        if self.backend.pools_share_disks:
            raise NotSupported(f"On the {self.backend.name} backend every pool spans the "
                               f"cluster's disks: {what} is the cluster's own business.")

    def create_pool(
        self, name: str, raid_level: RaidLevel, disk_ids: list[int],
        provision: Provision | None = None, force: bool = False,
    ) -> PoolView:
        """A new pool; provision defaults to the backend's (thick, or thin on Ceph)."""
        rules.check_name(name, "pool")
        raid.check_disk_count(raid_level, len(disk_ids))
        provision = provision or self.backend.default_provision
        with self._change() as change:
            if any(pool.name == name for pool in change.state.pools.values()):
                raise Conflict(f"A pool named {name} already exists.", ErrorCode.POOL_NAME_TAKEN)
            disks = self._pool_disks(change.state, disk_ids)
            pool = Pool(change.tx.new_object_id(), name, raid_level, provision,
                        tuple(disk_ids), change.now,
                        self.backend.pool_protection(raid_level, len(disks)))
            self.backend.create_pool(pool, disks, force)
            change.put_pool(pool)
            if not self.backend.pools_share_disks:
                for disk in disks:
                    change.put_disk(replace(disk, usage=DiskUsage.RAID, pool_id=pool.id))
            change.event(EventLevel.INFO, "Pool",
                         f"Pool {name} created: {pool.protection_label}, {provision.value}, "
                         f"{len(disks)} disks.")
            return self._pool_view(change.state, pool)

    def add_pool_disks(self, pool_id: int, disk_ids: list[int]) -> PoolView:
        with self._change() as change:
            pool = self.get_pool(pool_id)
            for disk_id in disk_ids:
                self.get_disk(disk_id)  # an unknown ID is a 404 on every backend
            self._require_dedicated_disks("growing a pool")
            if self._pool_health(change.state, pool) is not PoolHealth.GOOD:
                raise Conflict(f"Pool {pool.name} is not healthy; add disks once it is.")
            disks = self._pool_disks(change.state, disk_ids)
            members = [change.state.disks[d] for d in pool.disk_ids]
            if {d.type.solid_state for d in members + disks} != {members[0].type.solid_state}:
                raise InvalidArgument("A pool cannot mix SSDs and hard disks.")
            raid.check_disk_count(pool.raid_level, len(pool.disk_ids) + len(disks))
            grown = replace(pool, disk_ids=pool.disk_ids + tuple(disk_ids))
            self.backend.add_pool_disks(grown, disks)
            change.put_pool(grown)
            for disk in disks:
                change.put_disk(replace(disk, usage=DiskUsage.RAID, pool_id=pool.id))
            change.event(EventLevel.INFO, "Pool",
                         f"{len(disks)} disks added to pool {pool.name}.")
            return self._pool_view(change.state, grown)

    def delete_pool(self, pool_id: int) -> PoolView:
        with self._change() as change:
            pool = self.get_pool(pool_id)
            view = self._pool_view(change.state, pool)
            if view.volume_count:
                raise Conflict(f"Pool {pool.name} still holds {view.volume_count} volumes.",
                               ErrorCode.POOL_NOT_EMPTY)
            self.backend.delete_pool(pool, [change.state.disks[d] for d in pool.disk_ids])
            for disk in change.state.disks.values():
                if disk.pool_id == pool.id:
                    change.put_disk(replace(disk, usage=DiskUsage.FREE, pool_id=None,
                                            status=DiskStatus.ONLINE, rebuild_started_at=None))
            change.delete_pool(pool.id)
            change.event(EventLevel.INFO, "Pool", f"Pool {pool.name} deleted.")
            return view

    # Volumes (extensions)

    def create_volume(
        self, pool_id: int, name: str, size_gb: int, provision: Provision | None = None
    ) -> VolumeView:
        rules.check_name(name, "volume")
        rules.check_volume_size_gb(size_gb)
        with self._change() as change:
            pool = self.get_pool(pool_id)
            if any(volume.name == name for volume in change.state.volumes.values()):
                raise Conflict(f"A volume named {name} already exists.",
                               ErrorCode.VOLUME_NAME_TAKEN)
            provision = provision or pool.provision
            if provision is Provision.THIN and pool.provision is Provision.THICK:
                raise InvalidArgument(f"Pool {pool.name} is thick; thin volumes need a thin pool.")
            self._require_usable_pool(change.state, pool)
            capacity = size_gb * GIB
            if provision is Provision.THICK:
                self._require_capacity(change.state, pool.id, capacity)
            volume_id = change.tx.new_object_id()
            volume = Volume(volume_id, name, pool.id, capacity, provision,
                            self._wwn(volume_id), change.now)
            self.backend.create_volume(volume)
            change.put_volume(volume)
            change.event(EventLevel.INFO, "Volume",
                         f"Volume {name} created in pool {pool.name}: {size_gb} GiB, "
                         f"{provision.value}.")
            return self._volume_view(change.state, volume, [], False,
                                     self._pool_health(change.state, pool),
                                     self._pool_status(change.state, pool))

    def _wwn(self, volume_id: int) -> str:
        serial_hex = "".join(f"{ord(c):02x}" for c in self.backend.serial_number())[-9:]
        return f"6{QSAN_OUI}{serial_hex}{volume_id:016x}"

    def extend_volume(self, volume_id: int, size_gb: int) -> VolumeView:
        rules.check_volume_size_gb(size_gb)
        with self._change() as change:
            volume = self.get_volume(volume_id)
            capacity = size_gb * GIB
            if capacity <= volume.capacity_bytes:
                raise InvalidArgument(
                    f"Volume {volume.name} is {volume.capacity_bytes // GIB} GiB; a volume only "
                    f"grows, so give more than that.")
            self._require_volume_ready(change.state, volume)
            if volume.provision is Provision.THICK:
                self._require_capacity(change.state, volume.pool_id,
                                       capacity - volume.capacity_bytes)
            grown = replace(volume, capacity_bytes=capacity)
            self.backend.extend_volume(grown)
            change.put_volume(grown)
            change.event(EventLevel.INFO, "Volume",
                         f"Volume {volume.name} extended to {size_gb} GiB.")
            return self._view_of(change.state, grown)

    def _view_of(self, state: ArrayState, volume: Volume) -> VolumeView:
        pool = state.pools[volume.pool_id]
        mapped = any(m.volume_id == volume.id and m.snapshot_id is None
                     for m in state.mappings.values())
        return self._volume_view(state, volume, self._snapshots_of(state, volume.id), mapped,
                                 self._pool_health(state, pool), self._pool_status(state, pool))

    def delete_volume(self, volume_id: int) -> VolumeView:
        with self._change() as change:
            volume = self.get_volume(volume_id)
            view = self._view_of(change.state, volume)
            if view.mapped:
                raise Conflict(f"Volume {volume.name} is mapped; unmap it first.",
                               ErrorCode.VOLUME_IN_USE)
            if view.snapshot_count:
                raise Conflict(
                    f"Volume {volume.name} has {view.snapshot_count} snapshots; delete them first.",
                    ErrorCode.VOLUME_IN_USE)
            self.backend.delete_volume(volume)
            change.delete_volume(volume.id)
            change.event(EventLevel.INFO, "Volume", f"Volume {volume.name} deleted.")
            return view

    # Targets (extensions)

    def create_target(
        self, controller: int, node: int | None = None, name: str | None = None
    ) -> TargetView:
        controllers = self.backend.controller_count()
        if not 1 <= controller <= controllers:
            raise InvalidArgument(f"Controller must be 1 to {controllers}, got {controller}.")
        if node is not None and not 0 <= node < rules.MAX_NODES_PER_CONTROLLER:
            raise InvalidArgument(
                f"Node must be 0 to {rules.MAX_NODES_PER_CONTROLLER - 1}, got {node}.")
        if name is not None:
            rules.check_name(name, "target")
        with self._change() as change:
            used_nodes = {t.node for t in change.state.targets.values()
                          if t.controller == controller}
            if node is None:
                free = [n for n in range(rules.MAX_NODES_PER_CONTROLLER) if n not in used_nodes]
                if not free:
                    raise Conflict(f"Controller {controller} already has "
                                   f"{rules.MAX_NODES_PER_CONTROLLER} targets.",
                                   ErrorCode.TARGET_LIMIT)
                node = free[0]
            elif node in used_nodes:
                raise Conflict(f"Controller {controller} already has node {node}.",
                               ErrorCode.TARGET_IN_USE)
            target_id = min(set(range(len(change.state.targets) + 1)) - set(change.state.targets))
            target = Target(
                id=target_id, type=TargetType.ISCSI, controller=controller, node=node,
                iqn=self.iqn(node, controller), name=name or f"dev{node}.ctr{controller}",
                portals=self.backend.portals(controller),
            )
            self.backend.create_target(target)
            change.put_target(target)
            change.event(EventLevel.INFO, "Target",
                         f"iSCSI target {target_id} ({target.iqn}) created.")
            return TargetView(target, 0)

    def iqn(self, node: int, controller: int) -> str:
        model = self.backend.model_name().lower()
        serial = self.backend.serial_number().lower()
        return f"{QSAN_IQN_PREFIX}:{model}-{serial}:dev{node}.ctr{controller}"

    def delete_target(self, target_id: int) -> TargetView:
        with self._change() as change:
            target = self.get_target(target_id)
            luns = [m for m in change.state.mappings.values() if m.target_id == target_id]
            if luns:
                raise Conflict(f"Target {target_id} still has {len(luns)} LUNs; unmap them first.",
                               ErrorCode.TARGET_IN_USE)
            self.backend.delete_target(target)
            change.delete_target(target.id)
            change.event(EventLevel.INFO, "Target",
                         f"iSCSI target {target_id} ({target.iqn}) deleted.")
            return TargetView(target, 0)

    # Spares (extension)

    def set_spare(
        self, disk_ids: list[int], usage: DiskUsage, pool_id: int | None = None
    ) -> list[DiskView]:
        if usage not in (DiskUsage.FREE, DiskUsage.GLOBAL_SPARE, DiskUsage.DEDICATED_SPARE):
            raise InvalidArgument("Spare type must be global, dedicated or free.")
        if (usage is DiskUsage.DEDICATED_SPARE) != (pool_id is not None):
            raise InvalidArgument("Give a pool ID for a dedicated spare, and only then.")
        if not disk_ids or len(set(disk_ids)) != len(disk_ids):
            raise InvalidArgument("Give each disk ID once, and at least one.")
        with self._change() as change:
            pool = self.get_pool(pool_id) if pool_id is not None else None
            disks = [self.get_disk(disk_id) for disk_id in disk_ids]
            self._require_dedicated_disks("recovering from a failed disk")
            for disk in disks:
                if disk.usage is DiskUsage.RAID:
                    raise Conflict(f"Disk {disk.id} (slot {disk.slot}) is a member of a pool.",
                                   ErrorCode.DISK_IN_USE)
                if disk.health is not DiskHealth.GOOD and usage is not DiskUsage.FREE:
                    raise Conflict(f"Disk {disk.id} (slot {disk.slot}) is {disk.health.value}.",
                                   ErrorCode.DISK_IN_USE)
            for disk in disks:
                change.put_disk(replace(disk, usage=usage, pool_id=pool.id if pool else None))
            where = f" for pool {pool.name}" if pool else ""
            slots = ", ".join(str(disk.slot) for disk in disks)
            change.event(EventLevel.INFO, "Disk",
                         f"Disks in slots {slots} set to {usage.value}{where}.")
            now = change.now
            return [DiskView(d, self.backend.disk_temperature_c(d, now))
                    for d in (change.state.disks[disk_id] for disk_id in disk_ids)]

    # Simulation: faults, time and host I/O (capability-gated extensions)

    def _require(self, capability: Capability) -> None:
        if capability not in self.backend.capabilities():
            raise NotSupported(f"The {self.backend.name} backend has no {capability.value}.")

    def fail_disk(self, disk_id: int) -> DiskView:
        """A disk fails; a spare (dedicated first, then global) starts rebuilding in its place."""
        self._require(Capability.FAULT_INJECTION)
        with self._change() as change:
            disk = self.get_disk(disk_id)
            if disk.health is DiskHealth.FAILED:
                raise Conflict(f"Disk {disk.id} (slot {disk.slot}) has already failed.",
                               ErrorCode.DISK_IN_USE)
            failed = replace(disk, health=DiskHealth.FAILED, rebuild_started_at=None,
                             status=DiskStatus.ONLINE)
            change.put_disk(failed)
            change.event(EventLevel.ERROR, "Disk",
                         f"Disk in slot {disk.slot} ({disk.serial_number}) failed.")
            if disk.usage is DiskUsage.RAID and disk.pool_id is not None:
                self._after_member_failure(change, change.state.pools[disk.pool_id], failed)
            elif disk.usage is not DiskUsage.FREE:
                change.put_disk(replace(failed, usage=DiskUsage.FREE, pool_id=None))
            return DiskView(change.state.disks[disk.id],
                            self.backend.disk_temperature_c(disk, change.now))

    def _after_member_failure(self, change: Change, pool: Pool, failed: Disk) -> None:
        health = self._pool_health(change.state, pool)
        if health is PoolHealth.FAILED:
            change.event(EventLevel.ERROR, "Pool", f"Pool {pool.name} failed: data is offline.")
            return
        change.event(EventLevel.WARNING, "Pool", f"Pool {pool.name} is degraded.")
        spare = self._find_spare(change.state, pool, failed)
        if spare is None:
            change.event(EventLevel.WARNING, "Pool",
                         f"No spare disk for pool {pool.name}; replace the disk in slot "
                         f"{failed.slot} to rebuild.")
            return
        self._start_rebuild(change, pool, failed, spare)

    @staticmethod
    def _find_spare(state: ArrayState, pool: Pool, failed: Disk) -> Disk | None:
        usable = [
            d for d in state.disks.values()
            if d.health is DiskHealth.GOOD and d.capacity_bytes >= failed.capacity_bytes
            and d.type.solid_state == failed.type.solid_state
        ]
        dedicated = [d for d in usable
                     if d.usage is DiskUsage.DEDICATED_SPARE and d.pool_id == pool.id]
        spares = dedicated or [d for d in usable if d.usage is DiskUsage.GLOBAL_SPARE]
        return min(spares, key=lambda d: d.slot) if spares else None

    def _start_rebuild(self, change: Change, pool: Pool, failed: Disk, spare: Disk) -> None:
        members = tuple(spare.id if d == failed.id else d for d in pool.disk_ids)
        change.put_pool(replace(pool, disk_ids=members))
        change.put_disk(replace(failed, usage=DiskUsage.FREE, pool_id=None))
        change.put_disk(replace(spare, usage=DiskUsage.RAID, pool_id=pool.id,
                                status=DiskStatus.REBUILDING, rebuild_started_at=change.now))
        change.event(EventLevel.INFO, "Pool",
                     f"Pool {pool.name} rebuilding onto the disk in slot {spare.slot}.")

    def replace_disk(self, disk_id: int) -> DiskView:
        """Swap a failed disk for a new one in the same slot; a degraded pool rebuilds onto it."""
        self._require(Capability.FAULT_INJECTION)
        with self._change() as change:
            disk = self.get_disk(disk_id)
            if disk.health is DiskHealth.GOOD:
                raise Conflict(f"Disk {disk.id} (slot {disk.slot}) has not failed.",
                               ErrorCode.DISK_IN_USE)
            new = self.backend.replacement_disk(disk, change.now, change.tx.new_object_id)
            change.delete_disk(disk.id)
            change.put_disk(new)
            change.event(EventLevel.INFO, "Disk",
                         f"Disk in slot {disk.slot} replaced: {new.serial_number}.")
            if disk.pool_id is not None and disk.usage is DiskUsage.RAID:
                pool = change.state.pools[disk.pool_id]
                members = tuple(new.id if d == disk.id else d for d in pool.disk_ids)
                # The new disk takes the failed one's position so the layout keeps its order.
                change.put_pool(replace(pool, disk_ids=members))
                change.put_disk(replace(new, usage=DiskUsage.RAID, pool_id=pool.id,
                                        status=DiskStatus.REBUILDING,
                                        rebuild_started_at=change.now))
                change.event(EventLevel.INFO, "Pool",
                             f"Pool {pool.name} rebuilding onto the disk in slot {new.slot}.")
            return DiskView(change.state.disks[new.id],
                            self.backend.disk_temperature_c(new, change.now))

    def set_sensor_status(self, sensor_id: str, status: SensorStatus) -> None:
        self._require(Capability.FAULT_INJECTION)
        known = {s.id: s for e in self.enclosures() for s in e.sensors}
        if sensor_id not in known:
            raise NotFound(f"No sensor {sensor_id[:60]!r}; /rest/dashboard/hwmonitor lists them.")
        overrides = dict(self._sensor_overrides)
        if status is SensorStatus.GOOD:
            overrides.pop(sensor_id, None)
        else:
            overrides[sensor_id] = status
        level = {SensorStatus.GOOD: EventLevel.INFO, SensorStatus.WARNING: EventLevel.WARNING,
                 SensorStatus.FAILED: EventLevel.ERROR}[status]
        sensor = known[sensor_id]
        with self._change() as change:
            change.tx.set_meta("sensor_overrides", {k: v.value for k, v in overrides.items()})
            change.event(level, "Hardware",
                         f"{sensor.location} {sensor.name} is {status.value}.")
        self._sensor_overrides = overrides

    def set_change_latency(self, milliseconds: int) -> None:
        """Slow every change down, so clients can test their time-outs."""
        self._require(Capability.FAULT_INJECTION)
        if not 0 <= milliseconds <= 600_000:
            raise InvalidArgument(f"Latency must be 0 to 600000 ms, got {milliseconds}.")
        with self._change() as change:
            change.tx.set_meta("change_latency", milliseconds / 1000)
            change.event(EventLevel.INFO, "System",
                         f"Simulated change latency set to {milliseconds} ms.")
        self.backend.set_change_latency(milliseconds / 1000)

    def advance_clock(self, seconds: int) -> float:
        self._require(Capability.SIMULATED_CLOCK)
        if not 1 <= seconds <= 10 * 365 * 86400:
            raise InvalidArgument(f"Advance the clock by 1 second to 10 years, got {seconds}.")
        with self._lock, self.store.transaction() as tx:
            tx.set_meta("clock_offset", self.clock.offset_seconds + seconds)
        self.clock.offset_seconds += seconds
        self.tick()
        return self.clock.now()

    def tick(self) -> None:
        """Called every second and after the clock moves: take in the other controller's changes,
        let the backend repair what the world forgot, follow the storage's own health and disks,
        keep snapshots within their space, and finish rebuilds whose time has come."""
        self.refresh()
        for level, source, message in self.backend.poll():
            self.record_event(level, source, message)
        self._follow_health_checks()
        self._follow_disks()
        if not self.backend.enforces_snapshot_space:
            self._enforce_snapshot_space()
        now = self.clock.now()
        due = [
            disk for disk in self._state.disks.values()
            if disk.status is DiskStatus.REBUILDING and disk.rebuild_started_at is not None
            and now >= disk.rebuild_started_at + disk.capacity_bytes / REBUILD_BYTES_PER_SECOND
        ]
        if not due:
            return
        with self._change() as change:
            for disk in due:
                change.put_disk(replace(disk, status=DiskStatus.ONLINE, rebuild_started_at=None))
                pool = change.state.pools.get(disk.pool_id) if disk.pool_id else None
                if pool is None:
                    continue
                change.event(EventLevel.INFO, "Pool",
                             f"Pool {pool.name} finished rebuilding onto slot {disk.slot}.")
                if self._pool_health(change.state, pool) is PoolHealth.GOOD:
                    change.event(EventLevel.INFO, "Pool", f"Pool {pool.name} is healthy again.")

    def _follow_health_checks(self) -> None:
        """One event each time a health check of the storage is raised, changes level or clears
        (not when only its text moves, e.g. a recovery's progress). The checks seen are a
        record, so the two controllers of a shared store write each event once: the second
        finds it written when its change starts."""
        checks = self.backend.health_checks()
        if checks is None:
            return

        def levels(seen: dict[str, list[str]]) -> dict[str, str]:
            return {name: level for name, (level, _message) in seen.items()}

        now_seen = {name: [level.value, message] for name, (level, message) in checks.items()}
        if levels(now_seen) == levels(self.store.get_meta("health_checks", {})):
            return
        with self._change() as change:
            before: dict[str, list[str]] = change.tx.get_meta("health_checks", {})
            if levels(before) == levels(now_seen):
                return
            for name in sorted(before.keys() - now_seen.keys()):
                change.event(EventLevel.INFO, "Health",
                             f"Cleared: {name} ({before[name][1]}).")
            for name, (level, message) in sorted(now_seen.items()):
                if name not in before or before[name][0] != level:
                    change.event(EventLevel(level), "Health", f"{name}: {message}")
            change.tx.set_meta("health_checks", now_seen)

    def _follow_disks(self) -> None:
        """Record disks whose state changed below the array, and disks that joined it."""
        if not self.backend.disk_updates(self._state.disks, self.clock.now()):
            return
        with self._change() as change:
            for disk in self.backend.disk_updates(change.state.disks, change.now):
                if disk.id == 0:
                    disk = replace(disk, id=change.tx.new_object_id())
                    change.event(EventLevel.INFO, "Disk",
                                 f"Disk {disk.model} ({disk.serial_number}) joined the array.")
                else:
                    level = EventLevel.INFO if disk.health is DiskHealth.GOOD \
                        else EventLevel.ERROR
                    change.event(level, "Disk", f"Disk {disk.model} is {disk.health.value}, "
                                                f"{disk.status.value}.")
                change.put_disk(disk)

    def _enforce_snapshot_space(self) -> None:
        """Delete the oldest unmapped snapshot of each volume whose snapshots hold more than
        its snapshot space, as an array does when the space runs out, with a warning."""
        for volume in list(self._state.volumes.values()):
            if not volume.snapshot_space_bytes:
                continue
            snapshots = self._snapshots_of(self._state, volume.id)
            if not snapshots:
                continue
            used = self._snapshot_space(volume, snapshots).used_bytes
            if used <= volume.snapshot_space_bytes:
                continue
            mapped = {m.snapshot_id for m in self._state.mappings.values()}
            oldest = next((s for s in snapshots if s.id not in mapped), None)
            if oldest is None:
                continue
            with self._change() as change:
                if oldest.id not in change.state.snapshots:
                    continue  # the other controller was first
                self.backend.delete_snapshot(volume, oldest)
                change.delete_snapshot(oldest.id)
                change.event(EventLevel.WARNING, "Snapshot",
                             f"Snapshot space of volume {volume.name} is full "
                             f"({-(-used // GIB)} GiB used of "
                             f"{volume.snapshot_space_bytes // GIB} GiB): deleted its oldest "
                             f"snapshot {oldest.name}.")

    def host_write(self, volume_id: int, size_gb: int) -> VolumeView:
        """Pretend hosts wrote size_gb to a volume: thin volumes grow, snapshots hold old blocks."""
        self._require(Capability.HOST_WRITE_SIMULATION)
        if not 1 <= size_gb <= rules.MAX_VOLUME_GB:
            raise InvalidArgument(f"Write 1 to {rules.MAX_VOLUME_GB} GiB, got {size_gb}.")
        with self._change() as change:
            volume = self.get_volume(volume_id)
            self._require_volume_ready(change.state, volume)
            written = size_gb * GIB
            new_written = min(volume.capacity_bytes, volume.written_bytes + written)
            if volume.provision is Provision.THIN:
                self._require_capacity(change.state, volume.pool_id,
                                       new_written - volume.written_bytes)
            change.put_volume(replace(volume, written_bytes=new_written))
            snapshots = self._snapshots_of(change.state, volume.id)
            if snapshots:
                newest = snapshots[-1]
                space = self._snapshot_space(volume, snapshots)
                room = volume.snapshot_space_bytes - space.used_bytes
                kept = min(written, room)
                change.put_snapshot(replace(newest, used_bytes=newest.used_bytes + kept))
                if kept < written:
                    change.event(EventLevel.WARNING, "Snapshot",
                                 f"Snapshot space of volume {volume.name} is full; snapshot "
                                 f"{newest.name} no longer holds every changed block.")
            change.event(EventLevel.INFO, "Volume",
                         f"Hosts wrote {size_gb} GiB to volume {volume.name}.")
            return self._view_of(change.state, change.state.volumes[volume.id])

