"""XEVO's snapshots and snapshot settings: /rest/v2/backup/snapshot/targets/{volumeId}/...

A volume is a snapshot "target"; its settings are SANOS's snapshot space (MiB here, whole GiB
on the array). A snapshot's XEVO ID is its name, unique in its volume (QSAN's CSI driver takes
one for the other); a path names a snapshot by its name or by its SANOS ID.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool

from opensan.api.endpoint import Access, Api, Call, Endpoint, Kind, Param
from opensan.api.xevo.request import BODY
from opensan.api.xevo.storage import VOLUME_ID, missing, volume_id
from opensan.api.xevo.wire import (
    EMPTY,
    SNAPSHOT_LIST,
    MaxPolicyOut,
    SnapshotCreateIn,
    SnapshotDeleteIn,
    SnapshotModifyIn,
    SnapshotOut,
    SnapshotSettingOut,
    SnapshotSpaceIn,
    mib,
)
from opensan.domain import checks, rules
from opensan.domain.errors import Conflict, ErrorCode, InvalidArgument
from opensan.domain.models import Snapshot, SnapshotExpose, SnapshotSpace, Volume
from opensan.domain.rules import GIB, MIB

SNAPSHOT_ID = Param("snapshotId", Kind.TEXT, "Snapshot ID (its name) or SANOS snapshot ID")
NO_SNAPSHOT = missing("Snapshot", ErrorCode.SNAPSHOT_NOT_FOUND)
# What the array does at the most snapshots a volume holds: it refuses the next one.
MAX_POLICY = "REJECT_NEW"
# QSAN's CSI driver makes the space at least its suggestion; OpenSAN suggests a fifth of the
# volume, in whole GiB (snapshot space is set in GiB).
SUGGESTED_SHARE = 5


def _snapshots(call: Call) -> tuple[Volume, SnapshotSpace, list[Snapshot]]:
    vid = volume_id(call)
    space, snapshots = call.service.snapshots.of_volume(vid)
    return call.service.state.volume(vid), space, snapshots


def _snapshot(call: Call) -> Snapshot:
    """The volume's snapshot the path names: by name first, then by SANOS ID."""
    _volume, _space, snapshots = _snapshots(call)
    text = call.params["snapshotId"]
    found = next((s for s in snapshots if s.name == text), None) or next(
        (s for s in snapshots if str(s.id) == text), None)
    if found is None:
        raise NO_SNAPSHOT(text)
    return found


