"""Names, sizes and limits that every backend obeys (api-contract.md, "Array rules")."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from opensan.domain.errors import ErrorCode, InvalidArgument

GIB = 1024**3
MIB = 1024**2
NAME_MAX_LENGTH = 32
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"
_NAME = re.compile(NAME_PATTERN.strip("^$"))
MAX_SNAPSHOTS_PER_VOLUME = 64
MIN_VOLUME_GB = 1
MIN_VOLUME_MIB = 1
# 1 PiB, the largest volume a SANOS array creates; anything larger is a typo, not a request.
MAX_VOLUME_GB = 1024 * 1024
MAX_LUN = 254
MAX_HOSTS_PER_MAPPING = 64
# What a client may keep in a volume's metadata (QSAN's CSI driver keeps 10 bytes).
MAX_METADATA_BYTES = 1024
MAX_METADATA_WORD = 64
MAX_NODES_PER_CONTROLLER = 32
# Initiator names: iqn., eui. or naa. (RFC 3720), as regular expressions that read the same
# in Python and in JSON Schema (the OpenAPI description's pattern of a host list).
_INITIATOR = (r"iqn\.[0-9]{4}-[0-9]{2}\.[a-z0-9][a-z0-9.-]*[a-z0-9](?::[A-Za-z0-9.:_-]{1,200})?"
              r"|eui\.[0-9A-Fa-f]{16}|naa\.(?:[0-9A-Fa-f]{16}|[0-9A-Fa-f]{32})")
_HOST = re.compile(_INITIATOR)
_MORE = f"{{0,{MAX_HOSTS_PER_MAPPING - 1}}}"
# What check_hosts takes: 1-64 initiator names, or * (for every host), comma-separated.
HOSTS_PATTERN = rf"^(?:\*(?:,\*){_MORE}|(?:{_INITIATOR})(?:,(?:{_INITIATOR})){_MORE})$"


def check_name(name: str, what: str, code: ErrorCode = ErrorCode.INVALID_ARGUMENT) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidArgument(
            f"Invalid {what} name {name[:40]!r}: use 1-{NAME_MAX_LENGTH} letters, digits, "
            "'-', '_' or '.', starting with a letter or a digit.",
            code,
        )
    return name


def check_snapshot_name(name: str) -> str:
    return check_name(name, "snapshot", ErrorCode.INVALID_SNAPSHOT_NAME)


def automatic_snapshot_name(now: float, taken: set[str]) -> str:
    """A snapshot name from the time it is taken, e.g. snap-20261201-093000, made unique."""
    base = datetime.fromtimestamp(now, UTC).strftime("snap-%Y%m%d-%H%M%S")
    name, suffix = base, 1
    while name in taken:
        suffix += 1
        name = f"{base}-{suffix}"
    return name


def check_volume_size_gb(size_gb: int) -> int:
    if not MIN_VOLUME_GB <= size_gb <= MAX_VOLUME_GB:
        raise InvalidArgument(
            f"Volume size must be {MIN_VOLUME_GB} to {MAX_VOLUME_GB} GiB, got {size_gb}."
        )
    return size_gb


def check_volume_size_mib(size_mib: int) -> int:
    """XEVO sizes volumes in MiB; the largest is the same as SANOS's."""
    if not MIN_VOLUME_MIB <= size_mib <= MAX_VOLUME_GB * 1024:
        raise InvalidArgument(
            f"Volume size must be {MIN_VOLUME_MIB} to {MAX_VOLUME_GB * 1024} MiB, got {size_mib}."
        )
    return size_mib


def check_snapshot_space_gb(size_gb: int) -> int:
    if not 0 <= size_gb <= MAX_VOLUME_GB:
        raise InvalidArgument(f"Snapshot space must be 0 to {MAX_VOLUME_GB} GiB, got {size_gb}.")
    return size_gb


def check_lun(lun: int) -> int:
    if not 0 <= lun <= MAX_LUN:
        raise InvalidArgument(f"LUN must be 0 to {MAX_LUN}, got {lun}.")
    return lun


def check_host(host: str) -> str:
    """A host is an initiator name (iqn., eui. or naa.) or "*" for every host."""
    if host == "*" or _HOST.fullmatch(host):
        return host
    raise InvalidArgument(
        f"Invalid host {host[:80]!r}: give an initiator name such as "
        "iqn.1994-05.com.redhat:host1, or * for every host."
    )


def check_hosts(hosts: list[str]) -> tuple[str, ...]:
    if not hosts or len(hosts) > MAX_HOSTS_PER_MAPPING:
        raise InvalidArgument(f"Give 1 to {MAX_HOSTS_PER_MAPPING} hosts.")
    checked = tuple(dict.fromkeys(check_host(host) for host in hosts))
    if "*" in checked and len(checked) > 1:
        raise InvalidArgument("Host * already means every host; do not combine it with names.")
    return checked
