"""The array's families, with the names, labels and units of OpenSAN's own /metrics
(api/metrics.py; docs/monitoring.md), built from what a source read.

States are state sets as there: every state of the array's words has a sample, 1 for the
current one; a word the exporter does not know (another firmware's) gets a sample of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)

from opensan.client.models import (
    Disk,
    DiskSmart,
    HardwareMonitor,
    LunMapping,
    Pool,
    SystemInfo,
    Target,
    Volume,
)
from opensan.client.xevo import XevoAbout
from opensan.metric_names import SENSOR_VALUES

# QSAN's state words, as SANOS answers them (tests/exporter check them against OpenSAN's).
SYSTEM_HEALTH = ("Good", "Degraded", "Failed")
SENSOR_STATUS = ("Good", "Warning", "Failed")
DISK_HEALTH = ("Good", "Failed", "Error Alert", "Read Errors")
DISK_STATUS = ("Online", "Rebuilding", "Transition", "Scrubbing", "Missing")
DISK_USAGE = ("Free", "RAID", "Dedicated Spare", "Local Spare", "Global Spare")
POOL_HEALTH = ("Good", "Degraded", "Failed")
POOL_STATUS = ("Online", "Offline", "Rebuilding", "Initiating")
VOLUME_HEALTH = ("Optimal", "Degraded", "Failed", "Partially optimal")
VOLUME_STATUS = ("Online", "Offline", "Initiating", "Rebuild", "Migrate", "Rollback",
                 "Parity checking")
EVENT_LEVELS = ("INFO", "WARNING", "ERROR")


Row = tuple[list[str], float]


def _text(value: object) -> str:
    return "" if value is None else str(value)


def gauge(name: str, help_text: str, names: list[str], rows: Iterable[Row],
          unit: str = "") -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, help_text, labels=names, unit=unit)
    for values, value in rows:
        family.add_metric(values, value)
    return family


def info(name: str, help_text: str, rows: Iterable[dict[str, Any]]) -> InfoMetricFamily:
    family = InfoMetricFamily(name, help_text, labels=[])
    for pairs in rows:
        family.add_metric([], {key: _text(value) for key, value in pairs.items()})
    return family


def states(name: str, help_text: str, names: list[str], words: tuple[str, ...],
           rows: Iterable[tuple[list[str], str]]) -> GaugeMetricFamily:
    """A state set: one sample for each word (and for a current word not among them)."""
    family = GaugeMetricFamily(name, help_text, labels=[*names, "state"])
    for values, current in rows:
        for word in words if current in words else (*words, current):
            family.add_metric([*values, word], 1 if word == current else 0)
    return family


def _system(model: str, serial_number: str, firmware: str, name: str) -> InfoMetricFamily:
    return info("opensan_system", "The array: model, serial number, firmware, name and backend "
                "(empty: the SANOS API does not say).",
                [{"model": model, "serial_number": serial_number, "firmware_version": firmware,
                  "system_name": name, "backend": ""}])


def system(info_: SystemInfo) -> Iterator[Metric]:
    yield _system(info_.model_name, info_.serial_number, info_.firmware_version,
                  info_.system_name)
    yield states("opensan_system_health", "Health of the whole array.", [], SYSTEM_HEALTH,
                 [([], info_.system_health)])
    yield info("opensan_controller", "Each controller: serial number, firmware and status.",
               ({"controller": c.slot, "serial_number": c.serial_number, "status": c.status,
                 "firmware_version": c.firmware_version} for c in info_.controllers))
    yield gauge("opensan_controller_up", "1 while the controller's status is Normal.",
                ["controller"], (([str(c.slot)], int(c.status == "Normal"))
                                 for c in info_.controllers))
    now = info_.time.timestamp()
    yield gauge("opensan_start_time_seconds", "When the array started (unix time of the array "
                "clock: its time less its uptime).", [], [([], now - info_.uptime_seconds)],
                "seconds")
    yield gauge("opensan_array_time_seconds", "The array clock (unix time), as last read.", [],
                [([], now)], "seconds")


def about(found: XevoAbout) -> Iterator[Metric]:
    """A XEVO array's system: its about call says no health, controllers or clock."""
    yield _system(found.model_name, found.serial_number, found.firmware_ver, found.system_name)


