"""Who may call what (api-contract.md, "Authentication"), for every endpoint in the help listing.

The endpoint list comes from the application's own help listing, so an endpoint added later
is covered without touching this file; test_help_lists_every_manual_endpoint pins the ones the
manual (and the contract) promise. Paths in the listing are written as in the manual
(/rest/storage/snapspace/vdid/<vdid>/sizegb/<sizegb>); concrete() fills them with IDs that are
valid on a fresh array, so that the account check is the only thing that can refuse a request.

Most checks run against one array per module (SharedArray) because a login costs a scrypt
hash; every test that uses it proves that the array state and the event count did not move.
"""

from __future__ import annotations

import functools
import logging
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import (
    LIVE,
    NEW_POOL_TYPE,
    PASSWORD,
    POOLS_SHARE_DISKS,
    SIMULATED,
    Api,
    Harness,
    array_state,
    assert_error,
    fresh_array,
    local_array,
)
from fastapi.testclient import TestClient

from opensan.api.app import create_app

SESSION_COOKIE = "opensan_session"
IDLE_SECONDS = 1800
LOCKOUT_SECONDS = 300
ACCESS_LEVELS = {"public", "any account", "admin"}
NEW_PASSWORD = "n3w-Passw0rd"
# The manual's only value without a key in front of it: /rest/log/list/<page_num>.
POSITIONAL = {"page_num"}

# Every endpoint of the manual (and the contract's logout), literally. Optional parts ([...])
# of the listing are compared separately, by key, in MANUAL_OPTIONAL_KEYS.
MANUAL_ENDPOINTS = [
    ("POST", "/rest/login/account/<username>/password/<password>"),
    ("POST", "/rest/logout"),
    ("GET", "/rest/"),
    ("GET", "/rest/dashboard/systeminfo"),
    ("GET", "/rest/dashboard/hwmonitor"),
    ("GET", "/rest/log/list/<page_num>"),
    ("GET", "/rest/storage/diskinfo"),
    ("GET", "/rest/storage/disksmart"),
    ("GET", "/rest/storage/poolinfo"),
    ("GET", "/rest/storage/volumeinfo"),
    ("GET", "/rest/storage/snapshot/vdid/<vdid>"),
    ("GET", "/rest/storage/availtarget"),
    ("GET", "/storage/availlun/targetid/<target_id>"),
    ("GET", "/rest/storage/availlun/targetid/<target_id>"),
    ("GET", "/storage/avaiilun/targetid/<target_id>"),
    ("GET", "/rest/storage/avaiilun/targetid/<target_id>"),
    ("GET", "/rest/storage/lunmappinginfo"),
    ("POST", "/rest/storage/snapspace/vdid/<vdid>/sizegb/<sizegb>"),
    ("POST", "/rest/storage/snapshot/vdid/<vdid>"),
    ("POST", "/rest/storage/maplun/targetid/<target_id>/lun/<lun>/vdid/<vdid>"),
    ("POST", "/rest/storage/unmaplun/targetid/<target_id>/lun/<lun>"),
]
MANUAL_OPTIONAL_KEYS = {
    ("POST", "/rest/storage/snapshot/vdid/<vdid>"): {"name"},
    ("POST", "/rest/storage/maplun/targetid/<target_id>/lun/<lun>/vdid/<vdid>"):
        {"permission", "host"},
}


# The help listing and the manual's path form


@dataclass(frozen=True)
class Spec:
    """One parameter of a manual path: /key/<placeholder>, optional when written [...]."""

    key: str | None  # None for a positional value (/rest/log/list/<page_num>)
    placeholder: str
    required: bool

    @property
    def name(self) -> str:
        """The key; for a positional value, its placeholder."""
        return self.key or self.placeholder


_PAIR = re.compile(r"(\[)?/([^/\[\]<>]+)/<([^<>]+)>\]?")


