"""Fixtures: a fresh array per test, in-process by default or as a live server, on the simulated
backend by default or on the Linux one.

Set OPENSAN_TEST_LIVE=1 to run the same API tests against a real `opensan serve` process
(a new one, with its own state dir and free port, for every test; forked from a fork server
that imported the server's modules once: forked_server.py).

Set OPENSAN_TEST_BACKEND=ceph to run them against the Ceph backend: one throwaway single-node
Ceph cluster (MiniCluster) serves the whole session, and every array gets its own records object,
Ceph pool prefix, tgtd and portals, the passwords set offline and tests/api/ceph_profile.toml;
its pools are deleted when the test ends. Tests that need pools with disks of their own (spares,
free disks, thick volumes) are marked `dedicated_disks` and deselected there like `simulated`.

Set OPENSAN_TEST_BACKEND=linux to run them against the Linux backend (root, btrfs and tgt
needed, as for tests/backends/linux): every array then gets its own loop devices, tgtd control port and
iSCSI portal, passwords set offline (a real array refuses QSAN's default ones) and the profile
tests/api/linux_profile.toml. Tests that need what only the virtual array has are marked
`simulated`; on another backend they are deselected with -m "not simulated", never skipped.

The tooling of the real backends (loop devices, a private tgtd, the Ceph cluster) is in
support.py; the fixtures here that use it release what they set up, also when a test fails.
"""

from __future__ import annotations

import itertools
import os
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

import forked_server
import httpx
import pytest
from fastapi.testclient import TestClient
from support import (
    CEPH_OSDS,
    LINUX_DISKS,
    ceph_host,
    free_control_port,
    free_port,
    linux_host,
    loop_device,
    require_root,
    stop_ceph_cluster,
)

from opensan.api.app import create_app
from opensan.array import Array, open_array, open_store, serves_https
from opensan.backends.linux import btrfs
from opensan.backends.tgt.daemon import TgtDaemon
from opensan.config import Settings
from opensan.service.accounts import set_password_offline
from opensan.tls import CERT_FILE

LIVE = os.environ.get("OPENSAN_TEST_LIVE") == "1"
BACKEND = os.environ.get("OPENSAN_TEST_BACKEND", "simulated")
SIMULATED = BACKEND == "simulated"
SEED = 20261129
GIB = 1024**3

# QSAN's default password, which the virtual array keeps and a real array refuses to serve with.
DEFAULT_PASSWORD = "1234"
# The password every Linux test array's accounts get offline, before its first start.
LINUX_PASSWORD = "s3cret-admin"
# The password of both accounts (admin and user) of the arrays under test.
PASSWORD = DEFAULT_PASSWORD if SIMULATED else LINUX_PASSWORD

LINUX_PROFILE = Path(__file__).parent / "api" / "linux_profile.toml"
CEPH_PROFILE = Path(__file__).parent / "api" / "ceph_profile.toml"

# On Ceph every pool spans the OSDs: a disk is never free, any good one may go into a new pool,
# and pools are thin (RBD images are).
POOLS_SHARE_DISKS = BACKEND == "ceph"
NEW_POOL_TYPE = "thin" if POOLS_SHARE_DISKS else "thick"


@dataclass(frozen=True)
class Hardware:
    """What a fresh array of a backend is made of."""

    bays: int
    controllers: int
    model: str


def _hardware(backend: str) -> Hardware:
    known = {
        "simulated": Hardware(bays=26, controllers=2, model="XS5226D"),  # the default model
        "linux": Hardware(bays=LINUX_DISKS, controllers=1, model="OPENSAN-LNX"),
        "ceph": Hardware(bays=CEPH_OSDS, controllers=2, model="OPENSAN-CEPH"),
    }
    if backend not in known:
        raise pytest.UsageError(f"OPENSAN_TEST_BACKEND={backend}: use simulated, linux or ceph.")
    return known[backend]


