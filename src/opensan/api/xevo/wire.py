"""XEVO's JSON on the wire, as QSAN's Go clients read and write it (wire-format page, 4).

IDs are strings of the SANOS IDs' digits, sizes MiB, state words upper case. Go's
encoding/json refuses a type mismatch, so every field has the JSON type of the Go field that
reads it. Request bodies are strict: a string where a number belongs, or a key QSAN's clients
never send, is a 400, as a SANOS parameter of the wrong form is.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from pydantic.alias_generators import to_camel

from opensan.domain import models as m
from opensan.domain.rules import MIB

# replicaTargetId of a volume that is no replication source.
NO_REPLICA = "4294967295"
Word = Literal["HIGH", "MEDIUM", "LOW"]
CacheWord = Literal["WRITE_BACK", "WRITE_THROUGH"]
CACHE_WORDS: dict[str, m.CacheMode] = {"WRITE_BACK": m.CacheMode.WRITE_BACK,
                                       "WRITE_THROUGH": m.CacheMode.WRITE_THROUGH}


class XevoWire(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True)


class XevoIn(BaseModel):
    """A request body: QSAN's names only, JSON types as Go sends them."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, strict=True,
                              extra="forbid")


def word(text: str) -> str:
    """A SANOS state word as XEVO writes it: Write-back -> WRITE_BACK, Online -> ONLINE."""
    return text.upper().replace("-", "_").replace(" ", "_")


