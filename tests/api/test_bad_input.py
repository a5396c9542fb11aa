"""Bad input never yields 500 and never changes state (api-contract.md, "Conventions", "Errors").

Every parameter of every endpoint in the help listing gets every bad value below, each as its own
test, against one array per module (see test_auth_matrix.SharedArray): each case proves the
answer is a 4xx with the contract's error body, and that neither the array state nor the event
count moved. The rest of the file covers the reader's tolerance (any order, query string, JSON
body), its strictness (unknown, missing and conflicting keys), unknown paths, wrong methods and
repeated requests.

Bad values are given as raw path text, percent-encoded where a client must encode them.
".." is sent as %2E%2E: HTTP clients (httpx among them) remove a literal ".." segment
before the request leaves, so only the encoded form reaches a server.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import PASSWORD, POOLS_SHARE_DISKS, SIMULATED, Harness, array_state, assert_error
from test_auth_matrix import (
    ArrayIds,
    Endpoint,
    SharedArray,
    bare,
    concrete,
    endpoints,
    event_total,
)
from test_openapi import documented_errors

from opensan.domain.errors import ErrorCode


@pytest.fixture(scope="module")
def shared_array(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedArray]:
    shared = SharedArray(tmp_path_factory.mktemp("shared"))
    shared.start()
    try:
        yield shared
    finally:
        shared.stop()


@pytest.fixture
def shared(shared_array: SharedArray) -> Iterator[SharedArray]:
    shared_array.ensure_clean()
    yield shared_array
    shared_array.after_test()


BAD_VALUES = {
    "abc": "abc",
    "negative": "-1",
    "zero": "0",
    "two-pow-63": "9223372036854775808",
    "unknown-id": "9999999999",
    "unknown-small-id": "999",
    "nul": "%00",
    "slash": "a%2Fb",
    "dotdot": "%2E%2E",
    "script": "%3Cscript%3E",
    "bad-utf8": "%FF",
    "long-33": "n" * 33,
    "long-10000": "n" * 10000,
    "digits-33": "1" * 33,
    "decimal": "1.5",
    "leading-space": "%201",
    "plus-sign": "%2B1",
    "hex": "0x10",
    "fullwidth-digit": "%EF%BC%91",
}
UNKNOWN = {"zero", "unknown-id", "unknown-small-id"}  # well-formed numbers
NOT_A_NUMBER = set(BAD_VALUES) - UNKNOWN
OBJECT_IDS = {"vdid", "poolid", "snapid", "diskid", "diskids"}
CHOICES = {"type", "provision", "permission", "status", "host", "force", "role"}
ANY = frozenset({400, 404})


def expected_status(endpoint: Endpoint, name: str, label: str) -> frozenset[int] | None:
    """The answer the contract demands for this bad value; None when the value is valid there.

    Malformed numbers and names answer 400; a well-formed ID of nothing 404; a number outside
    its range 400. Where the contract leaves the class open (an unknown account name or sensor
    for the extensions), 400 and 404 are both accepted here, and separate tests pin the 404.
    """
    action = endpoint.action
    bad, missing = frozenset({400}), frozenset({404})
    if name in OBJECT_IDS:
        return missing if label in UNKNOWN else bad
    if name == "targetid":
        return None if label == "zero" else missing if label in UNKNOWN else bad
    numbers: dict[str, dict[str, frozenset[int] | None]] = {
        # A page past the last answers 200 with no events (tested below).
        "page_num": {"zero": bad, "unknown-small-id": None, "unknown-id": None},
        "lun": {"zero": None, "unknown-small-id": bad, "unknown-id": bad},
        "seconds": {"zero": bad, "unknown-small-id": None, "unknown-id": bad},
        "ms": {"zero": None, "unknown-small-id": None, "unknown-id": bad},
        "controller": {"zero": bad, "unknown-small-id": bad, "unknown-id": bad},
        # Node 0 exists on controller 1: a conflict, not bad input.
        "node": {"zero": None, "unknown-small-id": bad, "unknown-id": bad},
        "window": {"zero": bad, "unknown-small-id": bad, "unknown-id": bad},  # 1-300
        # A workload: 0-1,000,000 IOPS, 0-100% reads, 1-1024 KiB blocks.
        "iops": {"zero": None, "unknown-small-id": None, "unknown-id": bad},
        "readpercent": {"zero": None, "unknown-small-id": bad, "unknown-id": bad},
        "blockkb": {"zero": bad, "unknown-small-id": None, "unknown-id": bad},
        "sizegb": {"zero": None if action == "snapspace" else bad,
                   # 999 GiB is a valid size everywhere; for extendvolume it shrinks the
                   # volume, which is a rule, not the form of the value.
                   "unknown-small-id": None, "unknown-id": bad},
    }
    if name in numbers:
        return bad if label in NOT_A_NUMBER else numbers[name][label]
    if name == "name" or (name == "account" and action == "create"):  # a new one's name
        valid = {"abc", "zero", "two-pow-63", "unknown-id", "unknown-small-id", "decimal", "hex"}
        return None if label in valid else bad
    if name == "raidlevel":
        # "0" is RAID 0 and " 1" RAID 1 (the reader trims): tolerance, not bad input.
        tolerated = {"zero", "leading-space"}
        return None if label in tolerated else bad
    if name in CHOICES:
        return bad
    if name in ("sensor", "account"):
        return ANY
    if name == "password" and action in ("setpassword", "create"):
        # 4-64 printable characters.
        valid = {"two-pow-63", "unknown-id", "script", "long-33", "digits-33", "hex"}
        return None if label in valid else bad
    raise AssertionError(f"no rule for parameter {name} of {endpoint.id}; add one")


def bad_value_cases() -> list[Any]:
    found = []
    for endpoint in endpoints():
        if endpoint.action == "login":
            continue  # account and password are free strings there
        for spec in endpoint.specs:
            for label in BAD_VALUES:
                expected = expected_status(endpoint, spec.name, label)
                if expected is not None:
                    found.append(pytest.param(endpoint, spec.name, label, expected,
                                              id=f"{endpoint.method} {endpoint.prefix} "
                                                 f"{spec.name}={label}"))
    return found


def send(shared: SharedArray, endpoint: Endpoint, path: str, **kw: Any) -> Any:
    return shared.admin.request(endpoint.method, path, **kw)


_DESCRIPTION: dict[str, Any] = {}


def documented(shared: SharedArray, endpoint: Endpoint) -> set[tuple[int, int]]:
    """The errors the endpoint's OpenAPI description names (one description for the run)."""
    if not _DESCRIPTION:
        _DESCRIPTION.update(shared.admin.ok("GET", "/openapi.json"))
    return documented_errors(_DESCRIPTION, endpoint.method, endpoint.path)


