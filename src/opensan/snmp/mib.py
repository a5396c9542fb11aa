"""What the SNMP agent serves, built from the service's memory (never from the backend): the
MIB-2 system group and QSAN's enterprise tree (QSAN-SNMP-MIB) as the Zabbix template for the
XS3224 and other QSAN consumers read it (../shared/reference/qsan-snmp.md).

Every object is a DisplayString, as in QSAN's MIB: the template compares words (`OK`, `Good`,
`Online`, `Optimal`). The table is kept as a sorted list of OIDs, so a GET is a dictionary
look-up and a GETNEXT a bisection; only sysUpTime is read at each request.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from pysnmp.proto import rfc1902

from opensan import __version__
from opensan.domain import views
from opensan.domain.measured import HardwareReadings
from opensan.domain.models import (
    ArrayState,
    Disk,
    PoolHealth,
    Sensor,
    SensorStatus,
    SensorType,
)
from opensan.service.array import ArrayService

Oid = tuple[int, ...]

QSAN = (1, 3, 6, 1, 4, 1, 22274)
RAID = (*QSAN, 1)
SYSTEM = (1, 3, 6, 1, 2, 1, 1)
SYS_UPTIME = (*SYSTEM, 3, 0)
SYS_STATUS = (*RAID, 1, 1)  # sys-status-raid .. sys-status-dual: "0" OK, "1" NG
MAINTENANCE = (*RAID, 4, 1)  # maintenance-info-cpu, -mem, -fw, -serial-no, -backplane-id
DISKS = (*RAID, 2, 1, 1)  # physical-disk-item
POOLS = (*RAID, 2, 2, 1)  # raid-group-item
VOLUMES = (*RAID, 2, 3, 1)  # virtual-disk-item
HARDWARE_MONITOR = (*RAID, 3, 2, 1)  # ems-loc, ems-type, ems-item, ems-value, ems-status
TRAP_ENTERPRISE = (*RAID, 8000)  # "event": every trap of QSAN's MIB is under it
EVENT_STRING = (*RAID, 8001)  # the trap's one variable: the event message
GIB = 1024**3
MIB = 1024**2

# The hardware monitor rows the XS3224 template reads by number (27 to 41), and the virtual
# array's sensor in each. Every other sensor (and on Linux and Ceph every sensor) takes the
# next free row from 1, skipping these.
FIXED_ROWS: dict[str, int] = {
    "ctr1-cpu-temp": 27, "ctr1-slot1-temp": 28, "ctr1-sas-expander-temp": 29,
    "bp-temp-1": 30, "bp-temp-2": 31, "bp-temp-3": 32,
    "ctr2-cpu-temp": 33, "ctr2-slot1-temp": 34, "ctr2-sas-expander-temp": 35,
    "psu-1": 36, "psu-2": 37, "fan-1": 38, "fan-2": 39, "fan-3": 40, "fan-4": 41,
}
_SENSOR_TYPES = {
    SensorType.TEMPERATURE: "Temperature", SensorType.FAN: "Cooling Fan",
    SensorType.PSU: "Power Supply", SensorType.VOLTAGE: "Voltage",
    SensorType.BATTERY: "Cache Protection", SensorType.HEALTH: "Health",
}
_CACHE_MODES = {"Write-back": "WB", "Write-through": "WT"}


def ems_status(status: SensorStatus) -> str:
    """QSAN's ems-status: `OK` while the sensor is Good, its own word otherwise."""
    return "OK" if status is SensorStatus.GOOD else status.value


def ems_value(sensor: Sensor) -> str:
    """As QSAN writes readings: `+35.0 (C)`, `+12.05 (V)`, `5100 (RPM)`; words as they are."""
    value = sensor.value
    if isinstance(value, str):
        return value
    if sensor.unit in ("C", "V"):
        return f"{value:+.{1 if sensor.unit == 'C' else 2}f} ({sensor.unit})"
    return f"{value:g} ({sensor.unit})" if sensor.unit else f"{value:g}"


# What a Linux server's hwmon really has behind a template row: its CPU package temperature
# (Intel's coretemp, AMD's k10temp), as the one controller's CPU (row 27), and its fans, in
# hwmon's order, as fans 1 to 4 (rows 38 to 41). Nothing on Linux or Ceph is behind the others.
_CPU_PACKAGE = {("coretemp", "Package id 0"), ("k10temp", "Tctl"), ("k10temp", "Tdie")}
_CPU_ROW, _FAN_ROWS = 27, (38, 39, 40, 41)


