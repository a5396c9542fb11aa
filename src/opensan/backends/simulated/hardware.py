"""The simulated array's hardware: disks, S.M.A.R.T., sensors and the identity of its parts.

Everything is a pure function of the array's seed (and of `now` for readings that change), so a
simulated array looks the same on every start and in every test. Randomness comes from
random.Random seeded with strings such as "7:fan-1": string seeds hash the same in every run,
unlike hash(). Readings that change over time are smooth in `now`, so two polls a minute apart
differ a little, as on a real array, and never jump.
"""

from __future__ import annotations

import math
import random
import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from opensan.backends.simulated.catalogue import ModelSpec
from opensan.domain.errors import InvalidArgument
from opensan.domain.models import (
    Backplane,
    Controller,
    Disk,
    DiskHealth,
    DiskSmart,
    DiskType,
    Enclosure,
    FcPort,
    HostCardSlot,
    Sensor,
    SensorStatus,
    SensorType,
    SmartAttribute,
    SystemHardware,
)

HOUR = 3600.0
# Readings wander between hashed points this many seconds apart.
_NOISE_STEP_SECONDS = 300.0
_INTERFACE_SPEED = "12.0Gb/s"
_SERIAL_CHARACTERS = string.digits + string.ascii_uppercase


def _rng(seed: int, *key: object) -> random.Random:
    return random.Random(":".join(map(str, (seed, *key))))


def _smooth_noise(seed: int, key: str, now: float) -> float:
    """A value in [-1, 1]: hashed points every 5 minutes joined by an S-curve, so no jumps."""
    step, fraction = divmod(now / _NOISE_STEP_SECONDS, 1.0)
    start = _rng(seed, key, "noise", int(step)).uniform(-1.0, 1.0)
    end = _rng(seed, key, "noise", int(step) + 1).uniform(-1.0, 1.0)
    eased = fraction * fraction * (3.0 - 2.0 * fraction)
    return start + (end - start) * eased


def _drift(seed: int, key: str, now: float, low: float, high: float, jitter: float = 1.0) -> float:
    """A reading that swings between low and high over hours (load, room air), plus jitter."""
    shape = _rng(seed, key, "wave")
    period = shape.uniform(4.0, 8.0) * HOUR
    phase = shape.uniform(0.0, 2.0 * math.pi)
    middle, half = (low + high) / 2.0, (high - low) / 2.0
    wave = math.sin(2.0 * math.pi * now / period + phase)
    return middle + (half - jitter) * wave + jitter * _smooth_noise(seed, key, now)


# --- Disks -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _DriveModel:
    vendor: str
    model: str
    type: DiskType
    capacity_bytes: int  # as the drive reports it: sectors x sector size, decimal-marketed
    firmware_version: str
    serial_pattern: str  # "#" a digit, "*" a digit or capital letter, anything else as is


_LFF_HDDS = (
    _DriveModel(
        "SEAGATE", "ST16000NM002G", DiskType.NL_SAS_HDD, 16_000_900_661_248, "E004", "ZL2*****"
    ),
    _DriveModel(
        "HGST", "HUH721212AL5200", DiskType.NL_SAS_HDD, 12_000_138_625_024, "A3D0", "8HG*****"
    ),
    _DriveModel(
        "TOSHIBA", "MG07SCA12TE", DiskType.NL_SAS_HDD, 12_000_138_625_024, "0104", "Y9**A0**FVNG"
    ),
)
_SFF_HDDS = (
    _DriveModel("SEAGATE", "ST2400MM0129", DiskType.SAS_HDD, 2_400_476_553_216, "C004", "WBN*****"),
    _DriveModel(
        "TOSHIBA", "AL15SEB24EQ", DiskType.SAS_HDD, 2_400_476_553_216, "1403", "X8**A0**F8VE"
    ),
    _DriveModel("HGST", "HUC101818CS4200", DiskType.SAS_HDD, 1_800_360_124_416, "A7J0", "0BG*****"),
)
_SSDS = (
    _DriveModel(
        "SEAGATE", "XS1920SE70084", DiskType.SAS_SSD, 1_920_383_410_176, "0003", "HLJ*****"
    ),
    _DriveModel(
        "SAMSUNG",
        "MZILT1T9HBJR-00007",
        DiskType.SAS_SSD,
        1_920_383_410_176,
        "RXH1",
        "S5XBNA0N######",
    ),
    _DriveModel(
        "KIOXIA", "KPM6XRUG1T92", DiskType.SAS_SSD, 1_920_383_410_176, "0106", "X9**A0**0TE8"
    ),
)
_DRIVES_BY_MODEL = {drive.model: drive for drive in (*_LFF_HDDS, *_SFF_HDDS, *_SSDS)}
_SSD_TYPES = (DiskType.SAS_SSD, DiskType.SATA_SSD)