def parse_manual_path(path: str) -> tuple[str, list[Spec]]:
    """The prefix and the parameters of a path written as in the manual."""
    specs: list[Spec] = []
    prefix_end = len(path)
    for match in _PAIR.finditer(path):
        optional, key, placeholder = match.group(1), match.group(2), match.group(3)
        if placeholder in POSITIONAL:
            start = match.start() + len(key) + 1
            specs.append(Spec(None, placeholder, optional is None))
        else:
            start = match.start()
            specs.append(Spec(key, placeholder, optional is None))
        prefix_end = min(prefix_end, start)
    return path[:prefix_end], specs


def required_part(path: str) -> str:
    return re.sub(r"\[[^\[\]]*\]", "", path)


def action_of(path: str) -> str:
    """The last word of the prefix: snapspace, maplun, availlun, list ..."""
    return parse_manual_path(path)[0].rstrip("/").rsplit("/", 1)[-1]


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # as in the help listing
    access: str

    @property
    def prefix(self) -> str:
        return parse_manual_path(self.path)[0]

    @property
    def specs(self) -> list[Spec]:
        return parse_manual_path(self.path)[1]

    @property
    def action(self) -> str:
        return action_of(self.path)

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def concrete(endpoint: Endpoint, values: Mapping[str, str], *, optional: bool = True,
             leave_out: str | None = None, replace: Mapping[str, str] | None = None) -> str:
    """The manual path with each parameter filled in from values (keyed by Spec.name).

    Optional parts are filled in too (unless optional=False); leave_out drops one parameter,
    replace gives some parameters other (raw, already percent-encoded) values.
    """
    parts = [endpoint.prefix.rstrip("/") or "/"] if endpoint.specs else [endpoint.prefix]
    for spec in endpoint.specs:
        if spec.name == leave_out or not (spec.required or optional):
            continue
        value = (replace or {}).get(spec.name, values.get(spec.name))
        if value is None:
            raise KeyError(f"no value for {spec.name} of {endpoint.id}")
        parts.append(f"/{value}" if spec.key is None else f"/{spec.key}/{value}")
    return "".join(parts)


@functools.lru_cache(maxsize=1)
def collected_listing() -> tuple[tuple[str, str, str], ...]:
    """The SANOS endpoints in GET /rest/ of a fresh in-process array of the backend under
    test, read once while tests are collected (a backend lists only the extensions it has).
    The XEVO endpoints listed beside them have their own matrix (tests/api/xevo)."""
    with tempfile.TemporaryDirectory() as tmp, local_array(Path(tmp)) as array, \
            TestClient(create_app(array.service)) as http:
        response = http.get("/rest/")
        assert response.status_code == 200, response.text
        items = response.json()
    return tuple((item["method"], item["path"], item.get("access", "")) for item in items
                 if item["api"] == "SANOS")


def endpoints(*, methods: tuple[str, ...] = ("GET", "POST"),
              access: tuple[str, ...] = tuple(ACCESS_LEVELS)) -> list[Endpoint]:
    return [Endpoint(m, p, a) for m, p, a in collected_listing() if m in methods and a in access]


def cases(items: list[Endpoint]) -> list[Any]:
    return [pytest.param(e, id=e.id) for e in items]


NON_PUBLIC = endpoints(access=("any account", "admin"))
GETS = endpoints(methods=("GET",), access=("any account",))
# The reads only an administrator may make: the service package holds the whole event log and
# the server's configuration and log, the accounts list which accounts keep the default
# password (docs/security.md).
ADMIN_READS = {("GET", "servicepackage"), ("GET", "accountinfo")}
ADMIN_GETS = endpoints(methods=("GET",), access=("admin",))
# Every POST a read-only account must not make: all but login (public) and logout.
ADMIN_POSTS = [e for e in endpoints(methods=("POST",)) if e.action not in ("login", "logout")]


# Real IDs of a fresh array


def event_total(api: Api) -> int:
    return int(api.ok("GET", "/rest/log/list/1")["total"])


def all_events(api: Api) -> list[dict[str, Any]]:
    first = api.ok("GET", "/rest/log/list/1")
    events = list(first["events"])
    for page in range(2, first["totalPages"] + 1):
        events += api.ok("GET", f"/rest/log/list/{page}")["events"]
    return events


