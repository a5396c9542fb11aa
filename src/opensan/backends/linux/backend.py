"""The Linux backend: real block devices, btrfs RAID pools, COW snapshots, iSCSI through tgtd.

Layout on a pool's file system (mounted at <data_dir>/pools/<pool id>):
  volumes/<volume id>/lun.img                 one subvolume per volume; the LUN's image file
  snapshots/<volume id>/<snapshot id>/lun.img read-only snapshots of that subvolume
Snapshot space is a btrfs level-1 quota group per volume (1/<volume id>) holding the volume's
subvolume and its snapshots, limited to the volume's capacity plus its snapshot space: once
the volume and its snapshots together hold that much, writes to the volume fail.

LUNs are served by a private tgtd (backends/tgt: ACLs, LUN numbering, re-applying after a tgtd
restart are explained there); poll() restarts a tgtd that died.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from opensan import __version__
from opensan.backends.base import BackendEvent, BackendSpec, StorageBackend
from opensan.backends.host import cpu_model, memory_gb
from opensan.backends.linux import blockstat, btrfs, disks, hwmon
from opensan.backends.linux.config import LinuxConfig
from opensan.backends.runner import CommandFailed, run
from opensan.backends.tgt.exports import Backing, Export
from opensan.backends.tgt.server import TgtServer
from opensan.domain.errors import (
    BackendError,
    Conflict,
    ErrorCode,
    InsufficientCapacity,
    InvalidArgument,
)
from opensan.domain.identity import iqn_prefixes
from opensan.domain.measured import HardwareReadings, Performance, PoolUsage, Usage
from opensan.domain.models import (
    ArrayState,
    Backplane,
    Controller,
    Disk,
    DiskSmart,
    DiskType,
    Enclosure,
    LunMapping,
    Pool,
    Provision,
    SensorStatus,
    Snapshot,
    SystemHardware,
    Target,
    Volume,
)
from opensan.domain.traits import BackendTraits

log = logging.getLogger("opensan.linux")
IMAGE = "lun.img"
# Quota slack above capacity + snapshot space: btrfs counts a subvolume's metadata too.
QUOTA_SLACK_BYTES = 64 * 1024**2
SMART_REFRESH_SECONDS = 60.0
# A deleted volume's quota group that btrfs still refuses to destroy is tried again this many
# ticks (about a second each) before it is left to the next start.
QUOTA_GROUP_RETRIES = 120
ALLOCATION_RESERVE_BYTES = 1024**3
BTRFS_NODE_BYTES = 16 * 1024  # mkfs.btrfs's default node size
# ioctl_ficlone(2): share a whole file's blocks with another file (fcntl has it from 3.12).
FICLONE = getattr(fcntl, "FICLONE", 0x40049409)
COPY_CHUNK_BYTES = 4 * 1024**2  # what a copy into another pool reads and writes at a time


def _disk_type(device: disks.BlockDevice) -> DiskType:
    if device.kind == "loop":
        return DiskType.VIRTUAL
    if device.transport == "nvme":
        return DiskType.NVME_SSD
    if device.rotational:
        return DiskType.SAS_HDD if device.transport == "sas" else DiskType.SATA_HDD
    return DiskType.SAS_SSD if device.transport == "sas" else DiskType.SATA_SSD


def _machine_serial() -> str:
    try:
        machine_id = Path("/etc/machine-id").read_text().strip()
    except OSError:
        machine_id = socket.gethostname()
    return hashlib.sha256(machine_id.encode()).hexdigest()[:12].upper()


TRAITS = BackendTraits(name="linux", usage_refresh_seconds=2.0)


class LinuxBackend(StorageBackend):
    traits = TRAITS

    def __init__(self, config: LinuxConfig) -> None:
        self.config = config
        self.data_dir = config.data_dir
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._serial = _machine_serial()
        self.tgt = TgtServer(config.tgtd_control_port, config.portal, self.data_dir / "tgtd.log",
                             iqn_prefixes(config.model_name, self._serial),
                             lambda backing: Path(backing.path).stat().st_size,
                             adopt_running=config.adopt_tgtd)
        self.luns = self.tgt.exports
        self._subvolume_ids: dict[int, int] = {}  # snapshot id -> btrfs subvolume id
        self._smart: dict[int, tuple[float, DiskSmart]] = {}
        # Quota groups of deleted volumes that btrfs refused to destroy yet: (pool id, group)
        # -> the ticks left to try again (poll).
        self._stale_groups: dict[tuple[int, str], int] = {}
        self._stale_lock = threading.Lock()
        self._system = self._system_hardware()  # read once: the host's CPU and memory stay

    # Identity and monitoring

    def model_name(self) -> str:
        return self.config.model_name

    def serial_number(self) -> str:
        return self._serial

    def controller_count(self) -> int:
        return 1

    def configuration(self) -> dict[str, Any]:
        return self.config.model_dump(mode="json")

    def discover_disks(self, now: float, new_id: Callable[[], int]) -> list[Disk]:
        found = disks.read_block_devices(self.config.devices)
        return [
            Disk(
                id=new_id(), enclosure_id=0, slot=slot, capacity_bytes=device.size_bytes,
                type=_disk_type(device), vendor=device.vendor or "Linux",
                model=device.model or ("Loop device" if device.kind == "loop" else device.name),
                serial_number=device.serial or device.name, firmware_version=device.revision,
                interface_speed=device.transport or "n/a", installed_at=now,
                device_path=device.path,
            )
            for slot, device in enumerate(found, start=1)
        ]

    def read_hardware(self, state: ArrayState, now: float,
                      sensor_overrides: Mapping[str, SensorStatus]) -> HardwareReadings:
        smart = {disk.id: self._disk_smart(disk) for disk in state.disks.values()}
        return HardwareReadings(
            system=self._system,
            enclosures=(Enclosure(0, f"{socket.gethostname()} (host sensors from "
                                     "/sys/class/hwmon)", hwmon.read_sensors()),),
            smart=smart,
            temperatures={disk_id: report.temperature_c for disk_id, report in smart.items()},
        )

    def read_performance(self, state: ArrayState, now: float) -> Performance:
        """Each disk's kernel counters (blockstat.py); volumes and ports have none here."""
        found = {disk.id: blockstat.read_counters(disk.device_path)
                 for disk in state.disks.values() if disk.device_path}
        return Performance(taken_at=now, since=blockstat.boot_time(),
                           disks={disk_id: c for disk_id, c in found.items() if c is not None})

    def _system_hardware(self) -> SystemHardware:
        return SystemHardware(
            model_name=self.config.model_name, serial_number=self._serial,
            firmware_version=f"OpenSAN {__version__}", controller_mode="Single Controller",
            master_controller="Controller 1", form_factor="Linux server",
            bays=len(self.config.devices), rack_units=0,
            controllers=(Controller(
                slot=1, status="Normal", serial_number=self._serial, cpu=cpu_model(),
                memory_gb=memory_gb(), host_card_slots=(),
                firmware_version=f"OpenSAN {__version__}",
                sas_ioc_firmware_version="n/a", sas_expander_firmware_version="n/a"),),
            backplane=Backplane(serial_number=self._serial, id=socket.gethostname(),
                                mcu_version="n/a"),
            ssd_cache_license=False, auto_tiering_license=False,
        )

    def _disk_smart(self, disk: Disk) -> DiskSmart:
        """smartctl takes a while per disk: its report is reused for SMART_REFRESH_SECONDS."""
        cached = self._smart.get(disk.id)
        if cached and time.monotonic() - cached[0] < SMART_REFRESH_SECONDS:
            return cached[1]
        report = self._read_smart(disk)
        self._smart[disk.id] = (time.monotonic(), report)
        return report

    def _read_smart(self, disk: Disk) -> DiskSmart:
        """The disk's report; one that cannot be read says why, and the others are still read."""
        note = f"{disk.device_path} reports no S.M.A.R.T. data (e.g. a loop device)."
        try:
            report = disks.read_smart(disk.device_path, disk.id, disk.enclosure_id,
                                      disk.slot) if disk.device_path else None
        except BackendError as error:
            report, note = None, f"S.M.A.R.T. of {disk.device_path} could not be read: " \
                                 f"{error.message}"
        if report is not None:
            return report
        return DiskSmart(
            disk_id=disk.id, enclosure_id=disk.enclosure_id, slot=disk.slot, health=disk.health,
            temperature_c=None, power_on_hours=None, attributes=(), supported=False, note=note)

    def portals(self, controller: int) -> tuple[str, ...]:
        return (self.config.portal,)

    # Paths

    def _mountpoint(self, pool_id: int) -> Path:
        return self.data_dir / "pools" / str(pool_id)

    def _volume_dir(self, volume: Volume) -> Path:
        """volumes/<id>, or volumes/<id>.<generation> once rollbacks made new copies."""
        name = f"{volume.id}.{volume.generation}" if volume.generation else str(volume.id)
        return self._mountpoint(volume.pool_id) / "volumes" / name

    def _snapshot_dir(self, volume: Volume, snapshot_id: int) -> Path:
        return self._mountpoint(volume.pool_id) / "snapshots" / str(volume.id) / str(snapshot_id)

    @staticmethod
    def _quota_group(volume: Volume) -> str:
        return f"1/{volume.id}"

    def _quota_limit(self, volume: Volume) -> int:
        return volume.capacity_bytes + volume.snapshot_space_bytes + QUOTA_SLACK_BYTES

    # Pools

    def create_pool(self, pool: Pool, members: list[Disk], force: bool) -> None:
        devices = [self._device(disk) for disk in members]
        for device in devices:
            signature = disks.has_signature(device)
            if signature and not force:
                raise Conflict(f"{device} holds a {signature} signature; give force/yes to "
                               "erase it.", ErrorCode.DISK_IN_USE)
            if signature:
                disks.wipe(device)
        mountpoint = self._mountpoint(pool.id)
        btrfs.make_filesystem(devices, pool.raid_level, f"opensan-{pool.id}")
        mountpoint.mkdir(parents=True, exist_ok=True)
        btrfs.mount(devices[0], mountpoint)
        try:
            btrfs.enable_quota(mountpoint)
            (mountpoint / "volumes").mkdir(exist_ok=True)
            (mountpoint / "snapshots").mkdir(exist_ok=True)
        except Exception:
            btrfs.unmount(mountpoint)
            raise

    def _device(self, disk: Disk) -> str:
        if not disk.device_path or disk.device_path not in self.config.devices:
            raise InvalidArgument(f"Disk {disk.id} is not one of the configured devices.")
        return disk.device_path

    def delete_pool(self, pool: Pool, members: list[Disk]) -> None:
        with self._stale_lock:  # the pool's quota groups go with its file system
            for key in [key for key in self._stale_groups if key[0] == pool.id]:
                del self._stale_groups[key]
        mountpoint = self._mountpoint(pool.id)
        if btrfs.is_mounted(mountpoint):
            btrfs.unmount(mountpoint)
        mountpoint.rmdir()
        for disk in members:
            # The file system was ours: erase it, so the disks are free again, not "in use".
            disks.wipe(self._device(disk))

    def add_pool_disks(self, pool: Pool, members: list[Disk]) -> None:
        btrfs.add_devices(self._mountpoint(pool.id), [self._device(d) for d in members],
                          pool.raid_level)

    def measure_usage(self, state: ArrayState) -> Usage:
        """From each pool's file system (btrfs usage, quota groups) and the volumes' images.

        A pool's capacity is btrfs's size less a reserve: its free estimate counts space that
        chunk allocation and metadata will take, and a thick volume of the free size must fit.
        """
        pools: dict[int, PoolUsage] = {}
        groups: dict[int, dict[str, btrfs.Qgroup]] = {}
        for pool in state.pools.values():
            mountpoint = self._mountpoint(pool.id)
            # tgtd writes through the page cache: flush it, or overwritten blocks are not
            # counted yet.
            run(["sync", "--file-system", str(mountpoint)])
            fs_usage = btrfs.usage(mountpoint)
            groups[pool.id] = btrfs.qgroups(mountpoint)
            reserve = max(ALLOCATION_RESERVE_BYTES, fs_usage.size_bytes // 100)
            pools[pool.id] = PoolUsage(max(fs_usage.used_bytes, fs_usage.size_bytes - reserve),
                                       fs_usage.used_bytes)
        volumes: dict[int, int] = {}
        for volume in state.volumes.values():
            allocated = self._allocated_bytes(volume)
            if allocated is not None:
                volumes[volume.id] = allocated
        snapshot_space: dict[int, int] = {}
        with_snapshots = {s.volume_id for s in state.snapshots.values()}
        for volume in state.volumes.values():
            used = self._snapshot_space_used(volume, volume.id in with_snapshots,
                                             groups.get(volume.pool_id, {}), volumes)
            if used is not None:
                snapshot_space[volume.id] = used
        snapshots: dict[int, int] = {}
        for snapshot in state.snapshots.values():
            volume = state.volumes[snapshot.volume_id]
            held = self._snapshot_bytes(volume, snapshot, groups.get(volume.pool_id, {}))
            if held is not None:
                snapshots[snapshot.id] = held
        return Usage(pools, volumes, snapshots, snapshot_space)

    # Volumes

    def create_volume(self, volume: Volume) -> None:
        directory = self._volume_dir(volume)
        mountpoint = self._mountpoint(volume.pool_id)
        group = self._quota_group(volume)
        btrfs.create_qgroup(mountpoint, group)
        try:
            btrfs.limit_qgroup(mountpoint, group, self._quota_limit(volume))
            btrfs.create_subvolume(directory, qgroup=group)  # a member from birth: no rescan
            try:
                # No copy-on-write for the image (the directory's flag passes to new files): a
                # host rewriting its disk overwrites in place instead of growing the volume, and
                # only blocks a snapshot still holds are copied, once.
                run(["chattr", "+C", str(directory)])
                with _space_errors(), open(directory / IMAGE, "wb") as file:
                    if volume.provision is Provision.THICK:
                        os.posix_fallocate(file.fileno(), 0, volume.capacity_bytes)
                    else:
                        file.truncate(volume.capacity_bytes)
            except Exception:
                btrfs.delete_subvolume(directory)
                raise
        except Exception:
            self._destroy_quota_group(volume.pool_id, group)
            raise

    def extend_volume(self, volume: Volume) -> None:
        # The quota grows first: the new blocks of a thick volume count against it at once.
        btrfs.limit_qgroup(self._mountpoint(volume.pool_id), self._quota_group(volume),
                           self._quota_limit(volume))
        self._grow_image(volume)
        self.luns.sync()  # tgt reads a LUN's size when it is created: re-create mapped ones

    def _grow_image(self, volume: Volume) -> None:
        """Make the image as large as the volume: allocated for a thick one, sparse for thin."""
        with _space_errors(), open(self._volume_dir(volume) / IMAGE, "r+b") as file:
            if volume.provision is Provision.THICK:
                os.posix_fallocate(file.fileno(), 0, volume.capacity_bytes)
            elif os.fstat(file.fileno()).st_size < volume.capacity_bytes:
                file.truncate(volume.capacity_bytes)

    def delete_volume(self, volume: Volume) -> None:
        btrfs.delete_subvolume(self._volume_dir(volume))
        snapshots = self._mountpoint(volume.pool_id) / "snapshots" / str(volume.id)
        if snapshots.exists():
            snapshots.rmdir()  # empty: a volume with snapshots is never deleted
        self._destroy_quota_group(volume.pool_id, self._quota_group(volume))

    def _destroy_quota_group(self, pool_id: int, group: str) -> None:
        """Remove a volume's quota group once its subvolume is really gone. Under load btrfs
        often refuses right after the delete (EBUSY: the group still has a member for a moment,
        the deleted subvolume's own group, which btrfs drops a little later). The volume is gone
        already, so a failure here must not undo the change: a later tick (poll) destroys the
        group, or, should that keep failing or the server be killed first, the next start does
        (remove_orphans). Left to the next start, such groups piled up (62 in a 5-minute soak,
        bench/soak.py), and every measurement of use read and parsed all of them."""
        mountpoint = self._mountpoint(pool_id)
        try:
            btrfs.sync_subvolumes(mountpoint)
            btrfs.destroy_qgroup(mountpoint, group)
        except CommandFailed as error:
            log.debug("Quota group %s is destroyed later: %s", group, error)
            with self._stale_lock:
                self._stale_groups[(pool_id, group)] = QUOTA_GROUP_RETRIES

    def _destroy_stale_quota_groups(self) -> None:
        """Try again to destroy the quota groups of deleted volumes that btrfs refused."""
        with self._stale_lock:
            pending = list(self._stale_groups)
        for key in pending:
            pool_id, group = key
            mountpoint = self._mountpoint(pool_id)
            try:
                btrfs.destroy_qgroup(mountpoint, group)
            except CommandFailed as error:
                # "No such file or directory": the group (or the pool) is gone already.
                gone = "No such file" in error.stderr or not btrfs.is_mounted(mountpoint)
                if not gone:
                    with self._stale_lock:
                        tries = self._stale_groups.get(key)
                        if tries is None:  # its pool was deleted meanwhile
                            continue
                        if tries > 1:
                            self._stale_groups[key] = tries - 1
                            continue
                    log.warning("Quota group %s stays until the next start: %s", group, error)
            with self._stale_lock:
                self._stale_groups.pop(key, None)

    # Clones

    def create_clone(self, clone: Volume, source: Volume, snapshot: Snapshot | None) -> None:
        """The clone's subvolume and quota group as a new volume's, its image the source's
        (or the snapshot's): a reflink within one pool, a sparse copy from another pool. The
        whole copy is made here, so the clone is done when the change commits."""
        directory = self._volume_dir(clone)
        mountpoint = self._mountpoint(clone.pool_id)
        group = self._quota_group(clone)
        image = (self._snapshot_dir(source, snapshot.id) if snapshot
                 else self._volume_dir(source)) / IMAGE
        btrfs.create_qgroup(mountpoint, group)
        try:
            btrfs.limit_qgroup(mountpoint, group, self._quota_limit(clone))
            btrfs.create_subvolume(directory, qgroup=group)
            try:
                run(["chattr", "+C", str(directory)])  # as a new volume's (create_volume)
                with _space_errors():
                    copy_image(image, directory / IMAGE)
                self._grow_image(clone)  # a snapshot from before an extend is smaller
            except Exception:
                btrfs.delete_subvolume(directory)
                raise
        except Exception:
            self._destroy_quota_group(clone.pool_id, group)
            raise

    def clone_progress(self, clone: Volume, source: Volume, snapshot: Snapshot | None,
                       now: float) -> int:
        return 100  # create_clone made the whole copy

    def _allocated_bytes(self, volume: Volume) -> int | None:
        """Bytes the volume's image really occupies."""
        try:
            return (self._volume_dir(volume) / IMAGE).stat().st_blocks * 512
        except OSError:
            return None

    # Snapshots

    def set_snapshot_space(self, volume: Volume) -> None:
        btrfs.limit_qgroup(self._mountpoint(volume.pool_id), self._quota_group(volume),
                           self._quota_limit(volume))

    def create_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        destination = self._snapshot_dir(volume, snapshot.id)
        destination.parent.mkdir(parents=True, exist_ok=True)
        btrfs.snapshot(self._volume_dir(volume), destination, readonly=True,
                       qgroup=self._quota_group(volume))

    def delete_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        btrfs.delete_subvolume(self._snapshot_dir(volume, snapshot.id))
        self._subvolume_ids.pop(snapshot.id, None)

    def _snapshot_bytes(self, volume: Volume, snapshot: Snapshot,
                        groups: dict[str, btrfs.Qgroup]) -> int | None:
        """What only this snapshot holds: its quota group's exclusive bytes."""
        if snapshot.id not in self._subvolume_ids:
            try:
                self._subvolume_ids[snapshot.id] = btrfs.subvolume_id(
                    self._snapshot_dir(volume, snapshot.id))
            except CommandFailed:  # a change is deleting it right now
                return None
        group = groups.get(f"0/{self._subvolume_ids[snapshot.id]}")
        # Not counted: the snapshot's own root node, which every snapshot has from birth.
        return max(0, group.exclusive - BTRFS_NODE_BYTES) if group else None

    def _snapshot_space_used(self, volume: Volume, has_snapshots: bool,
                             groups: dict[str, btrfs.Qgroup],
                             allocated: dict[int, int]) -> int | None:
        """What the volume's quota group holds beyond the volume's own data: the old blocks its
        snapshots keep. Quota numbers count whole extents and btrfs frees an extent only when
        no part of it is used, so neither a snapshot's exclusive bytes nor the volume's
        referenced bytes tell this; the image's allocated blocks do."""
        if volume.snapshot_space_bytes == 0 or not has_snapshots:
            return 0  # without snapshots the group holds only the volume and its metadata
        group = groups.get(self._quota_group(volume))
        own = allocated.get(volume.id)
        if group is None or own is None:
            return None
        return max(0, group.exclusive - own)

    def rollback_snapshot(self, volume: Volume, snapshot: Snapshot) -> None:
        """A writable copy of the snapshot as the volume's next generation, beside the live
        one, which hosts keep using until the change commits (a copy left by a change that
        never committed is an orphan: it goes here or at the next start)."""
        directory = self._volume_dir(volume)
        mountpoint, group = self._mountpoint(volume.pool_id), self._quota_group(volume)
        if directory.exists():
            btrfs.delete_subvolume(directory)
        source = self._snapshot_dir(volume, snapshot.id)
        # A snapshot taken before an extend holds the smaller image, which grows back to the
        # volume's size; a thick volume allocates that part in both copies until the commit.
        grown = volume.capacity_bytes - (source / IMAGE).stat().st_size
        if grown > 0 and volume.provision is Provision.THICK:
            btrfs.limit_qgroup(mountpoint, group, self._quota_limit(volume) + grown)
        btrfs.snapshot(source, directory, readonly=False, qgroup=group)
        try:
            self._grow_image(volume)
        except Exception:
            btrfs.delete_subvolume(directory)
            btrfs.limit_qgroup(mountpoint, group, self._quota_limit(volume))
            raise

    def finish_rollback(self, before: Volume, after: Volume) -> None:
        self.luns.rebind(after.id, Backing(str(self._volume_dir(after) / IMAGE)))
        btrfs.delete_subvolume(self._volume_dir(before))
        btrfs.limit_qgroup(self._mountpoint(after.pool_id), self._quota_group(after),
                           self._quota_limit(after))  # one copy again

    # Targets and LUNs

    def create_target(self, target: Target) -> None:
        self.luns.put_target(target)

    def delete_target(self, target: Target) -> None:
        self.luns.remove_target(target.id)

    def map_lun(
        self, target: Target, mapping: LunMapping, volume: Volume, snapshot: Snapshot | None
    ) -> None:
        path = (self._snapshot_dir(volume, snapshot.id) if snapshot
                else self._volume_dir(volume)) / IMAGE
        self.luns.export(Export(target.id, mapping, Backing(str(path))))

    def unmap_lun(self, target: Target, mapping: LunMapping) -> None:
        self.luns.unexport(target.id, mapping.lun)

    # Start-up, supervision, shutdown

    def _mount_pools(self, state: ArrayState) -> None:
        for pool in state.pools.values():
            mountpoint = self._mountpoint(pool.id)
            if not btrfs.is_mounted(mountpoint):
                mountpoint.mkdir(parents=True, exist_ok=True)
                btrfs.mount(self._device(state.disks[pool.disk_ids[0]]), mountpoint)

    def remove_orphans(self, state: ArrayState) -> None:
        """Delete what a change killed before its commit left behind: subvolumes and quota
        groups of volumes and snapshots the records do not have (the records are the truth)."""
        self._mount_pools(state)
        snapshots = {str(s.id) for s in state.snapshots.values()}
        for pool in state.pools.values():
            mountpoint = self._mountpoint(pool.id)
            volumes = {str(v.id): v for v in state.volumes.values() if v.pool_id == pool.id}
            data = {self._volume_dir(v).name for v in volumes.values()}  # the live generations
            for directory in sorted((mountpoint / "snapshots").glob("*/*")):
                if directory.name not in snapshots:
                    log.warning("Removing orphaned snapshot %s", directory)
                    btrfs.delete_subvolume(directory)
            for directory in sorted((mountpoint / "snapshots").glob("*")):
                if directory.name not in volumes and not any(directory.iterdir()):
                    directory.rmdir()
            for directory in sorted((mountpoint / "volumes").glob("*")):
                if directory.name not in data:
                    log.warning("Removing orphaned volume %s", directory)
                    btrfs.delete_subvolume(directory)
                    live = volumes.get(directory.name.split(".")[0])
                    if live is not None:  # a rollback's copy: the quota it borrowed goes back
                        btrfs.limit_qgroup(mountpoint, self._quota_group(live),
                                           self._quota_limit(live))
            for group in btrfs.qgroups(mountpoint):
                level, _, number = group.partition("/")
                if level == "1" and number not in volumes:
                    btrfs.destroy_qgroup(mountpoint, group)

    def reconcile(self, state: ArrayState) -> None:
        """Mount every pool and export every mapping, as after a reboot or a crash."""
        with self.luns.lock:
            self._mount_pools(state)
            exports = []
            for (target_id, _lun), mapping in state.mappings.items():
                volume = state.volumes[mapping.volume_id]
                directory = self._snapshot_dir(volume, mapping.snapshot_id) \
                    if mapping.snapshot_id else self._volume_dir(volume)
                exports.append(Export(target_id, mapping, Backing(str(directory / IMAGE))))
            self.luns.replace_all(state.targets, exports)

    def poll(self) -> list[BackendEvent]:
        self._destroy_stale_quota_groups()
        return self.tgt.check()

    def close(self) -> None:
        self.tgt.close()


def copy_image(source: Path, destination: Path) -> None:
    """Make destination (a new file) hold source's data: a reflink (FICLONE) where both are on
    one btrfs file system, so their blocks are shared until either is written; otherwise a
    copy of source's data ranges only, so the holes of a thin image stay holes."""
    with open(source, "rb") as src, open(destination, "wb") as dst:
        try:
            fcntl.ioctl(dst.fileno(), FICLONE, src.fileno())
            return
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.EOPNOTSUPP, errno.EINVAL):
                raise
        size = os.fstat(src.fileno()).st_size
        dst.truncate(size)
        offset = 0
        while offset < size:
            try:
                start = os.lseek(src.fileno(), offset, os.SEEK_DATA)
            except OSError as error:
                if error.errno == errno.ENXIO:  # only a hole is left
                    break
                raise
            end = os.lseek(src.fileno(), start, os.SEEK_HOLE)
            while start < end:  # copy_file_range refuses another file system (EXDEV)
                chunk = os.pread(src.fileno(), min(COPY_CHUNK_BYTES, end - start), start)
                if not chunk:
                    break
                os.pwrite(dst.fileno(), chunk, start)
                start += len(chunk)
            offset = end
        os.fsync(dst.fileno())


@contextmanager
def _space_errors() -> Iterator[None]:
    """A full pool or quota while writing an image is the array's 507, not a defect."""
    try:
        yield
    except OSError as error:
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientCapacity(f"The pool has no room for that: {error.strerror}.") \
                from error
        raise BackendError(f"Writing the volume image failed: {error}") from error


def create(options: dict[str, Any]) -> StorageBackend:
    if "config" not in options:
        raise InvalidArgument("The linux backend needs --config FILE (docs/linux.md).")
    return LinuxBackend(LinuxConfig.load(Path(options["config"])))


SPEC = BackendSpec(create=create)

