"""The virtual array's test knobs: failing and replacing disks, forcing sensors, slow changes,
moving the clock, pretending hosts wrote, the hosts' workload. Each is an ordinary change (a
record, an event), offered only where the backend has the capability."""

from __future__ import annotations

from dataclasses import replace

from opensan.domain import checks, rules, views
from opensan.domain.errors import Conflict, ErrorCode, InvalidArgument, NotFound
from opensan.domain.identity import MAX_CLOCK_OFFSET_SECONDS
from opensan.domain.models import (
    Disk,
    DiskHealth,
    DiskStatus,
    DiskUsage,
    DiskView,
    EventLevel,
    Pool,
    PoolHealth,
    Provision,
    SensorStatus,
    VolumeView,
)
from opensan.domain.rules import GIB
from opensan.domain.traits import Capability
from opensan.domain.workload import WORKLOADS_KEY, VolumeWorkload, workload, workload_of
from opensan.service.parts import Parts, one_at_a_time
from opensan.service.supervision import Supervision
from opensan.service.unit_of_work import Change
from opensan.store.records import DISKS

MAX_LATENCY_MS = 600_000
MAX_CLOCK_STEP_SECONDS = 10 * 365 * 86400


class Simulation:
    def __init__(self, parts: Parts, supervision: Supervision) -> None:
        self._parts = parts
        self._supervision = supervision

    def _disk_view(self, disk_id: int) -> DiskView:
        return views.disk_view(self._parts.observed.hardware, self._parts.state.disks[disk_id])

    @one_at_a_time
    def fail_disk(self, disk_id: int) -> DiskView:
        """A disk fails; a spare (dedicated first, then global) starts rebuilding in its place.

        Raises NotSupported, NotFound, Conflict (it has failed already)."""
        self._parts.require(Capability.FAULT_INJECTION)
        with self._parts.uow.change() as change:
            disk = change.state.disk(disk_id)
            if disk.health is DiskHealth.FAILED:
                raise Conflict(f"Disk {disk.id} (slot {disk.slot}) has already failed.",
                               ErrorCode.DISK_IN_USE)
            failed = replace(disk, health=DiskHealth.FAILED, rebuild_started_at=None,
                             status=DiskStatus.ONLINE)
            change.put(failed)
            change.event(EventLevel.ERROR, "Disk",
                         f"Disk in slot {disk.slot} ({disk.serial_number}) failed.")
            if disk.usage is DiskUsage.RAID and disk.pool_id is not None:
                self._after_member_failure(change, change.state.pools[disk.pool_id], failed)
            elif disk.usage is not DiskUsage.FREE:
                change.put(replace(failed, usage=DiskUsage.FREE, pool_id=None))
        return self._disk_view(disk_id)

    def _after_member_failure(self, change: Change, pool: Pool, failed: Disk) -> None:
        if views.pool_health(change.state, pool) is PoolHealth.FAILED:
            change.event(EventLevel.ERROR, "Pool", f"Pool {pool.name} failed: data is offline.")
            return
        change.event(EventLevel.WARNING, "Pool", f"Pool {pool.name} is degraded.")
        usable = [
            d for d in change.state.disks.values()
            if d.health is DiskHealth.GOOD and d.capacity_bytes >= failed.capacity_bytes
            and d.type.solid_state == failed.type.solid_state
        ]
        dedicated = [d for d in usable
                     if d.usage is DiskUsage.DEDICATED_SPARE and d.pool_id == pool.id]
        spares = dedicated or [d for d in usable if d.usage is DiskUsage.GLOBAL_SPARE]
        if not spares:
            change.event(EventLevel.WARNING, "Pool",
                         f"No spare disk for pool {pool.name}; replace the disk in slot "
                         f"{failed.slot} to rebuild.")
            return
        spare = min(spares, key=lambda d: d.slot)
        members = tuple(spare.id if d == failed.id else d for d in pool.disk_ids)
        change.put(replace(pool, disk_ids=members))
        change.put(replace(failed, usage=DiskUsage.FREE, pool_id=None))
        change.put(replace(spare, usage=DiskUsage.RAID, pool_id=pool.id,
                           status=DiskStatus.REBUILDING, rebuild_started_at=change.now))
        change.event(EventLevel.INFO, "Pool",
                     f"Pool {pool.name} rebuilding onto the disk in slot {spare.slot}.")

    @one_at_a_time
    def replace_disk(self, disk_id: int) -> DiskView:
        """Swap a failed disk for a new one in the same slot; a degraded pool rebuilds onto it.

        Raises NotSupported, NotFound, Conflict (it has not failed)."""
        parts = self._parts
        parts.require(Capability.FAULT_INJECTION)
        with parts.uow.change() as change:
            disk = change.state.disk(disk_id)
            if disk.health is DiskHealth.GOOD:
                raise Conflict(f"Disk {disk.id} (slot {disk.slot}) has not failed.",
                               ErrorCode.DISK_IN_USE)
            new = parts.backend.replacement_disk(disk, change.now, lambda: change.new_id(DISKS))
            change.delete(disk)
            change.put(new)
            change.event(EventLevel.INFO, "Disk",
                         f"Disk in slot {disk.slot} replaced: {new.serial_number}.")
            if disk.pool_id is not None and disk.usage is DiskUsage.RAID:
                pool = change.state.pools[disk.pool_id]
                # The new disk takes the failed one's position so the layout keeps its order.
                members = tuple(new.id if d == disk.id else d for d in pool.disk_ids)
                change.put(replace(pool, disk_ids=members))
                change.put(replace(new, usage=DiskUsage.RAID, pool_id=pool.id,
                                   status=DiskStatus.REBUILDING, rebuild_started_at=change.now))
                change.event(EventLevel.INFO, "Pool",
                             f"Pool {pool.name} rebuilding onto the disk in slot {new.slot}.")
        return self._disk_view(new.id)

    def set_sensor_status(self, sensor_id: str, status: SensorStatus) -> None:
        """Force a sensor's status (good lifts it). Raises NotSupported, NotFound."""
        parts = self._parts
        parts.require(Capability.FAULT_INJECTION)
        known = {s.id: s for e in parts.observed.hardware.enclosures for s in e.sensors}
        if sensor_id not in known:
            raise NotFound(f"No sensor {sensor_id[:60]!r}; /rest/dashboard/hwmonitor lists them.")
        level = {SensorStatus.GOOD: EventLevel.INFO, SensorStatus.WARNING: EventLevel.WARNING,
                 SensorStatus.FAILED: EventLevel.ERROR}[status]
        sensor = known[sensor_id]
        with parts.uow.change() as change:
            overrides = dict(change.state.meta.get("sensor_overrides", {}))
            if status is SensorStatus.GOOD:
                overrides.pop(sensor_id, None)
            else:
                overrides[sensor_id] = status.value
            change.set_meta("sensor_overrides", overrides)
            change.event(level, "Hardware", f"{sensor.location} {sensor.name} is {status.value}.")

    def set_change_latency(self, milliseconds: int) -> None:
        """Slow every change down, so clients can test their time-outs.
        Raises NotSupported, InvalidArgument (out of range)."""
        self._set_latency("change_latency", "change", milliseconds)

    def set_read_latency(self, milliseconds: int) -> None:
        """Make every read of the REST API answer this much later, so that monitoring clients
        (an exporter's deadline, a scraper's time-out) can be tested against a slow array.
        Raises NotSupported, InvalidArgument (out of range)."""
        self._set_latency("read_latency", "read", milliseconds)

    def _set_latency(self, key: str, what: str, milliseconds: int) -> None:
        self._parts.require(Capability.FAULT_INJECTION)
        if not 0 <= milliseconds <= MAX_LATENCY_MS:
            raise InvalidArgument(f"Latency must be 0 to {MAX_LATENCY_MS} ms, got {milliseconds}.")
        with self._parts.uow.change() as change:
            change.set_meta(key, milliseconds / 1000)
            change.event(EventLevel.INFO, "System",
                         f"Simulated {what} latency set to {milliseconds} ms.")

    def read_delay(self) -> float:
        """Seconds each read waits before it is answered (0 unless a client asked)."""
        return float(self._parts.uow.state.meta.get("read_latency", 0.0))

    def advance_clock(self, seconds: int) -> float:
        """Move the array clock forward; what is due then (rebuilds, expiries) happens at once.
        Raises NotSupported, InvalidArgument (out of range)."""
        parts = self._parts
        parts.require(Capability.SIMULATED_CLOCK)
        if not 1 <= seconds <= MAX_CLOCK_STEP_SECONDS:
            raise InvalidArgument(f"Advance the clock by 1 second to 10 years, got {seconds}.")
        with parts.uow.change() as change:
            offset = parts.uow.clock.offset_seconds + seconds
            if offset > MAX_CLOCK_OFFSET_SECONDS:
                raise InvalidArgument(
                    "The simulated clock runs at most 100 years ahead of real time; it is "
                    f"{int(parts.uow.clock.offset_seconds)} seconds ahead now.")
            change.set_meta("clock_offset", offset)
        self._supervision.tick()
        return parts.uow.clock.now()

    @one_at_a_time
    def host_write(self, volume_id: int, size_gb: int) -> VolumeView:
        """Pretend hosts wrote size_gb to a volume: thin volumes grow, snapshots hold old blocks.

        Raises NotSupported, InvalidArgument (size), NotFound, Conflict (its pool failed),
        InsufficientCapacity (a thin volume's pool is full)."""
        parts = self._parts
        parts.require(Capability.HOST_WRITE_SIMULATION)
        if not 1 <= size_gb <= rules.MAX_VOLUME_GB:
            raise InvalidArgument(f"Write 1 to {rules.MAX_VOLUME_GB} GiB, got {size_gb}.")
        usage = parts.observed.usage
        with parts.uow.change() as change:
            volume = change.state.volume(volume_id)
            checks.require_volume_ready(change.state, volume)
            written = size_gb * GIB
            new_written = min(volume.capacity_bytes, volume.written_bytes + written)
            if volume.provision is Provision.THIN:
                checks.require_capacity(change.state, usage, volume.pool_id,
                                        new_written - volume.written_bytes)
            change.put(replace(volume, written_bytes=new_written))
            snapshots = views.snapshots_of(change.state, usage, volume.id)
            if snapshots:
                newest = snapshots[-1]
                space = views.snapshot_space(usage, volume, snapshots)
                kept = min(written, volume.snapshot_space_bytes - space.used_bytes)
                change.put(replace(newest, used_bytes=newest.used_bytes + kept))
                if kept < written:
                    change.event(EventLevel.WARNING, "Snapshot",
                                 f"Snapshot space of volume {volume.name} is full; snapshot "
                                 f"{newest.name} no longer holds every changed block.")
            change.event(EventLevel.INFO, "Volume",
                         f"Hosts wrote {size_gb} GiB to volume {volume.name}.")
        return views.volume_view(parts.state, parts.observed.usage, parts.state.volumes[volume_id])

    def workloads(self) -> list[VolumeWorkload]:
        """Every volume's host workload, oldest volume first. Raises NotSupported."""
        parts = self._parts
        parts.require(Capability.HOST_WRITE_SIMULATION)
        state = parts.state
        chosen = state.meta.get(WORKLOADS_KEY, {})
        mapped = {m.volume_id for m in state.mappings.values() if m.snapshot_id is None}
        up = {p.id for p in state.pools.values()
              if views.pool_health(state, p) is not PoolHealth.FAILED}
        found = []
        for volume in sorted(state.volumes.values(), key=lambda v: (v.created_at, v.id)):
            work = workload_of(state, volume.id)
            found.append(VolumeWorkload(volume.id, volume.name, work, str(volume.id) in chosen,
                                        volume.id in mapped and volume.pool_id in up
                                        and work.iops > 0))
        return found

    def set_workload(self, volume_id: int, iops: int | None = None,
                     read_percent: int | None = None, block_kb: int | None = None) -> VolumeWorkload:
        """Set what the hosts of a volume ask of it; a figure left out stays as it is.
        Raises NotSupported, InvalidArgument (a figure out of range), NotFound."""
        parts = self._parts
        parts.require(Capability.HOST_WRITE_SIMULATION)
        with parts.uow.change() as change:
            volume = change.state.volume(volume_id)
            current = workload_of(change.state, volume.id)
            new = workload(current.iops if iops is None else iops,
                           current.read_percent if read_percent is None else read_percent,
                           current.block_kb if block_kb is None else block_kb)
            # Deleted volumes' settings go with this change (their IDs never come back).
            chosen = {key: value for key, value in change.state.meta.get(WORKLOADS_KEY, {}).items()
                      if int(key) in change.state.volumes}
            chosen[str(volume.id)] = new.to_setting()
            change.set_meta(WORKLOADS_KEY, chosen)
            change.event(EventLevel.INFO, "Volume",
                         f"Host workload of volume {volume.name} set to {new.iops} IOPS, "
                         f"{new.read_percent}% reads, {new.block_kb} KiB blocks.")
        return next(w for w in self.workloads() if w.volume_id == volume_id)
