"""Accounts beyond two over HTTP (api/routes/accounts.py), and who made each change in the log.

The rules themselves are tested on the service (tests/service/test_accounts.py); here: the JSON
a web page gets, both ways of sending the parameters, the error bodies, the 403 of a disabled
account and the 401 of its sessions, and the account and client address in every event of a
change made through the API. The reader's 403 on each endpoint is in test_auth_matrix.py.
"""

from __future__ import annotations

from typing import Any

from conftest import LIVE, PASSWORD, SIMULATED, Api, Harness, array_state, assert_error
from test_auth_matrix import all_events, event_total

NEW_PASSWORD = "w3b-Passw0rd"
# Who the array sees sending the requests: the test client in-process, the loopback live.
CLIENT = "127.0.0.1" if LIVE else "testclient"


def unchanged(admin: Api, response: Any, status: int, code: int) -> None:
    """The refusal has the error body and code, and neither the array nor the log moved."""
    before, events = array_state(admin), event_total(admin)
    assert_error(response(), status, code)
    assert array_state(admin) == before and event_total(admin) == events


def test_the_account_list_is_json_without_secrets(admin: Api) -> None:
    response = admin.get("/rest/account/accountinfo")
    assert response.status_code == 200 and response.headers["content-type"] == \
        "application/json"
    assert response.json() == [
        {"name": "admin", "role": "admin", "enabled": True, "defaultPassword": SIMULATED},
        {"name": "user", "role": "user", "enabled": True, "defaultPassword": SIMULATED}]
    assert "scrypt" not in response.text and "hash" not in response.text.lower()


def test_accounts_are_created_from_the_path_or_a_json_body(harness: Harness, admin: Api) -> None:
    created = admin.ok("POST", f"/rest/account/create/account/ops/role/admin/password/"
                               f"{NEW_PASSWORD}")
    assert created == {"name": "ops", "role": "admin", "enabled": True, "defaultPassword": False}
    # As a web page sends it: the same keys in a JSON body.
    web = admin.ok("POST", "/rest/account/create",
                   json={"account": "web", "role": "user", "password": NEW_PASSWORD})
    assert web == {"name": "web", "role": "user", "enabled": True, "defaultPassword": False}
    assert [a["name"] for a in admin.ok("GET", "/rest/account/accountinfo")] == \
        ["admin", "ops", "user", "web"]
    ops = harness.anonymous.login("ops", NEW_PASSWORD)
    ops.ok("GET", "/rest/account/accountinfo")  # an administrator
    reader = harness.anonymous.login("web", NEW_PASSWORD)
    harness.http.cookies.clear()
    assert_error(reader.post("/rest/account/disable/account/ops"), 403)
    assert NEW_PASSWORD not in str(all_events(admin))


def test_a_new_account_is_refused_with_the_error_body(admin: Api) -> None:
    admin.ok("POST", f"/rest/account/create/account/ops/role/user/password/{NEW_PASSWORD}")
    for path, status, code in [
        (f"ops/role/user/password/{NEW_PASSWORD}", 409, 16001),  # the name is taken
        (f"admin/role/admin/password/{NEW_PASSWORD}", 409, 16001),
        (f"system/role/user/password/{NEW_PASSWORD}", 400, 12003),  # reserved for the array
        (f"-ops/role/user/password/{NEW_PASSWORD}", 400, 12003),
        (f"web/role/root/password/{NEW_PASSWORD}", 400, 12003),
        ("web/role/user/password/abc", 400, 12003),  # too short
        ("web/role/user", 400, 10004),  # no password
    ]:
        unchanged(admin, lambda p=path: admin.post(f"/rest/account/create/account/{p}"),
                  status, code)


