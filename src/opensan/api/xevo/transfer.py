"""XEVO's targets, LUNs and data ports: /rest/v2/dataTransfer/... and /rest/v2/network/ethernet.

An XEVO target is a SANOS target: one controller's iSCSI node, or (type FCP) one controller's
node on its Fibre Channel ports, named by the controller's FC node name (fcp[].wwn). An iSCSI
target's `eths` are the NIC IDs of the array's data ports it listens on,
c<controller - 1>e<port>, as QSAN names them; the ethernet list gives each one's address (the
target's portals). A LUN's ID is its mapping's own ID, kept when it is renumbered; its name
is the LUN number. Snapshot LUNs (SANOS's mapsnapshot) are not XEVO's, so XEVO's LUN lists
leave them out.
"""

from __future__ import annotations

from fastapi.concurrency import run_in_threadpool

from opensan.api.endpoint import Access, Api, Call, Endpoint, Kind, Param
from opensan.api.xevo.request import BODY, object_id
from opensan.api.xevo.storage import NO_VOLUME, missing
from opensan.api.xevo.wire import (
    EMPTY,
    FC_PORT_LIST,
    LUN_LIST,
    NIC_LIST,
    TARGET_LIST,
    ErrCounterOut,
    FcPortOut,
    FcpOut,
    Ipv4Out,
    IscsiIn,
    IscsiOut,
    LunMapIn,
    LunModifyIn,
    LunOut,
    NicOut,
    TargetCreateIn,
    TargetModifyIn,
    TargetOut,
)
from opensan.domain import rules
from opensan.domain.errors import ErrorCode, InvalidArgument, NotSupported
from opensan.domain.models import LunMapping, Target, TargetType

TARGET_ID = Param("targetId", Kind.TEXT, "Target ID")
LUN_ID = Param("lunId", Kind.TEXT, "LUN ID (not its number)")
NO_TARGET = missing("Target", ErrorCode.TARGET_NOT_FOUND)
NO_LUN = missing("LUN", ErrorCode.LUN_NOT_MAPPED)


def nic_id(controller: int, port: int) -> str:
    return f"c{controller - 1}e{port}"


def _nics(call: Call) -> dict[str, tuple[int, str]]:
    """NIC ID -> (controller, portal), in controller and port order."""
    return {nic_id(controller, port): (controller, portal)
            for controller, portals in call.service.luns.data_portals().items()
            for port, portal in enumerate(portals, start=1)}


def _host(portal: str) -> str:
    return portal.rsplit(":", 1)[0].strip("[]")


async def list_ethernet(call: Call) -> bytes:
    # OpenSAN knows each data port's address, nothing of its link: MAC, MTU and speed are 0/"".
    return NIC_LIST.dump_json([
        NicOut(id=nic, interface=nic, online=True, is_management_port=False, is_data_port=True,
               mac_addr="", mtu=0, speed=0,
               ipv4=Ipv4Out(protocol="STATIC", ip=_host(portal), submask="", gateway="",
                            is_default_gateway=False))
        for nic, (_controller, portal) in _nics(call).items()], by_alias=True)


# QSAN's words for an FC target: "FCP" (the SAN models', goqsan's) and "FC" (the NAS models').
FC_TYPES = ("FCP", "FC")
FC_TOPOLOGY = "POINT_TO_POINT"
NO_FC = "This array has no Fibre Channel host card (its targets are iSCSI)."


def fc_port_id(controller: int, port: int) -> str:
    return f"c{controller - 1}f{port}"


async def list_fc_ports(call: Call) -> bytes:
    ports = [port for ports in call.service.luns.fc_ports().values() for port in ports]
    if not ports:
        raise NotSupported(NO_FC)
    # The virtual array's links are up at the card's speed and see no errors.
    return FC_PORT_LIST.dump_json([
        FcPortOut(id=fc_port_id(p.controller, p.port), link_speed=p.speed_gbps,
                  support_speed=list(p.supported_speeds_gbps), topology=FC_TOPOLOGY,
                  wwnn=p.wwnn, wwpn=p.wwpn,
                  err_counter=ErrCounterOut(signal_loss=0, sync_loss=0, link_failure=0,
                                            invalid_crc=0))
        for p in ports], by_alias=True)


