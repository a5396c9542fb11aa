"""Pools: create from free disks, grow, delete (service/pools.py)."""

from __future__ import annotations

import pytest

from opensan.domain.errors import Conflict, ErrorCode, InvalidArgument, NotFound, NotSupported
from opensan.domain.models import (
    DiskHealth,
    DiskStatus,
    DiskUsage,
    PoolHealth,
    PoolStatus,
    Provision,
)
from opensan.domain.raid import RaidLevel
from opensan.domain.rules import GIB

from .helpers import (
    INFO,
    backend_with,
    disk_in_slot,
    free_disks,
    members,
    pool_named,
    refused,
)

BAD_NAMES = ["", "x" * 33, "-pool", ".pool", "_pool", "two words", "a/b", "pööl", "tab\t"]
UNKNOWN_ID = 1_234_567_890


def disk_bytes(service):
    return disk_in_slot(service, 10).capacity_bytes


# Create

def test_create_pool_makes_its_free_disks_members_and_writes_one_event(service, events):
    disks = free_disks(service, 3)
    version = service.version
    view = service.pools.create("Pool-2", RaidLevel.RAID5, disks)
    assert (view.pool.name, view.pool.raid_level, view.pool.disk_ids) == \
        ("Pool-2", RaidLevel.RAID5, tuple(disks))
    assert view.pool.provision is Provision.THICK  # the simulated backend's default
    assert (view.health, view.status, view.volume_count) == (PoolHealth.GOOD, PoolStatus.ONLINE, 0)
    assert (view.capacity_bytes, view.used_bytes) == (2 * disk_bytes(service), 0)
    for disk_id in disks:
        disk = service.state.disks[disk_id]
        assert (disk.usage, disk.pool_id) == (DiskUsage.RAID, view.pool.id)
    assert pool_named(service, "Pool-2") == view
    assert service.version == version + 1
    assert events.new() == [(INFO, "Pool", "Pool Pool-2 created: RAID 5, Thick, 3 disks.")]


def test_create_pool_takes_the_provisioning_type_given(service):
    view = service.pools.create("thin-pool", RaidLevel.RAID0, free_disks(service, 1),
                                Provision.THIN)
    assert view.pool.provision is Provision.THIN


@pytest.mark.parametrize(("level", "count", "data_disks"), [
    (RaidLevel.RAID0, 1, 1), (RaidLevel.RAID1, 2, 1), (RaidLevel.RAID5, 3, 2),
    (RaidLevel.RAID6, 4, 2), (RaidLevel.RAID10, 4, 2), (RaidLevel.RAID50, 6, 4),
    (RaidLevel.RAID60, 8, 4),
])
def test_create_pool_at_each_raid_levels_smallest_disk_count(service, level, count, data_disks):
    view = service.pools.create("new", level, free_disks(service, count))
    assert view.capacity_bytes == data_disks * disk_bytes(service)


def test_create_pool_refuses_disk_counts_its_raid_level_cannot_have(service):
    wrong = [(RaidLevel.RAID0, 0), (RaidLevel.RAID1, 1), (RaidLevel.RAID1, 3),
             (RaidLevel.RAID5, 2), (RaidLevel.RAID6, 3), (RaidLevel.RAID10, 2),
             (RaidLevel.RAID10, 5), (RaidLevel.RAID50, 4), (RaidLevel.RAID50, 7),
             (RaidLevel.RAID60, 6), (RaidLevel.RAID60, 9)]
    for level, count in wrong:
        with refused(service, InvalidArgument, ErrorCode.INVALID_ARGUMENT, case=(level, count)):
            service.pools.create("new", level, free_disks(service, count))


def test_create_pool_refuses_names_that_are_not_1_to_32_letters_digits_and_dot_dash_underscore(
        service):
    for name in BAD_NAMES:
        with refused(service, InvalidArgument, ErrorCode.INVALID_ARGUMENT, case=name):
            service.pools.create(name, RaidLevel.RAID0, free_disks(service, 1))


def test_create_pool_accepts_names_at_the_limits_of_the_rule(service):
    for name in ["a", "7", "x" * 32, "Pool_2.b-c"]:
        assert service.pools.create(name, RaidLevel.RAID0, free_disks(service, 1)).pool.name == name


def test_create_pool_refuses_a_name_taken(service):
    with refused(service, Conflict, ErrorCode.POOL_NAME_TAKEN):
        service.pools.create("Pool-1", RaidLevel.RAID0, free_disks(service, 1))


