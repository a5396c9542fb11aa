"""The periodic tick, in a thread of its own, and what keeps the in-memory figures current.

Every tick_seconds the tick takes in the other controller's changes, lets the backend repair what
the world forgot (a crashed tgtd), reads the hardware and, when due, measures use, then acts on
what it saw: health checks raised or cleared, disks that changed or joined, snapshots over their
space (where the service keeps it), rebuilds and clones that are done, sessions to write back. Request
handlers only read what the tick (or a change, once it committed) kept, so no read waits on
hardware, however slow the hardware is.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial

from opensan.domain import views
from opensan.domain.errors import SanError
from opensan.domain.measured import DiskJoined, HardwareReadings
from opensan.domain.models import (
    SYSTEM,
    DiskHealth,
    DiskStatus,
    EventLevel,
    PoolHealth,
    Volume,
)
from opensan.domain.rules import GIB
from opensan.service.accounts import Accounts
from opensan.service.parts import Parts
from opensan.service.telemetry import (
    MEASURE_USAGE,
    READ_HARDWARE,
    READ_PERFORMANCE,
    TICK,
    Telemetry,
)
from opensan.service.unit_of_work import Change, acting_as
from opensan.service.volumes import Volumes
from opensan.store.records import DISKS, MAPPINGS, POOLS, TARGETS, VOLUMES

log = logging.getLogger("opensan")
# Simulated rebuild speed: a spare takes the failed disk's place at this rate.
REBUILD_BYTES_PER_SECOND = 500 * 1000**2
# What sets the hosts' I/O: a change of these is the moment the I/O counters change course.
_STEERS_IO = frozenset({DISKS.name, POOLS.name, VOLUMES.name, MAPPINGS.name, TARGETS.name, "meta"})
# How long the follower waits for the other controller's notification before it looks again
# whether it should stop (a wait costs nothing: no I/O until a notification comes).
FOLLOW_STEP_SECONDS = 0.1


@dataclass
class _Due:
    """What a change (or the changes of a batch) left to read again."""

    hardware: bool = False
    usage: bool = False
    performance: bool = False

    def add(self, other: _Due) -> None:
        self.hardware |= other.hardware
        self.usage |= other.usage
        self.performance |= other.performance


def steers_io(change: Change) -> bool:
    """Whether the change moved what sets the hosts' I/O, so that the counters change course
    at its time: a volume's size or snapshot space does not (reading them after such a change
    would cost a pass over every volume's counters, for the very figures the next read gives)."""
    steering = change.touched & _STEERS_IO
    if steering - {VOLUMES.name}:
        return True
    return any(_io_part(before) != _io_part(change.state.volumes.get(key))
               for (kind, key), before in change.before.items() if kind == VOLUMES.name)


def _io_part(volume: object | None) -> object | None:
    """The volume less what no host's I/O follows (its sizes and its snapshot space)."""
    if not isinstance(volume, Volume):
        return volume
    return replace(volume, capacity_bytes=0, written_bytes=0, snapshot_space_bytes=0)


