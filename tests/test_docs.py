"""The documentation lists what the code does: every error code and every route."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import Api

from opensan.api.xevo.errors import QSAN_CODES
from opensan.domain.errors import HTTP_STATUS, ErrorCode

DOCS = Path(__file__).parent.parent / "docs"


def test_error_table_matches_the_code() -> None:
    rows = re.findall(r"^\| (\d+) \| (\d{3}) \| (\w+) \|", (DOCS / "errors.md").read_text(), re.M)
    documented = {int(code): (int(status), name) for code, status, name in rows}
    assert documented == {code.value: (HTTP_STATUS[code], code.name) for code in ErrorCode}


def test_api_docs_list_every_route(anonymous: Api) -> None:
    """SANOS's endpoints in api.md, XEVO's in xevo.md."""
    texts = {api: (DOCS / name).read_text().replace("\\|", "|")
             for api, name in (("SANOS", "api.md"), ("XEVO", "xevo.md"))}
    for item in anonymous.ok("GET", "/rest/"):
        row = f"| {item['method']} | `{item['path']}` | {item['access']} |"
        assert row in texts[item["api"]], item


def test_xevo_error_table_matches_the_code() -> None:
    rows = re.findall(r"^\| (\w+) \| (\w+) \| (\d+) \| (\d{3}) \| (\d+) \| (\d{3}) \|",
                      (DOCS / "xevo.md").read_text(), re.M)
    documented = {(ours, qsan, int(c1), int(s1), int(c2), int(s2))
                  for ours, qsan, c1, s1, c2, s2 in rows}
    assert documented == {(code.name, q.name, *q.v1, *q.v2) for code, q in QSAN_CODES.items()}
