"""Snapshot space and snapshots: the manual's POSTs, and delete and roll back (extensions)."""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from opensan.domain import checks, rules, views
from opensan.domain.errors import Conflict, ErrorCode, InvalidArgument
from opensan.domain.models import EventLevel, Snapshot, SnapshotExpose, SnapshotSpace
from opensan.domain.rules import GIB
from opensan.service.parts import Parts
from opensan.store.records import SNAPSHOTS

# XEVO's exposure modes [inferred: QSAN's code sends only the empty one].
EXPOSE_MODES = ("", "RO", "RW")


class Snapshots:
    def __init__(self, parts: Parts) -> None:
        self._parts = parts

    def of_volume(self, volume_id: int) -> tuple[SnapshotSpace, list[Snapshot]]:
        """A volume's snapshot space and its snapshots, oldest first. Raises NotFound."""
        state, usage = self._parts.state, self._parts.observed.usage
        volume = state.volume(volume_id)
        snapshots = views.snapshots_of(state, usage, volume_id)
        return views.snapshot_space(usage, volume, snapshots), snapshots

    def set_space(self, volume_id: int, size_gb: int) -> SnapshotSpace:
        """Set a volume's snapshot space, taken from its pool; 0 removes it.

        Raises InvalidArgument (size), NotFound, Conflict (snapshots hold more, or exist when
        removing it; the pool failed), InsufficientCapacity, BackendError."""
        rules.check_snapshot_space_gb(size_gb)
        parts = self._parts
        with parts.uow.change() as change:
            volume = change.state.volume(volume_id)
            snapshots = views.snapshots_of(change.state, parts.observed.usage, volume_id)
            space = views.snapshot_space(parts.observed.usage, volume, snapshots)
            new_bytes = size_gb * GIB
            if new_bytes == 0 and snapshots:
                raise Conflict(
                    f"Volume {volume.name} has {len(snapshots)} snapshots; delete them before "
                    "removing its snapshot space.", ErrorCode.SNAPSHOT_SPACE_IN_USE)
            if new_bytes < space.used_bytes:
                raise Conflict(
                    f"Snapshots of volume {volume.name} use {-(-space.used_bytes // GIB)} GiB; "
                    "snapshot space cannot shrink below that.", ErrorCode.SNAPSHOT_SPACE_IN_USE)
            checks.require_volume_ready(change.state, volume)
            checks.require_capacity(change.state, parts.observed.usage, volume.pool_id,
                                    new_bytes - volume.snapshot_space_bytes)
            updated = replace(volume, snapshot_space_bytes=new_bytes)
            parts.backend.set_snapshot_space(updated)
            change.put(updated)
            change.event(EventLevel.INFO, "Snapshot",
                         f"Snapshot space of volume {volume.name} set to {size_gb} GiB.")
        return views.snapshot_space(parts.observed.usage, updated, snapshots)

    def take(self, volume_id: int, name: str | None = None) -> Snapshot:
        """Take a snapshot; without a name one is made from the time.

        Raises InvalidArgument (name), NotFound, Conflict (no snapshot space, 64 snapshots
        already, the name taken, the pool failed), BackendError."""
        if name is not None:
            rules.check_snapshot_name(name)
        parts = self._parts
        with parts.uow.change() as change:
            volume = change.state.volume(volume_id)
            snapshots = views.snapshots_of(change.state, parts.observed.usage, volume_id)
            if volume.snapshot_space_bytes == 0:
                raise Conflict(
                    f"Volume {volume.name} has no snapshot space; set it with "
                    f"/rest/storage/snapspace/vdid/{volume.id}/sizegb/<size> first.",
                    ErrorCode.NO_SNAPSHOT_SPACE)
            if len(snapshots) >= rules.MAX_SNAPSHOTS_PER_VOLUME:
                raise Conflict(
                    f"Volume {volume.name} already has {rules.MAX_SNAPSHOTS_PER_VOLUME} snapshots, "
                    "the most it can hold; delete one first.", ErrorCode.SNAPSHOT_LIMIT)
            checks.require_volume_ready(change.state, volume)
            taken = {snapshot.name for snapshot in snapshots}
            if name is None:
                name = rules.automatic_snapshot_name(change.now, taken)
            elif name in taken:
                raise Conflict(f"Volume {volume.name} already has a snapshot named {name}.",
                               ErrorCode.SNAPSHOT_NAME_TAKEN)
            snapshot = Snapshot(change.new_id(SNAPSHOTS), volume.id, name, change.now)
            parts.backend.create_snapshot(volume, snapshot)
            change.put(snapshot)
            change.event(EventLevel.INFO, "Snapshot",
                         f"Snapshot {name} of volume {volume.name} taken.")
        return snapshot

    def delete(self, snapshot_id: int) -> Snapshot:
        """Raises NotFound, Conflict (mapped, a clone still copying it), BackendError."""
        with self._parts.uow.change() as change:
            snapshot = change.state.snapshot(snapshot_id)
            volume = change.state.volume(snapshot.volume_id)
            if views.snapshot_mappings(change.state, {snapshot.id}):
                raise Conflict(f"Snapshot {snapshot.name} is mapped; unmap it first.",
                               ErrorCode.SNAPSHOT_IN_USE)
            checks.require_no_clone_from(change.state, f"Snapshot {snapshot.name}", volume.id,
                                         {snapshot.id})
            change.delete(snapshot)
            change.on_commit(partial(self._parts.backend.delete_snapshot, volume, snapshot))
            change.event(EventLevel.INFO, "Snapshot",
                         f"Snapshot {snapshot.name} of volume {volume.name} deleted.")
        return snapshot

    def delete_all(self, volume_id: int) -> list[Snapshot]:
        """Delete every snapshot of a volume (those in the trash too), in one change.
        Raises NotFound, Conflict (one is mapped or a clone still copies one), BackendError."""
        with self._parts.uow.change() as change:
            volume = change.state.volume(volume_id)
            snapshots = views.snapshots_of(change.state, self._parts.observed.usage, volume_id)
            if views.snapshot_mappings(change.state, {s.id for s in snapshots}):
                raise Conflict(f"A snapshot of volume {volume.name} is mapped; unmap it first.",
                               ErrorCode.SNAPSHOT_IN_USE)
            checks.require_no_clone_from(change.state, f"A snapshot of volume {volume.name}",
                                         volume.id, {s.id for s in snapshots})
            for snapshot in snapshots:
                change.delete(change.state.snapshots[snapshot.id])
                change.on_commit(partial(self._parts.backend.delete_snapshot, volume, snapshot))
                change.event(EventLevel.INFO, "Snapshot",
                             f"Snapshot {snapshot.name} of volume {volume.name} deleted.")
        return snapshots

    def modify(self, snapshot_id: int, in_trash: bool | None = None,
               expose: SnapshotExpose | None = None) -> Snapshot:
        """Move a snapshot into the trash or out of it, and record its exposure.
        Raises InvalidArgument (the exposure), NotFound, Conflict (a mapped one to the
        trash)."""
        if expose is not None and not (0 <= expose.write_bytes <= rules.MAX_VOLUME_GB * GIB
                                       and expose.mode in EXPOSE_MODES):
            raise InvalidArgument(f"An exposure's mode is one of {', '.join(EXPOSE_MODES)} and "
                                  "its write size at most 1 PiB.")
        with self._parts.uow.change() as change:
            snapshot = change.state.snapshot(snapshot_id)
            volume = change.state.volume(snapshot.volume_id)
            if in_trash and views.snapshot_mappings(change.state, {snapshot.id}):
                raise Conflict(f"Snapshot {snapshot.name} is mapped; unmap it first.",
                               ErrorCode.SNAPSHOT_IN_USE)
            updated = replace(snapshot, in_trash=snapshot.in_trash if in_trash is None
                              else in_trash, expose=expose or snapshot.expose)
            change.put(updated)
            if updated.in_trash != snapshot.in_trash:
                change.event(EventLevel.INFO, "Snapshot",
                             f"Snapshot {snapshot.name} of volume {volume.name} "
                             f"{'moved to' if updated.in_trash else 'restored from'} the trash.")
            if updated.expose != snapshot.expose:
                change.event(EventLevel.INFO, "Snapshot",
                             f"Snapshot {snapshot.name} of volume {volume.name} "
                             f"{'exposed' if updated.expose.enabled else 'no longer exposed'}.")
        return updated

    def rollback(self, snapshot_id: int) -> Snapshot:
        """Return a volume to a snapshot; the snapshots taken after it go, as on QSAN arrays.

        Raises NotFound, Conflict (the pool failed, a later snapshot is mapped, a clone still
        copies the volume; the storage is busy), BackendError."""
        parts = self._parts
        with parts.uow.change() as change:
            snapshot = change.state.snapshot(snapshot_id)
            volume = change.state.volume(snapshot.volume_id)
            if snapshot.in_trash:
                raise Conflict(f"Snapshot {snapshot.name} is in the trash; restore it first.",
                               ErrorCode.SNAPSHOT_IN_USE)
            checks.require_volume_ready(change.state, volume)
            checks.require_no_clone_from(change.state, f"Volume {volume.name}", volume.id)
            later = [
                s for s in views.snapshots_of(change.state, parts.observed.usage, volume.id)
                if (s.created_at, s.id) > (snapshot.created_at, snapshot.id)
            ]
            if views.snapshot_mappings(change.state, {s.id for s in later}):
                raise Conflict(f"A snapshot of {volume.name} taken after {snapshot.name} is mapped; "
                               "rolling back would delete it, so unmap it first.",
                               ErrorCode.SNAPSHOT_IN_USE)
            for gone in later:
                change.delete(gone)
                change.on_commit(partial(parts.backend.delete_snapshot, volume, gone))
            rolled = replace(volume, generation=volume.generation + 1)
            parts.backend.rollback_snapshot(rolled, snapshot)
            change.put(rolled)
            change.on_commit(partial(parts.backend.finish_rollback, volume, rolled))
            # The snapshot now matches the volume again: it holds no changed blocks.
            rolled_back = replace(snapshot, used_bytes=0)
            change.put(rolled_back)
            dropped = f"; later snapshots deleted: {', '.join(s.name for s in later)}" if later else ""
            change.event(EventLevel.INFO, "Snapshot",
                         f"Volume {volume.name} rolled back to snapshot {snapshot.name}{dropped}.")
        return rolled_back
