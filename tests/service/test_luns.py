"""Targets and LUN mappings (service/luns.py)."""

from __future__ import annotations

from opensan.domain.errors import Conflict, ErrorCode, InvalidArgument, NotFound
from opensan.domain.models import Permission, TargetType
from opensan.domain.rules import MAX_HOSTS_PER_MAPPING, MAX_LUN, MAX_NODES_PER_CONTROLLER

from .helpers import (
    INFO,
    IQN,
    fail_pool,
    refused,
    snapshot_named,
    volume_named,
)

UNKNOWN_ID = 1_234_567_890


def volume_id(service, name="vol-backup"):
    return volume_named(service, name).volume.id


def iqn_of(service, target_id):
    return service.state.targets[target_id].iqn


# Reads

def test_a_new_array_has_one_target_per_controller_with_vol_db_as_lun_0(service):
    targets = service.luns.targets()
    serial = service.system.info().hardware.serial_number
    token = "".join(f"{ord(c):02x}" for c in serial)[-9:]  # QSAN's form: 9 hex digits
    assert [(t.target.id, t.target.controller, t.target.node, t.lun_count) for t in targets] == \
        [(0, 1, 0, 1), (1, 2, 0, 1)]
    for view in targets:
        target = view.target
        assert target.type is TargetType.ISCSI
        assert target.iqn == f"iqn.2004-08.com.qsan:xs5226-{token}:dev0.ctr{target.controller}"
    assert [(m.mapping.target_id, m.mapping.lun, m.volume_name) for m in service.luns.mappings()] \
        == [(0, 0, "vol-db"), (1, 0, "vol-db")]


def test_of_target_gives_its_luns_and_its_free_lun_numbers(service):
    target, luns, free = service.luns.of_target(0)
    assert target == service.state.targets[0]
    assert [(m.mapping.lun, m.volume_name) for m in luns] == [(0, "vol-db")]
    assert free == list(range(1, MAX_LUN + 1))


def test_of_target_refuses_an_unknown_target(service):
    with refused(service, NotFound, ErrorCode.TARGET_NOT_FOUND):
        service.luns.of_target(99)


# Map a volume

def test_map_volume_exports_it_and_writes_one_event(service, events):
    version = service.version
    view = service.luns.map_volume(0, 1, volume_id(service))
    mapping = view.mapping
    assert (mapping.target_id, mapping.lun, mapping.volume_id, mapping.permission, mapping.hosts,
            mapping.snapshot_id) == (0, 1, volume_id(service), Permission.READ_WRITE, ("*",), None)
    assert (view.volume_name, view.snapshot_name) == ("vol-backup", None)
    assert service.state.mappings[(0, 1)] == mapping
    assert volume_named(service, "vol-backup").mapped
    assert service.luns.targets()[0].lun_count == 2
    assert service.version == version + 1
    assert events.new() == [(INFO, "LUN", f"Volume vol-backup mapped to target 0 "
                                          f"({iqn_of(service, 0)}) as LUN 1, Read-write, hosts *.")]


def test_map_volume_read_only_to_initiators_by_name(service):
    hosts = (IQN, "eui.0123456789ABCDEF", "naa.60014055f1c2a3b4", "naa." + "0123456789abcdef" * 2)
    mapping = service.luns.map_volume(0, 1, volume_id(service), Permission.READ_ONLY,
                                      hosts).mapping
    assert (mapping.permission, mapping.hosts) == (Permission.READ_ONLY, hosts)


def test_map_volume_keeps_each_host_once(service):
    mapping = service.luns.map_volume(0, 1, volume_id(service), hosts=(IQN, IQN))
    assert mapping.mapping.hosts == (IQN,)
    assert service.luns.map_volume(1, 1, volume_id(service), hosts=("*", "*")).mapping.hosts == \
        ("*",)


def test_map_volume_luns_are_0_to_254(service):
    for lun in (-1, MAX_LUN + 1):
        with refused(service, InvalidArgument, case=lun):
            service.luns.map_volume(0, lun, volume_id(service))
    assert service.luns.map_volume(0, MAX_LUN, volume_id(service)).mapping.lun == MAX_LUN


def test_map_volume_refuses_a_lun_taken(service):
    with refused(service, Conflict, ErrorCode.LUN_IN_USE):
        service.luns.map_volume(0, 0, volume_id(service))


def test_map_volume_refuses_a_volume_mapped_on_that_target_already(service):
    with refused(service, Conflict, ErrorCode.VOLUME_ALREADY_MAPPED):
        service.luns.map_volume(0, 1, volume_id(service, "vol-db"))


def test_a_volume_may_be_mapped_on_several_targets(service):
    service.luns.map_volume(0, 1, volume_id(service))
    assert service.luns.map_volume(1, 7, volume_id(service)).mapping.target_id == 1


def test_map_volume_needs_1_to_64_hosts(service):
    for hosts in ((), tuple(f"{IQN}-{n}" for n in range(MAX_HOSTS_PER_MAPPING + 1))):
        with refused(service, InvalidArgument, case=len(hosts)):
            service.luns.map_volume(0, 1, volume_id(service), hosts=hosts)
    most = tuple(f"{IQN}-{n}" for n in range(MAX_HOSTS_PER_MAPPING))
    assert service.luns.map_volume(0, 1, volume_id(service), hosts=most).mapping.hosts == most


