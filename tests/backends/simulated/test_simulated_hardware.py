"""The simulated hardware: the manual's models, and disks and sensors that behave like real ones."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from itertools import count, pairwise

import pytest

from opensan.backends.simulated.catalogue import DEFAULT_MODEL, MODELS, get_model
from opensan.backends.simulated.hardware import (
    disk_temperature_c,
    fc_ports,
    generate_disks,
    identity,
    read_sensors,
    replacement_disk,
    sensor_ids,
    smart_report,
    system_hardware,
)
from opensan.domain.errors import InvalidArgument
from opensan.domain.models import (
    DiskHealth,
    DiskType,
    Sensor,
    SensorStatus,
    SensorType,
)

NOW = 1_764_000_000.0
HOUR = 3600.0

# The manual's table "applicable to the following XCubeSAN models", word for word.
MANUAL_TABLE = """
XS5224D	Dual Controller	LFF 24-disk 4U Chassis
XS3224D	Dual Controller	LFF 24-disk 4U Chassis
XS3224S	Single Controller	LFF 24-disk 4U Chassis
XS1224D	Dual Controller	LFF 24-disk 4U Chassis
XS1224S	Single Controller	LFF 24-disk 4U Chassis
XS5216D	Dual Controller	LFF 16-disk 3U Chassis
XS3216D	Dual Controller	LFF 16-disk 3U Chassis
XS3216S	Single Controller	LFF 16-disk 3U Chassis
XS1216D	Dual Controller	LFF 16-disk 3U Chassis
XS1216S	Single Controller	LFF 16-disk 3U Chassis
XS5212D	Dual Controller	LFF 12-disk 2U Chassis
XS5212S	Single Controller	LFF 12-disk 2U Chassis
XS3212D	Dual Controller	LFF 12-disk 2U Chassis
XS3212S	Single Controller	LFF 12-disk 2U Chassis
XS1212D	Dual Controller	LFF 12-disk 2U Chassis
XS1212S	Single Controller	LFF 12-disk 2U Chassis
XS5226D	Dual Controller	SFF 26-disk 2U Chassis
XS5226S	Single Controller	SFF 26-disk 2U Chassis
XS3226D	Dual Controller	SFF 26-disk 2U Chassis
XS3226S	Single Controller	SFF 26-disk 2U Chassis
XS1226D	Dual Controller	SFF 26-disk 2U Chassis
XS1226S	Single Controller	SFF 26-disk 2U Chassis
"""
MANUAL_ROWS = [line.split("\t") for line in MANUAL_TABLE.strip().splitlines()]


def ids() -> Callable[[], int]:
    return count(1_000_000_000).__next__


def sensors_by_id(sensors: tuple[Sensor, ...]) -> dict[str, Sensor]:
    return {sensor.id: sensor for sensor in sensors}


def test_the_catalogue_is_the_manuals_table() -> None:
    assert len(MANUAL_ROWS) == 22
    assert sorted(MODELS) == sorted(row[0] for row in MANUAL_ROWS)
    assert DEFAULT_MODEL in MODELS


@pytest.mark.parametrize(("name", "controller_type", "chassis"), MANUAL_ROWS)
def test_each_model_matches_the_manual(name: str, controller_type: str, chassis: str) -> None:
    form_factor, bays, rack_units, _ = chassis.split(" ")
    spec = MODELS[name]
    assert spec.controllers == (2 if controller_type == "Dual Controller" else 1)
    assert spec.form_factor == form_factor
    assert spec.bays == int(bays.removesuffix("-disk"))
    assert spec.rack_units == int(rack_units.removesuffix("U"))
    assert spec.chassis == chassis
    assert spec.series == f"{name[:4]}00"
    assert spec.fans >= 2
    assert spec.psus >= 2


def test_series_set_cpu_and_memory() -> None:
    assert MODELS["XS5226D"].cpu == "Intel(R) Xeon(R) Processor D-1500 4 Cores"
    assert MODELS["XS5226D"].memory_gb == 8
    assert MODELS["XS3212S"].memory_gb == 4
    assert "Pentium" in MODELS["XS1224D"].cpu


def test_get_model_ignores_case() -> None:
    assert get_model("xs5226d") is MODELS["XS5226D"]
    assert get_model("Xs1212S") is MODELS["XS1212S"]


def test_get_model_rejects_an_unknown_model_and_names_the_valid_ones() -> None:
    with pytest.raises(InvalidArgument) as raised:
        get_model("XS9999D")
    assert "XS5226D" in raised.value.message
    assert "XS1212S" in raised.value.message


@pytest.mark.parametrize("name", ["XS5226D", "XS1224S", "XS3216D"])
def test_generate_disks_fills_every_bay(name: str) -> None:
    model = MODELS[name]
    disks = generate_disks(model, seed=7, now=NOW, new_id=ids())
    assert [disk.slot for disk in disks] == list(range(1, model.bays + 1))
    assert len({disk.id for disk in disks}) == model.bays
    assert len({disk.serial_number for disk in disks}) == model.bays
    assert all(disk.enclosure_id == 0 and disk.pool_id is None for disk in disks)
    assert all(disk.installed_at == NOW and disk.interface_speed == "12.0Gb/s" for disk in disks)
    hdds, ssds = disks[:-2], disks[-2:]
    assert all(disk.type is DiskType.SAS_SSD for disk in ssds)
    expected_hdd = DiskType.NL_SAS_HDD if model.form_factor == "LFF" else DiskType.SAS_HDD
    assert {disk.type for disk in hdds} == {expected_hdd}
    assert len({(disk.model, disk.capacity_bytes) for disk in hdds}) == 1


def test_generate_disks_takes_ids_in_slot_order() -> None:
    disks = generate_disks(MODELS["XS1212D"], seed=1, now=NOW, new_id=ids())
    assert [disk.id for disk in disks] == list(range(1_000_000_000, 1_000_000_012))


def test_generate_disks_is_deterministic_per_seed() -> None:
    model = MODELS["XS5226D"]
    first = generate_disks(model, seed=3, now=NOW, new_id=ids())
    again = generate_disks(model, seed=3, now=NOW, new_id=ids())
    other = generate_disks(model, seed=4, now=NOW, new_id=ids())
    assert first == again
    assert [disk.serial_number for disk in first] != [disk.serial_number for disk in other]


def test_generate_disks_honours_ssd_bays() -> None:
    disks = generate_disks(MODELS["XS5212D"], seed=1, now=NOW, new_id=ids(), ssd_bays=0)
    assert all(disk.type is DiskType.NL_SAS_HDD for disk in disks)
    with pytest.raises(InvalidArgument):
        generate_disks(MODELS["XS5212D"], seed=1, now=NOW, new_id=ids(), ssd_bays=13)


def test_replacement_disk_is_the_same_drive_with_a_new_serial() -> None:
    failed = replace(
        generate_disks(MODELS["XS5226D"], seed=5, now=NOW, new_id=ids())[3],
        health=DiskHealth.FAILED,
        pool_id=1_000_000_500,
    )
    new = replacement_disk(failed, seed=5, now=NOW + HOUR, new_id=lambda: 2_000_000_000)
    assert new == replacement_disk(failed, seed=5, now=NOW + HOUR, new_id=lambda: 2_000_000_000)
    assert new.id == 2_000_000_000
    assert (new.enclosure_id, new.slot) == (failed.enclosure_id, failed.slot)
    assert (new.model, new.type, new.capacity_bytes) == (
        failed.model,
        failed.type,
        failed.capacity_bytes,
    )
    assert new.serial_number != failed.serial_number
    assert len(new.serial_number) == len(failed.serial_number)
    assert new.health is DiskHealth.GOOD and new.pool_id is None
    assert new.power_on_hours < 100 and new.installed_at == NOW + HOUR


def test_disk_temperatures_drift_smoothly_within_plausible_bounds() -> None:
    disks = generate_disks(MODELS["XS5226D"], seed=11, now=NOW, new_id=ids())
    for disk in disks:
        low, high = (28, 40) if disk.type is DiskType.SAS_SSD else (30, 45)
        samples = [disk_temperature_c(disk, 11, NOW + minute * 60) for minute in range(0, 2880, 10)]
        assert all(low <= celsius <= high for celsius in samples)
        steps = [abs(later - earlier) for earlier, later in pairwise(samples)]
        assert max(steps) <= 4
        hourly = samples[::6]
        assert any(later != earlier for earlier, later in pairwise(hourly))
        assert len(set(samples)) >= 3


def test_smart_report_of_a_healthy_disk() -> None:
    disk = generate_disks(MODELS["XS5224D"], seed=2, now=NOW, new_id=ids())[0]
    report = smart_report(disk, seed=2, now=NOW)
    attributes = {attribute.id: attribute for attribute in report.attributes}
    assert report.health is DiskHealth.GOOD
    assert report.temperature_c == disk_temperature_c(disk, 2, NOW)
    assert attributes[194].raw == report.temperature_c
    assert attributes[9].raw == report.power_on_hours == disk.power_on_hours
    assert all(attribute.status == "OK" for attribute in report.attributes)
    assert all(attribute.worst <= attribute.value for attribute in report.attributes)
    assert report == smart_report(disk, seed=2, now=NOW)


def test_power_on_hours_and_writes_grow_with_time() -> None:
    ssd = generate_disks(MODELS["XS5226D"], seed=2, now=NOW, new_id=ids())[-1]
    before = smart_report(ssd, seed=2, now=NOW + HOUR)
    after = smart_report(ssd, seed=2, now=NOW + 30 * HOUR)
    assert after.power_on_hours - before.power_on_hours == 29
    written = [
        next(attribute.raw for attribute in report.attributes if attribute.id == 241)
        for report in (before, after)
    ]
    assert written[1] > written[0]


def test_smart_report_of_a_failed_disk_is_failing_now() -> None:
    for disk in generate_disks(MODELS["XS5226D"], seed=9, now=NOW, new_id=ids())[-3:]:
        report = smart_report(replace(disk, health=DiskHealth.FAILED), seed=9, now=NOW)
        reallocated = next(attribute for attribute in report.attributes if attribute.id == 5)
        assert report.health is DiskHealth.FAILED
        assert reallocated.value < reallocated.threshold
        assert reallocated.raw > 1000
        assert reallocated.status == "FAILING_NOW"


def test_smart_report_of_a_disk_with_read_errors_is_still_ok() -> None:
    disk = generate_disks(MODELS["XS5224D"], seed=9, now=NOW, new_id=ids())[0]
    report = smart_report(replace(disk, health=DiskHealth.READ_ERRORS), seed=9, now=NOW)
    raw = {attribute.id: attribute.raw for attribute in report.attributes}
    assert raw[197] > 0 and raw[198] > 0
    assert all(attribute.status == "OK" for attribute in report.attributes)


@pytest.mark.parametrize("name", ["XS5226D", "XS1212S", "XS3224D"])
def test_read_sensors_ids_are_unique_and_listed(name: str) -> None:
    model = MODELS[name]
    (enclosure,) = read_sensors(model, seed=1, now=NOW, overrides={})
    ids_read = [sensor.id for sensor in enclosure.sensors]
    assert len(set(ids_read)) == len(ids_read)
    assert ids_read == sensor_ids(model)
    assert enclosure.id == 0 and enclosure.name == f"{name} head unit"
    assert sum(sensor.type is SensorType.FAN for sensor in enclosure.sensors) == model.fans
    assert sum(sensor.type is SensorType.PSU for sensor in enclosure.sensors) == model.psus
    assert {f"ctr{n}-cpu-temp" for n in range(1, model.controllers + 1)} <= set(ids_read)


def test_sensors_stay_good_and_plausible_over_two_days() -> None:
    model = MODELS["XS5226D"]
    for minute in range(0, 2880, 30):
        (enclosure,) = read_sensors(model, seed=4, now=NOW + minute * 60, overrides={})
        sensors = sensors_by_id(enclosure.sensors)
        assert all(sensor.status is SensorStatus.GOOD for sensor in enclosure.sensors)
        assert 45 <= float(sensors["ctr1-cpu-temp"].value) <= 62
        assert 40 <= float(sensors["ctr2-sas-expander-temp"].value) <= 55
        assert 38 <= float(sensors["ctr1-slot1-temp"].value) <= 52
        assert 27 <= float(sensors["bp-temp-1"].value) <= 38
        assert 3000 <= float(sensors["fan-1"].value) <= 8000
        assert sensors["psu-1"].value == "Power OK"


@pytest.mark.parametrize(
    ("sensor_id", "status", "value"),
    [
        ("fan-2", SensorStatus.FAILED, 0),
        ("fan-2", SensorStatus.WARNING, 1200),
        ("psu-1", SensorStatus.FAILED, "Failed"),
        ("psu-1", SensorStatus.WARNING, "Fan warning"),
        ("ctr1-voltage-12v", SensorStatus.FAILED, 0.0),
        ("ctr1-voltage-12v", SensorStatus.WARNING, 10.8),
        ("ctr2-cache-protection", SensorStatus.FAILED, 0),
        ("ctr2-cache-protection", SensorStatus.WARNING, 40),
    ],
)
def test_overrides_force_value_and_status(
    sensor_id: str, status: SensorStatus, value: float | str
) -> None:
    (enclosure,) = read_sensors(MODELS["XS5226D"], seed=1, now=NOW, overrides={sensor_id: status})
    sensor = sensors_by_id(enclosure.sensors)[sensor_id]
    assert sensor.status is status
    assert sensor.value == value
    others = [other for other in enclosure.sensors if other.id != sensor_id]
    assert all(other.status is SensorStatus.GOOD for other in others)


def test_overrides_move_a_temperature_into_its_band() -> None:
    model = MODELS["XS5226D"]
    (normal,) = read_sensors(model, seed=1, now=NOW, overrides={})
    (warning,) = read_sensors(
        model, seed=1, now=NOW, overrides={"ctr1-cpu-temp": SensorStatus.WARNING}
    )
    (failed,) = read_sensors(
        model, seed=1, now=NOW, overrides={"ctr1-cpu-temp": SensorStatus.FAILED}
    )
    (good,) = read_sensors(model, seed=1, now=NOW, overrides={"ctr1-cpu-temp": SensorStatus.GOOD})
    readings = [sensors_by_id(e.sensors)["ctr1-cpu-temp"] for e in (normal, warning, failed, good)]
    assert [reading.status for reading in readings] == [
        SensorStatus.GOOD,
        SensorStatus.WARNING,
        SensorStatus.FAILED,
        SensorStatus.GOOD,
    ]
    celsius = [float(reading.value) for reading in readings]
    assert celsius[0] == celsius[3] < celsius[1] < celsius[2]


def test_read_sensors_rejects_an_unknown_sensor() -> None:
    with pytest.raises(InvalidArgument):
        read_sensors(MODELS["XS5226D"], seed=1, now=NOW, overrides={"fan-9": SensorStatus.FAILED})


def test_single_controller_models_have_one_controller() -> None:
    model = MODELS["XS3226S"]
    info = system_hardware(model, 1)
    assert len(info.controllers) == 1
    assert info.controller_mode == "Single Controller"
    assert not any(sensor_id.startswith("ctr2-") for sensor_id in sensor_ids(model))


def test_system_hardware_of_a_dual_controller_model() -> None:
    model = MODELS["XS5226D"]
    info = system_hardware(model, 1)
    assert info == system_hardware(model, 1)
    assert [controller.slot for controller in info.controllers] == [1, 2]
    assert info.controller_mode == "Dual Controller, Active-Active"
    assert info.master_controller == "Controller 1"
    assert info.model_name == "XS5226D"
    assert info.form_factor == "SFF 26-disk 2U Chassis"
    assert (info.bays, info.rack_units) == (26, 2)
    serials = [controller.serial_number for controller in info.controllers]
    assert len(set(serials)) == 2
    assert all(len(serial) == 16 and serial.startswith("5001378") for serial in serials)
    assert info.controllers[0].cpu == model.cpu
    assert info.backplane.id == "QW226"
    assert info.serial_number.startswith("QW226") and len(info.serial_number) == 17
    assert info.auto_tiering_license and info.ssd_cache_license


def test_identity_differs_between_seeds() -> None:
    model = MODELS["XS5226D"]
    assert identity(model, 1) == identity(model, 1)
    assert identity(model, 1).system_serial != identity(model, 2).system_serial


FC_CARD = "4 x 16Gb FC (SFP+)"


def test_an_fc_card_gives_each_controller_its_ports() -> None:
    model = MODELS["XS5226D"]
    parts = identity(model, 1, (FC_CARD, "Empty"))
    first, second = fc_ports(parts, 1), fc_ports(parts, 2)
    assert [p.port for p in first] == [1, 2, 3, 4] and len(second) == 4
    assert {p.wwnn for p in first} == {parts.controller_serial_numbers[0].lower()}
    assert len({p.wwpn for p in first + second}) == 8
    assert all(p.speed_gbps == 16 and p.supported_speeds_gbps == (4, 8, 16) for p in first)
    assert system_hardware(model, 1, (FC_CARD, "Empty")).controllers[0].host_card_slots[0].card \
        == FC_CARD


def test_without_an_fc_card_there_are_no_fc_ports() -> None:
    parts = identity(MODELS["XS5226D"], 1, ("4 x 10GbE iSCSI (SFP+)", "Empty"))
    assert fc_ports(parts, 1) == () == fc_ports(parts, 2)


def test_the_seed_chooses_the_cards_unless_they_are_given() -> None:
    model = MODELS["XS5226D"]
    drawn = {identity(model, seed).host_card_slots for seed in range(20)}
    assert len(drawn) > 1  # the seed's choice, as before there was a choice
    # Given cards change nothing else of the array's identity (its serials stay the seed's).
    assert replace(identity(model, 3, (FC_CARD, "Empty")), host_card_slots=()) == \
        replace(identity(model, 3), host_card_slots=())


@pytest.mark.parametrize("cards", [("32Gb FC", "Empty"), (FC_CARD,), (FC_CARD, "Empty", "Empty")])
def test_unknown_host_cards_are_refused(cards: tuple[str, ...]) -> None:
    with pytest.raises(InvalidArgument, match="Host cards"):
        identity(MODELS["XS5226D"], 1, cards)
