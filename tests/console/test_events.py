"""The event log (js/pages/events.js): the array's pages, newest first, and the level filter,
which applies to the page shown (GET /rest/log/list has no level parameter)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from .helpers import ConsoleArray, log_in, open_page, shoot


def _failed_logins(array: ConsoleArray, accounts: int) -> None:
    """Five failed logins for each of a number of unknown accounts: each writes an INFO event,
    and the fifth locks that name out with a WARNING."""
    for number in range(accounts):
        for _ in range(5):
            answer = array.anonymous.post("/rest/login", json={"account": f"nobody{number}",
                                                               "password": "wrong"})
            assert answer.status_code == 401, answer.text


def _shown(page: Page) -> list[int]:
    expect(page.locator("#page-position")).to_be_visible()
    return [int(i) for i in page.locator("#page tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.event)")]


def test_pages_and_the_level_filter(page: Page, array: ConsoleArray) -> None:
    _failed_logins(array, 7)  # with the profile's events, more than a page
    log_in(page)
    first = array.api.ok("GET", "/rest/log/list/1")
    second = array.api.ok("GET", "/rest/log/list/2")
    assert first["totalPages"] >= 2 and second["events"]
    ids = [e["id"] for e in first["events"]]

    open_page(page, "events", "Events")
    expect(page.locator("#page-position")).to_have_text(
        f"Page 1 of {first['totalPages']} ({first['total']} events)")
    assert _shown(page) == ids
    shoot(page, "events")
    page.locator("#page a[rel=next]").click()  # Older
    expect(page.locator("#page-position")).to_contain_text("Page 2 of")
    assert _shown(page) == [e["id"] for e in second["events"]]
    page.locator("#page a[rel=prev]").click()  # Newer
    expect(page.locator("#page-position")).to_contain_text("Page 1 of")

    warnings = [e["id"] for e in first["events"] if e["level"] in ("WARNING", "ERROR")]
    assert warnings and len(warnings) < len(ids)
    page.locator("#level-filter").select_option(label="Warnings and errors")
    expect(page.locator("#filter-note")).to_have_text(
        f"{len(ids) - len(warnings)} of this page's {len(ids)} events are hidden by the level "
        "filter.")
    assert _shown(page) == warnings
    expect(page.locator("#page tbody .badge")).to_have_text(["WARNING"] * len(warnings))

    errors = [e["id"] for e in first["events"] if e["level"] == "ERROR"]
    page.locator("#level-filter").select_option(label="Errors only")
    expect(page.locator("#filter-note")).to_contain_text(f"{len(ids) - len(errors)} of this page's")
    assert _shown(page) == errors