def array_time(api: Api) -> float:
    text = api.ok("GET", "/rest/dashboard/systeminfo")["time"]
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@dataclass(frozen=True)
class ArrayIds:
    """IDs of a fresh array for which every endpoint's request is valid."""

    pool: int
    free_disks: tuple[int, ...]  # free, good, the same kind as the pool's disks
    plain_volume: int  # unmapped, without snapshot space
    plain_volume_gib: int
    snap_volume: int  # has snapshot space and snapshots
    snapshot: int
    target: int
    mapped_lun: int  # on target
    free_lun: int  # on target
    free_node: int  # on controller 1
    sensor: str | None  # None where the array reports no sensors (a Linux VM)

    @classmethod
    def read(cls, api: Api) -> ArrayIds:
        pools = api.ok("GET", "/rest/storage/poolinfo")
        volumes = api.ok("GET", "/rest/storage/volumeinfo")
        disks = {d["id"]: d for d in api.ok("GET", "/rest/storage/diskinfo")}
        targets = api.ok("GET", "/rest/storage/availtarget")
        pool = pools[0]
        kind = "SSD" in disks[pool["diskIds"][0]]["type"]
        free = tuple(d["id"] for d in disks.values()
                     if (d["usage"] == "Free" or POOLS_SHARE_DISKS)
                     and d["health"] == "Good" and ("SSD" in d["type"]) == kind)
        assert len(free) >= 3, "a fresh array has free disks"
        plain = next(v for v in volumes if not v["mapped"] and v["snapshotSpaceBytes"] == 0)
        snapped = next(v for v in volumes if v["snapshotCount"] > 0)
        snapshots = api.ok("GET", f"/rest/storage/snapshot/vdid/{snapped['id']}")["snapshots"]
        target = next(t for t in targets if t["id"] == 0)
        luns = api.ok("GET", "/storage/availlun/targetid/0")
        nodes = {t["node"] for t in targets if t["controller"] == 1}
        sensors = api.ok("GET", "/rest/dashboard/hwmonitor")["enclosures"][0]["sensors"]
        return cls(
            pool=pool["id"], free_disks=free, plain_volume=plain["id"],
            plain_volume_gib=plain["capacityBytes"] // 1024**3, snap_volume=snapped["id"],
            snapshot=snapshots[0]["id"], target=target["id"], mapped_lun=luns["luns"][0]["lun"],
            free_lun=luns["freeLuns"][0], free_node=min(set(range(32)) - nodes),
            sensor=sensors[0]["id"] if sensors else None,
        )

    def values(self, endpoint: Endpoint) -> dict[str, str]:
        """A valid value for each parameter (by Spec.name) of this endpoint, optional ones too."""
        values = {
            "account": "user", "password": PASSWORD, "page_num": "1",
            "vdid": str(self.snap_volume), "targetid": str(self.target), "poolid": str(self.pool),
            "snapid": str(self.snapshot), "diskids": str(self.free_disks[0]),
            "diskid": str(self.free_disks[0]), "controller": "1", "node": str(self.free_node),
            "status": "warning", "ms": "0", "seconds": "1",
            "permission": "ro", "host": "iqn.1994-05.com.redhat:host1", "raidlevel": "5",
            "provision": NEW_POOL_TYPE, "force": "no", "window": "60", "iops": "500",
            "readpercent": "70", "blockkb": "8",
        }
        if self.sensor is not None:
            values["sensor"] = self.sensor
        plain = str(self.plain_volume)
        overrides: dict[str, dict[str, str]] = {
            "login": {"account": "admin"},
            "setpassword": {"password": NEW_PASSWORD},
            "create": {"account": "acct-opensan-test", "role": "user"},
            "snapspace": {"vdid": plain, "sizegb": "10"},
            "snapshot": {"name": "snap-opensan-test"},
            "maplun": {"vdid": plain, "lun": str(self.free_lun)},
            "unmaplun": {"lun": str(self.mapped_lun)},
            "mapsnapshot": {"lun": str(self.free_lun)},
            "createpool": {"name": "pool-opensan-test", "type": NEW_POOL_TYPE,
                           "diskids": ",".join(str(d) for d in self.free_disks[:3])},
            "createvolume": {"name": "vol-opensan-test", "sizegb": "10"},
            "clonevolume": {"name": "vol-opensan-clone"},
            "extendvolume": {"vdid": plain, "sizegb": str(self.plain_volume_gib + 10)},
            "deletevolume": {"vdid": plain},
            "createtarget": {"name": "tgt-opensan-test"},
            "setspare": {"type": "dedicated"},
            "hostwrite": {"sizegb": "1"},
        }
        values.update(overrides.get(endpoint.action, {}))
        return values

    def path(self, endpoint: Endpoint, **kw: Any) -> str:
        return concrete(endpoint, self.values(endpoint), **kw)


