"""Performance figures: rates from two readings of the I/O counters, and the sums of volumes.

Counters only grow (domain/measured.py: IoCounters), so a figure over any interval is the
difference of two readings divided by the time between them: nothing is reset by reading it,
and two readers never disturb each other.
"""

from __future__ import annotations

from dataclasses import dataclass

from opensan.domain.measured import IoCounters, Performance, total_io
from opensan.domain.models import ArrayState

MIB = 1024**2


@dataclass(frozen=True)
class IoRates:
    """What happened per second between two readings `seconds` apart; the latencies are
    None when no operation completed (there is no latency of nothing)."""

    seconds: float
    read_iops: float
    write_iops: float
    read_bytes_per_second: float
    write_bytes_per_second: float
    read_latency_seconds: float | None
    write_latency_seconds: float | None

    @property
    def iops(self) -> float:
        return self.read_iops + self.write_iops

    @property
    def bytes_per_second(self) -> float:
        return self.read_bytes_per_second + self.write_bytes_per_second


def _latency(seconds: float, ops: int) -> float | None:
    return seconds / ops if ops > 0 else None


def rates(before: IoCounters, after: IoCounters, seconds: float) -> IoRates:
    """The rates between two readings of one counter (seconds > 0 apart)."""
    read_ops = after.read_ops - before.read_ops
    write_ops = after.write_ops - before.write_ops
    return IoRates(
        seconds=seconds,
        read_iops=read_ops / seconds, write_iops=write_ops / seconds,
        read_bytes_per_second=(after.read_bytes - before.read_bytes) / seconds,
        write_bytes_per_second=(after.write_bytes - before.write_bytes) / seconds,
        read_latency_seconds=_latency(after.read_seconds - before.read_seconds, read_ops),
        write_latency_seconds=_latency(after.write_seconds - before.write_seconds, write_ops),
    )


def pool_io(state: ArrayState, performance: Performance) -> dict[int, IoCounters]:
    """Each pool's host I/O: the sum of its volumes', where the storage counts every one of
    them (a pool with an uncounted volume has no figure rather than a wrong one)."""
    by_pool: dict[int, list[IoCounters]] = {pool_id: [] for pool_id in state.pools}
    uncounted: set[int] = set()
    for volume in state.volumes.values():
        counters = performance.volumes.get(volume.id)
        if counters is None:
            uncounted.add(volume.pool_id)
        elif volume.pool_id in by_pool:
            by_pool[volume.pool_id].append(counters)
    return {pool_id: total_io(found) for pool_id, found in by_pool.items()
            if pool_id not in uncounted}


def array_io(state: ArrayState, performance: Performance) -> IoCounters | None:
    """The whole array's host I/O (every volume's), None where volumes are not counted."""
    if any(volume_id not in performance.volumes for volume_id in state.volumes):
        return None
    return total_io(performance.volumes[volume_id] for volume_id in state.volumes)
