"""Volumes: create in a pool, extend, delete (service/volumes.py)."""

from __future__ import annotations

import re
from dataclasses import replace

from opensan.backends.simulated.backend import TRAITS, SimulatedBackend
from opensan.domain.errors import (
    Conflict,
    ErrorCode,
    InsufficientCapacity,
    InvalidArgument,
    NotFound,
    NotSupported,
)
from opensan.domain.models import CloneSource, Provision, VolumeHealth, VolumeStatus
from opensan.domain.raid import RaidLevel
from opensan.domain.rules import GIB, MAX_VOLUME_GB
from opensan.service.volumes import VolumeChanges

from .helpers import (
    INFO,
    SEED,
    backend_with,
    fail_pool,
    free_disks,
    pool_named,
    refused,
    snapshot_named,
    volume_named,
)

BAD_NAMES = ["", "v" * 33, "-vol", ".vol", "_vol", "my vol", "vol/1", "völ", "vol;rm"]
UNKNOWN_ID = 1_234_567_890


def free_gib(service, pool="Pool-1"):
    return pool_named(service, pool).free_bytes // GIB


def thin_pool(service, name="thin", disks=1):
    return service.pools.create(name, RaidLevel.RAID0, free_disks(service, disks),
                                Provision.THIN).pool


# Create

def test_create_volume_takes_its_pools_provisioning_and_writes_one_event(service, events):
    pool = pool_named(service)
    version = service.version
    view = service.volumes.create(pool.pool.id, "vol-new", 10)
    volume = view.volume
    assert (volume.name, volume.pool_id, volume.capacity_bytes, volume.provision) == \
        ("vol-new", pool.pool.id, 10 * GIB, Provision.THICK)
    assert re.fullmatch(r"6001378[0-9a-f]{25}", volume.wwn)
    assert (view.health, view.status, view.used_bytes, view.mapped, view.snapshot_count) == \
        (VolumeHealth.OPTIMAL, VolumeStatus.ONLINE, 10 * GIB, False, 0)
    assert volume_named(service, "vol-new") == view
    assert pool_named(service).used_bytes == pool.used_bytes + 10 * GIB
    assert service.version == version + 1
    assert events.new() == [(INFO, "Volume", "Volume vol-new created in pool Pool-1: 10 GiB, Thick.")]


def test_create_volume_refuses_names_that_break_the_name_rule(service):
    pool_id = pool_named(service).pool.id
    for name in BAD_NAMES:
        with refused(service, InvalidArgument, ErrorCode.INVALID_ARGUMENT, case=name):
            service.volumes.create(pool_id, name, 1)
    assert service.volumes.create(pool_id, "v" * 32, 1).volume.name == "v" * 32


def test_create_volume_sizes_are_1_gib_to_1_pib(service):
    pool_id = thin_pool(service).id
    for size_gb in (0, -1, MAX_VOLUME_GB + 1):
        with refused(service, InvalidArgument, case=size_gb):
            service.volumes.create(pool_id, "v", size_gb)
    assert service.volumes.create(pool_id, "smallest", 1).volume.capacity_bytes == GIB
    assert service.volumes.create(pool_id, "largest", MAX_VOLUME_GB).volume.capacity_bytes == \
        MAX_VOLUME_GB * GIB


def test_create_volume_refuses_a_name_taken_in_any_pool(service):
    pool_id = thin_pool(service).id
    with refused(service, Conflict, ErrorCode.VOLUME_NAME_TAKEN):
        service.volumes.create(pool_id, "vol-db", 1)


def test_create_volume_refuses_an_unknown_pool(service):
    with refused(service, NotFound, ErrorCode.POOL_NOT_FOUND):
        service.volumes.create(UNKNOWN_ID, "v", 1)


def test_create_thin_volume_in_a_thick_pool_is_refused(service):
    with refused(service, InvalidArgument):
        service.volumes.create(pool_named(service).pool.id, "v", 1, Provision.THIN)


def test_a_thin_pool_holds_thin_volumes_by_default_and_thick_ones_too(service):
    pool_id = thin_pool(service).id
    assert service.volumes.create(pool_id, "thin", 10).volume.provision is Provision.THIN
    thick = service.volumes.create(pool_id, "thick", 10, Provision.THICK)
    assert thick.volume.provision is Provision.THICK
    assert pool_named(service, "thin").used_bytes == 10 * GIB  # the thick one, all of it


