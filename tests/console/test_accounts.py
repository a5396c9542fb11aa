"""Accounts (js/pages/accounts.js): the list, and an account created, refused under the same
name, disabled, enabled, given a password and deleted; the array's refusals as it words them."""

from __future__ import annotations

from conftest import PASSWORD
from playwright.sync_api import Browser, Page, expect

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
    submit,
    submit_login,
)

NAME = "console-ops"
FIRST_PASSWORD = "first-pass"
NEW_PASSWORD = "second-pass"


def test_the_accounts_page_lists_every_account(page: Page, array: ConsoleArray) -> None:
    accounts = array.api.ok("GET", "/rest/account/accountinfo")
    log_in(page)
    open_page(page, "accounts", "Accounts")
    expect(page.locator("#page tbody tr")).to_have_count(len(accounts))
    for account in accounts:
        shown = row(page, "account", account["name"])
        expect(shown).to_contain_text("Enabled" if account["enabled"] else "Disabled")
        expect(shown).to_contain_text("Default" if account["defaultPassword"] else "set")
    expect(row(page, "account", "admin")).to_contain_text("admin (you)")
    expect(row(page, "account", "user")).to_contain_text("Read-only (user)")
    shoot(page, "accounts")


def test_the_read_only_account_has_no_accounts_page(page: Page) -> None:
    log_in(page, "user", PASSWORD)
    expect(page.get_by_role("link", name="Accounts")).to_have_count(0)
    page.goto("/#/accounts")
    expect(page.locator("#page h1")).to_have_text("Dashboard")


def test_an_account_made_and_undone(page: Page, browser: Browser, array: ConsoleArray) -> None:
    before = array.api.ok("GET", "/rest/account/accountinfo")
    log_in(page)
    open_page(page, "accounts", "Accounts")
    page.get_by_role("button", name="Create account").click()
    fill(page, account=NAME, role="Read-only (user)", password=FIRST_PASSWORD, repeat="other")
    submit(page, "Create")
    expect(dialog(page).get_by_role("alert")).to_have_text("The two passwords differ.")
    fill(page, repeat=FIRST_PASSWORD)
    submit(page, "Create")
    expect(notice(page)).to_have_text(f"Account {NAME} created.")
    account = row(page, "account", NAME)
    expect(account).to_contain_text("Read-only (user)")
    expect(account).to_contain_text("Enabled")

    refusal = array.api.post("/rest/account/create",
                             json={"account": NAME, "role": "user", "password": FIRST_PASSWORD})
    assert refusal.status_code == 409
    page.get_by_role("button", name="Create account").click()
    fill(page, account=NAME, password=FIRST_PASSWORD, repeat=FIRST_PASSWORD)
    submit(page, "Create")
    expect(dialog(page).get_by_role("alert")).to_have_text(described(refusal.json()["error"], 409))
    submit(page, "Cancel")

    # The new account logs in, in a browser of its own, until it is disabled.
    other = array.context(browser)
    try:
        theirs = other.new_page()
        log_in(theirs, NAME, FIRST_PASSWORD)
        expect(theirs.locator("#who")).to_have_text(f"{NAME} (read-only)")

        account.get_by_role("button", name="Disable").click()
        expect(dialog(page)).to_contain_text("its sessions end now")
        submit(page, "Cancel")
        expect(account).to_contain_text("Enabled")
        account.get_by_role("button", name="Disable").click()
        submit(page, "Disable")
        expect(notice(page)).to_have_text(f"Account {NAME} disabled.")
        expect(account).to_contain_text("Disabled")
        theirs.get_by_role("link", name="Volumes").click()
        expect(theirs.locator("#login-error")).to_contain_text("The session has ended:")
        refused = array.anonymous.post("/rest/login", json={"account": NAME,
                                                            "password": FIRST_PASSWORD})
        assert refused.status_code == 403
        submit_login(theirs, NAME, FIRST_PASSWORD)
        expect(theirs.locator("#login-error")).to_have_text(described(refused.json()["error"], 403))

        account.get_by_role("button", name="Enable").click()
        expect(notice(page)).to_have_text(f"Account {NAME} enabled.")
        account.get_by_role("button", name="Set password").click()
        fill(page, password=NEW_PASSWORD, repeat=NEW_PASSWORD)
        submit(page, "Set password")
        expect(notice(page)).to_have_text(f"Password of account {NAME} set.")
        log_in(theirs, NAME, NEW_PASSWORD)
    finally:
        other.close()

    # Nobody deletes the account they are logged in with: the array says so.
    mine = array.api.post("/rest/account/delete", json={"account": "admin"})
    assert mine.status_code == 409
    row(page, "account", "admin").get_by_role("button", name="Delete").click()
    submit(page, "Delete account")
    expect(page.locator("#alert-text")).to_have_text(described(mine.json()["error"], 409))

    account.get_by_role("button", name="Delete").click()
    expect(dialog(page)).to_contain_text("This cannot be undone.")
    submit(page, "Delete account")
    expect(notice(page)).to_have_text(f"Account {NAME} deleted.")
    expect(account).to_have_count(0)
    assert array.api.ok("GET", "/rest/account/accountinfo") == before