# One array for many tests


def bare(http: httpx.Client, method: str, path: str, **kw: Any) -> httpx.Response:
    """A request with no token at all: not even the cookie an earlier login left in the jar."""
    http.cookies.clear()
    return http.request(method, path, **kw)


class SharedArray:
    """A fresh array kept for a whole module; rebuilt when a test changed it after all."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.generation = 0
        self.dirty = False
        self._resources = ExitStack()

    def start(self) -> None:
        self.generation += 1
        with ExitStack() as resources:  # released here only when the start fails
            self.harness = resources.enter_context(
                fresh_array(self.workdir / f"array-{self.generation}"))
            self.http = self.harness.http
            self.admin = Api(self.http).login("admin")
            self.reader = Api(self.http).login("user")
            self.http.cookies.clear()
            self.ids = ArrayIds.read(self.admin)
            self.baseline = array_state(self.admin)
            self.events = event_total(self.admin)
            self.dirty = False
            self._resources = resources.pop_all()

    def stop(self) -> None:
        self._resources.close()

    def ensure_clean(self) -> None:
        if self.dirty:
            self.stop()
            self.start()

    def changes(self) -> list[str]:
        """What moved since the array was fresh; marks the array for a rebuild if anything did."""
        found = []
        total = event_total(self.admin)
        if total != self.events:
            found.append(f"event count went from {self.events} to {total}")
        state = array_state(self.admin)
        for part in self.baseline:
            if state[part] != self.baseline[part]:
                found.append(f"{part} changed: {_difference(self.baseline[part], state[part])}")
        if found:
            self.dirty = True
        return found

    def after_test(self) -> None:
        if not self.dirty and event_total(self.admin) != self.events:
            self.dirty = True


def _difference(before: Any, after: Any, where: str = "") -> str:
    """Where two readings of the array differ first, for a failure message."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                return _difference(before.get(key), after.get(key), f"{where}.{key}")
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for i, (old, new) in enumerate(zip(before, after, strict=True)):
            if old != new:
                return _difference(old, new, f"{where}[{i}]")
    return f"{where}: {str(before)[:200]} -> {str(after)[:200]}"


@pytest.fixture(scope="module")
def shared_array(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SharedArray]:
    shared = SharedArray(tmp_path_factory.mktemp("shared"))
    shared.start()
    try:
        yield shared
    finally:
        shared.stop()


@pytest.fixture
def shared(shared_array: SharedArray) -> Iterator[SharedArray]:
    shared_array.ensure_clean()
    yield shared_array
    shared_array.after_test()


@dataclass
class ExpiredTokens:
    tokens: dict[str, str]  # endpoint id -> a token whose session idled out
    admin: Api
    ids: ArrayIds
    events: int
    state: dict[str, Any]


@pytest.fixture(scope="module")
def expired(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ExpiredTokens]:
    """One session per endpoint, all idled out by moving the array clock past the idle time."""
    workdir = tmp_path_factory.mktemp("expired")
    shared = SharedArray(workdir)
    shared.start()
    try:
        tokens = {e.id: Api(shared.http).login("admin").token or "" for e in NON_PUBLIC}
        clock_admin = Api(shared.http).login("admin")
        clock_admin.ok("POST", f"/rest/sim/clock/seconds/{IDLE_SECONDS + 1}")
        # The session that moved the clock idled out with the others ...
        assert_error(clock_admin.get("/rest/storage/volumeinfo"), 401)
        # ... so log in again.
        admin = Api(shared.http).login("admin")
        shared.http.cookies.clear()
        yield ExpiredTokens(tokens, admin, shared.ids, event_total(admin), array_state(admin))
    finally:
        shared.stop()