def _serial(pattern: str, rng: random.Random) -> str:
    return "".join(
        rng.choice(string.digits)
        if symbol == "#"
        else rng.choice(_SERIAL_CHARACTERS)
        if symbol == "*"
        else symbol
        for symbol in pattern
    )


def _unique_serial(pattern: str, rng: random.Random, taken: set[str]) -> str:
    serial = _serial(pattern, rng)
    while serial in taken:
        serial = _serial(pattern, rng)
    taken.add(serial)
    return serial


def _disk(
    drive: _DriveModel, slot: int, serial: str, disk_id: int, power_on_hours: int, now: float
) -> Disk:
    return Disk(
        id=disk_id,
        enclosure_id=0,
        slot=slot,
        capacity_bytes=drive.capacity_bytes,
        type=drive.type,
        vendor=drive.vendor,
        model=drive.model,
        serial_number=serial,
        firmware_version=drive.firmware_version,
        interface_speed=_INTERFACE_SPEED,
        power_on_hours=power_on_hours,
        installed_at=now,
    )


def generate_disks(
    model: ModelSpec, seed: int, now: float, new_id: Callable[[], int], ssd_bays: int = 2
) -> list[Disk]:
    """Fill every bay: one HDD model throughout, as arrays are bought, and SSDs in the last bays."""
    if not 0 <= ssd_bays <= model.bays:
        raise InvalidArgument(f"ssd_bays must be 0-{model.bays} for {model.name}, not {ssd_bays}.")
    hdd = _rng(seed, "hdd-model").choice(_LFF_HDDS if model.form_factor == "LFF" else _SFF_HDDS)
    ssd = _rng(seed, "ssd-model").choice(_SSDS)
    serials = _rng(seed, "serials")
    ages = _rng(seed, "power-on-hours")
    taken: set[str] = set()
    disks = []
    for slot in range(1, model.bays + 1):
        drive = ssd if slot > model.bays - ssd_bays else hdd
        serial = _unique_serial(drive.serial_pattern, serials, taken)
        disks.append(_disk(drive, slot, serial, new_id(), ages.randint(300, 20_000), now))
    return disks


def replacement_disk(failed: Disk, seed: int, now: float, new_id: Callable[[], int]) -> Disk:
    """The disk a technician slides into a failed disk's bay: the same drive, fresh from the box."""
    rng = _rng(seed, "replacement", failed.slot, failed.id)
    known = _DRIVES_BY_MODEL.get(failed.model)
    pattern = known.serial_pattern if known else "*" * max(8, len(failed.serial_number))
    return Disk(
        id=new_id(),
        enclosure_id=failed.enclosure_id,
        slot=failed.slot,
        capacity_bytes=failed.capacity_bytes,
        type=failed.type,
        vendor=failed.vendor,
        model=failed.model,
        serial_number=_unique_serial(pattern, rng, {failed.serial_number}),
        firmware_version=failed.firmware_version,
        interface_speed=failed.interface_speed,
        power_on_hours=rng.randint(0, 48),
        installed_at=now,
    )


def disk_temperature_c(disk: Disk, seed: int, now: float) -> int:
    """Each disk rests at its own temperature (airflow differs per bay) and drifts 4 C around it."""
    low, high = (28.0, 40.0) if disk.type in _SSD_TYPES else (30.0, 45.0)
    resting = _rng(seed, disk.serial_number, "resting").uniform(low + 4.0, high - 4.0)
    return round(_drift(seed, disk.serial_number, now, resting - 4.0, resting + 4.0))


