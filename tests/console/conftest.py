"""The web console in a real browser: Debian's headless Chromium, driven by Playwright.

One browser serves all the console's tests; each test module gets its own array, a live
`opensan serve` of the backend under test (OPENSAN_TEST_BACKEND, as for tests/api), and each
test a fresh browser context (no cookies, no storage), so it logs in itself. Every test also
fails on a script error or a Content Security Policy violation in the page.

Set OPENSAN_CONSOLE_SCREENSHOTS=DIR to save a screenshot of every page the tests read
(docs/console/ holds the ones of the virtual array).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from conftest import Api, array_settings, served
from playwright.sync_api import Browser, Page, sync_playwright

from .helpers import ConsoleArray

CHROMIUM = "/usr/bin/chromium"  # Debian's chromium package; Playwright downloads no browser
# What Chromium logs for every answer that is not 2xx: the refusals the tests provoke.
_HTTP_FAILURE = re.compile(r"^Failed to load resource: the server responded with a status of")


@pytest.fixture(scope="package")  # closed before the other packages' tests run
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def array(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ConsoleArray]:
    with array_settings(tmp_path_factory.mktemp("console")) as settings, \
            served(settings) as server, server.client(timeout=60) as http:
        yield ConsoleArray(server.url, Api(http).login("admin"), Api(http),
                           self_signed=server.ca_file is not None)


@pytest.fixture
def page(browser: Browser, array: ConsoleArray) -> Iterator[Page]:
    """A new browser context on the array's console; fails the test on a script error."""
    context = array.context(browser)
    problems: list[str] = []
    page = context.new_page()
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("console", lambda message: problems.append(message.text)
            if message.type == "error" and not _HTTP_FAILURE.match(message.text) else None)
    try:
        yield page
    finally:
        context.close()
    assert not problems, problems