# The help listing


def test_help_is_public_and_lists_method_path_description(shared: SharedArray) -> None:
    response = bare(shared.http, "GET", "/rest/")
    assert response.status_code == 200, response.text
    items = response.json()
    assert isinstance(items, list) and items
    for item in items:
        assert {"method", "path", "description", "access", "api"} <= set(item), item
        assert item["api"] in ("SANOS", "XEVO"), item
        sanos = item["api"] == "SANOS"
        assert item["method"] in (("GET", "POST") if sanos else ("GET", "POST", "PATCH",
                                                                 "PUT", "DELETE")), item
        assert item["path"].startswith(("/rest/", "/storage/") if sanos else
                                       ("/rest/v1/", "/rest/v2/", "/auth/")), item
        assert isinstance(item["description"], str) and item["description"], item
        assert item["access"] in ACCESS_LEVELS, item
    pairs = [(item["method"], item["path"]) for item in items]
    assert len(pairs) == len(set(pairs)), "an endpoint is listed twice"


def test_served_listing_is_the_one_these_tests_were_built_from(shared: SharedArray) -> None:
    served = bare(shared.http, "GET", "/rest/").json()
    assert [(i["method"], i["path"], i["access"]) for i in served
            if i["api"] == "SANOS"] == list(collected_listing())


def test_help_lists_every_manual_endpoint() -> None:
    listed = {(m, required_part(p)): p for m, p, _ in collected_listing()}
    missing = [pair for pair in MANUAL_ENDPOINTS if pair not in listed]
    assert not missing, f"the help listing lacks {missing}"
    for pair, keys in MANUAL_OPTIONAL_KEYS.items():
        optional = {s.key for s in parse_manual_path(listed[pair])[1] if not s.required}
        assert optional == keys, (pair, optional)
    # Only what the manual documents as optional is optional among its endpoints.
    for pair in MANUAL_ENDPOINTS:
        if pair not in MANUAL_OPTIONAL_KEYS:
            assert listed[pair] == pair[1], listed[pair]


def test_access_levels_follow_the_contract() -> None:
    for method, path, access in collected_listing():
        action = action_of(path)
        if (method, path) == ("GET", "/rest/") or action == "login":
            assert access == "public", (method, path, access)
        elif (method, action) in ADMIN_READS:
            assert access == "admin", (method, path, access)
        elif method == "GET" or action == "logout":
            assert access == "any account", (method, path, access)
        else:
            assert access == "admin", (method, path, access)


def test_concrete_paths_fill_every_placeholder(shared: SharedArray) -> None:
    for endpoint in endpoints():
        path = shared.ids.path(endpoint)
        assert "<" not in path and "[" not in path, path
        assert path.startswith(endpoint.prefix.rstrip("/")), path
    snapspace = next(e for e in endpoints() if e.action == "snapspace")
    assert shared.ids.path(snapspace) == (
        f"/rest/storage/snapspace/vdid/{shared.ids.plain_volume}/sizegb/10")
    log = next(e for e in endpoints() if e.action == "list")
    assert shared.ids.path(log) == "/rest/log/list/1"


# No token, a wrong token, an expired token: 401


@pytest.mark.matrix
@pytest.mark.parametrize("endpoint", cases(NON_PUBLIC))
def test_no_token_is_401(shared: SharedArray, endpoint: Endpoint) -> None:
    response = bare(shared.http, endpoint.method, shared.ids.path(endpoint))
    changes = shared.changes()
    assert_error(response, 401)
    assert not changes


GARBAGE = {
    "raw": {"Authorization": "not-a-token"},
    "bearer": {"Authorization": "Bearer not-a-token"},
    "cookie": {"Cookie": f"{SESSION_COOKIE}=not-a-token"},
    "bearer-without-token": {"Authorization": "Bearer"},
}


