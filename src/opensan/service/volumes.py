"""Volumes: create in a pool, extend, modify, delete; their views."""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass, fields, replace
from functools import partial
from typing import TypeVar

from opensan.domain import checks, identity, rules, views
from opensan.domain.errors import (
    Conflict,
    ErrorCode,
    InvalidArgument,
    SanError,
    snapshot_not_found,
)
from opensan.domain.models import (
    ArrayState,
    CacheMode,
    CloneSource,
    EventLevel,
    Priority,
    Provision,
    Snapshot,
    Volume,
    VolumeMetadata,
    VolumeQos,
    VolumeSettings,
    VolumeView,
)
from opensan.domain.rules import GIB, MIB
from opensan.service.parts import Parts, one_at_a_time
from opensan.store.records import VOLUMES

log = logging.getLogger("opensan")
T = TypeVar("T")
# The array's QoS rule (XEVO's qosRule): which of the volumes' QoS settings it applies.
QOS_RULES = ("IO_PRIORITY", "MAX_IOPS_THROUGHPUT")
TAG_TYPES = ("RAID", "BACKUP")
BLOCK_SIZES = (512, 1024, 2048, 4096, 8192, 16384, 32768, 65536)
# QoS limits beyond this are a typo (a Go uint64 holds more than any array does).
MAX_QOS_VALUE = 10**12