def test_create_pool_refuses_a_disk_given_twice(service):
    disk = free_disks(service, 1)[0]
    with refused(service, InvalidArgument):
        service.pools.create("new", RaidLevel.RAID1, [disk, disk])


def test_create_pool_refuses_an_unknown_disk(service):
    with refused(service, NotFound, ErrorCode.DISK_NOT_FOUND):
        service.pools.create("new", RaidLevel.RAID1, [free_disks(service, 1)[0], UNKNOWN_ID])


def test_create_pool_refuses_disks_in_use(service):
    service.disks.set_spare([disk_in_slot(service, 10).id], DiskUsage.DEDICATED_SPARE,
                            pool_named(service).pool.id)
    for slot in (1, 9, 10):  # a member of Pool-1, the global spare, a dedicated spare
        with refused(service, Conflict, ErrorCode.DISK_IN_USE, case=slot):
            service.pools.create("new", RaidLevel.RAID1,
                                 [free_disks(service, 1)[0], disk_in_slot(service, slot).id])


def test_create_pool_refuses_a_failed_disk(service):
    failed = free_disks(service, 1)[0]
    service.simulation.fail_disk(failed)
    with refused(service, Conflict, ErrorCode.DISK_IN_USE):
        service.pools.create("new", RaidLevel.RAID1, [failed, free_disks(service, 1)[0]])


def test_create_pool_cannot_mix_ssds_and_hard_disks(service):
    with refused(service, InvalidArgument):
        service.pools.create("new", RaidLevel.RAID1,
                             [free_disks(service, 1)[0], free_disks(service, 1, ssd=True)[0]])
    assert service.pools.create("ssd", RaidLevel.RAID1, free_disks(service, 2, ssd=True))


def test_create_thick_pool_is_not_supported_where_the_backend_has_only_thin(make_service):
    service = make_service(backend_with(provisions=frozenset({Provision.THIN}),
                                        default_provision=Provision.THIN), profile=False)
    with refused(service, NotSupported, ErrorCode.NOT_SUPPORTED):
        service.pools.create("thick", RaidLevel.RAID0, free_disks(service, 1), Provision.THICK)
    assert service.pools.create("thin", RaidLevel.RAID0, free_disks(service, 1)).pool.provision \
        is Provision.THIN


def test_create_pool_on_disks_of_another_pool_where_pools_share_disks(make_service):
    service = make_service(backend_with(pools_share_disks=True), profile=False)
    disks = free_disks(service, 4)
    service.pools.create("one", RaidLevel.RAID6, disks)
    two = service.pools.create("two", RaidLevel.RAID6, disks)
    assert all(service.state.disks[d].usage is DiskUsage.FREE for d in two.pool.disk_ids)


# Add disks

def test_add_disks_grows_the_pool_and_keeps_its_raid_level(service, events):
    pool = pool_named(service).pool
    disks = free_disks(service, 2)
    view = service.pools.add_disks(pool.id, disks)
    assert view.pool.disk_ids == pool.disk_ids + tuple(disks)
    assert view.pool.raid_level is RaidLevel.RAID6
    assert view.capacity_bytes == 8 * disk_bytes(service)  # 10 disks, 2 of them parity
    assert all(service.state.disks[d].pool_id == pool.id for d in disks)
    assert events.new() == [(INFO, "Pool", "2 disks added to pool Pool-1.")]


def test_add_disks_refuses_an_unknown_pool_or_disk(service):
    with refused(service, NotFound, ErrorCode.POOL_NOT_FOUND):
        service.pools.add_disks(UNKNOWN_ID, free_disks(service, 1))
    with refused(service, NotFound, ErrorCode.DISK_NOT_FOUND):
        service.pools.add_disks(pool_named(service).pool.id, [UNKNOWN_ID])


def test_add_disks_only_to_a_healthy_pool(service):
    service.simulation.fail_disk(members(service)[0].id)  # degraded, rebuilding onto slot 9
    assert pool_named(service).health is PoolHealth.DEGRADED
    with refused(service, Conflict, ErrorCode.STATE_CONFLICT):
        service.pools.add_disks(pool_named(service).pool.id, free_disks(service, 1))


def test_add_disks_refuses_disks_in_use_or_failed(service):
    pool_id = pool_named(service).pool.id
    failed = free_disks(service, 1)[0]
    service.simulation.fail_disk(failed)
    for disk_id in (members(service)[0].id, disk_in_slot(service, 9).id, failed):
        with refused(service, Conflict, ErrorCode.DISK_IN_USE, case=disk_id):
            service.pools.add_disks(pool_id, [disk_id])


