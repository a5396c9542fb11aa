"""disks: lsblk, wipefs and smartctl output, parsed from recordings; and the real tools on loops.

The ATA, SAS and NVMe smartctl files are SAMPLES written after smartctl 7.3's JSON format:
this VM has no such disks (its own, recorded, smartctl output is the loop device's).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from opensan.backends.linux import btrfs, disks
from opensan.backends.linux.disks import BlockDevice
from opensan.domain.errors import InvalidArgument
from opensan.domain.models import DiskHealth, SmartAttribute
from opensan.domain.raid import RaidLevel

DATA = Path(__file__).parent / "data"
MIB = 1024**2


def _sample(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


def _smart(data: dict[str, Any]) -> Any:
    return disks.parse_smartctl(json.dumps(data), disk_id=3, enclosure_id=0, slot=5)


# --- lsblk and wipefs ---------------------------------------------------------------------------


def test_parse_lsblk_of_loop_devices() -> None:
    devices = disks.parse_lsblk((DATA / "lsblk_loop.json").read_text())
    assert devices == [
        BlockDevice("/dev/loop0", "loop0", 1024 * MIB, "", "", "", "", True, "", "loop"),
        BlockDevice("/dev/loop1", "loop1", 1024 * MIB, "", "", "", "", True, "", "loop"),
    ]


def test_parse_lsblk_of_a_virtio_disk() -> None:
    vda, zram = reversed(disks.parse_lsblk((DATA / "lsblk_virtio.json").read_text()))
    assert (vda.path, vda.kind, vda.vendor, vda.size_bytes, vda.rotational) == (
        "/dev/vda", "disk", "0x1af4", 256 * 1024**3, True
    )
    assert (zram.name, zram.rotational, zram.transport) == ("zram0", False, "")


def test_parse_lsblk_of_older_versions_with_strings_and_padding() -> None:
    text = json.dumps({"blockdevices": [{
        "name": "sda", "path": "/dev/sda", "size": "4000787030016", "model": "ST4000NM0023    ",
        "serial": "Z1Z0ABCD", "vendor": "SEAGATE ", "rev": "GS10", "rota": "1", "tran": "sas",
        "type": "disk",
    }]})
    assert disks.parse_lsblk(text) == [BlockDevice(
        "/dev/sda", "sda", 4000787030016, "ST4000NM0023", "Z1Z0ABCD", "SEAGATE", "GS10", True,
        "sas", "disk",
    )]


def test_parse_wipefs() -> None:
    assert disks.parse_wipefs((DATA / "wipefs_clean.json").read_text()) == ()
    assert disks.parse_wipefs((DATA / "wipefs_btrfs.json").read_text()) == ("btrfs",)
    assert disks.parse_wipefs("") == ()


# --- S.M.A.R.T. -----------------------------------------------------------------------------


def test_a_loop_device_has_no_smart() -> None:
    """Recorded: smartctl says "Unable to detect device type" (exit 1) and gives no data."""
    assert disks.parse_smartctl((DATA / "smartctl_loop.json").read_text(), 1, 0, 1) is None


def test_ata_sample() -> None:
    smart = _smart(_sample("smartctl_ata_sample.json"))
    assert (smart.disk_id, smart.enclosure_id, smart.slot) == (3, 0, 5)
    assert smart.health is DiskHealth.GOOD
    assert (smart.temperature_c, smart.power_on_hours) == (34, 21457)
    assert [a.id for a in smart.attributes] == [1, 3, 5, 9, 187, 190, 194, 197, 198, 199]
    assert smart.attributes[0] == SmartAttribute(1, "Raw_Read_Error_Rate", 83, 64, 44, 199781349, "OK")
    # Attribute 190 failed in the past and recovered: history, not the state now.
    airflow = smart.attributes[5]
    assert (airflow.worst, airflow.threshold, airflow.status) == (38, 40, "OK")


def test_ata_attribute_failing_now_is_an_error_alert() -> None:
    data = _sample("smartctl_ata_sample.json")
    reallocated = data["ata_smart_attributes"]["table"][2]
    reallocated.update(value=9, worst=9, when_failed="now")
    smart = _smart(data)
    assert smart.attributes[2].status == "FAILING_NOW"
    assert smart.health is DiskHealth.ERROR_ALERT


def test_ata_drive_verdict_failed_wins() -> None:
    data = _sample("smartctl_ata_sample.json")
    data["smart_status"]["passed"] = False
    data["ata_smart_attributes"]["table"][2]["when_failed"] = "now"
    assert _smart(data).health is DiskHealth.FAILED


def test_ata_pending_sectors_are_read_errors() -> None:
    data = _sample("smartctl_ata_sample.json")
    data["ata_smart_attributes"]["table"][7]["raw"] = {"value": 8, "string": "8"}
    assert _smart(data).health is DiskHealth.READ_ERRORS


def test_sas_sample() -> None:
    smart = _smart(_sample("smartctl_sas_sample.json"))
    assert smart.health is DiskHealth.GOOD
    assert (smart.temperature_c, smart.power_on_hours) == (31, 39241)
    assert {a.name: (a.id, a.raw) for a in smart.attributes} == {
        "Grown_Defect_List": (1, 3),
        "Read_Errors_Corrected": (2, 3451234973),
        "Read_Errors_Uncorrected": (3, 0),
        "Write_Errors_Corrected": (4, 0),
        "Write_Errors_Uncorrected": (5, 0),
        "Verify_Errors_Corrected": (6, 1523),
        "Verify_Errors_Uncorrected": (7, 0),
        "Start_Stop_Cycles": (8, 84),
    }
    assert all((a.value, a.worst, a.threshold, a.status) == (0, 0, 0, "OK") for a in smart.attributes)


def test_sas_uncorrected_read_errors_and_failed_verdict() -> None:
    data = _sample("smartctl_sas_sample.json")
    data["scsi_error_counter_log"]["read"]["total_uncorrected_errors"] = 2
    assert _smart(data).health is DiskHealth.READ_ERRORS
    data["smart_status"]["passed"] = False
    assert _smart(data).health is DiskHealth.FAILED


def test_nvme_sample() -> None:
    smart = _smart(_sample("smartctl_nvme_sample.json"))
    assert smart.health is DiskHealth.GOOD
    assert (smart.temperature_c, smart.power_on_hours) == (36, 11235)
    by_name = {a.name: a for a in smart.attributes}
    assert by_name["Available_Spare"] == SmartAttribute(2, "Available_Spare", 100, 100, 10, 100, "OK")
    assert by_name["Percentage_Used"].raw == 2
    assert by_name["Num_Err_Log_Entries"].id == 9


@pytest.mark.parametrize(
    ("change", "health"),
    [
        ({"available_spare": 5}, DiskHealth.ERROR_ALERT),
        ({"critical_warning": 4}, DiskHealth.ERROR_ALERT),
        ({"media_errors": 1}, DiskHealth.READ_ERRORS),
    ],
)
def test_nvme_health(change: dict[str, int], health: DiskHealth) -> None:
    data = _sample("smartctl_nvme_sample.json")
    data["nvme_smart_health_information_log"].update(change)
    assert _smart(data).health is health


# --- The tools, on loop devices -------------------------------------------------------------


@pytest.mark.linux
def test_read_block_devices_in_the_order_asked(
    make_loop: Callable[[int], str], tmp_path: Path
) -> None:
    first, second = make_loop(64 * MIB), make_loop(96 * MIB)
    link = tmp_path / "by-id-link"
    link.symlink_to(first)
    found = disks.read_block_devices([second, link])
    assert [(d.path, d.size_bytes, d.kind, d.transport) for d in found] == [
        (second, 96 * MIB, "loop", ""),
        (first, 64 * MIB, "loop", ""),
    ]
    assert disks.read_block_devices([]) == []


@pytest.mark.linux
def test_not_a_block_device_is_named(make_loop: Callable[[int], str], tmp_path: Path) -> None:
    device = make_loop(64 * MIB)
    regular = tmp_path / "regular-file"
    regular.write_text("")
    with pytest.raises(InvalidArgument, match=f"{regular} is not a block device"):
        disks.read_block_devices([device, regular])
    with pytest.raises(InvalidArgument, match="/dev/opensan-missing is not a block device"):
        disks.read_block_devices(["/dev/opensan-missing"])


@pytest.mark.linux
def test_signature_found_and_wiped(make_loop: Callable[[int], str]) -> None:
    device = make_loop(256 * MIB)
    assert disks.has_signature(device) is None
    btrfs.make_filesystem([device], RaidLevel.RAID0, "signature-test")
    assert disks.has_signature(device) == "btrfs"
    disks.wipe(device)
    assert disks.has_signature(device) is None


@pytest.mark.linux
def test_smart_of_a_loop_device_is_none(make_loop: Callable[[int], str]) -> None:
    assert disks.read_smart(make_loop(64 * MIB), disk_id=1, enclosure_id=0, slot=1) is None
