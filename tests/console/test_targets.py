"""Targets and LUN mappings (js/pages/targets.js): what the page shows, a target created and
deleted, a LUN mapped and unmapped, and a refusal shown as the array words it."""

from __future__ import annotations

from conftest import array_state
from playwright.sync_api import Page, expect

from .helpers import ConsoleArray, described, dialog, fill, log_in, notice, open_page, row, shoot, submit


def test_the_targets_page_shows_targets_and_mappings(page: Page, array: ConsoleArray) -> None:
    targets = array.api.ok("GET", "/rest/storage/availtarget")
    mappings = array.api.ok("GET", "/rest/storage/lunmappinginfo")
    log_in(page)
    open_page(page, "targets", "Targets and LUN mappings")
    for target in targets:
        expect(row(page, "target", str(target["id"]))).to_contain_text(target["iqn"])
    for mapping in mappings:
        expect(row(page, "mapping", f"{mapping['targetId']}:{mapping['lun']}")).to_contain_text(
            mapping["volumeName"])
    shoot(page, "targets")


def test_a_target_created_and_deleted(page: Page, array: ConsoleArray) -> None:
    before = array_state(array.api)
    log_in(page)
    open_page(page, "targets", "Targets and LUN mappings")
    page.get_by_role("button", name="Create target").click()
    fill(page, controller="Controller 1", name="console-target")
    submit(page, "Create")
    expect(notice(page)).to_contain_text("created.")
    created = next(t for t in array.api.ok("GET", "/rest/storage/availtarget")
                   if t["name"] == "console-target")
    target = row(page, "target", str(created["id"]))
    expect(target).to_contain_text(created["iqn"])
    target.get_by_role("button", name="Delete").click()
    submit(page, "Delete target")
    expect(notice(page)).to_have_text(f"Target {created['id']} deleted.")
    expect(target).to_have_count(0)
    assert array_state(array.api) == before


def test_a_lun_mapped_and_unmapped_and_a_taken_lun_refused(page: Page, array: ConsoleArray) -> None:
    before = array_state(array.api)
    target = array.api.ok("GET", "/rest/storage/availtarget")[0]
    taken = next(m["lun"] for m in array.api.ok("GET", "/rest/storage/lunmappinginfo")
                 if m["targetId"] == target["id"])
    volume = next(v for v in array.api.ok("GET", "/rest/storage/volumeinfo")
                  if v["name"] == "vol-backup")
    refusal = array.api.post("/rest/storage/maplun", json={
        "targetid": target["id"], "lun": taken, "vdid": volume["id"]})
    assert refusal.status_code == 409
    log_in(page)
    open_page(page, "targets", "Targets and LUN mappings")
    page.get_by_role("button", name="Map a LUN").click()
    fill(page, vdid="vol-backup", lun=str(taken))
    submit(page, "Map")
    expect(dialog(page).get_by_role("alert")).to_have_text(described(refusal.json()["error"], 409))

    free = array.api.ok("GET", f"/rest/storage/availlun/targetid/{target['id']}")["freeLuns"][0]
    fill(page, lun=str(free), permission="Read-only")
    submit(page, "Map")
    expect(notice(page)).to_have_text(f"Volume vol-backup mapped to LUN {free} of target {target['id']}.")
    mapping = row(page, "mapping", f"{target['id']}:{free}")
    expect(mapping).to_contain_text("Read-only")
    mapping.get_by_role("button", name="Unmap").click()
    expect(dialog(page)).to_contain_text("Hosts lose their path to volume vol-backup")
    submit(page, "Cancel")
    expect(mapping).to_be_visible()
    mapping.get_by_role("button", name="Unmap").click()
    submit(page, "Unmap")
    expect(notice(page)).to_have_text(f"LUN {free} of target {target['id']} unmapped.")
    expect(mapping).to_have_count(0)
    assert array_state(array.api) == before
