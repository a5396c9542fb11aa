"""Pools (js/pages/pools.js): what the page shows, and a pool created, grown and deleted."""

from __future__ import annotations

from conftest import NEW_POOL_TYPE, POOLS_SHARE_DISKS, array_state
from playwright.sync_api import Page, expect

from .helpers import (
    ConsoleArray,
    described,
    dialog,
    fill,
    log_in,
    notice,
    open_page,
    row,
    shoot,
    slot,
    submit,
)

NAME = "console-pool"


def test_the_pools_page_shows_every_pool_and_its_disks(page: Page, array: ConsoleArray) -> None:
    pools = array.api.ok("GET", "/rest/storage/poolinfo")
    disks = {d["id"]: d for d in array.api.ok("GET", "/rest/storage/diskinfo")}
    log_in(page)
    open_page(page, "pools", "Pools")
    for pool in pools:
        shown = row(page, "pool", pool["name"])
        expect(shown).to_contain_text(pool["raidLevel"])
        expect(shown).to_contain_text(", ".join(slot(disks[i]) for i in pool["diskIds"]))
    shoot(page, "pools")


def test_a_pool_created_grown_and_deleted(page: Page, array: ConsoleArray) -> None:
    before = array_state(array.api)
    disks = array.api.ok("GET", "/rest/storage/diskinfo")
    usable = disks if POOLS_SHARE_DISKS else [d for d in disks if d["usage"] == "Free"]
    first = usable[:3]
    log_in(page)
    open_page(page, "pools", "Pools")
    page.get_by_role("button", name="Create pool").click()
    fill(page, name=NAME, raidlevel="RAID 5", type=NEW_POOL_TYPE.capitalize())
    for disk in first:
        dialog(page).locator(f"input[name=diskids][value='{disk['id']}']").check()
    submit(page, "Create")
    expect(notice(page)).to_have_text(f"Pool {NAME} created.")
    pool = row(page, "pool", NAME)
    expect(pool).to_contain_text(", ".join(slot(d) for d in first))

    pool.get_by_role("button", name="Add disks").click()
    if POOLS_SHARE_DISKS:  # a Ceph pool spans every OSD: none to add, and the array says so
        created = next(p for p in array.api.ok("GET", "/rest/storage/poolinfo") if p["name"] == NAME)
        refusal = array.api.post("/rest/storage/addpooldisk",
                                 json={"poolid": created["id"], "diskids": ""})
        assert refusal.status_code >= 400
        expect(dialog(page).locator("fieldset input")).to_have_count(0)
        submit(page, "Add")
        expect(dialog(page).get_by_role("alert")).to_have_text(
            described(refusal.json()["error"], refusal.status_code))
        submit(page, "Cancel")
    else:
        extra = usable[3]  # a hard disk like the first three: a pool cannot mix in SSDs
        dialog(page).locator(f"input[name=diskids][value='{extra['id']}']").check()
        submit(page, "Add")
        expect(notice(page)).to_have_text(f"Disks added to pool {NAME}.")
        expect(pool).to_contain_text(", ".join(slot(d) for d in [*first, extra]))

    pool.get_by_role("button", name="Delete").click()
    expect(dialog(page)).to_contain_text(f"Delete pool {NAME}?")
    submit(page, "Delete pool")
    expect(notice(page)).to_have_text(f"Pool {NAME} deleted.")
    expect(pool).to_have_count(0)
    assert array_state(array.api) == before
