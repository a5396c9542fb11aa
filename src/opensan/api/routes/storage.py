"""3.5 Storage: the manual's reads and POSTs, and the management it leaves out (extensions)."""

from __future__ import annotations

from dataclasses import replace

from fastapi.concurrency import run_in_threadpool

from opensan.api.endpoint import Access, Call, Endpoint, Kind, Param
from opensan.api.schemas import (
    DISK_LIST,
    MAPPING_LIST,
    POOL_LIST,
    SMART_LIST,
    TARGET_LIST,
    VOLUME_LIST,
    AvailableLunsOut,
    DiskOut,
    DiskSmartOut,
    MappingOut,
    PoolOut,
    SnapshotInfoOut,
    SnapshotOut,
    SnapshotSpaceOut,
    TargetOut,
    VolumeOut,
)
from opensan.domain import rules
from opensan.domain.errors import ErrorCode
from opensan.domain.models import DiskUsage, Permission, Provision
from opensan.domain.raid import RAID_LEVEL_PATTERN, RaidLevel, parse_raid_level

VDID = Param("vdid", Kind.ID, "Volume ID", errors=(ErrorCode.VOLUME_NOT_FOUND,))
TARGET_ID = Param("targetid", Kind.ID, "Target ID", placeholder="target_id",
                  errors=(ErrorCode.TARGET_NOT_FOUND,))
POOL_ID = Param("poolid", Kind.ID, "Pool ID", placeholder="pool_id",
                errors=(ErrorCode.POOL_NOT_FOUND,))
SNAPSHOT_ID = Param("snapid", Kind.ID, "Snapshot ID", placeholder="snapshot_id",
                    errors=(ErrorCode.SNAPSHOT_NOT_FOUND,))
DISK_IDS = Param("diskids", Kind.ID_LIST, "Disk IDs, comma-separated", placeholder="disk_ids",
                 errors=(ErrorCode.DISK_NOT_FOUND,))
LUN = Param("lun", Kind.NUMBER, "LUN number, 0-254", schema={"maximum": rules.MAX_LUN})
SIZE_GB = Param("sizegb", Kind.NUMBER, "Size in GiB",
                schema={"minimum": rules.MIN_VOLUME_GB, "maximum": rules.MAX_VOLUME_GB})

SPARE_TYPES = {"global": DiskUsage.GLOBAL_SPARE, "dedicated": DiskUsage.DEDICATED_SPARE,
               "free": DiskUsage.FREE}
PROVISIONS = {"thick": Provision.THICK, "thin": Provision.THIN}
PERMISSIONS = {"rw": Permission.READ_WRITE, "ro": Permission.READ_ONLY}
YES_NO = {"yes": True, "no": False}
# What any change of the storage can answer: the backend's refusals (StorageBackend: busy,
# full, or a thing it cannot do), besides what each change's own rules answer.
STORAGE_CHANGE = (ErrorCode.STATE_CONFLICT, ErrorCode.NOT_SUPPORTED,
                  ErrorCode.INSUFFICIENT_CAPACITY)


def _provision(word: str | None) -> Provision | None:
    return None if word is None else PROVISIONS[word]


# Reads: cached per state version, except those that follow the clock (temperatures).

async def disk_info(call: Call) -> bytes:
    return DISK_LIST.dump_json([DiskOut.from_domain(d) for d in call.service.disks.all()],
                               by_alias=True)


async def disk_smart(call: Call) -> bytes:
    return SMART_LIST.dump_json([DiskSmartOut.from_domain(s) for s in call.service.disks.smart()],
                                by_alias=True)


async def pool_info(call: Call) -> bytes:
    return call.cache.get("poolinfo", lambda: POOL_LIST.dump_json(
        [PoolOut.from_domain(p) for p in call.service.pools.all()], by_alias=True))


