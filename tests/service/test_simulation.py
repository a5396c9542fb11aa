"""The virtual array's knobs: failing and replacing disks, sensors, latency, the clock, host
writes (service/simulation.py)."""

from __future__ import annotations

import time

from opensan.domain.errors import (
    Conflict,
    ErrorCode,
    InsufficientCapacity,
    InvalidArgument,
    NotFound,
    NotSupported,
)
from opensan.domain.identity import MAX_CLOCK_OFFSET_SECONDS
from opensan.domain.models import (
    DiskHealth,
    DiskStatus,
    DiskUsage,
    PoolHealth,
    PoolStatus,
    Provision,
    SensorStatus,
    SystemHealth,
    VolumeHealth,
    VolumeStatus,
)
from opensan.domain.raid import RaidLevel
from opensan.domain.rules import GIB, MAX_VOLUME_GB
from opensan.service.simulation import MAX_CLOCK_STEP_SECONDS, MAX_LATENCY_MS
from opensan.service.supervision import REBUILD_BYTES_PER_SECOND

from .helpers import (
    ERROR,
    INFO,
    WARNING,
    backend_with,
    disk_in_slot,
    fail_pool,
    free_disks,
    members,
    pool_named,
    refused,
    snapshot_named,
    volume_named,
)

UNKNOWN_ID = 1_234_567_890
STEP = 1500  # seconds; sessions idle out at 1800


def advance(service, seconds):
    while seconds > 0:
        service.simulation.advance_clock(min(STEP, seconds))
        seconds -= STEP


def rebuild_seconds(disk):
    return disk.capacity_bytes / REBUILD_BYTES_PER_SECOND


def free_the_spare(service):
    service.disks.set_spare([disk_in_slot(service, 9).id], DiskUsage.FREE)


def sensor(service, sensor_id):
    return next(s for e in service.system.enclosures() for s in e.sensors if s.id == sensor_id)


# Failing disks

def test_a_failed_member_is_rebuilt_onto_the_global_spare(service, events):
    failed = members(service)[0]
    spare = disk_in_slot(service, 9)
    view = service.simulation.fail_disk(failed.id)
    assert (view.disk.health, view.disk.usage, view.disk.pool_id) == \
        (DiskHealth.FAILED, DiskUsage.FREE, None)
    assert events.new() == [
        (ERROR, "Disk", f"Disk in slot 1 ({failed.serial_number}) failed."),
        (WARNING, "Pool", "Pool Pool-1 is degraded."),
        (INFO, "Pool", "Pool Pool-1 rebuilding onto the disk in slot 9."),
    ]
    rebuilding = service.state.disks[spare.id]
    assert (rebuilding.usage, rebuilding.status) == (DiskUsage.RAID, DiskStatus.REBUILDING)
    pool = pool_named(service)
    assert pool.pool.disk_ids[0] == spare.id  # in the failed disk's place
    assert (pool.health, pool.status) == (PoolHealth.DEGRADED, PoolStatus.REBUILDING)
    db = volume_named(service, "vol-db")
    assert (db.health, db.status) == (VolumeHealth.DEGRADED, VolumeStatus.REBUILD)
    assert service.system.info().system_health is SystemHealth.DEGRADED


def test_a_dedicated_spare_is_taken_before_a_global_one(service):
    dedicated = disk_in_slot(service, 12).id
    service.disks.set_spare([dedicated], DiskUsage.DEDICATED_SPARE, pool_named(service).pool.id)
    service.simulation.fail_disk(members(service)[0].id)
    assert pool_named(service).pool.disk_ids[0] == dedicated
    assert disk_in_slot(service, 9).usage is DiskUsage.GLOBAL_SPARE


def test_the_global_spare_in_the_lowest_slot_is_taken(service):
    free_the_spare(service)
    service.disks.set_spare([disk_in_slot(service, 14).id, disk_in_slot(service, 11).id],
                            DiskUsage.GLOBAL_SPARE)
    service.simulation.fail_disk(members(service)[0].id)
    assert pool_named(service).pool.disk_ids[0] == disk_in_slot(service, 11).id


