"""How the array names itself and its objects, and its clock: one place for every backend.

IQNs and WWNs follow QSAN's forms (an iSCSI name under QSAN's naming authority, NAA 6 volume
names under QSAN's IEEE OUI), built from the model and the system serial number, so that a
target keeps its name across restarts and both controllers of an array name it alike.
"""

from __future__ import annotations

import time

QSAN_IQN_PREFIX = "iqn.2004-08.com.qsan"
# QSAN's IEEE OUI; volume WWNs are NAA 6 names under it.
QSAN_OUI = "001378"


def iqn_prefix(model_name: str, serial_number: str) -> str:
    """What every target IQN of this array starts with: targets under it are the array's own
    (a backend deletes the ones its records do not have, and nothing else)."""
    return f"{QSAN_IQN_PREFIX}:{model_name.lower()}-{serial_number.lower()}:"


def iqn(model_name: str, serial_number: str, node: int, controller: int) -> str:
    """The IQN of a target: node `node` of controller `controller`, e.g. `...:dev0.ctr1`."""
    return f"{iqn_prefix(model_name, serial_number)}dev{node}.ctr{controller}"


def wwn(serial_number: str, volume_id: int) -> str:
    """A volume's NAA 6 WWN: QSAN's OUI, part of the serial number, the volume ID."""
    serial_hex = "".join(f"{ord(c):02x}" for c in serial_number)[-9:]
    return f"6{QSAN_OUI}{serial_hex}{volume_id:016x}"


def system_wwn(serial_number: str) -> str:
    """The array's own NAA 6 name: its volumes' form, with object number 0."""
    return wwn(serial_number, 0)


# How far the simulated clock may run ahead of real time: far enough for any expiry or
# rebuild an integrator tests, and far from the year 9999 where dates stop.
MAX_CLOCK_OFFSET_SECONDS = 100 * 365 * 86400


class Clock:
    """Wall-clock time plus an offset that tests and integrators can move forward."""

    def __init__(self, offset_seconds: float = 0.0) -> None:
        self.offset_seconds = offset_seconds

    @property
    def offset_seconds(self) -> float:
        return self._offset_seconds

    @offset_seconds.setter
    def offset_seconds(self, seconds: float) -> None:
        # Bounded also for a state dir of an earlier release, which had no bound.
        self._offset_seconds = min(max(seconds, 0.0), MAX_CLOCK_OFFSET_SECONDS)

    def now(self) -> float:
        return time.time() + self.offset_seconds
