"""What a change's rules read of the whole array (domain/indexes.py): carried from a state to its
drafts and moved on by their writes, always what a pass over the records would make."""

from __future__ import annotations

from dataclasses import replace

from opensan.domain import indexes
from opensan.domain.indexes import Indexes, allocated_bytes, indexes_of
from opensan.domain.models import ArrayState, Provision, Snapshot, Volume

GIB = 1024**3


def _volume(volume_id: int, pool_id: int, provision: Provision = Provision.THICK,
            **kwargs: int) -> Volume:
    return Volume(volume_id, f"v{volume_id}", pool_id, 10 * GIB, provision, "wwn", 0.0, **kwargs)


def _state() -> ArrayState:
    state = ArrayState()
    for volume in (_volume(1, 7, snapshot_space_bytes=GIB),
                   _volume(2, 7, Provision.THIN, written_bytes=3 * GIB), _volume(3, 8)):
        state.volumes[volume.id] = volume
    for snapshot in (Snapshot(30, 1, "c", 3.0), Snapshot(10, 1, "a", 1.0),
                     Snapshot(21, 2, "x", 2.0), Snapshot(11, 1, "b", 1.0)):
        state.snapshots[snapshot.id] = snapshot
    return state


def _write(state: ArrayState, old: Volume | Snapshot | None,
           new: Volume | Snapshot | None) -> None:
    """What Change.put and delete do: the draft's dict, then its indexes."""
    record = new or old
    assert record is not None
    table: dict[int, object] = state.volumes if isinstance(record, Volume) else state.snapshots
    if new is None:
        del table[record.id]
    else:
        table[record.id] = new
    indexes.wrote(state, old, new)


def test_made_from_the_records_each_volumes_snapshots_oldest_first_and_each_pools_allocation():
    index = Indexes.of(_state())
    assert {vid: [s.name for s in found] for vid, found in index.snapshots.items()} == {
        1: ["a", "b", "c"], 2: ["x"]}
    assert index.allocated == {7: 10 * GIB + GIB + 3 * GIB, 8: 10 * GIB}
    assert index.volume_count == {7: 2, 8: 1}
    assert allocated_bytes(_volume(2, 7, Provision.THIN, written_bytes=GIB,
                                   snapshot_space_bytes=2 * GIB)) == 3 * GIB


def test_a_drafts_writes_move_its_indexes_as_a_pass_over_its_records_would_and_leave_the_base():
    base = _state()
    made = indexes_of(base)
    draft = base.share()
    draft.volumes, draft.snapshots = dict(base.volumes), dict(base.snapshots)
    assert draft.indexes is made  # carried, not made again
    _write(draft, base.volumes[1], replace(base.volumes[1], snapshot_space_bytes=5 * GIB))
    _write(draft, base.volumes[3], replace(base.volumes[3], pool_id=7))  # moved to another pool
    _write(draft, None, _volume(4, 9))
    _write(draft, base.volumes[2], None)
    _write(draft, None, Snapshot(5, 1, "first", 0.5))  # the oldest comes first
    _write(draft, base.snapshots[21], None)  # volume 2's last snapshot: no entry left
    _write(draft, base.snapshots[30], replace(base.snapshots[30], used_bytes=9))
    _write(draft, base.snapshots[11], replace(base.snapshots[11], volume_id=3))
    assert indexes_of(draft) == Indexes.of(draft)
    assert [s.name for s in indexes_of(draft).snapshots[1]] == ["first", "a", "c"]
    assert 2 not in indexes_of(draft).snapshots
    assert indexes_of(draft).volume_count == {7: 2, 9: 1}
    assert base.indexes is made and made == Indexes.of(base)


def test_a_draft_made_before_the_indexes_makes_its_own_from_its_records():
    base = _state()
    draft = base.share()
    draft.snapshots = dict(base.snapshots)
    _write(draft, None, Snapshot(40, 3, "new", 4.0))  # nothing to move yet
    assert draft.indexes is None
    assert [s.name for s in indexes_of(draft).snapshots[3]] == ["new"]
    assert 3 not in indexes_of(base).snapshots


def test_other_records_and_copies_leave_the_indexes_alone():
    state = _state()
    made = indexes_of(state)
    assert made.written(None, "not a volume or a snapshot") is made
    assert state.copy().indexes is None  # a copy's dicts may be changed apart: made again