def test_map_volume_hosts_are_iqn_eui_or_naa_names_or_a_star(service):
    bad = ["host1", "", "iqn.bad", "IQN.1994-05.com.redhat:host1", "iqn.1994-5.com.redhat",
           "eui.0123", "eui.0123456789abcdeg", "naa.12345", "naa." + "0" * 20, "**", "10.0.0.1"]
    for host in bad:
        with refused(service, InvalidArgument, case=host):
            service.luns.map_volume(0, 1, volume_id(service), hosts=(host,))


def test_map_volume_refuses_a_star_combined_with_names(service):
    with refused(service, InvalidArgument):
        service.luns.map_volume(0, 1, volume_id(service), hosts=("*", IQN))


def test_map_volume_refuses_an_unknown_target_or_volume(service):
    with refused(service, NotFound, ErrorCode.TARGET_NOT_FOUND):
        service.luns.map_volume(99, 1, volume_id(service))
    with refused(service, NotFound, ErrorCode.VOLUME_NOT_FOUND):
        service.luns.map_volume(0, 1, UNKNOWN_ID)


def test_map_volume_in_a_failed_pool_is_refused(service):
    fail_pool(service)
    with refused(service, Conflict, ErrorCode.VOLUME_NOT_READY):
        service.luns.map_volume(0, 1, volume_id(service))


# Map a snapshot

def test_map_snapshot_exports_it_read_only_without_mapping_the_volume(service, events):
    service.luns.unmap(0, 0)
    service.luns.unmap(1, 0)
    daily_1 = snapshot_named(service, "vol-db", "daily-1")
    events.mark()
    view = service.luns.map_snapshot(0, 3, daily_1.id, hosts=(IQN,))
    assert (view.mapping.permission, view.mapping.snapshot_id, view.mapping.hosts) == \
        (Permission.READ_ONLY, daily_1.id, (IQN,))
    assert (view.volume_name, view.snapshot_name) == ("vol-db", "daily-1")
    assert not volume_named(service, "vol-db").mapped
    assert events.new() == [(INFO, "LUN", f"Snapshot daily-1 of volume vol-db mapped to target 0 "
                                          f"({iqn_of(service, 0)}) as LUN 3, Read-only, "
                                          f"hosts {IQN}.")]


def test_a_volume_and_its_snapshot_may_share_a_target_but_a_snapshot_is_mapped_there_once(
        service):
    daily_1 = snapshot_named(service, "vol-db", "daily-1").id
    service.luns.map_snapshot(0, 1, daily_1)  # vol-db itself is LUN 0 of target 0
    with refused(service, Conflict, ErrorCode.VOLUME_ALREADY_MAPPED):
        service.luns.map_snapshot(0, 2, daily_1)
    assert service.luns.map_snapshot(0, 2, snapshot_named(service, "vol-db", "daily-2").id)


def test_map_snapshot_refuses_an_unknown_snapshot_and_what_map_volume_refuses(service):
    daily_1 = snapshot_named(service, "vol-db", "daily-1").id
    with refused(service, NotFound, ErrorCode.SNAPSHOT_NOT_FOUND):
        service.luns.map_snapshot(0, 1, UNKNOWN_ID)
    with refused(service, Conflict, ErrorCode.LUN_IN_USE):
        service.luns.map_snapshot(0, 0, daily_1)
    with refused(service, InvalidArgument):
        service.luns.map_snapshot(0, MAX_LUN + 1, daily_1)


# Unmap

def test_unmap_ends_the_export_and_writes_one_event(service, events):
    view = service.luns.unmap(0, 0)
    assert (view.mapping.target_id, view.mapping.lun, view.volume_name) == (0, 0, "vol-db")
    assert (0, 0) not in service.state.mappings
    assert volume_named(service, "vol-db").mapped  # still LUN 0 of target 1
    assert events.new() == [(INFO, "LUN", "Volume vol-db unmapped from target 0 LUN 0.")]


def test_unmap_a_snapshot_names_it_in_the_event(service, events):
    service.luns.map_snapshot(0, 1, snapshot_named(service, "vol-db", "daily-1").id)
    events.mark()
    assert service.luns.unmap(0, 1).snapshot_name == "daily-1"
    assert events.new() == [(INFO, "LUN", "Snapshot daily-1 of volume vol-db unmapped from "
                                          "target 0 LUN 1.")]


def test_unmap_refuses_a_lun_that_is_not_mapped(service):
    with refused(service, NotFound, ErrorCode.LUN_NOT_MAPPED):
        service.luns.unmap(0, 1)


def test_unmap_refuses_an_unknown_target_or_a_lun_out_of_range(service):
    with refused(service, NotFound, ErrorCode.TARGET_NOT_FOUND):
        service.luns.unmap(99, 0)
    with refused(service, InvalidArgument):
        service.luns.unmap(0, MAX_LUN + 1)


