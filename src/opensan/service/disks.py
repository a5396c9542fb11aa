"""Disks: their views, S.M.A.R.T. as last read, and spares."""

from __future__ import annotations

from dataclasses import replace

from opensan.domain import views
from opensan.domain.errors import Conflict, ErrorCode, InvalidArgument
from opensan.domain.models import DiskHealth, DiskSmart, DiskUsage, DiskView, EventLevel
from opensan.service.parts import Parts, one_at_a_time


class Disks:
    def __init__(self, parts: Parts) -> None:
        self._parts = parts

    def all(self) -> list[DiskView]:
        return views.disk_views(self._parts.state, self._parts.observed.hardware)

    def smart(self) -> list[DiskSmart]:
        return views.disk_smart(self._parts.state, self._parts.observed.hardware)

    def view(self, disk_id: int) -> DiskView:
        """Raises NotFound."""
        return views.disk_view(self._parts.observed.hardware, self._parts.state.disk(disk_id))

    @one_at_a_time
    def set_spare(self, disk_ids: list[int], usage: DiskUsage,
                  pool_id: int | None = None) -> list[DiskView]:
        """Make disks global spares, spares dedicated to a pool, or free again.

        Raises InvalidArgument (usage, pool given or missing, disk IDs), NotFound (pool,
        disk), NotSupported (pools share the disks), Conflict (a pool member, or failed)."""
        if usage not in (DiskUsage.FREE, DiskUsage.GLOBAL_SPARE, DiskUsage.DEDICATED_SPARE):
            raise InvalidArgument("Spare type must be global, dedicated or free.")
        if (usage is DiskUsage.DEDICATED_SPARE) != (pool_id is not None):
            raise InvalidArgument("Give a pool ID for a dedicated spare, and only then.")
        if not disk_ids or len(set(disk_ids)) != len(disk_ids):
            raise InvalidArgument("Give each disk ID once, and at least one.")
        with self._parts.uow.change() as change:
            pool = change.state.pool(pool_id) if pool_id is not None else None
            disks = [change.state.disk(disk_id) for disk_id in disk_ids]
            self._parts.require_dedicated_disks("recovering from a failed disk")
            for disk in disks:
                if disk.usage is DiskUsage.RAID:
                    raise Conflict(f"Disk {disk.id} (slot {disk.slot}) is a member of a pool.",
                                   ErrorCode.DISK_IN_USE)
                if disk.health is not DiskHealth.GOOD and usage is not DiskUsage.FREE:
                    raise Conflict(f"Disk {disk.id} (slot {disk.slot}) is {disk.health.value}.",
                                   ErrorCode.DISK_IN_USE)
            for disk in disks:
                change.put(replace(disk, usage=usage, pool_id=pool.id if pool else None))
            where = f" for pool {pool.name}" if pool else ""
            slots = ", ".join(str(disk.slot) for disk in disks)
            change.event(EventLevel.INFO, "Disk",
                         f"Disks in slots {slots} set to {usage.value}{where}.")
        return [self.view(disk_id) for disk_id in disk_ids]
