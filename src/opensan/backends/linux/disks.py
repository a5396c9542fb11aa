"""Block devices: what they are (lsblk), whether they hold data (wipefs) and S.M.A.R.T. (smartctl).

Parsers are pure functions over the tools' JSON so they can be tested on recorded output;
the functions that run the tools are thin on purpose.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opensan.backends.runner import StrPath, run
from opensan.domain.errors import BackendError, InvalidArgument
from opensan.domain.models import DiskHealth, DiskSmart, SmartAttribute

LSBLK_COLUMNS = "NAME,PATH,SIZE,MODEL,SERIAL,VENDOR,REV,ROTA,TRAN,TYPE"
FAILING_NOW = "FAILING_NOW"
OK = "OK"


@dataclass(frozen=True)
class BlockDevice:
    path: str
    name: str
    size_bytes: int
    model: str
    serial: str
    vendor: str
    revision: str
    rotational: bool
    transport: str  # "sata", "sas", "nvme", ...; "" for a loop or virtual device
    kind: str  # lsblk's TYPE: "disk", "loop", ...


def _text(value: object) -> str:
    """lsblk prints null for what a device does not report, and pads vendor names."""
    return "" if value is None else str(value).strip()


def _flag(value: object) -> bool:
    """lsblk 2.33+ prints JSON booleans; older versions print "0"/"1"."""
    return value is True or value == "1" or value == 1


def parse_lsblk(json_text: str) -> list[BlockDevice]:
    """Devices from `lsblk -J -b -d -o NAME,PATH,SIZE,MODEL,SERIAL,VENDOR,REV,ROTA,TRAN,TYPE`."""
    return [
        BlockDevice(
            path=_text(entry["path"]),
            name=_text(entry["name"]),
            size_bytes=int(entry["size"] or 0),
            model=_text(entry.get("model")),
            serial=_text(entry.get("serial")),
            vendor=_text(entry.get("vendor")),
            revision=_text(entry.get("rev")),
            rotational=_flag(entry.get("rota")),
            transport=_text(entry.get("tran")),
            kind=_text(entry.get("type")),
        )
        for entry in json.loads(json_text).get("blockdevices", [])
    ]


def _check_block_device(path: StrPath) -> None:
    try:
        mode = os.stat(path).st_mode
    except OSError:
        raise InvalidArgument(f"{path} is not a block device (it does not exist).") from None
    if not stat.S_ISBLK(mode):
        raise InvalidArgument(f"{path} is not a block device.")


def read_block_devices(paths: Sequence[StrPath]) -> list[BlockDevice]:
    """The devices at exactly these paths, in the same order.

    Raises InvalidArgument naming the first path that is not a block device. Paths may be
    symbolic links (/dev/disk/by-id/...); the result carries the kernel's name and path.
    """
    for path in paths:
        _check_block_device(path)
    if not paths:
        return []  # lsblk without paths would list every device
    found = parse_lsblk(run(["lsblk", "-J", "-b", "-d", "-o", LSBLK_COLUMNS, *paths]))
    by_path = {os.path.realpath(device.path): device for device in found}
    try:
        return [by_path[os.path.realpath(path)] for path in paths]
    except KeyError as missing:
        raise BackendError(f"lsblk did not report {missing.args[0]}.") from None


def parse_wipefs(json_text: str) -> tuple[str, ...]:
    """Signature types from `wipefs --no-act --json`; some versions print nothing when clean."""
    if not json_text.strip():
        return ()
    return tuple(entry["type"] for entry in json.loads(json_text).get("signatures", []))


def has_signature(path: StrPath) -> str | None:
    """The first file-system, RAID or partition-table signature on the device, None when clean.

    A pool must never be built over a disk that still holds something: the caller refuses
    such a disk or wipes it on purpose.
    """
    _check_block_device(path)
    signatures = parse_wipefs(run(["wipefs", "--no-act", "--json", path]))
    return signatures[0] if signatures else None


def wipe(path: StrPath) -> None:
    """Erase every signature wipefs knows (the data itself stays until overwritten)."""
    _check_block_device(path)
    run(["wipefs", "-a", path])


# --- S.M.A.R.T. --------------------------------------------------------------------------------

# SCSI (SAS) and NVMe drives report counters, not ATA's numbered attributes. They become
# attributes with fixed IDs (their place in these lists), raw = the counter, and value, worst
# and threshold 0, since these drives have no normalised scale.
_SCSI_COUNTERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Grown_Defect_List", ("scsi_grown_defect_list",)),
    ("Read_Errors_Corrected", ("scsi_error_counter_log", "read", "total_errors_corrected")),
    ("Read_Errors_Uncorrected", ("scsi_error_counter_log", "read", "total_uncorrected_errors")),
    ("Write_Errors_Corrected", ("scsi_error_counter_log", "write", "total_errors_corrected")),
    ("Write_Errors_Uncorrected", ("scsi_error_counter_log", "write", "total_uncorrected_errors")),
    ("Verify_Errors_Corrected", ("scsi_error_counter_log", "verify", "total_errors_corrected")),
    (
        "Verify_Errors_Uncorrected",
        ("scsi_error_counter_log", "verify", "total_uncorrected_errors"),
    ),
    (
        "Start_Stop_Cycles",
        ("scsi_start_stop_cycle_counter", "accumulated_start_stop_cycles"),
    ),
)
_NVME_COUNTERS = (
    "critical_warning",
    "available_spare",
    "percentage_used",
    "data_units_read",
    "data_units_written",
    "power_cycles",
    "unsafe_shutdowns",
    "media_errors",
    "num_err_log_entries",
)
# ATA attributes that count sectors the drive could not read.
_ATA_READ_ERROR_IDS = (197, 198)  # Current_Pending_Sector, Offline_Uncorrectable


def _dig(data: Any, keys: Sequence[str]) -> Any:
    for key in keys:
        if not isinstance(data, dict) or key not in data:
            return None
        data = data[key]
    return data


def _ata_attributes(table: list[dict[str, Any]]) -> tuple[SmartAttribute, ...]:
    return tuple(
        SmartAttribute(
            id=int(row["id"]),
            name=str(row.get("name", "")),
            value=int(row.get("value", 0)),
            worst=int(row.get("worst", 0)),
            threshold=int(row.get("thresh", 0)),
            raw=int(_dig(row, ("raw", "value")) or 0),
            # "past" means it failed once and recovered: history, not the state now.
            status=FAILING_NOW if row.get("when_failed") == "now" else OK,
        )
        for row in table
    )


def _scsi_attributes(data: dict[str, Any]) -> tuple[SmartAttribute, ...]:
    attributes = []
    for number, (name, keys) in enumerate(_SCSI_COUNTERS, start=1):
        counter = _dig(data, keys)
        if counter is not None:
            attributes.append(SmartAttribute(number, name, 0, 0, 0, int(counter), OK))
    return tuple(attributes)


def _nvme_attributes(log: dict[str, Any]) -> tuple[SmartAttribute, ...]:
    attributes = []
    for number, key in enumerate(_NVME_COUNTERS, start=1):
        if key not in log:
            continue
        counter = int(log[key])
        name = "_".join(word.capitalize() for word in key.split("_"))
        if key == "available_spare":
            threshold = int(log.get("available_spare_threshold", 0))
            failing = counter < threshold
            attribute = SmartAttribute(
                number, name, counter, counter, threshold, counter, FAILING_NOW if failing else OK
            )
        else:
            failing = key == "critical_warning" and counter != 0
            attribute = SmartAttribute(number, name, 0, 0, 0, counter, FAILING_NOW if failing else OK)
        attributes.append(attribute)
    return tuple(attributes)


def _has_read_errors(data: dict[str, Any], attributes: tuple[SmartAttribute, ...]) -> bool:
    if "ata_smart_attributes" in data:
        return any(a.id in _ATA_READ_ERROR_IDS and a.raw > 0 for a in attributes)
    if "nvme_smart_health_information_log" in data:
        return int(data["nvme_smart_health_information_log"].get("media_errors", 0)) > 0
    return int(_dig(data, ("scsi_error_counter_log", "read", "total_uncorrected_errors")) or 0) > 0


def parse_smartctl(json_text: str, disk_id: int, enclosure_id: int, slot: int) -> DiskSmart | None:
    """S.M.A.R.T. from `smartctl -j -a`, or None when the device has none.

    A loop or virtio device (as on a VM) makes smartctl say "Unable to detect device type" with
    no smart_status and no attributes: that is None, not an error. Health: the drive's own
    verdict first (Failed), then an attribute failing now (Error Alert), then unreadable
    sectors (Read Errors).
    """
    data = json.loads(json_text)
    if "ata_smart_attributes" in data:
        attributes = _ata_attributes(data["ata_smart_attributes"].get("table", []))
    elif "nvme_smart_health_information_log" in data:
        attributes = _nvme_attributes(data["nvme_smart_health_information_log"])
    else:
        attributes = _scsi_attributes(data)
    passed = _dig(data, ("smart_status", "passed"))
    if passed is None and not attributes:
        return None
    if passed is False:
        health = DiskHealth.FAILED
    elif any(attribute.status == FAILING_NOW for attribute in attributes):
        health = DiskHealth.ERROR_ALERT
    elif _has_read_errors(data, attributes):
        health = DiskHealth.READ_ERRORS
    else:
        health = DiskHealth.GOOD
    return DiskSmart(
        disk_id=disk_id,
        enclosure_id=enclosure_id,
        slot=slot,
        health=health,
        temperature_c=int(_dig(data, ("temperature", "current")) or 0),
        power_on_hours=int(_dig(data, ("power_on_time", "hours")) or 0),
        attributes=attributes,
    )


def read_smart(path: StrPath, disk_id: int, enclosure_id: int, slot: int) -> DiskSmart | None:
    """Run `smartctl -j -a` on one device; None when it has no S.M.A.R.T.

    smartctl's exit code is a bit mask that is non-zero for many useful answers (bit 6: the
    error log has entries; bit 0 even for a loop device it cannot identify), so every code
    is accepted and the JSON decides.
    """
    _check_block_device(path)
    output = run(["smartctl", "-j", "-a", path], ok_codes=range(256))
    try:
        return parse_smartctl(output, disk_id, enclosure_id, slot)
    except json.JSONDecodeError:
        raise BackendError(f"smartctl printed no JSON for {path}.") from None
