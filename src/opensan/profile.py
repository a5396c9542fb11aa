"""Array profiles: what a new virtual array holds on its first start (docs/profile.md).

A profile is a TOML file. It is applied once, through the service's ordinary operations, so a
profile can only build what a client could have built through the API, and the event log
shows how the array came to be.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from opensan.domain.errors import Generation, InvalidArgument
from opensan.domain.models import DiskUsage, Permission, Provision
from opensan.domain.raid import parse_raid_level
from opensan.domain.traits import Capability

if TYPE_CHECKING:
    from opensan.service.array import ArrayService


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PoolProfile(_Section):
    name: str
    raid: str = "RAID 6"
    disks: int = Field(ge=1, description="How many free hard disks, lowest slots first")
    provision: Literal["Thick", "Thin"] = "Thick"
    global_spares: int = Field(default=0, ge=0)


class WorkloadProfile(_Section):
    iops: int = Field(ge=0, description="Average IOPS the volume's hosts ask for")
    read_percent: int = Field(default=70, ge=0, le=100)
    block_kb: int = Field(default=8, ge=1)


class VolumeProfile(_Section):
    name: str
    pool: str
    size_gb: int = Field(ge=1)
    provision: Literal["Thick", "Thin"] | None = None
    snapshot_space_gb: int = Field(default=0, ge=0)
    snapshots: list[str] = []
    written_gb: int = Field(default=0, ge=0, description="Simulated host writes after creation")
    workload: WorkloadProfile | None = Field(default=None, description="The hosts' I/O on the "
                                             "virtual array (default: drawn from the seed)")


class MappingProfile(_Section):
    volume: str
    lun: int = Field(ge=0, le=254)
    node: int = 0
    controllers: list[int] = [1, 2]
    permission: Literal["rw", "ro"] = "rw"
    hosts: list[str] = ["*"]


class Profile(_Section):
    system_name: str | None = None
    ssd_bays: int = Field(default=2, ge=0, description="Bays, counted from the last, with SSDs")
    nodes_per_controller: int = Field(default=1, ge=0, le=32)
    host_cards: tuple[str, str] | None = Field(
        default=None, description="The virtual array's host cards in slots 1 and 2 of each "
        "controller (default: drawn from the seed)")
    firmware: Generation = Field(default=Generation.V1, description="QSAN's XEVO firmware "
                                 "generation whose error codes the array answers")
    pools: list[PoolProfile] = []
    volumes: list[VolumeProfile] = []
    mappings: list[MappingProfile] = []

    @classmethod
    def load(cls, path: Path | None = None) -> Profile:
        """Read a profile file; without one, the default profile that ships with OpenSAN."""
        try:
            if path is None:
                text = resources.files("opensan").joinpath(
                    "backends/simulated/profiles/default.toml").read_text()
            else:
                text = path.read_text()
            return cls.model_validate(tomllib.loads(text))
        except (OSError, tomllib.TOMLDecodeError, ValidationError) as error:
            raise InvalidArgument(f"Cannot use profile {path or 'default'}: {error}") from error

    def apply(self, service: ArrayService) -> None:
        if self.firmware is not service.system.firmware():
            service.system.set_firmware(self.firmware)
        pool_ids: dict[str, int] = {}
        shared = service.traits.pools_share_disks  # every pool may use every disk
        for pool in self.pools:
            free = sorted(
                (d for d in service.state.disks.values()
                 if (shared or d.usage is DiskUsage.FREE) and not d.type.solid_state),
                key=lambda d: d.slot,
            )
            wanted = pool.disks + pool.global_spares
            if len(free) < wanted:
                raise InvalidArgument(
                    f"Profile pool {pool.name} needs {wanted} free hard disks; "
                    f"this model has {len(free)} left.")
            members = [d.id for d in free[: pool.disks]]
            created = service.pools.create(pool.name, parse_raid_level(pool.raid), members,
                                          Provision(pool.provision))
            pool_ids[pool.name] = created.pool.id
            spares = [d.id for d in free[pool.disks: wanted]]
            if spares:
                service.disks.set_spare(spares, DiskUsage.GLOBAL_SPARE)
        volume_ids: dict[str, int] = {}
        for volume in self.volumes:
            if volume.pool not in pool_ids:
                raise InvalidArgument(f"Profile volume {volume.name} names unknown pool "
                                      f"{volume.pool}.")
            provision = Provision(volume.provision) if volume.provision else None
            view = service.volumes.create(pool_ids[volume.pool], volume.name, volume.size_gb,
                                          provision)
            volume_ids[volume.name] = view.volume.id
            if volume.snapshot_space_gb:
                service.snapshots.set_space(view.volume.id, volume.snapshot_space_gb)
            for snapshot_name in volume.snapshots:
                service.snapshots.take(view.volume.id, snapshot_name)
            simulated_io = Capability.HOST_WRITE_SIMULATION in service.traits.capabilities
            if volume.written_gb and simulated_io:
                service.simulation.host_write(view.volume.id, volume.written_gb)
            if volume.workload and simulated_io:
                service.simulation.set_workload(view.volume.id, volume.workload.iops,
                                                volume.workload.read_percent,
                                                volume.workload.block_kb)
        controllers = service.system.controller_count()
        targets: dict[tuple[int, int], int] = {}
        for controller in range(1, controllers + 1):
            for node in range(self.nodes_per_controller):
                created_target = service.luns.create_target(controller, node)
                targets[(controller, node)] = created_target.target.id
        for mapping in self.mappings:
            if mapping.volume not in volume_ids:
                raise InvalidArgument(f"Profile mapping names unknown volume {mapping.volume}.")
            permission = Permission.READ_ONLY if mapping.permission == "ro" else Permission.READ_WRITE
            for controller in mapping.controllers:
                target_id = targets.get((controller, mapping.node))
                if target_id is not None:  # a single-controller model has no controller 2
                    service.luns.map_volume(target_id, mapping.lun, volume_ids[mapping.volume],
                                            permission, tuple(mapping.hosts))
