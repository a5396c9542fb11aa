"""The objects a SANOS array answers, as typed Python (api-contract.md, "Objects").

Attributes are snake_case; the wire's camelCase names are aliases. Fields the contract lists are
typed; anything else an array sends (other firmware, newer OpenSAN) is kept, not refused: it is in
`model_extra` and comes back out of `to_wire()`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from opensan.client.api import Api

__all__ = ["Api"]  # re-exported: the models name a client's generation too


class SanosObject(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow",
                              defer_build=True)

    def to_wire(self) -> dict[str, Any]:
        """The object as the array sent it: camelCase names, unknown fields included."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class Session(SanosObject):
    """A login's answer; `expire_time` (unix seconds) moves on with each use of the token.

    `role` is None where the array does not say it (a XEVO array's login does not; XevoClient
    reads it from the account list when it can).
    """

    access_token: str
    expire_time: int
    account: str
    role: str | None = None


class ApiEndpoint(SanosObject):
    """One line of `GET /rest/`: an endpoint this array serves."""

    method: str
    path: str
    description: str
    access: str | None = None
    extension: bool | None = None
    # SANOS, or XEVO for QSAN's current REST API (OpenSAN serves both).
    api: str | None = None


class HostCardSlot(SanosObject):
    slot: int
    card: str


class Controller(SanosObject):
    slot: int
    status: str
    serial_number: str
    cpu: str
    # The contract spells it memoryGB (as OpenSAN sends it); older builds sent memoryGb.
    memory_gb: int = Field(validation_alias=AliasChoices("memoryGB", "memoryGb", "memory_gb"),
                           serialization_alias="memoryGB")
    host_card_slots: list[HostCardSlot]
    firmware_version: str
    sas_ioc_firmware_version: str
    sas_expander_firmware_version: str


class Backplane(SanosObject):
    serial_number: str
    id: str
    mcu_version: str


class Licenses(SanosObject):
    ssd_cache: str
    auto_tiering: str


class SystemInfo(SanosObject):
    system_name: str
    model_name: str
    serial_number: str
    firmware_version: str
    system_health: str
    controller_mode: str
    master_controller: str
    form_factor: str
    bays: int
    rack_units: int
    time: datetime
    uptime_seconds: int
    controllers: list[Controller]
    backplane: Backplane
    licenses: Licenses
    # OpenSAN's: the SHA-256 fingerprint of the certificate it serves HTTPS with (QSAN's
    # firmware does not send it; None over plain HTTP).
    tls_fingerprint: str | None = None


class Sensor(SanosObject):
    type: str
    location: str
    name: str
    value: float | str
    unit: str
    status: str
    id: str | None = None


class Enclosure(SanosObject):
    id: int
    name: str
    sensors: list[Sensor]


class HardwareMonitor(SanosObject):
    system_health: str
    enclosures: list[Enclosure]


class Event(SanosObject):
    id: int
    time: datetime
    level: str
    source: str
    message: str
    # OpenSAN's: the account and client address that made the change ("system" for what the
    # array did by itself); None from other firmware and in events older than the record.
    account: str | None = None
    client: str | None = None


class Account(SanosObject):
    """An account of the array (OpenSAN's extension; administrators only)."""

    name: str
    role: str  # "admin" (administrator) or "user" (read-only)
    enabled: bool
    default_password: bool


class EventPage(SanosObject):
    """One page of the event log, newest first; a page past the last has no events."""

    page: int
    page_size: int
    total_pages: int
    total: int
    events: list[Event]


class Disk(SanosObject):
    id: int
    enclosure_id: int
    slot: int
    capacity_bytes: int
    health: str
    status: str
    usage: str
    pool_id: int | None = None
    type: str
    vendor: str
    model: str
    serial_number: str
    firmware_version: str
    interface_speed: str
    temperature_c: int | None = None  # None: the disk does not report one


class SmartAttribute(SanosObject):
    id: int
    name: str
    value: int
    worst: int
    threshold: int
    raw: int
    status: str


class DiskSmart(SanosObject):
    """A disk's S.M.A.R.T.; a disk without it has `supported` False and a `note` saying why."""

    disk_id: int
    enclosure_id: int
    slot: int
    health: str
    temperature_c: int | None = None
    power_on_hours: int | None = None
    attributes: list[SmartAttribute]
    supported: bool | None = None
    note: str | None = None