def target_out(call: Call, target: Target) -> TargetOut:
    if target.type is TargetType.FC:
        ports = call.service.luns.fc_ports().get(target.controller, ())
        return TargetOut(id=str(target.id), name=target.name, type=FC_TYPES[0],
                         fcp=[FcpOut(wwn=wwnn) for wwnn in dict.fromkeys(p.wwnn for p in ports)],
                         iscsi=[])
    nics = _nics(call)
    eths = [nic for nic, (controller, portal) in nics.items()
            if controller == target.controller and portal in target.portals]
    return TargetOut(id=str(target.id), name=target.name, type=target.type.value, fcp=[],
                     iscsi=[IscsiOut(iqn=target.iqn, name=str(target.node), alias=target.name,
                                     eths=eths)])


def _target(call: Call) -> Target:
    target = call.service.state.targets.get(object_id(call.params["targetId"], NO_TARGET))
    if target is None:
        raise NO_TARGET(call.params["targetId"])
    return target


def _placement(call: Call, iscsi: list[IscsiIn] | None,
               controller: int | None = None) -> tuple[int, int | None, tuple[str, ...] | None]:
    """The controller, node and portals an iscsi list names: one entry, whose NICs are of one
    controller (a target of OpenSAN's is one controller's)."""
    if not iscsi:
        return controller or 1, None, None
    if len(iscsi) > 1:
        raise InvalidArgument("A target is one controller's: give one iscsi entry.")
    entry = iscsi[0]
    node = None
    if entry.name:
        if not entry.name.isdigit() or int(entry.name) >= rules.MAX_NODES_PER_CONTROLLER:
            raise InvalidArgument(f"An iscsi entry's name is its node, 0 to "
                                  f"{rules.MAX_NODES_PER_CONTROLLER - 1}.")
        node = int(entry.name)
    if not entry.eths:
        return controller or 1, node, None
    nics = _nics(call)
    unknown = [eth for eth in entry.eths if eth not in nics]
    if unknown:
        raise InvalidArgument(f"No data port {unknown[0][:20]!r}; the array has "
                              f"{', '.join(nics)}.")
    controllers = {nics[eth][0] for eth in entry.eths}
    if len(controllers) > 1 or (controller is not None and controllers != {controller}):
        raise InvalidArgument("A target's data ports are of its one controller.")
    return controllers.pop(), node, tuple(nics[eth][1] for eth in entry.eths)


async def list_targets(call: Call) -> bytes:
    return TARGET_LIST.dump_json([target_out(call, view.target)
                                  for view in call.service.luns.targets()], by_alias=True)


async def get_target(call: Call) -> TargetOut:
    return target_out(call, _target(call))


def _fc_controller(call: Call) -> int:
    """Where an FC target goes: the first controller with FC ports (QSAN's FC create names
    none)."""
    with_fc = [c for c, ports in call.service.luns.fc_ports().items() if ports]
    if not with_fc:
        raise NotSupported(NO_FC)
    return with_fc[0]


async def create_target(call: Call) -> TargetOut:
    body = call.params[BODY]
    assert isinstance(body, TargetCreateIn)
    if body.type in FC_TYPES:
        if body.iscsi:
            raise InvalidArgument("An FC target has no iscsi entries.")
        view = await run_in_threadpool(call.service.luns.create_target, _fc_controller(call),
                                       None, body.name, None, TargetType.FC)
        return target_out(call, view.target)
    controller, node, portals = _placement(call, body.iscsi)
    view = await run_in_threadpool(call.service.luns.create_target, controller, node,
                                   body.name, portals)
    return target_out(call, view.target)


async def modify_target(call: Call) -> TargetOut:
    body = call.params[BODY]
    assert isinstance(body, TargetModifyIn)
    target = _target(call)
    fc = target.type is TargetType.FC
    if body.type is not None and (body.type in FC_TYPES) != fc:
        raise InvalidArgument(f"Target {target.id} is {target.type.value}; its type stays.")
    if fc and body.iscsi:
        raise InvalidArgument(f"Target {target.id} is FC: it has no iscsi entries.")
    _controller, node, portals = _placement(call, body.iscsi, target.controller)
    if node is not None and node != target.node:
        raise InvalidArgument(f"Target {target.id} is node {target.node}; its node stays.")
    view = await run_in_threadpool(call.service.luns.modify_target, target.id, body.name,
                                   portals)
    return target_out(call, view.target)


async def delete_target(call: Call) -> bytes:
    await run_in_threadpool(call.service.luns.delete_target, _target(call).id)
    return EMPTY


# LUNs

def _luns(call: Call, target: Target) -> list[LunMapping]:
    _, views, _ = call.service.luns.of_target(target.id)
    return [view.mapping for view in views if view.mapping.snapshot_id is None]


