"""The Ceph cluster's I/O counters: per RBD image from the manager, per OSD from the OSD itself.

Images: the manager's rbd_support module answers `rbd perf image counters` (what `rbd perf
image iostat` and `rbd perf image iotop` read, as rates): it registers OSD performance queries
for a pool on its first request (they expire after a minute without one) and sums, per image,
the operations the OSDs served on the image's data objects (`rbd_data.<id>.*`): write_ops,
read_ops, write_bytes, read_bytes, and write_latency and read_latency, the sums of the OSDs'
time per operation in nanoseconds. Those sums only grow while the query lives, whoever reads
them, so both controllers read the same counters without disturbing each other. A report
lists at most 64 images (of every pool, when asked without one, as the backend asks), the
busiest first, and leaves out images with no I/O yet.

OSDs: `perf dump` of the OSD's `osd` logger (`ceph tell osd.N perf dump osd`), the counters
Ceph's own dashboards read: op_r, op_r_out_bytes and op_r_latency for reads; client writes
(op_w, read-modify-writes op_rw) and the replica writes this OSD does for other primaries
(subop_w), so that an OSD's writes are the work its store does, replication included. They
count from the OSD's start.

Both sources start again at zero (a manager restarted or failed over, a query that expired,
an OSD restarted): Monotonic turns them into counters that only grow from this server's first
reading.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import fields
from typing import Any, Generic, TypeVar

from opensan.domain.measured import NO_IO, IoCounters

NANOSECOND = 1e-9
# The image reports' counters, as the manager names them.
IMAGE_COUNTERS = ("write_ops", "read_ops", "write_bytes", "read_bytes", "write_latency",
                  "read_latency")
_FIELDS = tuple(field.name for field in fields(IoCounters))
Key = TypeVar("Key")


def image_counters(report: Mapping[str, Any]) -> dict[tuple[str, str], IoCounters]:
    """(Ceph pool, image name) -> counters of one `rbd perf image counters` report. Raises
    ValueError (or KeyError) on a report that is not one."""
    descriptors = list(report["counter_descriptors"])
    if sorted(descriptors) != sorted(IMAGE_COUNTERS):
        raise ValueError(f"unexpected counters in an image report: {descriptors}")
    pools = {str(index): name for index, name in report["pool_descriptors"].items()}
    found = {}
    for entry in report["counters"]:
        for key, values in entry.items():
            index, _, image = key.partition("/")
            c = dict(zip(descriptors, (int(value) for value in values), strict=True))
            found[(pools[index], image)] = IoCounters(
                read_ops=c["read_ops"], write_ops=c["write_ops"], read_bytes=c["read_bytes"],
                write_bytes=c["write_bytes"], read_seconds=c["read_latency"] * NANOSECOND,
                write_seconds=c["write_latency"] * NANOSECOND)
    return found


def osd_counters(dump: Mapping[str, Any]) -> IoCounters:
    """The counters of one OSD's `perf dump osd`. Raises KeyError on a dump without them."""
    osd = dump["osd"]
    writes = ("op_w", "op_rw", "subop_w")
    return IoCounters(
        read_ops=int(osd["op_r"]), write_ops=sum(int(osd[name]) for name in writes),
        read_bytes=int(osd["op_r_out_bytes"]),
        write_bytes=sum(int(osd[f"{name}_in_bytes"]) for name in writes),
        read_seconds=float(osd["op_r_latency"]["sum"]),
        write_seconds=sum(float(osd[f"{name}_latency"]["sum"]) for name in writes))


def _minus(after: IoCounters, before: IoCounters) -> IoCounters:
    return IoCounters(*(getattr(after, name) - getattr(before, name) for name in _FIELDS))


def _behind(after: IoCounters, before: IoCounters) -> bool:
    return any(getattr(after, name) < getattr(before, name) for name in _FIELDS)


class Monotonic(Generic[Key]):
    """Counters that only grow, from sources that restart at zero now and then.

    A key's first reading is a baseline when it came with its source's first reading (what the
    source counted before this server started is not this server's to show); a key that shows
    up later counts from zero (an image or OSD new since, or one that had no I/O before). A
    reading behind the previous one in any field means the source started again: all of it is
    new. A key not read this time keeps its total: its source did not move or did not say."""

    def __init__(self) -> None:
        self._raw: dict[Key, IoCounters] = {}
        self._total: dict[Key, IoCounters] = {}

    def baseline(self, readings: Mapping[Key, IoCounters]) -> None:
        for key, raw in readings.items():
            self._raw[key] = raw
            self._total[key] = NO_IO

    def add(self, readings: Mapping[Key, IoCounters]) -> None:
        for key, raw in readings.items():
            last = self._raw.get(key)
            grown = raw if last is None or _behind(raw, last) else _minus(raw, last)
            self._raw[key] = raw
            self._total[key] = self._total.get(key, NO_IO) + grown

    def total(self, key: Key) -> IoCounters | None:
        """What the key did since this server started counting; None before any reading."""
        return self._total.get(key)

    def keep_only(self, keys: Iterable[Key]) -> None:
        """Forget keys that are gone (a deleted volume, a removed OSD)."""
        wanted = set(keys)
        for gone in set(self._total) - wanted:
            self._total.pop(gone, None)
            self._raw.pop(gone, None)
