"""Targets and LUN mappings: what hosts see, and where."""

from __future__ import annotations

from dataclasses import replace

from opensan.domain import checks, identity, rules, views
from opensan.domain.errors import Conflict, ErrorCode, InvalidArgument, NotFound, NotSupported
from opensan.domain.models import (
    EventLevel,
    FcPort,
    LunMapping,
    MappingView,
    Permission,
    Target,
    TargetType,
    TargetView,
)
from opensan.service.parts import Parts
from opensan.store.records import TARGETS


class Luns:
    def __init__(self, parts: Parts) -> None:
        self._parts = parts

    # Reads

    def targets(self) -> list[TargetView]:
        return views.target_views(self._parts.state)

    def of_target(self, target_id: int) -> tuple[Target, list[MappingView], list[int]]:
        """A target, its LUNs and its free LUN numbers. Raises NotFound."""
        return views.target_luns(self._parts.state, target_id)

    def mappings(self) -> list[MappingView]:
        return views.mapping_views(self._parts.state)

    def volume_mappings(self) -> dict[int, LunMapping]:
        """Each mapped volume's first mapping (by target and LUN); snapshots' aside."""
        found: dict[int, LunMapping] = {}
        for _key, mapping in sorted(self._parts.state.mappings.items()):
            if mapping.snapshot_id is None:
                found.setdefault(mapping.volume_id, mapping)
        return found

    # Mappings (the manual's POSTs)

    def map_volume(self, target_id: int, lun: int | None, volume_id: int,
                   permission: Permission = Permission.READ_WRITE,
                   hosts: tuple[str, ...] = ("*",)) -> MappingView:
        """Export a volume as a LUN of a target (the lowest free one for None), to the hosts
        given (* for every host).

        Raises InvalidArgument (LUN, hosts), NotFound (target, volume), Conflict (the LUN is
        taken or none is free, the volume is mapped there already, its pool failed),
        BackendError."""
        return self._map(target_id, lun, volume_id, None, permission, hosts)

    def map_snapshot(self, target_id: int, lun: int, snapshot_id: int,
                     hosts: tuple[str, ...] = ("*",)) -> MappingView:
        """Export a snapshot, read-only, as a LUN: the volume's past, next to its present.

        Raises what map_volume raises, and NotFound for the snapshot."""
        snapshot = self._parts.state.snapshot(snapshot_id)
        return self._map(target_id, lun, snapshot.volume_id, snapshot_id, Permission.READ_ONLY,
                         hosts)

    def _map(self, target_id: int, lun: int | None, volume_id: int, snapshot_id: int | None,
             permission: Permission, hosts: tuple[str, ...]) -> MappingView:
        if lun is not None:
            rules.check_lun(lun)
        hosts = rules.check_hosts(list(hosts))
        with self._parts.uow.change() as change:
            target = change.state.target(target_id)
            volume = change.state.volume(volume_id)
            if lun is None:
                lun = _free_lun(change.state.mappings, target_id)
            snapshot = change.state.snapshot(snapshot_id) if snapshot_id is not None else None
            what = f"Snapshot {snapshot.name} of volume {volume.name}" if snapshot \
                else f"Volume {volume.name}"
            if (target_id, lun) in change.state.mappings:
                raise Conflict(f"LUN {lun} of target {target_id} is already in use.",
                               ErrorCode.LUN_IN_USE)
            if any(m.target_id == target_id and m.volume_id == volume_id
                   and m.snapshot_id == snapshot_id for m in change.state.mappings.values()):
                raise Conflict(f"{what} is already mapped on target {target_id}.",
                               ErrorCode.VOLUME_ALREADY_MAPPED)
            checks.require_volume_ready(change.state, volume)
            mapping = LunMapping(target_id, lun, volume_id, permission, hosts, snapshot_id,
                                 change.new_object_id())
            self._parts.backend.map_lun(target, mapping, volume, snapshot)
            change.put(mapping)
            change.event(EventLevel.INFO, "LUN",
                         f"{what} mapped to {_named(target)} as "
                         f"LUN {lun}, {permission.value}, hosts {','.join(hosts)}.")
            return views.mapping_view(change.state, mapping)

    def remap(self, target_id: int, lun: int, new_lun: int | None = None,
              hosts: tuple[str, ...] | None = None) -> MappingView:
        """Give a mapping another LUN number or other hosts; it keeps its ID.

        Raises InvalidArgument (LUN, hosts), NotFound (target, or the LUN is not mapped),
        Conflict (the new LUN is taken), BackendError."""
        rules.check_lun(lun)
        if new_lun is not None:
            rules.check_lun(new_lun)
        if hosts is not None:
            hosts = rules.check_hosts(list(hosts))
        with self._parts.uow.change() as change:
            target = change.state.target(target_id)
            mapping = _mapped(change.state.mappings, target_id, lun)
            moved = replace(mapping, lun=mapping.lun if new_lun is None else new_lun,
                            hosts=mapping.hosts if hosts is None else hosts,
                            id=mapping.mapping_id)
            if moved.lun != lun and (target_id, moved.lun) in change.state.mappings:
                raise Conflict(f"LUN {moved.lun} of target {target_id} is already in use.",
                               ErrorCode.LUN_IN_USE)
            volume = change.state.volume(mapping.volume_id)
            snapshot = change.state.snapshot(mapping.snapshot_id) \
                if mapping.snapshot_id is not None else None
            self._parts.backend.unmap_lun(target, mapping)
            self._parts.backend.map_lun(target, moved, volume, snapshot)
            change.delete(mapping)
            change.put(moved)
            change.event(EventLevel.INFO, "LUN",
                         f"LUN {lun} of target {target_id} ({volume.name}) is now LUN "
                         f"{moved.lun}, hosts {','.join(moved.hosts)}.")
            return views.mapping_view(change.state, moved)

    def unmap(self, target_id: int, lun: int) -> MappingView:
        """Raises InvalidArgument (LUN), NotFound (target, or the LUN is not mapped),
        BackendError."""
        rules.check_lun(lun)
        with self._parts.uow.change() as change:
            target = change.state.target(target_id)
            mapping = _mapped(change.state.mappings, target_id, lun)
            view = views.mapping_view(change.state, mapping)
            self._parts.backend.unmap_lun(target, mapping)
            change.delete(mapping)
            what = f"Snapshot {view.snapshot_name} of volume {view.volume_name}" \
                if view.snapshot_name else f"Volume {view.volume_name}"
            change.event(EventLevel.INFO, "LUN",
                         f"{what} unmapped from target {target_id} LUN {lun}.")
            return view

    # Targets (extensions)

    def data_portals(self) -> dict[int, tuple[str, ...]]:
        """Each controller's iSCSI portals (address:port), the array's data ports."""
        backend = self._parts.backend
        return {c: backend.portals(c) for c in range(1, backend.controller_count() + 1)}

    def fc_ports(self) -> dict[int, tuple[FcPort, ...]]:
        """Each controller's Fibre Channel ports (none without an FC host card)."""
        backend = self._parts.backend
        return {c: backend.fc_ports(c) for c in range(1, backend.controller_count() + 1)}

    def create_target(self, controller: int, node: int | None = None,
                      name: str | None = None,
                      portals: tuple[str, ...] | None = None,
                      kind: TargetType = TargetType.ISCSI) -> TargetView:
        """An iSCSI target of a controller, on the lowest free node unless one is given, on
        the controller's portals given (all of them for None); or an FC target on the
        controller's FC ports (kind FC: no portals, no IQN).

        Raises InvalidArgument (controller, node, name, portals), Conflict (the node is taken,
        or the controller has no free node), NotSupported (FC without FC ports),
        BackendError."""
        backend = self._parts.backend
        controllers = backend.controller_count()
        if not 1 <= controller <= controllers:
            raise InvalidArgument(f"Controller must be 1 to {controllers}, got {controller}.")
        if node is not None and not 0 <= node < rules.MAX_NODES_PER_CONTROLLER:
            raise InvalidArgument(
                f"Node must be 0 to {rules.MAX_NODES_PER_CONTROLLER - 1}, got {node}.")
        if name is not None:
            rules.check_name(name, "target")
        fc = kind is TargetType.FC
        if fc and not backend.fc_ports(controller):
            raise NotSupported(f"Controller {controller} has no Fibre Channel host card.")
        portals = () if fc else self._portals(controller, portals)
        with self._parts.uow.change() as change:
            used_nodes = {t.node for t in change.state.targets.values()
                          if t.controller == controller}
            if node is None:
                free = [n for n in range(rules.MAX_NODES_PER_CONTROLLER) if n not in used_nodes]
                if not free:
                    raise Conflict(f"Controller {controller} already has "
                                   f"{rules.MAX_NODES_PER_CONTROLLER} targets.",
                                   ErrorCode.TARGET_LIMIT)
                node = free[0]
            elif node in used_nodes:
                raise Conflict(f"Controller {controller} already has node {node}.",
                               ErrorCode.TARGET_IN_USE)
            target_id = change.new_id(TARGETS)
            target = Target(
                id=target_id, type=kind, controller=controller, node=node,
                iqn="" if fc else identity.iqn(backend.model_name(), backend.serial_number(),
                                               node, controller),
                name=name or f"dev{node}.ctr{controller}", portals=portals,
            )
            backend.create_target(target)
            change.put(target)
            change.event(EventLevel.INFO, "Target",
                         f"{_described(target)} created.")
        return TargetView(target, 0)

    def _portals(self, controller: int, portals: tuple[str, ...] | None) -> tuple[str, ...]:
        have = self._parts.backend.portals(controller)
        if portals is None:
            return have
        if not portals or not set(portals) <= set(have):
            raise InvalidArgument(f"Controller {controller}'s portals are {', '.join(have)}; "
                                  "give one or more of them.")
        return tuple(p for p in have if p in portals)

    def modify_target(self, target_id: int, name: str | None = None,
                      portals: tuple[str, ...] | None = None) -> TargetView:
        """Rename a target or move it to other portals of its controller.
        Raises InvalidArgument (name, portals), NotFound, BackendError."""
        if name is not None:
            rules.check_name(name, "target")
        with self._parts.uow.change() as change:
            target = change.state.target(target_id)
            updated = replace(target, name=target.name if name is None else name,
                              portals=target.portals if portals is None
                              else self._portals(target.controller, portals))
            self._parts.backend.create_target(updated)
            change.put(updated)
            change.event(EventLevel.INFO, "Target",
                         f"{_described(target)} modified: name {updated.name}, "
                         f"portals {','.join(updated.portals) or 'none'}.")
            luns = sum(1 for key in change.state.mappings if key[0] == target_id)
        return TargetView(updated, luns)

    def delete_target(self, target_id: int) -> TargetView:
        """Raises NotFound, Conflict (it has LUNs), BackendError."""
        with self._parts.uow.change() as change:
            target = change.state.target(target_id)
            luns = [m for m in change.state.mappings.values() if m.target_id == target_id]
            if luns:
                raise Conflict(f"Target {target_id} still has {len(luns)} LUNs; unmap them first.",
                               ErrorCode.TARGET_IN_USE)
            self._parts.backend.delete_target(target)
            change.delete(target)
            change.event(EventLevel.INFO, "Target",
                         f"{_described(target)} deleted.")
        return TargetView(target, 0)


def _named(target: Target) -> str:
    """A target as events name it: an iSCSI one with its IQN, an FC one by its type."""
    if target.type is TargetType.FC:
        return f"FC target {target.id}"
    return f"target {target.id} ({target.iqn})"


def _described(target: Target) -> str:
    return _named(target) if target.type is TargetType.FC else f"iSCSI {_named(target)}"


def _free_lun(mappings: dict[tuple[int, int], LunMapping], target_id: int) -> int:
    used = {lun for (target, lun) in mappings if target == target_id}
    free = [lun for lun in range(rules.MAX_LUN + 1) if lun not in used]
    if not free:
        raise Conflict(f"Target {target_id} has no free LUN.", ErrorCode.LUN_LIMIT)
    return free[0]


def _mapped(mappings: dict[tuple[int, int], LunMapping], target_id: int,
            lun: int) -> LunMapping:
    try:
        return mappings[(target_id, lun)]
    except KeyError:
        raise NotFound(f"LUN {lun} of target {target_id} is not mapped.",
                       ErrorCode.LUN_NOT_MAPPED) from None
