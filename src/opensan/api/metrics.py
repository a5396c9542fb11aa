"""GET /metrics: the array in the Prometheus text format, or OpenMetrics when the scraper asks
for it (Accept), for any logged-in account or the scrape token of the server's settings.

The API's own requests are counted by prometheus-client (a Counter and a Histogram in the app's
own registry), which also chooses the format from the Accept header and writes those families.
The array's families are written here, in the same two formats: prometheus-client's writer takes
about 20 microseconds a sample on this project's machines, and a 4,096-volume array has some
150,000 samples. What follows from the records is written once per state version (and kept as
text; each volume's lines are kept across versions until the volume or what it shows changes),
what the hardware reads once per reading, the I/O counters once per reading of them (in the
thread that read them, while scrapers come: they move every second); a scrape only joins the
parts. A scraper that takes gzip gets the parts' compressed chunks spliced into one stream,
each part compressed once. Every family, its labels and units are in docs/monitoring.md.

States are state sets in the Prometheus sense: one sample per possible state, 1 for the current
one, with the state in the `state` label (`opensan_disk_health{disk_id="...",state="Good"} 1`).
They are typed gauge in both formats: OpenMetrics' own stateset type wants the label named as
the family, and dashboards rely on `state`.
"""

from __future__ import annotations

import functools
import hmac
import math
import struct
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import choose_encoder, gzip_accepted
from prometheus_client.utils import floatToGoString

from opensan.api.auth import request_token
from opensan.api.logs import note_account
from opensan.domain import views
from opensan.domain.measured import IoCounters, Performance
from opensan.domain.models import (
    ArrayState,
    DiskHealth,
    DiskStatus,
    DiskUsage,
    EventLevel,
    PoolHealth,
    PoolStatus,
    SensorStatus,
    SystemHealth,
    VolumeHealth,
    VolumeStatus,
    VolumeView,
)
from opensan.domain.performance import pool_io
from opensan.metric_names import SENSOR_VALUES
from opensan.service.array import ArrayService

METRICS_PATH = "/metrics"
OPENMETRICS = "application/openmetrics-text"
# SANOS's login and XEVO's: a refusal (401) of either is a failed login.
LOGIN_PATHS = ("/rest/login", "/auth/get")
# The API's request durations: from a cached read (well under a millisecond) to a slow change.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0, 30.0)
UNMATCHED = "(unmatched)"
# While a format was scraped this recently, its I/O part is written as soon as the counters are
# read, so that the next scrape finds it written.
PREPARE_WHILE_SCRAPED_SECONDS = 300.0
# Parts are compressed once each (zlib's fastest level: /metrics compresses about 10 to 1
# even so) and spliced into each gzip answer.
GZIP_LEVEL = 1
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time
_FINAL_BLOCK = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS).flush()


