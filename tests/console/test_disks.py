"""Disks (js/pages/disks.js): what the page shows, a disk's S.M.A.R.T. attributes, and a
spare set and unset."""

from __future__ import annotations

from conftest import POOLS_SHARE_DISKS, array_state
from playwright.sync_api import Page, expect

from .helpers import ConsoleArray, dialog, fill, log_in, notice, open_page, row, shoot, slot, submit


def test_the_disks_page_shows_every_disk(page: Page, array: ConsoleArray) -> None:
    disks = array.api.ok("GET", "/rest/storage/diskinfo")
    log_in(page)
    open_page(page, "disks", "Disks")
    expect(page.locator("#page tbody tr")).to_have_count(len(disks))
    for disk in disks:
        shown = row(page, "disk", slot(disk))
        expect(shown).to_contain_text(disk["serialNumber"])
        expect(shown).to_contain_text(disk["usage"])
    shoot(page, "disks")


def test_a_disk_page_shows_its_smart_attributes(page: Page, array: ConsoleArray) -> None:
    """Every attribute the array reports, or its note where it has none (loop devices)."""
    smart = array.api.ok("GET", "/rest/storage/disksmart")[0]
    log_in(page)
    open_page(page, "disks", "Disks")
    row(page, "disk", f"{smart['enclosureId']}:{smart['slot']}").get_by_role("link").click()
    expect(page.locator("#page h1")).to_have_text(f"Disk {smart['enclosureId']}:{smart['slot']}")
    expect(page.locator("#page tr[data-attribute]")).to_have_count(len(smart["attributes"]))
    for attribute in smart["attributes"]:
        shown = row(page, "attribute", attribute["name"])
        expect(shown).to_contain_text(str(attribute["raw"]))
        expect(shown).to_contain_text(attribute["status"])
    if smart["note"]:
        expect(page.locator("#page")).to_contain_text(smart["note"])
    shoot(page, "disk")


def test_a_spare_set_and_unset(page: Page, array: ConsoleArray) -> None:
    before = array_state(array.api)
    disks = array.api.ok("GET", "/rest/storage/diskinfo")
    disk = next(d for d in disks if d["usage"] == ("RAID" if POOLS_SHARE_DISKS else "Free"))
    pool = array.api.ok("GET", "/rest/storage/poolinfo")[0]
    log_in(page)
    open_page(page, "disks", "Disks")
    shown = row(page, "disk", slot(disk))
    shown.get_by_role("button", name="Spare…").click()
    fill(page, type="Global spare")
    submit(page, "Set")
    if POOLS_SHARE_DISKS:  # Ceph has no spares: the dialog shows what the array says
        expect(dialog(page).get_by_role("alert")).to_contain_text("(HTTP 501, code")
        submit(page, "Cancel")
        assert array_state(array.api) == before
        return
    expect(notice(page)).to_have_text(f"Disk {slot(disk)} is now Global Spare.")
    expect(shown).to_contain_text("Global Spare")

    shown.get_by_role("button", name="Spare…").click()
    fill(page, type="Dedicated spare of a pool", poolid=pool["name"])
    submit(page, "Set")
    expect(notice(page)).to_have_text(f"Disk {slot(disk)} is now Dedicated Spare.")
    expect(shown).to_contain_text(pool["name"])

    shown.get_by_role("button", name="Spare…").click()
    fill(page, type="Free disk (no spare)")
    submit(page, "Set")
    expect(notice(page)).to_have_text(f"Disk {slot(disk)} is now Free.")
    expect(shown).to_contain_text("Free")
    assert array_state(array.api) == before
