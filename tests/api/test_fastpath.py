"""The fast path answers every declared endpoint it serves exactly as FastAPI does: status,
headers, body, authentication, access log and metrics, for reads and changes alike; everything
else falls through to FastAPI."""

from __future__ import annotations

import io
import logging
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import PASSWORD, local_array
from fastapi import FastAPI
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from starlette.routing import Route

from opensan.api.app import create_app
from opensan.api.auth import SESSION_COOKIE
from opensan.api.fastpath import FastRoutes, _may_match_under
from opensan.array import Array

# Headers that differ between any two answers.
PER_ANSWER = {"date", "x-request-id"}


@dataclass
class Pair:
    """The same array behind two servers: the fast path on, and off (FastAPI only)."""

    array: Array
    fast: TestClient
    slow: TestClient
    layer: FastRoutes
    fell_through: list[str]
    admin: str
    user: str

    def version(self) -> tuple[int, int]:
        service = self.array.service
        return service.version, service.observed.usage_generation

    def both(self, method: str, path: str, headers: dict[str, str] | None = None
             ) -> tuple[httpx.Response, httpx.Response]:
        """One request to each server, again if the array changed in between (a measurement)."""
        for _ in range(5):
            before = self.version()
            fast = self.fast.request(method, path, headers=headers)
            slow = self.slow.request(method, path, headers=headers)
            if self.version() == before:
                break
        return fast, slow


def fast_layer(app: FastAPI) -> FastRoutes:
    layer: Any = app.middleware_stack
    while not isinstance(layer, FastRoutes):
        layer = layer.app
    return layer


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    with local_array(tmp_path) as array:
        # The array's clock stands still: systeminfo's time and uptime would otherwise differ
        # between the two answers whenever a second ends between them.
        frozen = array.service.uow.clock.now()
        monkeypatch.setattr(array.service.uow.clock, "now", lambda: frozen)
        # One tick at most during the test: the slow server's lifespan never starts.
        fast_app = create_app(array.service, tick_seconds=3600)
        slow = TestClient(create_app(array.service, tick_seconds=3600, fast_path=False))
        with TestClient(fast_app) as fast:
            tokens = [slow.post(f"/rest/login/account/{name}/password/{PASSWORD}")
                      .json()["accessToken"] for name in ("admin", "user")]
            slow.cookies.clear()  # each request says itself how it authenticates
            fast.get("/rest/")  # builds the middleware stack
            slow.get("/rest/")  # (counted the same in both)
            layer = fast_layer(fast_app)
            fell_through: list[str] = []
            inner = layer.app

            async def counted(scope: Any, receive: Any, send: Any) -> None:
                fell_through.append(scope.get("path", ""))
                await inner(scope, receive, send)

            layer.app = counted
            yield Pair(array, fast, slow, layer, fell_through, *tokens)


def assert_same(fast: httpx.Response, slow: httpx.Response) -> None:
    assert fast.status_code == slow.status_code, (fast.text, slow.text)
    assert headers_of(fast) == headers_of(slow)
    if fast.headers.get("content-type") == "application/zip":  # the service package's
        # members are stamped with the time they were written: the same members
        assert zip_members(fast) == zip_members(slow)
    else:
        assert fast.content == slow.content
    assert fast.headers["x-request-id"] != slow.headers["x-request-id"]


def headers_of(answer: httpx.Response) -> list[tuple[str, str]]:
    """The headers two answers of the same state share; a service package's are named by the
    second it was made in (servicepackage-<serial>-<time>.zip), and its size follows the log."""
    if answer.headers.get("content-type") != "application/zip":
        return [h for h in answer.headers.multi_items() if h[0] not in PER_ANSWER]
    return [(name, re.sub(r"\d{8}T\d{6}Z", "<time>", value))
            for name, value in answer.headers.multi_items()
            if name not in PER_ANSWER | {"content-length"}]


def zip_members(answer: httpx.Response) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(answer.content)).namelist()


def paths(pair: Pair) -> list[str]:
    """Every path of a read the fast path serves: each prefix, with parameters where it takes
    them (real IDs, missing ones, wrong and extra ones), and XEVO filters."""
    admin = {"Authorization": pair.admin}
    volume = pair.slow.get("/rest/storage/volumeinfo", headers=admin).json()[0]["id"]
    target = pair.slow.get("/rest/storage/availtarget", headers=admin).json()[0]["id"]
    found = []
    for method, prefix in pair.layer.exact:
        if method != "GET":
            continue
        found.append(prefix)
        if prefix.startswith("/rest/v2/"):
            found += [f"{prefix}?q=name='{volume}'", f"{prefix}?poolId=1", f"{prefix}?q=bad",
                      f"{prefix}?nonsense=1"]
    for method, prefix in pair.layer.under:
        if method != "GET":
            continue
        found += [f"{prefix}{tail}" for tail in (
            "/1", "/2", "/0", "/x", "/1/extra", f"/vdid/{volume}", "/vdid/9999999",
            f"?vdid={volume}", f"/vdid/{volume}?vdid=1", f"/targetid/{target}",
            "/targetid/9999999", "/page/1", "?page=1", "/")]
    return found


