"""XEVO's targets, LUNs and data ports: the same targets and mappings as SANOS's, a LUN's ID
kept when it is renumbered, the NIC IDs targets name, QSAN's codes for refusals."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import Api
from xevo_support import TARGETS, VOLUMES, events, profiled_array, qsan_error, whole_state

ALL = [{"name": "*"}]


def plain_volume(api: Api) -> str:
    return str(next(v["id"] for v in api.ok("GET", VOLUMES) if not v["targetId"]))


def new_target(api: Api, **extra: Any) -> dict[str, Any]:
    body = {"name": "kyle_test_groupCSCSI", "type": "iSCSI", **extra}
    return dict(api.ok("POST", TARGETS, content=json.dumps(body)))


def test_the_ethernet_list_names_the_portals_targets_use(admin: Api) -> None:
    nics = admin.ok("GET", "/rest/v2/network/ethernet")
    assert nics and all(
        {k: type(v) for k, v in nic.items()} == {
            "id": str, "interface": str, "online": bool, "isManagementPort": bool,
            "isDataPort": bool, "macAddr": str, "mtu": int, "speed": int, "ipv4": dict}
        for nic in nics)
    by_id = {nic["id"]: nic for nic in nics}
    sanos = {t["id"]: t for t in admin.ok("GET", "/rest/storage/availtarget")}
    for target in admin.ok("GET", TARGETS):
        mine = sanos[int(target["id"])]
        (iscsi,) = target["iscsi"]
        assert iscsi["iqn"] == mine["iqn"] and iscsi["name"] == str(mine["node"])
        assert target["type"] == "iSCSI" and target["name"] == mine["name"]
        assert all(eth.startswith(f"c{mine['controller'] - 1}e") for eth in iscsi["eths"])
        addresses = sorted(by_id[eth]["ipv4"]["ip"] for eth in iscsi["eths"])
        assert addresses == sorted(p.rsplit(":", 1)[0] for p in mine["portals"])


def test_create_a_target_on_some_ports_and_sanos_sees_it(admin: Api) -> None:
    nics = [n for n in admin.ok("GET", "/rest/v2/network/ethernet") if n["id"].startswith("c0")]
    made = new_target(admin, iscsi=[{"eths": [nics[0]["id"]]}])
    assert made["iscsi"][0]["eths"] == [nics[0]["id"]]
    assert admin.ok("GET", f"{TARGETS}/{made['id']}") == made
    sanos = {t["id"]: t for t in admin.ok("GET", "/rest/storage/availtarget")}[int(made["id"])]
    assert (sanos["name"], sanos["controller"]) == ("kyle_test_groupCSCSI", 1)
    assert [p.rsplit(":", 1)[0] for p in sanos["portals"]] == [nics[0]["ipv4"]["ip"]]
    assert "iSCSI target" in events(admin)[0]
    renamed = admin.ok("PATCH", f"{TARGETS}/{made['id']}",
                       content=json.dumps({"name": "renamed", "iscsi": [{"eths": [nics[-1]["id"]]}]}))
    assert renamed["name"] == "renamed" and renamed["iscsi"][0]["eths"] == [nics[-1]["id"]]
    assert admin.request("DELETE", f"{TARGETS}/{made['id']}").json() == []
    qsan_error(admin.get(f"{TARGETS}/{made['id']}"), 404, 10600)


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"name": "t", "type": "iSCSI", "iscsi": [{"eths": ["c9e9"]}]}, 400, 12003),
    ({"name": "t", "type": "iSCSI", "iscsi": [{"eths": ["c0e1"]}, {"eths": ["c0e2"]}]}, 400, 12003),
    ({"name": "t", "type": "iSCSI", "iscsi": [{"name": "99"}]}, 400, 12003),
    ({"name": "t", "type": "NVMe"}, 400, 12003),
    ({"name": "bad name", "type": "iSCSI"}, 400, 12003),
    ({"name": "t", "type": "FCP", "iscsi": [{"eths": ["c0e1"]}]}, 400, 12003),
])
def test_bad_targets_are_refused(admin: Api, body: dict[str, Any], status: int, code: int) -> None:
    before = whole_state(admin)
    qsan_error(admin.post(TARGETS, content=json.dumps(body)), status, code)
    assert whole_state(admin) == before


def test_a_target_with_luns_is_not_deleted(admin: Api) -> None:
    busy = next(t for t in admin.ok("GET", TARGETS)
                if admin.ok("GET", f"{TARGETS}/{t['id']}/luns/"))
    before = whole_state(admin)
    qsan_error(admin.request("DELETE", f"{TARGETS}/{busy['id']}"), 409, 10601)
    assert whole_state(admin) == before


def test_map_renumber_and_unmap_a_lun_seen_through_sanos(admin: Api) -> None:
    target = new_target(admin)
    vid = plain_volume(admin)
    luns = f"{TARGETS}/{target['id']}/luns"
    lun = admin.ok("POST", luns, content=json.dumps({"name": "10", "volumeId": vid, "hosts": ALL}))
    assert {k: type(v) for k, v in lun.items()} == {"id": str, "name": str, "volumeId": str,
                                                     "hosts": list}
    assert (lun["name"], lun["volumeId"], lun["hosts"]) == ("10", vid, [{"name": "*",
                                                                         "rule": "READ_WRITE"}])
    volume = admin.ok("GET", f"{VOLUMES}/{vid}")
    assert (volume["targetId"], volume["lunId"]) == (target["id"], lun["id"])
    sanos = admin.ok("GET", f"/storage/availlun/targetid/{target['id']}")["luns"]
    assert [(m["lun"], m["volumeId"]) for m in sanos] == [(10, int(vid))]
    assert admin.ok("GET", f"{luns}/{lun['id']}") == lun
    moved = admin.ok("PATCH", f"{luns}/{lun['id']}", content=json.dumps({"name": "5", "hosts": ALL}))
    assert (moved["id"], moved["name"]) == (lun["id"], "5")
    assert admin.ok("GET", f"{luns}/") == [moved] == admin.ok("GET", luns)
    assert [m["lun"] for m in admin.ok("GET", f"/storage/availlun/targetid/{target['id']}")["luns"]] == [5]
    assert "is now LUN 5" in events(admin)[0]
    host = "iqn.1994-05.com.redhat:host1"
    hosted = admin.ok("PATCH", f"{luns}/{lun['id']}", content=json.dumps({"hosts": [{"name": host}]}))
    assert hosted["hosts"] == [{"name": host, "rule": "READ_WRITE"}] and hosted["name"] == "5"
    assert admin.request("DELETE", f"{luns}/{lun['id']}").json() == []
    assert admin.ok("GET", f"{VOLUMES}/{vid}")["targetId"] == ""
    assert admin.ok("GET", f"/storage/availlun/targetid/{target['id']}")["luns"] == []


def test_without_a_number_the_lowest_free_lun(admin: Api) -> None:
    target = new_target(admin)
    luns = f"{TARGETS}/{target['id']}/luns"
    admin.ok("POST", luns, content=json.dumps({"name": "0", "volumeId": plain_volume(admin),
                                               "hosts": ALL}))
    other = admin.ok("POST", f"/rest/storage/createvolume/poolid/"
                     f"{admin.ok('GET', '/rest/v2/storage/pools')[0]['id']}/name/v2/sizegb/1")
    picked = admin.ok("POST", luns, content=json.dumps({"volumeId": str(other["id"]),
                                                        "hosts": ALL}))
    assert picked["name"] == "1"
    before = whole_state(admin)
    qsan_error(admin.request("PATCH", f"{luns}/{picked['id']}", content=b'{"name": "0"}'),
               409, 10700)
    assert whole_state(admin) == before


def test_a_sanos_mapping_is_an_xevo_lun(admin: Api) -> None:
    sanos = admin.ok("GET", "/rest/storage/lunmappinginfo")[0]
    xevo = admin.ok("GET", f"{TARGETS}/{sanos['targetId']}/luns/")
    assert [(int(lun["name"]), int(lun["volumeId"])) for lun in xevo] == [
        (m["lun"], m["volumeId"]) for m in admin.ok("GET", "/rest/storage/lunmappinginfo")
        if m["targetId"] == sanos["targetId"] and m["snapshotId"] is None]


def test_lun_refusals(admin: Api) -> None:
    target = next(t for t in admin.ok("GET", TARGETS)
                  if admin.ok("GET", f"{TARGETS}/{t['id']}/luns/"))
    luns = f"{TARGETS}/{target['id']}/luns"
    mapped = admin.ok("GET", f"{luns}/")[0]
    before = whole_state(admin)
    cases = [
        ("POST", luns, {"volumeId": mapped["volumeId"], "hosts": ALL}, 400, 11301),
        ("POST", luns, {"name": mapped["name"], "volumeId": plain_volume(admin), "hosts": ALL},
         409, 10700),
        ("POST", luns, {"volumeId": "11111111", "hosts": ALL}, 400, 10300),
        ("POST", luns, {"volumeId": plain_volume(admin), "hosts": []}, 400, 12003),
        ("POST", luns, {"name": "255", "volumeId": plain_volume(admin), "hosts": ALL}, 400, 12003),
        ("POST", luns, {"volumeId": plain_volume(admin), "hosts": [{"name": "not an iqn"}]},
         400, 12003),
        ("POST", f"{TARGETS}/99/luns", {"volumeId": plain_volume(admin), "hosts": ALL}, 404, 10600),
        ("PATCH", f"{luns}/11111111", {"name": "3"}, 404, 10701),
        ("DELETE", f"{luns}/11111111", None, 404, 10701),
        ("GET", f"{luns}/11111111", None, 404, 10701),
    ]
    for method, path, body, status, code in cases:
        content = json.dumps(body) if body is not None else None
        qsan_error(admin.request(method, path, content=content), status, code)
    assert whole_state(admin) == before


# Fibre Channel

FC_PORTS = "/rest/v2/dataTransfer/protocol/fibreChannel"


@pytest.mark.simulated("FC ports are the virtual array's host cards (the default profile's)")
def test_the_fc_ports_are_the_host_cards(admin: Api) -> None:
    ports = admin.ok("GET", FC_PORTS)
    controllers = admin.ok("GET", "/rest/dashboard/systeminfo")["controllers"]
    assert [c["hostCardSlots"][0]["card"] for c in controllers] == ["4 x 16Gb FC (SFP+)"] * 2
    assert [p["id"] for p in ports] == [f"c{c}f{n}" for c in (0, 1) for n in (1, 2, 3, 4)]
    assert all({k: type(v) for k, v in p.items()} == {
        "id": str, "linkSpeed": int, "supportSpeed": list, "topology": str, "wwnn": str,
        "wwpn": str, "errCounter": dict} for p in ports)
    assert all(p["linkSpeed"] == 16 and p["supportSpeed"] == [4, 8, 16] for p in ports)
    assert len({p["wwpn"] for p in ports}) == 8 and len({p["wwnn"] for p in ports}) == 2
    assert all(p["wwnn"] == c["serialNumber"].lower()
               for p in ports for c in controllers if p["id"][1] == str(c["slot"] - 1))


@pytest.mark.simulated("FC targets need the virtual array's FC host card")
def test_an_fc_target_maps_renumbers_and_unmaps_as_goqsan_does(admin: Api) -> None:
    made = admin.ok("POST", TARGETS, content=json.dumps(
        {"name": "kyle_test_groupCFCP", "type": "FCP", "iscsi": None}))
    wwnn = next(p["wwnn"] for p in admin.ok("GET", FC_PORTS) if p["id"].startswith("c0"))
    assert (made["type"], made["fcp"], made["iscsi"]) == ("FCP", [{"wwn": wwnn}], [])
    assert admin.ok("GET", f"{TARGETS}/{made['id']}") == made
    sanos = {t["id"]: t for t in admin.ok("GET", "/rest/storage/availtarget")}[int(made["id"])]
    assert (sanos["type"], sanos["iqn"], sanos["controller"], sanos["portals"]) == \
        ("FC", "", 1, [])
    assert events(admin)[0] == f"FC target {made['id']} created."
    luns = f"{TARGETS}/{made['id']}/luns"
    lun = admin.ok("POST", luns, content=json.dumps(
        {"name": "10", "volumeId": plain_volume(admin), "hosts": ALL}))
    renumbered = admin.ok("PATCH", f"{luns}/{lun['id']}",
                          content=json.dumps({"name": "5", "hosts": ALL}))
    assert (renumbered["id"], renumbered["name"]) == (lun["id"], "5")
    assert admin.ok("GET", f"{luns}/") == [renumbered]
    renamed = admin.ok("PATCH", f"{TARGETS}/{made['id']}",
                       content=json.dumps({"name": "kyle_goqsm_PFCP", "type": "FCP"}))
    assert renamed["name"] == "kyle_goqsm_PFCP" and renamed["fcp"] == made["fcp"]
    assert admin.request("DELETE", f"{luns}/{lun['id']}").json() == []
    assert admin.request("DELETE", f"{TARGETS}/{made['id']}").json() == []
    qsan_error(admin.get(f"{TARGETS}/{made['id']}"), 404, 10600)


@pytest.mark.simulated("FC targets need the virtual array's FC host card")
def test_an_fc_target_stays_fc(admin: Api) -> None:
    made = admin.ok("POST", TARGETS, content=json.dumps({"name": "fc", "type": "FC"}))
    before = whole_state(admin)
    for body in ({"type": "iSCSI"}, {"iscsi": [{"eths": ["c0e1"]}]}):
        qsan_error(admin.request("PATCH", f"{TARGETS}/{made['id']}", content=json.dumps(body)),
                   400, 12003)
    assert whole_state(admin) == before


def test_without_an_fc_card_fc_answers_501_and_changes_nothing(tmp_path: Path) -> None:
    """Linux and Ceph have no FC card; neither has a virtual array whose profile gives none."""
    with profiled_array(tmp_path, 'host_cards = ["Empty", "2 x 10GBASE-T iSCSI (RJ45)"]') \
            as admin:
        before = whole_state(admin)
        qsan_error(admin.get(FC_PORTS), 501, 15000)
        for kind in ("FCP", "FC"):
            qsan_error(admin.post(TARGETS, content=json.dumps(
                {"name": "kyle_test_groupCFCP", "type": kind, "iscsi": None})), 501, 15000)
        assert whole_state(admin) == before