def test_a_thin_volume_may_be_larger_than_its_pool(service):
    pool = thin_pool(service)
    size_gb = 2 * pool_named(service, "thin").capacity_bytes // GIB
    view = service.volumes.create(pool.id, "big", size_gb)
    assert (view.volume.capacity_bytes, view.used_bytes) == (size_gb * GIB, 0)
    assert pool_named(service, "thin").used_bytes == 0


def test_create_thick_volume_must_fit_in_the_pools_free_capacity(service):
    pool_id = pool_named(service).pool.id
    free = free_gib(service)
    with refused(service, InsufficientCapacity, ErrorCode.INSUFFICIENT_CAPACITY):
        service.volumes.create(pool_id, "too-big", free + 1)
    service.volumes.create(pool_id, "fits", free)
    assert free_gib(service) == 0


def test_create_volume_in_a_failed_pool_is_refused(service):
    fail_pool(service)
    with refused(service, Conflict, ErrorCode.STATE_CONFLICT):
        service.volumes.create(pool_named(service).pool.id, "v", 1)


def test_create_thick_volume_is_not_supported_where_the_backend_has_only_thin(make_service):
    service = make_service(backend_with(provisions=frozenset({Provision.THIN}),
                                        default_provision=Provision.THIN), profile=False)
    pool_id = service.pools.create("thin", RaidLevel.RAID0, free_disks(service, 1)).pool.id
    with refused(service, NotSupported):
        service.volumes.create(pool_id, "thick", 1, Provision.THICK)
    assert service.volumes.create(pool_id, "thin", 1).volume.provision is Provision.THIN


# Extend

def test_extend_volume_grows_it_and_its_pools_use(service, events):
    volume = volume_named(service, "vol-backup").volume
    used = pool_named(service).used_bytes
    view = service.volumes.extend(volume.id, 5000)
    assert view.volume.capacity_bytes == 5000 * GIB
    assert pool_named(service).used_bytes == used + (5000 - 4096) * GIB
    assert events.new() == [(INFO, "Volume", "Volume vol-backup extended to 5000 GiB.")]


def test_a_volume_only_grows(service):
    volume_id = volume_named(service, "vol-backup").volume.id
    for size_gb in (4096, 4095, 1):
        with refused(service, InvalidArgument, case=size_gb):
            service.volumes.extend(volume_id, size_gb)


def test_extend_volume_sizes_are_1_gib_to_1_pib(service):
    volume_id = volume_named(service, "vol-backup").volume.id
    for size_gb in (0, MAX_VOLUME_GB + 1):
        with refused(service, InvalidArgument, case=size_gb):
            service.volumes.extend(volume_id, size_gb)


def test_extend_volume_refuses_an_unknown_volume(service):
    with refused(service, NotFound, ErrorCode.VOLUME_NOT_FOUND):
        service.volumes.extend(UNKNOWN_ID, 10)


def test_extend_thick_volume_needs_the_growth_free_in_its_pool(service):
    volume_id = volume_named(service, "vol-backup").volume.id
    free = free_gib(service)
    with refused(service, InsufficientCapacity):
        service.volumes.extend(volume_id, 4096 + free + 1)
    service.volumes.extend(volume_id, 4096 + free)
    assert free_gib(service) == 0