def hardware(monitor: HardwareMonitor) -> Iterator[Metric]:
    sensors = [(enclosure.id, s) for enclosure in monitor.enclosures for s in enclosure.sensors]

    def where(enclosure_id: int, sensor: Any) -> list[str]:
        return [_text(sensor.id), str(enclosure_id), sensor.location, sensor.name]

    names = ["sensor_id", "enclosure_id", "location", "name"]
    yield states("opensan_sensor_status", "Status of each sensor of the hardware monitor.",
                 [*names, "type"], SENSOR_STATUS,
                 (([*where(e, s), s.type], s.status) for e, s in sensors))
    for unit, (family, family_unit, scale, help_text) in SENSOR_VALUES.items():
        yield gauge(family, help_text, names,
                    ((where(e, s), s.value * scale) for e, s in sensors
                     if s.unit == unit and isinstance(s.value, int | float)), family_unit)


def hardware_info(monitor: HardwareMonitor) -> Iterator[Metric]:
    """A XEVO array's hardware call: the system's health (SANOS's comes with its system info)
    and the head unit's readings."""
    yield states("opensan_system_health", "Health of the whole array.", [], SYSTEM_HEALTH,
                 [([], monitor.system_health)])
    yield from hardware(monitor)


def disks(found: list[Disk]) -> Iterator[Metric]:
    yield info("opensan_disk", "Each disk: where it sits and what it is.",
               ({"disk_id": d.id, "enclosure_id": d.enclosure_id, "slot": d.slot,
                 "vendor": d.vendor, "model": d.model, "serial_number": d.serial_number,
                 "firmware_version": d.firmware_version, "type": d.type,
                 "interface_speed": d.interface_speed} for d in found))
    yield info("opensan_disk_pool", "The pool each disk belongs to (members and dedicated "
               "spares).", ({"disk_id": d.id, "pool_id": d.pool_id} for d in found
                            if d.pool_id is not None))
    ids = [(str(d.id), d) for d in found]
    yield gauge("opensan_disk_capacity_bytes", "Capacity of each disk.", ["disk_id"],
                (([i], d.capacity_bytes) for i, d in ids), "bytes")
    for field, words, help_text in (
            ("health", DISK_HEALTH, "Health of each disk."),
            ("status", DISK_STATUS, "Status of each disk."),
            ("usage", DISK_USAGE, "What each disk is used as (QSAN's usage).")):
        yield states(f"opensan_disk_{field}", help_text, ["disk_id"], words,
                     (([i], getattr(d, field)) for i, d in ids))


def smart(found: list[DiskSmart]) -> Iterator[Metric]:
    ids = [(str(s.disk_id), s) for s in found]
    yield gauge("opensan_disk_temperature_celsius", "Temperature of each disk, as last read.",
                ["disk_id"], (([i], s.temperature_c) for i, s in ids
                              if s.temperature_c is not None), "celsius")
    yield gauge("opensan_disk_power_on_seconds", "Power-on time of each disk (S.M.A.R.T.).",
                ["disk_id"], (([i], s.power_on_hours * 3600) for i, s in ids
                              if s.power_on_hours is not None), "seconds")
    # QSAN's firmware does not send `supported`: a disk it answers attributes for has them.
    yield gauge("opensan_disk_smart_supported", "1 where the disk reports S.M.A.R.T. data.",
                ["disk_id"], (([i], int(s.supported if s.supported is not None
                                        else bool(s.attributes))) for i, s in ids))
    attributes = [([i, str(a.id), a.name], a) for i, s in ids for a in s.attributes]
    names = ["disk_id", "attribute_id", "attribute"]
    for family, read, help_text in (
            ("value", lambda a: a.value, "Normalized value of each S.M.A.R.T. attribute (lower "
             "is worse)."),
            ("threshold", lambda a: a.threshold, "Threshold of each S.M.A.R.T. attribute: the "
             "disk fails it at or below."),
            ("raw", lambda a: a.raw, "Raw value of each S.M.A.R.T. attribute (counts, hours, "
             "degrees)."),
            ("failing", lambda a: int(a.status != "OK"), "1 while the attribute is failing "
             "now.")):
        yield gauge(f"opensan_disk_smart_attribute_{family}", help_text, names,
                    ((values, read(a)) for values, a in attributes))


