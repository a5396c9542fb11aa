"""What a change's rules read of the whole array, kept so that reading it costs what it asks.

An array holds up to 4,096 volumes and 262,144 snapshots; a rule that asks how much of a pool
is allocated, or what one volume's snapshots are, must not pass over all of them on every
change. Indexes holds those answers for one state: made once from the records (indexes_of), then
carried from a state to each draft made from it (ArrayState.share) and moved on by the draft's
own writes (wrote): a write moves one volume's entry, never a pass over the array. Nothing here
is stored: it follows from the records, so it cannot disagree with them after a crash.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from operator import attrgetter
from typing import TypeVar

from opensan.domain.models import ArrayState, Provision, Snapshot, Volume

_OLDEST_FIRST = attrgetter("created_at", "id")
Record = TypeVar("Record", Snapshot, Volume)


def allocated_bytes(volume: Volume) -> int:
    """What a volume takes from its pool: all of a thick volume, the written part of a thin one,
    and all of its snapshot space."""
    data = volume.capacity_bytes if volume.provision is Provision.THICK else volume.written_bytes
    return data + volume.snapshot_space_bytes


@dataclass(frozen=True)
class Indexes:
    # Each volume's snapshots as recorded, oldest first; a volume without any has no entry.
    snapshots: Mapping[int, tuple[Snapshot, ...]]
    # By pool ID: the bytes its volumes take (allocated_bytes summed), and how many they are.
    allocated: Mapping[int, int]
    volume_count: Mapping[int, int]

    @classmethod
    def of(cls, state: ArrayState) -> Indexes:
        """Made from the records: one pass over the volumes and one over the snapshots."""
        found: dict[int, list[Snapshot]] = {}
        for snapshot in state.snapshots.values():
            found.setdefault(snapshot.volume_id, []).append(snapshot)
        allocated: dict[int, int] = {}
        count: dict[int, int] = {}
        for volume in state.volumes.values():
            allocated[volume.pool_id] = allocated.get(volume.pool_id, 0) + allocated_bytes(volume)
            count[volume.pool_id] = count.get(volume.pool_id, 0) + 1
        return cls({volume_id: tuple(sorted(snapshots, key=_OLDEST_FIRST))
                    for volume_id, snapshots in found.items()}, allocated, count)

    def written(self, old: object | None, new: object | None) -> Indexes:
        """These indexes after one record was written (old: as it was, None if new; new: as
        it is, None if deleted); the entries it did not move are shared."""
        if isinstance(old, Snapshot) or isinstance(new, Snapshot):
            return self._snapshot_written(_or_none(old, Snapshot), _or_none(new, Snapshot))
        if isinstance(old, Volume) or isinstance(new, Volume):
            return self._volume_written(_or_none(old, Volume), _or_none(new, Volume))
        return self

    def _snapshot_written(self, old: Snapshot | None, new: Snapshot | None) -> Indexes:
        snapshots = dict(self.snapshots)
        if old is not None:
            kept = tuple(s for s in snapshots.get(old.volume_id, ()) if s.id != old.id)
            if kept:
                snapshots[old.volume_id] = kept
            else:
                snapshots.pop(old.volume_id, None)
        if new is not None:
            before = (s for s in snapshots.get(new.volume_id, ()) if s.id != new.id)
            snapshots[new.volume_id] = tuple(sorted((*before, new), key=_OLDEST_FIRST))
        return Indexes(snapshots, self.allocated, self.volume_count)

    def _volume_written(self, old: Volume | None, new: Volume | None) -> Indexes:
        allocated, count = dict(self.allocated), dict(self.volume_count)
        for volume, sign in ((old, -1), (new, 1)):
            if volume is not None:
                allocated[volume.pool_id] = (allocated.get(volume.pool_id, 0)
                                             + sign * allocated_bytes(volume))
                count[volume.pool_id] = count.get(volume.pool_id, 0) + sign
                if not count[volume.pool_id]:
                    del allocated[volume.pool_id], count[volume.pool_id]
        return Indexes(self.snapshots, allocated, count)


def _or_none(record: object | None, kind: type[Record]) -> Record | None:
    return record if isinstance(record, kind) else None


def indexes_of(state: ArrayState) -> Indexes:
    """The state's indexes: carried from the state its draft was made from, or made now (once
    for each state loaded from the store)."""
    if state.indexes is None:
        state.indexes = Indexes.of(state)
    return state.indexes


def wrote(state: ArrayState, old: object | None, new: object | None) -> None:
    """Keep a draft's indexes current after it wrote one record (if it has them yet: else
    they are made from its records when first asked)."""
    if state.indexes is not None:
        state.indexes = state.indexes.written(old, new)