HARDWARE = _hardware(BACKEND)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "linux: needs root, loop devices, btrfs and tgt (the Linux backend's tools); "
        "never skipped: a missing tool fails the test with the package to install")
    config.addinivalue_line(
        "markers", "simulated(reason): needs what only the simulated backend has; select "
        "with -m 'not simulated' on another backend")
    config.addinivalue_line(
        "markers", "dedicated_disks(reason): needs pools made of disks of their own (free "
        "disks, spares, thick volumes), which Ceph has not; select with -m 'not dedicated_disks'")
    config.addinivalue_line(
        "markers", "matrix: a rule or validation matrix (every endpoint times every case) that "
        "the service or the API decides above the backends: CI runs it in-process on the "
        "virtual array and deselects it with -m 'not matrix' on the other stages")
    config.addinivalue_line(
        "markers", "matrix_live: a matrix that CI runs against live servers too (XEVO's "
        "no-token and read-only matrices: -m 'not matrix or matrix_live')")
    config.addinivalue_line(
        "markers", f"goqsan: runs QSAN's Go SDK against OpenSAN; needs ${GOQSAN_VARIABLE} (a "
        "goqsan checkout or git dir: QSAN's code is not vendored here) and Go; deselected, "
        "and said so, without it")


# The markers a backend cannot run: such tests must be deselected with -m.
_GATES = {"linux": ("simulated",), "ceph": ("simulated", "dedicated_disks")}


GOQSAN_VARIABLE = "OPENSAN_GOQSAN"
_goqsan_deselected: list[str] = []


