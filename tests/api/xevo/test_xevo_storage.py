"""XEVO's pools, block volumes and QoS: exact JSON types and units, the PATCH merge, QSAN's
error codes for bad input with the array unchanged, and one array seen through both APIs."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from conftest import BACKEND, GIB, SIMULATED, Api
from xevo_support import SNAPSHOT_TARGETS, VOLUMES, events, qsan_error, whole_state

MIB = 1024**2
VOLUME_FIELDS = {
    "id": str, "name": str, "poolId": str, "lunId": str, "targetId": str,
    "replicaTargetId": str, "replicaTargetName": str, "online": bool, "state": str,
    "progress": int, "health": str, "provision": str, "totalSize": int, "usedSize": int,
    "blockSize": int, "stripeSize": int, "cacheMode": str, "ioPriority": str,
    "bgIoPriority": str, "enableReadAhead": bool, "eraseData": str,
    "enableFastRaidRebuild": bool, "targetResponseTime": int, "maxIops": int,
    "maxThroughtput": int, "maxThroughput": int, "tags": dict, "metadata": dict,
}


def pool_of(api: Api) -> dict[str, Any]:
    return api.ok("GET", "/rest/v2/storage/pools")[0]


def create(api: Api, name: str = "xevo-vol", size: int = 5120, **extra: Any) -> dict[str, Any]:
    body = {"name": name, "totalSize": size, "blockSize": 4096, "poolId": pool_of(api)["id"],
            **extra}
    return dict(api.ok("POST", VOLUMES, content=json.dumps(body)))


def test_pools_are_goqsans_shape_and_match_sanos(admin: Api) -> None:
    pools = admin.ok("GET", "/rest/v2/storage/pools")
    sanos = {p["id"]: p for p in admin.ok("GET", "/rest/storage/poolinfo")}
    assert [p["id"] for p in pools] == [str(i) for i in sanos]
    for pool in pools:
        assert {k: type(v) for k, v in pool.items()} == {
            "id": str, "name": str, "provision": str, "autoTiering": bool, "isDedup": bool,
            "raidLevel": str, "numOfVolumes": int}
        mine = sanos[int(pool["id"])]
        assert (pool["name"], pool["provision"], pool["raidLevel"], pool["numOfVolumes"]) == (
            mine["name"], mine["type"].upper(), mine["raidLevel"], mine["volumeCount"])
        assert admin.ok("GET", f"/rest/v2/storage/pools/{pool['id']}") == pool
        named = admin.ok("GET", f"/rest/v2/storage/pools?q=name='{pool['name']}'")
        assert named == [pool]


@pytest.mark.parametrize("pool_id", ["2222222222", "abc", "12345678901"])
def test_a_missing_pool_is_404(admin: Api, pool_id: str) -> None:
    qsan_error(admin.get(f"/rest/v2/storage/pools/{pool_id}"), 404, 10400)


def test_volumes_are_goqsans_shape_and_match_sanos(admin: Api) -> None:
    volumes = admin.ok("GET", VOLUMES)
    sanos = {v["id"]: v for v in admin.ok("GET", "/rest/storage/volumeinfo")}
    mappings = admin.ok("GET", "/rest/storage/lunmappinginfo")
    assert [v["id"] for v in volumes] == [str(i) for i in sanos]
    for volume in volumes:
        assert {k: type(v) for k, v in volume.items()} == VOLUME_FIELDS, volume
        mine = sanos[int(volume["id"])]
        assert volume["totalSize"] == mine["capacityBytes"] // MIB
        assert volume["poolId"] == str(mine["poolId"])
        assert volume["tags"] == {"wwn": mine["wwn"], "type": "RAID"}
        assert volume["replicaTargetId"] == "4294967295"
        assert volume["state"] == mine["status"].upper() and volume["online"]
        assert volume["health"] == mine["health"].upper()
        assert volume["cacheMode"] == mine["cacheMode"].upper().replace("-", "_")
        mapped = [m for m in mappings if m["volumeId"] == mine["id"] and m["snapshotId"] is None]
        if mapped:
            assert volume["targetId"] == str(mapped[0]["targetId"]) and volume["lunId"]
        else:
            assert (volume["targetId"], volume["lunId"]) == ("", "")
        assert admin.ok("GET", f"{VOLUMES}/{volume['id']}") == volume


def test_the_three_pool_filters_of_goqsans_generations(admin: Api) -> None:
    created = create(admin)
    pool = created["poolId"]
    every = admin.ok("GET", VOLUMES)
    mine = [v for v in every if v["poolId"] == pool]
    for query in (f"q=poolId='{pool}'", f"q=poolId={pool}", f"poolId={pool}"):
        assert admin.ok("GET", f"{VOLUMES}?{query}") == mine, query
    assert admin.ok("GET", f"{VOLUMES}?q=poolId='2222222222'") == []
    assert admin.ok("GET", f"{VOLUMES}?q=name='xevo-vol'") == [created]


@pytest.mark.parametrize("query", ["q=size=1", "q=poolId", "color=red",
                                   "poolId=1&q=poolId='2'"])
def test_a_bad_filter_is_400(admin: Api, query: str) -> None:
    response = admin.get(f"{VOLUMES}?{query}")
    assert response.status_code == 400 and response.json()["error"]["code"] == 12003, response.text


def test_create_answers_the_volume_and_sanos_sees_it_at_once(admin: Api) -> None:
    content = bytes(range(256))
    created = create(admin, ioPriority="HIGH", bgIoPriority="LOW", cacheMode="WRITE_THROUGH",
                     enableReadAhead=True,
                     metadata={"status": "VALID", "type": "CSI Driver",
                               "content": base64.b64encode(content).decode()})
    assert {k: type(v) for k, v in created.items()} == VOLUME_FIELDS
    assert (created["totalSize"], created["blockSize"], created["ioPriority"],
            created["bgIoPriority"], created["cacheMode"], created["enableReadAhead"]) == (
        5120, 4096, "HIGH", "LOW", "WRITE_THROUGH", True)
    assert base64.b64decode(created["metadata"]["content"]) == content
    assert created["metadata"]["status"] == "VALID" and created["metadata"]["timestamp"] == ""
    sanos = {v["id"]: v for v in admin.ok("GET", "/rest/storage/volumeinfo")}
    mine = sanos[int(created["id"])]
    assert (mine["name"], mine["capacityBytes"], mine["cacheMode"]) == (
        "xevo-vol", 5 * GIB, "Write-through")
    assert "Volume xevo-vol created in pool" in events(admin)[0]


def test_a_sanos_volume_is_seen_through_xevo(admin: Api) -> None:
    pool = pool_of(admin)["id"]
    made = admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool}/name/sanos-vol/sizegb/3")
    seen = admin.ok("GET", f"{VOLUMES}/{made['id']}")
    assert (seen["name"], seen["totalSize"], seen["ioPriority"]) == ("sanos-vol", 3072, "MEDIUM")
    admin.ok("POST", f"/rest/storage/extendvolume/vdid/{made['id']}/sizegb/4")
    assert admin.ok("GET", f"{VOLUMES}/{made['id']}")["totalSize"] == 4096


def test_patch_merges_and_echoes_every_field(admin: Api) -> None:
    created = create(admin, ioPriority="HIGH", metadata={"status": "VALID", "type": "CSI Driver",
                                                         "content": "AAEC"})
    path = f"{VOLUMES}/{created['id']}"
    grown = admin.ok("PATCH", path, content=json.dumps(
        {"totalSize": 20480, "cacheMode": "WRITE_THROUGH", "enableReadAhead": True,
         "tags": {}, "metadata": {}}))
    assert grown == {**created, "totalSize": 20480, "usedSize": grown["usedSize"],
                     "cacheMode": "WRITE_THROUGH", "enableReadAhead": True}
    qos = admin.ok("PATCH", path, content=json.dumps(
        {"ioPriority": "HIGH", "targetResponseTime": 123, "maxIops": 1234,
         "maxThroughtput": 1234, "tags": {}, "metadata": {}}))
    assert (qos["targetResponseTime"], qos["maxIops"], qos["maxThroughtput"],
            qos["maxThroughput"]) == (123, 1234, 1234, 1234)
    renamed = admin.ok("PATCH", path, content=json.dumps(
        {"name": "afterModRaw131", "ioPriority": "MEDIUM", "bgIoPriority": "LOW",
         "enableReadAhead": False, "maxThroughput": 99, "tags": {"type": "BACKUP"},
         "metadata": {}}))
    assert renamed == {**qos, "name": "afterModRaw131", "ioPriority": "MEDIUM",
                       "bgIoPriority": "LOW", "enableReadAhead": False, "maxThroughtput": 99,
                       "maxThroughput": 99, "tags": {**qos["tags"], "type": "BACKUP"}}
    assert admin.ok("GET", path) == renamed
    assert renamed["metadata"] == created["metadata"]  # tags and metadata {} clear nothing
    sanos = {v["id"]: v for v in admin.ok("GET", "/rest/storage/volumeinfo")}
    assert sanos[int(created["id"])]["name"] == "afterModRaw131"
    assert "Volume xevo-vol (now afterModRaw131) modified:" in events(admin)[0]


def test_a_timestamp_is_the_arrays_seconds_and_keeps_the_metadata(admin: Api) -> None:
    created = create(admin, metadata={"status": "VALID", "type": "CSI Driver",
                                      "content": "MDEyMzQ1Njc4OTo7PD0+P0A="})
    path = f"{VOLUMES}/{created['id']}"
    stamped = admin.ok("PATCH", path, content=json.dumps({"tags": {},
                                                          "metadata": {"timestamp": "AUTO"}}))
    stamp = stamped["metadata"]["timestamp"]
    assert stamp.isdigit()
    system_time = admin.ok("GET", "/rest/dashboard/systeminfo")["time"]
    from datetime import datetime
    now = datetime.fromisoformat(system_time.replace("Z", "+00:00")).timestamp()
    assert abs(int(stamp) - now) < 5
    assert {**stamped["metadata"], "timestamp": ""} == created["metadata"]
    explicit = admin.ok("PATCH", path, content=json.dumps({"metadata": {"timestamp": "42"}}))
    assert explicit["metadata"]["timestamp"] == "42"


def test_qos_rule_off_reads_none(admin: Api) -> None:
    # Ceph holds images to their limits; elsewhere they are recorded only.
    enforced = BACKEND == "ceph"
    assert admin.ok("GET", "/rest/v2/storage/qos/volumes") == {
        "enableQos": False, "qosRule": "NONE", "enforced": enforced}
    for enable, rule, want in ((True, "IO_PRIORITY", "IO_PRIORITY"),
                               (False, "IO_PRIORITY", "NONE"),
                               (True, "MAX_IOPS_THROUGHPUT", "MAX_IOPS_THROUGHPUT")):
        body = json.dumps({"enableQos": enable, "qosRule": rule})
        answer = admin.ok("PATCH", "/rest/v2/storage/qos/volumes", content=body)
        assert answer == {"enableQos": enable, "qosRule": want, "enforced": enforced}
        assert admin.ok("GET", "/rest/v2/storage/qos/volumes") == answer


def test_delete_answers_an_empty_array_and_sanos_loses_it(admin: Api) -> None:
    created = create(admin)
    response = admin.request("DELETE", f"{VOLUMES}/{created['id']}")
    assert response.status_code == 200 and response.json() == []
    assert int(created["id"]) not in {v["id"] for v in admin.ok("GET", "/rest/storage/volumeinfo")}
    qsan_error(admin.get(f"{VOLUMES}/{created['id']}"), 404, 10300)
    assert "Volume xevo-vol deleted." in events(admin)[0]


def test_deleting_a_mapped_volume_is_qsans_already_attached(admin: Api) -> None:
    mapped = next(v for v in admin.ok("GET", VOLUMES) if v["targetId"])
    before = whole_state(admin)
    qsan_error(admin.request("DELETE", f"{VOLUMES}/{mapped['id']}"), 400, 10405)
    assert whole_state(admin) == before


# Bad input: QSAN's code and status, and nothing changed.

def _pool(api: Api) -> str:
    return str(pool_of(api)["id"])


BAD_CREATES: list[tuple[str, Any, int, int]] = [
    ("a string size", {"totalSize": "5120"}, 400, 12003),
    ("a negative size", {"totalSize": -1}, 400, 12003),
    ("no size", {"totalSize": None}, 400, 12003),
    ("a size beyond 1 PiB", {"totalSize": 2**40}, 400, 12003),
    ("a number as the pool", {"poolId": 5}, 400, 12003),
    ("an unknown key", {"color": "red"}, 400, 12003),
    ("a bad cache word", {"cacheMode": "write-back"}, 400, 12003),
    ("a bad priority", {"ioPriority": "URGENT"}, 400, 12003),
    ("a bad block size", {"blockSize": 1000}, 400, 12003),
    ("a bad name", {"name": "no spaces allowed"}, 400, 12003),
    ("a 33-character name", {"name": "v" * 33}, 400, 12003),
    ("bad base64", {"metadata": {"content": "not base64!"}}, 400, 12003),
    ("a bad timestamp", {"metadata": {"timestamp": "soon"}}, 400, 12003),
    ("too much metadata", {"metadata": {"content": base64.b64encode(bytes(1025)).decode()}},
     400, 12003),
    ("a missing pool", {"poolId": "2222222222"}, 404, 10400),
    ("a taken name", {"name": "vol-db"}, 400, 12501),
]


@pytest.mark.parametrize(("what", "change", "status", "code"),
                         [pytest.param(*case, id=case[0]) for case in BAD_CREATES])
def test_a_bad_create_is_refused_and_changes_nothing(admin: Api, what: str, change: Any,
                                                     status: int, code: int) -> None:
    before = whole_state(admin)
    body = {"name": "xevo-bad", "totalSize": 5120, "blockSize": 4096, "poolId": _pool(admin)}
    body.update(change)
    body = {k: v for k, v in body.items() if v is not None}
    qsan_error(admin.post(VOLUMES, content=json.dumps(body)), status, code)
    assert whole_state(admin) == before


@pytest.mark.parametrize("body", [b"", b"not json", b"[1]", b'{"name": "x"', b"{}",
                                  json.dumps({"a": [[[[]]]]} | {}).encode()])
def test_a_malformed_create_body_is_400(admin: Api, body: bytes) -> None:
    before = whole_state(admin)
    qsan_error(admin.post(VOLUMES, content=body, headers={"Content-Type": "application/json"}),
               400, 12003)
    assert whole_state(admin) == before


BAD_PATCHES: list[tuple[str, Any, int, int]] = [
    ("a smaller size", {"totalSize": "smaller"}, 400, 12003),
    ("a string QoS", {"maxIops": "1"}, 400, 12003),
    ("two throughputs", {"maxThroughtput": 1, "maxThroughput": 2}, 400, 12003),
    ("a bad tag", {"tags": {"type": "MIRROR"}}, 400, 12003),
    ("a bad metadata word", {"metadata": {"status": "x" * 65}}, 400, 12003),
    ("a taken name", {"name": "vol-backup"}, 400, 12501),
    ("a bool as the name", {"name": True}, 400, 12003),
]


@pytest.mark.parametrize(("what", "change", "status", "code"),
                         [pytest.param(*case, id=case[0]) for case in BAD_PATCHES])
def test_a_bad_patch_is_refused_and_changes_nothing(admin: Api, what: str, change: Any,
                                                    status: int, code: int) -> None:
    volume = next(v for v in admin.ok("GET", VOLUMES) if v["name"] == "vol-db")
    if change.get("totalSize") == "smaller":
        change = {"totalSize": volume["totalSize"] - 1}
    before = whole_state(admin)
    qsan_error(admin.request("PATCH", f"{VOLUMES}/{volume['id']}", content=json.dumps(change)),
               status, code)
    assert whole_state(admin) == before


@pytest.mark.parametrize(("method", "status"), [("GET", 404), ("PATCH", 400), ("DELETE", 400)])
@pytest.mark.parametrize("volume_id", ["11111111", "abc", "99999999999"])
def test_a_missing_volume_is_goqsans_10300(admin: Api, method: str, status: int,
                                           volume_id: str) -> None:
    before = whole_state(admin)
    body = json.dumps({"name": "x"}) if method == "PATCH" else None
    qsan_error(admin.request(method, f"{VOLUMES}/{volume_id}", content=body), status, 10300)
    assert whole_state(admin) == before


def test_a_body_where_none_belongs_is_400(admin: Api) -> None:
    volume = next(v for v in admin.ok("GET", VOLUMES) if v["name"] == "vol-backup")
    before = whole_state(admin)
    qsan_error(admin.request("DELETE", f"{VOLUMES}/{volume['id']}", content=b'{"x": 1}'),
               400, 12003)
    assert whole_state(admin) == before


def test_a_qos_rule_without_a_rule_is_400(admin: Api) -> None:
    before = whole_state(admin)
    for body in ({"enableQos": True}, {"enableQos": True, "qosRule": "NONE"},
                 {"enableQos": "yes"}, {"qosRule": "IO_PRIORITY"}):
        qsan_error(admin.request("PATCH", "/rest/v2/storage/qos/volumes",
                                 content=json.dumps(body)), 400, 12003)
    assert whole_state(admin) == before


@pytest.mark.dedicated_disks("thick volumes")
def test_a_thick_volume_beyond_the_pool_is_qsans_no_space(admin: Api) -> None:
    pool = pool_of(admin)
    assert pool["provision"] == "THICK"
    sanos = next(p for p in admin.ok("GET", "/rest/storage/poolinfo")
                 if str(p["id"]) == pool["id"])
    before = whole_state(admin)
    too_big = sanos["freeBytes"] // MIB + 1024
    body = {"name": "too-big", "totalSize": too_big, "blockSize": 4096, "poolId": pool["id"]}
    qsan_error(admin.post(VOLUMES, content=json.dumps(body)), 400, 10104)
    assert whole_state(admin) == before


# Clones

def clone(api: Api, source: dict[str, Any], name: str = "xevo-clone", **extra: Any) -> Any:
    body = {"poolId": source["poolId"], "volumeName": name, **extra}
    return api.post(f"{VOLUMES}/{source['id']}/clone", content=json.dumps(body))


def wait_cloned(api: Api, volume_id: str, seconds: float = 60.0) -> dict[str, Any]:
    """The clone once its copy is done (the tick ends it; the virtual array's clock moves)."""
    deadline = time.monotonic() + seconds
    while True:
        volume = dict(api.ok("GET", f"{VOLUMES}/{volume_id}"))
        if volume["state"] != "CLONING" or time.monotonic() > deadline:
            return volume
        if SIMULATED:
            api.ok("POST", "/rest/sim/clock/seconds/60")
        time.sleep(0.2)


def test_a_clone_answers_the_new_volume_and_is_done_once_copied(admin: Api) -> None:
    source = create(admin, "clone-src", 1024)
    response = clone(admin, source)
    assert response.status_code == 200, response.text
    made = response.json()
    assert {k: type(v) for k, v in made.items()} == VOLUME_FIELDS
    assert made["id"] not in (source["id"], "") and made["name"] == "xevo-clone"
    assert (made["poolId"], made["totalSize"], made["blockSize"], made["tags"]["type"]) == (
        source["poolId"], 1024, source["blockSize"], "BACKUP")
    assert made["state"] in ("CLONING", "ONLINE") and 0 <= made["progress"] < 100
    assert admin.ok("GET", f"{VOLUMES}/{made['id']}")["name"] == "xevo-clone"
    assert any("as a clone of volume clone-src" in m for m in events(admin))
    done = wait_cloned(admin, made["id"])
    assert (done["state"], done["progress"], done["online"]) == ("ONLINE", 0, True)
    assert admin.ok("DELETE", f"/rest/v2/backup/replicate/{source['id']}/task") == []
    assert admin.ok("DELETE", f"{VOLUMES}/{source['id']}") == []  # the clone stands alone
    assert admin.ok("GET", f"{VOLUMES}/{made['id']}")["state"] == "ONLINE"


def test_a_clone_of_a_snapshot_names_it_by_its_name_and_goqsans_poolID(admin: Api) -> None:
    source = create(admin, "clone-snapped", 1024)
    admin.ok("PATCH", f"{SNAPSHOT_TARGETS}/{source['id']}", content=json.dumps(
        {"totalSize": 1024}))
    admin.ok("POST", f"{SNAPSHOT_TARGETS}/{source['id']}/snapshots",
             content=json.dumps({"name": "before"}))
    body = {"poolID": source["poolId"], "volumeName": "from-snap", "snapshotId": "before"}
    made = admin.ok("POST", f"{VOLUMES}/{source['id']}/clone", content=json.dumps(body))
    assert made["name"] == "from-snap" and made["totalSize"] == 1024
    wait_cloned(admin, made["id"])
    # Once done the snapshot can go, then its volume.
    admin.ok("DELETE", f"{SNAPSHOT_TARGETS}/{source['id']}/snapshots/before")
    admin.ok("DELETE", f"{VOLUMES}/{source['id']}")
    assert admin.ok("GET", f"{VOLUMES}/{made['id']}")["state"] == "ONLINE"


def without_progress(state: dict[str, Any]) -> dict[str, Any]:
    """whole_state without the clones' progress, which moves on with the clock meanwhile."""
    return {**state, "volumes": [{k: v for k, v in volume.items() if k != "progress"}
                                 for volume in state["volumes"]]}


@pytest.mark.simulated("the array clock sets the copy's pace")
def test_while_a_clone_copies_it_shows_its_progress_and_its_source_stays(admin: Api) -> None:
    source = create(admin, "clone-slow", 409600)  # 400 GiB: 100 s of the array clock
    made = clone(admin, source).json()
    assert (made["state"], made["online"]) == ("CLONING", True)
    admin.ok("POST", "/rest/sim/clock/seconds/50")
    halfway = admin.ok("GET", f"{VOLUMES}/{made['id']}")
    assert halfway["state"] == "CLONING" and 50 <= halfway["progress"] < 60
    sanos = next(v for v in admin.ok("GET", "/rest/storage/volumeinfo")
                 if str(v["id"]) == made["id"])
    assert sanos["status"] == "Initiating"
    before = without_progress(whole_state(admin))
    qsan_error(admin.request("DELETE", f"{VOLUMES}/{source['id']}"), 400, 10405)
    qsan_error(admin.request("DELETE", f"{VOLUMES}/{made['id']}"), 409, 12002)
    qsan_error(admin.request("DELETE", f"/rest/v2/backup/replicate/{source['id']}/task"),
               409, 12002)
    qsan_error(clone(admin, made, "clone-of-clone"), 409, 12002)
    assert without_progress(whole_state(admin)) == before
    admin.ok("POST", "/rest/sim/clock/seconds/50")
    assert admin.ok("GET", f"{VOLUMES}/{made['id']}")["state"] == "ONLINE"
    assert admin.ok("DELETE", f"/rest/v2/backup/replicate/{source['id']}/task") == []


BAD_CLONES = [
    ("no name", {"volumeName": None}, 400, 12003),
    ("a bad name", {"volumeName": "no spaces"}, 400, 12003),
    ("a taken name", {"volumeName": "clone-bad-src"}, 400, 12501),
    ("no pool", {"poolId": None}, 400, 12003),
    ("a pool as a number", {"poolId": 1}, 400, 12003),
    ("an unknown pool", {"poolId": "2222222222"}, 404, 10400),
    ("an unknown snapshot", {"snapshotId": "never-taken"}, 400, 13502),
    ("a key QSAN never sends", {"size": 1024}, 400, 12003),
]


@pytest.mark.parametrize(("what", "change", "status", "code"), BAD_CLONES,
                         ids=[case[0] for case in BAD_CLONES])
def test_a_bad_clone_is_refused_and_changes_nothing(admin: Api, what: str, change: Any,
                                                     status: int, code: int) -> None:
    source = create(admin, "clone-bad-src", 1024)
    body = {"poolId": source["poolId"], "volumeName": "clone-bad", **change}
    body = {k: v for k, v in body.items() if v is not None}
    before = whole_state(admin)
    qsan_error(admin.post(f"{VOLUMES}/{source['id']}/clone", content=json.dumps(body)),
               status, code)
    assert whole_state(admin) == before


def test_a_clone_of_a_missing_volume_is_10300(admin: Api) -> None:
    before = whole_state(admin)
    body = {"poolId": pool_of(admin)["id"], "volumeName": "orphan"}
    qsan_error(admin.post(f"{VOLUMES}/11111111/clone", content=json.dumps(body)), 400, 10300)
    qsan_error(admin.request("DELETE", "/rest/v2/backup/replicate/11111111/task"), 400, 10300)
    assert whole_state(admin) == before