def with_bad_value(ids: ArrayIds, endpoint: Endpoint, name: str, raw: str) -> str:
    values = ids.values(endpoint)
    if name == "diskids":
        # Spoil one ID of the list, so the list itself stays plausible.
        listed = values[name].split(",")
        raw = ",".join([*listed[:-1], raw])
    return concrete(endpoint, values, replace={name: raw})


@pytest.mark.matrix
@pytest.mark.parametrize(("endpoint", "name", "label", "expected"), bad_value_cases())
def test_bad_value_is_refused_without_change(shared: SharedArray, endpoint: Endpoint, name: str,
                                             label: str, expected: frozenset[int]) -> None:
    path = with_bad_value(shared.ids, endpoint, name, BAD_VALUES[label])
    response = send(shared, endpoint, path)
    changes = shared.changes()
    assert response.status_code in expected, (path[:200], response.status_code, response.text)
    error = assert_error(response, response.status_code)
    assert (response.status_code, error["code"]) in documented(shared, endpoint), error
    if name == "vdid" and response.status_code == 404:
        assert error["code"] == ErrorCode.VOLUME_NOT_FOUND == 10300, error
    if name == "name" and endpoint.action == "snapshot" and label != "bad-utf8":
        assert error["code"] == ErrorCode.INVALID_SNAPSHOT_NAME == 13502, error
    assert not changes


