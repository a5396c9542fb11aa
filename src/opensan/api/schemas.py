"""The SANOS JSON on the wire: the only place where wire names appear.

Models are camelCase by alias (api-contract.md, "Objects"); each has a from_domain()
that maps the domain's names to them. Lists are serialized by pydantic-core in one call, and
the API caches the bytes per state version, so a read costs no serialization at all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from pydantic.alias_generators import to_camel

from opensan.api.endpoint import Access
from opensan.domain import models as m
from opensan.domain.performance import IoRates
from opensan.domain.workload import VolumeWorkload
from opensan.service.performance import Figures, Report

_LAST_DATE = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


def iso_time(unix_seconds: float) -> str:
    """Total: a record an earlier release stamped past year 9999 still renders."""
    moment = min(max(unix_seconds, 0.0), _LAST_DATE)
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Wire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class ErrorDetail(Wire):
    code: int
    message: str


class ErrorBody(Wire):
    """Every answer that is not 200 (api-contract.md, "Errors"; docs/errors.md)."""

    error: ErrorDetail


class LoginOut(Wire):
    access_token: str
    expire_time: int
    account: str
    role: m.Role


class AccountOut(Wire):
    """An account as an administrator sees it (extension); never its password or hash."""

    name: str
    role: str
    enabled: bool
    default_password: bool

    @classmethod
    def from_domain(cls, account: m.Account) -> AccountOut:
        return cls(name=account.name, role=account.role.value, enabled=account.enabled,
                   default_password=account.default_password)


class HelpItem(Wire):
    method: Literal["GET", "POST", "PATCH", "PUT", "DELETE"]  # SANOS: GET and POST only
    path: str
    description: str
    access: Access
    extension: bool
    api: Literal["SANOS", "XEVO"]  # XEVO: QSAN's current REST API, docs/xevo.md


OnOff = Literal["Enabled", "Disabled"]


class HostCardSlotOut(Wire):
    slot: int
    card: str


class ControllerOut(Wire):
    slot: int
    status: str
    serial_number: str
    cpu: str
    memory_gb: int = Field(serialization_alias="memoryGB")  # the contract spells it so
    host_card_slots: list[HostCardSlotOut]
    firmware_version: str
    sas_ioc_firmware_version: str
    sas_expander_firmware_version: str


class BackplaneOut(Wire):
    serial_number: str
    id: str
    mcu_version: str


class LicensesOut(Wire):
    ssd_cache: OnOff
    auto_tiering: OnOff


class SystemOut(Wire):
    system_name: str
    model_name: str
    serial_number: str
    firmware_version: str
    system_health: m.SystemHealth
    controller_mode: str
    master_controller: str
    form_factor: str
    bays: int
    rack_units: int
    time: str
    uptime_seconds: int
    controllers: list[ControllerOut]
    backplane: BackplaneOut
    licenses: LicensesOut
    # An extension: the SHA-256 fingerprint of the certificate the API is served with over
    # HTTPS, null over plain HTTP (docs/api.md).
    tls_fingerprint: str | None

    @classmethod
    def from_domain(cls, info: m.SystemInfo, tls_fingerprint: str | None) -> SystemOut:
        def enabled(flag: bool) -> OnOff:
            return "Enabled" if flag else "Disabled"

        hw = info.hardware
        return cls(
            system_name=info.system_name, model_name=hw.model_name,
            serial_number=hw.serial_number, firmware_version=hw.firmware_version,
            system_health=info.system_health, controller_mode=hw.controller_mode,
            master_controller=hw.master_controller, form_factor=hw.form_factor,
            bays=hw.bays, rack_units=hw.rack_units, time=iso_time(info.time),
            uptime_seconds=info.uptime_seconds,
            controllers=[
                ControllerOut(
                    slot=c.slot, status=c.status, serial_number=c.serial_number, cpu=c.cpu,
                    memory_gb=c.memory_gb,
                    host_card_slots=[HostCardSlotOut(slot=h.slot, card=h.card)
                                     for h in c.host_card_slots],
                    firmware_version=c.firmware_version,
                    sas_ioc_firmware_version=c.sas_ioc_firmware_version,
                    sas_expander_firmware_version=c.sas_expander_firmware_version,
                )
                for c in hw.controllers
            ],
            backplane=BackplaneOut(serial_number=hw.backplane.serial_number,
                                   id=hw.backplane.id, mcu_version=hw.backplane.mcu_version),
            licenses=LicensesOut(ssd_cache=enabled(hw.ssd_cache_license),
                                 auto_tiering=enabled(hw.auto_tiering_license)),
            tls_fingerprint=tls_fingerprint,
        )


class SensorOut(Wire):
    id: str
    type: m.SensorType
    location: str
    name: str
    value: float | str
    unit: str
    status: m.SensorStatus


class EnclosureOut(Wire):
    id: int
    name: str
    sensors: list[SensorOut]


class HardwareMonitorOut(Wire):
    system_health: m.SystemHealth
    enclosures: list[EnclosureOut]

    @classmethod
    def from_domain(
        cls, health: m.SystemHealth, enclosures: tuple[m.Enclosure, ...]
    ) -> HardwareMonitorOut:
        return cls(
            system_health=health,
            enclosures=[
                EnclosureOut(
                    id=e.id, name=e.name,
                    sensors=[SensorOut(id=s.id, type=s.type, location=s.location,
                                       name=s.name, value=s.value, unit=s.unit,
                                       status=s.status) for s in e.sensors],
                )
                for e in enclosures
            ],
        )


class EventOut(Wire):
    id: int
    time: str
    level: m.EventLevel
    source: str
    message: str
    # Extensions: who made the change. account is "system" for what the array did by itself;
    # both are null in events of releases that did not record them, account also in a login
    # attempt's events (before there is an account).
    account: str | None
    client: str | None

    @classmethod
    def from_domain(cls, event: m.Event) -> EventOut:
        return cls(id=event.id, time=iso_time(event.time), level=event.level,
                   source=event.source, message=event.message, account=event.account,
                   client=event.client)


class EventPageOut(Wire):
    page: int
    page_size: int
    total_pages: int
    total: int
    events: list[EventOut]

    @classmethod
    def from_domain(cls, page: m.EventPage) -> EventPageOut:
        return cls(
            page=page.page, page_size=page.page_size, total_pages=page.total_pages,
            total=page.total,
            events=[EventOut.from_domain(e) for e in page.events],
        )


class DiskOut(Wire):
    id: int
    enclosure_id: int
    slot: int
    capacity_bytes: int
    health: m.DiskHealth
    status: m.DiskStatus
    usage: m.DiskUsage
    pool_id: int | None
    type: m.DiskType
    vendor: str
    model: str
    serial_number: str
    firmware_version: str
    interface_speed: str
    temperature_c: int | None

    @classmethod
    def from_domain(cls, view: m.DiskView) -> DiskOut:
        d = view.disk
        return cls(
            id=d.id, enclosure_id=d.enclosure_id, slot=d.slot, capacity_bytes=d.capacity_bytes,
            health=d.health, status=d.status, usage=d.usage, pool_id=d.pool_id,
            type=d.type, vendor=d.vendor, model=d.model, serial_number=d.serial_number,
            firmware_version=d.firmware_version, interface_speed=d.interface_speed,
            temperature_c=view.temperature_c,
        )


class SmartAttributeOut(Wire):
    id: int
    name: str
    value: int
    worst: int
    threshold: int
    raw: int
    status: str


class DiskSmartOut(Wire):
    disk_id: int
    enclosure_id: int
    slot: int
    health: m.DiskHealth
    temperature_c: int | None
    power_on_hours: int | None
    attributes: list[SmartAttributeOut]
    supported: bool
    note: str

    @classmethod
    def from_domain(cls, smart: m.DiskSmart) -> DiskSmartOut:
        return cls(
            disk_id=smart.disk_id, enclosure_id=smart.enclosure_id, slot=smart.slot,
            health=smart.health, temperature_c=smart.temperature_c,
            power_on_hours=smart.power_on_hours,
            attributes=[SmartAttributeOut(id=a.id, name=a.name, value=a.value, worst=a.worst,
                                          threshold=a.threshold, raw=a.raw, status=a.status)
                        for a in smart.attributes],
            supported=smart.supported, note=smart.note,
        )


class PoolOut(Wire):
    id: int
    name: str
    type: m.Provision
    raid_level: str
    health: m.PoolHealth
    status: m.PoolStatus
    capacity_bytes: int
    used_bytes: int
    free_bytes: int
    disk_ids: list[int]
    volume_count: int

    @classmethod
    def from_domain(cls, view: m.PoolView) -> PoolOut:
        p = view.pool
        return cls(
            id=p.id, name=p.name, type=p.provision, raid_level=p.protection_label,
            health=view.health, status=view.status,
            capacity_bytes=view.capacity_bytes, used_bytes=view.used_bytes,
            free_bytes=view.free_bytes, disk_ids=list(p.disk_ids),
            volume_count=view.volume_count,
        )


class VolumeOut(Wire):
    id: int
    name: str
    pool_id: int
    capacity_bytes: int
    used_bytes: int
    provision: m.Provision
    raid_level: str
    health: m.VolumeHealth
    status: m.VolumeStatus
    cache_mode: m.CacheMode
    wwn: str
    snapshot_space_bytes: int
    snapshot_used_bytes: int
    snapshot_count: int
    mapped: bool

    @classmethod
    def from_domain(cls, view: m.VolumeView) -> VolumeOut:
        v = view.volume
        return cls(
            id=v.id, name=v.name, pool_id=v.pool_id, capacity_bytes=v.capacity_bytes,
            used_bytes=view.used_bytes, provision=v.provision,
            raid_level=view.protection, health=view.health,
            status=view.status, cache_mode=v.cache_mode, wwn=v.wwn,
            snapshot_space_bytes=v.snapshot_space_bytes,
            snapshot_used_bytes=view.snapshot_used_bytes, snapshot_count=view.snapshot_count,
            mapped=view.mapped,
        )


class SnapshotOut(Wire):
    id: int
    volume_id: int
    name: str
    created_at: str
    used_bytes: int
    status: str

    @classmethod
    def from_domain(cls, s: m.Snapshot) -> SnapshotOut:
        return cls(id=s.id, volume_id=s.volume_id, name=s.name, created_at=iso_time(s.created_at),
                   used_bytes=s.used_bytes, status="In trash" if s.in_trash else s.status)


class SnapshotSpaceOut(Wire):
    volume_id: int
    snapshot_space_bytes: int
    snapshot_used_bytes: int


class SnapshotInfoOut(SnapshotSpaceOut):
    snapshots: list[SnapshotOut]


class TargetOut(Wire):
    id: int
    type: m.TargetType
    name: str
    iqn: str
    controller: int
    node: int
    portals: list[str]
    lun_count: int

    @classmethod
    def from_domain(cls, view: m.TargetView) -> TargetOut:
        t = view.target
        return cls(id=t.id, type=t.type, name=t.name, iqn=t.iqn, controller=t.controller,
                   node=t.node, portals=list(t.portals), lun_count=view.lun_count)


class MappingOut(Wire):
    target_id: int
    lun: int
    volume_id: int
    volume_name: str
    permission: m.Permission
    hosts: list[str]
    protocol: m.TargetType
    snapshot_id: int | None
    snapshot_name: str | None

    @classmethod
    def from_domain(cls, view: m.MappingView) -> MappingOut:
        mp = view.mapping
        return cls(target_id=mp.target_id, lun=mp.lun, volume_id=mp.volume_id,
                   volume_name=view.volume_name, permission=mp.permission,
                   hosts=list(mp.hosts), protocol=view.protocol,
                   snapshot_id=mp.snapshot_id, snapshot_name=view.snapshot_name)


class AvailableLunsOut(Wire):
    target_id: int
    luns: list[MappingOut]
    free_luns: list[int]


class ClockOut(Wire):
    time: str


class EmptyOut(Wire):
    """The answer of a change that has nothing to show: {}."""

    model_config = ConfigDict(extra="forbid")


VOLUME_LIST = TypeAdapter(list[VolumeOut])
POOL_LIST = TypeAdapter(list[PoolOut])
DISK_LIST = TypeAdapter(list[DiskOut])
SMART_LIST = TypeAdapter(list[DiskSmartOut])
TARGET_LIST = TypeAdapter(list[TargetOut])
MAPPING_LIST = TypeAdapter(list[MappingOut])
HELP_LIST = TypeAdapter(list[HelpItem])
ACCOUNT_LIST = TypeAdapter(list[AccountOut])


# Performance (extensions): IOPS, MB/s (10^6 bytes) and latency in milliseconds, now and over
# a window; a figure is null where there is none (no two readings yet, or nothing completed).

def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


class IoRatesOut(Wire):
    seconds: float  # the time the figures cover
    iops: float
    read_iops: float
    write_iops: float
    mb_per_second: float = Field(serialization_alias="MBps")
    read_mb_per_second: float = Field(serialization_alias="readMBps")
    write_mb_per_second: float = Field(serialization_alias="writeMBps")
    read_latency_ms: float | None
    write_latency_ms: float | None

    @classmethod
    def from_domain(cls, rates: IoRates | None) -> IoRatesOut | None:
        if rates is None:
            return None
        return cls(seconds=round(rates.seconds, 3), iops=round(rates.iops, 1),
                   read_iops=round(rates.read_iops, 1), write_iops=round(rates.write_iops, 1),
                   mb_per_second=round(rates.bytes_per_second / 1e6, 3),
                   read_mb_per_second=round(rates.read_bytes_per_second / 1e6, 3),
                   write_mb_per_second=round(rates.write_bytes_per_second / 1e6, 3),
                   read_latency_ms=_ms(rates.read_latency_seconds),
                   write_latency_ms=_ms(rates.write_latency_seconds))


class FiguresOut(Wire):
    now: IoRatesOut | None
    window: IoRatesOut | None

    @classmethod
    def from_domain(cls, figures: Figures) -> FiguresOut:
        return cls(now=IoRatesOut.from_domain(figures.now),
                   window=IoRatesOut.from_domain(figures.window))


class ArrayPerformanceOut(FiguresOut):
    taken_at: str | None
    counting_started_at: str | None
    window_seconds: int

    @classmethod
    def from_report(cls, report: Report) -> ArrayPerformanceOut:
        figures = FiguresOut.from_domain(report.array)
        return cls(now=figures.now, window=figures.window,
                   taken_at=None if report.taken_at is None else iso_time(report.taken_at),
                   counting_started_at=None if report.counting_since is None
                   else iso_time(report.counting_since), window_seconds=report.window_seconds)


class PoolPerformanceOut(FiguresOut):
    pool_id: int
    name: str


class VolumePerformanceOut(FiguresOut):
    volume_id: int
    name: str
    pool_id: int


class DiskPerformanceOut(FiguresOut):
    disk_id: int
    enclosure_id: int
    slot: int


class PortPerformanceOut(FiguresOut):
    port: str
    controller: int | None


class WorkloadOut(Wire):
    volume_id: int
    name: str
    iops: int
    read_percent: int
    block_kb: int = Field(serialization_alias="blockKB")
    chosen: bool  # set for the volume, rather than drawn from the seed
    running: bool  # hosts run it: the volume is mapped and its pool is up

    @classmethod
    def from_domain(cls, w: VolumeWorkload) -> WorkloadOut:
        return cls(volume_id=w.volume_id, name=w.name, iops=w.workload.iops,
                   read_percent=w.workload.read_percent, block_kb=w.workload.block_kb,
                   chosen=w.chosen, running=w.running)


POOL_PERFORMANCE_LIST = TypeAdapter(list[PoolPerformanceOut])
VOLUME_PERFORMANCE_LIST = TypeAdapter(list[VolumePerformanceOut])
DISK_PERFORMANCE_LIST = TypeAdapter(list[DiskPerformanceOut])
PORT_PERFORMANCE_LIST = TypeAdapter(list[PortPerformanceOut])
WORKLOAD_LIST = TypeAdapter(list[WorkloadOut])