def _escape(value: object) -> str:
    return str(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")


def labels(**pairs: object) -> str:
    """The inside of a sample's braces: name="value" pairs, values escaped."""
    return ",".join(f'{name}="{_escape(value)}"' for name, value in pairs.items())


def _number(value: float) -> str:
    """As Go writes numbers (what both formats take); repr is the fast way for finite floats."""
    if type(value) is int:
        return str(value)
    return repr(value) if math.isfinite(value) else floatToGoString(value)  # type: ignore[no-untyped-call]


@functools.cache
def _state_ends(words: type[StrEnum]) -> dict[str, tuple[str, str]]:
    return {word.value: (f'state="{_escape(word.value)}"}} 1\n',
                         f'state="{_escape(word.value)}"}} 0\n') for word in words}


def state_lines(name: str, words: type[StrEnum], inside: str, current: str) -> str:
    """One row of a state set: a line for every state of words, 1 for the current one."""
    start = f"{name}{{{inside}," if inside else f"{name}{{"
    return "".join([start + (one if word == current else zero)
                    for word, (one, zero) in _state_ends(words).items()])


class _Writer:
    """Families in the Prometheus text format (0.0.4) or OpenMetrics 1.0, as text chunks."""

    def __init__(self, openmetrics: bool) -> None:
        self.openmetrics = openmetrics
        self.chunks: list[str] = []
        self.starts: list[int] = []  # where each family's chunks begin

    def header(self, name: str, kind: str, help_text: str, unit: str) -> str:
        """Writes the family's metadata; answers the name its samples carry."""
        self.starts.append(len(self.chunks))
        sample = name + {"counter": "_total", "info": "_info"}.get(kind, "")
        help_text = help_text.replace("\\", r"\\").replace("\n", r"\n")
        if self.openmetrics:
            self.chunks.append(f"# TYPE {name} {kind}\n")
            if unit:
                self.chunks.append(f"# UNIT {name} {unit}\n")
            self.chunks.append(f"# HELP {name} {help_text}\n")
        else:
            self.chunks.append(f"# HELP {sample} {help_text}\n# TYPE {sample} "
                               f"{'gauge' if kind == 'info' else kind}\n")
        return sample

    def samples(self, name: str, kind: str, help_text: str, rows: Iterable[tuple[str, float]],
                unit: str = "") -> None:
        """A gauge or counter family: rows of (labels, value)."""
        sample = self.header(name, kind, help_text, unit)
        self.chunks.extend(f"{sample}{{{inside}}} {_number(value)}\n" if inside
                           else f"{sample} {_number(value)}\n" for inside, value in rows)

    def gauge(self, name: str, help_text: str, rows: Iterable[tuple[str, float]],
              unit: str = "") -> None:
        self.samples(name, "gauge", help_text, rows, unit)

    def counter(self, name: str, help_text: str, rows: Iterable[tuple[str, float]],
                unit: str = "") -> None:
        self.samples(name, "counter", help_text, rows, unit)

    def info(self, name: str, help_text: str, rows: Iterable[str]) -> None:
        self.samples(name, "info", help_text, ((inside, 1) for inside in rows))

    def states(self, name: str, help_text: str, words: type[StrEnum],
               rows: Iterable[tuple[str, str]]) -> None:
        """A state set: every state of words for each row of (labels, current state)."""
        self.header(name, "gauge", help_text, "")
        self.chunks.extend(state_lines(name, words, inside, current) for inside, current in rows)

    def lines(self, name: str, kind: str, help_text: str, lines: Iterable[str],
              unit: str = "") -> None:
        """A family of samples written before (each a line, or a state set's lines)."""
        self.header(name, kind, help_text, unit)
        self.chunks.extend(lines)

    def summary(self, name: str, help_text: str, rows: Iterable[tuple[str, int, float]],
                unit: str = "") -> None:
        """Rows of (labels, count, sum)."""
        self.header(name, "summary", help_text, unit)
        for inside, count, total in rows:
            braces = f"{{{inside}}}" if inside else ""
            self.chunks.append(f"{name}_count{braces} {count}\n{name}_sum{braces} "
                               f"{_number(total)}\n")

    def text(self) -> str:
        return "".join(self.chunks)

    def families(self) -> list[bytes]:
        """The text of each family apart."""
        ends = [*self.starts[1:], len(self.chunks)]
        return ["".join(self.chunks[start:end]).encode()
                for start, end in zip(self.starts, ends, strict=True)]


class _Part:
    """A written part of the answer: its text, and the same text as a raw deflate chunk,
    compressed on first use and ending byte-aligned (a sync flush), so that chunks of
    separately compressed parts follow one another in one deflate stream."""

    __slots__ = ("_deflated", "text")

    def __init__(self, text: bytes) -> None:
        self.text = text
        self._deflated: bytes | None = None

    def deflated(self) -> bytes:
        if self._deflated is None:
            compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, -zlib.MAX_WBITS)
            self._deflated = compressor.compress(self.text) + compressor.flush(zlib.Z_SYNC_FLUSH)
        return self._deflated