def test_a_spare_of_the_other_kind_is_never_taken(service, events):
    free_the_spare(service)
    service.disks.set_spare(free_disks(service, 1, ssd=True), DiskUsage.GLOBAL_SPARE)
    failed = members(service)[0]
    events.mark()
    service.simulation.fail_disk(failed.id)
    assert events.new()[-1] == (WARNING, "Pool", "No spare disk for pool Pool-1; replace the disk "
                                                 "in slot 1 to rebuild.")


def test_without_a_spare_the_failed_member_stays_and_the_pool_is_degraded(service, events):
    free_the_spare(service)
    failed = members(service)[0]
    events.mark()
    service.simulation.fail_disk(failed.id)
    assert events.new() == [
        (ERROR, "Disk", f"Disk in slot 1 ({failed.serial_number}) failed."),
        (WARNING, "Pool", "Pool Pool-1 is degraded."),
        (WARNING, "Pool", "No spare disk for pool Pool-1; replace the disk in slot 1 to rebuild."),
    ]
    still = service.state.disks[failed.id]
    assert (still.usage, still.pool_id, still.health) == \
        (DiskUsage.RAID, pool_named(service).pool.id, DiskHealth.FAILED)
    assert (pool_named(service).health, pool_named(service).status) == \
        (PoolHealth.DEGRADED, PoolStatus.ONLINE)


def test_a_raid_6_pool_fails_with_its_third_failed_member(service, events):
    free_the_spare(service)
    for disk in members(service)[:2]:
        service.simulation.fail_disk(disk.id)
    third = members(service)[2]
    events.mark()
    service.simulation.fail_disk(third.id)
    assert events.new() == [
        (ERROR, "Disk", f"Disk in slot 3 ({third.serial_number}) failed."),
        (ERROR, "Pool", "Pool Pool-1 failed: data is offline."),
    ]
    assert (pool_named(service).health, pool_named(service).status) == \
        (PoolHealth.FAILED, PoolStatus.OFFLINE)
    db = volume_named(service, "vol-db")
    assert (db.health, db.status) == (VolumeHealth.FAILED, VolumeStatus.OFFLINE)
    assert service.system.info().system_health is SystemHealth.FAILED



def test_fail_a_free_disk_writes_one_event(service, events):
    disk = disk_in_slot(service, 10)
    view = service.simulation.fail_disk(disk.id)
    assert (view.disk.health, view.disk.usage) == (DiskHealth.FAILED, DiskUsage.FREE)
    assert events.new() == [(ERROR, "Disk", f"Disk in slot 10 ({disk.serial_number}) failed.")]


def test_a_failed_spare_is_a_spare_no_more(service):
    for usage, pool_id in ((DiskUsage.GLOBAL_SPARE, None),
                           (DiskUsage.DEDICATED_SPARE, pool_named(service).pool.id)):
        disk = free_disks(service, 1)[0]
        service.disks.set_spare([disk], usage, pool_id)
        view = service.simulation.fail_disk(disk)
        assert (view.disk.usage, view.disk.pool_id) == (DiskUsage.FREE, None)


def test_fail_disk_refuses_a_failed_or_unknown_disk(service):
    disk = free_disks(service, 1)[0]
    service.simulation.fail_disk(disk)
    with refused(service, Conflict, ErrorCode.DISK_IN_USE):
        service.simulation.fail_disk(disk)
    with refused(service, NotFound, ErrorCode.DISK_NOT_FOUND):
        service.simulation.fail_disk(UNKNOWN_ID)


