"""The documentation lists what the code does: every error code and every route."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import Api

from opensan.domain.errors import HTTP_STATUS, ErrorCode

DOCS = Path(__file__).parent.parent / "docs"


def test_error_table_matches_the_code() -> None:
    rows = re.findall(r"^\| (\d+) \| (\d{3}) \| (\w+) \|", (DOCS / "errors.md").read_text(), re.M)
    documented = {int(code): (int(status), name) for code, status, name in rows}
    assert documented == {code.value: (HTTP_STATUS[code], code.name) for code in ErrorCode}


def test_api_doc_lists_every_route(anonymous: Api) -> None:
    text = (DOCS / "api.md").read_text().replace("\\|", "|")
    for item in anonymous.ok("GET", "/rest/"):
        assert f"| {item['method']} | `{item['path']}` | {item['access']} |" in text, item
