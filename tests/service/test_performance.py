"""Performance through the service: the workload setting (a change like any other), counters
that follow changes and the simulated clock, rates now and over a window, and what the service
counts of its own work (events by level, tick and measurement times)."""

from __future__ import annotations

import pytest

from opensan.domain.errors import ErrorCode, InvalidArgument, NotFound, NotSupported
from opensan.domain.models import EventLevel
from opensan.domain.traits import Capability
from opensan.service.array import ArrayService
from opensan.service.io_history import KEEP_EVERY_SECONDS, MAX_WINDOW_SECONDS

from .conftest import MakeService
from .helpers import (
    INFO,
    EventLog,
    backend_with,
    fail_pool,
    members,
    refused,
    volume_named,
)


def db_id(service: ArrayService) -> int:
    return volume_named(service, "vol-db").volume.id


def test_setting_a_workload_is_a_change_with_an_event(service: ArrayService,
                                                      events: EventLog) -> None:
    db = db_id(service)
    seeded = next(w for w in service.simulation.workloads() if w.volume_id == db)
    assert not seeded.chosen and seeded.running
    events.mark()
    set_to = service.simulation.set_workload(db, iops=900, block_kb=64)
    assert (set_to.workload.iops, set_to.workload.read_percent, set_to.workload.block_kb) == (
        900, seeded.workload.read_percent, 64)
    assert set_to.chosen and set_to.running
    assert events.new() == [(INFO, "Volume", f"Host workload of volume vol-db set to 900 IOPS, "
                                             f"{seeded.workload.read_percent}% reads, 64 KiB "
                                             "blocks.")]
    # Kept in the records: a restart runs the same workload.
    assert service.uow.store.load_state().meta["workloads"][str(db)]["iops"] == 900
    backup = next(w for w in service.simulation.workloads() if w.name == "vol-backup")
    assert not backup.running  # not mapped


@pytest.mark.parametrize(("figures", "word"), [
    ({"iops": 1_000_001}, "IOPS"), ({"read_percent": 101}, "read share"),
    ({"block_kb": 0}, "block size"), ({"block_kb": 1025}, "block size")])
def test_a_workload_out_of_range_is_refused(service: ArrayService, figures: dict[str, int],
                                            word: str) -> None:
    with refused(service, InvalidArgument, ErrorCode.INVALID_ARGUMENT, figures) as refusal:
        service.simulation.set_workload(db_id(service), **figures)
    assert word in refusal.error.message


def test_a_workload_of_an_unknown_volume_is_refused(service: ArrayService) -> None:
    with pytest.raises(NotFound):
        service.simulation.set_workload(12345, iops=10)


def test_a_backend_without_simulated_hosts_has_no_workloads(make_service: MakeService) -> None:
    service = make_service(backend_with(capabilities=frozenset({Capability.FAULT_INJECTION})))
    with pytest.raises(NotSupported):
        service.simulation.workloads()


def test_counters_follow_the_simulated_clock(service: ArrayService) -> None:
    db = db_id(service)
    service.simulation.set_workload(db, iops=2000, read_percent=50, block_kb=4)
    start = service.performance.latest()
    assert start is not None
    service.simulation.advance_clock(3600)
    after = service.performance.latest()
    assert after is not None and after.taken_at >= start.taken_at + 3600
    done = after.volumes[db].read_ops + after.volumes[db].write_ops - (
        start.volumes[db].read_ops + start.volumes[db].write_ops)
    assert 0.65 * 2000 * 3600 < done < 1.35 * 2000 * 3600
    # The hour is the "now" of the rates: the interval between the last two readings.
    report = service.performance.report(60)
    figures = dict((v.id, f) for v, f in report.volumes)[db]
    assert figures.now is not None and figures.now.seconds >= 3600
    assert figures.now.iops == pytest.approx(done / figures.now.seconds, rel=0.01)
    assert report.array.now is not None and report.array.now.iops >= figures.now.iops


def test_a_failed_pool_stops_its_volumes_io(service: ArrayService) -> None:
    db = db_id(service)
    fail_pool(service)
    stopped = service.performance.latest()
    assert stopped is not None
    service.simulation.advance_clock(600)
    later = service.performance.latest()
    assert later is not None and later.volumes[db] == stopped.volumes[db]
    assert not next(w for w in service.simulation.workloads() if w.volume_id == db).running


def test_the_report_adds_pools_up_from_volumes_and_lists_every_port(
        service: ArrayService) -> None:
    service.simulation.advance_clock(30)
    report = service.performance.report(60)
    volumes = {v.id: f for v, f in report.volumes}
    (pool, pool_figures), = report.pools
    assert pool.name == "Pool-1"
    assert pool_figures.now is not None and report.array.now is not None
    assert pool_figures.now.iops == pytest.approx(sum(f.now.iops for f in volumes.values()
                                                      if f.now is not None))
    assert report.array.now.iops == pytest.approx(pool_figures.now.iops)
    assert len(report.ports) == 4 and {p.controller for p, _f in report.ports} == {1, 2}
    assert len(report.disks) == len(service.state.disks)
    with pytest.raises(InvalidArgument):
        service.performance.report(0)
    with pytest.raises(InvalidArgument):
        service.performance.report(MAX_WINDOW_SECONDS + 1)


def test_the_window_covers_at_least_what_was_asked(service: ArrayService) -> None:
    # A reading a (simulated) 5 seconds for 2 minutes: the window's reading is one kept for it.
    for _ in range(24):
        service.simulation.advance_clock(5)
    report = service.performance.report(60)
    assert report.array.window is not None and report.array.now is not None
    assert 60 <= report.array.window.seconds < 60 + KEEP_EVERY_SECONDS + 5
    assert report.array.now.seconds < 10


def test_the_service_counts_events_by_level_and_times_its_work(service: ArrayService) -> None:
    recorded = dict(service.uow.events_recorded)
    service.simulation.fail_disk(members(service)[0].id)  # an ERROR, a WARNING, an INFO
    now = service.uow.events_recorded
    assert now[EventLevel.ERROR] == recorded[EventLevel.ERROR] + 1
    assert now[EventLevel.WARNING] == recorded[EventLevel.WARNING] + 1
    assert now[EventLevel.INFO] == recorded[EventLevel.INFO] + 1
    ticks = service.supervision.telemetry.stats()["tick"].count
    service.supervision.tick()
    stats = service.supervision.telemetry.stats()
    assert stats["tick"].count == ticks + 1 and stats["tick"].errors == 0
    assert stats["read_performance"].count > 0 and stats["read_hardware"].seconds > 0
