"""Pools: create from disks, grow, delete; their views."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from opensan.domain import raid, rules, views
from opensan.domain.errors import Conflict, ErrorCode, InvalidArgument
from opensan.domain.models import (
    ArrayState,
    Disk,
    DiskHealth,
    DiskStatus,
    DiskUsage,
    EventLevel,
    Pool,
    PoolHealth,
    PoolView,
    Provision,
)
from opensan.domain.raid import RaidLevel
from opensan.service.parts import Parts, one_at_a_time
from opensan.store.records import POOLS


class Pools:
    def __init__(self, parts: Parts) -> None:
        self._parts = parts

    def all(self) -> list[PoolView]:
        return views.pool_views(self._parts.state, self._parts.observed.usage)

    def view(self, pool: Pool) -> PoolView:
        return views.pool_view(self._parts.state, self._parts.observed.usage, pool)

    def _disks_for(self, state: ArrayState, disk_ids: list[int]) -> list[Disk]:
        """The disks of a new pool: healthy, one kind, and free unless the backend's pools
        share their disks (every Ceph pool spans the cluster's OSDs)."""
        if not disk_ids:
            raise InvalidArgument("Give at least one disk ID.")
        if len(set(disk_ids)) != len(disk_ids):
            raise InvalidArgument("A disk ID is given twice.")
        disks = [state.disk(disk_id) for disk_id in disk_ids]
        for disk in disks:
            if disk.health is not DiskHealth.GOOD:
                raise Conflict(f"Disk {disk.id} (slot {disk.slot}) is {disk.health.value}.",
                               ErrorCode.DISK_IN_USE)
            if disk.usage is not DiskUsage.FREE and not self._parts.traits.pools_share_disks:
                raise Conflict(f"Disk {disk.id} (slot {disk.slot}) is in use as {disk.usage.value}.",
                               ErrorCode.DISK_IN_USE)
        if len({disk.type.solid_state for disk in disks}) > 1:
            raise InvalidArgument("A pool cannot mix SSDs and hard disks.")
        return disks

    @one_at_a_time
    def create(self, name: str, raid_level: RaidLevel, disk_ids: list[int],
               provision: Provision | None = None, force: bool = False) -> PoolView:
        """A new pool; provision defaults to the backend's (thick, or thin on Ceph).

        Raises InvalidArgument (name, disk count, mixed disks), NotFound (a disk), Conflict
        (name taken, a disk failed or in use, or it holds data without force), NotSupported
        (a provisioning type or RAID level the backend has not), BackendError."""
        traits = self._parts.traits
        rules.check_name(name, "pool")
        raid.check_disk_count(raid_level, len(disk_ids))
        provision = provision or traits.default_provision
        backend = self._parts.backend
        with self._parts.uow.change() as change:
            if any(pool.name == name for pool in change.state.pools.values()):
                raise Conflict(f"A pool named {name} already exists.", ErrorCode.POOL_NAME_TAKEN)
            disks = self._disks_for(change.state, disk_ids)
            self._parts.require_provision(provision, "pool", "type")
            pool = Pool(change.new_id(POOLS), name, raid_level, provision, tuple(disk_ids),
                        change.now, backend.pool_protection(raid_level, len(disks)))
            backend.create_pool(pool, disks, force)
            change.put(pool)
            if not traits.pools_share_disks:
                for disk in disks:
                    change.put(replace(disk, usage=DiskUsage.RAID, pool_id=pool.id))
            change.event(EventLevel.INFO, "Pool",
                         f"Pool {name} created: {pool.protection_label}, {provision.value}, "
                         f"{len(disks)} disks.")
        return self.view(pool)

    @one_at_a_time
    def add_disks(self, pool_id: int, disk_ids: list[int]) -> PoolView:
        """Grow a healthy pool onto free disks of its kind, keeping its RAID level.

        Raises NotFound (the pool, a disk), NotSupported (pools share the disks), Conflict
        (not healthy, a disk in use or failed), InvalidArgument (mixed kinds, disk count),
        BackendError."""
        with self._parts.uow.change() as change:
            pool = change.state.pool(pool_id)
            for disk_id in disk_ids:
                change.state.disk(disk_id)  # an unknown ID is a 404 on every backend
            self._parts.require_dedicated_disks("growing a pool")
            if views.pool_health(change.state, pool) is not PoolHealth.GOOD:
                raise Conflict(f"Pool {pool.name} is not healthy; add disks once it is.")
            disks = self._disks_for(change.state, disk_ids)
            members = [change.state.disks[d] for d in pool.disk_ids]
            if {d.type.solid_state for d in members + disks} != {members[0].type.solid_state}:
                raise InvalidArgument("A pool cannot mix SSDs and hard disks.")
            raid.check_disk_count(pool.raid_level, len(pool.disk_ids) + len(disks))
            grown = replace(pool, disk_ids=pool.disk_ids + tuple(disk_ids))
            self._parts.backend.add_pool_disks(grown, disks)
            change.put(grown)
            for disk in disks:
                change.put(replace(disk, usage=DiskUsage.RAID, pool_id=pool.id))
            change.event(EventLevel.INFO, "Pool", f"{len(disks)} disks added to pool {pool.name}.")
        return self.view(grown)

    def delete(self, pool_id: int) -> PoolView:
        """Delete an empty pool; its disks become free.

        Raises NotFound, Conflict (it holds volumes), BackendError."""
        with self._parts.uow.change() as change:
            pool = change.state.pool(pool_id)
            view = views.pool_view(change.state, self._parts.observed.usage, pool)
            if view.volume_count:
                raise Conflict(f"Pool {pool.name} still holds {view.volume_count} volumes.",
                               ErrorCode.POOL_NOT_EMPTY)
            change.on_commit(partial(self._parts.backend.delete_pool, pool,
                                     [change.state.disks[d] for d in pool.disk_ids]))
            for disk in list(change.state.disks.values()):
                if disk.pool_id == pool.id:
                    change.put(replace(disk, usage=DiskUsage.FREE, pool_id=None,
                                       status=DiskStatus.ONLINE, rebuild_started_at=None))
            change.delete(pool)
            change.event(EventLevel.INFO, "Pool", f"Pool {pool.name} deleted.")
        return view