def test_every_parameter_has_a_rule() -> None:
    for endpoint in endpoints():
        if endpoint.action != "login":
            for spec in endpoint.specs:
                expected_status(endpoint, spec.name, "abc")
    assert len(bad_value_cases()) > 500


@pytest.mark.parametrize("endpoint", [pytest.param(e, id=e.id) for e in endpoints(
    methods=("POST",)) if e.action not in ("login", "logout")])
def test_base_request_is_valid(harness: Harness, endpoint: Endpoint) -> None:
    """The values the bad-value tests start from work, so only the spoiled value is at fault."""
    admin = harness.anonymous.login("admin")
    harness.http.cookies.clear()
    ids = ArrayIds.read(admin)
    response = admin.post(ids.path(endpoint))
    # The fresh array has volumes in its pool, a LUN on target 0 and no failed disk.
    expected = {"deletepool": 409, "deletetarget": 409, "replacedisk": 409}
    if POOLS_SHARE_DISKS:  # no spares, and a pool grows when OSDs join: not supported
        expected.update(addpooldisk=501, setspare=501)
    assert response.status_code == expected.get(endpoint.action, 200), response.text


@pytest.mark.simulated("sensor faults are injected through /rest/sim")
def test_unknown_sensor_is_404(shared: SharedArray) -> None:
    response = shared.admin.post("/rest/sim/sensor/sensor/ctr1-no-such-sensor/status/warning")
    changes = shared.changes()
    assert_error(response, 404)
    assert not changes


def test_unknown_account_is_404(shared: SharedArray) -> None:
    response = shared.admin.post("/rest/account/setpassword/account/nosuchuser/password/abcd1234")
    changes = shared.changes()
    assert_error(response, 404)
    assert not changes


def test_page_past_the_last_is_empty(shared: SharedArray) -> None:
    page = shared.admin.ok("GET", "/rest/log/list/999")
    assert page["page"] == 999 and page["events"] == []


# Missing, unknown and conflicting keys


KEYED = [e for e in endpoints() if any(s.key for s in e.specs)]


def required_cases() -> list[Any]:
    return [pytest.param(e, s.name, id=f"{e.id} without {s.name}")
            for e in endpoints() for s in e.specs if s.required]


@pytest.mark.matrix
@pytest.mark.parametrize(("endpoint", "name"), required_cases())
def test_missing_required_parameter_is_400(shared: SharedArray, endpoint: Endpoint,
                                           name: str) -> None:
    response = send(shared, endpoint, concrete(endpoint, shared.ids.values(endpoint),
                                               leave_out=name))
    changes = shared.changes()
    assert_error(response, 400, ErrorCode.MISSING_PARAMETER)
    assert not changes


def unknown_key_cases() -> list[Any]:
    found = []
    for endpoint in endpoints():
        # An endpoint without parameters has no key/value pairs in its path, a GET no body.
        wheres = ["query"] + (["path"] if endpoint.specs else []) + (
            ["body"] if endpoint.method == "POST" else [])
        found += [pytest.param(endpoint, where, id=f"{endpoint.id} in {where}")
                  for where in wheres]
    return found


@pytest.mark.matrix
@pytest.mark.parametrize(("endpoint", "where"), unknown_key_cases())
def test_unknown_parameter_is_400(shared: SharedArray, endpoint: Endpoint, where: str) -> None:
    path = shared.ids.path(endpoint)
    kw: dict[str, Any] = {}
    if where == "path":
        path += "/bogus/1"
    elif where == "query":
        path += "?bogus=1"
    else:
        kw["json"] = {"bogus": "1"}
    response = send(shared, endpoint, path, **kw)
    changes = shared.changes()
    assert_error(response, 400, ErrorCode.UNKNOWN_PARAMETER)
    assert not changes