@pytest.mark.matrix
@pytest.mark.parametrize("form", list(GARBAGE))
@pytest.mark.parametrize("endpoint", cases(NON_PUBLIC))
def test_garbage_token_is_401(shared: SharedArray, endpoint: Endpoint, form: str) -> None:
    response = bare(shared.http, endpoint.method, shared.ids.path(endpoint),
                    headers=GARBAGE[form])
    changes = shared.changes()
    assert_error(response, 401)
    assert not changes


@pytest.mark.simulated("sessions idle out by the simulated clock")
@pytest.mark.parametrize("endpoint", cases(NON_PUBLIC))
def test_expired_token_is_401(expired: ExpiredTokens, endpoint: Endpoint) -> None:
    api = Api(expired.admin.http, expired.tokens[endpoint.id])
    expired.admin.http.cookies.clear()
    response = api.request(endpoint.method, expired.ids.path(endpoint))
    assert_error(response, 401)
    assert event_total(expired.admin) == expired.events
    assert array_state(expired.admin) == expired.state


@pytest.mark.simulated("sessions idle out by the simulated clock")
def test_each_use_pushes_the_idle_expiry_on(harness: Harness) -> None:
    admin = harness.anonymous.login("admin")
    reader = harness.anonymous.login("user")
    harness.http.cookies.clear()
    admin.ok("POST", f"/rest/sim/clock/seconds/{IDLE_SECONDS - 300}")
    reader.ok("GET", "/rest/storage/volumeinfo")
    admin.ok("POST", f"/rest/sim/clock/seconds/{IDLE_SECONDS - 300}")
    # 3000 s since the login, but only 1500 s since the last use.
    reader.ok("GET", "/rest/storage/volumeinfo")
    admin.ok("POST", f"/rest/sim/clock/seconds/{IDLE_SECONDS + 1}")
    assert_error(reader.get("/rest/storage/volumeinfo"), 401)


# Logging in and the three ways to send the token