class Pool(SanosObject):
    """A pool; the figures a XEVO array does not give (health, status, capacity, disks) are None
    there (its pool list says only name, provisioning, RAID level and volume count)."""

    id: int
    name: str
    type: str
    raid_level: str
    health: str | None = None
    status: str | None = None
    capacity_bytes: int | None = None
    used_bytes: int | None = None
    free_bytes: int | None = None
    disk_ids: list[int] | None = None
    volume_count: int


class Volume(SanosObject):
    id: int
    name: str
    pool_id: int
    capacity_bytes: int
    used_bytes: int
    provision: str
    raid_level: str
    health: str
    status: str
    cache_mode: str
    wwn: str
    snapshot_space_bytes: int
    snapshot_used_bytes: int
    snapshot_count: int
    mapped: bool


class Snapshot(SanosObject):
    # SANOS: an integer. XEVO: the snapshot's name (QSAN's snapshot ID is its name), unique
    # within its volume only, so a XEVO call names the volume too.
    id: int | str
    volume_id: int
    name: str
    created_at: datetime
    used_bytes: int
    status: str


class SnapshotSpace(SanosObject):
    """A volume's snapshot space; 0 bytes means it has none."""

    volume_id: int
    snapshot_space_bytes: int
    snapshot_used_bytes: int


class VolumeSnapshots(SnapshotSpace):
    snapshots: list[Snapshot]


class Target(SanosObject):
    id: int
    type: str
    name: str
    controller: int | None  # None: a XEVO target that names no data port
    portals: list[str]
    lun_count: int
    iqn: str | None = None
    wwn: str | None = None
    node: int | None = None


class LunMapping(SanosObject):
    """What a LUN shows hosts: a volume, or (with `snapshot_id`) one of its snapshots, read-only."""

    target_id: int
    lun: int
    volume_id: int
    volume_name: str
    permission: str
    hosts: list[str]
    protocol: str
    snapshot_id: int | None = None
    snapshot_name: str | None = None


class TargetLuns(SanosObject):
    """The LUNs mapped on a target and the LUN numbers still free there."""

    target_id: int
    luns: list[LunMapping]
    free_luns: list[int]


class ArrayClock(SanosObject):
    """The virtual array's clock after it was moved."""

    time: datetime


# Performance (OpenSAN extensions)

class IoRates(SanosObject):
    """I/O per second over `seconds`: MB/s are 10^6 bytes; a latency is None when no
    operation of its kind completed."""

    seconds: float
    iops: float
    read_iops: float
    write_iops: float
    mb_per_second: float = Field(validation_alias=AliasChoices("MBps", "mb_per_second"),
                                 serialization_alias="MBps")
    read_mb_per_second: float = Field(
        validation_alias=AliasChoices("readMBps", "read_mb_per_second"),
        serialization_alias="readMBps")
    write_mb_per_second: float = Field(
        validation_alias=AliasChoices("writeMBps", "write_mb_per_second"),
        serialization_alias="writeMBps")
    read_latency_ms: float | None = None
    write_latency_ms: float | None = None


class PerformanceFigures(SanosObject):
    """Rates now (between the array's last two readings) and over the window asked for;
    None until the array has read its counters twice."""

    now: IoRates | None = None
    window: IoRates | None = None


class ArrayPerformance(PerformanceFigures):
    taken_at: datetime | None = None
    counting_started_at: datetime | None = None
    window_seconds: int


class PoolPerformance(PerformanceFigures):
    pool_id: int
    name: str


class VolumePerformance(PerformanceFigures):
    volume_id: int
    name: str
    pool_id: int


class DiskPerformance(PerformanceFigures):
    disk_id: int
    enclosure_id: int
    slot: int


class PortPerformance(PerformanceFigures):
    port: str
    controller: int | None = None


class VolumeWorkload(SanosObject):
    """What the hosts of a volume of the virtual array ask of it; `running` while they can
    reach it (mapped, its pool up); `chosen` when it was set rather than drawn from the seed."""

    volume_id: int
    name: str
    iops: int
    read_percent: int
    block_kb: int = Field(validation_alias=AliasChoices("blockKB", "block_kb"),
                          serialization_alias="blockKB")
    chosen: bool
    running: bool