def mib(size_bytes: int) -> int:
    return -(-size_bytes // MIB)


# Authentication and the system

class AuthIn(XevoIn):
    """POST /auth/get (a form body in QSAN's SDKs)."""

    model_config = ConfigDict(strict=False, extra="forbid", populate_by_name=True)
    user: str
    password: str
    offline_access: str | None = Field(None, alias="offlineAccess")
    scopes: str | None = None


class RefreshIn(XevoIn):
    model_config = ConfigDict(strict=False, extra="forbid", populate_by_name=True)
    refresh_token: str = Field(alias="refreshToken")


class AuthOut(XevoWire):
    access_token: str
    expire_time: int
    refresh_token: str


class AddressOut(XevoWire):
    address: str
    online: bool


class AboutOut(XevoWire):
    addresses: list[AddressOut]
    system_name: str
    firmware_ver: str
    model_name: str
    model_type: str
    serial_number: str
    wwn: str


class ReadingOut(XevoWire):
    name: str
    value: int
    status: str


class StateOut(XevoWire):
    name: str
    status: str


class MoreInfoOut(XevoWire):
    voltage: list[ReadingOut]
    temperature: list[ReadingOut]
    psu_status: list[StateOut]
    fan_speed: list[ReadingOut]
    cache_to_flash: list[StateOut]


class HardwareInfoOut(XevoWire):
    sys_health: str
    cpu_info: str
    cpu_usage: int
    memory_info: list[str]
    mem_total: int
    mem_used: int
    controller_num: int
    backplane_id: str = Field(serialization_alias="backplaneID")
    backplane_serial_number: str
    mcu_version: str
    system_uptime: int
    serial_number: str
    model_name: str
    more_info: MoreInfoOut


class HardwareOut(XevoWire):
    enc_id: int
    info: HardwareInfoOut


# Pools and volumes

class PoolOut(XevoWire):
    id: str
    name: str
    provision: str
    auto_tiering: bool
    is_dedup: bool
    raid_level: str
    num_of_volumes: int

    @classmethod
    def from_domain(cls, view: m.PoolView) -> PoolOut:
        pool = view.pool
        return cls(id=str(pool.id), name=pool.name, provision=word(pool.provision.value),
                   auto_tiering=False, is_dedup=False, raid_level=pool.protection_label,
                   num_of_volumes=view.volume_count)


class TagsOut(XevoWire):
    wwn: str
    type: str


class MetadataOut(XevoWire):
    status: str
    type: str
    content: str
    timestamp: str


class VolumeOut(XevoWire):
    id: str
    name: str
    pool_id: str
    lun_id: str
    target_id: str
    replica_target_id: str
    replica_target_name: str
    online: bool
    state: str
    progress: int
    health: str
    provision: str
    total_size: int
    used_size: int
    block_size: int
    stripe_size: int
    cache_mode: str
    io_priority: str
    bg_io_priority: str
    enable_read_ahead: bool
    erase_data: str
    enable_fast_raid_rebuild: bool
    target_response_time: int
    max_iops: int
    # goqsan reads the first spelling (a typo of QSAN's), its newer generation the second.
    max_throughtput: int
    max_throughput: int
    tags: TagsOut
    metadata: MetadataOut

    @classmethod
    def from_domain(cls, view: m.VolumeView, mapping: m.LunMapping | None) -> VolumeOut:
        v, settings = view.volume, view.volume.settings
        meta, qos = settings.metadata, settings.qos
        return cls(
            id=str(v.id), name=v.name, pool_id=str(v.pool_id),
            lun_id=str(mapping.mapping_id) if mapping else "",
            target_id=str(mapping.target_id) if mapping else "",
            replica_target_id=NO_REPLICA, replica_target_name="",
            online=view.status is not m.VolumeStatus.OFFLINE,
            state="CLONING" if view.clone_progress is not None else word(view.status.value),
            progress=view.clone_progress or 0, health=word(view.health.value),
            provision=word(v.provision.value),
            total_size=mib(v.capacity_bytes), used_size=mib(view.used_bytes),
            block_size=settings.block_size, stripe_size=0, cache_mode=word(v.cache_mode.value),
            io_priority=settings.io_priority.value,
            bg_io_priority=settings.background_io_priority.value,
            enable_read_ahead=settings.read_ahead, erase_data="", enable_fast_raid_rebuild=False,
            target_response_time=qos.target_response_time_ms, max_iops=qos.max_iops,
            max_throughtput=qos.max_throughput_kbps, max_throughput=qos.max_throughput_kbps,
            tags=TagsOut(wwn=v.wwn, type=settings.tag_type),
            metadata=MetadataOut(status=meta.status, type=meta.type, content=meta.content,
                                 timestamp="" if meta.timestamp is None else str(meta.timestamp)),
        )


class MetadataIn(XevoIn):
    status: str | None = None
    type: str | None = None
    content: str | None = None
    timestamp: str | None = None


class TagsIn(XevoIn):
    type: str | None = None


class VolumeCreateIn(XevoIn):
    name: str
    total_size: int = Field(ge=0)
    block_size: int = 4096
    pool_id: str = Field(validation_alias=AliasChoices("poolId", "poolID"))
    io_priority: Word | None = None
    bg_io_priority: Word | None = None
    cache_mode: CacheWord | None = None
    enable_read_ahead: bool | None = None
    metadata: MetadataIn | None = None


class VolumeModifyIn(XevoIn):
    name: str | None = None
    total_size: int | None = Field(None, ge=0)
    cache_mode: CacheWord | None = None
    enable_read_ahead: bool | None = None
    io_priority: Word | None = None
    bg_io_priority: Word | None = None
    target_response_time: int | None = Field(None, ge=0)
    max_iops: int | None = Field(None, ge=0)
    max_throughtput: int | None = Field(None, ge=0)
    max_throughput: int | None = Field(None, ge=0)
    tags: TagsIn | None = None
    metadata: MetadataIn | None = None


QosRule = Literal["IO_PRIORITY", "MAX_IOPS_THROUGHPUT", "NONE"]


class QosIn(XevoIn):
    enable_qos: bool
    qos_rule: QosRule | None = None


class QosOut(XevoWire):
    enable_qos: bool
    qos_rule: str
    # OpenSAN's own: whether the storage holds volumes to their limits (Ceph) or the limits
    # are recorded only (Go's decoder passes over a field it does not know).
    enforced: bool


class CloneIn(XevoIn):
    """POST .../volumes/{id}/clone: goqsan sends poolID, its newer generation poolId and,
    to clone a snapshot, its ID (the snapshot's name)."""

    pool_id: str = Field(validation_alias=AliasChoices("poolId", "poolID"))
    volume_name: str
    snapshot_id: str | None = None


# Snapshots

class MaxPolicyOut(XevoWire):
    max_limit: int
    policy: str


class SnapshotSettingOut(XevoWire):
    type: str
    snapshot_max_policy: MaxPolicyOut
    protection_group: str
    total_size: int
    available_size: int
    minimum_size: int
    suggest_size: int


class SnapshotSpaceIn(XevoIn):
    """PATCH of a volume's snapshot settings: goqsan's disable sends {} (its omitempty drops
    totalSize 0), so a missing totalSize is 0."""

    protection_group: str | None = None
    total_size: int = Field(0, ge=0)


class ExposeOut(XevoWire):
    enable: bool
    mode: str
    write_size: int


class TrashOut(XevoWire):
    in_trash: bool


class SnapshotOut(XevoWire):
    id: str
    name: str
    create_time: int
    used_size: int
    expose: ExposeOut
    trash: TrashOut

    @classmethod
    def from_domain(cls, snapshot: m.Snapshot) -> SnapshotOut:
        # QSAN's snapshot ID is its name (csi-qsan: "snapshot ID and name are the same").
        return cls(id=snapshot.name, name=snapshot.name, create_time=int(snapshot.created_at),
                   used_size=mib(snapshot.used_bytes),
                   expose=ExposeOut(enable=snapshot.expose.enabled, mode=snapshot.expose.mode,
                                    write_size=mib(snapshot.expose.write_bytes)),
                   trash=TrashOut(in_trash=snapshot.in_trash))


class SnapshotCreateIn(XevoIn):
    """{"name": ...}; goqsan before 186e088 sent the bare JSON string of the name."""

    name: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _bare_name(cls, data: Any) -> Any:
        return {"name": data} if isinstance(data, str) else data


class ExposeIn(XevoIn):
    enable: bool = False
    mode: str = ""
    write_size: int = Field(0, ge=0)


class TrashIn(XevoIn):
    in_trash: bool = False


class SnapshotModifyIn(XevoIn):
    expose: ExposeIn | None = None
    trash: TrashIn | None = None


class SnapshotDeleteIn(XevoIn):
    """goqsan's DELETE has no body and deletes; its newer generation's {"permanent": false}
    moves the snapshot to the trash."""

    permanent: bool = True


# Targets, LUNs and the data ports

class Ipv4Out(XevoWire):
    protocol: str
    ip: str
    submask: str
    gateway: str
    is_default_gateway: bool


class NicOut(XevoWire):
    id: str
    interface: str
    online: bool
    is_management_port: bool
    is_data_port: bool
    mac_addr: str
    mtu: int
    speed: int
    ipv4: Ipv4Out


class IscsiOut(XevoWire):
    iqn: str
    name: str
    alias: str
    eths: list[str]


class FcpOut(XevoWire):
    wwn: str


class ErrCounterOut(XevoWire):
    signal_loss: int
    sync_loss: int
    link_failure: int
    invalid_crc: int = Field(serialization_alias="invalidCRC")


class FcPortOut(XevoWire):
    id: str
    link_speed: int
    support_speed: list[int]
    topology: str
    wwnn: str
    wwpn: str
    err_counter: ErrCounterOut


class TargetOut(XevoWire):
    id: str
    name: str
    type: str
    fcp: list[FcpOut]
    iscsi: list[IscsiOut]


class IscsiIn(XevoIn):
    name: str | None = None
    alias: str | None = None
    eths: list[str] | None = None


class TargetCreateIn(XevoIn):
    name: str
    type: Literal["iSCSI", "FCP", "FC"]
    iscsi: list[IscsiIn] | None = None


class TargetModifyIn(XevoIn):
    name: str | None = None
    type: Literal["iSCSI", "FCP", "FC"] | None = None
    iscsi: list[IscsiIn] | None = None


class HostIn(XevoIn):
    name: str


class HostOut(XevoWire):
    name: str
    rule: str


class LunOut(XevoWire):
    id: str
    name: str
    volume_id: str
    hosts: list[HostOut]

    @classmethod
    def from_domain(cls, mapping: m.LunMapping) -> LunOut:
        return cls(id=str(mapping.mapping_id), name=str(mapping.lun),
                   volume_id=str(mapping.volume_id),
                   hosts=[HostOut(name=host, rule=word(mapping.permission.value))
                          for host in mapping.hosts])


class LunMapIn(XevoIn):
    name: str | None = None
    volume_id: str
    hosts: list[HostIn] = Field(min_length=1)


class LunModifyIn(XevoIn):
    name: str | None = None
    hosts: list[HostIn] | None = None


# Local users and groups

class UserOut(XevoWire):
    name: str
    id: str
    domain_id: str
    description: str
    email: str
    is_admin: bool
    is_disable: bool
    is_default: bool
    enable_userhome: bool
    enable2_fa: bool = Field(serialization_alias="enable2FA")


class UsersOut(XevoWire):
    users: list[UserOut]
    total: int


class GroupOut(XevoWire):
    name: str
    id: str
    domain_id: str
    description: str
    is_default: bool


class GroupsOut(XevoWire):
    groups: list[GroupOut]
    total: int


POOL_LIST = TypeAdapter(list[PoolOut])
VOLUME_LIST = TypeAdapter(list[VolumeOut])
SNAPSHOT_LIST = TypeAdapter(list[SnapshotOut])
NIC_LIST = TypeAdapter(list[NicOut])
TARGET_LIST = TypeAdapter(list[TargetOut])
FC_PORT_LIST = TypeAdapter(list[FcPortOut])
LUN_LIST = TypeAdapter(list[LunOut])
EMPTY = b"[]"  # what QSAN's "returns nothing" calls answer: goqsan decodes an array
