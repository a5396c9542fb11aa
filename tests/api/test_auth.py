"""Where the token comes from and the CSRF rule for the session cookie (api/auth.py), and the
API description, which needs a session like the API it describes."""

from __future__ import annotations

import httpx
import pytest
from conftest import PASSWORD, Api, Harness, array_state, assert_error


def cookie_session(harness: Harness) -> httpx.Client:
    """The harness's client holding only the cookies a browser's login would leave."""
    http = harness.http
    http.cookies.clear()
    assert http.post(f"/rest/login/account/admin/password/{PASSWORD}").status_code == 200
    return http


def snapshot_path(api: Api) -> str:
    volume = next(v for v in api.ok("GET", "/rest/storage/volumeinfo") if v["snapshotSpaceBytes"])
    return f"/rest/storage/snapshot/vdid/{volume['id']}/name/csrf-probe"


@pytest.mark.parametrize("headers", [
    {"Origin": "http://evil.example"},
    {"Origin": "http://evil.example", "Content-Type": "text/plain"},
    {},  # neither Origin nor token
    {"X-CSRF-Token": "0" * 64},
    {"Origin": "null"},
], ids=["foreign-origin", "text-plain", "nothing", "wrong-token", "null-origin"])
def test_a_cookie_only_post_without_proof_of_origin_is_refused(
        harness: Harness, admin: Api, headers: dict[str, str]) -> None:
    """The audit took a snapshot with the cookie and Origin: http://evil.example."""
    path = snapshot_path(admin)
    before = array_state(admin)
    http = cookie_session(harness)
    response = http.post(path, headers=headers, content=b"account=x" if headers else b"")
    assert_error(response, 403, 10106)
    assert array_state(admin) == before


def test_a_cookie_only_post_with_the_csrf_token_or_our_origin_is_served(
        harness: Harness, admin: Api) -> None:
    path = snapshot_path(admin)
    http = cookie_session(harness)
    with_token = http.post(path, headers={"X-CSRF-Token": http.cookies["opensan_csrf"]})
    assert with_token.status_code == 200, with_token.text
    origin = str(http.base_url).rstrip("/")
    with_origin = http.post(path.replace("csrf-probe", "csrf-probe-2"), headers={"Origin": origin})
    assert with_origin.status_code == 200, with_origin.text


def test_the_csrf_token_of_another_session_is_refused(harness: Harness, admin: Api) -> None:
    path = snapshot_path(admin)
    stale = cookie_session(harness).cookies["opensan_csrf"]
    http = cookie_session(harness)  # a second session, in the same browser
    assert http.cookies["opensan_csrf"] != stale
    assert_error(http.post(path, headers={"X-CSRF-Token": stale}), 403, 10106)


def test_a_post_with_the_authorization_header_needs_no_csrf_token(
        admin: Api, harness: Harness) -> None:
    harness.http.cookies.clear()
    response = admin.post(snapshot_path(admin), headers={"Origin": "http://evil.example"})
    assert response.status_code == 200, response.text


def test_the_login_sets_a_strict_csrf_cookie_a_page_can_read(harness: Harness) -> None:
    harness.http.cookies.clear()
    response = harness.http.post(f"/rest/login/account/admin/password/{PASSWORD}")
    cookie = next(c for c in response.headers.get_list("set-cookie")
                  if c.startswith("opensan_csrf="))
    attributes = [part.strip().lower() for part in cookie.split(";")]
    assert "samesite=strict" in attributes and "httponly" not in attributes, cookie


@pytest.mark.parametrize("path", ["/openapi.json", "/docs"])
def test_the_api_description_needs_a_session(harness: Harness, admin: Api, path: str) -> None:
    harness.http.cookies.clear()  # the admin's login left its cookie in the jar
    assert_error(harness.anonymous.get(path), 401, 10101)
    assert admin.get(path).status_code == 200


def test_the_description_is_readable_with_the_session_cookie(harness: Harness) -> None:
    http = cookie_session(harness)
    described = http.get("/openapi.json")
    assert described.status_code == 200
    assert "/rest/storage/volumeinfo" in described.json()["paths"]
