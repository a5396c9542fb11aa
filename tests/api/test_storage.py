"""The manual's storage endpoints and the array rules of api-contract.md."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import HARDWARE, SIMULATED, Api, array_state, assert_error

from opensan.domain.identity import model_family

GIB = 1024**3
# A Linux pool's figures are btrfs' measurements, not arithmetic: a new pool offers a little
# less than its disks' worth, keeping room for metadata (measured: 1.5 GiB of 64 GiB disks for
# RAID 5 and 6) plus the reserve OpenSAN keeps back for chunk allocation (1%, at least 1 GiB:
# docs/linux.md), and a volume uses a little more than its size (its own metadata: 16 KiB).
CAPACITY_SLACK_BYTES = 0 if SIMULATED else 2 * GIB + 2 * GIB
USE_SLACK_BYTES = 0 if SIMULATED else 16 * 1024**2
VOLUME_FIELDS = {
    "id", "name", "poolId", "capacityBytes", "usedBytes", "provision", "raidLevel", "health",
    "status", "cacheMode", "wwn", "snapshotSpaceBytes", "snapshotUsedBytes", "snapshotCount",
    "mapped",
}
POOL_FIELDS = {"id", "name", "type", "raidLevel", "health", "status", "capacityBytes",
               "usedBytes", "freeBytes", "diskIds", "volumeCount"}
DISK_FIELDS = {"id", "enclosureId", "slot", "capacityBytes", "health", "status", "usage", "poolId",
               "type", "vendor", "model", "serialNumber", "firmwareVersion", "interfaceSpeed",
               "temperatureC"}
MAPPING_FIELDS = {"targetId", "lun", "volumeId", "volumeName", "permission", "hosts", "protocol",
                  "snapshotId", "snapshotName"}
TARGET_FIELDS = {"id", "type", "name", "iqn", "controller", "portals", "lunCount"}


def volume_named(api: Api, name: str) -> dict[str, Any]:
    return next(v for v in api.ok("GET", "/rest/storage/volumeinfo") if v["name"] == name)


def unmapped_volume(api: Api) -> dict[str, Any]:
    return next(v for v in api.ok("GET", "/rest/storage/volumeinfo") if not v["mapped"])


def pool(api: Api) -> dict[str, Any]:
    return api.ok("GET", "/rest/storage/poolinfo")[0]


def free_disks(api: Api, kind: str | None = None) -> list[dict[str, Any]]:
    """Free disks of this kind (HDD, SSD ...); by default of the kind Pool-1 is made of."""
    disks = api.ok("GET", "/rest/storage/diskinfo")
    if kind is None:
        kind = next(d["type"] for d in disks if d["id"] == pool(api)["diskIds"][0])
    return [d for d in disks if d["usage"] == "Free" and kind in d["type"]]


def assert_capacity(created: dict[str, Any], disks_worth: int, disk_bytes: int) -> None:
    """A new pool offers disks_worth disks of capacity."""
    expected = disks_worth * disk_bytes
    assert expected - CAPACITY_SLACK_BYTES <= created["capacityBytes"] <= expected, (
        created["capacityBytes"], expected)


def assert_pool_use(api: Api, expected_bytes: int) -> None:
    """Pool-1 uses this much."""
    used = pool(api)["usedBytes"]
    assert expected_bytes <= used <= expected_bytes + USE_SLACK_BYTES, (used, expected_bytes)


def last_target(api: Api) -> int:
    """The profile's target on the last controller (1 on a dual-controller array, else 0)."""
    return int(max(t["id"] for t in api.ok("GET", "/rest/storage/availtarget")))


def events(api: Api) -> list[dict[str, Any]]:
    return list(api.ok("GET", "/rest/log/list/1")["events"])


# The default profile