def test_extend_thin_volume_is_not_limited_by_its_pool(service):
    pool = thin_pool(service)
    volume_id = service.volumes.create(pool.id, "thin", 10).volume.id
    size_gb = 3 * (pool_named(service, "thin").capacity_bytes // GIB)
    assert service.volumes.extend(volume_id, size_gb).volume.capacity_bytes == size_gb * GIB


def test_extend_volume_in_a_failed_pool_is_refused(service):
    fail_pool(service)
    with refused(service, Conflict, ErrorCode.VOLUME_NOT_READY):
        service.volumes.extend(volume_named(service, "vol-backup").volume.id, 5000)


# Delete

def test_delete_volume_frees_its_capacity_and_writes_one_event(service, events):
    view = volume_named(service, "vol-backup")
    used = pool_named(service).used_bytes
    assert service.volumes.delete(view.volume.id) == view
    assert view.volume.id not in service.state.volumes
    assert pool_named(service).used_bytes == used - 4096 * GIB
    assert events.new() == [(INFO, "Volume", "Volume vol-backup deleted.")]


def test_delete_volume_frees_its_snapshot_space_too(service):
    volume_id = volume_named(service, "vol-backup").volume.id
    service.snapshots.set_space(volume_id, 100)
    used = pool_named(service).used_bytes
    service.volumes.delete(volume_id)
    assert pool_named(service).used_bytes == used - (4096 + 100) * GIB


def test_a_mapped_volume_cannot_be_deleted(service):
    with refused(service, Conflict, ErrorCode.VOLUME_IN_USE):
        service.volumes.delete(volume_named(service, "vol-db").volume.id)


def test_a_volume_with_snapshots_cannot_be_deleted(service):
    volume_id = volume_named(service, "vol-db").volume.id
    service.luns.unmap(0, 0)
    service.luns.unmap(1, 0)
    with refused(service, Conflict, ErrorCode.VOLUME_HAS_SNAPSHOTS):
        service.volumes.delete(volume_id)


def test_delete_volume_refuses_an_unknown_volume(service):
    with refused(service, NotFound, ErrorCode.VOLUME_NOT_FOUND):
        service.volumes.delete(UNKNOWN_ID)


def test_a_failed_pool_can_still_be_emptied_and_deleted(service):
    """Nothing else could ever remove it: a pool that holds volumes cannot be deleted."""
    fail_pool(service)
    db = volume_named(service, "vol-db").volume
    service.luns.unmap(0, 0)
    service.luns.unmap(1, 0)
    _space, snapshots = service.snapshots.of_volume(db.id)
    for snapshot in snapshots:
        service.snapshots.delete(snapshot.id)
    for view in service.volumes.all():
        service.volumes.delete(view.volume.id)
    service.pools.delete(pool_named(service).pool.id)
    assert service.state.pools == {}


# Sizes in MiB, settings, and the merge of XEVO's PATCH

def test_create_sized_keeps_mib_sizes_and_settings(service, events):
    from opensan.domain.models import CacheMode, Priority

    pool = pool_named(service).pool
    view = service.volumes.create_sized(
        pool.id, "vol-mib", 1536 * 1024**2, block_size=8192,
        settings=VolumeChanges(cache_mode=CacheMode.WRITE_THROUGH, io_priority=Priority.HIGH,
                               metadata_content=b"\x00\xff", stamp_now=True))
    volume = view.volume
    assert (volume.capacity_bytes, volume.cache_mode, volume.settings.block_size,
            volume.settings.io_priority, volume.settings.metadata.content) == (
        1536 * 1024**2, CacheMode.WRITE_THROUGH, 8192, Priority.HIGH, "AP8=")
    assert volume.settings.metadata.timestamp is not None
    assert events.new() == [(INFO, "Volume", "Volume vol-mib created in pool Pool-1: 1536 MiB, Thick.")]


def test_create_sized_refuses_part_of_a_mib_and_odd_block_sizes(service):
    pool = pool_named(service).pool
    _refuse(service, lambda: service.volumes.create_sized(pool.id, "odd", 1024**2 + 1),
            InvalidArgument)
    refused(service, lambda: service.volumes.create_sized(pool.id, "odd", 1024**2,
                                                          block_size=1000), InvalidArgument)


def test_modify_merges_renames_and_grows_in_one_change(service, events):
    from opensan.domain.models import Priority

    volume = volume_named(service, "vol-backup").volume
    version = service.version
    view = service.volumes.modify(volume.id, VolumeChanges(
        name="vol-renamed", capacity_bytes=volume.capacity_bytes + GIB, max_iops=10,
        background_io_priority=Priority.LOW))
    changed = view.volume
    assert (changed.name, changed.capacity_bytes, changed.settings.qos.max_iops,
            changed.settings.background_io_priority, changed.settings.io_priority) == (
        "vol-renamed", volume.capacity_bytes + GIB, 10, Priority.LOW, Priority.MEDIUM)
    assert service.version == version + 1
    assert events.new() == [(INFO, "Volume", "Volume vol-backup (now vol-renamed) modified: "
                             "name, capacity_bytes, background_io_priority, max_iops.")]
    again = service.volumes.modify(volume.id, VolumeChanges(max_throughput_kbps=5))
    assert again.volume.settings.qos == replace_qos(changed, max_throughput_kbps=5)


def replace_qos(volume, **changes):
    from dataclasses import replace
    return replace(volume.settings.qos, **changes)


def test_modify_refuses_shrinking_a_taken_name_and_bad_values(service):

    volume = volume_named(service, "vol-backup").volume
    _refuse(service, lambda: service.volumes.modify(
        volume.id, VolumeChanges(capacity_bytes=volume.capacity_bytes - GIB)), InvalidArgument)
    _refuse(service, lambda: service.volumes.modify(volume.id, VolumeChanges(name="vol-db")),
            Conflict, ErrorCode.VOLUME_NAME_TAKEN)
    refused(service, lambda: service.volumes.modify(volume.id, VolumeChanges(tag_type="X")),
            InvalidArgument)
    refused(service, lambda: service.volumes.modify(UNKNOWN_ID, VolumeChanges(max_iops=1)),
            NotFound, ErrorCode.VOLUME_NOT_FOUND)


def test_the_qos_rule_is_a_setting_with_an_event(service, events):
    assert service.volumes.qos_rule() is None
    assert service.volumes.set_qos_rule("IO_PRIORITY") == "IO_PRIORITY"
    assert service.volumes.qos_rule() == "IO_PRIORITY"
    service.volumes.set_qos_rule(None)
    assert service.volumes.qos_rule() is None
    assert events.new() == [(INFO, "Volume", "QoS on, rule IO_PRIORITY."),
                            (INFO, "Volume", "QoS off.")]
    refused(service, lambda: service.volumes.set_qos_rule("FASTEST"), InvalidArgument)


def _refuse(service, call, error, code=None):
    with refused(service, error, code):
        call()


# Clones

def _source(service, name="src", size_gb=10):
    return service.volumes.create(pool_named(service).pool.id, name, size_gb).volume


def test_a_clone_is_cloning_until_the_array_clock_has_copied_it(service, events):
    source = _source(service, size_gb=400)
    events.mark()
    clone = service.volumes.clone(source.id, "copy")
    assert clone.volume.clone_of == CloneSource(source.id)
    assert (clone.volume.pool_id, clone.volume.capacity_bytes, clone.volume.provision) == (
        source.pool_id, source.capacity_bytes, Provision.THICK)
    assert clone.volume.settings.tag_type == "BACKUP"
    assert clone.status is VolumeStatus.INITIATING and clone.clone_progress == 0
    assert events.new() == [(INFO, "Volume", "Volume copy created in pool Pool-1 as a clone "
                                             "of volume src: 400 GiB, Thick.")]
    service.simulation.advance_clock(50)  # 400 GiB at 4 GiB a second
    halfway = volume_named(service, "copy")
    assert 50 <= halfway.clone_progress < 60 and halfway.volume.clone_of is not None
    service.simulation.advance_clock(50)
    done = volume_named(service, "copy")
    assert done.volume.clone_of is None and done.clone_progress is None
    assert done.status is VolumeStatus.ONLINE
    assert (INFO, "Volume", "Volume copy is cloned: it no longer needs volume src.") \
        in events.new()
    service.volumes.delete(source.id)  # independent of its source now
    assert volume_named(service, "copy").volume.clone_of is None


def test_a_clone_of_a_snapshot_goes_to_the_pool_given(service):
    db = volume_named(service, "vol-db").volume
    daily = snapshot_named(service, "vol-db", "daily-1")
    pool = thin_pool(service)
    clone = service.volumes.clone(db.id, "restored", pool.id, daily.id)
    assert clone.volume.clone_of == CloneSource(db.id, daily.id)
    assert (clone.volume.pool_id, clone.volume.provision) == (pool.id, Provision.THIN)
    assert clone.volume.capacity_bytes == db.capacity_bytes


def test_while_a_clone_copies_its_source_and_the_clone_stay(service):
    db = volume_named(service, "vol-db").volume
    daily = snapshot_named(service, "vol-db", "daily-1")
    other = snapshot_named(service, "vol-db", "daily-2")
    clone = service.volumes.clone(db.id, "restored", None, daily.id).volume
    busy = ErrorCode.VOLUME_IN_USE
    _refuse(service, lambda: service.snapshots.delete(daily.id), Conflict, busy)
    _refuse(service, lambda: service.snapshots.delete_all(db.id), Conflict, busy)
    _refuse(service, lambda: service.snapshots.rollback(other.id), Conflict, busy)
    not_ready = ErrorCode.VOLUME_NOT_READY
    _refuse(service, lambda: service.volumes.delete(clone.id), Conflict, not_ready)
    _refuse(service, lambda: service.volumes.extend(clone.id, 4096), Conflict, not_ready)
    _refuse(service, lambda: service.volumes.clone(clone.id, "again"), Conflict, not_ready)
    target = min(service.state.targets)
    _refuse(service, lambda: service.luns.map_volume(target, None, clone.id), Conflict,
            not_ready)
    _refuse(service, lambda: service.snapshots.take(clone.id), Conflict)
    service.snapshots.set_space(db.id, 600)  # the source itself may change
    service.snapshots.delete(other.id)  # and so may a snapshot the clone does not copy


def test_a_volume_being_cloned_cannot_be_deleted(service):
    source = _source(service)
    service.volumes.clone(source.id, "copy")
    _refuse(service, lambda: service.volumes.delete(source.id), Conflict,
            ErrorCode.VOLUME_IN_USE)


def test_clone_refusals_change_nothing(service):
    db = volume_named(service, "vol-db").volume
    backup = volume_named(service, "vol-backup").volume
    daily = snapshot_named(service, "vol-db", "daily-1")
    for name in BAD_NAMES:
        _refuse(service, lambda name=name: service.volumes.clone(db.id, name), InvalidArgument)
    _refuse(service, lambda: service.volumes.clone(db.id, "vol-backup"), Conflict,
            ErrorCode.VOLUME_NAME_TAKEN)
    _refuse(service, lambda: service.volumes.clone(UNKNOWN_ID, "c"), NotFound,
            ErrorCode.VOLUME_NOT_FOUND)
    _refuse(service, lambda: service.volumes.clone(db.id, "c", UNKNOWN_ID), NotFound,
            ErrorCode.POOL_NOT_FOUND)
    _refuse(service, lambda: service.volumes.clone(db.id, "c", None, UNKNOWN_ID), NotFound,
            ErrorCode.SNAPSHOT_NOT_FOUND)
    # A snapshot names its own volume: daily-1 is no snapshot of vol-backup.
    _refuse(service, lambda: service.volumes.clone(backup.id, "c", None, daily.id), NotFound,
            ErrorCode.SNAPSHOT_NOT_FOUND)
    big = _source(service, "big", free_gib(service) - 1)  # a thick clone of it cannot fit
    _refuse(service, lambda: service.volumes.clone(big.id, "c"), InsufficientCapacity)
    service.snapshots.modify(daily.id, in_trash=True)
    _refuse(service, lambda: service.volumes.clone(db.id, "c", None, daily.id), Conflict,
            ErrorCode.SNAPSHOT_IN_USE)
    fail_pool(service)
    _refuse(service, lambda: service.volumes.clone(db.id, "c"), Conflict)


def test_a_clone_goes_on_after_a_restart(service, restart):
    source = _source(service, size_gb=400)
    clone_id = service.volumes.clone(source.id, "copy").volume.id
    reopened = restart()
    assert reopened.state.volumes[clone_id].clone_of == CloneSource(source.id)
    reopened.simulation.advance_clock(101)
    assert reopened.state.volumes[clone_id].clone_of is None


class QosRecorder(SimulatedBackend):
    """A virtual array's backend that says it enforces QoS and notes what it was told."""

    def __init__(self) -> None:
        super().__init__(seed=SEED)
        self.traits = replace(TRAITS, enforces_qos=True)  # type: ignore[misc]
        self.limits: dict[int, tuple[int, int]] = {}

    def set_qos(self, volume, max_iops, max_bytes_per_second):
        self.limits[volume.id] = (max_iops, max_bytes_per_second)


def test_qos_limits_reach_a_backend_that_enforces_them_under_the_iops_rule(make_service):
    backend = QosRecorder()
    service = make_service(backend)
    volume = volume_named(service, "vol-db").volume
    service.volumes.modify(volume.id, VolumeChanges(max_iops=500, max_throughput_kbps=1000))
    assert backend.limits[volume.id] == (0, 0)  # QoS is off: no limits
    service.volumes.set_qos_rule("MAX_IOPS_THROUGHPUT")
    assert backend.limits[volume.id] == (500, 1000 * 1024)
    service.volumes.modify(volume.id, VolumeChanges(max_iops=0))
    assert backend.limits[volume.id] == (0, 1000 * 1024)
    service.volumes.set_qos_rule("IO_PRIORITY")
    assert backend.limits[volume.id] == (0, 0)
    assert service.volumes.qos_enforced


def test_qos_limits_are_recorded_only_where_the_backend_cannot_enforce_them(service):
    assert not service.volumes.qos_enforced
