"""/docs and /redoc (api/apidocs.py): pages for a logged-in session that load only the files the
package ships, under a content security policy that keeps them to the array."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
from conftest import PASSWORD, Api, Harness, assert_error

from opensan.api.apidocs import STATIC
from opensan.domain.errors import ErrorCode

PAGES = ("/docs", "/redoc")
CONTENT_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def referenced(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="([^"]+)"', html)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_needs_a_session(anonymous: Api, page: str) -> None:
    assert_error(anonymous.get(page), 401, ErrorCode.NOT_LOGGED_IN)


@pytest.mark.parametrize("page", PAGES)
def test_a_page_loads_only_the_files_the_package_ships(admin: Api, page: str) -> None:
    response = admin.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert not re.search(r"https?:|//", response.text.replace("<!DOCTYPE html>", ""))
    assets = referenced(response.text)
    assert len(assets) >= 3, assets
    for asset in assets:
        url = urljoin(str(response.url), asset)
        assert url.startswith(str(response.url).removesuffix(page) + "/docs/static/"), url
        served = admin.get(url)
        assert served.status_code == 200, url
        suffix = asset[asset.rindex("."):]
        assert served.headers["content-type"].split(";")[0] == CONTENT_TYPES[suffix], url
        assert served.content == (STATIC / asset.removeprefix("docs/static/")).read_bytes()


@pytest.mark.parametrize("page", PAGES)
def test_a_page_may_load_from_the_array_alone(admin: Api, page: str) -> None:
    header = admin.get(page).headers["content-security-policy"]
    policy = dict(part.strip().split(" ", 1) for part in header.split(";"))
    assert policy["default-src"] == "'self'"  # so connect-src too: the description, the API
    assert policy["script-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'"
    assert not re.search(r"https?:|\*", header), header
    # The API keeps its own policy: nothing at all.
    api = admin.get("/rest/storage/volumeinfo").headers["content-security-policy"]
    assert api == "default-src 'none'; frame-ancestors 'none'"


def test_the_scripts_that_start_the_pages_send_nothing_away() -> None:
    swagger = (STATIC / "swagger-init.js").read_text()
    assert "validatorUrl: null" in swagger  # else Swagger UI posts the description to a site
    assert 'url: "openapi.json"' in swagger
    assert 'Redoc.init("openapi.json"' in (STATIC / "redoc-init.js").read_text()


def test_a_browser_reaches_the_pages_with_the_session_cookie(harness: Harness) -> None:
    http = harness.http
    assert http.post(f"/rest/login/account/user/password/{PASSWORD}").status_code == 200
    assert "opensan_session" in http.cookies  # the login set it; no Authorization header here
    for page in PAGES:
        assert http.get(page).status_code == 200, page
    assert http.get("/openapi.json").json()["openapi"].startswith("3.1")


def test_the_files_are_library_code_anyone_may_fetch(anonymous: Api) -> None:
    """They hold no array data; the pages and the description stay locked."""
    assert anonymous.get("/docs/static/swagger-ui/swagger-ui.css").status_code == 200
    assert_error(anonymous.get("/docs/static/nothing.js"), 404, ErrorCode.NO_SUCH_PATH)


def test_the_licences_ship_with_the_files() -> None:
    assert "Apache License" in (STATIC / "swagger-ui" / "LICENSE").read_text()
    assert "SmartBear" in (STATIC / "swagger-ui" / "NOTICE").read_text()
    assert "MIT License" in (STATIC / "redoc" / "LICENSE").read_text()
