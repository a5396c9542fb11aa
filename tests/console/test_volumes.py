"""Volumes and their snapshots (js/pages/volumes.js): what the pages show, and every change
made and undone through the dialogs, the array left as it was."""

from __future__ import annotations

from conftest import array_state
from playwright.sync_api import Page, expect

from .helpers import ConsoleArray, described, dialog, fill, log_in, notice, open_page, row, shoot, submit

NAME = "console-vol"
SNAPSHOT = "console-snap"


def test_the_volumes_page_shows_every_volume(page: Page, array: ConsoleArray) -> None:
    volumes = array.api.ok("GET", "/rest/storage/volumeinfo")
    log_in(page)
    open_page(page, "volumes", "Volumes")
    expect(page.locator("#page tbody tr")).to_have_count(len(volumes))
    for volume in volumes:
        expect(row(page, "volume", volume["name"])).to_contain_text(volume["provision"])
    expect(row(page, "volume", "vol-db").get_by_role("button")).to_have_text(
        ["Extend", "Snapshot space", "Take snapshot", "Map", "Delete"])
    shoot(page, "volumes")


def test_a_volume_page_shows_its_snapshots_and_mappings(page: Page, array: ConsoleArray) -> None:
    volume = next(v for v in array.api.ok("GET", "/rest/storage/volumeinfo") if v["name"] == "vol-db")
    snapshots = array.api.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")["snapshots"]
    mappings = [m for m in array.api.ok("GET", "/rest/storage/lunmappinginfo")
                if m["volumeId"] == volume["id"]]
    assert snapshots and mappings  # the profile's vol-db has both
    log_in(page)
    open_page(page, "volumes", "Volumes")
    page.get_by_role("link", name="vol-db").click()
    expect(page.locator("#page h1")).to_have_text("Volume vol-db")
    expect(page.locator("#page")).to_contain_text(volume["wwn"])
    for snapshot in snapshots:
        expect(row(page, "snapshot", snapshot["name"])).to_contain_text(snapshot["status"])
    for mapping in mappings:
        expect(row(page, "mapping", f"{mapping['targetId']}:{mapping['lun']}")).to_contain_text(
            mapping["permission"])
    shoot(page, "volume")


def _volume(array: ConsoleArray, name: str) -> dict[str, object] | None:
    return next((v for v in array.api.ok("GET", "/rest/storage/volumeinfo") if v["name"] == name),
                None)


