"""Snapshot space and snapshots: set, take, delete, roll back (service/snapshots.py)."""

from __future__ import annotations

import re

from opensan.domain.errors import (
    Conflict,
    ErrorCode,
    InsufficientCapacity,
    InvalidArgument,
    NotFound,
)
from opensan.domain.indexes import Indexes, indexes_of
from opensan.domain.models import SnapshotSpace
from opensan.domain.rules import GIB, MAX_SNAPSHOTS_PER_VOLUME, MAX_VOLUME_GB

from .helpers import (
    INFO,
    fail_pool,
    pool_named,
    refused,
    snapshot_named,
    volume_named,
)

UNKNOWN_ID = 1_234_567_890


def volume_id(service, name="vol-db"):
    return volume_named(service, name).volume.id


def names(service, volume="vol-db"):
    return [s.name for s in service.snapshots.of_volume(volume_id(service, volume))[1]]


# Reads

def test_of_volume_gives_its_space_and_its_snapshots_oldest_first(service):
    space, snapshots = service.snapshots.of_volume(volume_id(service))
    assert space == SnapshotSpace(volume_id(service), 512 * GIB, 40 * GIB)
    assert [(s.name, s.used_bytes) for s in snapshots] == [("daily-1", 0), ("daily-2", 40 * GIB)]


def test_of_volume_refuses_an_unknown_volume(service):
    with refused(service, NotFound, ErrorCode.VOLUME_NOT_FOUND):
        service.snapshots.of_volume(UNKNOWN_ID)


# Snapshot space

def test_set_space_takes_the_growth_from_the_pool_and_writes_one_event(service, events):
    used = pool_named(service).used_bytes
    space = service.snapshots.set_space(volume_id(service), 600)
    assert space == SnapshotSpace(volume_id(service), 600 * GIB, 40 * GIB)
    assert pool_named(service).used_bytes == used + 88 * GIB
    assert events.new() == [(INFO, "Snapshot", "Snapshot space of volume vol-db set to 600 GiB.")]


def test_set_space_may_shrink_down_to_what_the_snapshots_use(service):
    assert service.snapshots.set_space(volume_id(service), 40).space_bytes == 40 * GIB


def test_set_space_cannot_shrink_below_what_the_snapshots_use(service):
    with refused(service, Conflict, ErrorCode.SNAPSHOT_SPACE_IN_USE):
        service.snapshots.set_space(volume_id(service), 39)


def test_set_space_cannot_remove_the_space_while_snapshots_exist(service):
    service.snapshots.rollback(snapshot_named(service, "vol-db", "daily-1").id)  # uses 0 now
    with refused(service, Conflict, ErrorCode.SNAPSHOT_SPACE_IN_USE):
        service.snapshots.set_space(volume_id(service), 0)


def test_set_space_0_removes_the_space_of_a_volume_without_snapshots(service):
    backup = volume_id(service, "vol-backup")
    service.snapshots.set_space(backup, 100)
    used = pool_named(service).used_bytes
    assert service.snapshots.set_space(backup, 0) == SnapshotSpace(backup, 0, 0)
    assert pool_named(service).used_bytes == used - 100 * GIB


def test_set_space_sizes_are_0_to_1_pib(service):
    for size_gb in (-1, MAX_VOLUME_GB + 1):
        with refused(service, InvalidArgument, case=size_gb):
            service.snapshots.set_space(volume_id(service), size_gb)


def test_set_space_needs_the_growth_free_in_the_pool(service):
    free = pool_named(service).free_bytes // GIB
    with refused(service, InsufficientCapacity):
        service.snapshots.set_space(volume_id(service), 512 + free + 1)
    service.snapshots.set_space(volume_id(service), 512 + free)
    assert pool_named(service).free_bytes < GIB


def test_set_space_refuses_an_unknown_volume(service):
    with refused(service, NotFound, ErrorCode.VOLUME_NOT_FOUND):
        service.snapshots.set_space(UNKNOWN_ID, 10)


def test_set_space_in_a_failed_pool_is_refused(service):
    fail_pool(service)
    with refused(service, Conflict, ErrorCode.VOLUME_NOT_READY):
        service.snapshots.set_space(volume_id(service), 600)


# Take

