"""How the web console is served (api/console.py): open files under a strict policy of their
own, no data without a session, and every file shipped in the package.

What the console does in a browser is tested in tests/console/."""

from __future__ import annotations

import re
import tomllib
from html.parser import HTMLParser
from pathlib import Path

from conftest import Api

ROOT = Path(__file__).parent.parent.parent
CONSOLE = ROOT / "src" / "opensan" / "console"
CONTENT_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css",
                 ".svg": "image/svg+xml"}


class _Page(HTMLParser):
    """What the page loads, and anything inline that a strict policy would block."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inline += [f"{tag} {name}" for name, _ in attrs if name == "style" or name.startswith("on")]
        if tag == "style":
            self.inline.append("style element")
        self._in_script = tag == "script"
        self.loads += [value for name, value in attrs
                       if value and ((tag == "script" and name == "src")
                                     or (tag == "link" and name == "href"))]

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("script content")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False


def test_the_page_needs_no_login_and_holds_no_data(anonymous: Api, admin: Api) -> None:
    page = anonymous.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    system = admin.ok("GET", "/rest/dashboard/systeminfo")
    assert system["serialNumber"] not in page.text and system["systemName"] not in page.text
    assert "set-cookie" not in page.headers


def test_the_page_runs_under_a_policy_without_inline_code(anonymous: Api) -> None:
    page = anonymous.get("/")
    policies = page.headers.get_list("content-security-policy")
    console = next(p for p in policies if p.startswith("default-src 'none'"))
    directives = dict(d.strip().split(" ", 1) for d in console.split(";"))
    assert directives["script-src"] == directives["style-src"] == "'self'"
    assert directives["connect-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    parsed = _Page()
    parsed.feed(page.text)
    assert parsed.inline == []
    # Relative to the page, so that the console works under a proxy's path prefix too.
    assert parsed.loads and all(path.startswith("console/") for path in parsed.loads)
    for path in parsed.loads:
        assert anonymous.get(f"/{path}").status_code == 200, path


def test_every_file_is_served_with_its_type(anonymous: Api) -> None:
    for path in sorted(p for p in CONSOLE.rglob("*") if p.is_file()):
        response = anonymous.get(f"/console/{path.relative_to(CONSOLE).as_posix()}")
        assert response.status_code == 200, path
        assert response.headers["content-type"].startswith(CONTENT_TYPES[path.suffix]), path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.content == path.read_bytes()


def test_no_such_file_answers_the_error_body(anonymous: Api) -> None:
    for path in ("/console/nothing.js", "/console/../pyproject.toml", "/console/%2e%2e/app.py"):
        response = anonymous.get(path)
        assert response.status_code == 404, path
        assert set(response.json()["error"]) == {"code", "message"}


def test_every_script_imports_files_that_exist() -> None:
    scripts = sorted(CONSOLE.rglob("*.js"))
    for script in scripts:
        for target in re.findall(r'^import .* from "(\.[^"]+)";$', script.read_text(), re.M):
            assert (script.parent / target).resolve().is_file(), (script, target)


def test_the_package_ships_every_file_of_the_console() -> None:
    """setuptools installs only the package data its globs name: a file left out would be
    missing from the wheel, and the console broken."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["opensan"]
    package = CONSOLE.parent
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    files = {path for path in CONSOLE.rglob("*") if path.is_file()}
    assert files and files <= shipped, sorted(str(p) for p in files - shipped)


def test_scripts_address_the_array_relative_to_the_page() -> None:
    """No absolute path in a script: behind a proxy's path prefix, "/rest/..." would miss."""
    for script in sorted(CONSOLE.rglob("*.js")):
        absolute = re.findall(r'''["'`]/(?:rest|console|docs)\b''', script.read_text())
        assert not absolute, (script, absolute)
