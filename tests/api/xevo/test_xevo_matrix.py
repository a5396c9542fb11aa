"""Who may call what through XEVO, for every XEVO endpoint of the help listing: no token is
401, the read-only account reads every GET and is refused (403, nothing changed) every change,
with a request that the administrator's token would carry out."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import Api, Harness
from xevo_support import qsan_error, whole_state, xevo_api

from opensan.api.xevo import ENDPOINTS
from opensan.api.xevo.errors import FORBIDDEN_CODE


def ids(api: Api) -> dict[str, str]:
    """A valid value for each path parameter on a fresh array."""
    volumes = api.ok("GET", "/rest/v2/storage/block/volumes")
    plain = next(v for v in volumes if not v["targetId"])
    return {"poolId": api.ok("GET", "/rest/v2/storage/pools")[0]["id"], "volumeId": plain["id"]}


def bodies(api: Api) -> dict[tuple[str, str], Any]:
    """A valid body for each XEVO change that takes one."""
    pool = api.ok("GET", "/rest/v2/storage/pools")[0]["id"]
    return {
        ("POST", "/rest/v2/storage/block/volumes"):
            {"name": "matrix-vol", "totalSize": 1024, "poolId": pool},
        ("PATCH", "/rest/v2/storage/block/volumes/{volumeId}"): {"name": "matrix-renamed"},
        ("PATCH", "/rest/v2/storage/qos/volumes"): {"enableQos": True, "qosRule": "IO_PRIORITY"},
    }


LISTED = [(e.method, e.prefix, e.access.value) for e in ENDPOINTS]
CHANGES = [(m, p) for m, p, a in LISTED if a == "admin"]
READS = [(m, p) for m, p, a in LISTED if a == "any account"]


def concrete(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def test_the_listing_holds_the_declared_endpoints(harness: Harness) -> None:
    listed = {(i["method"], i["path"], i["access"]) for i in
              harness.anonymous.ok("GET", "/rest/") if i["api"] == "XEVO"}
    assert listed == set(LISTED)
    public = {(m, p) for m, p, a in LISTED if a == "public"}
    assert public == {("POST", "/auth/get"), ("POST", "/auth/refresh"), ("GET", "/rest/v1/about")}
    assert all(m == "GET" for m, _p in READS) and all(m != "GET" for m, _p in CHANGES)


@pytest.mark.parametrize(("method", "path"), CHANGES + READS)
def test_no_token_is_401(harness: Harness, method: str, path: str) -> None:
    admin = xevo_api(harness.http, "admin")
    before = whole_state(admin)
    body = bodies(admin).get((method, path))
    response = harness.anonymous.request(method, concrete(path, ids(admin)),
                                         content=json.dumps(body) if body else None)
    qsan_error(response, 401, 10101)
    assert whole_state(admin) == before


@pytest.mark.parametrize(("method", "path"), CHANGES)
def test_the_reader_is_refused_every_change(harness: Harness, method: str, path: str) -> None:
    admin = xevo_api(harness.http, "admin")
    reader = xevo_api(harness.http, "user")
    before = whole_state(admin)
    values, body = ids(admin), bodies(admin).get((method, path))
    content = json.dumps(body) if body else None
    qsan_error(reader.request(method, concrete(path, values), content=content), 403,
               FORBIDDEN_CODE)
    assert whole_state(admin) == before
    # The same request is one the administrator may make.
    answer = admin.request(method, concrete(path, values), content=content)
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(("method", "path"), READS)
def test_the_reader_reads_every_get(harness: Harness, method: str, path: str) -> None:
    reader = xevo_api(harness.http, "user")
    reader.ok(method, concrete(path, ids(reader)))
