"""The virtual array's fault injection, clock and host-write knobs, and its 22 models."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from conftest import Api, assert_error

from opensan.array import open_array
from opensan.backends.simulated.catalogue import MODELS
from opensan.config import Settings
from opensan.domain.errors import InvalidArgument

pytestmark = pytest.mark.simulated("the /rest/sim extensions and the virtual array's hardware")
GIB = 1024**3


def disks(api: Api) -> dict[int, dict[str, Any]]:
    return {d["id"]: d for d in api.ok("GET", "/rest/storage/diskinfo")}


def the_pool(api: Api) -> dict[str, Any]:
    return api.ok("GET", "/rest/storage/poolinfo")[0]


def health(api: Api) -> str:
    return str(api.ok("GET", "/rest/dashboard/systeminfo")["systemHealth"])


def advance(api: Api, seconds: int) -> None:
    """Move the array clock in steps shorter than the session idle time (1800 s)."""
    while seconds > 0:
        step = min(seconds, 1500)
        api.ok("POST", f"/rest/sim/clock/seconds/{step}")
        seconds -= step


def messages(api: Api) -> str:
    return " ".join(e["message"] for e in api.ok("GET", "/rest/log/list/1")["events"])


def test_disk_failure_rebuilds_onto_the_global_spare(admin: Api) -> None:
    pool = the_pool(admin)
    spare = next(d for d in disks(admin).values() if d["usage"] == "Global Spare")
    victim = pool["diskIds"][2]
    failed = admin.ok("POST", f"/rest/sim/faildisk/diskid/{victim}")
    assert failed["health"] == "Failed" and failed["usage"] == "Free"
    pool = the_pool(admin)
    assert pool["health"] == "Degraded" and pool["status"] == "Rebuilding"
    assert pool["diskIds"][2] == spare["id"]
    assert disks(admin)[spare["id"]]["status"] == "Rebuilding"
    assert {v["health"] for v in admin.ok("GET", "/rest/storage/volumeinfo")} == {"Degraded"}
    assert health(admin) == "Degraded"
    smart = next(s for s in admin.ok("GET", "/rest/storage/disksmart") if s["diskId"] == victim)
    assert smart["health"] == "Failed"
    assert any(a["status"] == "FAILING_NOW" for a in smart["attributes"])
    text = messages(admin)
    assert "failed" in text and "degraded" in text and "rebuilding" in text
    # A rebuild runs at 500 MB/s of simulated time: 4,800 s for a 2.4 TB disk.
    assert spare["capacityBytes"] / 500e6 < 6000
    advance(admin, 6000)
    pool = the_pool(admin)
    assert pool["health"] == "Good" and pool["status"] == "Online"
    assert disks(admin)[spare["id"]]["status"] == "Online"
    assert "healthy again" in messages(admin)
    replaced = admin.ok("POST", f"/rest/sim/replacedisk/diskid/{victim}")
    assert replaced["health"] == "Good" and replaced["id"] != victim
    assert replaced["slot"] == failed["slot"] and replaced["serialNumber"] != failed["serialNumber"]
    assert health(admin) == "Good"
    assert_error(admin.post(f"/rest/sim/replacedisk/diskid/{victim}"), 404, 10500)


def test_without_a_spare_the_replacement_disk_rebuilds(admin: Api) -> None:
    spare = next(d for d in disks(admin).values() if d["usage"] == "Global Spare")
    admin.ok("POST", f"/rest/storage/setspare/diskids/{spare['id']}/type/free")
    victim = the_pool(admin)["diskIds"][0]
    admin.ok("POST", f"/rest/sim/faildisk/diskid/{victim}")
    pool = the_pool(admin)
    assert pool["health"] == "Degraded" and pool["status"] == "Online"
    assert "No spare disk" in messages(admin)
    new = admin.ok("POST", f"/rest/sim/replacedisk/diskid/{victim}")
    assert new["usage"] == "RAID" and new["status"] == "Rebuilding"
    assert the_pool(admin)["diskIds"][0] == new["id"]
    advance(admin, 6000)
    assert the_pool(admin)["health"] == "Good"


def test_raid6_fails_after_three_disks(admin: Api) -> None:
    spare = next(d for d in disks(admin).values() if d["usage"] == "Global Spare")
    admin.ok("POST", f"/rest/storage/setspare/diskids/{spare['id']}/type/free")
    members = the_pool(admin)["diskIds"]
    for disk_id in members[:2]:
        admin.ok("POST", f"/rest/sim/faildisk/diskid/{disk_id}")
    assert the_pool(admin)["health"] == "Degraded"
    admin.ok("POST", f"/rest/sim/faildisk/diskid/{members[2]}")
    pool = the_pool(admin)
    assert pool["health"] == "Failed" and pool["status"] == "Offline"
    assert health(admin) == "Failed"
    volume = admin.ok("GET", "/rest/storage/volumeinfo")[0]
    assert volume["health"] == "Failed" and volume["status"] == "Offline"
    # Nothing can be done to a failed pool's volumes.
    assert_error(admin.post(f"/rest/storage/extendvolume/vdid/{volume['id']}/sizegb/99999"), 409)
    assert_error(admin.post(f"/rest/sim/faildisk/diskid/{members[2]}"), 409)


def test_sensor_faults_change_health_and_write_events(admin: Api) -> None:
    monitor = admin.ok("GET", "/rest/dashboard/hwmonitor")
    assert monitor["systemHealth"] == "Good"
    sensors = {s["id"]: s for e in monitor["enclosures"] for s in e["sensors"]}
    assert {s["type"] for s in sensors.values()} == {"temperature", "fan", "psu", "voltage",
                                                      "battery"}
    fan = next(s for s in sensors.values() if s["type"] == "fan")
    admin.ok("POST", f"/rest/sim/sensor/sensor/{fan['id']}/status/failed")
    monitor = admin.ok("GET", "/rest/dashboard/hwmonitor")
    failed = next(s for e in monitor["enclosures"] for s in e["sensors"] if s["id"] == fan["id"])
    assert failed["status"] == "Failed" and failed["value"] == 0
    assert monitor["systemHealth"] == "Degraded"
    event = admin.ok("GET", "/rest/log/list/1")["events"][0]
    assert event["level"] == "ERROR" and event["source"] == "Hardware"
    admin.ok("POST", f"/rest/sim/sensor/sensor/{fan['id']}/status/good")
    assert admin.ok("GET", "/rest/dashboard/hwmonitor")["systemHealth"] == "Good"
    assert_error(admin.post("/rest/sim/sensor/sensor/no-such-fan/status/failed"), 404, 10008)
    assert_error(admin.post(f"/rest/sim/sensor/sensor/{fan['id']}/status/smoking"), 400)


def test_host_writes_fill_thin_volumes_and_snapshots(admin: Api) -> None:
    free = [d["id"] for d in disks(admin).values() if d["usage"] == "Free" and "HDD" in d["type"]]
    pool = admin.ok("POST", "/rest/storage/createpool/name/thinpool/raidlevel/1/diskids/"
                    f"{free[0]},{free[1]}/type/thin")
    volume = admin.ok("POST", f"/rest/storage/createvolume/poolid/{pool['id']}/name/tv/sizegb/100")
    written = admin.ok("POST", f"/rest/sim/hostwrite/vdid/{volume['id']}/sizegb/10")
    assert written["usedBytes"] == 10 * GIB
    assert the_pool(admin)["usedBytes"] > 0
    admin.ok("POST", f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/2")
    admin.ok("POST", f"/rest/storage/snapshot/vdid/{volume['id']}/name/before")
    admin.ok("POST", f"/rest/sim/hostwrite/vdid/{volume['id']}/sizegb/5")
    info = admin.ok("GET", f"/rest/storage/snapshot/vdid/{volume['id']}")
    assert info["snapshotUsedBytes"] == 2 * GIB  # capped at the snapshot space
    assert "is full" in messages(admin)
    assert_error(admin.post(f"/rest/storage/snapspace/vdid/{volume['id']}/sizegb/1"), 409, 13505)


def test_latency_is_bounded(admin: Api) -> None:
    assert_error(admin.post("/rest/sim/latency/ms/600001"), 400)
    assert_error(admin.post("/rest/sim/readlatency/ms/600001"), 400)
    assert_error(admin.post("/rest/sim/readlatency/ms/-1"), 400)


def test_read_latency_slows_the_reads_and_no_change(admin: Api, reader: Api) -> None:
    assert_error(reader.post("/rest/sim/readlatency/ms/1500"), 403)
    admin.ok("POST", "/rest/sim/readlatency/ms/1500")
    assert "Simulated read latency set to 1500 ms." in messages(admin)
    started = time.monotonic()
    admin.ok("GET", "/rest/storage/poolinfo")
    read_took = time.monotonic() - started
    started = time.monotonic()
    admin.ok("POST", "/rest/sim/readlatency/ms/0")
    change_took = time.monotonic() - started
    started = time.monotonic()
    admin.ok("GET", "/rest/storage/poolinfo")
    assert read_took >= 1.5
    assert change_took < 1.5 and time.monotonic() - started < 1.5


def test_same_seed_same_hardware(tmp_path: Path) -> None:
    def hardware(state_dir: Path, seed: int) -> list[tuple[str, str, int]]:
        array = open_array(Settings(state_dir=state_dir, seed=seed))
        try:
            return [(d.serial_number, d.model, d.capacity_bytes)
                    for d in sorted(array.service.state.disks.values(), key=lambda d: d.slot)]
        finally:
            array.close()

    first = hardware(tmp_path / "a", 11)
    assert hardware(tmp_path / "b", 11) == first
    assert hardware(tmp_path / "c", 12) != first
    assert hardware(tmp_path / "a", 99) == first  # a state dir keeps its own seed


@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_model_starts_with_the_default_profile(tmp_path: Path, model: str) -> None:
    spec = MODELS[model]
    array = open_array(Settings(state_dir=tmp_path / "s", seed=5, model=model))
    try:
        service = array.service
        info = service.system.info().hardware
        assert info.model_name == model and info.bays == spec.bays
        assert len(info.controllers) == spec.controllers
        assert len(service.state.disks) == spec.bays
        assert len(service.luns.targets()) == spec.controllers
        assert len(service.luns.mappings()) == spec.controllers
        assert service.pools.all()[0].free_bytes >= 100 * GIB
    finally:
        array.close()


def test_state_dir_refuses_another_model(tmp_path: Path) -> None:
    open_array(Settings(state_dir=tmp_path / "s", seed=5, model="XS1212S")).close()
    with pytest.raises(InvalidArgument, match="XS1212S"):
        open_array(Settings(state_dir=tmp_path / "s", model="XS5226D"))