def sensor_rows(readings: HardwareReadings) -> dict[int, Sensor]:
    """Each sensor's row of the hardware monitor: the template's rows first (FIXED_ROWS, or
    a Linux server's CPU package and fans), then the free rows from 1."""
    sensors = [s for enclosure in readings.enclosures for s in enclosure.sensors]
    rows = {FIXED_ROWS[s.id]: s for s in sensors if s.id in FIXED_ROWS}
    free_fans = [row for row in _FAN_ROWS if row not in rows]
    others = []
    for sensor in sensors:
        if sensor.id in FIXED_ROWS:
            continue
        if (sensor.location, sensor.name) in _CPU_PACKAGE and _CPU_ROW not in rows:
            rows[_CPU_ROW] = sensor
        elif sensor.type is SensorType.FAN and free_fans:
            rows[free_fans.pop(0)] = sensor
        else:
            others.append(sensor)
    taken = set(FIXED_ROWS.values())
    row = 0
    for sensor in others:
        row += 1
        while row in taken:
            row += 1
        rows[row] = sensor
    return rows


def disk_location(disk: Disk) -> str:
    """QSAN's pd-location: `e0d0` is the head unit's first slot."""
    return f"e{disk.enclosure_id}d{disk.slot - 1}"


@dataclass(frozen=True)
class Table:
    """Every served OID in order, with its value: text (a DisplayString), a pysnmp value, or
    None for sysUpTime, read when asked (ArrayMib.value)."""

    oids: list[Oid]
    values: dict[Oid, Any]

    def next_after(self, oid: Oid) -> Iterator[Oid]:
        """The served OIDs after oid, in order (what GETNEXT walks)."""
        for at in range(bisect.bisect_right(self.oids, oid), len(self.oids)):
            yield self.oids[at]

    def has_object(self, oid: Oid) -> bool:
        """Whether oid's object (its OID less the last sub-identifier) has any instance."""
        parent = oid[:-1]
        at = bisect.bisect_left(self.oids, parent)
        return at < len(self.oids) and self.oids[at][:len(parent)] == parent


def _table(values: dict[Oid, Any]) -> Table:
    return Table(sorted(values), values)


# The storage tables (disks, pools, volumes) sit between the hardware part's OIDs.
_STORAGE, _AFTER_STORAGE = (*RAID, 2), (*RAID, 3)