def test_take_snapshot_writes_it_and_one_event(service, events):
    snapshot = service.snapshots.take(volume_id(service), "before-upgrade")
    assert (snapshot.volume_id, snapshot.name, snapshot.used_bytes) == \
        (volume_id(service), "before-upgrade", 0)
    assert service.state.snapshots[snapshot.id] == snapshot
    assert names(service) == ["daily-1", "daily-2", "before-upgrade"]
    assert volume_named(service, "vol-db").snapshot_count == 3
    assert events.new() == [(INFO, "Snapshot", "Snapshot before-upgrade of volume vol-db taken.")]


def test_take_snapshot_needs_snapshot_space_first(service):
    with refused(service, Conflict, ErrorCode.NO_SNAPSHOT_SPACE):
        service.snapshots.take(volume_id(service, "vol-backup"), "s1")


def test_take_snapshot_refuses_names_that_break_the_name_rule(service):
    for name in ["", "s" * 33, "-snap", ".snap", "my snap", "snap/1", "snäp"]:
        with refused(service, InvalidArgument, ErrorCode.INVALID_SNAPSHOT_NAME, case=name):
            service.snapshots.take(volume_id(service), name)


def test_take_snapshot_refuses_a_name_the_volume_has_but_not_one_another_volume_has(service):
    with refused(service, Conflict, ErrorCode.SNAPSHOT_NAME_TAKEN):
        service.snapshots.take(volume_id(service), "daily-1")
    backup = volume_id(service, "vol-backup")
    service.snapshots.set_space(backup, 10)
    assert service.snapshots.take(backup, "daily-1").volume_id == backup


def test_take_snapshot_without_a_name_names_it_after_the_time_uniquely(service):
    first = service.snapshots.take(volume_id(service))
    second = service.snapshots.take(volume_id(service))
    for snapshot in (first, second):
        assert re.fullmatch(r"snap-\d{8}-\d{6}(-\d+)?", snapshot.name)
    assert first.name != second.name


def test_a_volume_holds_at_most_64_snapshots(service):
    for number in range(MAX_SNAPSHOTS_PER_VOLUME - 2):
        service.snapshots.take(volume_id(service), f"s{number}")
    assert len(names(service)) == MAX_SNAPSHOTS_PER_VOLUME
    with refused(service, Conflict, ErrorCode.SNAPSHOT_LIMIT):
        service.snapshots.take(volume_id(service), "one-more")


def test_take_snapshot_refuses_an_unknown_volume(service):
    with refused(service, NotFound, ErrorCode.VOLUME_NOT_FOUND):
        service.snapshots.take(UNKNOWN_ID, "s1")


def test_take_snapshot_in_a_failed_pool_is_refused(service):
    fail_pool(service)
    with refused(service, Conflict, ErrorCode.VOLUME_NOT_READY):
        service.snapshots.take(volume_id(service), "s1")


# Delete

def test_delete_snapshot_frees_its_use_of_the_space_and_writes_one_event(service, events):
    daily_2 = snapshot_named(service, "vol-db", "daily-2")
    assert service.snapshots.delete(daily_2.id) == daily_2
    space, _snapshots = service.snapshots.of_volume(volume_id(service))
    assert (space.used_bytes, names(service)) == (0, ["daily-1"])
    assert events.new() == [(INFO, "Snapshot", "Snapshot daily-2 of volume vol-db deleted.")]


def test_a_mapped_snapshot_cannot_be_deleted(service):
    daily_1 = snapshot_named(service, "vol-db", "daily-1")
    service.luns.map_snapshot(0, 1, daily_1.id)
    with refused(service, Conflict, ErrorCode.SNAPSHOT_IN_USE):
        service.snapshots.delete(daily_1.id)


def test_delete_snapshot_refuses_an_unknown_snapshot(service):
    with refused(service, NotFound, ErrorCode.SNAPSHOT_NOT_FOUND):
        service.snapshots.delete(UNKNOWN_ID)


# Roll back

def test_rollback_deletes_the_later_snapshots_and_names_them_in_its_event(service, events):
    service.snapshots.take(volume_id(service), "daily-3")
    events.mark()
    daily_1 = snapshot_named(service, "vol-db", "daily-1")
    rolled_back = service.snapshots.rollback(daily_1.id)
    assert (rolled_back.id, rolled_back.used_bytes) == (daily_1.id, 0)
    assert names(service) == ["daily-1"]
    assert events.new() == [(INFO, "Snapshot", "Volume vol-db rolled back to snapshot daily-1; "
                                               "later snapshots deleted: daily-2, daily-3.")]


