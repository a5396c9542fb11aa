"""blockstat: the kernel's per-device I/O counters, parsed and read from a real loop device."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from opensan.backends.linux import blockstat
from opensan.domain.measured import IoCounters

MIB = 1024**2
# /sys/block/sda/stat of a 6.1 kernel: 17 fields (discards and flushes after the first 11).
STAT_LINE = ("  215832     1834  9861002    60788   129744    92511  5370080   177916        0"
             "   217036   255364        0        0        0        0    11102    16660\n")


def test_a_stat_line_gives_operations_bytes_and_seconds() -> None:
    assert blockstat.parse_stat(STAT_LINE) == IoCounters(
        read_ops=215832, write_ops=129744, read_bytes=9861002 * 512, write_bytes=5370080 * 512,
        read_seconds=60.788, write_seconds=177.916)
    with pytest.raises(ValueError):
        blockstat.parse_stat("1 2 3")


def test_a_device_the_kernel_does_not_have_has_no_counters(tmp_path: Path) -> None:
    assert blockstat.read_counters("/dev/sdzz9", root=tmp_path) is None


def test_the_boot_time_is_in_the_past() -> None:
    assert 0 < blockstat.boot_time() < time.time()


@pytest.mark.linux
def test_a_loop_devices_counters_grow_with_what_is_written(
        make_loop: Callable[[int], str]) -> None:
    device = make_loop(64 * MIB)
    before = blockstat.read_counters(device)
    assert before is not None
    descriptor = os.open(device, os.O_WRONLY)
    try:
        os.write(descriptor, os.urandom(4 * MIB))
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    after = blockstat.read_counters(device)
    assert after is not None
    assert after.write_bytes - before.write_bytes >= 4 * MIB
    assert after.write_ops > before.write_ops and after.read_ops >= before.read_ops