def test_the_rebuild_finishes_once_the_clock_has_moved_on_by_its_time(service, events):
    service.simulation.fail_disk(members(service)[0].id)
    spare = disk_in_slot(service, 9)
    needed = rebuild_seconds(spare)
    advance(service, int(needed) - 60)
    assert service.state.disks[spare.id].status is DiskStatus.REBUILDING
    events.mark()
    advance(service, 120)
    assert service.state.disks[spare.id].status is DiskStatus.ONLINE
    assert service.state.disks[spare.id].rebuild_started_at is None
    assert (pool_named(service).health, pool_named(service).status) == \
        (PoolHealth.GOOD, PoolStatus.ONLINE)
    assert events.new() == [(INFO, "Pool", "Pool Pool-1 finished rebuilding onto slot 9."),
                            (INFO, "Pool", "Pool Pool-1 is healthy again.")]


# Replacing disks

def test_replace_a_failed_free_disk_puts_a_new_free_disk_in_its_slot(service, events):
    old = disk_in_slot(service, 10)
    service.simulation.fail_disk(old.id)
    events.mark()
    view = service.simulation.replace_disk(old.id)
    new = view.disk
    assert old.id not in service.state.disks
    assert new.id != old.id and new.serial_number != old.serial_number
    assert (new.slot, new.model, new.capacity_bytes) == (10, old.model, old.capacity_bytes)
    assert (new.health, new.status, new.usage) == (DiskHealth.GOOD, DiskStatus.ONLINE,
                                                    DiskUsage.FREE)
    assert events.new() == [(INFO, "Disk", f"Disk in slot 10 replaced: {new.serial_number}.")]


def test_replace_a_failed_member_rebuilds_the_pool_onto_the_new_disk(service, events):
    free_the_spare(service)
    failed = members(service)[0]
    service.simulation.fail_disk(failed.id)
    events.mark()
    new = service.simulation.replace_disk(failed.id).disk
    assert events.new() == [
        (INFO, "Disk", f"Disk in slot 1 replaced: {new.serial_number}."),
        (INFO, "Pool", "Pool Pool-1 rebuilding onto the disk in slot 1."),
    ]
    assert pool_named(service).pool.disk_ids[0] == new.id
    assert (new.usage, new.status) == (DiskUsage.RAID, DiskStatus.REBUILDING)
    advance(service, int(rebuild_seconds(new)) + 60)
    assert pool_named(service).health is PoolHealth.GOOD



def test_replace_disk_refuses_a_disk_that_has_not_failed_or_is_unknown(service):
    with refused(service, Conflict, ErrorCode.DISK_IN_USE):
        service.simulation.replace_disk(disk_in_slot(service, 10).id)
    with refused(service, NotFound, ErrorCode.DISK_NOT_FOUND):
        service.simulation.replace_disk(UNKNOWN_ID)


# Sensors

def test_a_forced_sensor_reads_so_until_it_is_set_good_again(service, events):
    assert sensor(service, "psu-1").status is SensorStatus.GOOD
    service.simulation.set_sensor_status("psu-1", SensorStatus.FAILED)
    assert sensor(service, "psu-1").status is SensorStatus.FAILED
    assert service.state.meta["sensor_overrides"] == {"psu-1": "Failed"}
    assert service.system.info().system_health is SystemHealth.DEGRADED
    service.simulation.set_sensor_status("psu-1", SensorStatus.GOOD)
    assert sensor(service, "psu-1").status is SensorStatus.GOOD
    assert service.state.meta["sensor_overrides"] == {}
    assert service.system.info().system_health is SystemHealth.GOOD
    assert events.new() == [(ERROR, "Hardware", "PSU 1 Power supply 1 is Failed."),
                            (INFO, "Hardware", "PSU 1 Power supply 1 is Good.")]


def test_a_sensor_forced_to_warning_writes_a_warning(service, events):
    service.simulation.set_sensor_status("fan-2", SensorStatus.WARNING)
    assert sensor(service, "fan-2").status is SensorStatus.WARNING
    assert events.new() == [(WARNING, "Hardware", "Fan module 2 Fan 2 is Warning.")]