class _Checksums:
    """The CRC-32 and length of the texts of a run of parts, kept part by part: the next run
    sums again only from the first part that is not the very same (in a scrape: the I/O part
    once a tick, and what moves with every scrape)."""

    def __init__(self) -> None:
        self._kept: tuple[list[_Part], list[tuple[int, int]]] = ([], [])

    def of(self, parts: Sequence[_Part]) -> tuple[int, int]:
        kept, sums = self._kept
        same = 0
        while same < min(len(parts), len(kept)) and parts[same] is kept[same]:
            same += 1
        sums = sums[:same]
        crc, size = sums[-1] if sums else (0, 0)
        for part in parts[same:]:
            crc, size = zlib.crc32(part.text, crc), size + len(part.text)
            sums.append((crc, size))
        self._kept = (list(parts), sums)
        return crc, size


def gzipped(parts: Sequence[_Part], checksums: _Checksums | None = None) -> bytes:
    """One gzip member (RFC 1952) of the parts' texts in order, from their kept deflate
    chunks: only the checksum goes over the texts again (over those that changed, with
    checksums kept from the last answer)."""
    crc, size = (checksums or _Checksums()).of(parts)
    return b"".join((_GZIP_HEADER, *(part.deflated() for part in parts), _FINAL_BLOCK,
                     struct.pack("<II", crc, size & 0xFFFFFFFF)))


_IO_FAMILIES = (
    ("read_ops", "read_operations", "Read operations completed.", ""),
    ("write_ops", "write_operations", "Write operations completed.", ""),
    ("read_bytes", "read_bytes", "Bytes read.", "bytes"),
    ("write_bytes", "write_bytes", "Bytes written.", "bytes"),
    ("read_seconds", "read_seconds", "Time spent on reads: the sum of every read's latency, so "
     "that rate(read_seconds) / rate(read_ops) is the read latency.", "seconds"),
    ("write_seconds", "write_seconds", "Time spent on writes: the sum of every write's latency.",
     "seconds"),
)


def _io_families(out: _Writer, noun: str, what: str,
                 counters: Iterable[tuple[str, IoCounters]]) -> None:
    """The six I/O counters of a noun (volume, pool, disk, port), e.g.
    opensan_volume_read_bytes_total; each family's samples in one pass over the counters."""
    rows = [(f"{inside}}} ", c) for inside, c in counters]
    for field, family, help_text, unit in _IO_FAMILIES:
        name = f"opensan_{noun}_{family.replace('operations', 'ops')}"
        sample = out.header(name, "counter", f"{help_text[:-1]} by the {what}, since the "
                            "server started.", unit) + "{"
        # Counters are finite numbers, which f-strings write as Go does (the hot path: every
        # volume's six counters move with every reading).
        out.chunks.extend([f"{sample}{inside}{getattr(c, field)}\n" for inside, c in rows])


# The volume families in the order written, and what each row of them is.
_VOLUME_FAMILIES = (
    ("opensan_volume", "info", "Each volume: its provisioning, WWN and cache mode."),
    ("opensan_volume_capacity_bytes", "gauge", "Capacity of the volume."),
    ("opensan_volume_used_bytes", "gauge", "Capacity of the volume in use (all of a thick "
     "volume, the written part of a thin one)."),
    ("opensan_volume_snapshot_space_bytes", "gauge", "Snapshot space set aside for the volume."),
    ("opensan_volume_snapshot_used_bytes", "gauge", "Snapshot space the volume's snapshots hold."),
    ("opensan_volume_snapshots", "gauge", "Snapshots of the volume."),
    ("opensan_volume_mapped", "gauge", "1 while the volume is mapped to a LUN."),
    ("opensan_volume_health", "gauge", "Health of each volume, from its pool."),
    ("opensan_volume_status", "gauge", "Status of each volume."),
)