def _lun(call: Call, target: Target) -> LunMapping:
    text = call.params["lunId"]
    found = next((m for m in _luns(call, target) if str(m.mapping_id) == text), None)
    if found is None:
        raise NO_LUN(text)
    return found


def _lun_number(text: str | None) -> int | None:
    if text is None or text == "":
        return None
    if not text.isdigit() or int(text) > rules.MAX_LUN:
        raise InvalidArgument(f"A LUN's name is its number, 0 to {rules.MAX_LUN}, got "
                              f"{text[:20]!r}.")
    return int(text)


async def map_lun(call: Call) -> LunOut:
    body = call.params[BODY]
    assert isinstance(body, LunMapIn)
    target = _target(call)
    volume = object_id(body.volume_id, NO_VOLUME)
    view = await run_in_threadpool(
        call.service.luns.map_volume, target.id, _lun_number(body.name), volume,
        hosts=tuple(host.name for host in body.hosts))
    return LunOut.from_domain(view.mapping)


async def list_luns(call: Call) -> bytes:
    return LUN_LIST.dump_json([LunOut.from_domain(m) for m in _luns(call, _target(call))],
                              by_alias=True)


async def get_lun(call: Call) -> LunOut:
    return LunOut.from_domain(_lun(call, _target(call)))


async def modify_lun(call: Call) -> LunOut:
    body = call.params[BODY]
    assert isinstance(body, LunModifyIn)
    target = _target(call)
    mapping = _lun(call, target)
    view = await run_in_threadpool(
        call.service.luns.remap, target.id, mapping.lun, _lun_number(body.name),
        None if body.hosts is None else tuple(host.name for host in body.hosts))
    return LunOut.from_domain(view.mapping)


async def unmap_lun(call: Call) -> bytes:
    target = _target(call)
    await run_in_threadpool(call.service.luns.unmap, target.id, _lun(call, target).lun)
    return EMPTY


TARGETS = "/rest/v2/dataTransfer/targets"
TARGET = TARGETS + "/{targetId}"
LUNS = TARGET + "/luns"
ENDPOINTS = [
    Endpoint("GET", "/rest/v2/network/ethernet",
             "List the data ports (the NIC IDs targets' eths name) with their addresses.",
             list_ethernet, api=Api.XEVO),
    Endpoint("GET", "/rest/v2/dataTransfer/protocol/fibreChannel",
             "List the Fibre Channel ports (a model without an FC host card answers 501).",
             list_fc_ports, api=Api.XEVO),
    Endpoint("GET", TARGETS, "List the targets.", list_targets, api=Api.XEVO),
    Endpoint("POST", TARGETS,
             "Create an iSCSI target on one controller's data ports (iscsi[0].eths), or an "
             "FC target (type FCP) on the first controller's FC ports.",
             create_target, access=Access.ADMIN, api=Api.XEVO, body=TargetCreateIn),
    Endpoint("GET", TARGET, "Show a target.", get_target, params=(TARGET_ID,), api=Api.XEVO),
    Endpoint("PATCH", TARGET, "Rename a target or move it to other data ports.", modify_target,
             params=(TARGET_ID,), access=Access.ADMIN, api=Api.XEVO, body=TargetModifyIn),
    Endpoint("DELETE", TARGET, "Delete a target without LUNs.", delete_target,
             params=(TARGET_ID,), access=Access.ADMIN, api=Api.XEVO),
    Endpoint("POST", LUNS,
             "Map a volume as a LUN (name: its number; without one, the lowest free).",
             map_lun, params=(TARGET_ID,), access=Access.ADMIN, api=Api.XEVO, body=LunMapIn),
    Endpoint("GET", LUNS + "/", "List a target's LUNs.", list_luns, params=(TARGET_ID,),
             api=Api.XEVO, aliases=(LUNS,)),
    Endpoint("GET", LUNS + "/{lunId}", "Show a LUN.", get_lun, params=(TARGET_ID, LUN_ID),
             api=Api.XEVO),
    Endpoint("PATCH", LUNS + "/{lunId}",
             "Renumber a LUN (name) or give it other hosts; it keeps its ID.", modify_lun,
             params=(TARGET_ID, LUN_ID), access=Access.ADMIN, api=Api.XEVO, body=LunModifyIn),
    Endpoint("DELETE", LUNS + "/{lunId}", "Unmap a LUN.", unmap_lun,
             params=(TARGET_ID, LUN_ID), access=Access.ADMIN, api=Api.XEVO),
]