def test_new_array_follows_the_default_profile(admin: Api) -> None:
    disks = admin.ok("GET", "/rest/storage/diskinfo")
    info = admin.ok("GET", "/rest/dashboard/systeminfo")
    assert len(disks) == info["bays"] == HARDWARE.bays
    assert sorted(d["slot"] for d in disks) == list(range(1, HARDWARE.bays + 1))
    assert all(set(d) == DISK_FIELDS for d in disks)
    pools = admin.ok("GET", "/rest/storage/poolinfo")
    assert len(pools) == 1 and set(pools[0]) == POOL_FIELDS
    assert pools[0]["freeBytes"] >= 100 * GIB
    assert pools[0]["capacityBytes"] == pools[0]["usedBytes"] + pools[0]["freeBytes"]
    volumes = admin.ok("GET", "/rest/storage/volumeinfo")
    assert len(volumes) >= 2 and all(set(v) == VOLUME_FIELDS for v in volumes)
    assert any(v["snapshotSpaceBytes"] == 0 and not v["mapped"] for v in volumes)
    targets = admin.ok("GET", "/rest/storage/availtarget")
    assert sorted(t["controller"] for t in targets) == list(range(1, HARDWARE.controllers + 1))
    assert all(set(t) >= TARGET_FIELDS for t in targets)
    for target in targets:
        assert re.fullmatch(rf"iqn\.2004-08\.com\.qsan:{model_family(HARDWARE.model)}-[0-9a-f]{{9}}:"
                            rf"dev0\.ctr{target['controller']}", target["iqn"]), target
    mappings = admin.ok("GET", "/rest/storage/lunmappinginfo")
    assert mappings and all(set(m) == MAPPING_FIELDS for m in mappings)


def test_ids_are_ten_digit_and_distinct(admin: Api) -> None:
    state = array_state(admin)
    ids = [d["id"] for d in state["disks"]] + [p["id"] for p in state["pools"]]
    ids += [v["id"] for v in state["volumes"]]
    ids += [s["id"] for info in state["snapshots"].values() for s in info["snapshots"]]
    assert all(10**9 <= i < 10**10 for i in ids)
    assert len(set(ids)) == len(ids)


@pytest.mark.dedicated_disks("a pool's capacity follows the RAID level of its own disks")
def test_pool_capacity_follows_raid_level(admin: Api) -> None:
    disks = free_disks(admin)[:4]
    size = min(d["capacityBytes"] for d in disks)
    ids = ",".join(str(d["id"]) for d in disks)
    created = admin.ok("POST", f"/rest/storage/createpool/name/p6/raidlevel/raid6/diskids/{ids}")
    assert created["raidLevel"] == "RAID 6"
    assert_capacity(created, 2, size)
    admin.ok("POST", f"/rest/storage/deletepool/poolid/{created['id']}")
    created = admin.ok("POST", f"/rest/storage/createpool/name/p10/raidlevel/RAID%2010/diskids/{ids}")
    assert_capacity(created, 2, size)
    admin.ok("POST", f"/rest/storage/deletepool/poolid/{created['id']}")
    created = admin.ok("POST", f"/rest/storage/createpool/name/p5/raidlevel/5/diskids/{ids}")
    assert_capacity(created, 3, size)
    admin.ok("POST", f"/rest/storage/deletepool/poolid/{created['id']}")
    three = ",".join(str(d["id"]) for d in disks[:3])
    assert_error(admin.post(f"/rest/storage/createpool/name/bad/raidlevel/6/diskids/{three}"), 400)


@pytest.mark.dedicated_disks("disks belong to one pool, are added to it and freed again")
def test_pool_lifecycle_and_refusals(admin: Api) -> None:
    disks = free_disks(admin)
    ids = ",".join(str(d["id"]) for d in disks[:3])
    created = admin.ok("POST", f"/rest/storage/createpool/name/tier2/raidlevel/5/diskids/{ids}"
                       "/type/thin")
    assert created["type"] == "Thin" and created["volumeCount"] == 0
    assert_error(admin.post(f"/rest/storage/createpool/name/tier2/raidlevel/5/diskids/"
                            f"{disks[3]['id']},{disks[4]['id']},{disks[5]['id']}"), 409, 10401)
    # A disk already in a pool cannot join another.
    assert_error(admin.post(f"/rest/storage/createpool/name/other/raidlevel/0/diskids/"
                            f"{disks[0]['id']}"), 409, 10501)
    grown = admin.ok("POST", f"/rest/storage/addpooldisk/poolid/{created['id']}/diskids/"
                     f"{disks[3]['id']}")
    assert grown["capacityBytes"] > created["capacityBytes"] and len(grown["diskIds"]) == 4
    volume = admin.ok("POST", f"/rest/storage/createvolume/poolid/{created['id']}/name/thin1/"
                      "sizegb/100000")  # thin volumes may over-provision
    assert volume["provision"] == "Thin" and volume["usedBytes"] == 0
    assert_error(admin.post(f"/rest/storage/deletepool/poolid/{created['id']}"), 409, 10402)
    admin.ok("POST", f"/rest/storage/deletevolume/vdid/{volume['id']}")
    admin.ok("POST", f"/rest/storage/deletepool/poolid/{created['id']}")
    assert all(d["usage"] == "Free" for d in admin.ok("GET", "/rest/storage/diskinfo")
               if d["id"] in {x["id"] for x in disks[:4]})


