"""Enclosure sensors from the kernel's hwmon interface (/sys/class/hwmon).

Each hwmonN directory is one chip (its `name` file: "coretemp", "nct6775", ...) with files
temp<n>_input (millidegrees Celsius), fan<n>_input (RPM) and in<n>_input (millivolts), and
optional _label, limit and alarm files beside them. A virtual machine often has no hwmon at
all: then there are no sensors, and the backend says so rather than invent any.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from opensan.domain.models import Sensor, SensorStatus, SensorType

_INPUT = re.compile(r"^(temp|fan|in)(\d+)_input$")


@dataclass(frozen=True)
class _Channel:
    """One sensor's files in a chip directory: <prefix>_input, <prefix>_max, ..."""

    chip_dir: Path
    prefix: str  # "temp1", "fan2", "in0"

    def read(self, suffix: str) -> int | None:
        return _read_number(self.chip_dir / f"{self.prefix}_{suffix}")

    def flag(self, suffix: str) -> bool:
        return self.read(suffix) == 1

    def beyond(self, value: float, suffix: str, scale: float, above: bool) -> bool:
        limit = self.read(suffix)
        if limit is None:
            return False
        return value >= limit / scale if above else value <= limit / scale


def _read_number(path: Path) -> int | None:
    """A sysfs number; None when absent or unreadable (a disconnected input returns an error)."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _temperature_status(celsius: float, channel: _Channel) -> SensorStatus:
    if channel.flag("crit_alarm") or channel.beyond(celsius, "crit", 1000, above=True):
        return SensorStatus.FAILED
    if (
        channel.flag("alarm")
        or channel.flag("max_alarm")
        or channel.beyond(celsius, "max", 1000, above=True)
    ):
        return SensorStatus.WARNING
    return SensorStatus.GOOD


def _fan_status(rpm: float, channel: _Channel) -> SensorStatus:
    if channel.flag("fault"):
        return SensorStatus.FAILED
    if channel.flag("alarm") or channel.beyond(rpm, "min", 1, above=False):
        return SensorStatus.WARNING
    return SensorStatus.GOOD


def _voltage_status(volts: float, channel: _Channel) -> SensorStatus:
    if (
        channel.flag("crit_alarm")
        or channel.flag("lcrit_alarm")
        or channel.beyond(volts, "crit", 1000, above=True)
        or channel.beyond(volts, "lcrit", 1000, above=False)
    ):
        return SensorStatus.FAILED
    if (
        channel.flag("alarm")
        or channel.beyond(volts, "max", 1000, above=True)
        or channel.beyond(volts, "min", 1000, above=False)
    ):
        return SensorStatus.WARNING
    return SensorStatus.GOOD


def _sort_key(path: Path) -> tuple[str, int]:
    """hwmon2 before hwmon10, temp2 before temp10."""
    match = re.match(r"^(\D*)(\d*)", path.name)
    prefix, number = match.groups() if match else (path.name, "")
    return prefix, int(number or 0)


def _chip_sensors(chip_dir: Path) -> list[Sensor]:
    try:
        chip = (chip_dir / "name").read_text().strip()
    except OSError:
        chip = chip_dir.name
    sensors = []
    for input_file in sorted(chip_dir.glob("*_input"), key=_sort_key):
        match = _INPUT.match(input_file.name)
        raw = _read_number(input_file) if match else None
        if match is None or raw is None:
            continue
        kind, number = match.groups()
        prefix = f"{kind}{number}"
        channel = _Channel(chip_dir, prefix)
        try:
            label = (chip_dir / f"{prefix}_label").read_text().strip()
        except OSError:
            label = f"{chip} {prefix}"
        sensor_id = f"{chip_dir.name}-{prefix}"
        if kind == "temp":
            celsius = round(raw / 1000, 1)
            status = _temperature_status(celsius, channel)
            sensors.append(
                Sensor(sensor_id, SensorType.TEMPERATURE, chip, label, celsius, "C", status)
            )
        elif kind == "fan":
            status = _fan_status(raw, channel)
            sensors.append(Sensor(sensor_id, SensorType.FAN, chip, label, raw, "RPM", status))
        else:
            volts = round(raw / 1000, 3)
            status = _voltage_status(volts, channel)
            sensors.append(Sensor(sensor_id, SensorType.VOLTAGE, chip, label, volts, "V", status))
    return sensors


def read_sensors(root: Path = Path("/sys/class/hwmon")) -> tuple[Sensor, ...]:
    """Every temperature, fan and voltage input under root; empty when there is no hwmon."""
    if not root.is_dir():
        return ()
    return tuple(
        sensor
        for chip_dir in sorted(root.iterdir(), key=_sort_key)
        for sensor in _chip_sensors(chip_dir)
    )