def _volume_row(view: VolumeView, inside: str) -> tuple[str, ...]:
    """A volume's lines of each of _VOLUME_FAMILIES (integers all, written as they are)."""
    volume = view.volume
    info = labels(volume_id=volume.id, name=volume.name, pool_id=volume.pool_id,
                  provision=volume.provision.value, wwn=volume.wwn,
                  cache_mode=volume.cache_mode.value)
    gauges = (volume.capacity_bytes, view.used_bytes, volume.snapshot_space_bytes,
              view.snapshot_used_bytes, view.snapshot_count, int(view.mapped))
    return (f"opensan_volume_info{{{info}}} 1\n",
            *(f"{name}{{{inside}}} {value}\n"
              for (name, _, _), value in zip(_VOLUME_FAMILIES[1:7], gauges, strict=True)),
            state_lines("opensan_volume_health", VolumeHealth, inside, view.health),
            state_lines("opensan_volume_status", VolumeStatus, inside, view.status))


class ArrayMetrics:
    """The array's families, written from the service's memory (never from the backend)."""

    def __init__(self, service: ArrayService) -> None:
        self._service = service
        self._lock = threading.Lock()
        # (part, openmetrics) -> (key, its families): a part's text until its key moves on.
        self._parts: dict[tuple[str, bool], tuple[tuple[Any, ...], list[_Part]]] = {}
        self._labels: tuple[int, dict[str, Any]] = (-1, {})
        # volume id -> (what its lines are written from, the lines), kept across versions:
        # after a change only the volumes it touched are written again.
        self._rows: dict[int, tuple[tuple[Any, ...], tuple[str, ...]]] = {}
        # (openmetrics, gzip) -> time.monotonic() of the last scrape in that form
        self._scraped: dict[tuple[bool, bool], float] = {}
        self._preparing: Performance | None = None  # the reading _prepare is writing
        service.observed.io.subscribe(self._prepare)

    def _prepare(self, performance: Performance) -> None:
        """Write (and compress) the hardware and I/O parts of the forms scrapers read, for the
        readings just taken (the tick reads the hardware, then the counters)."""
        service = self._service
        state, version = service.state, service.version
        now = time.monotonic()
        wanted = [form for form, last in list(self._scraped.items())
                  if now - last < PREPARE_WHILE_SCRAPED_SECONDS]
        if not wanted:
            return
        names = self._object_labels(version, state)
        self._preparing = performance
        try:
            readings = service.observed.hardware
            for openmetrics, gzip in wanted:
                families = [
                    *self._part("hardware", (version, readings), openmetrics,
                                lambda out: self._hardware(out, state, names)),
                    *self._part("io", (version, performance), openmetrics,
                                lambda out: self._io(out, state, names, performance))]
                if gzip:
                    for family in families:
                        family.deflated()
        finally:
            self._preparing = None

    def _part(self, part: str, key: tuple[Any, ...], openmetrics: bool,
              build: Callable[[_Writer], None]) -> list[_Part]:
        """The part's families, written again only when its key moved on: a key is the state
        version (or the record dicts, equal while they hold the very same objects) and the
        very objects (readings) the part is written from. A family written again with the
        same text is the one kept, with its compressed chunk: a change compresses again only
        the families it changed."""
        with self._lock:
            kept = self._parts.get((part, openmetrics))
        if kept is not None and all(a is b or (type(a) in (int, dict) and a == b)
                                    for a, b in zip(kept[0], key, strict=True)):
            return kept[1]
        out = _Writer(openmetrics)
        build(out)
        before = kept[1] if kept is not None else []
        written = [before[index] if index < len(before) and before[index].text == text
                   else _Part(text) for index, text in enumerate(out.families())]
        with self._lock:
            self._parts[(part, openmetrics)] = (key, written)
        return written

    def _object_labels(self, version: int, state: ArrayState) -> dict[str, Any]:
        """Each object's labels, made once per state version (a volume's kept while its name
        and pool stay)."""
        with self._lock:
            if self._labels[0] == version:
                return self._labels[1]
            before = self._labels[1].get("volumes", {})
        volumes = {}
        for v in state.volumes.values():
            kept = before.get(v.id)
            volumes[v.id] = kept if kept is not None and kept[0] == (v.name, v.pool_id) else (
                (v.name, v.pool_id), labels(volume_id=v.id, name=v.name, pool_id=v.pool_id))
        made = {
            "volumes": volumes,
            "pools": {p.id: labels(pool_id=p.id, name=p.name) for p in state.pools.values()},
            "disks": {d.id: labels(disk_id=d.id) for d in state.disks.values()},
            "ports": {port: labels(port=port, controller=t.controller)
                      for t in state.targets.values() for port in t.portals},
        }
        with self._lock:
            self._labels = (version, made)
        return made

    def _volume_rows(self, volume_views: list[VolumeView],
                     names: Mapping[int, tuple[Any, str]]) -> list[tuple[str, ...]]:
        """Each volume's lines, written again only where what they show moved on."""
        rows = []
        kept = self._rows
        fresh: dict[int, tuple[tuple[Any, ...], tuple[str, ...]]] = {}
        for view in volume_views:
            inside = names[view.volume.id][1]
            key = (view.volume, inside, view.health, view.status, view.used_bytes,
                   view.snapshot_used_bytes, view.snapshot_count, view.mapped)
            found = kept.get(view.volume.id)
            if found is None or found[0] != key:
                found = (key, _volume_row(view, inside))
            fresh[view.volume.id] = found
            rows.append(found[1])
        self._rows = fresh
        return rows

    def render(self, openmetrics: bool, gzip: bool = False) -> list[_Part]:
        """The array's parts of the answer, in order."""
        self._scraped[(openmetrics, gzip)] = time.monotonic()
        service = self._service
        state, version = service.state, service.version
        observed = service.observed
        readings = observed.hardware
        names = self._object_labels(version, state)
        performance = service.performance.latest()
        live = _Writer(openmetrics)
        self._live(live, state)
        return [
            # From these records only: a change of others (a workload, a session, a setting)
            # leaves the part as it was.
            *self._part("records", (observed.usage_generation, state.disks, state.pools,
                                    state.volumes, state.snapshots, state.targets,
                                    state.mappings), openmetrics,
                        lambda out: self._records(out, state, names)),
            *self._part("hardware", (version, readings), openmetrics,
                        lambda out: self._hardware(out, state, names)),
            *self._io_part(version, performance, openmetrics, state, names),
            _Part(live.text().encode()),
        ]

    def _io_part(self, version: int, performance: Performance | None, openmetrics: bool,
                 state: ArrayState, names: Mapping[str, Any]) -> list[_Part]:
        """The I/O part; while the tick is still writing the one of the reading it just took,
        the one of the reading before (a second older) rather than writing it twice at once."""
        with self._lock:
            kept = self._parts.get(("io", openmetrics))
        if performance is not None and performance is self._preparing and kept is not None \
                and kept[0][0] == version:
            return kept[1]
        return self._part("io", (version, performance), openmetrics,
                          lambda out: self._io(out, state, names, performance))

    # What follows from the records (and the measured use)

    def _records(self, out: _Writer, state: ArrayState, names: Mapping[str, Any]) -> None:
        service = self._service
        usage = service.observed.usage
        pool_views = views.pool_views(state, usage)
        pool_names = names["pools"]
        out.info("opensan_pool", "Each pool: its name, RAID level (or protection) and "
                 "provisioning.", (labels(pool_id=v.pool.id, name=v.pool.name,
                                          raid_level=v.pool.protection_label,
                                          provision=v.pool.provision.value) for v in pool_views))
        for family, attribute, help_text in (
                ("capacity", "capacity_bytes", "Usable capacity of the pool."),
                ("used", "used_bytes", "Capacity of the pool allocated to volumes and snapshot "
                 "space."),
                ("free", "free_bytes", "Capacity of the pool not allocated.")):
            out.gauge(f"opensan_pool_{family}_bytes", help_text,
                      ((pool_names[v.pool.id], getattr(v, attribute)) for v in pool_views), "bytes")
        out.states("opensan_pool_health", "Health of each pool, from its disks and RAID level.",
                   PoolHealth, ((pool_names[v.pool.id], v.health) for v in pool_views))
        out.states("opensan_pool_status", "Status of each pool.", PoolStatus,
                   ((pool_names[v.pool.id], v.status) for v in pool_views))
        out.gauge("opensan_pool_disks", "Member disks of each pool.",
                  ((pool_names[v.pool.id], len(v.pool.disk_ids)) for v in pool_views))
        out.gauge("opensan_pool_volumes", "Volumes in each pool.",
                  ((pool_names[v.pool.id], v.volume_count) for v in pool_views))

        rows = self._volume_rows(views.volume_views(state, usage), names["volumes"])
        for index, (name, kind, help_text) in enumerate(_VOLUME_FAMILIES):
            out.lines(name, kind, help_text, [row[index] for row in rows],
                      "bytes" if name.endswith("_bytes") else "")

        disks = sorted(state.disks.values(), key=lambda d: (d.enclosure_id, d.slot))
        disk_names = names["disks"]
        out.info("opensan_disk", "Each disk: where it sits and what it is.",
                 (labels(disk_id=d.id, enclosure_id=d.enclosure_id, slot=d.slot, vendor=d.vendor,
                         model=d.model, serial_number=d.serial_number,
                         firmware_version=d.firmware_version, type=d.type.value,
                         interface_speed=d.interface_speed) for d in disks))
        out.info("opensan_disk_pool", "The pool each disk belongs to (members and dedicated "
                 "spares).", (labels(disk_id=d.id, pool_id=d.pool_id)
                              for d in disks if d.pool_id is not None))
        out.gauge("opensan_disk_capacity_bytes", "Capacity of each disk.",
                  ((disk_names[d.id], d.capacity_bytes) for d in disks), "bytes")
        out.states("opensan_disk_health", "Health of each disk.", DiskHealth,
                   ((disk_names[d.id], d.health) for d in disks))
        out.states("opensan_disk_status", "Status of each disk.", DiskStatus,
                   ((disk_names[d.id], d.status) for d in disks))
        out.states("opensan_disk_usage", "What each disk is used as (QSAN's usage).", DiskUsage,
                   ((disk_names[d.id], d.usage) for d in disks))

        targets = views.target_views(state)
        out.info("opensan_target", "Each iSCSI target.",
                 (labels(target_id=t.target.id, type=t.target.type.value,
                         controller=t.target.controller, node=t.target.node, iqn=t.target.iqn,
                         name=t.target.name) for t in targets))
        out.gauge("opensan_target_luns", "LUNs mapped on each target.",
                  ((labels(target_id=t.target.id), t.lun_count) for t in targets))
        out.info("opensan_lun_mapping", "Each LUN mapping: the volume (or snapshot) a LUN of a "
                 "target exports, its permission and hosts.",
                 (labels(target_id=m.target_id, lun=m.lun, volume_id=m.volume_id,
                         snapshot_id=m.snapshot_id or "", permission=m.permission.value,
                         hosts=",".join(m.hosts))
                  for _key, m in sorted(state.mappings.items())))

    # What the hardware reads

    def _hardware(self, out: _Writer, state: ArrayState, names: Mapping[str, Any]) -> None:
        service = self._service
        readings = service.observed.hardware
        system = readings.system
        out.info("opensan_system", "The array: model, serial number, firmware, name and backend.",
                 [labels(model=system.model_name, serial_number=system.serial_number,
                         firmware_version=system.firmware_version, system_name=service.system.name,
                         backend=service.traits.name)])
        out.states("opensan_system_health", "Health of the whole array.", SystemHealth,
                   [("", views.system_health(state, readings))])
        out.info("opensan_controller", "Each controller: serial number, firmware and status.",
                 (labels(controller=c.slot, serial_number=c.serial_number, status=c.status,
                         firmware_version=c.firmware_version) for c in system.controllers))
        out.gauge("opensan_controller_up", "1 while the controller's status is Normal.",
                  ((labels(controller=c.slot), int(c.status == "Normal"))
                   for c in system.controllers))
        sensors = [(enclosure.id, s) for enclosure in readings.enclosures for s in enclosure.sensors]

        def sensor_labels(enclosure_id: int, sensor_id: str, location: str, name: str) -> str:
            return labels(sensor_id=sensor_id, enclosure_id=enclosure_id, location=location,
                          name=name)

        out.states("opensan_sensor_status", "Status of each sensor of the hardware monitor.",
                   SensorStatus, ((sensor_labels(e, s.id, s.location, s.name) + ","
                                   + labels(type=s.type.value), s.status) for e, s in sensors))
        for unit, (family, family_unit, scale, help_text) in SENSOR_VALUES.items():
            out.gauge(family, help_text,
                      ((sensor_labels(e, s.id, s.location, s.name), s.value * scale)
                       for e, s in sensors
                       if s.unit == unit and isinstance(s.value, int | float)), family_unit)
        disk_names = names["disks"]
        smart = views.disk_smart(state, readings)
        out.gauge("opensan_disk_temperature_celsius", "Temperature of each disk, as last read.",
                  ((disk_names[s.disk_id], s.temperature_c) for s in smart
                   if s.temperature_c is not None), "celsius")
        out.gauge("opensan_disk_power_on_seconds", "Power-on time of each disk (S.M.A.R.T.).",
                  ((disk_names[s.disk_id], s.power_on_hours * 3600) for s in smart
                   if s.power_on_hours is not None), "seconds")
        out.gauge("opensan_disk_smart_supported", "1 where the disk reports S.M.A.R.T. data.",
                  ((disk_names[s.disk_id], int(s.supported)) for s in smart))
        attributes = [(f"{disk_names[s.disk_id]},{labels(attribute_id=a.id, attribute=a.name)}", a)
                      for s in smart for a in s.attributes]
        out.gauge("opensan_disk_smart_attribute_value", "Normalized value of each S.M.A.R.T. "
                  "attribute (lower is worse).", ((inside, a.value) for inside, a in attributes))
        out.gauge("opensan_disk_smart_attribute_threshold", "Threshold of each S.M.A.R.T. "
                  "attribute: the disk fails it at or below.",
                  ((inside, a.threshold) for inside, a in attributes))
        out.gauge("opensan_disk_smart_attribute_raw", "Raw value of each S.M.A.R.T. attribute "
                  "(counts, hours, degrees).", ((inside, a.raw) for inside, a in attributes))
        out.gauge("opensan_disk_smart_attribute_failing", "1 while the attribute is failing now.",
                  ((inside, int(a.status != "OK")) for inside, a in attributes))

    # The I/O counters

    def _io(self, out: _Writer, state: ArrayState, names: Mapping[str, Any],
            performance: Performance | None) -> None:
        if performance is None:
            return
        out.gauge("opensan_io_counters_start_time_seconds", "When the I/O counters started "
                  "(unix time of the array clock): they count from there.",
                  [("", performance.since)], "seconds")
        volume_names, disk_names = names["volumes"], names["disks"]
        _io_families(out, "volume", "volume's hosts",
                     ((volume_names[k][1], c) for k, c in performance.volumes.items()
                      if k in volume_names))
        pool_names = names["pools"]
        _io_families(out, "pool", "hosts of the pool's volumes",
                     ((pool_names[k], c) for k, c in pool_io(state, performance).items()))
        _io_families(out, "disk", "disk", ((disk_names[k], c) for k, c in performance.disks.items()
                                           if k in disk_names))
        port_names = names["ports"]
        _io_families(out, "port", "port", ((port_names.get(k) or labels(port=k, controller=""), c)
                                           for k, c in performance.ports.items()))

    # What moves with every scrape

    def _live(self, out: _Writer, state: ArrayState) -> None:
        service = self._service
        now = service.uow.clock.now()
        out.gauge("opensan_start_time_seconds", "When the server started (unix time of the "
                  "array clock).", [("", service.system.started_at)], "seconds")
        out.gauge("opensan_array_time_seconds", "The array clock (unix time; ahead of real time "
                  "where the virtual array's clock was moved on).", [("", now)], "seconds")
        out.counter("opensan_events", "Events recorded by this server since it started, by "
                    "level.", ((labels(level=level.value),
                                service.uow.events_recorded[level]) for level in EventLevel))
        out.gauge("opensan_sessions", "Open sessions (logged-in clients).",
                  [("", len(state.sessions))])
        stats = service.supervision.telemetry.stats()
        tick = stats.pop("tick")
        out.summary("opensan_tick_duration_seconds", "Periodic checks of the hardware, use and "
                    "I/O counters, and how long they took.", [("", tick.count, tick.seconds)],
                    "seconds")
        out.counter("opensan_tick_errors", "Periodic checks that failed.", [("", tick.errors)])
        out.summary("opensan_backend_measurement_duration_seconds", "The backend's readings "
                    "(hardware, use, I/O counters) and how long they took.",
                    ((labels(operation=name), s.count, s.seconds) for name, s in stats.items()),
                    "seconds")
        out.counter("opensan_backend_measurement_errors", "The backend's readings that failed.",
                    ((labels(operation=name), s.errors) for name, s in stats.items()))