def test_set_sensor_status_refuses_an_unknown_sensor(service):
    with refused(service, NotFound, ErrorCode.OBJECT_NOT_FOUND):
        service.simulation.set_sensor_status("fan-9", SensorStatus.FAILED)


def test_a_forced_sensor_stays_forced_after_a_restart(service, restart):
    service.simulation.set_sensor_status("ctr1-cpu-temp", SensorStatus.FAILED)
    assert sensor(restart(), "ctr1-cpu-temp").status is SensorStatus.FAILED


# Latency

def test_change_latency_reaches_the_backend_and_survives_a_restart(make_service, tmp_path):
    backend = backend_with()
    service = make_service(backend, state_dir=tmp_path / "latency")
    service.simulation.set_change_latency(5)
    assert service.state.meta["change_latency"] == 0.005
    assert backend.change_latency_seconds == 0.005
    assert service.system.events(1).events[0].message == "Simulated change latency set to 5 ms."
    service.close()
    again = backend_with()
    make_service(again, state_dir=tmp_path / "latency")
    assert again.change_latency_seconds == 0.005


def test_change_latency_is_0_to_600000_ms(service):
    for milliseconds in (-1, MAX_LATENCY_MS + 1):
        with refused(service, InvalidArgument, case=milliseconds):
            service.simulation.set_change_latency(milliseconds)


# The clock

def test_advance_clock_moves_the_array_clock_and_keeps_the_offset(service):
    then = service.uow.clock.now()
    now = service.simulation.advance_clock(100)
    assert now >= then + 100
    assert service.uow.clock.offset_seconds == service.state.meta["clock_offset"] == 100
    service.simulation.advance_clock(1)
    assert service.state.meta["clock_offset"] == 101


def test_advance_clock_by_1_second_to_10_years(service):
    for seconds in (0, -5, MAX_CLOCK_STEP_SECONDS + 1):
        with refused(service, InvalidArgument, case=seconds):
            service.simulation.advance_clock(seconds)


def test_the_clock_runs_at_most_100_years_ahead(service):
    """The audit's 798th ten-year advance reached year 10001 and broke the array for good."""
    assert MAX_CLOCK_OFFSET_SECONDS == 10 * MAX_CLOCK_STEP_SECONDS
    for _ in range(9):
        service.simulation.advance_clock(MAX_CLOCK_STEP_SECONDS)
    service.simulation.advance_clock(1)
    with refused(service, InvalidArgument):
        service.simulation.advance_clock(MAX_CLOCK_STEP_SECONDS)
    service.simulation.advance_clock(MAX_CLOCK_STEP_SECONDS - 1)
    assert service.uow.clock.offset_seconds == MAX_CLOCK_OFFSET_SECONDS
    with refused(service, InvalidArgument):
        service.simulation.advance_clock(1)
    volume = next(v for v in service.state.volumes.values() if v.snapshot_space_bytes)
    taken = service.snapshots.take(volume.id)  # named from the time, in year 2126 or so
    assert taken.name.startswith("snap-21")


def test_a_clock_an_earlier_release_pushed_past_the_bound_opens_bounded(service, restart):
    with service.uow.change() as change:  # what 0.1.0 allowed: 800 ten-year advances
        change.set_meta("clock_offset", 800.0 * MAX_CLOCK_STEP_SECONDS)
    reopened = restart()
    assert reopened.uow.clock.offset_seconds == MAX_CLOCK_OFFSET_SECONDS
    assert reopened.system.info().time < time.time() + MAX_CLOCK_OFFSET_SECONDS + 60


# Host writes

def thin_volume(service, size_gb=100, disks=1):
    pool = service.pools.create("thin", RaidLevel.RAID0, free_disks(service, disks),
                                Provision.THIN).pool
    return service.volumes.create(pool.id, "thin-vol", size_gb).volume


