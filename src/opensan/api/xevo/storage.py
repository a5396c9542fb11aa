"""XEVO's pools, block volumes and QoS: /rest/v2/storage/...

The same operations as SANOS's (service.pools, service.volumes), with XEVO's shapes: sizes in
MiB, IDs as strings, a PATCH that merges what it is given and answers the whole volume.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable

from fastapi.concurrency import run_in_threadpool

from opensan.api.endpoint import Access, Api, Call, Endpoint, Kind, Param
from opensan.api.xevo.request import BODY, object_id, query_filters
from opensan.api.xevo.wire import (
    CACHE_WORDS,
    EMPTY,
    POOL_LIST,
    VOLUME_LIST,
    CloneIn,
    MetadataIn,
    PoolOut,
    QosIn,
    QosOut,
    VolumeCreateIn,
    VolumeModifyIn,
    VolumeOut,
)
from opensan.domain.errors import ErrorCode, InvalidArgument, NotFound, SanError
from opensan.domain.models import Priority, VolumeView
from opensan.domain.rules import MIB
from opensan.service.volumes import VolumeChanges

POOL_ID = Param("poolId", Kind.TEXT, "Pool ID")
VOLUME_ID = Param("volumeId", Kind.TEXT, "Volume ID")


def missing(what: str, code: ErrorCode) -> Callable[[str], SanError]:
    return lambda text: NotFound(f"{what} {text[:40]!r} does not exist.", code)


NO_POOL = missing("Pool", ErrorCode.POOL_NOT_FOUND)
NO_VOLUME = missing("Volume", ErrorCode.VOLUME_NOT_FOUND)
NO_SNAPSHOT = missing("Snapshot", ErrorCode.SNAPSHOT_NOT_FOUND)


def pool_id(call: Call, text: str | None = None) -> int:
    return object_id(call.params["poolId"] if text is None else text, NO_POOL)


def volume_id(call: Call) -> int:
    return object_id(call.params["volumeId"], NO_VOLUME)


def volume_out(call: Call, view: VolumeView) -> VolumeOut:
    return VolumeOut.from_domain(view, call.service.luns.volume_mappings().get(view.volume.id))


# Pools

async def list_pools(call: Call) -> bytes:
    filters = query_filters(call.params["query"], ("name",))
    return call.cache.get(("xevo-pools", tuple(filters.items())), lambda: POOL_LIST.dump_json(
        [PoolOut.from_domain(p) for p in call.service.pools.all()
         if filters.get("name", p.pool.name) == p.pool.name], by_alias=True))


async def get_pool(call: Call) -> PoolOut:
    pool = call.service.state.pools.get(pool_id(call))
    if pool is None:
        raise NO_POOL(call.params["poolId"])
    return PoolOut.from_domain(call.service.pools.view(pool))


# Volumes

async def list_volumes(call: Call) -> bytes:
    filters = query_filters(call.params["query"], ("poolId", "name"))

    def build() -> bytes:
        mappings = call.service.luns.volume_mappings()
        return VOLUME_LIST.dump_json(
            [VolumeOut.from_domain(v, mappings.get(v.volume.id))
             for v in call.service.volumes.all()
             if filters.get("poolId", str(v.volume.pool_id)) == str(v.volume.pool_id)
             and filters.get("name", v.volume.name) == v.volume.name], by_alias=True)

    return call.cache.get(("xevo-volumes", tuple(filters.items())), build)


async def get_volume(call: Call) -> VolumeOut:
    volume = call.service.state.volumes.get(volume_id(call))
    if volume is None:
        raise NO_VOLUME(call.params["volumeId"])
    return volume_out(call, call.service.volumes.view(volume))


def _metadata_changes(metadata: MetadataIn | None) -> dict[str, object]:
    if metadata is None:
        return {}
    changes: dict[str, object] = {"metadata_status": metadata.status,
                                  "metadata_type": metadata.type}
    if metadata.content is not None:
        try:
            changes["metadata_content"] = base64.b64decode(metadata.content, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidArgument("Metadata content must be standard base64.") from None
    stamp = metadata.timestamp
    if stamp == "AUTO":
        changes["stamp_now"] = True
    elif stamp is not None:
        if not stamp.isdigit() or len(stamp) > 19:
            raise InvalidArgument("Metadata timestamp is AUTO or decimal seconds, got "
                                  f"{stamp[:40]!r}.")
        changes["metadata_timestamp"] = int(stamp)
    return changes


def _priority(value: str | None) -> Priority | None:
    return None if value is None else Priority(value)


async def create_volume(call: Call) -> VolumeOut:
    body = call.params[BODY]
    assert isinstance(body, VolumeCreateIn)
    changes = VolumeChanges(
        cache_mode=CACHE_WORDS[body.cache_mode] if body.cache_mode else None,
        io_priority=_priority(body.io_priority),
        background_io_priority=_priority(body.bg_io_priority),
        read_ahead=body.enable_read_ahead, **_metadata_changes(body.metadata))  # type: ignore[arg-type]
    view = await run_in_threadpool(
        call.service.volumes.create_sized, pool_id(call, body.pool_id), body.name,
        body.total_size * MIB, None, body.block_size, changes)
    return volume_out(call, view)


async def modify_volume(call: Call) -> VolumeOut:
    body = call.params[BODY]
    assert isinstance(body, VolumeModifyIn)
    throughput = {body.max_throughtput, body.max_throughput} - {None}
    if len(throughput) > 1:
        raise InvalidArgument("maxThroughtput and maxThroughput disagree.",
                              ErrorCode.CONFLICTING_PARAMETER)
    changes = VolumeChanges(
        name=body.name,
        capacity_bytes=None if body.total_size is None else body.total_size * MIB,
        cache_mode=CACHE_WORDS[body.cache_mode] if body.cache_mode else None,
        io_priority=_priority(body.io_priority),
        background_io_priority=_priority(body.bg_io_priority),
        read_ahead=body.enable_read_ahead, target_response_time_ms=body.target_response_time,
        max_iops=body.max_iops, max_throughput_kbps=next(iter(throughput), None),
        tag_type=body.tags.type if body.tags else None,
        **_metadata_changes(body.metadata))  # type: ignore[arg-type]
    view = await run_in_threadpool(call.service.volumes.modify, volume_id(call), changes)
    return volume_out(call, view)


async def delete_volume(call: Call) -> bytes:
    await run_in_threadpool(call.service.volumes.delete, volume_id(call))
    return EMPTY


async def clone_volume(call: Call) -> VolumeOut:
    body = call.params[BODY]
    assert isinstance(body, CloneIn)
    source = volume_id(call)
    snapshot = None
    if body.snapshot_id is not None:  # its name, or its SANOS ID
        _space, snapshots = call.service.snapshots.of_volume(source)
        text = body.snapshot_id
        found = next((s for s in snapshots if s.name == text), None) or next(
            (s for s in snapshots if str(s.id) == text), None)
        if found is None:
            raise NO_SNAPSHOT(text)
        snapshot = found.id
    view = await run_in_threadpool(call.service.volumes.clone, source, body.volume_name,
                                   pool_id(call, body.pool_id), snapshot)
    return volume_out(call, view)


# QoS

async def get_qos(call: Call) -> QosOut:
    rule = call.service.volumes.qos_rule()
    return QosOut(enable_qos=rule is not None, qos_rule=rule or "NONE",
                  enforced=call.service.volumes.qos_enforced)


async def set_qos(call: Call) -> QosOut:
    body = call.params[BODY]
    assert isinstance(body, QosIn)
    if body.enable_qos and body.qos_rule in (None, "NONE"):
        raise InvalidArgument("Turning QoS on needs a rule: IO_PRIORITY or MAX_IOPS_THROUGHPUT.")
    rule = await run_in_threadpool(call.service.volumes.set_qos_rule,
                                   body.qos_rule if body.enable_qos else None)
    return QosOut(enable_qos=rule is not None, qos_rule=rule or "NONE",
                  enforced=call.service.volumes.qos_enforced)


VOLUMES = "/rest/v2/storage/block/volumes"
ENDPOINTS = [
    Endpoint("GET", "/rest/v2/storage/pools", "List the pools (?q=name='<name>').", list_pools,
             api=Api.XEVO, filters=("name",)),
    Endpoint("GET", "/rest/v2/storage/pools/{poolId}", "Show a pool.", get_pool,
             params=(POOL_ID,), api=Api.XEVO),
    Endpoint("GET", VOLUMES,
             "List the block volumes (?q=poolId='<id>', ?q=poolId=<id>, ?poolId=<id>, "
             "?q=name='<name>').", list_volumes, api=Api.XEVO, filters=("poolId", "name")),
    Endpoint("POST", VOLUMES, "Create a block volume (sizes in MiB).", create_volume,
             access=Access.ADMIN, api=Api.XEVO, body=VolumeCreateIn),
    Endpoint("GET", VOLUMES + "/{volumeId}", "Show a block volume.", get_volume,
             params=(VOLUME_ID,), api=Api.XEVO),
    Endpoint("PATCH", VOLUMES + "/{volumeId}",
             "Modify a block volume: name, size (grows only), cache, priorities, QoS, tags, "
             "metadata; what is not given stays. Answers the whole volume.", modify_volume,
             params=(VOLUME_ID,), access=Access.ADMIN, api=Api.XEVO, body=VolumeModifyIn),
    Endpoint("DELETE", VOLUMES + "/{volumeId}",
             "Delete a block volume that is neither mapped nor has snapshots.", delete_volume,
             params=(VOLUME_ID,), access=Access.ADMIN, api=Api.XEVO),
    Endpoint("POST", VOLUMES + "/{volumeId}/clone",
             "Clone a block volume, or one of its snapshots (snapshotId), into a new volume "
             "of the source's size in a pool; it is CLONING, with its progress, until the "
             "copy is done.", clone_volume, params=(VOLUME_ID,), access=Access.ADMIN,
             api=Api.XEVO, body=CloneIn),
    Endpoint("GET", "/rest/v2/storage/qos/volumes",
             "Show the array's QoS rule (enforced: whether the storage holds volumes to their "
             "limits, or they are recorded only).", get_qos, api=Api.XEVO),
    Endpoint("PATCH", "/rest/v2/storage/qos/volumes",
             "Turn QoS on (with a rule) or off; off reads back as rule NONE.", set_qos,
             access=Access.ADMIN, api=Api.XEVO, body=QosIn),
]