def test_rollback_to_the_newest_snapshot_empties_it_and_deletes_nothing(service, events):
    daily_2 = snapshot_named(service, "vol-db", "daily-2")
    assert service.snapshots.rollback(daily_2.id).used_bytes == 0
    space, _snapshots = service.snapshots.of_volume(volume_id(service))
    assert (space.used_bytes, names(service)) == (0, ["daily-1", "daily-2"])
    assert events.new() == [(INFO, "Snapshot", "Volume vol-db rolled back to snapshot daily-2.")]


def test_rollback_is_allowed_while_the_volume_and_the_snapshot_itself_are_mapped(service):
    daily_1 = snapshot_named(service, "vol-db", "daily-1")
    service.luns.map_snapshot(0, 1, daily_1.id)
    mappings = service.state.mappings.copy()
    service.snapshots.rollback(daily_1.id)
    assert service.state.mappings == mappings  # vol-db on targets 0 and 1, daily-1 on target 0


def test_rollback_refuses_when_a_later_snapshot_is_mapped(service):
    service.luns.map_snapshot(0, 1, snapshot_named(service, "vol-db", "daily-2").id)
    with refused(service, Conflict, ErrorCode.SNAPSHOT_IN_USE):
        service.snapshots.rollback(snapshot_named(service, "vol-db", "daily-1").id)


def test_rollback_refuses_an_unknown_snapshot(service):
    with refused(service, NotFound, ErrorCode.SNAPSHOT_NOT_FOUND):
        service.snapshots.rollback(UNKNOWN_ID)


def test_rollback_in_a_failed_pool_is_refused(service):
    fail_pool(service)
    with refused(service, Conflict, ErrorCode.VOLUME_NOT_READY):
        service.snapshots.rollback(snapshot_named(service, "vol-db", "daily-1").id)


# XEVO's trash, exposure and delete-all

def test_the_trash_keeps_a_snapshot_and_rollback_refuses_it(service):
    from opensan.domain.models import SnapshotExpose

    snapshot = snapshot_named(service, "vol-db", "daily-1")
    trashed = service.snapshots.modify(snapshot.id, in_trash=True)
    assert trashed.in_trash and service.state.snapshots[snapshot.id].in_trash
    with refused(service, Conflict, ErrorCode.SNAPSHOT_IN_USE):
        service.snapshots.rollback(snapshot.id)
    exposed = service.snapshots.modify(snapshot.id, in_trash=False,
                                       expose=SnapshotExpose(True, "RW", GIB))
    assert (exposed.in_trash, exposed.expose) == (False, SnapshotExpose(True, "RW", GIB))
    with refused(service, InvalidArgument):
        service.snapshots.modify(snapshot.id, expose=SnapshotExpose(True, "ALL", 0))


def test_delete_all_deletes_every_snapshot_in_one_change(service):
    volume = volume_named(service, "vol-db").volume
    version = service.version
    gone = service.snapshots.delete_all(volume.id)
    assert len(gone) == 2 and not [s for s in service.state.snapshots.values()
                                   if s.volume_id == volume.id]
    assert service.version == version + 1


def test_reads_follow_every_change_although_the_state_carries_its_snapshot_index(
        service, monkeypatch):
    """of_volume and the volume views read the snapshots from the state's index, made once and
    carried from each state to the next by the changes (domain/indexes.py): a take, a delete
    or a new volume after a read shows at once, and no change makes the index again."""
    vid = volume_id(service)
    before = names(service)
    index = indexes_of(service.state)
    made_from_records = Indexes.of
    monkeypatch.setattr(Indexes, "of", None)  # a pass over the records from here on: a TypeError
    taken = service.snapshots.take(vid, "after-index")
    assert names(service) == [*before, "after-index"]
    assert volume_named(service, "vol-db").snapshot_count == len(before) + 1
    assert service.state.indexes is not index  # moved on by the take
    service.snapshots.delete(taken.id)
    assert names(service) == before
    view = next(v for v in service.volumes.all() if v.volume.id == vid)
    assert view.snapshot_count == len(before)
    assert indexes_of(service.state) == made_from_records(service.state)
