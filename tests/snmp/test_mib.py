"""ArrayMib: the hardware monitor's rows, QSAN's words and formats, and a table that follows
the array's state."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from opensan.array import Array, open_array
from opensan.config import Settings
from opensan.domain.models import Enclosure, Sensor, SensorStatus, SensorType
from opensan.snmp.mib import (
    DISKS,
    FIXED_ROWS,
    HARDWARE_MONITOR,
    SYS_STATUS,
    ArrayMib,
    ems_status,
    ems_value,
    sensor_rows,
)

pytestmark = pytest.mark.simulated("the virtual array's sensors")


@pytest.fixture
def array(tmp_path: Path) -> Iterator[Array]:
    array = open_array(Settings(state_dir=tmp_path / "state", seed=7, model="XS5226D"))
    try:
        yield array
    finally:
        array.close()


@pytest.mark.parametrize(("value", "unit", "shown"), [
    (41.26, "C", "+41.3 (C)"), (12.05, "V", "+12.05 (V)"), (5120, "RPM", "5120 (RPM)"),
    (100, "%", "100 (%)"), ("Power OK", "", "Power OK"),
])
def test_readings_are_written_as_qsan_writes_them(value: float | str, unit: str,
                                                 shown: str) -> None:
    assert ems_value(Sensor("s", SensorType.TEMPERATURE, "here", "it", value, unit)) == shown


def test_status_is_ok_only_while_good() -> None:
    assert [ems_status(s) for s in SensorStatus] == ["OK", "Warning", "Failed"]


def test_the_template_s_rows_hold_their_sensors_and_the_rest_fill_from_1(array: Array) -> None:
    rows = sensor_rows(array.service.observed.hardware)
    fixed = {row: sensor.id for row, sensor in rows.items() if 27 <= row <= 41}
    # A 2U dual-controller model: two backplane sensors, two fans.
    assert fixed == {row: sensor for sensor, row in FIXED_ROWS.items()
                     if sensor not in ("bp-temp-3", "fan-3", "fan-4")}
    others = sorted(row for row in rows if not 27 <= row <= 41)
    assert others == list(range(1, 13))  # 5 voltages and a super capacitor per controller
    assert {rows[row].type for row in others} == {SensorType.VOLTAGE, SensorType.BATTERY}


def test_each_template_row_goes_not_ok_with_its_own_sensor_only(tmp_path: Path) -> None:
    """The XS3224D has every sensor the template reads; forcing one to Failed turns its row,
    and no other of rows 27 to 41, from OK (its static trigger fires alone)."""
    array = open_array(Settings(state_dir=tmp_path / "state", seed=3, model="XS3224D"))
    try:
        service, mib = array.service, ArrayMib(array.service)
        statuses = {row: (*HARDWARE_MONITOR, 5, row) for row in range(27, 42)}
        assert {row: mib.table().values[oid] for row, oid in statuses.items()} == dict.fromkeys(
            statuses, "OK")
        for sensor, row in FIXED_ROWS.items():
            service.simulation.set_sensor_status(sensor, SensorStatus.FAILED)
            service.supervision.tick()
            table = mib.table()
            assert {r for r, oid in statuses.items() if table.values[oid] != "OK"} == {row}
            assert table.values[statuses[row]] == "Failed"
            service.simulation.set_sensor_status(sensor, SensorStatus.GOOD)
        service.supervision.tick()
        assert {mib.table().values[oid] for oid in statuses.values()} == {"OK"}
    finally:
        array.close()


def test_a_linux_server_s_cpu_package_and_fans_take_the_template_s_rows(array: Array) -> None:
    hwmon = (Sensor("hwmon1-temp2", SensorType.TEMPERATURE, "coretemp", "Core 0", 50.0, "C"),
             Sensor("hwmon1-temp1", SensorType.TEMPERATURE, "coretemp", "Package id 0", 55.0,
                    "C"),
             Sensor("hwmon2-fan1", SensorType.FAN, "nct6775", "fan1", 900, "RPM"),
             Sensor("hwmon2-fan2", SensorType.FAN, "nct6775", "fan2", 950, "RPM"),
             Sensor("hwmon2-in0", SensorType.VOLTAGE, "nct6775", "Vcore", 1.1, "V"))
    readings = replace(array.service.observed.hardware,
                       enclosures=(Enclosure(0, "server", hwmon),))
    rows = {row: sensor.id for row, sensor in sensor_rows(readings).items()}
    assert rows == {27: "hwmon1-temp1", 38: "hwmon2-fan1", 39: "hwmon2-fan2",
                    1: "hwmon1-temp2", 2: "hwmon2-in0"}


def test_the_table_follows_the_state(array: Array) -> None:
    service = array.service
    mib = ArrayMib(service)
    table = mib.table()
    assert mib.table() is table  # kept while nothing moved
    assert table.values[(*SYS_STATUS, 5)] == "0"
    disk = min(service.state.disks.values(), key=lambda d: d.slot)
    service.simulation.set_sensor_status("fan-1", SensorStatus.FAILED)
    service.simulation.fail_disk(disk.id)
    service.supervision.tick()
    moved = mib.table()
    assert moved is not table
    assert moved.values[(*HARDWARE_MONITOR, 5, 38)] == "Failed"
    assert moved.values[(*SYS_STATUS, 5)] == "1" and moved.values[(*SYS_STATUS, 1)] == "1"
    assert moved.values[(*DISKS, 5, 1)] == "Failed"
    assert next(moved.next_after((*DISKS, 5, 1))) == (*DISKS, 5, 2)
    assert moved.has_object((*DISKS, 5, 99)) and not moved.has_object((*DISKS, 77, 1))