@pytest.hookimpl(trylast=True)  # after -m has deselected
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test the backend under test cannot run is deselected, not skipped (a skip would be
    counted like a pass): refuse to run it at all. QSAN's Go SDK is not ours to ship: without
    a copy of it the goqsan tests are deselected, and the summary says so."""
    if not os.environ.get(GOQSAN_VARIABLE):
        gone = [item for item in items if item.get_closest_marker("goqsan")]
        if gone:
            config.hook.pytest_deselected(items=gone)
            items[:] = [item for item in items if item not in gone]
            _goqsan_deselected.extend(item.nodeid for item in gone)
    for marker in _GATES.get(BACKEND, ()):
        gated = [item.nodeid for item in items if item.get_closest_marker(marker)]
        if gated:
            raise pytest.UsageError(
                f"{len(gated)} selected tests are marked {marker} (e.g. {gated[0]}); on the "
                f"{BACKEND} backend select with -m 'not {marker}'.")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _goqsan_deselected:
        terminalreporter.write_line(
            f"goqsan: {len(_goqsan_deselected)} tests deselected (QSAN's Go SDK against OpenSAN): "
            f"set {GOQSAN_VARIABLE} to a goqsan checkout or git dir to run them.")


def pytest_unconfigure(config: pytest.Config) -> None:
    stop_ceph_cluster()


# The Linux backend's tooling


@pytest.fixture
def root() -> None:
    require_root()


@pytest.fixture
def make_loop(root: None, tmp_path: Path) -> Iterator[Callable[[int], str]]:
    """make_loop(size_bytes) -> /dev/loopN over a sparse file; all detached at teardown."""
    numbers = itertools.count()
    with ExitStack() as stack:
        yield lambda size_bytes: stack.enter_context(
            loop_device(tmp_path / f"disk{next(numbers)}.img", size_bytes))


@pytest.fixture
def mounts(make_loop: Callable[[int], str]) -> Iterator[list[Path]]:
    """Mount points a test appends to; each still mounted at teardown is unmounted (before
    make_loop, which this depends on, detaches the loop devices)."""
    mounted: list[Path] = []
    yield mounted
    for mountpoint in reversed(mounted):
        if btrfs.is_mounted(mountpoint):
            btrfs.unmount(mountpoint)


MakeDaemon = Callable[..., TgtDaemon]


@pytest.fixture
def make_daemon(root: None, tmp_path: Path) -> Iterator[MakeDaemon]:
    """make_daemon(control_port=None, portal=None) -> a TgtDaemon, not started, on a free
    control port and a free 127.0.0.1 portal unless given; every one is stopped at teardown."""
    daemons: list[TgtDaemon] = []

    def make(control_port: int | None = None, portal: str | None = None) -> TgtDaemon:
        daemon = TgtDaemon(
            free_control_port() if control_port is None else control_port,
            f"127.0.0.1:{free_port()}" if portal is None else portal,
            tmp_path / f"tgtd-{len(daemons)}.log",
        )
        daemons.append(daemon)
        return daemon

    yield make
    for daemon in daemons:
        daemon.stop()


@pytest.fixture
def tgtd(make_daemon: MakeDaemon) -> TgtDaemon:
    """A running private tgtd on a free portal of 127.0.0.1; stopped at teardown."""
    daemon = make_daemon()
    daemon.start()
    return daemon


def set_passwords(settings: Settings) -> None:
    """Give both accounts LINUX_PASSWORD before the first start, as `opensan passwd` does."""
    for account in ("admin", "user"):
        set_password_offline(open_store(settings), account, LINUX_PASSWORD, changed_by="test")


# Arrays of the backend under test


@contextmanager
def array_settings(workdir: Path) -> Iterator[Settings]:
    """Settings of a new array of the backend under test, its state dir workdir/state. On
    Linux and Ceph, what the array may use is released on exit (see linux_host, ceph_host)."""
    workdir.mkdir(parents=True, exist_ok=True)
    state_dir = workdir / "state"
    if SIMULATED:
        yield Settings(state_dir=state_dir, seed=SEED)
        return
    if BACKEND == "ceph":
        with ceph_host(workdir) as ceph:
            settings = Settings(state_dir=state_dir, seed=SEED, backend=BACKEND,
                                backend_config=ceph.configs[0], profile=CEPH_PROFILE)
            set_passwords(settings)
            yield settings
        return
    with linux_host(workdir) as host:
        settings = Settings(state_dir=state_dir, seed=SEED, backend=BACKEND,
                            backend_config=host.config, profile=LINUX_PROFILE)
        set_passwords(settings)
        yield settings


@contextmanager
def local_array(workdir: Path) -> Iterator[Array]:
    """A new array of the backend under test in this process; closed and released on exit."""
    with array_settings(workdir) as settings:
        array = open_array(settings)
        try:
            yield array
        finally:
            array.close()


START_TIMEOUT_SECONDS = 60


@dataclass
class LiveServer:
    """An `opensan serve` process on a free port (forked_server.py); stopped (and reaped) by
    stop()."""

    state_dir: Path
    extra_args: list[str] = field(default_factory=list)
    # OPENSAN_* settings beyond the options, e.g. {"OPENSAN_MAX_CONNECTIONS": "8"}.
    env: dict[str, str] = field(default_factory=dict)
    # Set when it serves HTTPS: the certificate its clients trust (given to it, or the one it
    # makes in its state dir: own_certificate()).
    ca_file: Path | None = None
    port: int = 0
    process: BaseProcess | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ca_file else 'http'}://127.0.0.1:{self.port}"

    def client(self, timeout: float = 30, **options: Any) -> httpx.Client:
        """An HTTP client of this server (that trusts its certificate)."""
        verify = ssl.create_default_context(cafile=self.ca_file) if self.ca_file else True
        return httpx.Client(base_url=self.url, verify=verify, timeout=timeout, **options)

    @property
    def log_path(self) -> Path:
        return self.state_dir.parent / f"server-{self.port}.log"

    def start(self) -> LiveServer:
        self.port = free_port()
        self.process = forked_server.start(
            ["serve", "--port", str(self.port), "--state-dir", str(self.state_dir),
             "--seed", str(SEED), *self.extra_args],
            {**os.environ, **self.env}, self.log_path)
        # A Ceph controller restarted after kill -9 first waits for the lease of the lock its
        # dead self held (store/rados.py), on a loaded machine on top of its start-up.
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if not self.process.is_alive():
                raise RuntimeError(f"server exited with {self.process.exitcode}")
            try:
                with self.client(timeout=1) as http:
                    http.get("/rest/")
                return self
            except (httpx.TransportError, FileNotFoundError):  # no certificate made yet
                time.sleep(0.05)
        raise RuntimeError(f"server did not start within {START_TIMEOUT_SECONDS} s")

    def kill(self) -> None:
        """kill -9: no clean-up, no flush, exactly like a crash."""
        if self.process and self.process.is_alive():
            self.process.kill()
            self.process.join(10)

    def stop(self) -> None:
        if self.process and self.process.is_alive():
            self.process.terminate()
            self.process.join(10)
            self.kill()  # if it did not end within 10 s


def own_certificate(settings: Settings) -> Path:
    """The certificate an array that serves HTTPS makes in its state dir at its first start."""
    return settings.state_dir / CERT_FILE


@contextmanager
def served(settings: Settings) -> Iterator[LiveServer]:
    """A live server of the array these settings describe (the state dir, the backend and its
    config, the profile); stopped on exit."""
    options = ["--backend", settings.backend]
    if settings.backend_config:
        options += ["--config", str(settings.backend_config)]
    if settings.profile:
        options += ["--profile", str(settings.profile)]
    server = LiveServer(settings.state_dir, options,
                        ca_file=own_certificate(settings) if serves_https(settings) else None)
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    with array_settings(tmp_path) as settings, served(settings) as server:
        yield server


class Api:
    """Requests as one account: the token travels in the Authorization header."""

    def __init__(self, http: httpx.Client, token: str | None = None) -> None:
        self.http = http
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        merged = {"Authorization": self.token} if self.token else {}
        merged.update(headers or {})
        return merged

    def get(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.http.get(path, headers=self._headers(headers), **kw)

    def post(self, path: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.http.post(path, headers=self._headers(headers), **kw)

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.http.request(method, path, headers=self._headers(kw.pop("headers", None)), **kw)

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        """A request that must succeed; its JSON."""
        response = self.request(method, path, **kw)
        assert response.status_code == 200, (method, path, response.status_code, response.text)
        return response.json()

    def login(self, account: str, password: str = PASSWORD) -> Api:
        response = self.http.post(f"/rest/login/account/{account}/password/{password}")
        assert response.status_code == 200, response.text
        return Api(self.http, response.json()["accessToken"])


@dataclass
class Harness:
    """One fresh array and the ways to reach it."""

    http: httpx.Client
    array: Array | None  # None when the array runs in another process

    @property
    def anonymous(self) -> Api:
        return Api(self.http)


@contextmanager
def fresh_array(workdir: Path) -> Iterator[Harness]:
    """A new array of the backend under test, in this process or (LIVE) a live server's."""
    if LIVE:
        with array_settings(workdir) as settings, served(settings) as server, \
                server.client() as http:
            yield Harness(http, None)
    else:
        with local_array(workdir) as array, TestClient(create_app(array.service)) as http:
            yield Harness(http, array)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    with fresh_array(tmp_path) as fresh:
        yield fresh