def test_every_change_of_a_volume_made_and_undone(page: Page, array: ConsoleArray) -> None:
    before = array_state(array.api)
    pool = array.api.ok("GET", "/rest/storage/poolinfo")[0]
    log_in(page)
    open_page(page, "volumes", "Volumes")

    page.get_by_role("button", name="Create volume").click()
    fill(page, poolid=pool["name"], name=NAME, sizegb="1")
    submit(page, "Create")
    expect(notice(page)).to_have_text(f"Volume {NAME} created.")
    expect(row(page, "volume", NAME)).to_contain_text("1.00 GiB")

    # The same name again: the dialog shows the array's refusal and stays open.
    refusal = array.api.post("/rest/storage/createvolume",
                             json={"poolid": pool["id"], "name": NAME, "sizegb": 1})
    assert refusal.status_code == 409
    page.get_by_role("button", name="Create volume").click()
    fill(page, poolid=pool["name"], name=NAME, sizegb="1")
    submit(page, "Create")
    expect(dialog(page).get_by_role("alert")).to_have_text(described(refusal.json()["error"], 409))
    shoot(page, "refused")
    submit(page, "Cancel")
    expect(dialog(page)).to_have_count(0)

    volume = row(page, "volume", NAME)
    volume.get_by_role("button", name="Extend").click()
    fill(page, sizegb="2")
    submit(page, "Extend")
    expect(notice(page)).to_have_text(f"Volume {NAME} is now 2.00 GiB.")
    expect(volume).to_contain_text("2.00 GiB")

    volume.get_by_role("button", name="Snapshot space").click()
    fill(page, sizegb="1")
    submit(page, "Set")
    expect(notice(page)).to_have_text(f"Snapshot space of volume {NAME} set.")
    expect(volume).to_contain_text("of 1.00 GiB")

    volume.get_by_role("link", name=NAME).click()
    expect(page.locator("#page h1")).to_have_text(f"Volume {NAME}")
    page.get_by_role("button", name="Take snapshot").click()
    fill(page, name=SNAPSHOT)
    submit(page, "Take snapshot")
    expect(notice(page)).to_have_text(f"Snapshot {SNAPSHOT} of volume {NAME} taken.")
    snapshot = row(page, "snapshot", SNAPSHOT)
    expect(snapshot).to_be_visible()

    # A rollback asks first; cancelling changes nothing.
    events = array.api.ok("GET", "/rest/log/list/1")["total"]
    snapshot.get_by_role("button", name="Roll back").click()
    expect(dialog(page)).to_contain_text("snapshots taken after it are deleted")
    shoot(page, "confirm")
    submit(page, "Cancel")
    expect(dialog(page)).to_have_count(0)
    assert array.api.ok("GET", "/rest/log/list/1")["total"] == events
    snapshot.get_by_role("button", name="Roll back").click()
    submit(page, "Roll back")
    expect(notice(page)).to_have_text(f"Volume {NAME} rolled back to snapshot {SNAPSHOT}.")

    # Map the snapshot read-only, then unmap it.
    targets = array.api.ok("GET", "/rest/storage/availtarget")
    lun = array.api.ok("GET", f"/rest/storage/availlun/targetid/{targets[0]['id']}")["freeLuns"][0]
    snapshot.get_by_role("button", name="Map read-only").click()
    expect(dialog(page).locator("[name=lun]")).to_have_value(str(lun))
    submit(page, "Map")
    expect(notice(page)).to_have_text(
        f"Snapshot {SNAPSHOT} mapped to LUN {lun} of target {targets[0]['id']}.")
    mapping = row(page, "mapping", f"{targets[0]['id']}:{lun}")
    expect(mapping).to_contain_text(f"snapshot {SNAPSHOT}")
    expect(mapping).to_contain_text("Read-only")
    mapping.get_by_role("button", name="Unmap").click()
    submit(page, "Unmap")
    expect(notice(page)).to_have_text(f"LUN {lun} of target {targets[0]['id']} unmapped.")
    expect(mapping).to_have_count(0)

    snapshot.get_by_role("button", name="Delete").click()
    submit(page, "Delete snapshot")
    expect(notice(page)).to_have_text(f"Snapshot {SNAPSHOT} deleted.")
    expect(snapshot).to_have_count(0)

    # Map the volume itself, read-write for one host, then unmap it.
    page.locator("#page .title").get_by_role("button", name="Map").click()
    fill(page, host="iqn.1991-05.com.microsoft:db01", permission="Read-write")
    submit(page, "Map")
    expect(notice(page)).to_have_text(f"Volume {NAME} mapped to LUN {lun} of target {targets[0]['id']}.")
    expect(mapping).to_contain_text("iqn.1991-05.com.microsoft:db01")
    assert _volume(array, NAME)["mapped"] is True  # type: ignore[index]
    mapping.get_by_role("button", name="Unmap").click()
    submit(page, "Unmap")
    expect(mapping).to_have_count(0)

    page.locator("#page .title").get_by_role("button", name="Snapshot space").click()
    fill(page, sizegb="0")
    submit(page, "Set")
    expect(notice(page)).to_have_text(f"Snapshot space of volume {NAME} set.")

    # Deleting asks first; cancelling keeps the volume.
    page.locator("#page .title").get_by_role("button", name="Delete").click()
    submit(page, "Cancel")
    assert _volume(array, NAME) is not None
    page.locator("#page .title").get_by_role("button", name="Delete").click()
    expect(dialog(page)).to_contain_text("This cannot be undone.")
    submit(page, "Delete volume")
    expect(page.locator("#page h1")).to_have_text("Volumes")
    expect(notice(page)).to_have_text(f"Volume {NAME} deleted.")
    expect(row(page, "volume", NAME)).to_have_count(0)
    assert array_state(array.api) == before