def _gib_mib(size_bytes: int) -> int:
    """Bytes rounded up to whole GiB, in MiB."""
    return -(-size_bytes // GIB) * 1024


def setting_out(volume: Volume, space: SnapshotSpace) -> SnapshotSettingOut:
    minimum = max(1024, _gib_mib(space.used_bytes))
    return SnapshotSettingOut(
        type="VOLUME", protection_group="",
        snapshot_max_policy=MaxPolicyOut(max_limit=rules.MAX_SNAPSHOTS_PER_VOLUME,
                                         policy=MAX_POLICY),
        total_size=mib(space.space_bytes),
        available_size=max(0, space.space_bytes - space.used_bytes) // MIB,
        minimum_size=minimum,
        suggest_size=max(minimum, _gib_mib(volume.capacity_bytes // SUGGESTED_SHARE)))


async def get_setting(call: Call) -> SnapshotSettingOut:
    volume, space, _ = _snapshots(call)
    return setting_out(volume, space)


async def set_setting(call: Call) -> SnapshotSettingOut:
    body = call.params[BODY]
    assert isinstance(body, SnapshotSpaceIn)
    if body.protection_group:
        raise InvalidArgument("This array has no protection groups.")
    if body.total_size % 1024:
        raise InvalidArgument(f"Snapshot space is whole GiB: a multiple of 1024 MiB, got "
                              f"{body.total_size}.")
    vid = volume_id(call)
    space = await run_in_threadpool(call.service.snapshots.set_space, vid,
                                    body.total_size // 1024)
    return setting_out(call.service.state.volume(vid), space)


async def list_snapshots(call: Call) -> bytes:
    _volume, _space, snapshots = _snapshots(call)
    return SNAPSHOT_LIST.dump_json([SnapshotOut.from_domain(s) for s in snapshots],
                                   by_alias=True)


async def take_snapshot(call: Call) -> SnapshotOut:
    body = call.params[BODY]
    assert isinstance(body, SnapshotCreateIn)
    snapshot = await run_in_threadpool(call.service.snapshots.take, volume_id(call), body.name)
    return SnapshotOut.from_domain(snapshot)


async def delete_all(call: Call) -> bytes:
    await run_in_threadpool(call.service.snapshots.delete_all, volume_id(call))
    return EMPTY


async def get_snapshot(call: Call) -> SnapshotOut:
    return SnapshotOut.from_domain(_snapshot(call))


async def modify_snapshot(call: Call) -> bytes:
    """goqsan decodes the answer as an array of snapshots: the one changed."""
    body = call.params[BODY]
    assert isinstance(body, SnapshotModifyIn)
    expose = None if body.expose is None else SnapshotExpose(
        body.expose.enable, body.expose.mode, body.expose.write_size * MIB)
    snapshot = await run_in_threadpool(
        call.service.snapshots.modify, _snapshot(call).id,
        None if body.trash is None else body.trash.in_trash, expose)
    return SNAPSHOT_LIST.dump_json([SnapshotOut.from_domain(snapshot)], by_alias=True)


async def delete_snapshot(call: Call) -> bytes:
    body = call.params[BODY]
    assert isinstance(body, SnapshotDeleteIn)
    snapshot = _snapshot(call)
    if body.permanent:
        await run_in_threadpool(call.service.snapshots.delete, snapshot.id)
    else:
        await run_in_threadpool(call.service.snapshots.modify, snapshot.id, True)
    return EMPTY


async def rollback(call: Call) -> bytes:
    await run_in_threadpool(call.service.snapshots.rollback, _snapshot(call).id)
    return EMPTY


async def delete_clone_task(call: Call) -> bytes:
    """QSAN's CSI driver ends a clone's task once the clone is ONLINE. A clone here leaves no
    task behind, so there is nothing to delete once its copy is done; before, it is too soon."""
    volume = call.service.state.volume(volume_id(call))
    copying = checks.clones_from(call.service.state, volume.id)
    if copying:
        raise Conflict(f"Clone {copying[0].name} of volume {volume.name} is still copying; "
                       "try again when it is done.", ErrorCode.VOLUME_NOT_READY)
    return EMPTY


TARGET = "/rest/v2/backup/snapshot/targets/{volumeId}"
SNAPSHOTS = TARGET + "/snapshots"
SNAPSHOT = SNAPSHOTS + "/{snapshotId}"
ENDPOINTS = [
    Endpoint("GET", TARGET, "Show a volume's snapshot settings (sizes in MiB).", get_setting,
             params=(VOLUME_ID,), api=Api.XEVO),
    Endpoint("PATCH", TARGET,
             "Set a volume's snapshot space (totalSize in MiB, whole GiB; {} removes it).",
             set_setting, params=(VOLUME_ID,), access=Access.ADMIN, api=Api.XEVO,
             body=SnapshotSpaceIn),
    Endpoint("GET", SNAPSHOTS, "List a volume's snapshots, oldest first (the trash too).",
             list_snapshots, params=(VOLUME_ID,), api=Api.XEVO),
    Endpoint("POST", SNAPSHOTS, "Take a snapshot.", take_snapshot, params=(VOLUME_ID,),
             access=Access.ADMIN, api=Api.XEVO, body=SnapshotCreateIn),
    Endpoint("DELETE", SNAPSHOTS, "Delete every snapshot of a volume.", delete_all,
             params=(VOLUME_ID,), access=Access.ADMIN, api=Api.XEVO),
    Endpoint("GET", SNAPSHOT, "Show a snapshot.", get_snapshot,
             params=(VOLUME_ID, SNAPSHOT_ID), api=Api.XEVO),
    Endpoint("PATCH", SNAPSHOT,
             "Move a snapshot into the trash or out of it (trash.inTrash), record its "
             "exposure; answers [the snapshot].", modify_snapshot,
             params=(VOLUME_ID, SNAPSHOT_ID), access=Access.ADMIN, api=Api.XEVO,
             body=SnapshotModifyIn),
    Endpoint("DELETE", SNAPSHOT,
             "Delete a snapshot; {\"permanent\": false} moves it to the trash instead.",
             delete_snapshot, params=(VOLUME_ID, SNAPSHOT_ID), access=Access.ADMIN,
             api=Api.XEVO, body=SnapshotDeleteIn),
    Endpoint("POST", SNAPSHOT + "/rollback",
             "Roll the volume back to the snapshot; later snapshots are deleted.", rollback,
             params=(VOLUME_ID, SNAPSHOT_ID), access=Access.ADMIN, api=Api.XEVO),
    Endpoint("DELETE", "/rest/v2/backup/replicate/{volumeId}/task",
             "End the clone task of a volume whose clones are done (there is nothing left "
             "to end; while a clone of it still copies, try later).", delete_clone_task,
             params=(VOLUME_ID,), access=Access.ADMIN, api=Api.XEVO),
]