@pytest.fixture
def anonymous(harness: Harness) -> Api:
    return harness.anonymous


@pytest.fixture
def admin(harness: Harness) -> Api:
    return harness.anonymous.login("admin")


@pytest.fixture
def reader(harness: Harness) -> Api:
    return harness.anonymous.login("user")


# Figures that move by themselves on Ceph: its own metadata writes (an image's header, exclusive
# lock and object map as tgtd opens it) change what `ceph df` and `rbd du` report.
CEPH_MOVING_FIGURES = ("usedBytes", "freeBytes", "snapshotUsedBytes")
MOVING_FIGURES = CEPH_MOVING_FIGURES if BACKEND == "ceph" else ()


def array_state(api: Api, without: tuple[str, ...] = MOVING_FIGURES) -> dict[str, Any]:
    """Everything an administrator can read about the array's configuration and accounts (not
    the clock or log), less the figures named in without."""
    volumes = api.ok("GET", "/rest/storage/volumeinfo")
    disks = api.ok("GET", "/rest/storage/diskinfo")
    for disk in disks:
        disk.pop("temperatureC")
    targets = api.ok("GET", "/rest/storage/availtarget")
    state = {
        "disks": disks,
        "pools": api.ok("GET", "/rest/storage/poolinfo"),
        "volumes": volumes,
        "snapshots": {v["id"]: api.ok("GET", f"/rest/storage/snapshot/vdid/{v['id']}")
                      for v in volumes},
        "targets": targets,
        "luns": {t["id"]: api.ok("GET", f"/storage/availlun/targetid/{t['id']}") for t in targets},
        "mappings": api.ok("GET", "/rest/storage/lunmappinginfo"),
        "accounts": api.ok("GET", "/rest/account/accountinfo"),  # an administrator's read
    }
    return dict(leave_out(state, without)) if without else state


def leave_out(value: Any, keys: tuple[str, ...]) -> Any:
    """value (JSON) with every object's keys named in keys left out, at any depth."""
    if isinstance(value, dict):
        return {k: leave_out(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [leave_out(v, keys) for v in value]
    return value


def assert_error(response: httpx.Response, status: int, code: int | None = None) -> dict[str, Any]:
    """The contract's error body, with this status (and code, when given)."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert isinstance(body["error"]["code"], int)
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    if code is not None:
        assert body["error"]["code"] == code, body
    return dict(body["error"])