class Supervision:
    def __init__(self, parts: Parts, accounts: Accounts, volumes: Volumes) -> None:
        self._parts = parts
        self._accounts = accounts
        self._volumes = volumes
        self._reading_lock = threading.Lock()  # one hardware read at a time
        self._measuring_lock = threading.Lock()  # one measurement at a time
        self._measured_at = 0.0  # time.monotonic() of the last measurement
        self._tick_seconds = 1.0
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._woken = threading.Event()
        self._batch: _Due | None = None  # set while batched() holds the readings back
        self.telemetry = Telemetry()

    # Keeping the figures current

    def read_hardware(self) -> HardwareReadings:
        """Read the hardware now and keep the readings (unless a change committed meanwhile)."""
        parts = self._parts
        with self._reading_lock, self.telemetry.timed(READ_HARDWARE):
            version = parts.uow.version
            readings = parts.backend.read_hardware(parts.state, parts.uow.clock.now(),
                                                   parts.sensor_overrides())
            parts.observed.keep_readings(readings, version, parts.uow.version)
        return readings

    def measure_usage(self) -> None:
        """Measure use now, where the backend measures it (unless a change committed meanwhile)."""
        parts = self._parts
        if not parts.traits.measures_usage:
            return
        with self._measuring_lock, self.telemetry.timed(MEASURE_USAGE):
            version = parts.uow.version
            self._measured_at = time.monotonic()
            usage = parts.backend.measure_usage(parts.state)
            parts.observed.keep_usage(usage, version, parts.uow.version)

    def read_performance(self, at: float | None = None) -> None:
        """Read the I/O counters as of `at` (the array clock; now by default) and keep them.
        A change reads them at its own time: from then on its records set the hosts' I/O."""
        parts = self._parts
        with self.telemetry.timed(READ_PERFORMANCE):
            reading = parts.backend.read_performance(parts.state,
                                                     parts.uow.clock.now() if at is None else at)
        if reading is not None:
            parts.observed.io.add(reading)

    def after_change(self, change: Change, committed: bool) -> None:
        """After a change of pools, volumes or snapshots that committed, measure again (the
        backend moved data), and read the hardware again after one that changed disks or
        settings (a failed disk, a forced sensor). A change that failed may have moved data
        half-way too: the next tick measures at once, and the refusal does not wait for it. A
        failure here is logged, never reported: the change itself is done."""
        if not committed:
            self._measured_at = 0.0
            return
        due = _Due(hardware=bool(change.touched & {DISKS.name, "meta"}),
                   usage=change.moves_data, performance=steers_io(change))
        if self._batch is not None:
            self._batch.add(due)
            return
        self._read(due, change.now)

    @contextmanager
    def batched(self) -> Iterator[None]:
        """Changes made inside read the hardware, measure and read the counters once, at the
        end, instead of after each: a profile applied at an array's first start makes tens of
        changes before anybody can read, and on Ceph each reading is an `rbd du` and a mgr
        command (about 0.1 s together)."""
        self._batch = _Due()
        try:
            yield
        finally:
            due, self._batch = self._batch, None
            self._read(due, None)

    def _read(self, due: _Due, at: float | None) -> None:
        try:
            if due.hardware:
                self.read_hardware()
            if due.usage:
                self.measure_usage()
            if due.performance:
                self.read_performance(at)
        except SanError as error:
            log.warning("Reading the storage after a change failed: %s", error.message)
        except Exception:  # the change is committed: its answer must not become a 500
            log.exception("Reading the storage after a change failed")

    # The tick

    def tick(self) -> None:
        """Called every tick_seconds and after the clock moves: what it records, the array
        saw by itself, also when a request's clock move made it tick."""
        with acting_as(SYSTEM), self.telemetry.timed(TICK):
            self._tick()

    def _tick(self) -> None:
        parts = self._parts
        parts.uow.refresh()
        for level, source, message in parts.backend.poll():
            parts.uow.record_event(level, source, message)
        readings = self.read_hardware()
        self.read_performance()
        self._follow_health_checks(readings)
        self._follow_disks(readings)
        # Measured now when the next tick would come too late: use is never older than
        # usage_refresh_seconds (and the time one measurement takes).
        refresh = parts.traits.usage_refresh_seconds
        age = time.monotonic() - self._measured_at
        if refresh is not None and age + self._tick_seconds > refresh:
            self.measure_usage()
        if parts.traits.service_keeps_snapshot_space:
            self._keep_snapshot_space()
        self._finish_rebuilds()
        self._volumes.follow_clones()
        self._accounts.write_back()

    def _follow_health_checks(self, readings: HardwareReadings) -> None:
        """One event each time a health check of the storage is raised, changes level or clears
        (not when only its text moves, e.g. a recovery's progress). The checks seen are a
        setting, so the two controllers of a shared store write each event once: the second
        finds it written when its change starts."""
        if readings.health_checks is None:
            return
        now_seen = {name: [check.level.value, check.message]
                    for name, check in readings.health_checks.items()}

        def levels(seen: dict[str, list[str]]) -> dict[str, str]:
            return {name: level for name, (level, _message) in seen.items()}

        if levels(now_seen) == levels(self._parts.state.meta.get("health_checks", {})):
            return
        with self._parts.uow.change() as change:
            before: dict[str, list[str]] = change.state.meta.get("health_checks", {})
            if levels(before) == levels(now_seen):
                return
            for name in sorted(before.keys() - now_seen.keys()):
                change.event(EventLevel.INFO, "Health", f"Cleared: {name} ({before[name][1]}).")
            for name, (level, message) in sorted(now_seen.items()):
                if name not in before or before[name][0] != level:
                    change.event(EventLevel(level), "Health", f"{name}: {message}")
            change.set_meta("health_checks", now_seen)

    def _follow_disks(self, readings: HardwareReadings) -> None:
        """Record disks whose state changed below the array, and disks that joined it; each
        once, also when the other controller of a shared store saw it first."""
        if not readings.disk_changes:
            return
        with self._parts.uow.change() as change:
            known = {disk.device_path for disk in change.state.disks.values()}
            for disk_change in readings.disk_changes:
                if isinstance(disk_change, DiskJoined):
                    if disk_change.device_path in known:
                        continue
                    joined = disk_change.build(change.new_id(DISKS))
                    change.put(joined)
                    change.event(EventLevel.INFO, "Disk",
                                 f"Disk {joined.model} ({joined.serial_number}) joined the array.")
                    continue
                live = disk_change.disk
                recorded = change.state.disks.get(live.id)
                if recorded is None or (recorded.health, recorded.status,
                                        recorded.capacity_bytes) == (
                        live.health, live.status, live.capacity_bytes):
                    continue
                change.put(replace(recorded, health=live.health, status=live.status,
                                   capacity_bytes=live.capacity_bytes))
                level = EventLevel.INFO if live.health is DiskHealth.GOOD else EventLevel.ERROR
                change.event(level, "Disk",
                             f"Disk {live.model} is {live.health.value}, {live.status.value}.")

    def _keep_snapshot_space(self) -> None:
        """Delete the oldest unmapped snapshot of each volume whose snapshots hold more than
        its snapshot space, as an array does when the space runs out, with a warning."""
        parts = self._parts
        state, usage = parts.state, parts.observed.usage
        for volume in list(state.volumes.values()):
            if not volume.snapshot_space_bytes:
                continue
            snapshots = views.snapshots_of(state, usage, volume.id)
            if not snapshots:
                continue
            used = views.snapshot_space(usage, volume, snapshots).used_bytes
            if used <= volume.snapshot_space_bytes:
                continue
            held = {m.snapshot_id for m in state.mappings.values()} | {
                v.clone_of.snapshot_id for v in state.volumes.values() if v.clone_of}
            oldest = next((s for s in snapshots if s.id not in held), None)
            if oldest is None:
                continue
            with parts.uow.change() as change:
                if oldest.id not in change.state.snapshots:
                    continue  # the other controller was first
                change.delete(change.state.snapshots[oldest.id])
                change.on_commit(partial(parts.backend.delete_snapshot, volume, oldest))
                change.event(EventLevel.WARNING, "Snapshot",
                             f"Snapshot space of volume {volume.name} is full "
                             f"({-(-used // GIB)} GiB used of "
                             f"{volume.snapshot_space_bytes // GIB} GiB): deleted its oldest "
                             f"snapshot {oldest.name}.")

    def _finish_rebuilds(self) -> None:
        now = self._parts.uow.clock.now()
        due = [
            disk for disk in self._parts.state.disks.values()
            if disk.status is DiskStatus.REBUILDING and disk.rebuild_started_at is not None
            and now >= disk.rebuild_started_at + disk.capacity_bytes / REBUILD_BYTES_PER_SECOND
        ]
        if not due:
            return
        with self._parts.uow.change() as change:
            for disk in due:
                change.put(replace(disk, status=DiskStatus.ONLINE, rebuild_started_at=None))
                pool = change.state.pools.get(disk.pool_id) if disk.pool_id else None
                if pool is None:
                    continue
                change.event(EventLevel.INFO, "Pool",
                             f"Pool {pool.name} finished rebuilding onto slot {disk.slot}.")
                if views.pool_health(change.state, pool) is PoolHealth.GOOD:
                    change.event(EventLevel.INFO, "Pool", f"Pool {pool.name} is healthy again.")

    # The threads

    def start(self, tick_seconds: float) -> None:
        """Tick every tick_seconds in a thread; with a shared store, also take in the other
        controller's changes as soon as it announces them."""
        self._tick_seconds = tick_seconds
        self._stopping.clear()
        loops = [self._ticking]
        if self._parts.uow.store.shared:
            loops.append(self._following)
        self._threads = [threading.Thread(target=loop, daemon=True,
                                          name=f"opensan-{loop.__name__.strip('_')}")
                         for loop in loops]
        for thread in self._threads:
            thread.start()

    def wake(self) -> None:
        """Tick now rather than at the next period: another controller changed the records
        (a disk it saw go down, say), so what this one read may be out of date."""
        self._woken.set()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the threads; a tick stuck on hardware is left to end with the process."""
        self._stopping.set()
        self._woken.set()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []

    def _ticking(self) -> None:
        while True:
            self._woken.wait(self._tick_seconds)
            self._woken.clear()
            if self._stopping.is_set():
                return
            try:
                self.tick()
            except Exception:  # a failed tick must not stop the next ones
                log.exception("Periodic check failed")

    def _following(self) -> None:
        # Waits in short steps, so that stopping does not wait for the other controller.
        while not self._stopping.is_set():
            try:
                if self._parts.uow.store.wait_for_change(FOLLOW_STEP_SECONDS):
                    self._parts.uow.refresh()
            except Exception:
                log.exception("Taking in a change failed")
