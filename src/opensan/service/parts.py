"""What the operations of every noun share: the unit of work, the backend, what was measured.

The operations live in one module per noun (pools.py, volumes.py, ...); each gets the same Parts,
so none reaches another's insides and ArrayService only composes them.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from opensan.backends.base import StorageBackend
from opensan.domain.errors import NotSupported
from opensan.domain.measured import NOT_MEASURED, HardwareReadings, Usage
from opensan.domain.models import ArrayState, Provision, SensorStatus
from opensan.domain.traits import BackendTraits, Capability
from opensan.service.io_history import IoHistory
from opensan.service.unit_of_work import UnitOfWork

log = logging.getLogger("opensan")


@dataclass
class Observed:
    """What the backend last measured and read, kept in memory for every read.

    A reading is kept only if no change committed while it was taken (it would describe the
    array before that change, which measures again itself), so figures never go back in time.
    """

    readings: HardwareReadings | None = None
    usage: Usage = NOT_MEASURED
    # Moves on with every kept measurement: part of every cached read's key.
    usage_generation: int = 0
    # The I/O counters as read, for rates now and over a window.
    io: IoHistory = field(default_factory=IoHistory)
    # Percent done of each clone in progress, by volume ID, as the backend last said.
    clone_progress: Mapping[int, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def keep_readings(self, readings: HardwareReadings, taken_at: int, version: int) -> None:
        with self.lock:
            if taken_at == version or self.readings is None:
                self.readings = readings

    def keep_usage(self, usage: Usage, taken_at: int, version: int) -> None:
        with self.lock:
            if taken_at == version:
                self.usage = usage
                self.usage_generation += 1

    def keep_clone_progress(self, progress: Mapping[int, int]) -> None:
        """A new reading of the clones' progress; a changed one is a new generation, so that
        cached reads show it."""
        with self.lock:
            if progress != self.clone_progress:
                self.clone_progress = dict(progress)
                self.usage_generation += 1

    @property
    def hardware(self) -> HardwareReadings:
        if self.readings is None:
            raise RuntimeError("the hardware has not been read yet (ArrayService.start)")
        return self.readings


@dataclass
class Parts:
    uow: UnitOfWork
    backend: StorageBackend
    observed: Observed

    @property
    def traits(self) -> BackendTraits:
        return self.backend.traits

    @property
    def state(self) -> ArrayState:
        return self.uow.state

    def require(self, capability: Capability) -> None:
        """Raises NotSupported when the backend lacks this capability."""
        if capability not in self.traits.capabilities:
            raise NotSupported(f"The {self.traits.name} backend has no {capability.value}.")

    def require_provision(self, provision: Provision, what: str, key: str) -> None:
        """Raises NotSupported for a provisioning type this backend has not (thick on Ceph)."""
        traits = self.traits
        if provision not in traits.provisions:
            have = " or ".join(sorted(p.value.lower() for p in traits.provisions))
            raise NotSupported(f"The {traits.name} backend has no {provision.value.lower()} "
                               f"{what}s: create a {have} {what} ({key}/{have}).")

    def require_dedicated_disks(self, what: str) -> None:
        """Raises NotSupported where every pool spans the cluster's disks (Ceph)."""
        if self.traits.pools_share_disks:
            raise NotSupported(f"On the {self.traits.name} backend every pool spans the "
                               f"cluster's disks: {what} is the cluster's own business.")

    def sensor_overrides(self) -> Mapping[str, SensorStatus]:
        stored: dict[str, str] = self.uow.state.meta.get("sensor_overrides", {})
        return {sensor_id: SensorStatus(status) for sensor_id, status in stored.items()}


Operation = TypeVar("Operation", bound=Callable[..., Any])


def one_at_a_time(method: Operation) -> Operation:
    """Hold the change lock for the whole operation, so that the answer it builds after its
    change committed shows that change and no later one."""

    @functools.wraps(method)
    def locked(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self._parts.uow.lock:
            return method(self, *args, **kwargs)

    return cast(Operation, locked)