def other_value(value: str) -> str:
    if value.isdigit():
        return "1" if value != "1" else "2"
    return value + "x"


def conflict_cases() -> list[Any]:
    found = []
    for endpoint in KEYED:
        sources = ["path+path", "path+query", "query+query"] + (
            ["path+body", "query+body"] if endpoint.method == "POST" else [])  # a GET has no body
        found += [pytest.param(endpoint, source, id=f"{endpoint.id} {source}")
                  for source in sources]
    return found


@pytest.mark.matrix
@pytest.mark.parametrize(("endpoint", "sources"), conflict_cases())
def test_one_key_two_values_is_400(shared: SharedArray, endpoint: Endpoint, sources: str) -> None:
    spec = next(s for s in endpoint.specs if s.key)
    assert spec.key is not None
    values = shared.ids.values(endpoint)
    value, other = values[spec.name], other_value(values[spec.name])
    kw: dict[str, Any] = {}
    if sources == "path+path":
        path = concrete(endpoint, values) + f"/{spec.key}/{other}"
    elif sources == "path+query":
        path = concrete(endpoint, values) + f"?{spec.key}={other}"
    elif sources == "query+query":
        path = (concrete(endpoint, values, leave_out=spec.name)
                + f"?{spec.key}={value}&{spec.key}={other}")
    elif sources == "path+body":
        path, kw["json"] = concrete(endpoint, values), {spec.key: other}
    else:
        path = concrete(endpoint, values, leave_out=spec.name) + f"?{spec.key}={value}"
        kw["json"] = {spec.key: other}
    response = send(shared, endpoint, path, **kw)
    changes = shared.changes()
    assert_error(response, 400, ErrorCode.CONFLICTING_PARAMETER)
    assert not changes


def test_same_value_twice_is_fine(shared: SharedArray) -> None:
    vdid = shared.ids.snap_volume
    expected = shared.admin.ok("GET", f"/rest/storage/snapshot/vdid/{vdid}")
    for path in (f"/rest/storage/snapshot/vdid/{vdid}/vdid/{vdid}",
                 f"/rest/storage/snapshot/vdid/{vdid}?vdid={vdid}",
                 f"/rest/storage/snapshot?vdid={vdid}",
                 "/storage/availlun/targetid/0/targetid/0",
                 "/rest/log/list/1?page=1"):
        response = shared.admin.get(path)
        assert response.status_code == 200, (path, response.text)
    assert shared.admin.ok("GET", f"/rest/storage/snapshot/vdid/{vdid}?vdid={vdid}") == expected


def test_same_value_from_every_source_is_fine(harness: Harness) -> None:
    admin = harness.anonymous.login("admin")
    ids = ArrayIds.read(admin)
    vdid = ids.plain_volume
    response = admin.post(f"/rest/storage/snapspace/vdid/{vdid}/sizegb/10/vdid/{vdid}"
                          f"?vdid={vdid}&sizegb=10", json={"vdid": vdid, "sizegb": "10"})
    assert response.status_code == 200, response.text
    assert response.json()["snapshotSpaceBytes"] == 10 * 1024**3


# The tolerant reader: any order, query string, JSON body


@pytest.mark.parametrize("order", list(itertools.permutations(["targetid", "lun", "vdid"])),
                         ids="-".join)
