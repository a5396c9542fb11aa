"""The OpenAPI description (api/openapi.py) says everything, and says it truly: a valid document,
a response schema for every operation that the real answers fit, every error status with the
codes it can carry, the security scheme, enums for choices and the optional path segments."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from conftest import PASSWORD, Api, Harness, assert_error
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from test_auth_matrix import ArrayIds, bare, endpoints

from opensan.domain.errors import HTTP_STATUS, ErrorCode

Doc = dict[str, Any]


def operations(doc: Doc) -> list[tuple[str, str, dict[str, Any]]]:
    """SANOS's operations; XEVO's (tag XEVO) have QSAN's codes and their own test
    (tests/api/xevo/test_xevo_openapi.py)."""
    return [(method.upper(), path, operation) for path, methods in doc["paths"].items()
            for method, operation in methods.items() if operation["tags"] != ["XEVO"]]


def documented_errors(doc: Doc, method: str, manual_path: str) -> set[tuple[int, int]]:
    """(status, code) of every error the endpoint at this help-listing path documents."""
    for op_method, _, operation in operations(doc):
        sanos = operation.get("x-sanos")
        if op_method == method and sanos and sanos["path"] == manual_path:
            return {(int(status), code) for status, answer in operation["responses"].items()
                    if int(status) >= 400 for code in error_codes_of(answer)}
    raise AssertionError(f"no operation for {method} {manual_path}")


def error_codes_of(answer: dict[str, Any]) -> list[int]:
    first, narrowed = answer["content"]["application/json"]["schema"]["allOf"]
    assert first == {"$ref": "#/components/schemas/ErrorBody"}, answer
    codes: list[int] = narrowed["properties"]["error"]["properties"]["code"]["enum"]
    return codes


def check_answer(doc: Doc, method: str, template: str, response: httpx.Response) -> None:
    """The answer is one the operation documents, and its body fits the documented schema."""
    answers = doc["paths"][template][method.lower()]["responses"]
    assert str(response.status_code) in answers, (method, template, response.text)
    schema = answers[str(response.status_code)]["content"]["application/json"]["schema"]
    Draft202012Validator({"components": doc["components"], **schema}).validate(response.json())


@pytest.fixture
def doc(admin: Api) -> Doc:
    described: Doc = admin.ok("GET", "/openapi.json")
    return described


def test_the_description_is_valid_openapi(doc: Doc) -> None:
    validate(doc)
    assert doc["openapi"].startswith("3.1")


def test_the_description_needs_a_session(anonymous: Api) -> None:
    assert_error(anonymous.get("/openapi.json"), 401, ErrorCode.NOT_LOGGED_IN)


def test_every_operation_has_its_response_schema(doc: Doc) -> None:
    schemas = doc["components"]["schemas"]
    for method, path, operation in operations(doc):
        content = operation["responses"]["200"]["content"]
        (media_type, answer), = content.items()
        schema = answer["schema"]
        if media_type != "application/json":
            assert schema == {"type": "string", "format": "binary"}, path
            continue
        ref = schema.get("$ref") or schema.get("items", {}).get("$ref")
        assert ref, (method, path, schema)
        model = schemas[ref.rsplit("/", 1)[1]]
        assert model["type"] == "object" and ("properties" in model), (method, path, model)
        # EmptyOut is an empty object, and says so.
        assert model["properties"] or model["additionalProperties"] is False, (method, path)


def test_every_operation_documents_its_errors_with_the_error_body(doc: Doc) -> None:
    error_body = doc["components"]["schemas"]["ErrorBody"]
    assert error_body["required"] == ["error"]
    assert doc["components"]["schemas"]["ErrorDetail"]["required"] == ["code", "message"]
    for method, path, operation in operations(doc):
        errors = {int(s): a for s, a in operation["responses"].items() if s != "200"}
        assert {400, 500} <= set(errors), (method, path)
        for status, answer in errors.items():
            codes = error_codes_of(answer)
            assert codes and all(HTTP_STATUS[ErrorCode(code)] == status for code in codes), (
                method, path, status, codes)
            assert all(str(code) in answer["description"] for code in codes), answer


def test_each_operation_documents_the_errors_of_its_own_work(doc: Doc) -> None:
    snapshot = documented_errors(doc, "POST", "/rest/storage/snapshot/vdid/<vdid>[/name/<name>]")
    assert {(404, 10300), (409, 13508), (409, 13501), (409, 13514), (400, 13502),
            (403, 10107), (403, 10106), (401, 10101)} <= snapshot
    volumes = documented_errors(doc, "GET", "/rest/storage/volumeinfo")
    # A read by any account: no forbidden, no object to miss, no state to conflict with.
    assert not {status for status, _ in volumes} & {403, 404, 409}
    login = documented_errors(doc, "POST", "/rest/login/account/<username>/password/<password>")
    assert {(401, 10103), (429, 10105), (503, 10011)} <= login
    assert (401, 10101) not in login


def test_real_answers_are_the_documented_ones(harness: Harness, admin: Api, reader: Api,
                                              doc: Doc) -> None:
    """Answers of each kind fit what their operation documents: its status, its codes, its
    response schema (the fuzz of CI checks this on generated requests too)."""
    volumes = admin.ok("GET", "/rest/storage/volumeinfo")
    bare_volume = next(v for v in volumes if v["snapshotSpaceBytes"] == 0)
    spaced = next(v for v in volumes if v["snapshotSpaceBytes"] > 0)
    target = admin.ok("GET", "/rest/storage/availtarget")[0]["id"]
    page = "/rest/log/list/{page}"
    take = "/rest/storage/snapshot/vdid/{vdid}"
    named = "/rest/storage/snapshot/vdid/{vdid}/name/{name}"
    login = "/rest/login/account/{account}/password/{password}"
    http = harness.http
    answers: list[tuple[str, str, httpx.Response]] = [
        ("GET", "/rest/storage/volumeinfo", admin.get("/rest/storage/volumeinfo")),
        ("GET", "/rest/storage/poolinfo", admin.get("/rest/storage/poolinfo")),
        ("GET", "/rest/storage/diskinfo", reader.get("/rest/storage/diskinfo")),
        ("GET", "/rest/storage/disksmart", admin.get("/rest/storage/disksmart")),
        ("GET", "/rest/storage/availtarget", admin.get("/rest/storage/availtarget")),
        ("GET", "/rest/storage/lunmappinginfo", admin.get("/rest/storage/lunmappinginfo")),
        ("GET", "/rest/dashboard/systeminfo", admin.get("/rest/dashboard/systeminfo")),
        ("GET", "/rest/dashboard/hwmonitor", admin.get("/rest/dashboard/hwmonitor")),
        ("GET", "/rest/", http.get("/rest/")),
        ("GET", page, admin.get("/rest/log/list/1")),
        ("GET", page, admin.get("/rest/log/list/0")),
        ("GET", "/rest/storage/snapshot/vdid/{vdid}",
         admin.get(f"/rest/storage/snapshot/vdid/{spaced['id']}")),
        ("GET", "/rest/storage/availlun/targetid/{targetid}",
         admin.get(f"/rest/storage/availlun/targetid/{target}")),
        ("GET", "/rest/storage/availlun/targetid/{targetid}",
         admin.get("/rest/storage/availlun/targetid/999")),
        ("GET", "/rest/storage/volumeinfo", bare(http, "GET", "/rest/storage/volumeinfo")),
        ("GET", "/rest/storage/volumeinfo", bare(http, "GET", "/rest/storage/volumeinfo",
                                                 headers={"Authorization": "no-such-token"})),
        ("GET", "/rest/storage/volumeinfo", admin.get("/rest/storage/volumeinfo?x=1")),
        ("POST", named, admin.post(f"/rest/storage/snapshot/vdid/{spaced['id']}/name/first")),
        ("POST", named, admin.post(f"/rest/storage/snapshot/vdid/{spaced['id']}/name/first")),
        ("POST", named, admin.post(f"/rest/storage/snapshot/vdid/{spaced['id']}/name/-bad")),
        ("POST", take, admin.post(f"/rest/storage/snapshot/vdid/{bare_volume['id']}")),
        ("POST", take, admin.post("/rest/storage/snapshot/vdid/9999999999")),
        ("POST", take, reader.post(f"/rest/storage/snapshot/vdid/{spaced['id']}")),
        ("POST", "/rest/storage/unmaplun/targetid/{targetid}/lun/{lun}",
         admin.post(f"/rest/storage/unmaplun/targetid/{target}/lun/200")),
        ("POST", "/rest/storage/setspare/diskids/{diskids}/type/{type}",
         admin.post("/rest/storage/setspare/diskids/1/type/nothing")),
        ("POST", login, http.post(f"/rest/login/account/user/password/{PASSWORD}")),
        ("POST", login, http.post("/rest/login/account/user/password/wrong")),
        ("POST", "/rest/logout", reader.post("/rest/logout")),
    ]
    for method, template, response in answers:
        check_answer(doc, method, template, response)
    assert sorted({r.status_code for _, _, r in answers}) == [200, 400, 401, 403, 404, 409]


def test_every_refusal_of_access_is_documented(harness: Harness, admin: Api, reader: Api,
                                               doc: Doc) -> None:
    """No token (401), the read-only account (403) and the cookie without the CSRF token (403)
    answer codes each endpoint documents; the refusals come before any work, so the array
    stays as it is."""
    ids = ArrayIds.read(admin)
    assert admin.token is not None
    seen = set()
    for endpoint in endpoints(access=("any account", "admin")):
        documented = documented_errors(doc, endpoint.method, endpoint.path)
        path = ids.path(endpoint)
        refusals = [bare(harness.http, endpoint.method, path)]
        if endpoint.access == "admin":
            refusals.append(reader.request(endpoint.method, path))
        if endpoint.method == "POST":
            harness.http.cookies.set("opensan_session", admin.token)
            refusals.append(harness.http.post(path))
        for response in refusals:
            error = assert_error(response, response.status_code)
            assert (response.status_code, error["code"]) in documented, (endpoint.id, error)
            seen.add(error["code"])
    assert seen == {ErrorCode.NOT_LOGGED_IN, ErrorCode.FORBIDDEN, ErrorCode.CSRF_REFUSED}


def test_the_security_scheme_is_applied_where_a_session_is_needed(harness: Harness,
                                                                  doc: Doc) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["token"] == {**schemes["token"], "type": "apiKey", "in": "header",
                                "name": "Authorization"}
    assert schemes["session"] == {**schemes["session"], "type": "apiKey", "in": "cookie",
                                  "name": "opensan_session"}
    for method, path, operation in operations(doc):
        public = path in ("/rest/", "/rest/login/account/{account}/password/{password}")
        assert operation["security"] == ([] if public else [{"token": []}, {"session": []}]), (
            method, path)
        if method == "GET" and "{" not in path and "servicepackage" not in path:
            # What it says is what the server does: without token or cookie, 401.
            assert (bare(harness.http, "GET", path).status_code == 401) is not public, path


def enum_of(doc: Doc, path: str, method: str, name: str) -> list[str]:
    (param,) = [p for p in doc["paths"][path][method]["parameters"] if p["name"] == name]
    schema = param["schema"]
    found: list[str] = schema.get("enum") or next(
        branch["enum"] for branch in schema["anyOf"] if "enum" in branch)
    return found


def test_choices_are_enums(doc: Doc) -> None:
    maplun = "/rest/storage/maplun/targetid/{targetid}/lun/{lun}/vdid/{vdid}"
    pool = "/rest/storage/createpool/name/{name}/raidlevel/{raidlevel}/diskids/{diskids}"
    assert enum_of(doc, f"{maplun}/permission/{{permission}}", "post", "permission") == ["rw",
                                                                                        "ro"]
    assert enum_of(doc, f"{pool}/type/{{type}}/force/{{force}}", "post", "type") == ["thick",
                                                                                    "thin"]
    assert enum_of(doc, f"{pool}/type/{{type}}/force/{{force}}", "post", "force") == ["yes", "no"]
    assert enum_of(doc, pool, "post", "raidlevel") == [
        "RAID 0", "RAID 1", "RAID 5", "RAID 6", "RAID 10", "RAID 50", "RAID 60"]
    assert enum_of(doc, "/rest/storage/setspare/diskids/{diskids}/type/{type}", "post",
                   "type") == ["global", "dedicated", "free"]
    # and in the answers: roles, levels, health words
    schemas = doc["components"]["schemas"]
    assert schemas["Role"]["enum"] == ["admin", "user"]
    assert schemas["EventLevel"]["enum"] == ["INFO", "WARNING", "ERROR"]
    assert "Degraded" in schemas["PoolHealth"]["enum"]
    assert schemas["LoginOut"]["properties"]["role"] == {"$ref": "#/components/schemas/Role"}


def test_an_enum_word_is_taken_in_any_case(admin: Api) -> None:
    target = admin.ok("GET", "/rest/storage/availtarget")[0]["id"]
    volume = admin.ok("GET", "/rest/storage/volumeinfo")[-1]["id"]
    free = admin.ok("GET", f"/rest/storage/availlun/targetid/{target}")["freeLuns"][0]
    mapped = admin.ok("POST", f"/rest/storage/maplun/targetid/{target}/lun/{free}/vdid/{volume}"
                              "/permission/RO")
    assert mapped["permission"] == "Read-only"
    assert_error(admin.post(f"/rest/storage/maplun/targetid/{target}/lun/{free + 1}/vdid/"
                            f"{volume}/permission/rx"), 400, ErrorCode.INVALID_ARGUMENT)


def test_optional_segments_are_operations_of_their_own(admin: Api, doc: Doc) -> None:
    paths = doc["paths"]
    assert "post" in paths["/rest/storage/snapshot/vdid/{vdid}"]
    assert "post" in paths["/rest/storage/snapshot/vdid/{vdid}/name/{name}"]
    maplun = "/rest/storage/maplun/targetid/{targetid}/lun/{lun}/vdid/{vdid}"
    assert {p for p in paths if p.startswith(maplun)} == {
        maplun, f"{maplun}/permission/{{permission}}", f"{maplun}/host/{{host}}",
        f"{maplun}/permission/{{permission}}/host/{{host}}"}
    # Each path form is described once, and the help listing still names each endpoint once.
    assert paths[f"{maplun}/host/{{host}}"]["post"]["summary"].endswith("(with host)")
    listing = admin.ok("GET", "/rest/")
    manual = [item["path"] for item in listing if item["api"] == "SANOS"]
    assert len(manual) == len(set(manual))
    assert "/rest/storage/snapshot/vdid/<vdid>[/name/<name>]" in manual
    sanos = [op["x-sanos"]["path"] for _, _, op in operations(doc) if "x-sanos" in op]
    assert sorted(sanos) == sorted(manual)


def test_a_form_with_an_optional_segment_does_what_it_says(admin: Api) -> None:
    volume = next(v for v in admin.ok("GET", "/rest/storage/volumeinfo")
                  if v["snapshotSpaceBytes"] > 0)
    taken = admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/before-upgrade")
    assert taken["name"] == "before-upgrade"
