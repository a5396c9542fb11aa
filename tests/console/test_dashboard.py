"""The dashboard (js/pages/dashboard.js): health, controllers, sensors, capacity and the
newest events, as the array reports them."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .helpers import ConsoleArray, log_in, row, shoot


def test_the_dashboard_shows_what_the_array_reports(page: Page, array: ConsoleArray) -> None:
    log_in(page)  # the login is the newest event
    system = array.api.ok("GET", "/rest/dashboard/systeminfo")
    hardware = array.api.ok("GET", "/rest/dashboard/hwmonitor")
    pools = array.api.ok("GET", "/rest/storage/poolinfo")
    events = array.api.ok("GET", "/rest/log/list/1")["events"][:10]
    dashboard = page.locator("#page")
    expect(page.locator("#page h1")).to_have_text("Dashboard")
    for text in (system["serialNumber"], system["firmwareVersion"], system["controllerMode"],
                 *(c["serialNumber"] for c in system["controllers"]),
                 *(p["name"] for p in pools)):
        expect(dashboard).to_contain_text(text)
    for sensor in (s for e in hardware["enclosures"] for s in e["sensors"]):
        shown = row(page, "sensor", sensor["id"])
        expect(shown).to_contain_text(sensor["name"])
        expect(shown).to_contain_text(sensor["status"])
    expect(page.locator("#page tr[data-event]")).to_have_count(len(events))
    for event in events:
        expect(row(page, "event", str(event["id"]))).to_contain_text(event["message"])
    shoot(page, "dashboard")