def test_host_write_to_a_thick_volume_takes_nothing_more_from_its_pool(service, events):
    backup = volume_named(service, "vol-backup")
    used = pool_named(service).used_bytes
    view = service.simulation.host_write(backup.volume.id, 100)
    assert (view.volume.written_bytes, view.used_bytes) == (100 * GIB, 4096 * GIB)
    assert pool_named(service).used_bytes == used
    assert events.new() == [(INFO, "Volume", "Hosts wrote 100 GiB to volume vol-backup.")]


def test_host_write_grows_a_thin_volume_and_its_pools_use(service):
    volume = thin_volume(service)
    view = service.simulation.host_write(volume.id, 30)
    assert (view.volume.written_bytes, view.used_bytes) == (30 * GIB, 30 * GIB)
    assert pool_named(service, "thin").used_bytes == 30 * GIB


def test_host_write_never_writes_past_the_end_of_a_volume(service):
    volume = thin_volume(service, size_gb=100)
    assert service.simulation.host_write(volume.id, 150).volume.written_bytes == 100 * GIB


def test_host_write_to_a_thin_volume_needs_room_in_its_pool(service):
    volume = thin_volume(service, size_gb=10_000)
    free = pool_named(service, "thin").free_bytes // GIB
    with refused(service, InsufficientCapacity):
        service.simulation.host_write(volume.id, free + 1)
    service.simulation.host_write(volume.id, free)
    assert pool_named(service, "thin").free_bytes < GIB


def test_host_write_puts_the_old_blocks_in_the_newest_snapshot(service, events):
    service.simulation.host_write(volume_named(service, "vol-db").volume.id, 10)
    assert snapshot_named(service, "vol-db", "daily-2").used_bytes == 50 * GIB
    assert snapshot_named(service, "vol-db", "daily-1").used_bytes == 0
    assert events.new() == [(INFO, "Volume", "Hosts wrote 10 GiB to volume vol-db.")]


def test_host_write_beyond_the_snapshot_space_warns_that_it_is_full(service, events):
    db = volume_named(service, "vol-db").volume
    service.simulation.host_write(db.id, 500)
    space, _snapshots = service.snapshots.of_volume(db.id)
    assert space.used_bytes == space.space_bytes == 512 * GIB
    assert events.new() == [
        (WARNING, "Snapshot", "Snapshot space of volume vol-db is full; snapshot daily-2 no "
                              "longer holds every changed block."),
        (INFO, "Volume", "Hosts wrote 500 GiB to volume vol-db."),
    ]


def test_host_write_sizes_are_1_gib_to_1_pib_to_a_known_volume(service):
    backup = volume_named(service, "vol-backup").volume.id
    for size_gb in (0, MAX_VOLUME_GB + 1):
        with refused(service, InvalidArgument, case=size_gb):
            service.simulation.host_write(backup, size_gb)
    with refused(service, NotFound, ErrorCode.VOLUME_NOT_FOUND):
        service.simulation.host_write(UNKNOWN_ID, 1)


def test_host_write_in_a_failed_pool_is_refused(service):
    fail_pool(service)
    with refused(service, Conflict, ErrorCode.VOLUME_NOT_READY):
        service.simulation.host_write(volume_named(service, "vol-backup").volume.id, 1)


# Capabilities

def test_the_knobs_are_not_supported_on_a_backend_without_them(make_service):
    service = make_service(backend_with(capabilities=frozenset()))
    disk = disk_in_slot(service, 10).id
    calls = {
        "fail_disk": lambda: service.simulation.fail_disk(disk),
        "replace_disk": lambda: service.simulation.replace_disk(disk),
        "set_sensor_status": lambda: service.simulation.set_sensor_status(
            "psu-1", SensorStatus.FAILED),
        "set_change_latency": lambda: service.simulation.set_change_latency(5),
        "advance_clock": lambda: service.simulation.advance_clock(1),
        "host_write": lambda: service.simulation.host_write(
            volume_named(service, "vol-backup").volume.id, 1),
    }
    for name, call in calls.items():
        with refused(service, NotSupported, ErrorCode.NOT_SUPPORTED, case=name):
            call()
