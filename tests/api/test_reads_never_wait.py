"""Reads never wait on hardware: with the backend's measurement held, every GET answers.

The array here runs on a backend that measures use (as the Linux and Ceph backends do) and
whose measurement can be held: the periodic tick then hangs in it, and so does a change that
measures after it commits, while a second change queues behind that one. Every GET endpoint
the array lists must still answer, from what is kept in memory.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import httpx
import pytest
import uvicorn

from opensan.api.app import create_app
from opensan.api.xevo.nas import NAS_CALLS
from opensan.backends.simulated.backend import TRAITS, SimulatedBackend
from opensan.domain.measured import Usage
from opensan.domain.models import ArrayState
from opensan.profile import Profile
from opensan.service.array import ArrayService
from opensan.store.sqlite import SqliteStore
from opensan.testing import _wait_for_port

pytestmark = pytest.mark.simulated("an array on a backend built for the test")
SEED = 20261129
ANSWER_SECONDS = 5.0  # a read that waited on the held measurement would take until release


class HeldMeasurement(SimulatedBackend):
    """The virtual array, measuring use through a gate the test holds shut."""


    traits = replace(TRAITS, usage_refresh_seconds=0.05)

    def __init__(self) -> None:
        super().__init__(seed=SEED)
        self.gate = threading.Event()
        self.gate.set()
        self.waiting = threading.Semaphore(0)  # released once per measurement held

    def measure_usage(self, state: ArrayState) -> Usage:
        if not self.gate.is_set():
            self.waiting.release()
            self.gate.wait()
        return Usage()


@dataclass
class Served:
    backend: HeldMeasurement
    http: httpx.Client
    token: str


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    backend = HeldMeasurement()
    service = ArrayService(SqliteStore(tmp_path / "opensan.db"), backend)
    service.load()
    if service.start(SEED, None, {"backend": "simulated", "seed": SEED}):
        Profile.load().apply(service)
    server = uvicorn.Server(uvicorn.Config(create_app(service, tick_seconds=0.05),
                                           host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        port = _wait_for_port(server, thread)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=ANSWER_SECONDS) as http:
            login = http.post("/rest/login/account/admin/password/1234")
            yield Served(backend, http, login.json()["accessToken"])
    finally:
        backend.gate.set()
        server.should_exit = True
        thread.join(30)
        service.close()


FC_PORTS = "/rest/v2/dataTransfer/protocol/fibreChannel"


def every_get(served: Served) -> list[str]:
    """The GET paths the array lists, with real IDs in place of the manual's placeholders."""
    headers = {"Authorization": served.token}
    volume = served.http.get("/rest/storage/volumeinfo", headers=headers).json()[0]
    target = served.http.get("/rest/storage/availtarget", headers=headers).json()[0]
    pool = served.http.get("/rest/storage/poolinfo", headers=headers).json()[0]
    values = {"vdid": volume["id"], "target_id": target["id"], "page_num": 1,
              # XEVO's names of the same objects
              "poolId": pool["id"], "volumeId": volume["id"], "targetId": target["id"]}
    snapshot = served.http.get(f"/rest/storage/snapshot/vdid/{volume['id']}",
                               headers=headers).json()["snapshots"][0]
    lun = served.http.get(f"/rest/v2/dataTransfer/targets/{target['id']}/luns/",
                          headers=headers).json()[0]
    values.update(snapshotId=snapshot["name"], lunId=lun["id"], userId="user",
                  groupId="User_Group", encId=0)
    paths = []
    for item in served.http.get("/rest/").json():
        # The service package (admin) records an event of its download: a change, which waits
        # for the change lock as every change does.
        # A SAN answers the NAS calls 501 at once (api/xevo/nas.py): nothing of it to read.
        if item["method"] != "GET" or item["access"] == "admin" or \
                (item["method"], item["path"]) in NAS_CALLS:
            continue
        path = re.sub(r"\[[^]]*\]", "", item["path"])  # optional parts left out
        paths.append(re.sub(r"<([a-z_]+)>|\{(\w+)\}",
                            lambda m: str(values[m.group(1) or m.group(2)]), path))
    return paths


def committed(served: Served, text: str) -> bool:
    """Whether an event containing text is in the log within a few seconds."""
    for _ in range(100):
        events = served.http.get("/rest/log/list/1",
                                 headers={"Authorization": served.token}).json()["events"]
        if any(text in event["message"] for event in events):
            return True
        threading.Event().wait(0.1)
    return False


def assert_every_get_answers(served: Served) -> None:
    headers = {"Authorization": served.token}
    for path in every_get(served):
        response = served.http.get(path, headers=headers)
        # An array without an FC host card answers its FC port list 501 at once.
        fc_less = path == FC_PORTS and response.status_code == 501 \
            and response.json()["error"]["code"] == 15000
        assert response.status_code == 200 or fc_less, (path, response.status_code,
                                                          response.text)


def test_every_get_answers_while_the_measurement_is_held(served: Served) -> None:
    paths = every_get(served)
    assert len(paths) >= 12 and "/rest/storage/disksmart" in paths
    backend = served.backend
    backend.gate.clear()
    assert backend.waiting.acquire(timeout=10), "the tick never measured"
    assert_every_get_answers(served)

    # A change measures once it has committed: it waits there for the held measurement,
    # holding the change lock ...
    headers = {"Authorization": served.token}
    volume = served.http.get("/rest/storage/volumeinfo", headers=headers).json()[0]
    size_gb = volume["snapshotSpaceBytes"] // 1024**3 + 1
    answers: list[httpx.Response] = []

    def change(path: str) -> None:
        with httpx.Client(base_url=served.http.base_url, timeout=60) as http:
            answers.append(http.post(path, headers=headers))

    first = threading.Thread(target=change, args=(
        f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/{size_gb}",))
    first.start()
    assert committed(served, f"set to {size_gb} GiB"), "the change never committed"
    first.join(0.5)
    assert first.is_alive() and not answers
    # ... and a second change queues behind it.
    second = threading.Thread(target=change, args=(
        f"/rest/storage/snapshot/vdid/{volume['id']}/name/queued",))
    second.start()
    second.join(0.5)
    assert second.is_alive() and not answers
    assert_every_get_answers(served)

    backend.gate.set()
    first.join(30)
    second.join(30)
    assert sorted(r.status_code for r in answers) == [200, 200], [r.text for r in answers]
    snapshots = served.http.get(f"/rest/storage/snapshot/vdid/{volume['id']}",
                                headers=headers).json()
    assert snapshots["snapshotSpaceBytes"] == size_gb * 1024**3
    assert "queued" in [s["name"] for s in snapshots["snapshots"]]
