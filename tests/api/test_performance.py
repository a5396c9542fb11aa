"""The performance extensions: figures now and over a window for the array, pools, volumes,
disks and ports, and the virtual array's workload endpoints."""

from __future__ import annotations

import pytest
from conftest import BACKEND, SIMULATED, Api, assert_error

RATES = {"seconds", "iops", "readIops", "writeIops", "MBps", "readMBps", "writeMBps",
         "readLatencyMs", "writeLatencyMs"}
NOUNS = {"pool": {"poolId", "name"}, "volume": {"volumeId", "name", "poolId"},
         "disk": {"diskId", "enclosureId", "slot"}, "port": {"port", "controller"}}


def test_each_performance_endpoint_answers_its_figures(reader: Api) -> None:
    array = reader.ok("GET", "/rest/performance/array/window/30")
    assert set(array) == {"takenAt", "countingStartedAt", "windowSeconds", "now", "window"}
    assert array["windowSeconds"] == 30
    assert array["takenAt"] is not None  # every backend counts something: disks at least
    for noun, keys in NOUNS.items():
        for item in reader.ok("GET", f"/rest/performance/{noun}"):
            assert set(item) == keys | {"now", "window"}, noun
            for figures in (item["now"], item["window"]):
                assert figures is None or set(figures) == RATES
    disks = {d["diskId"] for d in reader.ok("GET", "/rest/performance/disk")}
    # Every backend counts every disk's I/O (on Ceph: its OSD's).
    assert disks == {d["id"] for d in reader.ok("GET", "/rest/storage/diskinfo")}


@pytest.mark.parametrize("window", ["0", "301", "x"])
def test_a_window_out_of_range_is_refused(reader: Api, window: str) -> None:
    assert_error(reader.get(f"/rest/performance/volume/window/{window}"), 400)


@pytest.mark.simulated("the simulated clock and the virtual array's host workload")
def test_the_figures_follow_the_workload_set(admin: Api) -> None:
    db = next(v for v in admin.ok("GET", "/rest/storage/volumeinfo") if v["mapped"])
    set_to = admin.ok("POST", f"/rest/sim/workload/vdid/{db['id']}/iops/4000/readpercent/25/"
                              "blockkb/64")
    assert set_to == {"volumeId": db["id"], "name": db["name"], "iops": 4000, "readPercent": 25,
                      "blockKB": 64, "chosen": True, "running": True}
    admin.ok("POST", "/rest/sim/clock/seconds/900")
    volume = next(v for v in admin.ok("GET", "/rest/performance/volume")
                  if v["volumeId"] == db["id"])
    now = volume["now"]
    assert now["seconds"] >= 900
    assert 0.6 * 4000 < now["iops"] < 1.4 * 4000
    assert now["readIops"] / now["iops"] == pytest.approx(0.25, abs=0.01)
    assert now["MBps"] == pytest.approx(now["iops"] * 65536 / 1e6, rel=0.01)
    assert now["readLatencyMs"] > 0 and now["writeLatencyMs"] > 0
    ports = admin.ok("GET", "/rest/performance/port")
    assert sum(p["now"]["iops"] for p in ports) == pytest.approx(
        sum(v["now"]["iops"] for v in admin.ok("GET", "/rest/performance/volume")), rel=0.01)
    workloads = {w["volumeId"]: w for w in admin.ok("GET", "/rest/sim/workloadinfo")}
    assert workloads[db["id"]] == set_to


@pytest.mark.simulated("the virtual array's workload endpoints")
def test_a_bad_workload_is_refused_and_a_reader_cannot_set_one(admin: Api, reader: Api) -> None:
    db = next(v for v in admin.ok("GET", "/rest/storage/volumeinfo") if v["mapped"])
    before = admin.ok("GET", "/rest/sim/workloadinfo")
    assert_error(admin.post(f"/rest/sim/workload/vdid/{db['id']}/readpercent/101"), 400)
    assert_error(admin.post(f"/rest/sim/workload/vdid/{db['id']}/blockkb/0"), 400)
    assert_error(admin.post("/rest/sim/workload/vdid/123/iops/10"), 404)
    assert_error(reader.post(f"/rest/sim/workload/vdid/{db['id']}/iops/10"), 403)
    assert admin.ok("GET", "/rest/sim/workloadinfo") == before


def test_a_backend_lists_only_what_it_counts(reader: Api) -> None:
    volumes = reader.ok("GET", "/rest/performance/volume")
    if BACKEND == "linux":  # no volume's I/O is counted there (docs/linux.md)
        assert volumes == [] and reader.ok("GET", "/rest/performance/array")["now"] is None
    else:  # the virtual array's workload; on Ceph the manager's RBD counters (docs/ceph.md)
        assert len(volumes) == len(reader.ok("GET", "/rest/storage/volumeinfo"))
    # No port counters but the virtual array's (tgt keeps none).
    assert (reader.ok("GET", "/rest/performance/port") == []) == (not SIMULATED)