def test_every_declared_endpoint_without_an_id_inside_its_path_is_served(pair: Pair) -> None:
    assert set(pair.layer.exact) >= {("GET", path) for path in (
        "/rest/storage/volumeinfo", "/rest/storage/poolinfo", "/rest/storage/snapshot",
        "/rest/storage/availtarget", "/rest/storage/lunmappinginfo", "/rest/log/list",
        "/rest/storage/diskinfo", "/rest/v2/storage/pools", "/rest/v2/storage/block/volumes")}
    assert ("POST", "/rest/v2/storage/block/volumes") in pair.layer.exact
    assert {("GET", "/rest/storage/snapshot"), ("GET", "/rest/log/list"),
            ("POST", "/rest/storage/snapspace"), ("POST", "/rest/storage/snapshot"),
            ("POST", "/rest/login")} <= set(pair.layer.under)
    # XEVO's paths with an ID inside them are FastAPI's to route.
    assert not any("{" in prefix for _, prefix in [*pair.layer.exact, *pair.layer.under])


def test_answers_equal_fastapis_for_every_account_and_token_form(pair: Pair) -> None:
    token_forms = {
        "admin": {"Authorization": pair.admin},
        "admin bearer": {"Authorization": f"Bearer {pair.admin}"},
        "user": {"Authorization": pair.user},
        "user cookie": {"Cookie": f"{SESSION_COOKIE}={pair.user}"},
        "none": {},
        "unknown": {"Authorization": "Bearer nonsense"},
        "bearer only": {"Authorization": "Bearer"},
    }
    served = paths(pair)
    statuses = set()
    for path in served:
        for headers in token_forms.values():
            fast, slow = pair.both("GET", path, headers)
            assert_same(fast, slow)
            statuses.add(fast.status_code)
    assert pair.fell_through == []  # every one of them answered without FastAPI
    assert {200, 400, 401, 404} <= statuses


def test_a_read_after_a_change_is_the_new_state(pair: Pair) -> None:
    admin = {"Authorization": pair.admin}
    volume = pair.fast.get("/rest/storage/volumeinfo", headers=admin).json()[0]["id"]
    path = f"/rest/storage/snapshot/vdid/{volume}"
    before = pair.fast.get(path, headers=admin).json()
    log_before = pair.fast.get("/rest/log/list/1", headers=admin).json()
    taken = pair.fast.post(f"/rest/storage/snapshot/vdid/{volume}/name/fast-path", headers=admin)
    assert taken.status_code == 200, taken.text
    after, slow = pair.both("GET", path, admin)
    assert_same(after, slow)
    assert len(after.json()["snapshots"]) == len(before["snapshots"]) + 1
    log_after, slow_log = pair.both("GET", "/rest/log/list/1", admin)
    assert_same(log_after, slow_log)
    assert log_after.json()["total"] > log_before["total"]
    assert pair.fell_through == []


def test_a_change_is_answered_and_recorded_as_fastapi_does(pair: Pair) -> None:
    admin = {"Authorization": pair.admin}
    volume = pair.slow.get("/rest/storage/volumeinfo", headers=admin).json()[0]["id"]
    space = f"/rest/storage/snapspace/vdid/{volume}/sizegb"
    events = pair.slow.get("/rest/log/list/1", headers=admin).json()["total"]
    # Each size is set by one server from the other size: the same answer from both.
    to_100 = pair.fast.post(f"{space}/100", headers=admin)
    to_110 = pair.slow.post(f"{space}/110", headers=admin)
    back_to_100 = pair.slow.post(f"{space}/100", headers=admin)
    back_to_110 = pair.fast.post(f"{space}/110", headers=admin)
    assert to_100.status_code == 200, to_100.text
    assert to_100.json()["snapshotSpaceBytes"] == 100 * 2**30
    assert_same(to_100, back_to_100)
    assert_same(back_to_110, to_110)
    assert pair.slow.get("/rest/log/list/1", headers=admin).json()["total"] == events + 4
    assert pair.fell_through == []


