"""What the XEVO tests share: logging in through /auth/get, QSAN's error body, the state."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
from conftest import LIVE, PASSWORD, Api, array_settings, array_state, served
from fastapi.testclient import TestClient

from opensan.api.app import create_app
from opensan.array import open_array

VOLUMES = "/rest/v2/storage/block/volumes"
SNAPSHOT_TARGETS = "/rest/v2/backup/snapshot/targets"
TARGETS = "/rest/v2/dataTransfer/targets"


def xevo_login(http: httpx.Client, account: str, password: str = PASSWORD,
               **extra: str) -> httpx.Response:
    """POST /auth/get with the form goqsan sends (offline access, no scope unless given)."""
    http.cookies.clear()
    return http.post("/auth/get", data={"user": account, "password": password,
                                        "offlineAccess": "true", **extra})


def xevo_api(http: httpx.Client, account: str) -> Api:
    response = xevo_login(http, account)
    assert response.status_code == 200, response.text
    return Api(http, response.json()["accessToken"])


@contextmanager
def profiled_array(workdir: Path, first_lines: str) -> Iterator[Api]:
    """A new array of the backend under test whose profile (the one its tests use) starts with
    first_lines, e.g. firmware = "V2"; logged in as admin through XEVO."""
    with array_settings(workdir) as settings:
        base = settings.profile.read_text() if settings.profile else resources.files(
            "opensan").joinpath("backends/simulated/profiles/default.toml").read_text()
        keys = {line.split("=")[0].strip() for line in first_lines.splitlines() if "=" in line}
        kept = [line for line in base.splitlines() if line.split("=")[0].strip() not in keys]
        profile = workdir / "profile.toml"
        profile.write_text("\n".join([first_lines, *kept]))
        settings = settings.model_copy(update={"profile": profile})
        if LIVE:
            with served(settings) as server, server.client() as http:
                yield xevo_api(http, "admin")
            return
        array = open_array(settings)
        try:
            with TestClient(create_app(array.service)) as http:
                yield xevo_api(http, "admin")
        finally:
            array.close()


def qsan_error(response: httpx.Response, status: int, code: int) -> str:
    """QSAN's error envelope with this status and code; its message."""
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return str(body["error"]["message"])


def whole_state(api: Api) -> dict[str, Any]:
    """Everything both APIs show of the array's configuration, and the event count."""
    volumes = api.ok("GET", VOLUMES)
    targets = api.ok("GET", TARGETS)
    return {"sanos": array_state(api), "volumes": volumes, "targets": targets,
            "snapshots": {v["id"]: api.ok("GET", f"{SNAPSHOT_TARGETS}/{v['id']}/snapshots")
                          for v in volumes},
            "luns": {t["id"]: api.ok("GET", f"{TARGETS}/{t['id']}/luns/") for t in targets},
            "qos": api.ok("GET", "/rest/v2/storage/qos/volumes"),
            "events": api.ok("GET", "/rest/log/list/1")["total"]}


def events(api: Api) -> list[str]:
    return [e["message"] for e in api.ok("GET", "/rest/log/list/1")["events"]]
