"""Firmware profiles: an array answers QSAN's V1 codes unless its profile says V2; the same
refusals then give the 500xxxx codes with their statuses, and change nothing. The choice is
kept in the records: a later start answers the same family."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import Api
from xevo_support import (
    SNAPSHOT_TARGETS,
    VOLUMES,
    events,
    profiled_array,
    qsan_error,
    whole_state,
    xevo_login,
)


def refusals(admin: Api) -> list[tuple[str, str, object, int, int, int, int]]:
    """(method, path, body, V1 status, V1 code, V2 status, V2 code) of refusals."""
    volumes = admin.ok("GET", VOLUMES)
    snapped = next(v for v in volumes if admin.ok("GET", f"{SNAPSHOT_TARGETS}/{v['id']}/snapshots"))
    snapshot = admin.ok("GET", f"{SNAPSHOT_TARGETS}/{snapped['id']}/snapshots")[0]
    pool = admin.ok("GET", "/rest/v2/storage/pools")[0]["id"]
    return [
        ("DELETE", f"{VOLUMES}/11111111", None, 400, 10300, 404, 5000404),
        ("GET", f"{VOLUMES}/2222222222", None, 404, 10300, 404, 5000404),
        ("POST", VOLUMES, {"name": volumes[0]["name"], "totalSize": 1024, "poolId": pool},
         400, 12501, 409, 5005151),
        ("POST", f"{SNAPSHOT_TARGETS}/{snapped['id']}/snapshots", {"name": snapshot["name"]},
         429, 13514, 409, 5005154),
        ("POST", f"{SNAPSHOT_TARGETS}/{snapped['id']}/snapshots", {"name": "x" * 40},
         400, 13502, 400, 5005502),
        ("PATCH", f"{VOLUMES}/{snapped['id']}", {"totalSize": "5120"}, 400, 12003, 400, 5005999),
        ("DELETE", "/rest/v2/backup/replicate/11111111/task", None, 400, 10300, 404, 5000404),
        # No QSAN code: OpenSAN's own in both families.
        ("GET", "/rest/v2/storage/pools/1", None, 404, 10400, 404, 10400),
    ]


def check(admin: Api, family: int) -> None:
    before = whole_state(admin)
    for method, path, body, *answers in refusals(admin):
        status, code = answers[2 * family: 2 * family + 2]
        content = json.dumps(body) if body is not None else None
        qsan_error(admin.request(method, path, content=content), status, code)
    assert whole_state(admin) == before


def test_the_default_profile_answers_v1(tmp_path: Path) -> None:
    with profiled_array(tmp_path, "") as admin:
        check(admin, 0)


def test_under_the_v2_profile_the_same_refusals_answer_v2(tmp_path: Path) -> None:
    with profiled_array(tmp_path, 'firmware = "V2"') as admin:
        check(admin, 1)
        assert any("V2 firmware" in message for message in events(admin))
        # The read-only account's refusal and SANOS's own answers do not change.
        reader = xevo_login(admin.http, "user")
        token = reader.json()["accessToken"]
        qsan_error(admin.http.delete(f"{VOLUMES}/11111111", headers={"Authorization": token}),
                   403, 10107)
        response = admin.http.post("/rest/storage/deletevolume/vdid/9999999999",
                                   headers={"Authorization": admin.token or ""})
        qsan_error(response, 404, 10300)


@pytest.mark.simulated("opens one state dir twice, which a Linux or Ceph test host is not made for")
def test_a_later_start_answers_the_same_family(tmp_path: Path) -> None:
    with profiled_array(tmp_path, 'firmware = "V2"') as admin:
        qsan_error(admin.request("DELETE", f"{VOLUMES}/11111111"), 404, 5000404)
    # The state dir is the same; the profile of a later start is not applied again.
    with profiled_array(tmp_path, 'firmware = "V1"') as admin:
        qsan_error(admin.request("DELETE", f"{VOLUMES}/11111111"), 404, 5000404)