# --- S.M.A.R.T. ------------------------------------------------------------------------------


def _attribute(
    attribute_id: int, name: str, value: int, worst: int, threshold: int, raw: int
) -> SmartAttribute:
    failing = threshold > 0 and value <= threshold
    return SmartAttribute(
        attribute_id, name, value, worst, threshold, raw, "FAILING_NOW" if failing else "OK"
    )


def _reallocated(disk: Disk, rng: random.Random) -> SmartAttribute:
    """Attribute 5 is what marks a failed disk: its value has fallen below the threshold."""
    if disk.health is DiskHealth.FAILED:
        value = rng.randint(1, 5)
        return _attribute(5, "Reallocated_Sector_Ct", value, value, 10, rng.randint(3_000, 9_000))
    if disk.health is DiskHealth.GOOD or disk.type not in _SSD_TYPES:
        return _attribute(5, "Reallocated_Sector_Ct", 100, 100, 10, 0)
    # An SSD with read errors retires blocks; it has no pending-sector attributes to show them.
    return _attribute(5, "Reallocated_Sector_Ct", 99, 99, 10, rng.randint(16, 120))


def _power_on(hours: int) -> SmartAttribute:
    """The normalized value loses one point per 876 hours (1% of ten years)."""
    value = max(1, 100 - hours // 876)
    return _attribute(9, "Power_On_Hours", value, value, 0, hours)


def _temperature(
    attribute_id: int, name: str, celsius: int, hottest: int, threshold: int
) -> SmartAttribute:
    """Hotter is worse: the normalized value is 100 minus the temperature, raw the temperature."""
    return _attribute(attribute_id, name, 100 - celsius, 100 - hottest, threshold, celsius)


def _hdd_attributes(
    disk: Disk, rng: random.Random, hours: int, celsius: int
) -> tuple[SmartAttribute, ...]:
    cycles = rng.randint(8, 40)
    hottest = celsius + rng.randint(3, 9)
    read_error_rate = rng.randint(78, 84)
    seek_error_rate = rng.randint(85, 90)
    pending = uncorrectable = 0
    if disk.health in (DiskHealth.ERROR_ALERT, DiskHealth.READ_ERRORS):
        pending = rng.randint(8, 64)
        uncorrectable = rng.randint(1, pending)
    return (
        _attribute(
            1,
            "Raw_Read_Error_Rate",
            read_error_rate,
            read_error_rate - rng.randint(0, 14),
            44,
            rng.randrange(10**7, 2 * 10**8),
        ),
        _attribute(3, "Spin_Up_Time", 96, 95, 0, 0),
        _attribute(4, "Start_Stop_Count", 100, 100, 20, cycles),
        _reallocated(disk, rng),
        _attribute(
            7,
            "Seek_Error_Rate",
            seek_error_rate,
            seek_error_rate - rng.randint(0, 25),
            45,
            rng.randrange(10**7, 10**9),
        ),
        _power_on(hours),
        _attribute(12, "Power_Cycle_Count", 100, 100, 20, cycles),
        _attribute(
            187, "Reported_Uncorrect", 100 - uncorrectable, 100 - uncorrectable, 0, uncorrectable
        ),
        _attribute(188, "Command_Timeout", 100, 100, 0, 0),
        _temperature(190, "Airflow_Temperature_Cel", celsius, hottest, 45),
        _temperature(194, "Temperature_Celsius", celsius, hottest, 0),
        _attribute(197, "Current_Pending_Sector", 100, 100, 0, pending),
        _attribute(198, "Offline_Uncorrectable", 100, 100, 0, uncorrectable),
        _attribute(199, "UDMA_CRC_Error_Count", 200, 200, 0, 0),
    )


def _ssd_attributes(
    disk: Disk, rng: random.Random, exact_hours: float, celsius: int
) -> tuple[SmartAttribute, ...]:
    """Wear follows the bytes written; the drive is rated for one full write a day for 5 years."""
    written_per_hour = rng.uniform(5e9, 30e9)
    written_bytes = written_per_hour * exact_hours
    read_bytes = written_bytes * rng.uniform(1.5, 4.0)
    endurance_bytes = disk.capacity_bytes * 365 * 5
    life_left = max(1, 100 - int(100 * written_bytes / endurance_bytes))
    cycles = rng.randint(8, 40)
    return (
        _reallocated(disk, rng),
        _power_on(int(exact_hours)),
        _attribute(12, "Power_Cycle_Count", 99, 99, 0, cycles),
        _attribute(170, "Available_Reservd_Space", 100, 100, 10, 0),
        _attribute(
            173,
            "Wear_Leveling_Count",
            life_left,
            life_left,
            5,
            int(written_bytes / disk.capacity_bytes),
        ),
        _attribute(174, "Unexpect_Power_Loss_Ct", 100, 100, 0, rng.randint(0, 6)),
        _attribute(177, "Wear_Range_Delta", 100, 100, 0, rng.randint(0, 3)),
        _temperature(194, "Temperature_Celsius", celsius, celsius + rng.randint(3, 9), 0),
        _attribute(231, "SSD_Life_Left", life_left, life_left, 10, life_left),
        _attribute(241, "Total_LBAs_Written", 100, 100, 0, int(written_bytes // 512)),
        _attribute(242, "Total_LBAs_Read", 100, 100, 0, int(read_bytes // 512)),
    )


def smart_report(disk: Disk, seed: int, now: float) -> DiskSmart:
    """The disk's S.M.A.R.T. page as smartctl would show it; a failed disk shows why it failed."""
    exact_hours = disk.power_on_hours + max(0.0, now - disk.installed_at) / HOUR
    celsius = disk_temperature_c(disk, seed, now)
    rng = _rng(seed, disk.serial_number, "smart")
    attributes = (
        _ssd_attributes(disk, rng, exact_hours, celsius)
        if disk.type in _SSD_TYPES
        else _hdd_attributes(disk, rng, int(exact_hours), celsius)
    )
    return DiskSmart(
        disk_id=disk.id,
        enclosure_id=disk.enclosure_id,
        slot=disk.slot,
        health=disk.health,
        temperature_c=celsius,
        power_on_hours=int(exact_hours),
        attributes=attributes,
    )


# --- Sensors ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TemperatureLimits:
    low: float  # normal readings drift between low and high, far below the warning
    high: float
    warning: float
    critical: float


_CPU = _TemperatureLimits(45.0, 62.0, 80.0, 90.0)
_SAS_EXPANDER = _TemperatureLimits(40.0, 55.0, 70.0, 80.0)
# The controller board's sensor at host card slot 1, the one QSAN's hardware monitor shows
# (XS3224: "CTRL1 SLOT1 Temperature"), whether or not a card sits in the slot.
_HOST_CARD_SLOT = _TemperatureLimits(38.0, 52.0, 75.0, 85.0)
_BACKPLANE = _TemperatureLimits(27.0, 38.0, 50.0, 60.0)
# Rails each controller reports: id suffix, name, nominal volts.
_RAILS = (
    ("12v", "+12V", 12.0),
    ("5v", "+5V", 5.0),
    ("3v3", "+3.3V", 3.3),
    ("1v2-ddr4", "+1.2V DDR4", 1.2),
    ("cpu-core", "CPU core", 0.9),
)
_VOLTAGE_WARNING_DEVIATION = 0.05
_VOLTAGE_FAILED_DEVIATION = 0.15
_FAN_WARNING_RPM = 2000
_FAN_FAILED_RPM = 500
_CHARGE_WARNING_PERCENT = 50
_CHARGE_FAILED_PERCENT = 20
_PSU_STATES = {
    SensorStatus.GOOD: "Power OK",
    SensorStatus.WARNING: "Fan warning",
    SensorStatus.FAILED: "Failed",
}
_CACHE_PROTECTION_NAMES = {
    "Super Capacitor": "Super capacitor module",
    "Battery Backup": "Battery backup module",
}


def _temperature_status(celsius: float, limits: _TemperatureLimits) -> SensorStatus:
    if celsius > limits.critical:
        return SensorStatus.FAILED
    if celsius > limits.warning:
        return SensorStatus.WARNING
    return SensorStatus.GOOD


def _voltage_status(volts: float, nominal: float) -> SensorStatus:
    deviation = abs(volts - nominal) / nominal
    if deviation > _VOLTAGE_FAILED_DEVIATION:
        return SensorStatus.FAILED
    if deviation > _VOLTAGE_WARNING_DEVIATION:
        return SensorStatus.WARNING
    return SensorStatus.GOOD


def _at_least(value: float, warning: float, failed: float) -> SensorStatus:
    """Status of a reading that is bad when low (fan speed, charge)."""
    if value < failed:
        return SensorStatus.FAILED
    if value < warning:
        return SensorStatus.WARNING
    return SensorStatus.GOOD


@dataclass(frozen=True)
class _SensorReader:
    """Reads one kind of sensor each; a forced status picks a value that shows that status."""

    seed: int
    now: float
    overrides: Mapping[str, SensorStatus]

    def temperature(
        self, sensor_id: str, location: str, name: str, limits: _TemperatureLimits
    ) -> Sensor:
        forced = self.overrides.get(sensor_id)
        if forced is SensorStatus.FAILED:
            celsius = limits.critical + 5.0
        elif forced is SensorStatus.WARNING:
            celsius = (limits.warning + limits.critical) / 2.0
        else:
            celsius = _drift(self.seed, sensor_id, self.now, limits.low, limits.high)
        celsius = round(celsius, 1)
        return Sensor(
            sensor_id,
            SensorType.TEMPERATURE,
            location,
            name,
            celsius,
            "C",
            _temperature_status(celsius, limits),
        )

    def voltage(self, sensor_id: str, location: str, name: str, nominal: float) -> Sensor:
        forced = self.overrides.get(sensor_id)
        if forced is SensorStatus.FAILED:
            volts = 0.0
        elif forced is SensorStatus.WARNING:
            volts = nominal * 0.9
        else:
            volts = nominal * (1.0 + 0.012 * _smooth_noise(self.seed, sensor_id, self.now))
        volts = round(volts, 2)
        return Sensor(
            sensor_id,
            SensorType.VOLTAGE,
            location,
            name,
            volts,
            "V",
            _voltage_status(volts, nominal),
        )

    def cache_protection(self, sensor_id: str, location: str, kind: str) -> Sensor:
        charge = {SensorStatus.FAILED: 0, SensorStatus.WARNING: 40}.get(
            self.overrides.get(sensor_id, SensorStatus.GOOD), 100
        )
        status = _at_least(charge, _CHARGE_WARNING_PERCENT, _CHARGE_FAILED_PERCENT)
        name = _CACHE_PROTECTION_NAMES[kind]
        return Sensor(sensor_id, SensorType.BATTERY, location, name, charge, "%", status)

    def fan(self, number: int, airflow_c: float) -> Sensor:
        """Fans speed up about 150 RPM per degree as the backplane warms."""
        sensor_id = f"fan-{number}"
        forced = self.overrides.get(sensor_id)
        if forced is SensorStatus.FAILED:
            rpm = 0
        elif forced is SensorStatus.WARNING:
            rpm = 1200
        else:
            base = _rng(self.seed, sensor_id, "rpm").uniform(4600.0, 5200.0)
            noise = _smooth_noise(self.seed, sensor_id, self.now)
            rpm = round(base + 150.0 * (airflow_c - 30.0) + 60.0 * noise)
        status = _at_least(rpm, _FAN_WARNING_RPM, _FAN_FAILED_RPM)
        location = f"Fan module {number}"
        return Sensor(sensor_id, SensorType.FAN, location, f"Fan {number}", rpm, "RPM", status)

    def psu(self, number: int) -> Sensor:
        sensor_id = f"psu-{number}"
        status = self.overrides.get(sensor_id, SensorStatus.GOOD)
        return Sensor(
            sensor_id,
            SensorType.PSU,
            f"PSU {number}",
            f"Power supply {number}",
            _PSU_STATES[status],
            "",
            status,
        )


def read_sensors(
    model: ModelSpec, seed: int, now: float, overrides: Mapping[str, SensorStatus]
) -> tuple[Enclosure, ...]:
    """Read every sensor of the head unit; overrides force sensor states (fault injection)."""
    reader = _SensorReader(seed, now, overrides)
    sensors: list[Sensor] = []
    for controller in range(1, model.controllers + 1):
        location, prefix = f"Controller {controller}", f"ctr{controller}"
        sensors.append(reader.temperature(f"{prefix}-cpu-temp", location, "CPU temperature", _CPU))
        sensors.append(
            reader.temperature(
                f"{prefix}-slot1-temp", location, "Host card slot 1 temperature", _HOST_CARD_SLOT
            )
        )
        sensors.append(
            reader.temperature(
                f"{prefix}-sas-expander-temp", location, "SAS expander temperature", _SAS_EXPANDER
            )
        )
        for suffix, name, nominal in _RAILS:
            sensors.append(reader.voltage(f"{prefix}-voltage-{suffix}", location, name, nominal))
        sensors.append(
            reader.cache_protection(f"{prefix}-cache-protection", location, model.cache_protection)
        )
    backplane_ids = [f"bp-temp-{n}" for n in range(1, (2 if model.rack_units == 2 else 3) + 1)]
    for number, sensor_id in enumerate(backplane_ids, start=1):
        sensors.append(
            reader.temperature(
                sensor_id, "Backplane", f"Backplane temperature {number}", _BACKPLANE
            )
        )
    # Fans follow the air the disks warm, not a forced reading.
    airflow_c = sum(
        _drift(seed, sensor_id, now, _BACKPLANE.low, _BACKPLANE.high) for sensor_id in backplane_ids
    ) / len(backplane_ids)
    sensors.extend(reader.fan(number, airflow_c) for number in range(1, model.fans + 1))
    sensors.extend(reader.psu(number) for number in range(1, model.psus + 1))
    unknown = set(overrides) - {sensor.id for sensor in sensors}
    if unknown:
        raise InvalidArgument(f"No sensor {', '.join(sorted(unknown))} on {model.name}.")
    return (Enclosure(id=0, name=f"{model.name} head unit", sensors=tuple(sensors)),)


def sensor_ids(model: ModelSpec) -> list[str]:
    """The sensor ids read_sensors reports for this model, to check fault-injection requests."""
    return [
        sensor.id for enclosure in read_sensors(model, 0, 0.0, {}) for sensor in enclosure.sensors
    ]


# --- Identity --------------------------------------------------------------------------------

# Versions that ship together in one SANOS release: firmware, SAS IOC, SAS expander, MCU.
_FIRMWARE_RELEASES = (
    ("1.3.2", "16.00.10.00", "1.0.0.93", "1.2.0"),
    ("1.4.0", "16.00.12.00", "1.0.0.97", "1.3.0"),
    ("1.4.2", "16.00.12.00", "1.0.0.97", "1.3.0"),
)
# On-board ports are not slots; cards go in the two host card slots of each controller.
_SLOT_1_CARDS = ("Empty", "4 x 10GbE iSCSI (SFP+)", "4 x 16Gb FC (SFP+)")
_SLOT_2_CARDS = ("Empty", "2 x 10GBASE-T iSCSI (RJ45)", "4 x 1GbE iSCSI (RJ45)")
HOST_CARDS = tuple(dict.fromkeys(_SLOT_1_CARDS + _SLOT_2_CARDS))
_FC_CARD = re.compile(r"(?P<ports>\d+) x (?P<speed>\d+)Gb FC\b")
# The speeds an FC port negotiates down to: its own and the two generations before it.
_FC_GENERATIONS = 3


@dataclass(frozen=True)
class Identity:
    """Serial numbers and versions of the array's parts; both controllers carry the same cards."""

    system_serial: str
    controller_serial_numbers: tuple[str, ...]
    backplane_serial_number: str
    backplane_id: str
    firmware_version: str
    sas_ioc_firmware_version: str
    sas_expander_firmware_version: str
    mcu_version: str
    host_card_slots: tuple[HostCardSlot, ...]


def identity(model: ModelSpec, seed: int, host_cards: tuple[str, ...] | None = None) -> Identity:
    """Serials in QSAN's forms: the backplane ID encodes the chassis ("QW316" = 3U, 16 bays).
    The host cards are the seed's unless given (slot 1, slot 2: a profile's choice)."""
    unknown = [card for card in host_cards or () if card not in HOST_CARDS]
    if unknown or (host_cards is not None and len(host_cards) != 2):
        raise InvalidArgument(f"Host cards are two of: {', '.join(HOST_CARDS)} (slot 1, "
                              f"slot 2); got {', '.join(host_cards or ())[:200]}.")
    rng = _rng(seed, "identity")
    backplane_id = f"QW{model.rack_units}{model.bays}"
    system_serial = (
        f"{backplane_id}{rng.randrange(10**4):04d}"
        f"{rng.choice(string.ascii_uppercase)}{rng.randrange(10**7):07d}"
    )
    # 5 is the NAA type, 001378 is QSAN's OUI; the controllers of one array share a range.
    controller_range = f"50013780{rng.randrange(16**5):05X}"
    controller_serials = tuple(
        f"{controller_range}{low:03X}"
        for low in rng.sample(range(0, 0x1000, 0x40), model.controllers)
    )
    firmware, sas_ioc, sas_expander, mcu = rng.choice(_FIRMWARE_RELEASES)
    return Identity(
        system_serial=system_serial,
        controller_serial_numbers=controller_serials,
        backplane_serial_number=f"001378{rng.randrange(16**6):06X}",
        backplane_id=backplane_id,
        firmware_version=firmware,
        sas_ioc_firmware_version=sas_ioc,
        sas_expander_firmware_version=sas_expander,
        mcu_version=mcu,
        host_card_slots=tuple(
            HostCardSlot(slot, drawn if host_cards is None else host_cards[slot - 1])
            for slot, drawn in enumerate((rng.choice(_SLOT_1_CARDS), rng.choice(_SLOT_2_CARDS)),
                                         start=1)),
    )


def fc_ports(parts: Identity, controller: int) -> tuple[FcPort, ...]:
    """A controller's FC ports, card by card: the node name is the controller's (its serial
    number, NAA 5 under QSAN's OUI), each port's name follows it."""
    serial = int(parts.controller_serial_numbers[controller - 1], 16)
    ports: list[FcPort] = []
    for slot in parts.host_card_slots:
        card = _FC_CARD.search(slot.card)
        if card is None:
            continue
        speed = int(card["speed"])
        speeds = tuple(speed >> shift for shift in reversed(range(_FC_GENERATIONS)))
        for _ in range(int(card["ports"])):
            port = len(ports) + 1
            ports.append(FcPort(controller=controller, port=port, wwnn=f"{serial:016x}",
                                wwpn=f"{serial + port:016x}", speed_gbps=speed,
                                supported_speeds_gbps=speeds))
    return tuple(ports)


def system_hardware(model: ModelSpec, seed: int,
                    host_cards: tuple[str, ...] | None = None) -> SystemHardware:
    """The "Information for Technical Support" page of the manual, for this model and seed."""
    parts = identity(model, seed, host_cards)
    controllers = tuple(
        Controller(
            slot=slot,
            status="Normal",
            serial_number=serial,
            cpu=model.cpu,
            memory_gb=model.memory_gb,
            host_card_slots=parts.host_card_slots,
            firmware_version=parts.firmware_version,
            sas_ioc_firmware_version=parts.sas_ioc_firmware_version,
            sas_expander_firmware_version=parts.sas_expander_firmware_version,
        )
        for slot, serial in enumerate(parts.controller_serial_numbers, start=1)
    )
    return SystemHardware(
        model_name=model.name,
        serial_number=parts.system_serial,
        firmware_version=parts.firmware_version,
        controller_mode=(
            "Dual Controller, Active-Active" if model.controllers == 2 else "Single Controller"
        ),
        master_controller="Controller 1",
        form_factor=model.chassis,
        bays=model.bays,
        rack_units=model.rack_units,
        controllers=controllers,
        backplane=Backplane(parts.backplane_serial_number, parts.backplane_id, parts.mcu_version),
        ssd_cache_license=True,
        auto_tiering_license=model.series in ("XS5200", "XS3200"),
    )
