"""XEVO's snapshot settings and snapshots: sizes in MiB, the ID that is the name, the trash,
delete with permanent, delete all, rollback; QSAN's codes; the same snapshots through SANOS."""

from __future__ import annotations

import json
from typing import Any

import pytest
from conftest import GIB, Api
from xevo_support import SNAPSHOT_TARGETS, VOLUMES, events, qsan_error, whole_state

SNAPSHOT_FIELDS = {"id": str, "name": str, "createTime": int, "usedSize": int, "expose": dict,
                   "trash": dict}


def volume(api: Api, name: str) -> dict[str, Any]:
    return next(v for v in api.ok("GET", VOLUMES) if v["name"] == name)


def snapshots(api: Api, volume_id: str) -> list[dict[str, Any]]:
    return list(api.ok("GET", f"{SNAPSHOT_TARGETS}/{volume_id}/snapshots"))


def with_space(api: Api) -> str:
    """vol-backup (no snapshots) with the minimum snapshot space, as goqsan's test sets it."""
    vid = volume(api, "vol-backup")["id"]
    setting = api.ok("GET", f"{SNAPSHOT_TARGETS}/{vid}")
    size = -(-setting["minimumSize"] // 1024) * 1024
    api.ok("PATCH", f"{SNAPSHOT_TARGETS}/{vid}", content=json.dumps({"totalSize": size}))
    return str(vid)


def test_settings_are_sanos_snapshot_space_in_mib(admin: Api) -> None:
    db = volume(admin, "vol-db")
    setting = admin.ok("GET", f"{SNAPSHOT_TARGETS}/{db['id']}")
    assert {k: type(v) for k, v in setting.items()} == {
        "type": str, "snapshotMaxPolicy": dict, "protectionGroup": str, "totalSize": int,
        "availableSize": int, "minimumSize": int, "suggestSize": int}
    sanos = admin.ok("GET", f"/rest/storage/snapshot/vdid/{db['id']}")
    assert setting["totalSize"] * 1024**2 == sanos["snapshotSpaceBytes"]
    assert setting["availableSize"] == (sanos["snapshotSpaceBytes"]
                                        - sanos["snapshotUsedBytes"]) // 1024**2
    assert setting["minimumSize"] % 1024 == 0
    assert setting["minimumSize"] * 1024**2 >= sanos["snapshotUsedBytes"]
    assert setting["suggestSize"] >= setting["minimumSize"]
    assert setting["snapshotMaxPolicy"]["maxLimit"] == 64


def test_setting_space_is_seen_through_sanos_and_empty_removes_it(admin: Api) -> None:
    vid = with_space(admin)
    sanos = admin.ok("GET", f"/rest/storage/snapshot/vdid/{vid}")
    assert sanos["snapshotSpaceBytes"] == GIB
    assert "Snapshot space of volume vol-backup set to 1 GiB." in events(admin)[0]
    removed = admin.ok("PATCH", f"{SNAPSHOT_TARGETS}/{vid}", content=b"{}")
    assert removed["totalSize"] == 0
    assert admin.ok("GET", f"/rest/storage/snapshot/vdid/{vid}")["snapshotSpaceBytes"] == 0


@pytest.mark.parametrize(("body", "code"), [({"totalSize": 1500}, 12003),
                                            ({"totalSize": "1024"}, 12003),
                                            ({"protectionGroup": "pg1"}, 12003),
                                            ({"totalSize": -1024}, 12003)])
def test_bad_settings_are_refused(admin: Api, body: dict[str, Any], code: int) -> None:
    vid = volume(admin, "vol-backup")["id"]
    before = whole_state(admin)
    qsan_error(admin.request("PATCH", f"{SNAPSHOT_TARGETS}/{vid}", content=json.dumps(body)),
               400, code)
    assert whole_state(admin) == before


def test_a_snapshots_id_is_its_name_and_its_sanos_id_names_it_too(admin: Api) -> None:
    db = volume(admin, "vol-db")
    listed = snapshots(admin, db["id"])
    sanos = admin.ok("GET", f"/rest/storage/snapshot/vdid/{db['id']}")["snapshots"]
    assert [s["name"] for s in listed] == [s["name"] for s in sanos]
    for mine, theirs in zip(listed, sanos, strict=True):
        assert {k: type(v) for k, v in mine.items()} == SNAPSHOT_FIELDS
        assert mine["id"] == mine["name"]
        assert mine["trash"] == {"inTrash": False}
        path = f"{SNAPSHOT_TARGETS}/{db['id']}/snapshots"
        assert admin.ok("GET", f"{path}/{mine['id']}") == mine
        assert admin.ok("GET", f"{path}/{theirs['id']}") == mine


def test_take_a_snapshot_and_sanos_sees_it(admin: Api) -> None:
    vid = with_space(admin)
    taken = admin.ok("POST", f"{SNAPSHOT_TARGETS}/{vid}/snapshots",
                     content=json.dumps({"name": "kyle_snap1"}))
    assert (taken["id"], taken["name"], taken["usedSize"]) == ("kyle_snap1", "kyle_snap1", 0)
    sanos = admin.ok("GET", f"/rest/storage/snapshot/vdid/{vid}")["snapshots"]
    assert [s["name"] for s in sanos] == ["kyle_snap1"]
    assert "Snapshot kyle_snap1 of volume vol-backup taken." in events(admin)[0]


def test_the_older_sdks_bare_name_takes_a_snapshot_too(admin: Api) -> None:
    """goqsan before 186e088 sent the name as a bare JSON string."""
    vid = with_space(admin)
    taken = admin.ok("POST", f"{SNAPSHOT_TARGETS}/{vid}/snapshots", content=b'"kyle_snap0"')
    assert taken["id"] == "kyle_snap0"
    qsan_error(admin.post(f"{SNAPSHOT_TARGETS}/{vid}/snapshots", content=b"5"), 400, 12003)


def test_qsans_snapshot_refusals(admin: Api) -> None:
    vid = with_space(admin)
    path = f"{SNAPSHOT_TARGETS}/{vid}/snapshots"
    admin.ok("POST", path, content=json.dumps({"name": "kyle_snap2"}))
    before = whole_state(admin)
    qsan_error(admin.post(path, content=json.dumps({"name": "kyle_snap2"})), 429, 13514)
    qsan_error(admin.post(path, content=json.dumps({"name": "kyle_snap2" + "2" * 30})), 400, 13502)
    qsan_error(admin.request("DELETE", f"{SNAPSHOT_TARGETS}/11111111/snapshots/kyle_snap2"),
               400, 10300)
    qsan_error(admin.request("DELETE", f"{path}/11111111"), 400, 13502)
    qsan_error(admin.get(f"{path}/11111111"), 404, 13502)
    qsan_error(admin.get(f"{SNAPSHOT_TARGETS}/11111111"), 404, 10300)
    plain = volume(admin, "vol-db")["id"]
    qsan_error(admin.post(f"{SNAPSHOT_TARGETS}/{plain}/snapshots", content=b'{"name": 5}'),
               400, 12003)
    assert whole_state(admin) == before


def test_no_snapshot_space_is_qsans_13508(admin: Api) -> None:
    vid = volume(admin, "vol-backup")["id"]
    before = whole_state(admin)
    qsan_error(admin.post(f"{SNAPSHOT_TARGETS}/{vid}/snapshots", content=b'{"name": "s"}'),
               400, 13508)
    assert whole_state(admin) == before


def test_the_trash_keeps_a_snapshot_until_it_is_restored_or_deleted(admin: Api) -> None:
    vid = with_space(admin)
    path = f"{SNAPSHOT_TARGETS}/{vid}/snapshots"
    admin.ok("POST", path, content=json.dumps({"name": "s1"}))
    gone = admin.request("DELETE", f"{path}/s1", content=json.dumps({"permanent": False}))
    assert gone.status_code == 200 and gone.json() == []
    assert snapshots(admin, vid)[0]["trash"] == {"inTrash": True}
    sanos = admin.ok("GET", f"/rest/storage/snapshot/vdid/{vid}")["snapshots"]
    assert sanos[0]["status"] == "In trash"
    assert "Snapshot s1 of volume vol-backup moved to the trash." in events(admin)[0]
    before = whole_state(admin)
    qsan_error(admin.post(f"{path}/s1/rollback"), 409, 13515)  # not to a trashed one
    assert whole_state(admin) == before
    zero = {"expose": {"enable": False, "mode": "", "writeSize": 0}, "trash": {"inTrash": False}}
    restored = admin.ok("PATCH", f"{path}/s1", content=json.dumps(zero))
    assert isinstance(restored, list) and restored[0]["trash"] == {"inTrash": False}
    admin.ok("PATCH", f"{path}/s1", content=json.dumps({"trash": {"inTrash": True}}))
    assert admin.request("DELETE", f"{path}/s1", content=b'{"permanent": true}').json() == []
    assert snapshots(admin, vid) == []


def test_a_delete_without_a_body_is_permanent_as_goqsans(admin: Api) -> None:
    vid = with_space(admin)
    path = f"{SNAPSHOT_TARGETS}/{vid}/snapshots"
    admin.ok("POST", path, content=json.dumps({"name": "s1"}))
    assert admin.request("DELETE", f"{path}/s1").json() == []
    assert snapshots(admin, vid) == []
    assert "Snapshot s1 of volume vol-backup deleted." in events(admin)[0]


def test_exposure_is_recorded(admin: Api) -> None:
    vid = with_space(admin)
    path = f"{SNAPSHOT_TARGETS}/{vid}/snapshots"
    admin.ok("POST", path, content=json.dumps({"name": "s1"}))
    body = {"expose": {"enable": True, "mode": "RW", "writeSize": 512}}
    exposed = admin.ok("PATCH", f"{path}/s1", content=json.dumps(body))[0]
    assert exposed["expose"] == {"enable": True, "mode": "RW", "writeSize": 512}
    before = whole_state(admin)
    bad = {"expose": {"enable": True, "mode": "EVERYTHING", "writeSize": 0}}
    qsan_error(admin.request("PATCH", f"{path}/s1", content=json.dumps(bad)), 400, 12003)
    assert whole_state(admin) == before


def test_rollback_deletes_the_later_snapshots_and_delete_all_the_rest(admin: Api) -> None:
    vid = with_space(admin)
    path = f"{SNAPSHOT_TARGETS}/{vid}/snapshots"
    for name in ("s1", "s2", "s3"):
        admin.ok("POST", path, content=json.dumps({"name": name}))
    assert admin.post(f"{path}/s2/rollback").json() == []
    assert [s["name"] for s in snapshots(admin, vid)] == ["s1", "s2"]
    assert "rolled back to snapshot s2" in events(admin)[0]
    assert admin.request("DELETE", path).json() == []
    assert snapshots(admin, vid) == []
    assert admin.ok("GET", f"/rest/storage/snapshot/vdid/{vid}")["snapshots"] == []


def test_delete_all_refuses_while_one_is_mapped(admin: Api) -> None:
    db = volume(admin, "vol-db")
    snapshot = admin.ok("GET", f"/rest/storage/snapshot/vdid/{db['id']}")["snapshots"][0]
    lun = admin.ok("GET", "/storage/availlun/targetid/0")["freeLuns"][0]
    admin.ok("POST", f"/rest/storage/mapsnapshot/targetid/0/lun/{lun}/snapid/{snapshot['id']}")
    before = whole_state(admin)
    qsan_error(admin.request("DELETE", f"{SNAPSHOT_TARGETS}/{db['id']}/snapshots"), 409, 13515)
    assert whole_state(admin) == before