class ArrayMib:
    """The agent's view of the array, read from the service as /metrics reads it, in two parts
    kept apart: the storage tables, built again only after a change (or a use measurement),
    and the rest, which follows the hardware the tick reads every second."""

    def __init__(self, service: ArrayService, contact: str = "", location: str = "") -> None:
        self._service = service
        self._contact = contact
        self._location = location
        self._lock = threading.Lock()
        # part -> (key, table); "all" is both joined.
        self._kept: dict[str, tuple[tuple[Any, ...], Table]] = {}

    def uptime(self) -> rfc1902.TimeTicks:
        """sysUpTime: hundredths of a second since the array started, on the array clock."""
        service = self._service
        seconds = service.uow.clock.now() - service.system.started_at
        return rfc1902.TimeTicks(max(0, int(seconds * 100)) % 2**32)

    def value(self, table: Table, oid: Oid) -> Any:
        """The served value of oid (in table) as pysnmp sends it."""
        value = table.values[oid]
        if value is None:
            return self.uptime()
        return rfc1902.OctetString(value.encode()) if isinstance(value, str) else value

    def table(self) -> Table:
        service = self._service
        observed = service.observed
        state, readings = service.state, observed.hardware
        storage = self._part("storage", (service.version, observed.usage_generation),
                             lambda: self._storage(state))
        hardware = self._part("hardware", (service.version, readings),
                              lambda: self._hardware(state, readings))

        def joined() -> Table:
            oids = hardware.oids
            before = bisect.bisect_left(oids, _STORAGE)
            after = bisect.bisect_left(oids, _AFTER_STORAGE)
            return Table(oids[:before] + storage.oids + oids[after:],
                         {**hardware.values, **storage.values})

        return self._part("all", (storage, hardware), joined)

    def _part(self, part: str, key: tuple[Any, ...], build: Callable[[], Table]) -> Table:
        """The part's table, built again only when its key moved on (the state version, the
        very readings it is built from)."""
        with self._lock:
            kept = self._kept.get(part)
        if kept is not None and all(a is b or (type(a) is int and a == b)
                                    for a, b in zip(kept[0], key, strict=True)):
            return kept[1]
        table = build()
        with self._lock:
            self._kept[part] = (key, table)
        return table

    def _hardware(self, state: ArrayState, readings: HardwareReadings) -> Table:
        """The system group, sys-status, maintenance-info and the hardware monitor."""
        service = self._service
        hardware = readings.system
        values: dict[Oid, Any] = {}

        def put(oid: Oid, value: object) -> None:
            values[oid] = str(value)

        put((*SYSTEM, 1, 0), f"QSAN {hardware.model_name} firmware {hardware.firmware_version}, "
            f"OpenSAN {__version__} ({service.traits.name} backend)")
        values[(*SYSTEM, 2, 0)] = rfc1902.ObjectIdentifier(QSAN)
        values[SYS_UPTIME] = None  # read at each request
        put((*SYSTEM, 4, 0), self._contact)
        put((*SYSTEM, 5, 0), service.system.name)
        put((*SYSTEM, 6, 0), self._location)
        values[(*SYSTEM, 7, 0)] = rfc1902.Integer32(72)  # application and end-to-end services

        rows = sensor_rows(readings)
        for row, sensor in rows.items():
            for column, value in enumerate((sensor.location, _SENSOR_TYPES[sensor.type],
                                            f"{sensor.location} {sensor.name}",
                                            ems_value(sensor), ems_status(sensor.status)), 1):
                put((*HARDWARE_MONITOR, column, row), value)

        def bad(*types: SensorType) -> int:
            return int(any(s.status is not SensorStatus.GOOD for s in rows.values()
                           if s.type in types))

        raid_bad = int(any(views.pool_health(state, pool) is not PoolHealth.GOOD
                           for pool in state.pools.values()))
        dual_bad = int(any(c.status != "Normal" for c in hardware.controllers))
        for item, flag in enumerate((raid_bad, bad(SensorType.TEMPERATURE),
                                     bad(SensorType.VOLTAGE), 0, bad(SensorType.FAN),
                                     bad(SensorType.PSU), dual_bad), 1):
            put((*SYS_STATUS, item), flag)  # the 4th, UPS: no UPS is attached
        for item, value in ((3, f"{hardware.model_name} {hardware.firmware_version}"),
                            (4, hardware.serial_number), (5, hardware.backplane.id)):
            put((*MAINTENANCE, item), value)

        return _table(values)

    def _storage(self, state: ArrayState) -> Table:
        """The disk, pool (raid-group) and volume (virtual-disk) tables."""
        values: dict[Oid, Any] = {}

        def put_row(table: Oid, row: int, columns: tuple[object, ...]) -> None:
            """A table's row, its columns from 1; a column of None is not served."""
            for column, value in enumerate(columns, 1):
                if value is not None:
                    values[(*table, column, row)] = str(value)

        pool_views = views.pool_views(state, self._service.observed.usage)
        pools = {v.pool.id: v for v in pool_views}
        for row, disk in enumerate(sorted(state.disks.values(),
                                          key=lambda d: (d.enclosure_id, d.slot)), 1):
            pool = pools.get(disk.pool_id) if disk.pool_id is not None else None
            put_row(DISKS, row, (disk_location(disk), disk.capacity_bytes // GIB,
                                 pool.pool.name if pool else "", disk.status.value,
                                 disk.health.value, disk.usage.value, disk.vendor,
                                 disk.serial_number, disk.type.value))

        for row, view in enumerate(sorted(pool_views, key=lambda v: (v.pool.created_at,
                                                                     v.pool.id)), 1):
            put_row(POOLS, row, (view.pool.name, view.capacity_bytes // GIB,
                                 view.free_bytes // GIB, len(view.pool.disk_ids),
                                 view.volume_count, view.status.value, view.health.value,
                                 view.pool.protection_label))

        for row, volume_view in enumerate(views.volume_views(state,
                                                             self._service.observed.usage), 1):
            volume = volume_view.volume
            put_row(VOLUMES, row, (
                volume.name, volume.capacity_bytes // GIB,
                _CACHE_MODES.get(volume.cache_mode.value, volume.cache_mode.value), None, None,
                volume_view.status.value, volume_view.health.value, None,
                volume_view.protection, None,
                f"{volume_view.snapshot_used_bytes // MIB}/{volume.snapshot_space_bytes // MIB}",
                volume_view.snapshot_count, state.pools[volume.pool_id].name))
        return _table(values)