def test_login_answers_token_expiry_account_role_and_an_httponly_cookie(harness: Harness) -> None:
    http = harness.http
    http.cookies.clear()
    response = http.post(f"/rest/login/account/admin/password/{PASSWORD}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert {"accessToken", "expireTime", "account", "role"} <= set(body), body
    assert isinstance(body["accessToken"], str) and len(body["accessToken"]) >= 16
    assert body["account"] == "admin" and body["role"] == "admin"
    assert isinstance(body["expireTime"], int)
    now = array_time(Api(http, body["accessToken"]))
    assert now < body["expireTime"] <= now + IDLE_SECONDS + 5, (now, body["expireTime"])
    cookies = [c for c in response.headers.get_list("set-cookie")
               if c.startswith(f"{SESSION_COOKIE}=")]
    assert len(cookies) == 1, response.headers.get_list("set-cookie")
    attributes = [part.strip().lower() for part in cookies[0].split(";")]
    assert attributes[0] == f"{SESSION_COOKIE}={body['accessToken']}".lower()
    assert "httponly" in attributes, cookies[0]

    http.cookies.clear()
    reader = http.post(f"/rest/login/account/user/password/{PASSWORD}")
    assert reader.status_code == 200, reader.text
    assert reader.json()["account"] == "user" and reader.json()["role"] == "user"


@pytest.mark.parametrize("form", ["raw", "bearer", "cookie"])
def test_token_accepted_in_every_form(harness: Harness, form: str) -> None:
    http = harness.http
    http.cookies.clear()
    response = http.post(f"/rest/login/account/admin/password/{PASSWORD}")
    assert response.status_code == 200, response.text
    token = response.json()["accessToken"]
    headers: dict[str, str] = {}
    if form == "cookie":
        # The cookie the login set, as a browser would send it back, and the CSRF token that
        # the array's own page reads from its cookie (api/auth.py).
        assert http.cookies.get(SESSION_COOKIE) == token
        headers = {"X-CSRF-Token": http.cookies["opensan_csrf"]}
    else:
        http.cookies.clear()
        headers = {"Authorization": token if form == "raw" else f"Bearer {token}"}
    volumes = http.get("/rest/storage/volumeinfo", headers=headers)
    assert volumes.status_code == 200, volumes.text
    plain = next(v for v in volumes.json() if not v["mapped"] and v["snapshotSpaceBytes"] == 0)
    changed = http.post(f"/rest/storage/snapspace/vdid/{plain['id']}/sizegb/10", headers=headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["snapshotSpaceBytes"] == 10 * 1024**3


# The read-only account


@pytest.mark.matrix
@pytest.mark.parametrize("endpoint", cases(ADMIN_POSTS + ADMIN_GETS))
def test_reader_is_refused_every_change_and_admin_read(shared: SharedArray,
                                                       endpoint: Endpoint) -> None:
    response = shared.reader.request(endpoint.method, shared.ids.path(endpoint))
    changes = shared.changes()
    assert_error(response, 403)
    assert not changes


def test_reader_refusals_cover_every_extension_in_the_listing() -> None:
    extensions = {e.action for e in ADMIN_POSTS}
    expected = {"snapspace", "snapshot", "maplun", "unmaplun", "setpassword", "createvolume",
                "deletevolume", "create", "disable", "enable", "delete"} | (
        {"clock"} if SIMULATED else set())
    assert expected <= extensions, extensions


def test_admin_reads_are_the_ones_the_contract_allows() -> None:
    assert {(e.method, e.action) for e in ADMIN_GETS} == ADMIN_READS


@pytest.mark.parametrize("endpoint", cases(GETS))
def test_reader_reads_every_get(shared: SharedArray, endpoint: Endpoint) -> None:
    response = shared.reader.get(shared.ids.path(endpoint))
    assert response.status_code == 200, response.text
    assert isinstance(response.json(), list | dict)


def test_reader_may_log_out(harness: Harness) -> None:
    reader = harness.anonymous.login("user")
    harness.http.cookies.clear()
    response = reader.post("/rest/logout")
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert_error(reader.get("/rest/storage/volumeinfo"), 401)


# Logout, wrong passwords, throttling


def test_logout_ends_only_that_session(harness: Harness) -> None:
    admin = harness.anonymous.login("admin")
    other = harness.anonymous.login("admin")
    harness.http.cookies.clear()
    response = other.post("/rest/logout")
    assert response.status_code == 200, response.text
    assert response.json() == {}
    assert_error(other.get("/rest/storage/volumeinfo"), 401)
    assert_error(other.post("/rest/logout"), 401)
    admin.ok("GET", "/rest/storage/volumeinfo")


def test_logout_by_cookie(harness: Harness) -> None:
    http = harness.http
    http.cookies.clear()
    token = http.post(f"/rest/login/account/admin/password/{PASSWORD}").json()["accessToken"]
    # As the array's own page does: the CSRF token from its cookie (api/auth.py).
    logout = http.post("/rest/logout", headers={"X-CSRF-Token": http.cookies["opensan_csrf"]})
    assert logout.status_code == 200
    assert "opensan_csrf" not in http.cookies
    assert_error(bare(http, "GET", "/rest/storage/volumeinfo",
                      headers={"Cookie": f"{SESSION_COOKIE}={token}"}), 401)
    assert_error(bare(http, "GET", "/rest/storage/volumeinfo",
                      headers={"Authorization": token}), 401)


def test_wrong_password_and_unknown_account_answer_alike(harness: Harness) -> None:
    http = harness.http
    wrong = assert_error(bare(http, "POST", "/rest/login/account/admin/password/wrong-pw"), 401)
    unknown = assert_error(bare(http, "POST", f"/rest/login/account/nosuchuser/password/{PASSWORD}"),
                           401)
    assert wrong == unknown
    assert "wrong-pw" not in wrong["message"]
    assert_error(bare(http, "GET", "/rest/storage/volumeinfo"), 401)


def _warning_login_events(api: Api) -> list[dict[str, Any]]:
    return [e for e in all_events(api)
            if e["level"] == "WARNING" and "login" in e["message"].lower()]


def lock_out(http: httpx.Client, account: str) -> httpx.Response:
    """Five wrong passwords for the account, then the right one: the answer to that."""
    for attempt in range(5):
        response = bare(http, "POST", f"/rest/login/account/{account}/password/wrong-pw")
        assert response.status_code == 401, (attempt, response.text)
        assert_error(response, 401)
    return bare(http, "POST", f"/rest/login/account/{account}/password/{PASSWORD}")


def test_failed_logins_lock_the_account_for_five_minutes(harness: Harness) -> None:
    http = harness.http
    locked = lock_out(http, "user")
    assert_error(locked, 429)
    retry_after = locked.headers.get("Retry-After")
    assert retry_after is not None and retry_after.isdigit(), locked.headers
    assert 0 < int(retry_after) <= LOCKOUT_SECONDS + 1, retry_after
    assert PASSWORD not in locked.text

    # Another account is not locked.
    admin = harness.anonymous.login("admin")
    http.cookies.clear()
    assert len(_warning_login_events(admin)) == 1, _warning_login_events(admin)
    # Still locked on the next try, and still one warning.
    assert_error(bare(http, "POST", f"/rest/login/account/user/password/{PASSWORD}"), 429)
    assert len(_warning_login_events(admin)) == 1, _warning_login_events(admin)


@pytest.mark.simulated("the lock ends by the simulated clock")
def test_the_lock_follows_the_array_clock(harness: Harness) -> None:
    assert_error(lock_out(harness.http, "user"), 429)
    admin = harness.anonymous.login("admin")
    admin.ok("POST", f"/rest/sim/clock/seconds/{LOCKOUT_SECONDS + 1}")
    harness.anonymous.login("user")


def test_credentials_never_reach_the_event_log(harness: Harness,
                                               caplog: pytest.LogCaptureFixture) -> None:
    secret = "Zq7-OpenSAN-Secret-4242"
    caplog.set_level(logging.DEBUG, logger="opensan")
    http = harness.http
    messages = []
    for account in ("user", "admin", "nosuchuser"):
        response = bare(http, "POST", f"/rest/login/account/{account}/password/{secret}")
        messages.append(assert_error(response, 401)["message"])
    # The same keys from the query string and from a JSON body.
    response = bare(http, "POST", f"/rest/login?account=user&password={secret}")
    messages.append(assert_error(response, 401)["message"])
    response = bare(http, "POST", "/rest/login", json={"account": "user", "password": secret})
    messages.append(assert_error(response, 401)["message"])
    admin = harness.anonymous.login("admin")
    http.cookies.clear()
    changed = admin.post(f"/rest/account/setpassword/account/user/password/{secret}")
    assert changed.status_code == 200, changed.text
    assert secret not in changed.text
    harness.anonymous.login("user", secret)
    http.cookies.clear()

    assert not [m for m in messages if secret in m]
    events = all_events(admin)
    assert any("user" in e["message"] for e in events)
    leaked = [e for e in events if secret in e["message"]]
    assert not leaked, leaked
    # In-process, the server's own log lines are captured too (a live server logs elsewhere).
    server_logs = [r.getMessage() for r in caplog.records
                   if r.name.startswith(("opensan", "uvicorn"))]
    assert not [line for line in server_logs if secret in line]
    if not LIVE:
        assert [line for line in server_logs if "/rest/login/account/user/password/" in line]


def test_password_change_ends_the_accounts_sessions(harness: Harness) -> None:
    http = harness.http
    admin = harness.anonymous.login("admin")
    reader = harness.anonymous.login("user")
    http.cookies.clear()
    reader.ok("GET", "/rest/storage/volumeinfo")
    admin.ok("POST", f"/rest/account/setpassword/account/user/password/{NEW_PASSWORD}")
    assert_error(reader.get("/rest/storage/volumeinfo"), 401)
    assert_error(bare(http, "POST", f"/rest/login/account/user/password/{PASSWORD}"), 401)
    renewed = harness.anonymous.login("user", NEW_PASSWORD)
    http.cookies.clear()
    renewed.ok("GET", "/rest/storage/volumeinfo")
    admin.ok("GET", "/rest/storage/volumeinfo")