def test_maplun_pairs_in_any_order(harness: Harness, order: tuple[str, ...]) -> None:
    admin = harness.anonymous.login("admin")
    ids = ArrayIds.read(admin)
    values = {"targetid": ids.target, "lun": ids.free_lun, "vdid": ids.plain_volume}
    path = "/rest/storage/maplun" + "".join(f"/{key}/{values[key]}" for key in order)
    mapping = admin.ok("POST", path)
    assert (mapping["targetId"], mapping["lun"], mapping["volumeId"]) == (
        ids.target, ids.free_lun, ids.plain_volume)
    mapped = admin.ok("GET", "/rest/storage/lunmappinginfo")
    assert [(m["targetId"], m["lun"]) for m in mapped if m["volumeId"] == ids.plain_volume] == [
        (ids.target, ids.free_lun)]


def test_optional_pairs_in_any_order(harness: Harness) -> None:
    admin = harness.anonymous.login("admin")
    ids = ArrayIds.read(admin)
    mapping = admin.ok("POST", f"/rest/storage/maplun/permission/ro/vdid/{ids.plain_volume}"
                               f"/host/iqn.1994-05.com.redhat:host1/lun/{ids.free_lun}"
                               f"/targetid/{ids.target}")
    assert mapping["permission"] == "Read-only"
    assert mapping["hosts"] == ["iqn.1994-05.com.redhat:host1"]


@pytest.mark.parametrize("form", ["query", "json-strings", "json-integers", "path+query",
                                  "path+body"])
def test_post_parameters_from_query_or_body(harness: Harness, form: str) -> None:
    admin = harness.anonymous.login("admin")
    ids = ArrayIds.read(admin)
    vdid = ids.plain_volume
    before = event_total(admin)
    requests: dict[str, tuple[str, dict[str, Any]]] = {
        "query": (f"/rest/storage/snapspace?vdid={vdid}&sizegb=20", {}),
        "json-strings": ("/rest/storage/snapspace", {"json": {"vdid": str(vdid),
                                                              "sizegb": "20"}}),
        "json-integers": ("/rest/storage/snapspace", {"json": {"vdid": vdid, "sizegb": 20}}),
        "path+query": (f"/rest/storage/snapspace/vdid/{vdid}?sizegb=20", {}),
        "path+body": ("/rest/storage/snapspace/sizegb/20", {"json": {"vdid": vdid}}),
    }
    path, kw = requests[form]
    response = admin.post(path, **kw)
    assert response.status_code == 200, response.text
    assert response.json()["volumeId"] == vdid
    assert response.json()["snapshotSpaceBytes"] == 20 * 1024**3
    space = admin.ok("GET", f"/rest/storage/snapshot/vdid/{vdid}")
    assert space["snapshotSpaceBytes"] == 20 * 1024**3
    assert event_total(admin) == before + 1


BAD_BODIES = {
    "not-json": b"vdid=1",
    "array": b"[1, 2]",
    "string": b'"vdid"',
    "boolean-value": b'{"vdid": true, "sizegb": 10}',
    "float-value": b'{"vdid": 1.5, "sizegb": 10}',
    "null-value": b'{"vdid": null, "sizegb": 10}',
    "object-value": b'{"vdid": {"id": 1}, "sizegb": 10}',
    "negative-value": b'{"vdid": -1, "sizegb": 10}',
    "bad-utf8": b'{"vdid": "\xff", "sizegb": 10}',
    "duplicate-key": b'{"vdid": "1", "sizegb": 10, "sizegb": 20}',
    "nested-1000-deep": b"[" * 1000 + b"]" * 1000,
    "object-nested-5000-deep": b'{"vdid": ' * 5000 + b"1" + b"}" * 5000,
    "lone-surrogate": b'{"vdid": "\\ud800", "sizegb": 10}',
}


@pytest.mark.parametrize("body", list(BAD_BODIES))
def test_bad_json_body_is_400(shared: SharedArray, body: str) -> None:
    response = shared.admin.post("/rest/storage/snapspace", content=BAD_BODIES[body],
                                 headers={"Content-Type": "application/json"})
    changes = shared.changes()
    assert_error(response, 400)
    assert not changes


