"""Volumes: create in a pool, extend, delete; their views."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from opensan.domain import checks, identity, rules, views
from opensan.domain.errors import Conflict, ErrorCode, InvalidArgument
from opensan.domain.models import EventLevel, Provision, Volume, VolumeView
from opensan.domain.rules import GIB
from opensan.service.parts import Parts, one_at_a_time
from opensan.store.records import VOLUMES


class Volumes:
    def __init__(self, parts: Parts) -> None:
        self._parts = parts

    def all(self) -> list[VolumeView]:
        return views.volume_views(self._parts.state, self._parts.observed.usage)

    def view(self, volume: Volume) -> VolumeView:
        return views.volume_view(self._parts.state, self._parts.observed.usage, volume)

    @one_at_a_time
    def create(self, pool_id: int, name: str, size_gb: int,
               provision: Provision | None = None) -> VolumeView:
        """A volume of size_gb GiB; provision defaults to the pool's.

        Raises InvalidArgument (name, size, thin in a thick pool), NotFound (the pool),
        Conflict (name taken, the pool failed), InsufficientCapacity (a thick volume that does
        not fit), NotSupported (a provisioning type the backend has not), BackendError."""
        rules.check_name(name, "volume")
        rules.check_volume_size_gb(size_gb)
        parts = self._parts
        with parts.uow.change() as change:
            pool = change.state.pool(pool_id)
            if any(volume.name == name for volume in change.state.volumes.values()):
                raise Conflict(f"A volume named {name} already exists.",
                               ErrorCode.VOLUME_NAME_TAKEN)
            provision = provision or pool.provision
            if provision is Provision.THIN and pool.provision is Provision.THICK:
                raise InvalidArgument(f"Pool {pool.name} is thick; thin volumes need a thin pool.")
            checks.require_usable_pool(change.state, pool)
            capacity = size_gb * GIB
            if provision is Provision.THICK:
                checks.require_capacity(change.state, parts.observed.usage, pool.id, capacity)
            parts.require_provision(provision, "volume", "provision")
            volume_id = change.new_id(VOLUMES)
            volume = Volume(volume_id, name, pool.id, capacity, provision,
                            identity.wwn(parts.backend.serial_number(), volume_id), change.now)
            parts.backend.create_volume(volume)
            change.put(volume)
            change.event(EventLevel.INFO, "Volume",
                         f"Volume {name} created in pool {pool.name}: {size_gb} GiB, "
                         f"{provision.value}.")
        return self.view(volume)

    @one_at_a_time
    def extend(self, volume_id: int, size_gb: int) -> VolumeView:
        """Grow a volume to size_gb GiB; volumes never shrink.

        Raises InvalidArgument (size, not larger), NotFound, Conflict (its pool failed),
        InsufficientCapacity (a thick volume's growth does not fit), BackendError."""
        rules.check_volume_size_gb(size_gb)
        parts = self._parts
        with parts.uow.change() as change:
            volume = change.state.volume(volume_id)
            capacity = size_gb * GIB
            if capacity <= volume.capacity_bytes:
                raise InvalidArgument(
                    f"Volume {volume.name} is {volume.capacity_bytes // GIB} GiB; a volume only "
                    f"grows, so give more than that.")
            checks.require_volume_ready(change.state, volume)
            if volume.provision is Provision.THICK:
                checks.require_capacity(change.state, parts.observed.usage, volume.pool_id,
                                        capacity - volume.capacity_bytes)
            grown = replace(volume, capacity_bytes=capacity)
            parts.backend.extend_volume(grown)
            change.put(grown)
            change.event(EventLevel.INFO, "Volume",
                         f"Volume {volume.name} extended to {size_gb} GiB.")
        return self.view(grown)

    def delete(self, volume_id: int) -> VolumeView:
        """Delete a volume that is neither mapped nor has snapshots.

        Raises NotFound, Conflict (mapped, or it has snapshots), BackendError."""
        with self._parts.uow.change() as change:
            volume = change.state.volume(volume_id)
            view = views.volume_view(change.state, self._parts.observed.usage, volume)
            if view.mapped:
                raise Conflict(f"Volume {volume.name} is mapped; unmap it first.",
                               ErrorCode.VOLUME_IN_USE)
            if view.snapshot_count:
                raise Conflict(
                    f"Volume {volume.name} has {view.snapshot_count} snapshots; delete them first.",
                    ErrorCode.VOLUME_IN_USE)
            change.delete(volume)
            change.on_commit(partial(self._parts.backend.delete_volume, volume))
            change.event(EventLevel.INFO, "Volume", f"Volume {volume.name} deleted.")
        return view
