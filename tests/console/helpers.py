"""What the console tests do in the page: log in, open a page, fill and submit a dialog."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from conftest import PASSWORD, Api
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

TIMEOUT_MS = 30_000  # a change on a real backend, on a loaded machine
SCREENSHOTS = os.environ.get("OPENSAN_CONSOLE_SCREENSHOTS")

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class ConsoleArray:
    """A live array: its URL, and its API as admin (and anonymous), to check what the console
    shows against what the array answers."""

    url: str
    api: Api
    anonymous: Api
    # A real backend serves HTTPS with a certificate it made itself, which the browser is told
    # to accept (the API clients trust that very certificate).
    self_signed: bool = False

    def context(self, browser: Browser) -> BrowserContext:
        """A new browser context (no cookies, no storage) on this array."""
        context = browser.new_context(base_url=self.url, viewport={"width": 1280, "height": 800},
                                      accept_downloads=True, ignore_https_errors=self.self_signed)
        context.set_default_timeout(TIMEOUT_MS)
        return context


def described(error: dict[str, object], status: int) -> str:
    """The array's error as the console shows it."""
    return f"{error['message']} (HTTP {status}, code {error['code']})"


def slot(disk: dict[str, int]) -> str:
    """A disk as every table names it: enclosure:slot."""
    return f"{disk['enclosureId']}:{disk['slot']}"


def submit_login(page: Page, account: str, password: str) -> None:
    """Fill in the login form shown and send it."""
    form = page.locator("#login-form")
    form.locator("[name=account]").fill(account)
    form.locator("[name=password]").fill(password)
    form.get_by_role("button", name="Log in").click()


def log_in(page: Page, account: str = "admin", password: str = PASSWORD) -> None:
    page.goto("/")
    submit_login(page, account, password)
    expect(page.locator("#page h1")).to_be_visible()


def open_page(page: Page, path: str, heading: str) -> None:
    """Go to #/path and wait until its heading shows."""
    page.goto(f"/#/{path}")
    expect(page.locator("#page h1")).to_have_text(heading)


def dialog(page: Page) -> Locator:
    return page.locator("dialog[open]")


def fill(page: Page, **values: str) -> None:
    """Fill the open dialog's fields by name: text and number inputs, and selects by label."""
    for name, value in values.items():
        field = dialog(page).locator(f"[name={name}]")
        if field.evaluate("element => element.tagName") == "SELECT":
            field.select_option(label=value)
        else:
            field.fill(value)


def submit(page: Page, label: str) -> None:
    dialog(page).get_by_role("button", name=label, exact=True).click()


def notice(page: Page) -> Locator:
    return page.locator("#notice")


def row(page: Page, attribute: str, value: str) -> Locator:
    return page.locator(f"#page tr[data-{attribute}='{value}']")


def shoot(page: Page, name: str) -> None:
    """A screenshot of the page as it is, when OPENSAN_CONSOLE_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)
