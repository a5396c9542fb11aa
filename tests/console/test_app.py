"""The console's shell (js/app.js): login and its errors, logout, a session that ends, the
read-only account, and the service package download."""

from __future__ import annotations

import io
import json
import zipfile

from conftest import PASSWORD
from playwright.sync_api import Page, expect

from .helpers import ConsoleArray, described, log_in, open_page, shoot, submit_login

# Every page of the console, and its heading.
PAGES = {"dashboard": "Dashboard", "pools": "Pools", "volumes": "Volumes",
         "targets": "Targets and LUN mappings", "disks": "Disks", "events": "Events"}


def test_a_wrong_password_shows_the_arrays_message(page: Page, array: ConsoleArray) -> None:
    answer = array.anonymous.post("/rest/login", json={"account": "admin", "password": "wrong"})
    assert answer.status_code == 401
    page.goto("/")
    shoot(page, "login")
    submit_login(page, "admin", "wrong")
    expect(page.locator("#login-error")).to_have_text(described(answer.json()["error"], 401))
    expect(page.locator("#console")).to_be_hidden()


def test_log_in_and_out(page: Page, array: ConsoleArray) -> None:
    system = array.api.ok("GET", "/rest/dashboard/systeminfo")
    log_in(page)
    expect(page.locator("#system-name")).to_have_text(f"{system['systemName']} · {system['modelName']}")
    expect(page.locator("#who")).to_have_text("admin")
    with page.context.expect_page() as opened:  # the API docs, with the console's session
        page.get_by_role("link", name="API docs").click()
    docs = opened.value
    expect(docs.locator("#swagger-ui .info .title")).to_contain_text("OpenSAN")
    docs.close()
    page.get_by_role("button", name="Log out").click()
    expect(page.locator("#login-notice")).to_have_text("Logged out.")
    assert not [c for c in page.context.cookies() if c["name"] == "opensan_session"]
    # The page remembered nothing that lets it in again.
    page.reload()
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#console")).to_be_hidden()


def test_a_session_that_ends_brings_back_the_login(page: Page, array: ConsoleArray) -> None:
    log_in(page)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "opensan_session")
    array.anonymous.post("/rest/logout", headers={"Authorization": token})
    answer = array.anonymous.get("/rest/storage/poolinfo", headers={"Authorization": token})
    page.get_by_role("link", name="Pools").click()
    expect(page.locator("#login-error")).to_have_text(
        "The session has ended: " + described(answer.json()["error"], 401))


def test_the_read_only_account_sees_every_page_and_no_change_control(
        page: Page, array: ConsoleArray) -> None:
    log_in(page, "user", PASSWORD)
    expect(page.locator("#who")).to_have_text("user (read-only)")
    expect(page.get_by_role("button", name="Download Service Package")).to_be_hidden()
    volume = array.api.ok("GET", "/rest/storage/volumeinfo")[0]
    disk = array.api.ok("GET", "/rest/storage/diskinfo")[0]
    pages = {**PAGES, f"volume/{volume['id']}": f"Volume {volume['name']}",
             f"disk/{disk['id']}": f"Disk {disk['enclosureId']}:{disk['slot']}"}
    for path, heading in pages.items():
        open_page(page, path, heading)
        expect(page.locator("button.change")).to_have_count(0)
        expect(page.locator("#page button")).to_have_count(0)
        if path == "volumes":
            shoot(page, "read-only")


def test_the_service_package_downloads(page: Page, array: ConsoleArray) -> None:
    system = array.api.ok("GET", "/rest/dashboard/systeminfo")
    log_in(page)
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download Service Package").click()
    download = download_info.value
    assert download.suggested_filename.startswith(
        f"servicepackage-{system['modelName']}-{system['serialNumber']}-")
    package = zipfile.ZipFile(io.BytesIO(download.path().read_bytes()))
    manifest = json.loads(package.read("manifest.json"))
    assert manifest["createdBy"] == "admin"
    assert manifest["serialNumber"] == system["serialNumber"]
    expect(page.locator("#notice")).to_have_text(
        f"Service package {download.suggested_filename} downloaded.")
