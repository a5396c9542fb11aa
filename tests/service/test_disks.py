"""Disks: their views, S.M.A.R.T. as last read, and spares (service/disks.py)."""

from __future__ import annotations

from collections import Counter

from opensan.domain.errors import Conflict, ErrorCode, InvalidArgument, NotFound, NotSupported
from opensan.domain.models import DiskHealth, DiskType, DiskUsage
from opensan.domain.raid import RaidLevel

from .helpers import (
    INFO,
    backend_with,
    disk_in_slot,
    free_disks,
    members,
    pool_named,
    refused,
)

UNKNOWN_ID = 1_234_567_890


# Reads

def test_disks_come_in_slot_order_with_their_temperatures(service):
    views = service.disks.all()
    assert [view.disk.slot for view in views] == list(range(1, 27))
    assert all(isinstance(view.temperature_c, int) for view in views)
    assert {view.disk.type for view in views if view.disk.slot > 24} == {DiskType.SAS_SSD}
    assert not any(view.disk.type.solid_state for view in views if view.disk.slot <= 24)
    assert Counter(view.disk.usage for view in views) == \
        {DiskUsage.RAID: 8, DiskUsage.GLOBAL_SPARE: 1, DiskUsage.FREE: 17}


def test_view_of_a_disk_and_of_an_unknown_disk(service):
    disk = disk_in_slot(service, 3)
    assert service.disks.view(disk.id).disk == disk
    with refused(service, NotFound, ErrorCode.DISK_NOT_FOUND):
        service.disks.view(UNKNOWN_ID)


def test_smart_has_every_disk_and_shows_a_failed_disks_reallocated_sectors(service):
    assert [smart.disk_id for smart in service.disks.smart()] == \
        [view.disk.id for view in service.disks.all()]
    disk = free_disks(service, 1)[0]
    service.simulation.fail_disk(disk)
    smart = next(s for s in service.disks.smart() if s.disk_id == disk)
    reallocated = next(a for a in smart.attributes if a.id == 5)
    assert (smart.health, reallocated.status) == (DiskHealth.FAILED, "FAILING_NOW")


# Spares

def test_set_spare_global_writes_one_event_for_all_the_disks(service, events):
    disks = free_disks(service, 2)
    views = service.disks.set_spare(disks, DiskUsage.GLOBAL_SPARE)
    assert [(v.disk.id, v.disk.usage, v.disk.pool_id) for v in views] == \
        [(d, DiskUsage.GLOBAL_SPARE, None) for d in disks]
    assert all(service.state.disks[d].usage is DiskUsage.GLOBAL_SPARE for d in disks)
    assert events.new() == [(INFO, "Disk", "Disks in slots 10, 11 set to Global Spare.")]


def test_set_spare_dedicated_to_a_pool(service, events):
    pool = pool_named(service).pool
    disk = free_disks(service, 1)[0]
    view = service.disks.set_spare([disk], DiskUsage.DEDICATED_SPARE, pool.id)[0]
    assert (view.disk.usage, view.disk.pool_id) == (DiskUsage.DEDICATED_SPARE, pool.id)
    assert events.new() == [(INFO, "Disk", "Disks in slots 10 set to Dedicated Spare for pool "
                                           "Pool-1.")]


def test_set_spare_free_turns_a_spare_back_into_a_free_disk(service, events):
    spare = disk_in_slot(service, 9).id
    view = service.disks.set_spare([spare], DiskUsage.FREE)[0]
    assert (view.disk.usage, view.disk.pool_id) == (DiskUsage.FREE, None)
    assert events.new() == [(INFO, "Disk", "Disks in slots 9 set to Free.")]


def test_set_spare_types_are_global_dedicated_or_free(service):
    pool_id = pool_named(service).pool.id
    for usage in (DiskUsage.RAID, DiskUsage.LOCAL_SPARE):
        with refused(service, InvalidArgument, case=usage):
            service.disks.set_spare(free_disks(service, 1), usage, pool_id)


def test_set_spare_takes_a_pool_for_a_dedicated_spare_and_only_then(service):
    pool_id = pool_named(service).pool.id
    for usage, pool in ((DiskUsage.DEDICATED_SPARE, None), (DiskUsage.GLOBAL_SPARE, pool_id),
                        (DiskUsage.FREE, pool_id)):
        with refused(service, InvalidArgument, case=(usage, pool)):
            service.disks.set_spare(free_disks(service, 1), usage, pool)


def test_set_spare_needs_each_disk_once_and_at_least_one(service):
    disk = free_disks(service, 1)[0]
    for disk_ids in ([], [disk, disk]):
        with refused(service, InvalidArgument, case=disk_ids):
            service.disks.set_spare(disk_ids, DiskUsage.GLOBAL_SPARE)


def test_set_spare_refuses_an_unknown_pool_or_disk(service):
    with refused(service, NotFound, ErrorCode.POOL_NOT_FOUND):
        service.disks.set_spare(free_disks(service, 1), DiskUsage.DEDICATED_SPARE, UNKNOWN_ID)
    with refused(service, NotFound, ErrorCode.DISK_NOT_FOUND):
        service.disks.set_spare([free_disks(service, 1)[0], UNKNOWN_ID], DiskUsage.GLOBAL_SPARE)


def test_a_pool_member_can_be_made_neither_spare_nor_free(service):
    member = members(service)[0].id
    for usage in (DiskUsage.GLOBAL_SPARE, DiskUsage.FREE):
        with refused(service, Conflict, ErrorCode.DISK_IN_USE, case=usage):
            service.disks.set_spare([member], usage)


def test_a_failed_disk_can_only_be_made_free(service):
    failed = free_disks(service, 1)[0]
    service.simulation.fail_disk(failed)
    pool_id = pool_named(service).pool.id
    with refused(service, Conflict, ErrorCode.DISK_IN_USE):
        service.disks.set_spare([failed], DiskUsage.GLOBAL_SPARE)
    with refused(service, Conflict, ErrorCode.DISK_IN_USE):
        service.disks.set_spare([failed], DiskUsage.DEDICATED_SPARE, pool_id)
    assert service.disks.set_spare([failed], DiskUsage.FREE)[0].disk.usage is DiskUsage.FREE


def test_set_spare_is_not_supported_where_pools_share_disks(make_service):
    service = make_service(backend_with(pools_share_disks=True), profile=False)
    service.pools.create("one", RaidLevel.RAID6, free_disks(service, 4))
    with refused(service, NotSupported):
        service.disks.set_spare(free_disks(service, 1), DiskUsage.GLOBAL_SPARE)
