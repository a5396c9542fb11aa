"""The virtual XCubeSAN: believable hardware from the model catalogue, no data plane.

Storage changes need nothing real here: the service's records are the whole array, and use
follows from them. What this backend adds is the hardware (disks, S.M.A.R.T., sensors,
identity) and the hosts' I/O (workload.py), deterministic for the array's seed, and the fault
knobs integrators use to test their monitoring.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from opensan.backends.base import BackendSpec, StorageBackend
from opensan.backends.simulated import hardware
from opensan.backends.simulated.catalogue import DEFAULT_MODEL, get_model
from opensan.backends.simulated.workload import HostWorkload
from opensan.domain.measured import HardwareReadings, Performance
from opensan.domain.models import (
    ArrayState,
    Disk,
    FcPort,
    LunMapping,
    Pool,
    SensorStatus,
    Snapshot,
    Target,
    Volume,
)
from opensan.domain.traits import BackendTraits, Capability

ISCSI_PORT = 3260
# How fast the virtual array copies a clone, in the array clock's time: a 10 GiB clone is done
# within the 5 s goqsan's clone test waits before it deletes the source.
CLONE_BYTES_PER_SECOND = 4 * 1024**3
TRAITS = BackendTraits(name="simulated", capabilities=frozenset(Capability),
                       allows_default_passwords=True)


class SimulatedBackend(StorageBackend):
    traits = TRAITS

    def __init__(self, model: str = DEFAULT_MODEL, seed: int = 0, ssd_bays: int = 2,
                 host_cards: tuple[str, ...] | None = None) -> None:
        self.model = get_model(model)
        self.seed = seed
        self.ssd_bays = ssd_bays
        self.identity = hardware.identity(self.model, seed, host_cards)
        self.system = hardware.system_hardware(self.model, seed, host_cards)
        self.change_latency_seconds = 0.0
        self.host_workload = HostWorkload(seed)

    def model_name(self) -> str:
        return self.model.name

    def serial_number(self) -> str:
        return self.identity.system_serial

    def controller_count(self) -> int:
        return self.model.controllers

    def portals(self, controller: int) -> tuple[str, ...]:
        # Documentation addresses (RFC 5737): the data ports of a virtual array lead nowhere.
        return tuple(f"192.0.2.{controller * 10 + port}:{ISCSI_PORT}" for port in (1, 2))

    def fc_ports(self, controller: int) -> tuple[FcPort, ...]:
        return hardware.fc_ports(self.identity, controller)

    def discover_disks(self, now: float, new_id: Callable[[], int]) -> list[Disk]:
        return hardware.generate_disks(self.model, self.seed, now, new_id, self.ssd_bays)

    def read_hardware(self, state: ArrayState, now: float,
                      sensor_overrides: Mapping[str, SensorStatus]) -> HardwareReadings:
        """Sensors drift and disks age with the array clock; forced sensors keep their status."""
        disks = state.disks.values()
        return HardwareReadings(
            system=self.system,
            enclosures=hardware.read_sensors(self.model, self.seed, now, sensor_overrides),
            smart={disk.id: hardware.smart_report(disk, self.seed, now) for disk in disks},
            temperatures={disk.id: hardware.disk_temperature_c(disk, self.seed, now)
                          for disk in disks},
        )

    def read_performance(self, state: ArrayState, now: float) -> Performance:
        """The hosts' I/O so far (backends/simulated/workload.py)."""
        return self.host_workload.read(state, now)

    def replacement_disk(self, failed: Disk, now: float, new_id: Callable[[], int]) -> Disk:
        return hardware.replacement_disk(failed, self.seed, now, new_id)

    def set_change_latency(self, seconds: float) -> None:
        self.change_latency_seconds = seconds

    def _apply(self) -> None:
        """A change on the virtual array takes no time unless a client asked for latency."""
        if self.change_latency_seconds:
            time.sleep(self.change_latency_seconds)

    def create_pool(self, pool: Pool, disks: list[Disk], force: bool) -> None:
        self._apply()

    def delete_pool(self, pool: Pool, members: list[Disk]) -> None:
        self._apply()

    def add_pool_disks(self, pool: Pool, disks: list[Disk]) -> None:
        self._apply()

    def create_volume(self, volume: Volume) -> None:
        self._apply()

    def extend_volume(self, volume: Volume) -> None:
        self._apply()

    def delete_volume(self, volume: Volume) -> None:
        self._apply()

    def set_snapshot_space(self, volume: Volume) -> None:
        self._apply()

    def create_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        self._apply()

    def delete_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        self._apply()

    def rollback_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        self._apply()

    def create_clone(self, clone: Volume, source: Volume, snapshot: Snapshot | None) -> None:
        self._apply()

    def clone_progress(self, clone: Volume, source: Volume, snapshot: Snapshot | None,
                       now: float) -> int:
        """The copy follows the array clock from the clone's creation, at
        CLONE_BYTES_PER_SECOND of the clone's size."""
        seconds = clone.capacity_bytes / CLONE_BYTES_PER_SECOND
        return min(100, int(100 * max(0.0, now - clone.created_at) / seconds))

    def create_target(self, target: Target) -> None:
        self._apply()

    def delete_target(self, target: Target) -> None:
        self._apply()

    def map_lun(
        self, target: Target, mapping: LunMapping, volume: Volume, snapshot: Snapshot | None
    ) -> None:
        self._apply()

    def unmap_lun(self, target: Target, mapping: LunMapping) -> None:
        self._apply()


def create(options: dict[str, Any]) -> StorageBackend:
    return SimulatedBackend(
        model=options.get("model", DEFAULT_MODEL),
        seed=int(options.get("seed", 0)),
        ssd_bays=int(options.get("ssd_bays", 2)),
        host_cards=tuple(options["host_cards"]) if options.get("host_cards") else None,
    )


SPEC = BackendSpec(create=create, uses_default_profile=True, https_by_default=False)
