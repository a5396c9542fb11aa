"""Fixtures: a fresh virtual array per test, in-process by default or as a live server.

Set OPENSAN_TEST_LIVE=1 to run the same API tests against a real `opensan serve` process
(a new one, with its own state dir and free port, for every test).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from opensan.api.app import Array, create_app, open_array
from opensan.config import Settings

LIVE = os.environ.get("OPENSAN_TEST_LIVE") == "1"
SEED = 20261129


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class LiveServer:
    """An `opensan serve` process on a free port; stopped (and reaped) by stop()."""

    state_dir: Path
    extra_args: list[str] = field(default_factory=list)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.state_dir.parent / f"server-{self.port}.log"

    def start(self) -> LiveServer:
        self.port = free_port()
        log = open(self.log_path, "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "opensan", "serve", "--port", str(self.port),
             "--state-dir", str(self.state_dir), "--seed", str(SEED), *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited with {self.process.returncode}")
            try:
                httpx.get(f"{self.url}/rest/", timeout=1)
                return self
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("server did not start within 30 s")

    def kill(self) -> None:
        """kill -9: no clean-up, no flush, exactly like a crash."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path / "state").start()
    try:
        yield server
    finally:
        server.stop()


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

    def login(self, account: str, password: str = "1234") -> Api:
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


def _settings(state_dir: Path, **overrides: Any) -> Settings:
    return Settings(state_dir=state_dir, seed=SEED, **overrides)


@pytest.fixture
def harness(tmp_path: Path) -> Iterator[Harness]:
    if LIVE:
        server = LiveServer(tmp_path / "state").start()
        try:
            with httpx.Client(base_url=server.url, timeout=30) as http:
                yield Harness(http, None)
        finally:
            server.stop()
        return
    array = open_array(_settings(tmp_path / "state"))
    try:
        with TestClient(create_app(array)) as http:
            yield Harness(http, array)
    finally:
        array.close()


@pytest.fixture
def anonymous(harness: Harness) -> Api:
    return harness.anonymous


@pytest.fixture
def admin(harness: Harness) -> Api:
    return harness.anonymous.login("admin")


@pytest.fixture
def reader(harness: Harness) -> Api:
    return harness.anonymous.login("user")


def array_state(api: Api) -> dict[str, Any]:
    """Everything a client can read about the array's configuration (not the clock or log)."""
    volumes = api.ok("GET", "/rest/storage/volumeinfo")
    disks = api.ok("GET", "/rest/storage/diskinfo")
    for disk in disks:
        disk.pop("temperatureC")
    targets = api.ok("GET", "/rest/storage/availtarget")
    return {
        "disks": disks,
        "pools": api.ok("GET", "/rest/storage/poolinfo"),
        "volumes": volumes,
        "snapshots": {v["id"]: api.ok("GET", f"/rest/storage/snapshot/vdid/{v['id']}")
                      for v in volumes},
        "targets": targets,
        "luns": {t["id"]: api.ok("GET", f"/storage/availlun/targetid/{t['id']}") for t in targets},
        "mappings": api.ok("GET", "/rest/storage/lunmappinginfo"),
    }


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