# Targets

def test_create_target_takes_the_lowest_free_node_and_id_and_writes_one_event(service, events):
    view = service.luns.create_target(1)
    target = view.target
    assert (view.lun_count, target.id, target.controller, target.node, target.name) == \
        (0, 2, 1, 1, "dev1.ctr1")
    assert target.iqn == iqn_of(service, 0).replace(":dev0.ctr1", ":dev1.ctr1")
    assert target.portals == service.state.targets[0].portals
    assert events.new() == [(INFO, "Target", f"iSCSI target 2 ({target.iqn}) created.")]


def test_create_target_on_a_node_and_with_a_name_given(service):
    target = service.luns.create_target(2, node=MAX_NODES_PER_CONTROLLER - 1, name="backup").target
    assert (target.controller, target.node, target.name) == (2, 31, "backup")
    assert target.iqn.endswith(":dev31.ctr2")


def test_create_target_controllers_are_1_and_2_and_nodes_0_to_31(service):
    for controller, node in ((0, None), (3, None), (1, -1), (1, MAX_NODES_PER_CONTROLLER)):
        with refused(service, InvalidArgument, case=(controller, node)):
            service.luns.create_target(controller, node)


def test_create_target_refuses_names_that_break_the_name_rule(service):
    for name in ["", "t" * 33, "-t", "my target"]:
        with refused(service, InvalidArgument, case=name):
            service.luns.create_target(1, name=name)


def test_create_target_refuses_a_node_the_controller_has_but_not_one_the_other_has(service):
    service.luns.create_target(1, node=5)
    with refused(service, Conflict, ErrorCode.TARGET_IN_USE):
        service.luns.create_target(1, node=5)
    assert service.luns.create_target(2, node=5).target.node == 5


def test_a_controller_has_at_most_32_targets(service):
    for _ in range(MAX_NODES_PER_CONTROLLER - 1):
        service.luns.create_target(1)
    nodes = sorted(t.node for t in service.state.targets.values() if t.controller == 1)
    assert nodes == list(range(MAX_NODES_PER_CONTROLLER))
    with refused(service, Conflict, ErrorCode.TARGET_LIMIT):
        service.luns.create_target(1)


def test_delete_target_without_luns_writes_one_event_and_frees_its_id(service, events):
    target = service.luns.create_target(1).target
    events.mark()
    assert service.luns.delete_target(target.id).target == target
    assert target.id not in service.state.targets
    assert events.new() == [(INFO, "Target", f"iSCSI target {target.id} ({target.iqn}) deleted.")]
    service.luns.unmap(0, 0)
    service.luns.delete_target(0)
    assert service.luns.create_target(1).target.id == 0


def test_a_target_with_luns_cannot_be_deleted(service):
    with refused(service, Conflict, ErrorCode.TARGET_IN_USE):
        service.luns.delete_target(0)


def test_delete_target_refuses_an_unknown_target(service):
    with refused(service, NotFound, ErrorCode.TARGET_NOT_FOUND):
        service.luns.delete_target(99)


# XEVO's LUN operations: automatic numbers, renumbering that keeps the ID, target placement

def test_a_mapping_without_a_number_takes_the_lowest_free_and_has_its_own_id(service):
    volume = volume_named(service, "vol-backup").volume
    view = service.luns.map_volume(0, None, volume.id)
    used = {lun for (target, lun) in service.state.mappings if target == 0} - {view.mapping.lun}
    assert view.mapping.lun == min(set(range(MAX_LUN + 1)) - used)
    assert view.mapping.id is not None and view.mapping.mapping_id == view.mapping.id


def test_remap_renumbers_and_keeps_the_id_in_one_change(service):
    volume = volume_named(service, "vol-backup").volume
    mapped = service.luns.map_volume(0, 7, volume.id).mapping
    version = service.version
    moved = service.luns.remap(0, 7, 9, ("iqn.1994-05.com.redhat:host1",)).mapping
    assert (moved.lun, moved.id, moved.hosts) == (9, mapped.id, ("iqn.1994-05.com.redhat:host1",))
    assert (0, 7) not in service.state.mappings and service.state.mappings[(0, 9)] == moved
    assert service.version == version + 1
    with refused(service, Conflict, ErrorCode.LUN_IN_USE):
        service.luns.remap(0, 9, next(lun for (t, lun) in service.state.mappings
                                      if t == 0 and lun != 9))
    with refused(service, NotFound, ErrorCode.LUN_NOT_MAPPED):
        service.luns.remap(0, 200, 201)


def test_a_target_on_some_of_its_controllers_portals(service):
    portals = service.luns.data_portals()
    assert set(portals) == {1, 2} and all(portals.values())
    view = service.luns.create_target(2, name="few", portals=portals[2][:1])
    assert view.target.portals == portals[2][:1]
    with refused(service, InvalidArgument):
        service.luns.create_target(1, portals=portals[2][:1])
    moved = service.luns.modify_target(view.target.id, name="moved", portals=portals[2][1:])
    assert (moved.target.name, moved.target.portals) == ("moved", portals[2][1:])
