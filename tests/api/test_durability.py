"""State survives restarts and kill -9: a change is all there or not there at all."""

from __future__ import annotations

import re
import threading
import time

import httpx
import pytest
from conftest import PASSWORD, SIMULATED, Api, LiveServer, array_state


def test_restart_keeps_everything(live_server: LiveServer) -> None:
    with live_server.client() as http:
        admin = Api(http).login("admin")
        pool = admin.ok("GET", "/rest/storage/poolinfo")[0]
        volume = admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/kept/"
                          "sizegb/3")
        admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1")
        admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/s1")
        admin.ok("POST", f"/rest/storage/maplun/targetid/0/lun/4/vdid/{volume['id']}/"
                 "permission/ro/host/iqn.1994-05.com.redhat:h1")
        admin.ok("POST", "/rest/account/setpassword/account/user/password/s3cret-pw")
        before = array_state(admin)
        events_before = admin.ok("GET", "/rest/log/list/1")
        system_before = admin.ok("GET", "/rest/dashboard/systeminfo")
        token = admin.token
    live_server.stop()
    live_server.start()
    with live_server.client() as http:
        same_session = Api(http, token)
        assert array_state(same_session) == before  # the session survived the restart too
        # A restart writes nothing: the log reads exactly as before.
        assert same_session.ok("GET", "/rest/log/list/1") == events_before
        system_after = same_session.ok("GET", "/rest/dashboard/systeminfo")
        for key in ("serialNumber", "systemName", "modelName", "controllers", "backplane"):
            assert system_after[key] == system_before[key]
        assert Api(http).login("user", "s3cret-pw").token
        assert http.post(f"/rest/login/account/user/password/{PASSWORD}").status_code == 401


@pytest.mark.simulated("it slows changes down with fault injection (/rest/sim/latency)")
def test_kill_during_a_change_leaves_none_of_it(live_server: LiveServer) -> None:
    with live_server.client() as http:
        admin = Api(http).login("admin")
        pool = admin.ok("GET", "/rest/storage/poolinfo")[0]
        before = array_state(admin)
        total_before = admin.ok("GET", "/rest/log/list/1")["total"]
        # Every change now sleeps 5 s inside its transaction, after its records are written.
        admin.ok("POST", "/rest/sim/latency/ms/5000")
        started = threading.Event()
        outcome: list[object] = []

        def create() -> None:
            started.set()
            try:
                outcome.append(admin.post(
                    f"/rest/storage/createvolume/poolid/{pool['id']}/name/halfway/sizegb/7"))
            except httpx.TransportError as error:
                outcome.append(error)  # the server died under the request: that is the point

        worker = threading.Thread(target=create)
        worker.start()
        started.wait()
        time.sleep(1.0)
        live_server.kill()
        worker.join(30)
    live_server.start()
    with live_server.client() as http:
        admin = Api(http).login("admin")
        after = array_state(admin)
        assert after == before
        assert all(v["name"] != "halfway" for v in after["volumes"])
        page = admin.ok("GET", "/rest/log/list/1")
        messages = [e["message"] for e in page["events"]]
        assert not any("halfway" in m for m in messages)
        # The latency setting was a committed change, and the login after the restart is new.
        assert page["total"] == total_before + 2
        admin.ok("POST", "/rest/sim/latency/ms/0")
        admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/halfway/sizegb/7")


def churn(admin: Api, pool_id: int, prefix: str, stop: threading.Event) -> None:
    """Create volumes with snapshot space, back to back, until stopped or the server dies."""
    i = 0
    while not stop.is_set():
        try:
            volume = admin.post(f"/rest/storage/createvolume/poolid/{pool_id}/name/{prefix}{i}/"
                                "sizegb/1")
            if volume.status_code == 200:
                admin.post(f"/rest/storage/snapspace/vdid/{volume.json()['id']}/sizegb/1")
        except httpx.TransportError:
            return
        i += 1


def test_kill_at_random_moments_keeps_every_change_whole(live_server: LiveServer) -> None:
    """Changes run back to back while the server is killed; each is complete or absent."""
    for round_number in range(3):
        with live_server.client() as http:
            admin = Api(http).login("admin")
            pool_id = admin.ok("GET", "/rest/storage/poolinfo")[0]["id"]
            stop = threading.Event()

            worker = threading.Thread(target=churn,
                                      args=(admin, pool_id, f"r{round_number}v", stop))
            worker.start()
            time.sleep(0.5 + 0.3 * round_number)
            live_server.kill()
            stop.set()
            worker.join(30)
        live_server.start()
        with live_server.client() as http:
            admin = Api(http).login("admin")
            volumes = admin.ok("GET", "/rest/storage/volumeinfo")
            pool = admin.ok("GET", "/rest/storage/poolinfo")[0]
            if SIMULATED:  # a real pool's use is measured, not the sum of its allocations
                allocated = sum(v["capacityBytes"] + v["snapshotSpaceBytes"] for v in volumes)
                assert pool["usedBytes"] == allocated
            assert pool["volumeCount"] == len(volumes)
            pages = admin.ok("GET", "/rest/log/list/1")["totalPages"]
            messages = " ".join(e["message"] for page in range(1, pages + 1)
                                for e in admin.ok("GET", f"/rest/log/list/{page}")["events"])
            names = {v["name"] for v in volumes}
            # Every recorded creation has its volume, and every volume its record.
            assert set(re.findall(r"Volume (r\d+v\d+) created", messages)) == \
                {n for n in names if n.startswith("r")}
            for volume in volumes:
                if volume["name"].startswith("r"):
                    assert f"Volume {volume['name']} created" in messages
                    if volume["snapshotSpaceBytes"]:
                        assert f"Snapshot space of volume {volume['name']} set" in messages


def test_a_clone_killed_while_it_copies_goes_on_after_the_restart(
        live_server: LiveServer) -> None:
    with live_server.client() as http:
        admin = Api(http).login("admin")
        pool = admin.ok("GET", "/rest/storage/poolinfo")[0]
        size = 400 if SIMULATED else 1  # the virtual array copies 400 GiB in 100 s
        source = admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/"
                          f"clone-src/sizegb/{size}")
        clone = admin.ok("POST", f"/rest/storage/clonevolume/vdid/{source['id']}/name/copy")
        live_server.kill()
    live_server.start()
    with live_server.client() as http:
        admin = Api(http).login("admin")
        deadline = time.monotonic() + 60
        while True:
            volume = next(v for v in admin.ok("GET", "/rest/storage/volumeinfo")
                          if v["id"] == clone["id"])
            if volume["status"] != "Initiating" or time.monotonic() > deadline:
                break
            if SIMULATED:
                admin.ok("POST", "/rest/sim/clock/seconds/50")
            time.sleep(0.2)
        assert volume["status"] == "Online" and volume["name"] == "copy"
        admin.ok("POST", f"/rest/storage/deletevolume/vdid/{source['id']}")
        messages = [e["message"] for e in admin.ok("GET", "/rest/log/list/1")["events"]]
        assert "Volume copy is cloned: it no longer needs volume clone-src." in messages