@dataclass(frozen=True)
class VolumeChanges:
    """What a modification sets; None leaves a field as it is (a merge, as XEVO's PATCH)."""

    name: str | None = None
    capacity_bytes: int | None = None
    cache_mode: CacheMode | None = None
    io_priority: Priority | None = None
    background_io_priority: Priority | None = None
    read_ahead: bool | None = None
    target_response_time_ms: int | None = None
    max_iops: int | None = None
    max_throughput_kbps: int | None = None
    tag_type: str | None = None
    metadata_status: str | None = None
    metadata_type: str | None = None
    metadata_content: bytes | None = None
    # Stamp the metadata with the array's time now (XEVO's timestamp AUTO), or with this time.
    stamp_now: bool = False
    metadata_timestamp: int | None = None

    def check(self) -> None:
        """Raises InvalidArgument for a value no volume can have."""
        if self.name is not None:
            rules.check_name(self.name, "volume")
        for name in ("target_response_time_ms", "max_iops", "max_throughput_kbps"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= MAX_QOS_VALUE:
                raise InvalidArgument(f"A QoS limit is 0 to {MAX_QOS_VALUE}, got {value}.")
        if self.tag_type is not None and self.tag_type not in TAG_TYPES:
            raise InvalidArgument(f"Tag type must be one of {', '.join(TAG_TYPES)}, got "
                                  f"{self.tag_type[:40]!r}.")
        for word in (self.metadata_status, self.metadata_type):
            if word is not None and (len(word) > rules.MAX_METADATA_WORD
                                     or not word.isprintable()):
                raise InvalidArgument(f"A metadata word is at most {rules.MAX_METADATA_WORD} "
                                      "printable characters.")
        if self.metadata_content is not None and \
                len(self.metadata_content) > rules.MAX_METADATA_BYTES:
            raise InvalidArgument(
                f"Metadata content is at most {rules.MAX_METADATA_BYTES} bytes.")

    @property
    def changed(self) -> list[str]:
        """The fields given, for the event."""
        return [f.name for f in fields(self) if getattr(self, f.name) not in (None, False)]

    def applied(self, settings: VolumeSettings, now: float) -> VolumeSettings:
        qos, meta = settings.qos, settings.metadata
        content = meta.content if self.metadata_content is None \
            else base64.b64encode(self.metadata_content).decode()
        timestamp = int(now) if self.stamp_now else pick(self.metadata_timestamp, meta.timestamp)
        return VolumeSettings(
            block_size=settings.block_size,
            io_priority=pick(self.io_priority, settings.io_priority),
            background_io_priority=pick(self.background_io_priority,
                                        settings.background_io_priority),
            read_ahead=pick(self.read_ahead, settings.read_ahead),
            qos=VolumeQos(pick(self.target_response_time_ms, qos.target_response_time_ms),
                          pick(self.max_iops, qos.max_iops),
                          pick(self.max_throughput_kbps, qos.max_throughput_kbps)),
            tag_type=pick(self.tag_type, settings.tag_type),
            metadata=VolumeMetadata(pick(self.metadata_status, meta.status),
                                    pick(self.metadata_type, meta.type), content, timestamp),
        )


def qos_limits(rule: str | None, volume: Volume) -> tuple[int, int]:
    """The IOPS and bytes per second a volume is held to: its limits (maxThroughput is KB/s,
    1,024 bytes) while the array's rule is MAX_IOPS_THROUGHPUT, none otherwise."""
    if rule != "MAX_IOPS_THROUGHPUT":
        return 0, 0
    qos = volume.settings.qos
    return qos.max_iops, qos.max_throughput_kbps * 1024


def pick(new: T | None, old: T) -> T:
    return old if new is None else new


def size_text(capacity_bytes: int) -> str:
    return f"{capacity_bytes // GIB} GiB" if capacity_bytes % GIB == 0 \
        else f"{capacity_bytes // MIB} MiB"


class Volumes:
    def __init__(self, parts: Parts) -> None:
        self._parts = parts

    def all(self) -> list[VolumeView]:
        observed = self._parts.observed
        return views.volume_views(self._parts.state, observed.usage, observed.clone_progress)

    def view(self, volume: Volume) -> VolumeView:
        observed = self._parts.observed
        return views.volume_view(self._parts.state, observed.usage, volume,
                                 observed.clone_progress)

    def create(self, pool_id: int, name: str, size_gb: int,
               provision: Provision | None = None) -> VolumeView:
        """A volume of size_gb GiB; provision defaults to the pool's.

        Raises InvalidArgument (name, size, thin in a thick pool), NotFound (the pool),
        Conflict (name taken, the pool failed), InsufficientCapacity (a thick volume that does
        not fit), NotSupported (a provisioning type the backend has not), BackendError."""
        rules.check_volume_size_gb(size_gb)
        return self.create_sized(pool_id, name, size_gb * GIB, provision)

    def qos_rule(self) -> str | None:
        """The array's QoS rule, None when QoS is off."""
        rule: str | None = self._parts.state.meta.get("qos_rule")
        return rule

    def set_qos_rule(self, rule: str | None) -> str | None:
        """Turn the array's QoS on with one of QOS_RULES, or off with None.
        Raises InvalidArgument for another rule."""
        if rule is not None and rule not in QOS_RULES:
            raise InvalidArgument(f"The QoS rule is one of {', '.join(QOS_RULES)}, got "
                                  f"{rule[:40]!r}.")
        with self._parts.uow.change() as change:
            change.set_meta("qos_rule", rule)
            if self._parts.traits.enforces_qos:
                for volume in change.state.volumes.values():
                    self._parts.backend.set_qos(volume, *qos_limits(rule, volume))
            change.event(EventLevel.INFO, "Volume",
                         f"QoS {'off' if rule is None else 'on, rule ' + rule}.")
        return rule

    @property
    def qos_enforced(self) -> bool:
        """Whether the storage holds volumes to their QoS limits (else they are recorded)."""
        return self._parts.traits.enforces_qos

    @one_at_a_time
    def create_sized(self, pool_id: int, name: str, capacity_bytes: int,
                     provision: Provision | None = None, block_size: int = 4096,
                     settings: VolumeChanges | None = None) -> VolumeView:
        """A volume of capacity_bytes (whole MiB) with these settings; raises what create
        raises."""
        rules.check_name(name, "volume")
        rules.check_volume_size_mib(-(-capacity_bytes // MIB))
        if capacity_bytes % MIB:
            raise InvalidArgument("A volume's size is a whole number of MiB.")
        if block_size not in BLOCK_SIZES:
            raise InvalidArgument(f"Block size must be one of "
                                  f"{', '.join(str(b) for b in BLOCK_SIZES)} bytes, got "
                                  f"{block_size}.")
        settings = settings or VolumeChanges()
        settings.check()
        parts = self._parts
        with parts.uow.change() as change:
            pool = change.state.pool(pool_id)
            if any(volume.name == name for volume in change.state.volumes.values()):
                raise Conflict(f"A volume named {name} already exists.",
                               ErrorCode.VOLUME_NAME_TAKEN)
            provision = provision or pool.provision
            if provision is Provision.THIN and pool.provision is Provision.THICK:
                raise InvalidArgument(f"Pool {pool.name} is thick; thin volumes need a thin pool.")
            checks.require_usable_pool(change.state, pool)
            capacity = capacity_bytes
            if provision is Provision.THICK:
                checks.require_capacity(change.state, parts.observed.usage, pool.id, capacity)
            parts.require_provision(provision, "volume", "provision")
            volume_id = change.new_id(VOLUMES)
            volume = Volume(volume_id, name, pool.id, capacity, provision,
                            identity.wwn(parts.backend.serial_number(), volume_id), change.now,
                            cache_mode=settings.cache_mode or CacheMode.WRITE_BACK,
                            settings=replace(settings.applied(VolumeSettings(), change.now),
                                             block_size=block_size))
            parts.backend.create_volume(volume)
            change.put(volume)
            change.event(EventLevel.INFO, "Volume",
                         f"Volume {name} created in pool {pool.name}: {size_text(capacity)}, "
                         f"{provision.value}.")
        return self.view(volume)

    @one_at_a_time
    def extend(self, volume_id: int, size_gb: int) -> VolumeView:
        """Grow a volume to size_gb GiB; volumes never shrink.

        Raises InvalidArgument (size, not larger), NotFound, Conflict (its pool failed),
        InsufficientCapacity (a thick volume's growth does not fit), BackendError."""
        rules.check_volume_size_gb(size_gb)
        parts = self._parts
        with parts.uow.change() as change:
            volume = change.state.volume(volume_id)
            capacity = size_gb * GIB
            if capacity <= volume.capacity_bytes:
                raise InvalidArgument(
                    f"Volume {volume.name} is {volume.capacity_bytes // GIB} GiB; a volume only "
                    f"grows, so give more than that.")
            checks.require_volume_ready(change.state, volume)
            if volume.provision is Provision.THICK:
                checks.require_capacity(change.state, parts.observed.usage, volume.pool_id,
                                        capacity - volume.capacity_bytes)
            grown = replace(volume, capacity_bytes=capacity)
            parts.backend.extend_volume(grown)
            change.put(grown)
            change.event(EventLevel.INFO, "Volume",
                         f"Volume {volume.name} extended to {size_gb} GiB.")
        return self.view(grown)

    @one_at_a_time
    def modify(self, volume_id: int, changes: VolumeChanges) -> VolumeView:
        """Rename, grow and set a volume's settings in one change; what is not given stays.

        Raises InvalidArgument (a value, a smaller size), NotFound, Conflict (the name taken,
        its pool failed), InsufficientCapacity (a thick volume's growth does not fit),
        BackendError."""
        changes.check()
        if changes.capacity_bytes is not None:
            rules.check_volume_size_mib(-(-changes.capacity_bytes // MIB))
        parts = self._parts
        with parts.uow.change() as change:
            volume = change.state.volume(volume_id)
            updated = replace(volume, cache_mode=changes.cache_mode or volume.cache_mode,
                              settings=changes.applied(volume.settings, change.now))
            name = changes.name
            if name is not None and name != volume.name:
                if any(v.name == name for v in change.state.volumes.values()):
                    raise Conflict(f"A volume named {name} already exists.",
                                   ErrorCode.VOLUME_NAME_TAKEN)
                updated = replace(updated, name=name)
            capacity = changes.capacity_bytes
            if capacity is not None and capacity != volume.capacity_bytes:
                if capacity < volume.capacity_bytes:
                    raise InvalidArgument(
                        f"Volume {volume.name} is {size_text(volume.capacity_bytes)}; a volume "
                        "only grows.")
                checks.require_volume_ready(change.state, volume)
                if volume.provision is Provision.THICK:
                    checks.require_capacity(change.state, parts.observed.usage,
                                            volume.pool_id, capacity - volume.capacity_bytes)
                updated = replace(updated, capacity_bytes=capacity)
                parts.backend.extend_volume(updated)
            if parts.traits.enforces_qos and updated.settings.qos != volume.settings.qos:
                parts.backend.set_qos(updated, *qos_limits(change.state.meta.get("qos_rule"),
                                                           updated))
            change.put(updated)
            what = ", ".join(changes.changed) or "nothing"
            renamed = f" (now {updated.name})" if updated.name != volume.name else ""
            change.event(EventLevel.INFO, "Volume",
                         f"Volume {volume.name}{renamed} modified: {what}.")
        return self.view(updated)

    def delete(self, volume_id: int) -> VolumeView:
        """Delete a volume that is neither mapped nor has snapshots.

        Raises NotFound, Conflict (mapped, or it has snapshots), BackendError."""
        with self._parts.uow.change() as change:
            volume = change.state.volume(volume_id)
            view = views.volume_view(change.state, self._parts.observed.usage, volume)
            if volume.clone_of is not None:
                raise Conflict(f"Volume {volume.name} is still being cloned; delete it when "
                               "it is done.", ErrorCode.VOLUME_NOT_READY)
            checks.require_no_clone_from(change.state, f"Volume {volume.name}", volume.id)
            if view.mapped:
                raise Conflict(f"Volume {volume.name} is mapped; unmap it first.",
                               ErrorCode.VOLUME_IN_USE)
            if view.snapshot_count:
                raise Conflict(
                    f"Volume {volume.name} has {view.snapshot_count} snapshots; delete them first.",
                    ErrorCode.VOLUME_HAS_SNAPSHOTS)
            change.delete(volume)
            change.on_commit(partial(self._parts.backend.delete_volume, volume))
            change.event(EventLevel.INFO, "Volume", f"Volume {volume.name} deleted.")
        return view

    @one_at_a_time
    def clone(self, volume_id: int, name: str, pool_id: int | None = None,
              snapshot_id: int | None = None) -> VolumeView:
        """A new volume, in the pool (the source's by default), with the data of the volume
        or of one of its snapshots; it is CLONING until the copy is done (follow_clones), and
        is the source's size, with the pool's provisioning and the tag type BACKUP.

        Raises InvalidArgument (name), NotFound (volume, snapshot, pool), Conflict (name
        taken, a pool failed, the source not ready or the snapshot in the trash),
        InsufficientCapacity (a thick clone that does not fit), NotSupported, BackendError."""
        rules.check_name(name, "volume")
        parts = self._parts
        with parts.uow.change() as change:
            source = change.state.volume(volume_id)
            snapshot = None
            if snapshot_id is not None:
                snapshot = change.state.snapshot(snapshot_id)
                if snapshot.volume_id != source.id:
                    raise snapshot_not_found(snapshot_id)
                if snapshot.in_trash:
                    raise Conflict(f"Snapshot {snapshot.name} is in the trash; restore it "
                                   "first.", ErrorCode.SNAPSHOT_IN_USE)
            pool = change.state.pool(source.pool_id if pool_id is None else pool_id)
            if any(volume.name == name for volume in change.state.volumes.values()):
                raise Conflict(f"A volume named {name} already exists.",
                               ErrorCode.VOLUME_NAME_TAKEN)
            checks.require_volume_ready(change.state, source)
            checks.require_usable_pool(change.state, pool)
            if pool.provision is Provision.THICK:
                checks.require_capacity(change.state, parts.observed.usage, pool.id,
                                        source.capacity_bytes)
            parts.require_provision(pool.provision, "volume", "provision")
            clone_id = change.new_id(VOLUMES)
            clone = Volume(
                clone_id, name, pool.id, source.capacity_bytes, pool.provision,
                identity.wwn(parts.backend.serial_number(), clone_id), change.now,
                written_bytes=source.written_bytes, cache_mode=source.cache_mode,
                settings=VolumeSettings(block_size=source.settings.block_size,
                                        tag_type="BACKUP"),
                clone_of=CloneSource(source.id, snapshot.id if snapshot else None))
            parts.backend.create_clone(clone, source, snapshot)
            change.put(clone)
            of = f"snapshot {snapshot.name} of volume {source.name}" if snapshot \
                else f"volume {source.name}"
            change.event(EventLevel.INFO, "Volume",
                         f"Volume {name} created in pool {pool.name} as a clone of {of}: "
                         f"{size_text(clone.capacity_bytes)}, {pool.provision.value}.")
        self.follow_clones()  # a copy that is done at once (a reflink) answers ONLINE
        return self.view(parts.state.volume(clone_id))

    def follow_clones(self) -> None:
        """Ask the backend how far each clone in progress is (the tick calls this), keep that
        for the reads, and end the clones that are done: from then on they need their source
        no more. A copy that failed is logged and asked again next time (the backend starts
        it again)."""
        parts = self._parts
        state, now = parts.state, parts.uow.clock.now()
        progress: dict[int, int] = {}
        done: list[Volume] = []
        for clone in state.volumes.values():
            if clone.clone_of is None:
                continue
            source, snapshot = _clone_source(state, clone.clone_of)
            try:
                percent = parts.backend.clone_progress(clone, source, snapshot, now)
            except SanError as error:
                log.warning("Clone %s: %s", clone.name, error.message)
                continue
            if percent >= 100:
                done.append(clone)
            else:
                progress[clone.id] = percent
        parts.observed.keep_clone_progress(progress)
        if not done:
            return
        with parts.uow.change() as change:
            for clone in done:
                recorded = change.state.volumes.get(clone.id)
                if recorded is None or recorded.clone_of is None:
                    continue  # the other controller was first
                source, snapshot = _clone_source(change.state, recorded.clone_of)
                change.put(replace(recorded, clone_of=None))
                change.on_commit(partial(parts.backend.finish_clone, recorded, source, snapshot))
                change.event(EventLevel.INFO, "Volume",
                             f"Volume {recorded.name} is cloned: it no longer needs volume "
                             f"{source.name}.")


def _clone_source(state: ArrayState, source: CloneSource) -> tuple[Volume, Snapshot | None]:
    """The volume (and snapshot) a clone copies; they stay while it does (checks)."""
    snapshot_id = source.snapshot_id
    return (state.volumes[source.volume_id],
            None if snapshot_id is None else state.snapshots[snapshot_id])
