"""The array's objects as plain data: no I/O, no wire names.

Enum values are QSAN's own state words (api-contract.md, "State words"), because every
backend and every client reports exactly these words.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from opensan.domain.errors import (
    disk_not_found,
    pool_not_found,
    snapshot_not_found,
    target_not_found,
    volume_not_found,
)
from opensan.domain.raid import RaidLevel

if TYPE_CHECKING:
    from opensan.domain.indexes import Indexes


class DiskHealth(StrEnum):
    GOOD = "Good"
    FAILED = "Failed"
    ERROR_ALERT = "Error Alert"
    READ_ERRORS = "Read Errors"


class DiskStatus(StrEnum):
    ONLINE = "Online"
    REBUILDING = "Rebuilding"
    TRANSITION = "Transition"
    SCRUBBING = "Scrubbing"
    MISSING = "Missing"


class DiskUsage(StrEnum):
    FREE = "Free"
    RAID = "RAID"
    DEDICATED_SPARE = "Dedicated Spare"
    LOCAL_SPARE = "Local Spare"
    GLOBAL_SPARE = "Global Spare"


class DiskType(StrEnum):
    SAS_HDD = "SAS HDD"
    NL_SAS_HDD = "NL-SAS HDD"
    SAS_SSD = "SAS SSD"
    SATA_SSD = "SATA SSD"
    # Seen on Linux hosts, not in QSAN's enclosures:
    SATA_HDD = "SATA HDD"
    NVME_SSD = "NVMe SSD"
    VIRTUAL = "Virtual Disk"

    @property
    def solid_state(self) -> bool:
        return "SSD" in self.value


class PoolHealth(StrEnum):
    GOOD = "Good"
    DEGRADED = "Degraded"
    FAILED = "Failed"


class PoolStatus(StrEnum):
    ONLINE = "Online"
    OFFLINE = "Offline"
    REBUILDING = "Rebuilding"
    INITIATING = "Initiating"


class Provision(StrEnum):
    THICK = "Thick"
    THIN = "Thin"


class VolumeHealth(StrEnum):
    OPTIMAL = "Optimal"
    DEGRADED = "Degraded"
    FAILED = "Failed"
    PARTIALLY_OPTIMAL = "Partially optimal"


class VolumeStatus(StrEnum):
    ONLINE = "Online"
    OFFLINE = "Offline"
    INITIATING = "Initiating"
    REBUILD = "Rebuild"
    MIGRATE = "Migrate"
    ROLLBACK = "Rollback"
    PARITY_CHECKING = "Parity checking"


class CacheMode(StrEnum):
    WRITE_BACK = "Write-back"
    WRITE_THROUGH = "Write-through"


class Priority(StrEnum):
    """A volume's I/O priority against the others (QSAN's words)."""

    HIGH = "HIGH"
    MEDIUM = "MEDIUM"
    LOW = "LOW"


class Permission(StrEnum):
    READ_WRITE = "Read-write"
    READ_ONLY = "Read-only"


class TargetType(StrEnum):
    ISCSI = "iSCSI"
    FC = "FC"


class SystemHealth(StrEnum):
    GOOD = "Good"
    DEGRADED = "Degraded"
    FAILED = "Failed"


class SensorType(StrEnum):
    TEMPERATURE = "temperature"
    FAN = "fan"
    PSU = "psu"
    VOLTAGE = "voltage"
    BATTERY = "battery"
    HEALTH = "health"  # a storage cluster's own check (Ceph's mons, mgr, OSDs)


class SensorStatus(StrEnum):
    GOOD = "Good"
    WARNING = "Warning"
    FAILED = "Failed"


class EventLevel(StrEnum):
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class Role(StrEnum):
    ADMIN = "admin"
    USER = "user"


@dataclass(frozen=True)
class Disk:
    id: int
    enclosure_id: int
    slot: int
    capacity_bytes: int
    type: DiskType
    vendor: str
    model: str
    serial_number: str
    firmware_version: str
    interface_speed: str
    health: DiskHealth = DiskHealth.GOOD
    status: DiskStatus = DiskStatus.ONLINE
    usage: DiskUsage = DiskUsage.FREE
    pool_id: int | None = None
    # Set while the disk is rebuilding into its pool: when the rebuild started (unix seconds).
    rebuild_started_at: float | None = None
    # Power-on hours when the disk entered this array; S.M.A.R.T. counts on from here.
    power_on_hours: int = 0
    installed_at: float = 0.0
    # The block device behind the disk on a real host (None on the virtual array).
    device_path: str | None = None


@dataclass(frozen=True)
class Pool:
    id: int
    name: str
    raid_level: RaidLevel
    provision: Provision
    disk_ids: tuple[int, ...]
    created_at: float
    # What really protects the data where that is no RAID level, e.g. "Replica 3" or "EC 4+2"
    # for a Ceph pool; shown as its RAID level.
    protection: str | None = None

    @property
    def protection_label(self) -> str:
        return self.protection or self.raid_level.value


@dataclass(frozen=True)
class VolumeQos:
    """A volume's QoS limits; 0 is no limit. Recorded as given (docs/xevo.md says where a
    backend enforces them)."""

    target_response_time_ms: int = 0
    max_iops: int = 0
    max_throughput_kbps: int = 0


@dataclass(frozen=True)
class VolumeMetadata:
    """What a client (QSAN's CSI driver) keeps with a volume: two words, bytes of its own
    (base64, byte-exact) and the time it last stamped it (unix seconds)."""

    status: str = ""
    type: str = ""
    content: str = ""
    timestamp: int | None = None


@dataclass(frozen=True)
class VolumeSettings:
    """A volume's settings beyond its size and cache: set through XEVO, kept for every API."""

    block_size: int = 4096
    io_priority: Priority = Priority.MEDIUM
    background_io_priority: Priority = Priority.MEDIUM
    read_ahead: bool = False
    qos: VolumeQos = VolumeQos()
    # QSAN's tags.type: RAID, or BACKUP for a clone target.
    tag_type: str = "RAID"
    metadata: VolumeMetadata = VolumeMetadata()


@dataclass(frozen=True)
class CloneSource:
    """What a clone is still copying from: a volume, or one of its snapshots. Kept with the
    clone until its copy is done; the source cannot go before that."""

    volume_id: int
    snapshot_id: int | None = None


@dataclass(frozen=True)
class Volume:
    id: int
    name: str
    pool_id: int
    capacity_bytes: int
    provision: Provision
    wwn: str
    created_at: float
    # Bytes hosts have written; a thick volume allocates its whole capacity regardless.
    written_bytes: int = 0
    snapshot_space_bytes: int = 0
    cache_mode: CacheMode = CacheMode.WRITE_BACK
    # Which copy of the data is the volume's: a rollback makes a new copy from the snapshot
    # beside the old one, and the record moves on to it only when the change commits.
    generation: int = 0
    settings: VolumeSettings = VolumeSettings()
    # Set while the volume is a clone whose copy is not done yet (XEVO's state CLONING).
    clone_of: CloneSource | None = None


@dataclass(frozen=True)
class SnapshotExpose:
    """XEVO's exposure of a snapshot (recorded: a SANOS snapshot mapping is read-only)."""

    enabled: bool = False
    mode: str = ""
    write_bytes: int = 0


# Slots: an array holds up to 262,144 snapshots in memory, and a __dict__ each would add about
# 100 bytes to every one of them.
@dataclass(frozen=True, slots=True)
class Snapshot:
    id: int
    volume_id: int
    name: str
    created_at: float
    used_bytes: int = 0
    status: str = "Active"
    # In XEVO's snapshot trash: still held (space, the count), no rollback to it, restorable.
    in_trash: bool = False
    expose: SnapshotExpose = SnapshotExpose()


@dataclass(frozen=True)
class Target:
    id: int
    type: TargetType
    controller: int
    node: int
    iqn: str
    name: str
    portals: tuple[str, ...]


@dataclass(frozen=True)
class LunMapping:
    target_id: int
    lun: int
    volume_id: int
    permission: Permission = Permission.READ_WRITE
    hosts: tuple[str, ...] = ("*",)
    # Set when the LUN exports a snapshot of the volume (always read-only) instead of the volume.
    snapshot_id: int | None = None
    # The mapping's own ID, kept when its LUN is renumbered; None for a mapping made before
    # mappings had one, whose ID follows from where it was made (mapping_id).
    id: int | None = None

    @property
    def mapping_id(self) -> int:
        """Mappings made by an earlier release are numbered by their target and LUN (small
        numbers, below every 10-digit object ID), until a renumbering stores that number."""
        return self.id if self.id is not None else self.target_id * 1000 + self.lun


@dataclass(frozen=True)
class Sensor:
    id: str
    type: SensorType
    location: str
    name: str
    value: float | str
    unit: str
    status: SensorStatus = SensorStatus.GOOD


@dataclass(frozen=True)
class Enclosure:
    id: int
    name: str
    sensors: tuple[Sensor, ...]


@dataclass(frozen=True)
class SmartAttribute:
    id: int
    name: str
    value: int
    worst: int
    threshold: int
    raw: int
    status: str  # "OK" or "FAILING_NOW"


@dataclass(frozen=True)
class DiskSmart:
    disk_id: int
    enclosure_id: int
    slot: int
    health: DiskHealth
    temperature_c: int | None
    power_on_hours: int | None
    attributes: tuple[SmartAttribute, ...]
    # False where the device has no S.M.A.R.T. at all (a loop device); note says why.
    supported: bool = True
    note: str = ""


@dataclass(frozen=True)
class HostCardSlot:
    slot: int
    card: str


@dataclass(frozen=True)
class FcPort:
    """One Fibre Channel port of a controller's host card: its node and port names (16 hex
    digits, NAA 5 under QSAN's OUI) and its speeds in Gb/s."""

    controller: int
    port: int
    wwnn: str
    wwpn: str
    speed_gbps: int
    supported_speeds_gbps: tuple[int, ...]


@dataclass(frozen=True)
class Controller:
    slot: int
    status: str
    serial_number: str
    cpu: str
    memory_gb: int
    host_card_slots: tuple[HostCardSlot, ...]
    firmware_version: str
    sas_ioc_firmware_version: str
    sas_expander_firmware_version: str


@dataclass(frozen=True)
class Backplane:
    serial_number: str
    id: str
    mcu_version: str


@dataclass(frozen=True)
class SystemHardware:
    """What the hardware (or the host, or the cluster) says about the system."""

    model_name: str
    serial_number: str
    firmware_version: str
    controller_mode: str
    master_controller: str
    form_factor: str
    bays: int
    rack_units: int
    controllers: tuple[Controller, ...]
    backplane: Backplane
    ssd_cache_license: bool
    auto_tiering_license: bool


@dataclass(frozen=True)
class SystemInfo:
    """The manual's "Information for Technical Support": the hardware, with the array's own
    name, health, time and uptime."""

    hardware: SystemHardware
    system_name: str
    system_health: SystemHealth
    time: float
    uptime_seconds: int


# The account named in the events the array makes by itself (its periodic checks, its start,
# `opensan passwd`): no account may be given this name.
SYSTEM_ACCOUNT = "system"


@dataclass(frozen=True)
class Actor:
    """Who makes a change: the account and the client address of the request, or the array
    itself (SYSTEM). A login attempt has a client but no account yet."""

    account: str | None
    client: str | None


SYSTEM = Actor(SYSTEM_ACCOUNT, None)


@dataclass(frozen=True)
class Event:
    id: int
    time: float
    level: EventLevel
    source: str
    message: str
    # Who made the change (Actor); None in the events of releases that did not record it.
    account: str | None = None
    client: str | None = None


@dataclass(frozen=True)
class EventPage:
    page: int
    page_size: int
    total: int
    events: tuple[Event, ...]

    @property
    def total_pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    password_hash: str
    default_password: bool = False
    # A disabled account cannot log in; its records of earlier releases read back enabled.
    enabled: bool = True


@dataclass(frozen=True)
class Session:
    token_hash: str
    account: str
    role: Role
    created_at: float
    last_used_at: float


@dataclass(frozen=True)
class RefreshToken:
    """What gives a new session without the password (XEVO's /auth/refresh), until it expires."""

    token_hash: str
    account: str
    role: Role
    created_at: float
    expires_at: float


@dataclass(frozen=True)
class DiskView:
    disk: Disk
    temperature_c: int | None


@dataclass(frozen=True)
class PoolView:
    """A pool with what follows from its disks and volumes."""

    pool: Pool
    health: PoolHealth
    status: PoolStatus
    capacity_bytes: int
    used_bytes: int
    volume_count: int

    @property
    def free_bytes(self) -> int:
        return max(0, self.capacity_bytes - self.used_bytes)


@dataclass(frozen=True)
class VolumeView:
    """A volume with what follows from its pool, snapshots and mappings."""

    volume: Volume
    protection: str  # the pool's protection label
    health: VolumeHealth
    status: VolumeStatus
    used_bytes: int
    snapshot_used_bytes: int
    snapshot_count: int
    mapped: bool
    # How much of a clone's copy is done, in percent; None when the volume is no clone in
    # progress.
    clone_progress: int | None = None


@dataclass(frozen=True)
class SnapshotSpace:
    """A volume's snapshot space and how much of it its snapshots hold."""

    volume_id: int
    space_bytes: int
    used_bytes: int


@dataclass(frozen=True)
class TargetView:
    target: Target
    lun_count: int


@dataclass(frozen=True)
class MappingView:
    mapping: LunMapping
    volume_name: str
    protocol: TargetType
    snapshot_name: str | None = None


@dataclass
class ArrayState:
    """Everything the store holds about the array but its events: its objects, accounts and
    sessions keyed as store/records.py declares, and its settings (meta)."""

    disks: dict[int, Disk] = field(default_factory=dict)
    pools: dict[int, Pool] = field(default_factory=dict)
    volumes: dict[int, Volume] = field(default_factory=dict)
    snapshots: dict[int, Snapshot] = field(default_factory=dict)
    targets: dict[int, Target] = field(default_factory=dict)
    mappings: dict[tuple[int, int], LunMapping] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    sessions: dict[str, Session] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshToken] = field(default_factory=dict)
    # Settings as JSON values: seed, system name, clock offset, sensor overrides, ...
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # What the rules read of the whole array (domain/indexes.py), made when first asked:
        # not a field, so never compared, stored or copied but by share().
        self.indexes: Indexes | None = None

    def copy(self) -> ArrayState:
        """A copy whose dicts can be changed apart: new dicts, shared (immutable) objects."""
        return ArrayState(**{f.name: dict(getattr(self, f.name)) for f in fields(self)})

    def share(self) -> ArrayState:
        """A draft for one change: the same dicts (and immutable objects); the change copies a
        dict before it first writes it (Change.put), so a change costs what it touches. The
        draft starts with this state's indexes, and its writes move them on (indexes.wrote)."""
        draft = ArrayState(**{f.name: getattr(self, f.name) for f in fields(self)})
        draft.indexes = self.indexes
        return draft

    # Lookups raise when the object is absent, never return None.

    def disk(self, disk_id: int) -> Disk:
        try:
            return self.disks[disk_id]
        except KeyError:
            raise disk_not_found(disk_id) from None

    def pool(self, pool_id: int) -> Pool:
        try:
            return self.pools[pool_id]
        except KeyError:
            raise pool_not_found(pool_id) from None

    def volume(self, volume_id: int) -> Volume:
        try:
            return self.volumes[volume_id]
        except KeyError:
            raise volume_not_found(volume_id) from None

    def snapshot(self, snapshot_id: int) -> Snapshot:
        try:
            return self.snapshots[snapshot_id]
        except KeyError:
            raise snapshot_not_found(snapshot_id) from None

    def target(self, target_id: int) -> Target:
        try:
            return self.targets[target_id]
        except KeyError:
            raise target_not_found(target_id) from None
