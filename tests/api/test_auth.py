"""Where the token comes from and the CSRF rule for the session cookie (api/auth.py), and the
API description, which needs a session like the API it describes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import (
    DEFAULT_PASSWORD,
    PASSWORD,
    Api,
    Harness,
    LiveServer,
    array_state,
    assert_error,
)

from opensan.tls import CERT_FILE


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


# Over HTTPS: a real server with the certificate it made (the scheme is the connection's).


@pytest.fixture(scope="module")
def https_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    state = tmp_path_factory.mktemp("https") / "state"
    live = LiveServer(state, ["--tls"], ca_file=state / CERT_FILE)
    try:
        yield live.start()
    finally:
        live.stop()


def login_cookies(http: httpx.Client, headers: dict[str, str] | None = None) -> dict[str, set[str]]:
    """The attributes of each cookie the login sets, lower case."""
    http.cookies.clear()
    response = http.post(f"/rest/login/account/admin/password/{DEFAULT_PASSWORD}",
                         headers=headers)
    assert response.status_code == 200, response.text
    cookies = {}
    for cookie in response.headers.get_list("set-cookie"):
        name, _, attributes = cookie.partition("=")
        cookies[name] = {part.strip().lower() for part in attributes.split(";")[1:]}
    return cookies


@pytest.mark.simulated("the server, not the backend, is under test")
@pytest.mark.parametrize("headers", [None, {"X-Forwarded-Proto": "http"}],
                         ids=["plain", "forged-proto"])
def test_over_https_the_cookies_are_secure_strict_and_the_session_s_httponly(
        https_server: LiveServer, headers: dict[str, str] | None) -> None:
    with https_server.client() as http:
        cookies = login_cookies(http, headers)
    assert {"secure", "httponly", "samesite=strict"} <= cookies["opensan_session"]
    assert {"secure", "samesite=strict"} <= cookies["opensan_csrf"]
    assert "httponly" not in cookies["opensan_csrf"]  # the array's own pages read it


@pytest.mark.simulated("the server, not the backend, is under test")
def test_over_plain_http_a_forged_forwarded_proto_makes_no_cookie_secure(tmp_path: Path) -> None:
    live = LiveServer(tmp_path / "state")
    try:
        with live.start().client() as http:
            cookies = login_cookies(http, {"X-Forwarded-Proto": "https"})
            assert "secure" not in cookies["opensan_session"] | cookies["opensan_csrf"]
            # Nor does it make an https Origin this array's.
            path = snapshot_path(Api(http).login("admin"))
            login_cookies(http)
            forged = http.post(path, headers={"Origin": f"https://127.0.0.1:{live.port}",
                                              "X-Forwarded-Proto": "https"})
            assert_error(forged, 403, 10106)
    finally:
        live.stop()


@pytest.mark.simulated("the server, not the backend, is under test")
def test_over_https_a_cookie_only_post_needs_the_token_or_the_https_origin(
        https_server: LiveServer) -> None:
    with https_server.client() as http:
        path = snapshot_path(Api(http).login("admin"))
        login_cookies(http)
        ours = f"https://127.0.0.1:{https_server.port}"
        for refused in [{}, {"Origin": f"http://127.0.0.1:{https_server.port}"},
                        {"Origin": "https://evil.example"}]:
            assert_error(http.post(path + "-refused", headers=refused), 403, 10106)
        assert http.post(path, headers={"Origin": ours}).status_code == 200
        with_token = http.post(path + "-2", headers={"X-CSRF-Token": http.cookies["opensan_csrf"]})
        assert with_token.status_code == 200, with_token.text