def pools(found: list[Pool]) -> Iterator[Metric]:
    yield info("opensan_pool", "Each pool: its name, RAID level (or protection) and "
               "provisioning.", ({"pool_id": p.id, "name": p.name, "raid_level": p.raid_level,
                                  "provision": p.type} for p in found))
    rows = [([str(p.id), p.name], p) for p in found]
    names = ["pool_id", "name"]
    for field, help_text in (
            ("capacity_bytes", "Usable capacity of the pool."),
            ("used_bytes", "Capacity of the pool allocated to volumes and snapshot space."),
            ("free_bytes", "Capacity of the pool not allocated.")):
        # A XEVO array says none of these figures (None): no sample rather than a made-up one.
        yield gauge(f"opensan_pool_{field}", help_text, names,
                    ((values, getattr(p, field)) for values, p in rows
                     if getattr(p, field) is not None), "bytes")
    yield states("opensan_pool_health", "Health of each pool, from its disks and RAID level.",
                 names, POOL_HEALTH, ((values, p.health) for values, p in rows
                                      if p.health is not None))
    yield states("opensan_pool_status", "Status of each pool.", names, POOL_STATUS,
                 ((values, p.status) for values, p in rows if p.status is not None))
    yield gauge("opensan_pool_disks", "Member disks of each pool.", names,
                ((values, len(p.disk_ids)) for values, p in rows if p.disk_ids is not None))
    yield gauge("opensan_pool_volumes", "Volumes in each pool.", names,
                ((values, p.volume_count) for values, p in rows))


_VOLUME_GAUGES: tuple[tuple[str, Callable[[Volume], float], str], ...] = (
    ("capacity_bytes", lambda v: v.capacity_bytes, "Capacity of the volume."),
    ("used_bytes", lambda v: v.used_bytes, "Capacity of the volume in use (all of a thick "
     "volume, the written part of a thin one)."),
    ("snapshot_space_bytes", lambda v: v.snapshot_space_bytes, "Snapshot space set aside for "
     "the volume."),
    ("snapshot_used_bytes", lambda v: v.snapshot_used_bytes, "Snapshot space the volume's "
     "snapshots hold."),
    ("snapshots", lambda v: v.snapshot_count, "Snapshots of the volume."),
    ("mapped", lambda v: int(v.mapped), "1 while the volume is mapped to a LUN."),
)


def volumes(found: list[Volume]) -> Iterator[Metric]:
    yield info("opensan_volume", "Each volume: its provisioning, WWN and cache mode.",
               ({"volume_id": v.id, "name": v.name, "pool_id": v.pool_id,
                 "provision": v.provision, "wwn": v.wwn, "cache_mode": v.cache_mode}
                for v in found))
    rows = [([str(v.id), v.name, str(v.pool_id)], v) for v in found]
    names = ["volume_id", "name", "pool_id"]
    for family, read, help_text in _VOLUME_GAUGES:
        yield gauge(f"opensan_volume_{family}", help_text, names,
                    ((values, read(v)) for values, v in rows),
                    "bytes" if family.endswith("_bytes") else "")
    yield states("opensan_volume_health", "Health of each volume, from its pool.", names,
                 VOLUME_HEALTH, ((values, v.health) for values, v in rows))
    yield states("opensan_volume_status", "Status of each volume.", names, VOLUME_STATUS,
                 ((values, v.status) for values, v in rows))


def targets(found: list[Target]) -> Iterator[Metric]:
    yield info("opensan_target", "Each iSCSI target.",
               ({"target_id": t.id, "type": t.type, "controller": t.controller, "node": t.node,
                 "iqn": t.iqn, "name": t.name} for t in found))
    yield gauge("opensan_target_luns", "LUNs mapped on each target.", ["target_id"],
                (([str(t.id)], t.lun_count) for t in found))


def mappings(found: list[LunMapping]) -> Iterator[Metric]:
    yield info("opensan_lun_mapping", "Each LUN mapping: the volume (or snapshot) a LUN of a "
               "target exports, its permission and hosts.",
               ({"target_id": m.target_id, "lun": m.lun, "volume_id": m.volume_id,
                 "snapshot_id": m.snapshot_id, "permission": m.permission,
                 "hosts": ",".join(m.hosts)} for m in found))


def events(counts: Mapping[str, int]) -> Iterator[Metric]:
    family = CounterMetricFamily("opensan_events", "Events the array recorded since the "
                                 "exporter started, by level.", labels=["level"])
    for level in (*EVENT_LEVELS, *sorted(set(counts) - set(EVENT_LEVELS))):
        family.add_metric([level], counts.get(level, 0))
    yield family


# Read name -> the families its answer makes (the events' are made from the counts).
BUILDERS: dict[str, Callable[[Any], Iterator[Metric]]] = {
    "system": system, "about": about, "hardware": hardware, "hardware_info": hardware_info,
    "disks": disks, "smart": smart, "pools": pools,
    "volumes": volumes, "targets": targets, "mappings": mappings, "new_events": events,
}