@pytest.mark.parametrize("path", ["/rest/login", "/rest/logout"])
def test_a_body_nested_1000_deep_is_400_before_authentication(shared: SharedArray,
                                                              path: str) -> None:
    """The audit's 500 (RecursionError) on login, and on logout with a token."""
    response = shared.admin.post(path, content=b"[" * 1000 + b"]" * 1000,
                                 headers={"Content-Type": "application/json"})
    changes = shared.changes()  # reads as admin: the logout did not happen
    assert_error(response, 400, ErrorCode.INVALID_ARGUMENT)
    assert not changes


def test_a_lone_surrogate_in_a_password_is_400_not_500(shared: SharedArray) -> None:
    response = shared.http.post("/rest/login", json=None,
                                content=b'{"account": "admin", "password": "\\ud800abcd"}')
    changes = shared.changes()
    assert_error(response, 400, ErrorCode.INVALID_ARGUMENT)
    assert not changes


def test_a_newline_in_a_path_value_reaches_the_endpoint(shared: SharedArray) -> None:
    """It was "no such API" (10005): the catch-all route did not match a newline."""
    response = shared.admin.get("/rest/storage/snapshot/vdid/%0A1")
    assert_error(response, 400, ErrorCode.INVALID_ARGUMENT)
    if SIMULATED:
        sensor = shared.admin.post("/rest/sim/sensor/sensor/%0A1/status/good")
        assert_error(sensor, 404, ErrorCode.OBJECT_NOT_FOUND)
    assert not shared.changes()


def test_one_key_twice_in_the_body_with_two_values_is_400(shared: SharedArray) -> None:
    vdid = shared.ids.plain_volume
    response = shared.admin.post(
        "/rest/storage/snapspace", headers={"Content-Type": "application/json"},
        content=f'{{"vdid": {vdid}, "sizegb": 10, "sizegb": 20}}'.encode())
    changes = shared.changes()
    assert_error(response, 400, ErrorCode.CONFLICTING_PARAMETER)
    assert not changes


def test_bad_query_string_is_400(shared: SharedArray) -> None:
    vdid = shared.ids.plain_volume
    for query in (f"vdid={vdid}&sizegb=%FF", "vdid=abc&sizegb=10", f"vdid={vdid}&sizegb=",
                  f"vdid={vdid}&sizegb=-1"):
        response = shared.admin.post(f"/rest/storage/snapspace?{query}")
        changes = shared.changes()
        assert_error(response, 400)
        assert not changes, query


# Unknown paths and wrong methods


@pytest.mark.parametrize("path", [
    "/rest/nosuch", "/rest/storage/nosuch", "/nosuch", "/rest/storage", "/rest/dashboard",
    "/rest/storage/diskinfo/extra", "/rest/storage/volumeinfo/vdid/1", "/storage/diskinfo",
    "/rest/storage/availluns/targetid/0", "/rest/sim/nosuch/seconds/1",
])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_unknown_path_is_404(shared: SharedArray, method: str, path: str) -> None:
    response = shared.admin.request(method, path)
    changes = shared.changes()
    assert_error(response, 404, ErrorCode.NO_SUCH_PATH)
    assert not changes


def wrong_method_cases() -> list[Any]:
    listed = endpoints()
    served = {(e.method, e.prefix) for e in listed}
    found = []
    for endpoint in listed:
        for method in ("PUT", "DELETE", "PATCH", "GET", "POST"):
            if (method, endpoint.prefix) in served:
                continue  # e.g. /rest/storage/snapshot answers GET and POST
            found.append(pytest.param(endpoint, method, id=f"{method} {endpoint.path}"))
    return found


@pytest.mark.matrix
@pytest.mark.parametrize(("endpoint", "method"), wrong_method_cases())
def test_wrong_method_is_405(shared: SharedArray, endpoint: Endpoint, method: str) -> None:
    response = shared.admin.request(method, shared.ids.path(endpoint))
    changes = shared.changes()
    assert_error(response, 405, ErrorCode.METHOD_NOT_ALLOWED)
    assert not changes


