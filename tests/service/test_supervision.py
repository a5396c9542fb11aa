"""The periodic tick, called directly, and reads that answer from memory
(service/supervision.py)."""

from __future__ import annotations

from opensan.domain.errors import InvalidArgument
from opensan.domain.models import CacheMode, DiskStatus, DiskUsage, PoolHealth
from opensan.service.supervision import REBUILD_BYTES_PER_SECOND
from opensan.service.telemetry import MEASURE_USAGE, READ_HARDWARE, READ_PERFORMANCE
from opensan.service.volumes import VolumeChanges

from .helpers import (
    INFO,
    assert_unchanged,
    backend_with,
    before,
    disk_in_slot,
    free_disks,
    members,
    pool_named,
    refused,
    volume_named,
)


def rebuild_seconds(service, slot):
    return disk_in_slot(service, slot).capacity_bytes / REBUILD_BYTES_PER_SECOND


def move_clock(service, seconds):
    """Move the array clock without the tick advance_clock runs, for the tick under test."""
    service.uow.clock.offset_seconds += seconds


def test_a_tick_with_nothing_due_changes_nothing(service):
    then = before(service)
    service.supervision.tick()
    assert_unchanged(service, then)


def test_the_tick_finishes_a_rebuild_that_is_due(service, events):
    service.simulation.fail_disk(members(service)[0].id)  # rebuilds onto slot 9
    events.mark()
    move_clock(service, rebuild_seconds(service, 9) + 1)
    version = service.version
    service.supervision.tick()
    spare = disk_in_slot(service, 9)
    assert (spare.status, spare.rebuild_started_at) == (DiskStatus.ONLINE, None)
    assert pool_named(service).health is PoolHealth.GOOD
    assert service.version == version + 1
    assert events.new() == [(INFO, "Pool", "Pool Pool-1 finished rebuilding onto slot 9."),
                            (INFO, "Pool", "Pool Pool-1 is healthy again.")]


def test_the_tick_leaves_a_rebuild_that_is_not_due_yet(service):
    service.simulation.fail_disk(members(service)[0].id)
    move_clock(service, rebuild_seconds(service, 9) - 60)
    then = before(service)
    service.supervision.tick()
    assert_unchanged(service, then)
    assert disk_in_slot(service, 9).status is DiskStatus.REBUILDING


def test_a_pool_still_missing_a_member_after_a_rebuild_is_not_called_healthy(service, events):
    for disk in members(service)[:2]:  # the first rebuilds onto slot 9, the second stays failed
        service.simulation.fail_disk(disk.id)
    events.mark()
    move_clock(service, rebuild_seconds(service, 9) + 1)
    service.supervision.tick()
    assert events.new() == [(INFO, "Pool", "Pool Pool-1 finished rebuilding onto slot 9.")]
    assert pool_named(service).health is PoolHealth.DEGRADED


def test_the_tick_deletes_sessions_that_idled_out_without_an_event(service, events):
    service.accounts.login("admin", "1234", "10.0.0.1")
    events.mark()
    version = service.version
    move_clock(service, 1801)
    service.supervision.tick()
    assert service.state.sessions == {}
    assert service.uow.store.load_state().sessions == {}
    assert service.version == version
    assert events.new() == []


def test_reads_show_the_hardware_as_the_last_tick_read_it(service):
    disk = disk_in_slot(service, 1).id

    def hours():
        return next(s.power_on_hours for s in service.disks.smart() if s.disk_id == disk)

    read = hours()
    move_clock(service, 10 * 3600)
    assert hours() == read  # nothing read the hardware since
    service.supervision.tick()
    assert hours() in (read + 10, read + 11)


def test_reads_answer_from_memory_without_the_store_or_the_backend(make_service, monkeypatch):
    backend = backend_with()
    service = make_service(backend)
    token, _session = service.accounts.login("user", "1234", "10.0.0.1")
    pool = pool_named(service).pool
    db = volume_named(service, "vol-db").volume

    def reads():
        info = service.system.info()
        return [
            service.pools.all(), service.pools.view(pool), service.volumes.all(),
            service.volumes.view(db), service.snapshots.of_volume(db.id), service.disks.all(),
            service.disks.smart(), service.disks.view(pool.disk_ids[0]), service.luns.targets(),
            service.luns.mappings(), service.luns.of_target(0), service.system.enclosures(),
            service.system.health(), (info.hardware, info.system_name, info.system_health),
            service.accounts.authenticate(token).account,
        ]

    answers = reads()

    def untouchable(*_args, **_kwargs):
        raise AssertionError("a read reached the store or the backend")

    for name in ("transaction", "load_state", "refresh", "get_meta", "event_count",
                 "event_page"):
        monkeypatch.setattr(service.uow.store, name, untouchable)
    for name in ("read_hardware", "measure_usage", "poll", "reconcile", "remove_orphans"):
        monkeypatch.setattr(backend, name, untouchable)
    assert reads() == answers


def test_events_are_read_from_the_store(service):
    """The one read that is not memory: the event log, page by page, newest first."""
    page = service.system.events(1)
    assert (page.page, page.total) == (1, service.uow.store.event_count())
    assert [event.id for event in page.events] == list(range(page.total, 0, -1))
    with refused(service, InvalidArgument):
        service.system.events(0)


def counter_reads(service):
    return service.supervision.telemetry.stats()[READ_PERFORMANCE].count


def test_only_a_change_of_what_sets_the_hosts_io_reads_the_counters_after_it(service):
    """A volume's snapshot space or size sets no host's I/O: the counters are not read again
    for it (a pass over every volume's); its cache mode, a new volume or a mapping do."""
    db = volume_named(service, "vol-db").volume
    reads = counter_reads(service)
    service.snapshots.set_space(db.id, db.snapshot_space_bytes // 1024**3 + 1)
    service.volumes.extend(db.id, db.capacity_bytes // 1024**3 + 1)
    assert counter_reads(service) == reads
    service.volumes.modify(db.id, VolumeChanges(cache_mode=CacheMode.WRITE_THROUGH))
    assert counter_reads(service) == reads + 1
    created = service.volumes.create(pool_named(service, "Pool-1").pool.id, "vol-new", 1)
    assert counter_reads(service) == reads + 2
    service.volumes.delete(created.volume.id)
    assert counter_reads(service) == reads + 3


def reading_counts(service):
    stats = service.supervision.telemetry.stats()
    return [stats[name].count if name in stats else 0
            for name in (READ_HARDWARE, MEASURE_USAGE, READ_PERFORMANCE)]


def test_changes_in_a_batch_read_everything_once_at_its_end(make_service):
    """What a profile applies at a first start: each reading is due after several of the
    changes, and is made once when the batch ends; after it, changes read again each time."""
    service = make_service(backend_with(usage_refresh_seconds=30.0))
    pool = pool_named(service, "Pool-1").pool
    counts = reading_counts(service)
    with service.supervision.batched():
        first = service.volumes.create(pool.id, "vol-a", 1)  # moves data, steers I/O
        service.volumes.create(pool.id, "vol-b", 1)
        service.disks.set_spare(free_disks(service, 1), DiskUsage.GLOBAL_SPARE)  # hardware
        assert reading_counts(service) == counts
    assert reading_counts(service) == [count + 1 for count in counts]
    service.volumes.delete(first.volume.id)
    assert reading_counts(service)[1:] == [count + 2 for count in counts[1:]]