def test_add_disks_needs_each_disk_once_and_at_least_one(service):
    pool_id = pool_named(service).pool.id
    disk = free_disks(service, 1)[0]
    for disk_ids in ([], [disk, disk]):
        with refused(service, InvalidArgument, case=disk_ids):
            service.pools.add_disks(pool_id, disk_ids)


def test_add_disks_of_the_other_kind_is_refused(service):
    with refused(service, InvalidArgument):
        service.pools.add_disks(pool_named(service).pool.id, free_disks(service, 1, ssd=True))


def test_add_disks_keeps_the_disk_count_rule_of_the_raid_level(service):
    mirror = service.pools.create("mirror", RaidLevel.RAID1, free_disks(service, 2)).pool
    striped = service.pools.create("r10", RaidLevel.RAID10, free_disks(service, 4)).pool
    for pool in (mirror, striped):
        with refused(service, InvalidArgument, case=pool.name):
            service.pools.add_disks(pool.id, free_disks(service, 1))
    assert len(service.pools.add_disks(striped.id, free_disks(service, 2)).pool.disk_ids) == 6


def test_add_disks_is_not_supported_where_pools_share_disks(make_service):
    service = make_service(backend_with(pools_share_disks=True), profile=False)
    pool = service.pools.create("one", RaidLevel.RAID6, free_disks(service, 4)).pool
    with refused(service, NotSupported):
        service.pools.add_disks(pool.id, free_disks(service, 1))


# Delete

def test_delete_pool_frees_its_disks_and_dedicated_spares(service, events):
    disks = free_disks(service, 2)
    pool = service.pools.create("mirror", RaidLevel.RAID1, disks).pool
    spare = free_disks(service, 1)[0]
    service.disks.set_spare([spare], DiskUsage.DEDICATED_SPARE, pool.id)
    events.mark()
    version = service.version
    view = service.pools.delete(pool.id)
    assert view.pool == pool
    assert pool.id not in service.state.pools
    for disk_id in [*disks, spare]:
        disk = service.state.disks[disk_id]
        assert (disk.usage, disk.pool_id) == (DiskUsage.FREE, None)
    assert service.version == version + 1
    assert events.new() == [(INFO, "Pool", "Pool mirror deleted.")]


def test_delete_pool_leaves_rebuilding_members_free_and_online(service):
    pool = service.pools.create("mirror", RaidLevel.RAID1, free_disks(service, 2)).pool
    service.simulation.fail_disk(pool.disk_ids[0])  # the global spare (slot 9) rebuilds it
    spare = disk_in_slot(service, 9)
    assert (spare.pool_id, spare.status) == (pool.id, DiskStatus.REBUILDING)
    service.pools.delete(pool.id)
    spare = service.state.disks[spare.id]
    assert (spare.usage, spare.pool_id, spare.status, spare.rebuild_started_at) == \
        (DiskUsage.FREE, None, DiskStatus.ONLINE, None)


def test_delete_pool_frees_a_failed_pools_failed_disks_as_failed(service):
    disk = free_disks(service, 1)[0]
    pool = service.pools.create("single", RaidLevel.RAID0, [disk]).pool
    service.simulation.fail_disk(disk)
    assert service.pools.view(service.state.pools[pool.id]).health is PoolHealth.FAILED
    service.pools.delete(pool.id)
    freed = service.state.disks[disk]
    assert (freed.usage, freed.pool_id, freed.health) == (DiskUsage.FREE, None, DiskHealth.FAILED)


def test_delete_pool_refuses_a_pool_that_holds_volumes(service):
    with refused(service, Conflict, ErrorCode.POOL_NOT_EMPTY):
        service.pools.delete(pool_named(service).pool.id)


def test_delete_pool_refuses_an_unknown_pool(service):
    with refused(service, NotFound, ErrorCode.POOL_NOT_FOUND):
        service.pools.delete(UNKNOWN_ID)


# Views

def test_pool_view_counts_thick_volumes_and_snapshot_space_as_used(service):
    view = pool_named(service)
    assert view.capacity_bytes == 6 * disk_bytes(service)  # RAID 6 over 8 disks
    assert view.used_bytes == (2048 + 512 + 4096) * GIB
    assert view.free_bytes == view.capacity_bytes - view.used_bytes
    assert view.volume_count == 2