async def volume_info(call: Call) -> bytes:
    return call.cache.get("volumeinfo", lambda: VOLUME_LIST.dump_json(
        [VolumeOut.from_domain(v) for v in call.service.volumes.all()], by_alias=True))


async def snapshot_info(call: Call) -> bytes:
    volume_id = call.params["vdid"]

    def build() -> bytes:
        space, snapshots = call.service.snapshots.of_volume(volume_id)
        return SnapshotInfoOut(
            volume_id=space.volume_id, snapshot_space_bytes=space.space_bytes,
            snapshot_used_bytes=space.used_bytes,
            snapshots=[SnapshotOut.from_domain(s) for s in snapshots],
        ).model_dump_json(by_alias=True).encode()

    return call.cache.get(("snapshot", volume_id), build)


async def available_targets(call: Call) -> bytes:
    return call.cache.get("availtarget", lambda: TARGET_LIST.dump_json(
        [TargetOut.from_domain(t) for t in call.service.luns.targets()], by_alias=True))


async def available_luns(call: Call) -> bytes:
    target_id = call.params["targetid"]

    def build() -> bytes:
        target, luns, free = call.service.luns.of_target(target_id)
        return AvailableLunsOut(
            target_id=target.id, luns=[MappingOut.from_domain(v) for v in luns], free_luns=free,
        ).model_dump_json(by_alias=True).encode()

    return call.cache.get(("availlun", target_id), build)


async def lun_mappings(call: Call) -> bytes:
    return call.cache.get("lunmappinginfo", lambda: MAPPING_LIST.dump_json(
        [MappingOut.from_domain(v) for v in call.service.luns.mappings()], by_alias=True))


# The manual's changes

async def set_snapshot_space(call: Call) -> SnapshotSpaceOut:
    space = await run_in_threadpool(call.service.snapshots.set_space, call.params["vdid"],
                                    call.params["sizegb"])
    return SnapshotSpaceOut(volume_id=space.volume_id, snapshot_space_bytes=space.space_bytes,
                            snapshot_used_bytes=space.used_bytes)


async def take_snapshot(call: Call) -> SnapshotOut:
    snapshot = await run_in_threadpool(call.service.snapshots.take, call.params["vdid"],
                                       call.params.get("name"))
    return SnapshotOut.from_domain(snapshot)


async def map_lun(call: Call) -> MappingOut:
    view = await run_in_threadpool(call.service.luns.map_volume, call.params["targetid"],
                                   call.params["lun"], call.params["vdid"],
                                   PERMISSIONS[call.params["permission"]],
                                   tuple(call.params["host"]))
    return MappingOut.from_domain(view)


async def map_snapshot(call: Call) -> MappingOut:
    hosts = tuple(call.params["host"])
    view = await run_in_threadpool(call.service.luns.map_snapshot, call.params["targetid"],
                                   call.params["lun"], call.params["snapid"], hosts)
    return MappingOut.from_domain(view)


async def unmap_lun(call: Call) -> MappingOut:
    view = await run_in_threadpool(call.service.luns.unmap, call.params["targetid"],
                                   call.params["lun"])
    return MappingOut.from_domain(view)


# Extensions: pools, volumes, snapshots, targets, spares

async def create_pool(call: Call) -> PoolOut:
    view = await run_in_threadpool(
        call.service.pools.create, call.params["name"],
        parse_raid_level(call.params["raidlevel"]), call.params["diskids"],
        _provision(call.params.get("type")), YES_NO[call.params["force"]])
    return PoolOut.from_domain(view)


async def add_pool_disks(call: Call) -> PoolOut:
    view = await run_in_threadpool(call.service.pools.add_disks, call.params["poolid"],
                                   call.params["diskids"])
    return PoolOut.from_domain(view)


async def delete_pool(call: Call) -> PoolOut:
    return PoolOut.from_domain(await run_in_threadpool(call.service.pools.delete,
                                                       call.params["poolid"]))