@pytest.mark.simulated("only the virtual array has SSDs and hard disks to mix")
def test_mixing_ssd_and_hdd_is_refused(admin: Api) -> None:
    hdd, ssd = free_disks(admin, "HDD")[0], free_disks(admin, "SSD")[0]
    assert_error(admin.post(f"/rest/storage/createpool/name/mix/raidlevel/1/diskids/"
                            f"{hdd['id']},{ssd['id']}"), 400)


@pytest.mark.dedicated_disks("a thick volume takes its whole size from the pool at once")
def test_volume_lifecycle(admin: Api) -> None:
    pool_before = pool(admin)
    volume = admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool_before['id']}/name/"
                      "vol-new/sizegb/10")
    assert set(volume) == VOLUME_FIELDS
    assert volume["capacityBytes"] == 10 * GIB and volume["provision"] == "Thick"
    assert re.fullmatch(r"6001378[0-9a-f]{25}", volume["wwn"])
    assert_pool_use(admin, pool_before["usedBytes"] + 10 * GIB)
    grown = admin.ok("POST", f"/rest/storage/extendvolume/vdid/{volume['id']}/sizegb/20")
    assert grown["capacityBytes"] == 20 * GIB
    assert_error(admin.post(f"/rest/storage/extendvolume/vdid/{volume['id']}/sizegb/5"), 400)
    assert_error(admin.post(f"/rest/storage/createvolume/poolid/{pool_before['id']}/name/vol-new/"
                            "sizegb/1"), 409, 12501)
    admin.ok("POST", f"/rest/storage/deletevolume/vdid/{volume['id']}")
    assert_error(admin.post(f"/rest/storage/deletevolume/vdid/{volume['id']}"), 404, 10300)
    assert_pool_use(admin, pool_before["usedBytes"])


@pytest.mark.dedicated_disks("needs a thick pool")
def test_thin_volume_in_thick_pool_is_refused(admin: Api) -> None:
    assert_error(admin.post(f"/rest/storage/createvolume/poolid/{pool(admin)['id']}/name/t/"
                            "sizegb/1/provision/thin"), 400)


@pytest.mark.dedicated_disks("thick volumes cannot outgrow the pool")
def test_capacity_is_enforced_with_507(admin: Api) -> None:
    free_gib = pool(admin)["freeBytes"] // GIB
    before = array_state(admin)
    assert_error(admin.post(f"/rest/storage/createvolume/poolid/{pool(admin)['id']}/name/huge/"
                            f"sizegb/{free_gib + 1}"), 507, 10104)
    volume = unmapped_volume(admin)
    assert_error(admin.post(f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/"
                            f"{free_gib + 1}"), 507)
    assert array_state(admin) == before
    exact = admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool(admin)['id']}/name/exact/"
                     f"sizegb/{free_gib}")
    assert exact["capacityBytes"] == free_gib * GIB


# Snapshot space and snapshots

