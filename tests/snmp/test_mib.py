"""ArrayMib: the hardware monitor's rows, QSAN's words and formats, and a table that follows
the array's state."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from opensan.array import Array, open_array
from opensan.config import Settings
from opensan.domain.models import Sensor, SensorStatus, SensorType
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
