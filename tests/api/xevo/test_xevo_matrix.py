"""Who may call what through XEVO, for every XEVO endpoint of the help listing: no token is
401, the read-only account reads every GET and is refused (403, nothing changed) every change,
with a request that the administrator's token would carry out."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import SIMULATED, Api, Harness
from xevo_support import qsan_error, whole_state, xevo_api

from opensan.api.xevo import ENDPOINTS
from opensan.api.xevo.nas import NAS_CALLS
from opensan.domain.errors import ErrorCode

# Linux and Ceph arrays have no Fibre Channel host card: their FC port list answers QSAN's 501.
FC_PORTS = ("GET", "/rest/v2/dataTransfer/protocol/fibreChannel")
NOT_SERVED = NAS_CALLS if SIMULATED else {*NAS_CALLS, FC_PORTS}


def ids(api: Api) -> dict[str, str]:
    """A valid value for each path parameter on a fresh array: the volume has snapshots (and
    is mapped, so a valid DELETE of it is of another: see VOLUME_DELETE), the target a LUN."""
    volumes = api.ok("GET", "/rest/v2/storage/block/volumes")
    snapped = next(v for v in volumes
                   if api.ok("GET", f"/rest/v2/backup/snapshot/targets/{v['id']}/snapshots"))
    snapshot = api.ok("GET", f"/rest/v2/backup/snapshot/targets/{snapped['id']}/snapshots")[-1]
    target = next(t for t in api.ok("GET", "/rest/v2/dataTransfer/targets")
                  if api.ok("GET", f"/rest/v2/dataTransfer/targets/{t['id']}/luns/"))
    lun = api.ok("GET", f"/rest/v2/dataTransfer/targets/{target['id']}/luns/")[0]
    return {"poolId": api.ok("GET", "/rest/v2/storage/pools")[0]["id"],
            "volumeId": snapped["id"], "snapshotId": snapshot["id"], "targetId": target["id"],
            "lunId": lun["id"], "userId": "user", "groupId": "User_Group", "encId": "0"}


# Changes whose request is valid for another object than ids() gives.
OTHER_OBJECT: dict[tuple[str, str], Any] = {
    # A volume without snapshots or LUNs, and a target without LUNs, can be deleted.
    ("DELETE", "/rest/v2/storage/block/volumes/{volumeId}"):
        lambda api, values: {**values, "volumeId": next(
            v["id"] for v in api.ok("GET", "/rest/v2/storage/block/volumes")
            if not v["targetId"] and not api.ok(
                "GET", f"/rest/v2/backup/snapshot/targets/{v['id']}/snapshots"))},
    # Every target of a fresh array has LUNs: make one without.
    ("DELETE", "/rest/v2/dataTransfer/targets/{targetId}"):
        lambda api, values: {**values, "targetId": api.ok(
            "POST", "/rest/v2/dataTransfer/targets",
            content=json.dumps({"name": "empty", "type": "iSCSI"}))["id"]},
}


def bodies(api: Api) -> dict[tuple[str, str], Any]:
    """A valid body for each XEVO change that takes one."""
    pool = api.ok("GET", "/rest/v2/storage/pools")[0]["id"]
    values = ids(api)
    eths = api.ok("GET", "/rest/v2/dataTransfer/targets")[0]["iscsi"][0]["eths"]
    plain = next(v["id"] for v in api.ok("GET", "/rest/v2/storage/block/volumes")
                 if not v["targetId"])
    space = api.ok("GET", f"/rest/v2/backup/snapshot/targets/{values['volumeId']}")
    return {
        ("PATCH", "/rest/v2/backup/snapshot/targets/{volumeId}"):
            {"totalSize": space["totalSize"] + 1024},
        ("POST", "/rest/v2/backup/snapshot/targets/{volumeId}/snapshots"): {"name": "matrix-snap"},
        ("PATCH", "/rest/v2/backup/snapshot/targets/{volumeId}/snapshots/{snapshotId}"):
            {"trash": {"inTrash": True}},
        ("DELETE", "/rest/v2/backup/snapshot/targets/{volumeId}/snapshots/{snapshotId}"):
            {"permanent": False},
        ("POST", "/rest/v2/dataTransfer/targets"):
            {"name": "matrix-target", "type": "iSCSI", "iscsi": [{"eths": eths}]},
        ("PATCH", "/rest/v2/dataTransfer/targets/{targetId}"): {"name": "matrix-renamed"},
        ("POST", "/rest/v2/dataTransfer/targets/{targetId}/luns"):
            {"volumeId": plain, "hosts": [{"name": "*"}]},
        ("PATCH", "/rest/v2/dataTransfer/targets/{targetId}/luns/{lunId}"): {"name": "200"},
        ("POST", "/rest/v2/storage/block/volumes"):
            {"name": "matrix-vol", "totalSize": 1024, "poolId": pool},
        ("PATCH", "/rest/v2/storage/block/volumes/{volumeId}"): {"name": "matrix-renamed"},
        ("POST", "/rest/v2/storage/block/volumes/{volumeId}/clone"):
            {"poolId": pool, "volumeName": "matrix-clone", "snapshotId": values["snapshotId"]},
        ("PATCH", "/rest/v2/storage/qos/volumes"): {"enableQos": True, "qosRule": "IO_PRIORITY"},
    }


LISTED = [(e.method, prefix, e.access.value) for e in ENDPOINTS
          for prefix in (e.prefix, *e.aliases)]
CHANGES = [(m, p) for m, p, a in LISTED if a == "admin"]
READS = [(m, p) for m, p, a in LISTED if a == "any account"]


def concrete(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_the_listing_holds_the_declared_endpoints(harness: Harness) -> None:
    listed = {(i["method"], i["path"], i["access"]) for i in
              harness.anonymous.ok("GET", "/rest/") if i["api"] == "XEVO"}
    assert listed == set(LISTED)
    public = {(m, p) for m, p, a in LISTED if a == "public"}
    assert public == {("POST", "/auth/get"), ("POST", "/auth/refresh"), ("GET", "/rest/v1/about")}
    assert all(m == "GET" for m, _p in READS) and all(m != "GET" for m, _p in CHANGES)


@pytest.mark.matrix
@pytest.mark.parametrize(("method", "path"), CHANGES + READS)
def test_no_token_is_401(harness: Harness, method: str, path: str) -> None:
    admin = xevo_api(harness.http, "admin")
    before = whole_state(admin)
    body = bodies(admin).get((method, path))
    values = {**ids(admin), "fileVolumeId": "1", "shareId": "1", "sharehostId": "1"}
    response = harness.anonymous.request(method, concrete(path, values),
                                         content=json.dumps(body) if body else None)
    qsan_error(response, 401, 10101)
    assert whole_state(admin) == before


@pytest.mark.matrix
@pytest.mark.parametrize(("method", "path"), CHANGES)
def test_the_reader_is_refused_every_change(harness: Harness, method: str, path: str) -> None:
    admin = xevo_api(harness.http, "admin")
    reader = xevo_api(harness.http, "user")
    values = {**ids(admin), "fileVolumeId": "1", "shareId": "1", "sharehostId": "1"}
    body = bodies(admin).get((method, path))
    if (method, path) in OTHER_OBJECT:
        values = OTHER_OBJECT[(method, path)](admin, values)
    before = whole_state(admin)
    content = json.dumps(body) if body else None
    qsan_error(reader.request(method, concrete(path, values), content=content), 403,
               ErrorCode.FORBIDDEN)
    assert whole_state(admin) == before
    # The same request is one the administrator may make (a SAN has no NAS calls: 501).
    answer = admin.request(method, concrete(path, values), content=content)
    assert answer.status_code == (501 if (method, path) in NAS_CALLS else 200), answer.text


@pytest.mark.parametrize(("method", "path"), READS)
def test_the_reader_reads_every_get(harness: Harness, method: str, path: str) -> None:
    reader = xevo_api(harness.http, "user")
    values = {**ids(reader), "fileVolumeId": "1", "shareId": "1", "sharehostId": "1"}
    if (method, path) in NOT_SERVED:
        qsan_error(reader.request(method, concrete(path, values)), 501, 15000)
    else:
        reader.ok(method, concrete(path, values))