class ApiInstruments:
    """The API's own figures, kept by prometheus-client in a registry of this app's own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("opensan_api_requests", "Requests answered, by method, endpoint "
                                "(the path the API declares) and status.",
                                ("method", "endpoint", "status"), registry=self.registry)
        self.latency = Histogram("opensan_api_request_duration_seconds", "Time to answer each "
                                 "request, by method and endpoint.", ("method", "endpoint"),
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.failed_logins = Counter("opensan_api_failed_logins", "Logins refused for a wrong "
                                     "account or password.", registry=self.registry)

    def observe(self, scope: Mapping[str, Any], status: int, seconds: float) -> None:
        """A request answered (from api/middleware.py's Requests, which times every answer)."""
        method, endpoint = scope["method"], _endpoint(scope)
        self.requests.labels(method, endpoint, str(status)).inc()
        self.latency.labels(method, endpoint).observe(seconds)
        if endpoint in LOGIN_PATHS and status == 401:
            self.failed_logins.inc()


def _endpoint(scope: Mapping[str, Any]) -> str:
    """What a request is counted under: the declared endpoint (its path prefix, the route's
    name), a plain route's path, or UNMATCHED, so that the labels stay few."""
    route = scope.get("route")
    name = getattr(route, "name", "") or ""
    if name.startswith("/"):
        return name
    return getattr(route, "path", None) or UNMATCHED


def _scrape_token_matches(token: str | None, scrape_token: str | None) -> bool:
    return bool(token and scrape_token) and hmac.compare_digest(
        str(token).encode(), str(scrape_token).encode())


def install(app: FastAPI, service: ArrayService, scrape_token: str | None) -> ApiInstruments:
    """Add GET /metrics to the app; the caller has the instruments observe every answer."""
    instruments = ApiInstruments()
    array = ArrayMetrics(service)
    checksums = {False: _Checksums(), True: _Checksums()}  # by format: their parts differ

    async def metrics(request: Request) -> Response:
        token = request_token(request)[0]
        if not _scrape_token_matches(token, scrape_token):
            # A session of any role; else 401.
            note_account(service.accounts.authenticate(token).account)
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        openmetrics = content_type.startswith(OPENMETRICS)
        # As prometheus-client's own handlers do: gzip where the scraper takes it (Prometheus
        # does), from parts compressed once.
        gzip = gzip_accepted(request.headers.get("accept-encoding", ""))

        def build() -> bytes:
            parts = [*array.render(openmetrics, gzip), _Part(encoder(instruments.registry))]
            return gzipped(parts, checksums[openmetrics]) if gzip else b"".join(part.text for part in parts)

        headers = {"Content-Encoding": "gzip"} if gzip else {}
        # Built where it is asked for, as the API's other kept reads are: mostly it only joins
        # what was written before, and a hop to a worker thread would cost more.
        return Response(build(), media_type=content_type,
                        headers={**headers, "Vary": "Accept-Encoding"})

    app.add_api_route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False,
                      name=METRICS_PATH)
    return instruments