def test_a_refused_change_is_refused_as_fastapi_refuses_it(pair: Pair) -> None:
    admin = {"Authorization": pair.admin}
    volume = pair.slow.get("/rest/storage/volumeinfo", headers=admin).json()[0]["id"]
    space = f"/rest/storage/snapspace/vdid/{volume}/sizegb/7"
    refusals = [
        (space, {"Authorization": pair.user}, 403),  # read-only
        (space, {}, 401),
        (space, {"Cookie": f"{SESSION_COOKIE}={pair.admin}"}, 403),  # no CSRF token
        ("/rest/storage/snapspace/vdid/9999999/sizegb/7", admin, 404),
        (f"/rest/storage/snapspace/vdid/{volume}/sizegb/x", admin, 400),
        (f"/rest/storage/snapspace/vdid/{volume}", admin, 400),
    ]
    before = pair.array.service.version
    for path, headers, status in refusals:
        fast, slow = pair.fast.post(path, headers=headers), pair.slow.post(path, headers=headers)
        assert fast.status_code == status, (path, fast.text)
        assert_same(fast, slow)
    assert pair.array.service.version == before
    assert pair.fell_through == []


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/rest/storage/volumeinfo"), ("HEAD", "/rest/storage/volumeinfo"),
    ("GET", "/rest/storage/volumeinfo/"), ("GET", "/rest/v2/storage/block/volumes/1"),
    ("GET", "/rest/no/such/path"), ("GET", "/docs"), ("DELETE", "/rest/v2/storage/pools"),
    ("GET", "/rest/storage/volumeinfox"), ("GET", "/rest/v1/about/x")])
def test_anything_else_falls_through_to_fastapi(pair: Pair, method: str, path: str) -> None:
    fast, slow = pair.both(method, path, {"Authorization": pair.admin})
    assert_same(fast, slow)
    assert pair.fell_through == [path.split("?")[0]]


def test_the_access_log_has_the_same_line(pair: Pair, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="opensan.access"):
        pair.both("GET", "/rest/storage/volumeinfo?x=1", {"Authorization": pair.user})
        pair.both("GET", "/rest/log/list/1", {"Authorization": "Bearer nonsense"})
    lines = [r for r in caplog.records if r.name == "opensan.access"]
    fields = [(r.account, r.method, r.path, r.status) for r in lines]  # type: ignore[attr-defined]
    assert fields == [("user", "GET", "/rest/storage/volumeinfo?x=1", 400)] * 2 + \
        [(None, "GET", "/rest/log/list/1", 401)] * 2
    assert pair.fell_through == []


def requests_counted(http: TestClient, token: str) -> dict[tuple[str, ...], float]:
    text = http.get("/metrics", headers={"Authorization": token}).text
    counted = {}
    for family in text_string_to_metric_families(text):
        if family.name in ("opensan_api_requests", "opensan_api_request_duration_seconds"):
            for sample in family.samples:
                if sample.name.endswith(("_total", "_count")) and \
                        sample.labels["endpoint"] != "/metrics":
                    counted[(sample.name, *sorted(sample.labels.items()))] = sample.value
    return counted


def test_metrics_count_the_same_requests(pair: Pair) -> None:
    for path in ("/rest/storage/volumeinfo", "/rest/log/list/2", "/rest/storage/snapshot/vdid/1",
                 "/rest/v2/storage/pools", "/rest/storage/poolinfo"):
        for headers in ({"Authorization": pair.admin}, {}):
            pair.both("GET", path, headers)
    fast = requests_counted(pair.fast, pair.admin)
    slow = {key: value for key, value in requests_counted(pair.slow, pair.admin).items()
            if not any("/rest/login" in str(part) for part in key)}  # the fixture's logins
    assert fast == slow
    assert fast[("opensan_api_requests_total", ("endpoint", "/rest/log/list"),
                 ("method", "GET"), ("status", "200"))] == 1
    assert fast[("opensan_api_request_duration_seconds_count",
                 ("endpoint", "/rest/storage/volumeinfo"), ("method", "GET"))] == 2


def test_a_route_that_could_match_first_keeps_its_paths_for_fastapi() -> None:
    async def nothing() -> None:
        return None

    assert _may_match_under(Route("/rest/log/{anything}", nothing), "GET", "/rest/log/list")
    assert _may_match_under(Route("/rest/log/list/extra", nothing), "GET", "/rest/log/list")
    assert _may_match_under(Route("/rest/log/list/{n}/x", nothing), "GET", "/rest/log/list")
    assert not _may_match_under(Route("/rest/log/lister", nothing), "GET", "/rest/log/list")
    assert not _may_match_under(Route("/rest/storage/{x}", nothing), "GET", "/rest/log/list")
    assert not _may_match_under(Route("/rest/log/{x}", nothing, methods=["POST"]), "GET",
                                "/rest/log/list")
    assert _may_match_under(Route("/rest/log/{x}", nothing, methods=["POST"]), "POST",
                            "/rest/log/list")
