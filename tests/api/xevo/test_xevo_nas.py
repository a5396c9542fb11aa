"""A SAN model's answer to every NAS call of QSAN's SDK: QSAN's error body, 501, nothing
changed."""

from __future__ import annotations

import json
import re

import pytest
from conftest import Api
from xevo_support import qsan_error, whole_state

from opensan.api.xevo.nas import NAS_CALLS


@pytest.mark.parametrize(("method", "path"), NAS_CALLS)
def test_every_nas_call_is_the_sans_501(admin: Api, method: str, path: str) -> None:
    before = whole_state(admin)
    concrete = re.sub(r"\{\w+\}", "1", path) + ("?poolId=1" if method == "GET" else "")
    body = None if method == "GET" else json.dumps({"shareIdList": ["1"], "name": "nfs"})
    message = qsan_error(admin.request(method, concrete, content=body), 501, 15000)
    assert "SAN model" in message
    assert whole_state(admin) == before
