"""hwmon: sensors from a fake /sys/class/hwmon tree, and whatever this machine has."""

from __future__ import annotations

from pathlib import Path

from opensan.backends.linux.hwmon import read_sensors
from opensan.domain.models import Sensor, SensorStatus, SensorType


def _chip(root: Path, directory: str, name: str, files: dict[str, str]) -> None:
    chip = root / directory
    chip.mkdir(parents=True)
    (chip / "name").write_text(name + "\n")
    for file_name, content in files.items():
        (chip / file_name).write_text(content + "\n")


def test_no_hwmon_means_no_sensors(tmp_path: Path) -> None:
    assert read_sensors(tmp_path / "missing") == ()
    assert read_sensors(tmp_path) == ()


def test_temperatures_with_labels_limits_and_alarms(tmp_path: Path) -> None:
    _chip(tmp_path, "hwmon1", "coretemp", {
        "temp1_input": "45000", "temp1_label": "Package id 0", "temp1_max": "80000",
        "temp1_crit": "100000",
        "temp2_input": "85500", "temp2_max": "80000", "temp2_crit": "100000",
        "temp3_input": "60000", "temp3_crit_alarm": "1",
        "temp10_input": "30000",
    })
    assert read_sensors(tmp_path) == (
        Sensor("hwmon1-temp1", SensorType.TEMPERATURE, "coretemp", "Package id 0", 45.0, "C",
               SensorStatus.GOOD),
        Sensor("hwmon1-temp2", SensorType.TEMPERATURE, "coretemp", "coretemp temp2", 85.5, "C",
               SensorStatus.WARNING),
        Sensor("hwmon1-temp3", SensorType.TEMPERATURE, "coretemp", "coretemp temp3", 60.0, "C",
               SensorStatus.FAILED),
        Sensor("hwmon1-temp10", SensorType.TEMPERATURE, "coretemp", "coretemp temp10", 30.0, "C",
               SensorStatus.GOOD),
    )


def test_fans_and_voltages(tmp_path: Path) -> None:
    _chip(tmp_path, "hwmon2", "nct6775", {
        "fan1_input": "1200", "fan1_label": "CPU fan", "fan1_min": "300",
        "fan2_input": "0", "fan2_min": "300",
        "fan3_input": "900", "fan3_fault": "1",
        "in0_input": "1104", "in0_label": "Vcore", "in0_min": "1000", "in0_max": "1200",
        "in1_input": "3300", "in1_alarm": "1",
        "in2_input": "13100", "in2_crit": "13000",
    })
    by_id = {sensor.id: sensor for sensor in read_sensors(tmp_path)}
    assert by_id["hwmon2-fan1"] == Sensor(
        "hwmon2-fan1", SensorType.FAN, "nct6775", "CPU fan", 1200, "RPM", SensorStatus.GOOD
    )
    assert by_id["hwmon2-fan2"].status is SensorStatus.WARNING
    assert by_id["hwmon2-fan3"].status is SensorStatus.FAILED
    assert by_id["hwmon2-in0"] == Sensor(
        "hwmon2-in0", SensorType.VOLTAGE, "nct6775", "Vcore", 1.104, "V", SensorStatus.GOOD
    )
    assert by_id["hwmon2-in1"].status is SensorStatus.WARNING
    assert by_id["hwmon2-in2"].status is SensorStatus.FAILED


def test_unreadable_inputs_are_skipped_and_chips_are_in_numeric_order(tmp_path: Path) -> None:
    _chip(tmp_path, "hwmon10", "acpitz", {"temp1_input": "40000"})
    _chip(tmp_path, "hwmon2", "nvme", {"temp1_input": "", "temp2_input": "38850"})
    assert [sensor.id for sensor in read_sensors(tmp_path)] == ["hwmon2-temp2", "hwmon10-temp1"]


def test_this_machine() -> None:
    """Whatever the host has (this VM: no /sys/class/hwmon at all) reads without error."""
    sensors = read_sensors()
    assert all(isinstance(sensor, Sensor) for sensor in sensors)
