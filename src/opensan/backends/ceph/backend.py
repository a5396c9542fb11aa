"""The Ceph backend: the array's objects on a Ceph cluster, LUNs through tgt's rbd backing store.

What each SANOS object is here:
  disk      an OSD (slot = OSD id + 1); up and in is Online, down is Missing and Failed
  pool      a Ceph pool <pool_prefix><name>, replicated: a RAID level becomes the replica count
            that survives as many failed disks (RAID 0: 1 copy, RAID 1/5/10/50: 2, RAID 6/60: 3),
            placed by a CRUSH rule for the disks' device class; capacity (raw size / copies)
            and use from `ceph df`
  volume    an RBD image vol-<volume id>; always thin (the traits have no thick provisioning)
  snapshot  an RBD snapshot snap-<snapshot id>; its use and the snapshot space's use come from
            `rbd du`, and the service deletes the oldest snapshot when a volume's are over
  LUN       a tgt LUN with --bstype rbd, served by this controller's own tgtd for the targets
            of this controller; the other controller's server serves its own targets
  health    the cluster's health checks: the service writes an event when one is raised,
            changes level or clears, and the hardware monitor shows them
  I/O       per volume from the manager's RBD performance counters, per disk from its OSD's
            own counters (perf.py); no port counters (tgt keeps none)
The records live in the cluster too (store/rados.py), so both controllers share them.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import rados
import rbd

from opensan import __version__
from opensan.backends.base import BackendEvent, BackendSpec, StorageBackend
from opensan.backends.ceph import perf
from opensan.backends.ceph.config import CephConfig, connect
from opensan.backends.ceph.counter_reader import CounterReader
from opensan.backends.host import cpu_model, memory_gb
from opensan.backends.runner import CommandFailed, run
from opensan.backends.tgt.exports import Backing, Export
from opensan.backends.tgt.server import TgtServer
from opensan.domain.errors import BackendError, Conflict, ErrorCode, InvalidArgument, NotSupported
from opensan.domain.identity import iqn_prefixes
from opensan.domain.measured import (
    NO_IO,
    DiskChange,
    DiskChanged,
    DiskJoined,
    HardwareReadings,
    HealthCheck,
    IoCounters,
    Performance,
    PoolUsage,
    Usage,
)
from opensan.domain.models import (
    ArrayState,
    Backplane,
    Controller,
    Disk,
    DiskHealth,
    DiskSmart,
    DiskStatus,
    DiskType,
    DiskUsage,
    Enclosure,
    EventLevel,
    LunMapping,
    Pool,
    Provision,
    Sensor,
    SensorStatus,
    SensorType,
    Snapshot,
    SystemHardware,
    SystemHealth,
    Target,
    Volume,
)
from opensan.domain.raid import RaidLevel, fault_tolerance
from opensan.domain.traits import BackendTraits
from opensan.store.base import Store
from opensan.store.rados import RadosStore

log = logging.getLogger("opensan.ceph")
TRAITS = BackendTraits(
    name="ceph", pools_share_disks=True, provisions=frozenset({Provision.THIN}),
    default_provision=Provision.THIN, service_keeps_snapshot_space=True,
    usage_refresh_seconds=2.0, enforces_qos=True)
BUSY_WAIT_SECONDS = 5.0  # how long to wait for the other controller to let go of an image
# A counter reading must not hold the tick long when the manager or an OSD does not answer
# (counter_reader.py).
COUNTERS_TIMEOUT_SECONDS = 5
# fast-diff (with the object map it needs) lets `rbd du` answer without reading every object
# of every snapshot; layering lets an image be cloned.
FEATURES = (rbd.RBD_FEATURE_LAYERING | rbd.RBD_FEATURE_EXCLUSIVE_LOCK
            | rbd.RBD_FEATURE_OBJECT_MAP | rbd.RBD_FEATURE_FAST_DIFF)
# librbd's per-image QoS settings (image config, kept as conf_<key> in the image's metadata).
QOS_IOPS, QOS_BPS = "rbd_qos_iops_limit", "rbd_qos_bps_limit"
_SEVERITY = {"HEALTH_WARN": EventLevel.WARNING, "HEALTH_ERR": EventLevel.ERROR}
_HEALTH = {"HEALTH_OK": SystemHealth.GOOD, "HEALTH_WARN": SystemHealth.DEGRADED,
           "HEALTH_ERR": SystemHealth.FAILED}
_SENSOR = {"HEALTH_OK": SensorStatus.GOOD, "HEALTH_WARN": SensorStatus.WARNING,
           "HEALTH_ERR": SensorStatus.FAILED}
_DISK_TYPES = {"hdd": DiskType.SATA_HDD, "ssd": DiskType.SATA_SSD, "nvme": DiskType.NVME_SSD}


def mon_command(cluster: rados.Rados, prefix: str, **arguments: Any) -> Any:
    """A monitor command with JSON output, like `ceph <prefix> --format json`."""
    command = json.dumps({"prefix": prefix, "format": "json", **arguments})
    code, output, status = cluster.mon_command(command, b"", timeout=30)
    if code != 0:
        raise BackendError(f"ceph {prefix} failed: {status or code}")
    return json.loads(output) if output.strip() else None


def ensure_pool(cluster: rados.Rados, name: str, application: str) -> None:
    """The pool, created if missing with up to 3 copies, so that the records it holds stay
    readable while an OSD is down."""
    if not cluster.pool_exists(name):
        mon_command(cluster, "osd pool create", pool=name)
        osds = len(mon_command(cluster, "osd ls"))
        mon_command(cluster, "osd pool set", pool=name, var="size", val=str(min(3, osds)),
                    yes_i_really_mean_it=True)
    mon_command(cluster, "osd pool application enable", pool=name, app=application,
                yes_i_really_mean_it=True)


@contextmanager
def _rbd_errors(what: str) -> Iterator[None]:
    try:
        yield
    except (rbd.Error, rados.Error) as error:
        raise BackendError(f"{what} failed: {error}") from error


class CephBackend(StorageBackend):
    traits = TRAITS

    def __init__(self, config: CephConfig, cluster: rados.Rados) -> None:
        self.config = config
        self.cluster = cluster
        self._serial = str(cluster.get_fsid()).replace("-", "")[:12].upper()
        self._ioctxs: dict[str, rados.Ioctx] = {}
        self._ioctx_lock = threading.Lock()
        self._pool_names: dict[int, str] = {}  # pool id -> Ceph pool name
        self._sizes: dict[str, int] = {}  # backing spec -> bytes
        self._last_du: dict[str, dict[str, list[tuple[str | None, int]]]] = {}  # by Ceph pool
        # The I/O counters (perf.py): images by (Ceph pool, image), OSDs by disk id, and the
        # sources whose first reading was taken (Ceph pools, and "osds").
        self._perf_lock = threading.Lock()
        self._images: perf.Monotonic[tuple[str, str]] = perf.Monotonic()
        self._osd_io: perf.Monotonic[int] = perf.Monotonic()
        self._counted: set[str] = set()
        self._counting_since: float | None = None
        self._counters = CounterReader(config.model_dump_json(), COUNTERS_TIMEOUT_SECONDS)
        self._flattens: dict[int, _Flatten] = {}  # clone's volume id -> its flatten here
        self._flatten_lock = threading.Lock()
        config.log_dir.mkdir(parents=True, exist_ok=True)
        self.tgt = TgtServer(config.tgtd_control_port, config.portal,
                             config.log_dir / f"tgtd-{config.controller}.log",
                             iqn_prefixes(config.model_name, self._serial), self._backing_size)
        self.luns = self.tgt.exports

    def _osds(self) -> dict[int, dict[str, Any]]:
        """Every OSD: id, uuid, up, in, device class, size, host, version."""
        osds = {o["osd"]: dict(o) for o in mon_command(self.cluster, "osd dump")["osds"]}
        for node in mon_command(self.cluster, "osd df")["nodes"]:
            if node["id"] in osds:
                osds[node["id"]].update(device_class=node.get("device_class", ""),
                                        size_bytes=node.get("kb", 0) * 1024)
        for meta in mon_command(self.cluster, "osd metadata") or []:
            if meta.get("id") in osds:
                osds[meta["id"]].update(host=meta.get("hostname", ""),
                                        version=meta.get("ceph_version_short", ""))
        return osds

    # Identity and monitoring

    def model_name(self) -> str:
        return self.config.model_name

    def serial_number(self) -> str:
        """From the cluster's fsid: the same on both controllers, so are the IQNs."""
        return self._serial

    def controller_count(self) -> int:
        return 2

    def configuration(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def _disk(self, osd: dict[str, Any], disk_id: int, now: float) -> Disk:
        up, in_ = bool(osd.get("up")), bool(osd.get("in"))
        return Disk(
            # Slots count from 1 as in an enclosure: osd.0 is in slot 1.
            id=disk_id, enclosure_id=0, slot=osd["osd"] + 1,
            capacity_bytes=osd.get("size_bytes", 0),
            type=_DISK_TYPES.get(osd.get("device_class", ""), DiskType.VIRTUAL), vendor="Ceph",
            model=f"osd.{osd['osd']} ({osd.get('device_class') or 'no class'}) on "
                  f"{osd.get('host') or 'unknown host'}",
            serial_number=osd.get("uuid", ""), firmware_version=osd.get("version", ""),
            interface_speed="n/a", installed_at=now, device_path=f"osd.{osd['osd']}",
            usage=DiskUsage.RAID,
            health=DiskHealth.GOOD if up else DiskHealth.FAILED,
            status=DiskStatus.ONLINE if up and in_ else
            DiskStatus.TRANSITION if up else DiskStatus.MISSING,
        )

    def discover_disks(self, now: float, new_id: Callable[[], int]) -> list[Disk]:
        return [self._disk(osd, new_id(), now) for _, osd in sorted(self._osds().items())]

    def _disk_changes(self, osds: dict[int, dict[str, Any]], disks: Mapping[int, Disk],
                      now: float) -> tuple[DiskChange, ...]:
        known = {disk.device_path: disk for disk in disks.values()}
        changes: list[DiskChange] = []
        for osd_id, osd in sorted(osds.items()):
            disk = known.get(f"osd.{osd_id}")
            if disk is None:
                changes.append(DiskJoined(f"osd.{osd_id}",
                                          functools.partial(self._disk, osd, now=now)))
                continue
            live = self._disk(osd, disk.id, disk.installed_at)
            if (live.health, live.status, live.capacity_bytes) != (
                    disk.health, disk.status, disk.capacity_bytes):
                changes.append(DiskChanged(replace(disk, health=live.health, status=live.status,
                                                   capacity_bytes=live.capacity_bytes)))
        return tuple(changes)

    def read_hardware(self, state: ArrayState, now: float,
                      sensor_overrides: Mapping[str, SensorStatus]) -> HardwareReadings:
        """The cluster's health and OSDs: its health checks, OSDs as disks, both as sensors."""
        osds = self._osds()
        health = mon_command(self.cluster, "health", detail="detail")
        status = health.get("status", "HEALTH_ERR")
        checks = health.get("checks", {})
        return HardwareReadings(
            system=self._system(len(osds)),
            enclosures=self._enclosures(osds, status, checks),
            smart={disk.id: self._disk_smart(disk) for disk in state.disks.values()},
            temperatures={},
            storage_health=_HEALTH.get(status, SystemHealth.DEGRADED),
            health_checks={
                name: HealthCheck(_SEVERITY.get(check.get("severity", ""), EventLevel.WARNING),
                                  check.get("summary", {}).get("message", name))
                for name, check in checks.items()},
            disk_changes=self._disk_changes(osds, state.disks, now),
        )

    def _system(self, bays: int) -> SystemHardware:
        release = mon_command(self.cluster, "version")
        firmware = f"OpenSAN {__version__} on {release.get('version', 'Ceph')}"
        controllers = tuple(
            Controller(slot=slot, status="Normal", serial_number=f"{self._serial}-{slot}",
                       cpu="n/a" if slot != self.config.controller else cpu_model(),
                       memory_gb=0 if slot != self.config.controller else memory_gb(),
                       host_card_slots=(), firmware_version=firmware,
                       sas_ioc_firmware_version="n/a", sas_expander_firmware_version="n/a")
            for slot in (1, 2))
        return SystemHardware(
            model_name=self.config.model_name, serial_number=self._serial,
            firmware_version=firmware, controller_mode="Dual Controller",
            master_controller="Controller 1", form_factor="Ceph cluster", bays=bays,
            rack_units=0, controllers=controllers,
            backplane=Backplane(serial_number=self._serial, id=self.cluster.get_fsid(),
                                mcu_version="n/a"),
            ssd_cache_license=False, auto_tiering_license=False,
        )

    def _enclosures(self, osds: dict[int, dict[str, Any]], status: str,
                    checks: dict[str, Any]) -> tuple[Enclosure, ...]:
        """The overall status, each health check and each OSD as a sensor."""
        sensors = [Sensor("ceph-health", SensorType.HEALTH, "Cluster", "Ceph health", status, "",
                          _SENSOR.get(status, SensorStatus.FAILED))]
        for name, check in sorted(checks.items()):
            severity = check.get("severity", "HEALTH_WARN")
            sensors.append(Sensor(f"ceph-check-{name.lower()}", SensorType.HEALTH, "Cluster",
                                  name, check.get("summary", {}).get("message", ""), "",
                                  _SENSOR.get(severity, SensorStatus.WARNING)))
        for osd_id, osd in sorted(osds.items()):
            word = f"{'up' if osd.get('up') else 'down'}, {'in' if osd.get('in') else 'out'}"
            sensors.append(Sensor(f"ceph-osd-{osd_id}", SensorType.HEALTH,
                                  osd.get("host") or "Cluster", f"osd.{osd_id}", word, "",
                                  SensorStatus.GOOD if osd.get("up") else SensorStatus.FAILED))
        return (Enclosure(0, f"Ceph cluster {self.cluster.get_fsid()}", tuple(sensors)),)

    @staticmethod
    def _disk_smart(disk: Disk) -> DiskSmart:
        return DiskSmart(
            disk_id=disk.id, enclosure_id=disk.enclosure_id, slot=disk.slot, health=disk.health,
            temperature_c=None, power_on_hours=None, attributes=(), supported=False,
            note=f"{disk.device_path} is a Ceph OSD; its devices' health is Ceph's "
                 "(`ceph device ls`), not read through this API.")

    def read_performance(self, state: ArrayState, now: float) -> Performance:
        """Every volume of each pool whose counters the manager gave (one that had no I/O yet
        is not in its report: zero), and every OSD's; a down OSD keeps what it counted (it
        does nothing while down). A source that does not answer is logged and left out."""
        with self._perf_lock:
            if self._counting_since is None:
                self._counting_since = now
            volumes = self._volume_io(state)
            disks = self._disk_io(state)
            return Performance(taken_at=now, since=self._counting_since, volumes=volumes,
                               disks=disks)

    def _read(self, source: str, counters: perf.Monotonic[Any],
              readings: Mapping[Any, IoCounters]) -> None:
        if source in self._counted:
            counters.add(readings)
        else:
            counters.baseline(readings)
            self._counted.add(source)

    def _volume_io(self, state: ArrayState) -> dict[int, IoCounters]:
        volumes_of: dict[int, list[Volume]] = {}
        for volume in state.volumes.values():
            volumes_of.setdefault(volume.pool_id, []).append(volume)
        found: dict[int, IoCounters] = {}
        # One query of every pool, not one a pool: Ceph 16.2's mgr segfaulted (in a messenger
        # thread) every few minutes while arrays made and deleted pools, each with its own
        # query, and one query lives on whatever pools come and go.
        try:
            report = self._counters.mgr_command("rbd perf image counters")
            every_pool = perf.image_counters(report)
        except (BackendError, ValueError, KeyError, TypeError) as error:
            log.warning("Reading the image counters failed: %s", error)
            return found
        for pool in state.pools.values():
            name = self._ceph_pool(pool.name)
            readings = {key: io for key, io in every_pool.items() if key[0] == name}
            self._read(name, self._images, readings)
            for volume in volumes_of.get(pool.id, []):
                found[volume.id] = (self._images.total((name, self._image_name(volume.id)))
                                    or NO_IO)
        self._images.keep_only((self._ceph_pool(state.pools[v.pool_id].name),
                                self._image_name(v.id))
                               for v in state.volumes.values() if v.pool_id in state.pools)
        return found

    def _disk_io(self, state: ArrayState) -> dict[int, IoCounters]:
        osds = {disk.id: int(disk.device_path.removeprefix("osd."))
                for disk in state.disks.values()
                if disk.device_path and disk.device_path.startswith("osd.")}
        readings = {}
        for disk_id, osd_id in osds.items():
            if state.disks[disk_id].status is DiskStatus.MISSING:
                continue  # down: it would not answer, and it does nothing
            try:
                readings[disk_id] = perf.osd_counters(
                    self._counters.osd_command(osd_id, "perf dump", logger="osd"))
            except (BackendError, ValueError, KeyError, TypeError) as error:
                log.warning("Reading the counters of osd.%d failed: %s", osd_id, error)
        self._read("osds", self._osd_io, readings)
        self._osd_io.keep_only(osds)
        return {disk_id: total for disk_id in osds
                if (total := self._osd_io.total(disk_id)) is not None}

    def portals(self, controller: int) -> tuple[str, ...]:
        portals = self.config.portals
        return (portals[controller - 1],) if controller <= len(portals) else ()

    # Pools

    def _ceph_pool(self, pool_name: str) -> str:
        name = f"{self.config.pool_prefix}{pool_name}"
        if self.config.pools and name not in self.config.pools:
            raise Conflict(f"Ceph pool {name} is not one this array may use (pools in the "
                           "config).", ErrorCode.STATE_CONFLICT)
        return name

    def _ioctx(self, ceph_pool: str) -> rados.Ioctx:
        with self._ioctx_lock:  # a change and the tick's measurement may ask at once
            if ceph_pool not in self._ioctxs:
                with _rbd_errors(f"Opening Ceph pool {ceph_pool}"):
                    self._ioctxs[ceph_pool] = self.cluster.open_ioctx(ceph_pool)
            return self._ioctxs[ceph_pool]

    def pool_protection(self, raid_level: RaidLevel, disk_count: int) -> str:
        copies = fault_tolerance(raid_level) + 1
        return f"Replica {copies}"

    def create_pool(self, pool: Pool, disks: list[Disk], force: bool) -> None:
        name = self._ceph_pool(pool.name)
        copies = fault_tolerance(pool.raid_level) + 1
        up = [d for d in disks if d.health is DiskHealth.GOOD]
        if len(up) < copies:
            raise InvalidArgument(f"{copies} copies need {copies} OSDs; {len(up)} given.")
        if self.cluster.pool_exists(name):
            if any(True for _ in self._ioctx(name).list_objects()) and not force:
                raise Conflict(f"Ceph pool {name} exists and holds objects; give force/yes to "
                               "take it over.", ErrorCode.DISK_IN_USE)
        else:
            osds = self._osds()
            classes = {osds.get(d.slot - 1, {}).get("device_class", "") for d in disks}
            rule = self._crush_rule(classes.pop() if len(classes) == 1 else "")
            mon_command(self.cluster, "osd pool create", pool=name, rule=rule,
                        pg_num=self.config.pg_num, pgp_num=self.config.pg_num)
        mon_command(self.cluster, "osd pool set", pool=name, var="size", val=str(copies),
                    yes_i_really_mean_it=True)
        mon_command(self.cluster, "osd pool set", pool=name, var="min_size",
                    val=str(max(1, copies - 1)))
        mon_command(self.cluster, "osd pool application enable", pool=name, app="rbd",
                    yes_i_really_mean_it=True)
        self._without_client_cache(name)
        self._pool_names[pool.id] = name

    def _without_client_cache(self, ceph_pool: str) -> None:
        """Both controllers' tgtd open each image: no client-side cache may keep a write from
        the other path. A pool setting (`rbd config pool set`), so every client obeys it."""
        with _rbd_errors(f"Configuring pool {ceph_pool}"):
            rbd.RBD().config_set(self._ioctx(ceph_pool), "rbd_cache", "false")

    def _crush_rule(self, device_class: str) -> str:
        """A replicated CRUSH rule over the OSDs of one device class (all, without one)."""
        name = f"opensan-{device_class or 'any'}-{self.config.failure_domain}"
        arguments = {"class": device_class} if device_class else {}
        mon_command(self.cluster, "osd crush rule create-replicated", name=name, root="default",
                    type=self.config.failure_domain, **arguments)
        return name

    def delete_pool(self, pool: Pool, members: list[Disk]) -> None:
        name = self._ceph_pool(pool.name)
        with self._ioctx_lock:
            ioctx = self._ioctxs.pop(name, None)
        if ioctx is not None:
            ioctx.close()
        mon_command(self.cluster, "osd pool rm", pool=name, pool2=name,
                    yes_i_really_really_mean_it=True)

    def add_pool_disks(self, pool: Pool, disks: list[Disk]) -> None:
        raise NotSupported("A Ceph pool grows when OSDs join the cluster.")

    def adopt_pools(self, now: float, new_id: Callable[[], int], disks: list[Disk]) -> list[Pool]:
        """The configured pools that already exist in the cluster, with their replica count.
        An erasure-coded pool is refused: RBD keeps image metadata only in a replicated pool,
        and OpenSAN does not pair pools that way."""
        if not self.config.pools:
            return []
        details = {p["pool_name"]: p for p in mon_command(self.cluster, "osd pool ls",
                                                          detail="detail")}
        adopted = []
        for name in self.config.pools:
            detail = details.get(name)
            if detail is None or not name.startswith(self.config.pool_prefix):
                continue
            if detail.get("erasure_code_profile") and detail.get("type") == 3:
                raise InvalidArgument(
                    f"Ceph pool {name} is erasure-coded; RBD images need a replicated pool for "
                    "their metadata, which OpenSAN does not set up. List replicated pools only.")
            copies = int(detail["size"])
            level = {1: RaidLevel.RAID0, 2: RaidLevel.RAID5}.get(copies, RaidLevel.RAID6)
            self._without_client_cache(name)
            adopted.append(Pool(new_id(), name[len(self.config.pool_prefix):], level,
                                Provision.THIN, tuple(d.id for d in disks), now,
                                f"Replica {copies}"))
        return adopted

    def measure_usage(self, state: ArrayState) -> Usage:
        """Pools from `ceph df`: what each stores, and as capacity the cluster's raw size
        divided by the pool's copies (steady, unlike max_avail, which moves with every write);
        a pool the manager has no statistics of yet (made a moment ago) stores nothing.
        Volumes and snapshots from one `rbd du` per pool."""
        if not state.pools:
            return Usage()
        frame = mon_command(self.cluster, "df")
        details = {p["pool_name"]: p
                   for p in mon_command(self.cluster, "osd pool ls", detail="detail")}
        stored = {entry["name"]: entry["stats"]["stored"] for entry in frame.get("pools", [])}
        pools: dict[int, PoolUsage] = {}
        volumes: dict[int, int] = {}
        snapshots: dict[int, int] = {}
        snapshot_space: dict[int, int] = {}
        volumes_of: dict[int, list[Volume]] = {}
        for volume in state.volumes.values():
            volumes_of.setdefault(volume.pool_id, []).append(volume)
        snapshots_of: dict[int, list[Snapshot]] = {}
        for snapshot in state.snapshots.values():
            snapshots_of.setdefault(snapshot.volume_id, []).append(snapshot)
        for pool in state.pools.values():
            name = self._ceph_pool(pool.name)
            detail = details.get(name)
            if detail is None:
                continue
            pools[pool.id] = PoolUsage(frame["stats"]["total_bytes"] // max(1, int(detail["size"])),
                                       stored.get(name, 0))
            images = self._du(name)
            for volume in volumes_of.get(pool.id, []):
                entries = images.get(self._image_name(volume.id))
                if entries:
                    self._measure_volume(volume, snapshots_of.get(volume.id, []), entries,
                                         volumes, snapshots, snapshot_space)
        return Usage(pools, volumes, snapshots, snapshot_space)

    def _measure_volume(self, volume: Volume, of_volume: list[Snapshot],
                        entries: list[tuple[str | None, int]], volumes: dict[int, int],
                        snapshots: dict[int, int], snapshot_space: dict[int, int]) -> None:
        """From a volume's `rbd du` entries, oldest snapshot first and the image itself last,
        each what changed since the entry before it, in whole RADOS objects:
        - the volume holds at most what the image and its snapshots hold together (the image's
          own share cannot be told apart once old data was overwritten);
        - a snapshot keeps what changed after it, up to the next one (or now); writes to places
          it had no data count too, so this errs on the high side;
        - the snapshot space holds everything changed since the oldest snapshot."""
        volumes[volume.id] = min(volume.capacity_bytes, sum(used for _, used in entries))
        names = [name for name, _ in entries]
        for snapshot in of_volume:
            own = self._snapshot_name(snapshot.id)
            if own in names and names.index(own) + 1 < len(entries):
                snapshots[snapshot.id] = entries[names.index(own) + 1][1]
        has_snapshots = any(name is not None for name in names)
        snapshot_space[volume.id] = sum(used for _, used in entries[1:]) if has_snapshots else 0

    # Volumes

    def _pool_of(self, volume: Volume) -> str:
        try:
            return self._pool_names[volume.pool_id]
        except KeyError:
            raise BackendError(f"Pool {volume.pool_id} is not known here yet.") from None

    @staticmethod
    def _image_name(volume_id: int) -> str:
        return f"vol-{volume_id}"

    @staticmethod
    def _snapshot_name(snapshot_id: int) -> str:
        return f"snap-{snapshot_id}"

    @contextmanager
    def _image(self, volume: Volume) -> Iterator[rbd.Image]:
        with _rbd_errors(f"Opening image {self._image_name(volume.id)}"), \
                rbd.Image(self._ioctx(self._pool_of(volume)), self._image_name(volume.id)) as image:
            yield image

    def _spec(self, volume: Volume, snapshot_id: int | None = None) -> str:
        spec = f"{self._pool_of(volume)}/{self._image_name(volume.id)}"
        return f"{spec}@{self._snapshot_name(snapshot_id)}" if snapshot_id else spec

    def create_volume(self, volume: Volume) -> None:
        ioctx = self._ioctx(self._pool_of(volume))
        name = self._image_name(volume.id)
        # The ID is new and the change holds the records' lock: an image of this name is what
        # a change killed before its commit left behind, with the same ID.
        if name in rbd.RBD().list(ioctx):
            self._remove_orphan_image(ioctx, name)
        with _rbd_errors(f"Creating image {name}"):
            rbd.RBD().create(ioctx, name, volume.capacity_bytes, old_format=False,
                             features=FEATURES)
        self._sizes[self._spec(volume)] = volume.capacity_bytes

    @staticmethod
    def _remove_orphan_image(ioctx: rados.Ioctx, name: str) -> None:
        """Remove an image nobody recorded. It is opened read-only first: opening it for
        writing would wait for the image lock of the client that made it, which may be dead."""
        log.warning("Removing orphaned image %s", name)
        with _rbd_errors(f"Removing orphaned image {name}"):
            try:
                with rbd.Image(ioctx, name, read_only=True) as image:
                    snapshots = [snap["name"] for snap in image.list_snaps()]
            except rbd.ImageNotFound:
                # Listed but not openable: a creation killed half-way left the directory
                # entry without the header; removing it cleans up what is there.
                snapshots = []
            if snapshots:
                with rbd.Image(ioctx, name) as image:
                    for snapshot in snapshots:
                        _release_snapshot(image, snapshot, remove=True)
            with suppress(rbd.ImageNotFound):
                rbd.RBD().remove(ioctx, name)

    def extend_volume(self, volume: Volume) -> None:
        with self._image(volume) as image, _rbd_errors("Resizing"):
            image.resize(volume.capacity_bytes)
        self._sizes[self._spec(volume)] = volume.capacity_bytes
        self.luns.sync()  # tgt reads a LUN's size when it is created: re-create mapped ones

    def delete_volume(self, volume: Volume) -> None:
        """Remove the image, waiting a moment for the other controller to close it (it lets go
        when it takes in the unmapping, within a tick)."""
        ioctx = self._ioctx(self._pool_of(volume))
        deadline = time.monotonic() + BUSY_WAIT_SECONDS
        while True:
            try:
                rbd.RBD().remove(ioctx, self._image_name(volume.id))
                break
            except rbd.ImageNotFound:
                break
            except rbd.ImageBusy as error:
                if time.monotonic() > deadline:
                    raise Conflict("The image is still open (the other controller still "
                                   "exports it?); try again.", ErrorCode.STATE_CONFLICT) \
                        from error
                time.sleep(0.2)
            except (rbd.Error, rados.Error) as error:
                raise BackendError(f"Removing image failed: {error}") from error
        self._sizes.pop(self._spec(volume), None)

    def _du(self, ceph_pool: str) -> dict[str, list[tuple[str | None, int]]]:
        """`rbd du -p` of a pool: for each image, (snapshot name, used bytes) oldest snapshot
        first, the image itself (None) last. When rbd du fails (an image removed while it
        read, or librbd 16.2 aborting it: docs/ceph.md), it is logged and the pool's last
        answer stands, so that a failed reading does not show the volumes empty."""
        argv = ["rbd", "-c", str(self.config.ceph_conf), "--id", self.config.client_id,
                "du", "--format", "json", "-p", ceph_pool]
        if self.config.keyring:
            argv[1:1] = ["--keyring", str(self.config.keyring)]
        try:
            output = json.loads(run(argv, timeout=120))
        except CommandFailed as error:
            log.warning("rbd du -p %s failed: %s", ceph_pool, error)
            return self._last_du.get(ceph_pool, {})
        images: dict[str, list[tuple[int, str | None, int]]] = {}
        for entry in output.get("images", []):
            order = entry.get("snapshot_id", 2**63)  # the image itself after its snapshots
            images.setdefault(entry["name"], []).append(
                (order, entry.get("snapshot"), int(entry["used_size"])))
        found = {name: [(snapshot, used) for _, snapshot, used in sorted(entries)]
                 for name, entries in images.items()}
        self._last_du[ceph_pool] = found
        return found

    # Snapshots

    def set_snapshot_space(self, volume: Volume) -> None:
        """Nothing below enforces it: the service does, from measured use."""

    def create_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        name = self._snapshot_name(snapshot.id)
        with self._image(volume) as image, _rbd_errors("Taking the snapshot"):
            if image.snap_exists(name):  # left by a change killed before its commit
                image.remove_snap(name)
            image.create_snap(name)

    def delete_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        """Also a snapshot a clone was made from, protected until then."""
        with self._image(volume) as image, _rbd_errors("Deleting the snapshot"):
            if image.snap_exists(self._snapshot_name(snapshot.id)):
                _release_snapshot(image, self._snapshot_name(snapshot.id), remove=True)

    def rollback_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        """Withdraw this controller's LUNs of the volume, roll the image back, export again
        (tgt holds the image open). A LUN of the other controller's keeps it open there."""
        with self.luns.withdrawn(volume.id), self._image(volume) as image:
            deadline = time.monotonic() + BUSY_WAIT_SECONDS
            while True:
                try:
                    image.rollback_to_snap(self._snapshot_name(snapshot.id))
                    if image.size() < volume.capacity_bytes:
                        # RBD gives the image the snapshot's size; the volume keeps its own.
                        image.resize(volume.capacity_bytes)
                    return
                except (rbd.ReadOnlyImage, rbd.ImageBusy) as error:
                    if time.monotonic() > deadline:
                        raise Conflict(
                            "The image is open elsewhere (a LUN of the other controller?); "
                            "unmap it there, then roll back.", ErrorCode.STATE_CONFLICT) from error
                    time.sleep(0.2)
                except (rbd.Error, rados.Error) as error:
                    raise BackendError(f"Rolling back failed: {error}") from error

    # Clones: an RBD clone of a protected snapshot, then flattened in the background

    @staticmethod
    def _clone_snapshot_name(clone_id: int) -> str:
        """The snapshot of a source volume that a clone of the volume is made from."""
        return f"clone-{clone_id}"

    def _parent_snapshot(self, clone: Volume, snapshot: Snapshot | None) -> str:
        return self._snapshot_name(snapshot.id) if snapshot \
            else self._clone_snapshot_name(clone.id)

    def create_clone(self, clone: Volume, source: Volume, snapshot: Snapshot | None) -> None:
        """The clone's image as an RBD clone of the source snapshot, or of a new snapshot
        clone-<id> of the source volume (its data now); protected while the clone has it as
        its parent. The flatten that copies the data runs later (clone_progress)."""
        destination = self._ioctx(self._pool_of(clone))
        name = self._image_name(clone.id)
        if name in rbd.RBD().list(destination):  # as in create_volume: a killed change's
            self._remove_orphan_image(destination, name)
        parent = self._parent_snapshot(clone, snapshot)
        with self._image(source) as image, _rbd_errors("Preparing the clone's source"):
            if snapshot is None:
                if image.snap_exists(parent):  # left by a change killed before its commit
                    _release_snapshot(image, parent, remove=True)
                image.create_snap(parent)
            if not image.is_protected_snap(parent):
                image.protect_snap(parent)
        try:
            with _rbd_errors(f"Cloning into image {name}"):
                rbd.RBD().clone(self._ioctx(self._pool_of(source)),
                                self._image_name(source.id), parent, destination, name,
                                features=FEATURES)
                with rbd.Image(destination, name) as child:
                    if child.size() < clone.capacity_bytes:  # a snapshot from before an extend
                        child.resize(clone.capacity_bytes)
                    # A clone takes its parent's metadata, QoS settings too: the clone has none.
                    _set_qos(child, 0, 0)
        except BackendError:
            with suppress(BackendError, rbd.Error), self._image(source) as image:
                _release_snapshot(image, parent, remove=snapshot is None)
            raise
        self._sizes[self._spec(clone)] = clone.capacity_bytes

    def clone_progress(self, clone: Volume, source: Volume, snapshot: Snapshot | None,
                       now: float) -> int:
        """The flatten's progress; it is started when none runs here (also after a restart:
        a flatten goes on from the objects already copied)."""
        with self._flatten_lock:
            job = self._flattens.get(clone.id)
            if job is not None and job.error is not None:
                del self._flattens[clone.id]
                raise BackendError(f"Flattening the clone's image failed: {job.error}")
            if job is not None:
                return 100 if job.done else job.percent
            with self._image(clone) as image:
                try:
                    image.parent_info()
                except rbd.ImageNotFound:
                    return 100  # flattened already (by the other controller, or before a kill)
            job = self._flattens[clone.id] = _Flatten()
        threading.Thread(target=self._flatten, args=(clone, job), daemon=True,
                         name=f"opensan-flatten-{clone.id}").start()
        return 0

    def _flatten(self, clone: Volume, job: _Flatten) -> None:
        def progress(offset: int, total: int) -> int:
            job.percent = min(99, offset * 100 // max(1, total))
            return 0

        try:
            with rbd.Image(self._ioctx(self._pool_of(clone)), self._image_name(clone.id)) \
                    as image:
                image.flatten(on_progress=progress)
            job.done = True
        except (rbd.Error, rados.Error, BackendError) as error:
            job.error = str(error)

    def finish_clone(self, clone: Volume, source: Volume, snapshot: Snapshot | None) -> None:
        """The clone has its own data: unprotect the parent snapshot, remove clone-<id>."""
        with self._flatten_lock:
            self._flattens.pop(clone.id, None)
        parent = self._parent_snapshot(clone, snapshot)
        with self._image(source) as image, _rbd_errors("Releasing the clone's source"):
            if image.snap_exists(parent):
                _release_snapshot(image, parent, remove=snapshot is None)

    def set_qos(self, volume: Volume, max_iops: int, max_bytes_per_second: int) -> None:
        with self._image(volume) as image, _rbd_errors("Setting the image's QoS"):
            _set_qos(image, max_iops, max_bytes_per_second)

    # Targets and LUNs: only this controller's

    def _backing(self, volume: Volume, snapshot_id: int | None) -> Backing:
        spec = self._spec(volume, snapshot_id)
        if snapshot_id is None:  # the records know the image's size, also after a resize there
            self._sizes[spec] = volume.capacity_bytes
        elif spec not in self._sizes:  # a snapshot keeps the size the image had then
            # Read from the image's snapshot list, not by opening the image at the snapshot:
            # librbd 16.2 crashes the process (SIGSEGV, or SIGABRT after a std::system_error
            # from one of its threads) now and then when it opens an image at a snapshot
            # (scripts/ceph_rbd_stress.py shows it within minutes; docs/ceph.md).
            name = self._snapshot_name(snapshot_id)
            with _rbd_errors(f"Reading the size of {spec}"), rbd.Image(
                    self._ioctx(self._pool_of(volume)), self._image_name(volume.id),
                    read_only=True) as image:
                sizes = {snap["name"]: snap["size"] for snap in image.list_snaps()}
            if name not in sizes:
                raise BackendError(f"Reading the size of {spec} failed: the image has no "
                                   f"snapshot {name}.")
            self._sizes[spec] = sizes[name]
        options = f"conf={self.config.ceph_conf};id={self.config.client_id}"
        return Backing(spec, "rbd", options)

    def _own(self, target: Target) -> bool:
        return target.controller == self.config.controller

    def create_target(self, target: Target) -> None:
        if self._own(target):
            self.luns.put_target(target)

    def delete_target(self, target: Target) -> None:
        if self._own(target):
            self.luns.remove_target(target.id)

    def map_lun(
        self, target: Target, mapping: LunMapping, volume: Volume, snapshot: Snapshot | None
    ) -> None:
        backing = self._backing(volume, snapshot.id if snapshot else None)
        if self._own(target):
            self.luns.export(Export(target.id, mapping, backing))

    def unmap_lun(self, target: Target, mapping: LunMapping) -> None:
        if self._own(target):
            self.luns.unexport(target.id, mapping.lun)

    def reconcile(self, state: ArrayState) -> None:
        """Learn the pools and volumes, and serve exactly this controller's LUNs: at start-up,
        after tgtd died, and whenever the other controller changed the records."""
        with self.luns.lock:
            self._pool_names = {p.id: self._ceph_pool(p.name) for p in state.pools.values()}
            exports = []
            for (target_id, _lun), mapping in state.mappings.items():
                target = state.targets[target_id]
                if not self._own(target):
                    continue
                volume = state.volumes[mapping.volume_id]
                exports.append(Export(target_id, mapping,
                                      self._backing(volume, mapping.snapshot_id)))
            own = {t.id: t for t in state.targets.values() if self._own(t)}
            self.luns.replace_all(own, exports)

    def remove_orphans(self, state: ArrayState) -> None:
        """Images and snapshots of OpenSAN's naming that the records do not have: a change was
        killed between making them and committing (their IDs would otherwise clash later), or
        a clone's end committed before its parent snapshot was let go. Images go first: an
        orphan clone still holds its parent snapshot."""
        volumes = {self._image_name(v.id) for v in state.volumes.values()}
        snapshots = {self._snapshot_name(s.id) for s in state.snapshots.values()}
        cloning = {v.clone_of.snapshot_id: v for v in state.volumes.values() if v.clone_of}
        kept = snapshots | {self._clone_snapshot_name(v.id) for v in cloning.values()}
        pools = [self._ioctx(self._ceph_pool(pool.name)) for pool in state.pools.values()]
        for ioctx in pools:
            with _rbd_errors("Listing the images of a pool"):
                images = rbd.RBD().list(ioctx)
            for name in images:
                if name.startswith("vol-") and name not in volumes:
                    self._remove_orphan_image(ioctx, name)
        for ioctx in pools:
            with _rbd_errors("Listing the images of a pool"):
                images = rbd.RBD().list(ioctx)
            for name in images:
                if not name.startswith("vol-"):
                    continue  # not OpenSAN's
                with _rbd_errors(f"Listing the snapshots of {name}"), rbd.Image(
                        ioctx, name) as image:
                    for snap in list(image.list_snaps()):
                        own = snap["name"]
                        if own.startswith(("snap-", "clone-")) and own not in kept:
                            log.warning("Removing orphaned snapshot %s@%s", name, own)
                            _release_snapshot(image, own, remove=True)
                        elif own in snapshots and int(own[5:]) not in cloning:
                            _release_snapshot(image, own, remove=False)  # no clone needs it

    def poll(self) -> list[BackendEvent]:
        return self.tgt.check()

    def close(self) -> None:
        self._counters.close()
        self.tgt.close()
        for ioctx in self._ioctxs.values():
            ioctx.close()
        self.cluster.shutdown()

    def _backing_size(self, backing: Backing) -> int:
        return self._sizes[backing.path]


@dataclass
class _Flatten:
    """A flatten running in a thread of this controller: how far it is, how it ended."""

    percent: int = 0
    done: bool = False
    error: str | None = None


def _release_snapshot(image: rbd.Image, name: str, remove: bool) -> None:
    """Unprotect a snapshot no clone has as its parent any more (one that still has a child
    stays protected, for the child's own end to release), and remove it if asked."""
    if image.is_protected_snap(name):
        try:
            image.unprotect_snap(name)
        except rbd.ImageBusy:
            log.info("Snapshot %s is still a clone's parent; it stays protected", name)
            return
    if remove:
        image.remove_snap(name)


def _set_qos(image: rbd.Image, max_iops: int, max_bytes_per_second: int) -> None:
    """librbd's QoS of the image, obeyed by every client that opens it (tgt's bs_rbd); 0 is
    no limit."""
    image.config_set(QOS_IOPS, str(max_iops))
    image.config_set(QOS_BPS, str(max_bytes_per_second))


def open_store(config_path: Path) -> Store:
    """The array's records in the cluster (the records pool is created on first use)."""
    config = CephConfig.load(config_path)
    cluster = connect(config)
    try:
        ensure_pool(cluster, config.records_pool, "opensan")
        return RadosStore(cluster.open_ioctx(config.records_pool), config.records_object,
                          on_close=cluster.shutdown)
    except BaseException:
        cluster.shutdown()
        raise


def create(options: dict[str, Any]) -> StorageBackend:
    if "config" not in options:
        raise InvalidArgument("The ceph backend needs --config FILE (docs/ceph.md).")
    config = CephConfig.load(Path(options["config"]))
    return CephBackend(config, connect(config))


SPEC = BackendSpec(create=create, open_store=open_store)