async def create_volume(call: Call) -> VolumeOut:
    view = await run_in_threadpool(
        call.service.volumes.create, call.params["poolid"], call.params["name"],
        call.params["sizegb"], _provision(call.params.get("provision")))
    return VolumeOut.from_domain(view)


async def clone_volume(call: Call) -> VolumeOut:
    view = await run_in_threadpool(
        call.service.volumes.clone, call.params["vdid"], call.params["name"],
        call.params.get("poolid"), call.params.get("snapid"))
    return VolumeOut.from_domain(view)


async def extend_volume(call: Call) -> VolumeOut:
    view = await run_in_threadpool(call.service.volumes.extend, call.params["vdid"],
                                   call.params["sizegb"])
    return VolumeOut.from_domain(view)


async def delete_volume(call: Call) -> VolumeOut:
    return VolumeOut.from_domain(await run_in_threadpool(call.service.volumes.delete,
                                                         call.params["vdid"]))


async def delete_snapshot(call: Call) -> SnapshotOut:
    return SnapshotOut.from_domain(await run_in_threadpool(call.service.snapshots.delete,
                                                           call.params["snapid"]))


async def rollback_snapshot(call: Call) -> SnapshotOut:
    return SnapshotOut.from_domain(await run_in_threadpool(call.service.snapshots.rollback,
                                                           call.params["snapid"]))


async def create_target(call: Call) -> TargetOut:
    view = await run_in_threadpool(call.service.luns.create_target, call.params["controller"],
                                   call.params.get("node"), call.params.get("name"))
    return TargetOut.from_domain(view)


async def delete_target(call: Call) -> TargetOut:
    return TargetOut.from_domain(await run_in_threadpool(call.service.luns.delete_target,
                                                         call.params["targetid"]))


async def set_spare(call: Call) -> bytes:
    views = await run_in_threadpool(call.service.disks.set_spare, call.params["diskids"],
                                    SPARE_TYPES[call.params["type"]], call.params.get("poolid"))
    return DISK_LIST.dump_json([DiskOut.from_domain(v) for v in views], by_alias=True)


AVAILLUN_ALIASES = ("/rest/storage/availlun", "/storage/avaiilun", "/rest/storage/avaiilun")
NAME = Param("name", Kind.TEXT, "Name: 1-32 letters, digits, '-', '_', '.'",
             schema={"pattern": rules.NAME_PATTERN})
HOSTS = Param("host", Kind.TEXT_LIST, "Initiator names (iqn., eui., naa.), comma-separated, "
              "or * for every host", required=False, placeholder="iqn-or-*", default="*",
              # the pattern is check_hosts'; a path holds a few KiB
              schema={"pattern": rules.HOSTS_PATTERN, "maxLength": 4096})
# "RAID 5", also "raid5", "RAID-5" or "5": the levels as the array shows them, or the pattern.
RAID_LEVEL = Param("raidlevel", Kind.TEXT, "RAID 0, 1, 5, 6, 10, 50 or 60 (also raid5 or 5)",
                   placeholder="raid_level",
                   schema={"anyOf": [{"enum": [level.value for level in RaidLevel]},
                                     {"pattern": RAID_LEVEL_PATTERN}]})
NOT_READY = ErrorCode.VOLUME_NOT_READY