def test_a_disabled_account_gets_403_at_login_and_its_sessions_end_at_once(
        harness: Harness, admin: Api) -> None:
    http = harness.http
    reader = harness.anonymous.login("user")
    http.cookies.clear()
    reader.ok("GET", "/rest/storage/volumeinfo")
    disabled = admin.ok("POST", "/rest/account/disable/account/user")
    assert disabled["enabled"] is False
    assert_error(reader.get("/rest/storage/volumeinfo"), 401)
    refused = assert_error(http.post(f"/rest/login/account/user/password/{PASSWORD}"), 403,
                           16004)
    assert "disabled" in refused["message"]
    # Without the password nothing is told.
    assert_error(http.post("/rest/login/account/user/password/wrong-pw"), 401, 10103)
    assert admin.ok("POST", "/rest/account/enable/account/user")["enabled"] is True
    harness.anonymous.login("user").ok("GET", "/rest/storage/volumeinfo")


def test_an_administrator_keeps_their_own_account_and_the_array_an_administrator(
        admin: Api) -> None:
    for verb in ("disable", "delete"):
        unchanged(admin, lambda v=verb: admin.post(f"/rest/account/{v}/account/admin"), 409,
                  16003)
    for verb in ("disable", "enable", "delete"):
        unchanged(admin, lambda v=verb: admin.post(f"/rest/account/{v}/account/nobody"), 404,
                  16000)


def test_the_built_in_user_can_be_deleted(harness: Harness, admin: Api) -> None:
    deleted = admin.ok("POST", "/rest/account/delete/account/user")
    assert deleted["name"] == "user"
    assert [a["name"] for a in admin.ok("GET", "/rest/account/accountinfo")] == ["admin"]
    assert_error(harness.http.post(f"/rest/login/account/user/password/{PASSWORD}"), 401)


def test_every_change_through_the_api_names_its_account_and_client(harness: Harness,
                                                                    admin: Api) -> None:
    pool = admin.ok("GET", "/rest/storage/poolinfo")[0]["id"]
    luns = admin.ok("GET", "/storage/availlun/targetid/0")["freeLuns"]
    first = event_total(admin) + 1
    volume = admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool}/name/vol-audit/sizegb/1")
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
    admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/snap-audit")
    admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/{luns[0]}/vdid/{volume['id']}")
    admin.ok("POST", f"/rest/storage/unmaplun/targetid/0/lun/{luns[0]}")
    admin.ok("POST", f"/rest/account/create/account/audit/role/user/password/{NEW_PASSWORD}")
    harness.anonymous.login("audit", NEW_PASSWORD)
    harness.http.cookies.clear()
    admin.ok("POST", "/rest/account/disable/account/audit")
    if SIMULATED:
        admin.ok("POST", "/rest/sim/latency/ms/0")
    found = sorted((e for e in all_events(admin) if e["id"] >= first), key=lambda e: e["id"])
    made = [e for e in found if e["account"] != "system"]  # the tick's may come between
    assert [(e["source"], e["account"], e["client"]) for e in made] == [
        ("Volume", "admin", CLIENT), ("Snapshot", "admin", CLIENT),
        ("Snapshot", "admin", CLIENT), ("LUN", "admin", CLIENT), ("LUN", "admin", CLIENT),
        ("Account", "admin", CLIENT), ("Account", "audit", CLIENT),
        ("Account", "admin", CLIENT), *([("System", "admin", CLIENT)] if SIMULATED else [])]
    assert all(e["client"] is None for e in found if e["account"] == "system")


def test_a_failed_login_names_its_client_and_no_account(harness: Harness, admin: Api) -> None:
    first = event_total(admin) + 1
    assert_error(harness.http.post("/rest/login/account/admin/password/wrong-pw"), 401)
    failed = [e for e in all_events(admin) if e["id"] >= first and e["source"] == "Account"]
    assert [(e["message"], e["account"], e["client"]) for e in failed] == [
        (f"Login failed for account admin from {CLIENT}.", None, CLIENT)]


def test_the_events_of_a_new_array_are_the_systems(admin: Api) -> None:
    """Its start (and the passwords a real array's were given offline, before it)."""
    events = all_events(admin)
    start = next(i for i, e in enumerate(events) if e["message"].endswith("initialized."))
    assert {(e["account"], e["client"]) for e in events[start:]} == {("system", None)}
