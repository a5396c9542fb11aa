"""Helpers of the service tests: refusals that change nothing, the events a change wrote, and
look-ups in the default virtual array.

The default profile (src/opensan/backends/simulated/profiles/default.toml) gives an XS5226D
with 26 disks: hard disks in slots 1-24, SSDs in 25-26. Pool-1 is RAID 6 over slots 1-8
(thick), slot 9 is a global spare, the other disks are free. vol-db (2048 GiB) has 512 GiB of
snapshot space, snapshots daily-1 and daily-2 (the newer holds 40 GiB of host writes) and is
mapped as LUN 0 of target 0 (controller 1) and target 1 (controller 2); vol-backup (4096 GiB)
has neither snapshot space nor a mapping.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

import pytest

from opensan.backends.simulated.backend import TRAITS, SimulatedBackend
from opensan.domain.errors import ErrorCode, SanError
from opensan.domain.models import (
    ArrayState,
    Disk,
    DiskHealth,
    DiskUsage,
    EventLevel,
    PoolView,
    Snapshot,
    VolumeView,
)
from opensan.service.array import ArrayService

SEED = 20261129
BACKEND_OPTIONS = {"backend": "simulated", "model": "XS5226D", "seed": SEED, "ssd_bays": 2}
INFO, WARNING, ERROR = EventLevel.INFO, EventLevel.WARNING, EventLevel.ERROR
IQN = "iqn.1994-05.com.redhat:host1"

Event = tuple[EventLevel, str, str]

# Refusals

@dataclass
class Before:
    state: ArrayState
    version: int
    event_count: int

def before(service: ArrayService) -> Before:
    return Before(copy.deepcopy(service.state), service.version,
                  service.uow.store.event_count())

def assert_unchanged(service: ArrayService, then: Before) -> None:
    """Memory, the store's records, the version and the event log are as they were."""
    assert service.state == then.state
    assert service.uow.store.load_state() == then.state
    assert service.version == then.version
    assert service.uow.store.event_count() == then.event_count

@dataclass
class Refusal:
    error: Any = None

@contextmanager
def refused(service: ArrayService, error: type[SanError], code: ErrorCode | None = None,
            case: object = None) -> Iterator[Refusal]:
    """The block must raise `error` (with `code`, where given) and change nothing at all;
    `case` names the input in the failure message of a test that tries several."""
    then = before(service)
    refusal = Refusal()
    try:
        yield refusal
    except error as caught:
        refusal.error = caught
    else:
        pytest.fail(f"{error.__name__} not raised" + ("" if case is None else f" for {case!r}"))
    if code is not None:
        assert refusal.error.code is code, f"{case!r}: {refusal.error.code!r} != {code!r}"
    assert_unchanged(service, then)

# Events

class EventLog:
    """The events written since it was made, or since mark()."""

    def __init__(self, service: ArrayService) -> None:
        self._service = service
        self.mark()

    def mark(self) -> None:
        self._seen = self._service.uow.store.event_count()

    def new(self) -> list[Event]:
        """The events written since the mark, oldest first, as (level, source, message); moves
        the mark on."""
        page = self._service.system.events(1)
        assert page.total - self._seen <= page.page_size, "more new events than one page"
        found = [(e.level, e.source, e.message) for e in reversed(page.events)
                 if e.id > self._seen]
        self._seen = page.total
        return found

def messages(service: ArrayService) -> list[str]:
    """Every event message on the first page of the log."""
    return [event.message for event in service.system.events(1).events]

# Look-ups

def pool_named(service: ArrayService, name: str = "Pool-1") -> PoolView:
    return next(view for view in service.pools.all() if view.pool.name == name)

def volume_named(service: ArrayService, name: str) -> VolumeView:
    return next(view for view in service.volumes.all() if view.volume.name == name)

def snapshot_named(service: ArrayService, volume: str, name: str) -> Snapshot:
    _space, snapshots = service.snapshots.of_volume(volume_named(service, volume).volume.id)
    return next(snapshot for snapshot in snapshots if snapshot.name == name)

def disk_in_slot(service: ArrayService, slot: int) -> Disk:
    return next(disk for disk in service.state.disks.values() if disk.slot == slot)

def free_disks(service: ArrayService, count: int, ssd: bool = False) -> list[int]:
    """The IDs of the first `count` free disks of one kind, lowest slots first."""
    free = sorted((d for d in service.state.disks.values()
                   if d.usage is DiskUsage.FREE and d.health is DiskHealth.GOOD
                   and d.type.solid_state == ssd),
                  key=lambda d: d.slot)
    assert len(free) >= count
    return [disk.id for disk in free[:count]]

def members(service: ArrayService, name: str = "Pool-1") -> list[Disk]:
    return [service.state.disks[d] for d in pool_named(service, name).pool.disk_ids]

def fail_pool(service: ArrayService, name: str = "Pool-1") -> None:
    """Make a RAID 6 pool fail: no spare to rebuild onto, then three members fail."""
    spares = [d.id for d in service.state.disks.values() if d.usage is DiskUsage.GLOBAL_SPARE]
    if spares:
        service.disks.set_spare(spares, DiskUsage.FREE)
    for disk in members(service, name)[:3]:
        service.simulation.fail_disk(disk.id)

# Backends the tests shape

def backend_with(**traits: Any) -> SimulatedBackend:
    """A virtual array's backend that declares other traits (no capabilities, pools that
    share their disks, thin provisioning only)."""
    backend = SimulatedBackend(seed=SEED)
    backend.traits = replace(TRAITS, **traits)  # type: ignore[misc]
    return backend
