"""The replicate task clean-up QSAN's CSI driver calls after a clone: OpenSAN keeps no
replication task, so an existing volume answers [] and nothing changes; a missing one is
QSAN's invalid-volume refusal."""

from __future__ import annotations

from conftest import Api
from xevo_support import VOLUMES, qsan_error, whole_state


def task(volume_id: str) -> str:
    return f"/rest/v2/backup/replicate/{volume_id}/task"


def test_an_existing_volume_has_no_task_to_clean_up(admin: Api) -> None:
    volume = admin.ok("GET", VOLUMES)[0]
    assert volume["replicaTargetId"] == "4294967295"
    before = whole_state(admin)
    answer = admin.request("DELETE", task(volume["id"]))
    assert (answer.status_code, answer.json()) == (200, [])
    assert whole_state(admin) == before  # no change, no event
    assert admin.request("DELETE", task(volume["id"])).json() == []  # and again


def test_refusals_change_nothing(admin: Api, reader: Api) -> None:
    volume = admin.ok("GET", VOLUMES)[0]["id"]
    before = whole_state(admin)
    qsan_error(admin.request("DELETE", task("11111111")), 400, 10300)
    qsan_error(admin.request("DELETE", task("abc")), 400, 10300)
    qsan_error(admin.request("DELETE", task(volume), content=b'{"x": 1}'), 400, 12003)
    qsan_error(admin.request("DELETE", task(volume) + "?force=1"), 400, 12003)
    qsan_error(reader.request("DELETE", task(volume)), 403, 10107)
    assert whole_state(admin) == before