ENDPOINTS = [
    Endpoint("GET", "/rest/storage/diskinfo", "Show disk information.", disk_info,
             response=list[DiskOut]),
    Endpoint("GET", "/rest/storage/disksmart", "Show the S.M.A.R.T. information of the disks.",
             disk_smart, response=list[DiskSmartOut]),
    Endpoint("GET", "/rest/storage/poolinfo", "Show pool information.", pool_info,
             response=list[PoolOut]),
    Endpoint("GET", "/rest/storage/volumeinfo", "Show volume information.", volume_info,
             response=list[VolumeOut]),
    Endpoint("GET", "/rest/storage/snapshot", "Show the snapshots of a volume.", snapshot_info,
             params=(VDID,), response=SnapshotInfoOut),
    Endpoint("GET", "/rest/storage/availtarget", "Show available target information.",
             available_targets, response=list[TargetOut]),
    Endpoint("GET", "/storage/availlun", "Show the LUNs of a target and its free LUN numbers.",
             available_luns, params=(TARGET_ID,), aliases=AVAILLUN_ALIASES,
             response=AvailableLunsOut),
    Endpoint("GET", "/rest/storage/lunmappinginfo", "Show LUN mapping information.",
             lun_mappings, response=list[MappingOut]),
    Endpoint("POST", "/rest/storage/snapspace",
             "Set a volume's snapshot space in GiB; 0 removes it.", set_snapshot_space,
             params=(VDID, Param("sizegb", Kind.NUMBER, "Snapshot space size in GiB",
                                 schema={"maximum": rules.MAX_VOLUME_GB})),
             access=Access.ADMIN, response=SnapshotSpaceOut,
             errors=(ErrorCode.SNAPSHOT_SPACE_IN_USE, NOT_READY, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/snapshot",
             "Take a snapshot; without a name one is made from the time.", take_snapshot,
             params=(VDID, Param("name", Kind.TEXT, "Snapshot name", required=False,
                                 schema={"pattern": rules.NAME_PATTERN},
                                 errors=(ErrorCode.INVALID_SNAPSHOT_NAME,))),
             access=Access.ADMIN, response=SnapshotOut,
             errors=(ErrorCode.NO_SNAPSHOT_SPACE, ErrorCode.SNAPSHOT_LIMIT,
                     ErrorCode.SNAPSHOT_NAME_TAKEN, NOT_READY, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/maplun", "Map a volume to a LUN of a target.", map_lun,
             params=(TARGET_ID, LUN, VDID,
                     Param("permission", Kind.TEXT, "rw: read-write (default), ro: read-only",
                           required=False, placeholder="rw|ro", choices=tuple(PERMISSIONS),
                           default="rw"),
                     HOSTS),
             access=Access.ADMIN, response=MappingOut,
             errors=(ErrorCode.LUN_IN_USE, ErrorCode.VOLUME_ALREADY_MAPPED, NOT_READY,
                     *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/unmaplun", "Unmap the LUN.", unmap_lun,
             params=(TARGET_ID, LUN), access=Access.ADMIN, response=MappingOut,
             errors=(ErrorCode.LUN_NOT_MAPPED, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/mapsnapshot",
             "Map a snapshot, read-only, to a LUN of a target.", map_snapshot,
             params=(TARGET_ID, LUN, SNAPSHOT_ID, HOSTS), access=Access.ADMIN, extension=True,
             response=MappingOut,
             errors=(ErrorCode.LUN_IN_USE, ErrorCode.VOLUME_ALREADY_MAPPED, NOT_READY,
                     *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/createpool", "Create a pool from free disks.", create_pool,
             params=(NAME, RAID_LEVEL, DISK_IDS,
                     Param("type", Kind.TEXT, "thick or thin (default: the backend's, thick "
                           "but on Ceph)", required=False, placeholder="thick|thin",
                           choices=tuple(PROVISIONS)),
                     Param("force", Kind.TEXT, "yes: use disks that hold a file system",
                           required=False, placeholder="yes|no", choices=tuple(YES_NO),
                           default="no")),
             access=Access.ADMIN, extension=True, response=PoolOut,
             errors=(ErrorCode.POOL_NAME_TAKEN, ErrorCode.DISK_IN_USE, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/addpooldisk", "Add free disks to a pool.", add_pool_disks,
             params=(POOL_ID, DISK_IDS), access=Access.ADMIN, extension=True, response=PoolOut,
             errors=(ErrorCode.DISK_IN_USE, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/deletepool", "Delete an empty pool.", delete_pool,
             params=(POOL_ID,), access=Access.ADMIN, extension=True, response=PoolOut,
             errors=(ErrorCode.POOL_NOT_EMPTY, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/createvolume", "Create a volume in a pool.", create_volume,
             params=(POOL_ID, NAME, SIZE_GB,
                     Param("provision", Kind.TEXT, "thick or thin (default: the pool's type)",
                           required=False, placeholder="thick|thin",
                           choices=tuple(PROVISIONS))),
             access=Access.ADMIN, extension=True, response=VolumeOut,
             errors=(ErrorCode.VOLUME_NAME_TAKEN, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/clonevolume",
             "Clone a volume, or one of its snapshots, into a new volume of its size (in its "
             "pool by default); the clone is Initiating until its copy is done.",
             clone_volume,
             params=(VDID, NAME, replace(POOL_ID, required=False),
                     replace(SNAPSHOT_ID, required=False)),
             access=Access.ADMIN, extension=True, response=VolumeOut,
             errors=(ErrorCode.VOLUME_NAME_TAKEN, ErrorCode.SNAPSHOT_IN_USE, NOT_READY,
                     *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/extendvolume", "Grow a volume to a new size in GiB.",
             extend_volume, params=(VDID, SIZE_GB), access=Access.ADMIN, extension=True,
             response=VolumeOut, errors=(NOT_READY, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/deletevolume",
             "Delete a volume that is neither mapped nor has snapshots.", delete_volume,
             params=(VDID,), access=Access.ADMIN, extension=True, response=VolumeOut,
             errors=(ErrorCode.VOLUME_IN_USE, ErrorCode.VOLUME_HAS_SNAPSHOTS, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/deletesnapshot", "Delete a snapshot.", delete_snapshot,
             params=(SNAPSHOT_ID,), access=Access.ADMIN, extension=True, response=SnapshotOut,
             errors=(ErrorCode.SNAPSHOT_IN_USE, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/rollback",
             "Roll a volume back to a snapshot; later snapshots are deleted.", rollback_snapshot,
             params=(SNAPSHOT_ID,), access=Access.ADMIN, extension=True, response=SnapshotOut,
             errors=(ErrorCode.SNAPSHOT_IN_USE, NOT_READY, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/createtarget", "Create an iSCSI target on a controller.",
             create_target,
             params=(Param("controller", Kind.NUMBER, "Controller, 1 or 2",
                           schema={"minimum": 1, "maximum": 2}),
                     Param("node", Kind.NUMBER, "Node number, 0-31 (default: the lowest free)",
                           required=False,
                           schema={"maximum": rules.MAX_NODES_PER_CONTROLLER - 1}),
                     Param("name", Kind.TEXT, "Target alias (default: dev<node>.ctr<controller>)",
                           required=False, schema={"pattern": rules.NAME_PATTERN})),
             access=Access.ADMIN, extension=True, response=TargetOut,
             errors=(ErrorCode.TARGET_IN_USE, ErrorCode.TARGET_LIMIT, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/deletetarget", "Delete an iSCSI target without LUNs.",
             delete_target, params=(TARGET_ID,), access=Access.ADMIN, extension=True,
             response=TargetOut, errors=(ErrorCode.TARGET_IN_USE, *STORAGE_CHANGE)),
    Endpoint("POST", "/rest/storage/setspare",
             "Make disks global or dedicated spares, or free them again.", set_spare,
             params=(DISK_IDS, Param("type", Kind.TEXT, "global, dedicated or free",
                                    placeholder="global|dedicated|free",
                                    choices=tuple(SPARE_TYPES)),
                     Param("poolid", Kind.ID, "Pool of a dedicated spare", required=False,
                           placeholder="pool_id", errors=(ErrorCode.POOL_NOT_FOUND,))),
             access=Access.ADMIN, extension=True, response=list[DiskOut],
             errors=(ErrorCode.DISK_IN_USE, *STORAGE_CHANGE)),
]
