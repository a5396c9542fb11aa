"""How the array names itself and its objects, and its clock: one place for every backend.

IQNs and WWNs follow QSAN's forms (an iSCSI name under QSAN's naming authority, NAA 6 volume
names under QSAN's IEEE OUI), built from the model and the system serial number, so that a
target keeps its name across restarts and both controllers of an array name it alike.
"""

from __future__ import annotations

import re
import time

QSAN_IQN_PREFIX = "iqn.2004-08.com.qsan"
# QSAN's IEEE OUI; volume WWNs are NAA 6 names under it.
QSAN_OUI = "001378"
# XS5226D and XS5226S are the XS5226 family (dual and single controller).
_CONTROLLERS_SUFFIX = re.compile(r"(?<=[0-9])[DS]$", re.IGNORECASE)


def model_family(model_name: str) -> str:
    """The model less its controller letter, lower case: xs5226 for XS5226D."""
    return _CONTROLLERS_SUFFIX.sub("", model_name).lower()


def serial_token(serial_number: str) -> str:
    """The array's 9 hex digits that its IQNs and WWNs carry, from its serial number."""
    return "".join(f"{ord(c):02x}" for c in serial_number)[-9:]


def iqn_prefix(model_name: str, serial_number: str) -> str:
    """What every new target IQN of this array starts with, QSAN's form: the model family and
    the serial token, e.g. `iqn.2004-08.com.qsan:xs5312-000d5b3a0:`."""
    return f"{QSAN_IQN_PREFIX}:{model_family(model_name)}-{serial_token(serial_number)}:"


def iqn_prefixes(model_name: str, serial_number: str) -> tuple[str, ...]:
    """What the array's target IQNs start with: targets under them are the array's own (a
    backend deletes the ones its records do not have, and nothing else). Targets made by
    release 0.1.0 keep their IQNs, of the model and the whole serial number."""
    return (iqn_prefix(model_name, serial_number),
            f"{QSAN_IQN_PREFIX}:{model_name.lower()}-{serial_number.lower()}:")


def iqn(model_name: str, serial_number: str, node: int, controller: int) -> str:
    """The IQN of a new target: node `node` of controller `controller`, e.g. `...:dev0.ctr1`."""
    return f"{iqn_prefix(model_name, serial_number)}dev{node}.ctr{controller}"


def wwn(serial_number: str, volume_id: int) -> str:
    """A volume's NAA 6 WWN: QSAN's OUI, the serial token, the volume ID."""
    return f"6{QSAN_OUI}{serial_token(serial_number)}{volume_id:016x}"


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