def test_snapshot_needs_snapshot_space(admin: Api) -> None:
    volume = next(v for v in admin.ok("GET", "/rest/storage/volumeinfo")
                  if v["snapshotSpaceBytes"] == 0)
    assert_error(admin.post(f"/rest/storage/snapshot/vdid/{volume['id']}"), 409, 13508)
    space = admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/20")
    assert space == {"volumeId": volume["id"], "snapshotSpaceBytes": 20 * GIB,
                     "snapshotUsedBytes": 0}
    snapshot = admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}")
    assert re.fullmatch(r"snap-\d{8}-\d{6}", snapshot["name"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", snapshot["createdAt"])
    assert set(snapshot) == {"id", "volumeId", "name", "createdAt", "usedBytes", "status"}
    info = admin.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")
    assert info["snapshots"] == [snapshot] and info["snapshotSpaceBytes"] == 20 * GIB
    assert volume_named(admin, volume["name"])["snapshotCount"] == 1


def test_snapshot_space_comes_out_of_the_pool(admin: Api) -> None:
    volume = unmapped_volume(admin)
    before = pool(admin)["usedBytes"]
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/30")
    assert_pool_use(admin, before + 30 * GIB)
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/0")
    assert_pool_use(admin, before)


@pytest.mark.simulated("snapshots hold data only after host writes (/rest/sim/hostwrite)")
def test_snapshot_space_cannot_shrink_below_use(admin: Api) -> None:
    volume = volume_named(admin, "vol-db")
    info = admin.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")
    assert info["snapshotUsedBytes"] > 0
    below = info["snapshotUsedBytes"] // GIB - 1
    assert_error(admin.post(f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/{below}"),
                 409, 13505)


def test_snapshot_space_cannot_vanish_with_snapshots(admin: Api) -> None:
    volume = volume_named(admin, "vol-db")
    assert admin.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")["snapshots"]
    assert_error(admin.post(f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/0"), 409, 13505)


@pytest.mark.parametrize("name", ["a", "A-1_b.c", "x" * 32, "9lives"])
def test_valid_snapshot_names(admin: Api, name: str) -> None:
    volume = volume_named(admin, "vol-db")
    assert admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/{name}")["name"] == name


@pytest.mark.parametrize("name", ["x" * 33, "-lead", ".dot", "sp%20ace", "sl%2Fash", "%C3%A9t%C3%A9",
                                  "semi;colon", "%00"])
def test_invalid_snapshot_names(admin: Api, name: str) -> None:
    volume = volume_named(admin, "vol-db")
    before = array_state(admin)
    assert_error(admin.post(f"/rest/storage/snapshot/vdid/{volume['id']}/name/{name}"), 400, 13502)
    assert array_state(admin) == before


def test_snapshot_names_are_unique_per_volume(admin: Api) -> None:
    db = volume_named(admin, "vol-db")
    assert_error(admin.post(f"/rest/storage/snapshot/vdid/{db['id']}/name/daily-1"), 409, 13514)
    other = unmapped_volume(admin)
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{other['id']}/sizegb/1")
    admin.ok("POST", f"/rest/storage/snapshot/vdid/{other['id']}/name/daily-1")


def test_at_most_64_snapshots_per_volume(admin: Api) -> None:
    volume = unmapped_volume(admin)
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
    for i in range(64):
        admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/s{i}")
    assert_error(admin.post(f"/rest/storage/snapshot/vdid/{volume['id']}/name/s64"), 409, 13501)
    info = admin.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")
    assert [s["name"] for s in info["snapshots"]] == [f"s{i}" for i in range(64)]


def test_delete_snapshot_and_rollback_drops_later_snapshots(admin: Api) -> None:
    volume = unmapped_volume(admin)
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/5")
    first, second, third = (admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/{n}")
                            for n in ("first", "second", "third"))
    rolled = admin.ok("POST", f"/rest/storage/rollback/snapid/{first['id']}")
    assert rolled["id"] == first["id"]
    names = [s["name"] for s in
             admin.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")["snapshots"]]
    assert names == ["first"]
    assert_error(admin.post(f"/rest/storage/rollback/snapid/{third['id']}"), 404, 13500)
    admin.ok("POST", f"/rest/storage/deletesnapshot/snapid/{first['id']}")
    assert_error(admin.post(f"/rest/storage/deletesnapshot/snapid/{second['id']}"), 404, 13500)
    assert admin.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")["snapshots"] == []
    assert "rolled back" in " ".join(e["message"] for e in events(admin))


def test_volume_with_snapshots_or_mapping_cannot_be_deleted(admin: Api) -> None:
    db = volume_named(admin, "vol-db")
    assert db["mapped"] and db["snapshotCount"] > 0
    assert_error(admin.post(f"/rest/storage/deletevolume/vdid/{db['id']}"), 409, 10405)  # mapped
    volume = unmapped_volume(admin)
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
    admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/keep")
    assert_error(admin.post(f"/rest/storage/deletevolume/vdid/{volume['id']}"), 409, 10302)


# Targets, LUNs and mappings

def test_availlun_under_every_spelling(admin: Api) -> None:
    answers = [admin.ok("GET", f"{prefix}/targetid/0") for prefix in (
        "/storage/availlun", "/rest/storage/availlun", "/storage/avaiilun",
        "/rest/storage/avaiilun")]
    assert all(a == answers[0] for a in answers)
    assert answers[0]["targetId"] == 0
    used = {m["lun"] for m in answers[0]["luns"]}
    assert sorted(used | set(answers[0]["freeLuns"])) == list(range(255))
    assert not used & set(answers[0]["freeLuns"])


def test_map_and_unmap(admin: Api) -> None:
    volume = unmapped_volume(admin)
    mapping = admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/7/vdid/{volume['id']}")
    assert mapping == {"targetId": 0, "lun": 7, "volumeId": volume["id"],
                       "volumeName": volume["name"], "permission": "Read-write", "hosts": ["*"],
                       "protocol": "iSCSI", "snapshotId": None, "snapshotName": None}
    assert mapping in admin.ok("GET", "/rest/storage/lunmappinginfo")
    assert 7 not in admin.ok("GET", "/storage/availlun/targetid/0")["freeLuns"]
    assert volume_named(admin, volume["name"])["mapped"] is True
    target = admin.ok("GET", "/rest/storage/availtarget")[0]
    assert target["lunCount"] == 2
    removed = admin.ok("POST", "/rest/storage/unmaplun/targetid/0/lun/7")
    assert removed == mapping
    assert_error(admin.post("/rest/storage/unmaplun/targetid/0/lun/7"), 404, 10701)
    assert volume_named(admin, volume["name"])["mapped"] is False
    text = " ".join(e["message"] for e in events(admin))
    assert f"{volume['name']} mapped to target 0" in text and "LUN 7" in text


def test_map_read_only_to_listed_hosts(admin: Api) -> None:
    volume = unmapped_volume(admin)
    hosts = "iqn.1994-05.com.redhat:host1,iqn.1998-01.com.vmware:esx-2"
    mapping = admin.ok("POST", f"/rest/storage/maplun/targetid/{last_target(admin)}/lun/3/"
                       f"vdid/{volume['id']}/permission/ro/host/{hosts}")
    assert mapping["permission"] == "Read-only"
    assert mapping["hosts"] == hosts.split(",")


def test_lun_and_volume_are_unique_per_target(admin: Api) -> None:
    volume = unmapped_volume(admin)
    db = volume_named(admin, "vol-db")
    assert_error(admin.post(f"/rest/storage/maplun/targetid/0/lun/0/vdid/{volume['id']}"), 409,
                 10700)
    assert_error(admin.post(f"/rest/storage/maplun/targetid/0/lun/9/vdid/{db['id']}"), 409, 11301)


@pytest.mark.parametrize("lun, status", [("255", 400), ("254", 200), ("0", 200)])
def test_lun_range(admin: Api, lun: str, status: int) -> None:
    volume = unmapped_volume(admin)
    if lun == "0":
        admin.ok("POST", "/rest/storage/unmaplun/targetid/0/lun/0")
    response = admin.post(f"/rest/storage/maplun/targetid/0/lun/{lun}/vdid/{volume['id']}")
    if status == 200:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, status)


@pytest.mark.parametrize("host", ["iqn.bad", "host1", "iqn.2020-01.com.x:a%20b", "*,iqn.1994-05.com.x:y"])
def test_bad_hosts_are_refused(admin: Api, host: str) -> None:
    volume = unmapped_volume(admin)
    assert_error(admin.post(f"/rest/storage/maplun/targetid/0/lun/5/vdid/{volume['id']}/"
                            f"host/{host}"), 400)


def test_target_lifecycle(admin: Api) -> None:
    last = HARDWARE.controllers
    created = admin.ok("POST", f"/rest/storage/createtarget/controller/{last}")
    assert created["iqn"].endswith(f":dev1.ctr{last}") and created["controller"] == last
    # The profile made targets 0 to last - 1, one per controller.
    assert created["id"] == last and created["lunCount"] == 0
    assert_error(admin.post(f"/rest/storage/createtarget/controller/{last}/node/1"), 409, 10601)
    assert_error(admin.post(f"/rest/storage/createtarget/controller/{last + 1}"), 400)
    assert_error(admin.post("/rest/storage/deletetarget/targetid/0"), 409, 10601)
    admin.ok("POST", f"/rest/storage/deletetarget/targetid/{created['id']}")
    assert_error(admin.post(f"/rest/storage/deletetarget/targetid/{created['id']}"), 404, 10600)


@pytest.mark.dedicated_disks("spares stand by for the disks of one pool")
def test_spares(admin: Api) -> None:
    disk = free_disks(admin)[0]
    pool_id = pool(admin)["id"]
    [spare] = admin.ok("POST", f"/rest/storage/setspare/diskids/{disk['id']}/type/dedicated/"
                       f"poolid/{pool_id}")
    assert spare["usage"] == "Dedicated Spare" and spare["poolId"] == pool_id
    [freed] = admin.ok("POST", f"/rest/storage/setspare/diskids/{disk['id']}/type/free")
    assert freed["usage"] == "Free" and freed["poolId"] is None
    assert_error(admin.post(f"/rest/storage/setspare/diskids/{disk['id']}/type/dedicated"), 400)
    member = pool(admin)["diskIds"][0]
    assert_error(admin.post(f"/rest/storage/setspare/diskids/{member}/type/global"), 409, 10501)


# Reads that follow the clock, and the log

def test_every_change_writes_an_info_event_naming_the_object(admin: Api) -> None:
    volume = unmapped_volume(admin)
    before = admin.ok("GET", "/rest/log/list/1")["total"]
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/2")
    admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/evt")
    page = admin.ok("GET", "/rest/log/list/1")
    assert page["total"] == before + 2
    newest = page["events"][:2]
    assert all(e["level"] == "INFO" for e in newest)
    assert "evt" in newest[0]["message"] and volume["name"] in newest[0]["message"]
    assert volume["name"] in newest[1]["message"]
    assert newest[0]["id"] > newest[1]["id"]


def test_event_pages_are_newest_first_and_past_the_end_empty(admin: Api) -> None:
    volume = unmapped_volume(admin)
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
    for i in range(60):
        admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/e{i}")
    first = admin.ok("GET", "/rest/log/list/1")
    assert first["pageSize"] == 50 and len(first["events"]) == 50
    assert first["totalPages"] == -(-first["total"] // 50)
    ids = [e["id"] for e in first["events"]]
    assert ids == sorted(ids, reverse=True) and ids[0] == first["total"]
    second = admin.ok("GET", "/rest/log/list/2")
    assert second["events"][0]["id"] == ids[-1] - 1
    last = admin.ok("GET", f"/rest/log/list/{first['totalPages']}")
    assert last["events"][-1]["id"] == 1
    beyond = admin.ok("GET", f"/rest/log/list/{first['totalPages'] + 1}")
    assert beyond["events"] == [] and beyond["total"] == first["total"]
    assert_error(admin.get("/rest/log/list/0"), 400)


def test_help_lists_every_route_in_manual_form(anonymous: Api, admin: Api) -> None:
    listing = anonymous.ok("GET", "/rest/")
    paths = {(h["method"], h["path"]) for h in listing}
    assert ("GET", "/rest/log/list/<page_num>") in paths
    assert ("POST", "/rest/login/account/<username>/password/<password>") in paths
    assert ("GET", "/storage/availlun/targetid/<target_id>") in paths
    assert ("GET", "/rest/storage/avaiilun/targetid/<target_id>") in paths
    assert ("POST", "/rest/storage/snapspace/vdid/<vdid>/sizegb/<sizegb>") in paths
    assert ("POST", "/rest/storage/snapshot/vdid/<vdid>[/name/<name>]") in paths
    extensions = {h["path"] for h in listing if h["extension"]}
    assert "/rest/storage/createvolume/poolid/<pool_id>/name/<name>/sizegb/<sizegb>" \
        "[/provision/<thick|thin>]" in extensions
    # Every extension that changes the array needs an administrator; the performance reads
    # (and the virtual array's workload listing) are for any account, like the manual's reads.
    assert all(h["access"] == "admin" for h in listing
               if h["extension"] and h["method"] == "POST" and h["path"] != "/rest/logout")
    assert all(h["access"] == "any account" for h in listing
               if h["path"].startswith("/rest/performance/"))
    openapi = admin.ok("GET", "/openapi.json")  # the description needs a session
    described = sorted((method.upper(), operation["x-sanos"]["path"])
                       for item in openapi["paths"].values()
                       for method, operation in item.items() if "x-sanos" in operation)
    assert described == sorted(paths)  # both from the declarations
    assert admin.get("/docs").status_code == 200


@pytest.mark.simulated("simulated sensors and the simulated clock")
def test_temperatures_drift_with_the_clock(admin: Api) -> None:
    def temperatures() -> list[float]:
        monitor = admin.ok("GET", "/rest/dashboard/hwmonitor")
        return [s["value"] for e in monitor["enclosures"] for s in e["sensors"]
                if s["type"] == "temperature"]

    before = temperatures()
    admin.ok("POST", "/rest/sim/clock/seconds/1200")
    after = temperatures()
    assert before != after
    assert all(abs(a - b) < 15 for a, b in zip(before, after, strict=True))


def test_map_a_snapshot_read_only(admin: Api) -> None:
    db = volume_named(admin, "vol-db")
    daily1, daily2 = admin.ok("GET", f"/rest/storage/snapshot/vdid/{db['id']}")["snapshots"]
    mapping = admin.ok("POST", f"/rest/storage/mapsnapshot/targetid/0/lun/9/snapid/{daily1['id']}"
                       "/host/iqn.1994-05.com.redhat:backup")
    assert mapping["permission"] == "Read-only" and mapping["volumeId"] == db["id"]
    assert mapping["snapshotId"] == daily1["id"] and mapping["snapshotName"] == "daily-1"
    volume_mapping = next(m for m in admin.ok("GET", "/rest/storage/lunmappinginfo")
                          if m["lun"] == 0 and m["targetId"] == 0)
    assert volume_mapping["snapshotId"] is None and volume_mapping["snapshotName"] is None
    assert_error(admin.post(f"/rest/storage/mapsnapshot/targetid/0/lun/10/snapid/{daily1['id']}"),
                 409, 11301)
    assert_error(admin.post(f"/rest/storage/deletesnapshot/snapid/{daily1['id']}"), 409, 13515)
    # Rolling back to daily-1 is fine (it stays); a mapped later snapshot would block it.
    last = last_target(admin)
    admin.ok("POST", f"/rest/storage/mapsnapshot/targetid/{last}/lun/11/snapid/{daily2['id']}")
    assert_error(admin.post(f"/rest/storage/rollback/snapid/{daily1['id']}"), 409, 13515)
    admin.ok("POST", f"/rest/storage/unmaplun/targetid/{last}/lun/11")
    admin.ok("POST", f"/rest/storage/rollback/snapid/{daily1['id']}")
    unmapped = admin.ok("POST", "/rest/storage/unmaplun/targetid/0/lun/9")
    assert unmapped["snapshotName"] == "daily-1"
    assert "Snapshot daily-1 of volume vol-db unmapped" in " ".join(
        e["message"] for e in events(admin))


def test_clonevolume_answers_the_new_volume_and_refusals_change_nothing(admin: Api) -> None:
    source = admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool(admin)['id']}/name/"
                      "clone-src/sizegb/1")
    made = admin.ok("POST", f"/rest/storage/clonevolume/vdid/{source['id']}/name/clone-dst")
    assert set(made) == VOLUME_FIELDS
    assert (made["name"], made["poolId"], made["capacityBytes"]) == (
        "clone-dst", source["poolId"], source["capacityBytes"])
    assert made["status"] in ("Initiating", "Online") and made["id"] != source["id"]
    assert volume_named(admin, "clone-dst")["id"] == made["id"]
    before = array_state(admin)
    for path, status, code in (
            (f"vdid/{source['id']}/name/clone-dst", 409, 12501),  # the name is taken
            (f"vdid/{source['id']}/name/bad%20name", 400, 12003),
            ("vdid/1234567890/name/other", 404, 10300),
            (f"vdid/{source['id']}/name/other/poolid/1234567890", 404, 10400),
            (f"vdid/{source['id']}/name/other/snapid/1234567890", 404, 13500)):
        assert_error(admin.post(f"/rest/storage/clonevolume/{path}"), status, code)
    assert array_state(admin) == before
