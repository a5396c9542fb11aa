"""XEVO's hardware information: the head unit's system facts, SANOS's, in QSAN's shape with
Go's JSON types; with moreInfo=true its sensors too."""

from __future__ import annotations

from conftest import SIMULATED, Api
from xevo_support import qsan_error, whole_state

HARDWARE = "/rest/v1/hardware/0/info"
READING = {"name": str, "value": int, "status": str}
STATE = {"name": str, "status": str}


def types(value: dict[str, object]) -> dict[str, type]:
    return {key: type(item) for key, item in value.items()}


def test_the_hardware_is_sanos_system_information(admin: Api) -> None:
    answer = admin.ok("GET", f"{HARDWARE}?moreInfo=true")
    info = answer["info"]
    assert answer["encId"] == 0 and set(answer) == {"encId", "info"}
    assert types(info) == {
        "sysHealth": str, "cpuInfo": str, "cpuUsage": int, "memoryInfo": list, "memTotal": int,
        "memUsed": int, "controllerNum": int, "backplaneID": str, "backplaneSerialNumber": str,
        "mcuVersion": str, "systemUptime": int, "serialNumber": str, "modelName": str,
        "moreInfo": dict}
    sanos = admin.ok("GET", "/rest/dashboard/systeminfo")
    assert (info["modelName"], info["serialNumber"]) == (sanos["modelName"],
                                                         sanos["serialNumber"])
    assert info["sysHealth"] == sanos["systemHealth"].upper()
    assert info["controllerNum"] == len(sanos["controllers"])
    assert info["memTotal"] == sum(c["memoryGB"] for c in sanos["controllers"]) * 1024
    assert info["backplaneID"] == sanos["backplane"]["id"]


def test_more_info_lists_the_head_units_sensors(admin: Api) -> None:
    more = admin.ok("GET", f"{HARDWARE}?moreInfo=true")["info"]["moreInfo"]
    assert set(more) == {"voltage", "temperature", "psuStatus", "fanSpeed", "cacheToFlash"}
    assert all(types(r) == READING for key in ("voltage", "temperature", "fanSpeed")
               for r in more[key])
    assert all(types(s) == STATE for key in ("psuStatus", "cacheToFlash") for s in more[key])
    sensors = admin.ok("GET", "/rest/dashboard/hwmonitor")["enclosures"][0]["sensors"]
    temperatures = [s for s in sensors if s["type"] == "temperature"]
    assert len(more["temperature"]) == len(temperatures)  # the values drift with time
    assert temperatures or not SIMULATED
    assert all(r["name"].endswith(s["name"]) for r, s in zip(more["temperature"], temperatures,
                                                             strict=True))
    plain = admin.ok("GET", HARDWARE)["info"]["moreInfo"]
    assert plain == {key: [] for key in more}


def test_bad_hardware_requests_are_refused(admin: Api, reader: Api) -> None:
    before = whole_state(admin)
    qsan_error(admin.get("/rest/v1/hardware/1/info"), 404, 10008)
    qsan_error(admin.get("/rest/v1/hardware/abc/info"), 404, 10008)
    qsan_error(admin.get(f"{HARDWARE}?moreInfo=yes"), 400, 12003)
    qsan_error(admin.get(f"{HARDWARE}?other=1"), 400, 12003)
    qsan_error(admin.request("GET", HARDWARE, content=b"{}"), 400, 12003)
    assert reader.ok("GET", HARDWARE)["encId"] == 0
    assert whole_state(admin) == before