def test_a_405_allows_every_method_the_path_serves(shared: SharedArray) -> None:
    """The audit's PUT .../snapshot/vdid/0 said Allow: GET, though POST is served there too."""
    response = shared.admin.request("PUT", f"/rest/storage/snapshot/vdid/{shared.ids.plain_volume}")
    assert_error(response, 405, ErrorCode.METHOD_NOT_ALLOWED)
    assert {m.strip() for m in response.headers["allow"].split(",")} >= {"GET", "POST"}
    only_get = shared.admin.request("PUT", "/rest/storage/volumeinfo")
    assert {m.strip() for m in only_get.headers["allow"].split(",")} == {"GET"}


def test_wrong_method_without_token_is_still_405(shared: SharedArray) -> None:
    response = bare(shared.http, "GET", "/rest/storage/snapspace/vdid/1/sizegb/1")
    assert_error(response, 405)


# Repeated requests


def test_same_volume_name_twice_is_409(harness: Harness) -> None:
    admin = harness.anonymous.login("admin")
    ids = ArrayIds.read(admin)
    path = f"/rest/storage/createvolume/poolid/{ids.pool}/name/vol-twice/sizegb/10"
    admin.ok("POST", path)
    before, events = array_state(admin), event_total(admin)
    assert_error(admin.post(path), 409, ErrorCode.VOLUME_NAME_TAKEN)
    assert array_state(admin) == before
    assert event_total(admin) == events


def test_delete_twice_is_404(harness: Harness) -> None:
    admin = harness.anonymous.login("admin")
    ids = ArrayIds.read(admin)
    path = f"/rest/storage/deletevolume/vdid/{ids.plain_volume}"
    admin.ok("POST", path)
    before, events = array_state(admin), event_total(admin)
    assert_error(admin.post(path), 404, ErrorCode.VOLUME_NOT_FOUND)
    assert array_state(admin) == before
    assert event_total(admin) == events


@pytest.mark.parametrize("second", ["same-volume", "other-volume"])
def test_same_lun_twice_is_409(harness: Harness, second: str) -> None:
    admin = harness.anonymous.login("admin")
    ids = ArrayIds.read(admin)
    path = f"/rest/storage/maplun/targetid/{ids.target}/lun/{ids.free_lun}/vdid/{{}}"
    admin.ok("POST", path.format(ids.plain_volume))
    before, events = array_state(admin), event_total(admin)
    again = ids.plain_volume if second == "same-volume" else ids.snap_volume
    response = admin.post(path.format(again))
    assert_error(response, 409)
    assert array_state(admin) == before
    assert event_total(admin) == events


def test_unmap_twice_is_404(harness: Harness) -> None:
    admin = harness.anonymous.login("admin")
    ids = ArrayIds.read(admin)
    path = f"/rest/storage/unmaplun/targetid/{ids.target}/lun/{ids.mapped_lun}"
    admin.ok("POST", path)
    before, events = array_state(admin), event_total(admin)
    assert_error(admin.post(path), 404)
    assert array_state(admin) == before
    assert event_total(admin) == events


def test_rejected_login_input_leaves_no_session(shared: SharedArray) -> None:
    """Login's own strings are free, but its keys are checked before any login is tried."""
    for path, kw in (
        (f"/rest/login/account/admin/password/{PASSWORD}/bogus/1", {}),
        (f"/rest/login/account/admin/password/{PASSWORD}/account/user", {}),
        ("/rest/login/account/admin", {}),
        (f"/rest/login/account/admin/password/{PASSWORD}", {"json": {"password": "other"}}),
        (f"/rest/login/account/%FF/password/{PASSWORD}", {}),
    ):
        response = bare(shared.http, "POST", path, **kw)
        changes = shared.changes()
        assert_error(response, 400)
        assert "set-cookie" not in response.headers, path
        assert not changes, path
