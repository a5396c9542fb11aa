"""The array's performance as the API and the CLI show it: IOPS, throughput and latency of the
array, its pools, volumes, disks and ports, now (between the last two readings of the counters)
and over a window (io_history.py). Only counters the storage keeps are shown: an object the
backend does not count has no figures, never zeros."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

from opensan.domain import performance
from opensan.domain.errors import InvalidArgument
from opensan.domain.measured import IoCounters, Performance
from opensan.domain.models import Disk, Pool, Volume
from opensan.domain.performance import IoRates
from opensan.service.io_history import MAX_WINDOW_SECONDS
from opensan.service.parts import Parts

DEFAULT_WINDOW_SECONDS = 60
Key = TypeVar("Key", int, str)


@dataclass(frozen=True)
class Figures:
    """One object's rates now and over the window; None where there is no figure (not
    counted, or not two readings yet)."""

    now: IoRates | None
    window: IoRates | None


NO_FIGURES = Figures(None, None)


@dataclass(frozen=True)
class Port:
    address: str  # the portal, host:port
    controller: int | None


@dataclass(frozen=True)
class Report:
    """The figures of every object the storage counts, in the order the API lists them."""

    taken_at: float | None  # the latest reading (array clock), None before the first
    counting_since: float | None
    window_seconds: int  # the window asked for (the figures say what they cover)
    array: Figures
    pools: list[tuple[Pool, Figures]]
    volumes: list[tuple[Volume, Figures]]
    disks: list[tuple[Disk, Figures]]
    ports: list[tuple[Port, Figures]]


def _rates(pair: tuple[Performance, Performance] | None, before: IoCounters | None,
           after: IoCounters | None) -> IoRates | None:
    if pair is None or before is None or after is None:
        return None
    return performance.rates(before, after, pair[1].taken_at - pair[0].taken_at)


def _by_key(now: tuple[Performance, Performance] | None,
            window: tuple[Performance, Performance] | None,
            counters: Mapping[Key, IoCounters],
            earlier: tuple[Mapping[Key, IoCounters], Mapping[Key, IoCounters]]) -> dict[Key, Figures]:
    return {key: Figures(_rates(now, earlier[0].get(key), value),
                         _rates(window, earlier[1].get(key), value))
            for key, value in counters.items()}


class PerformanceFigures:
    def __init__(self, parts: Parts) -> None:
        self._parts = parts

    def report(self, window_seconds: int = DEFAULT_WINDOW_SECONDS) -> Report:
        """Raises InvalidArgument for a window out of 1..MAX_WINDOW_SECONDS."""
        if not 1 <= window_seconds <= MAX_WINDOW_SECONDS:
            raise InvalidArgument(f"The window is 1 to {MAX_WINDOW_SECONDS} seconds, got "
                                  f"{window_seconds}.")
        history = self._parts.observed.io
        latest = history.latest
        state = self._parts.state
        if latest is None:
            return Report(None, None, window_seconds, NO_FIGURES, [], [], [], [])
        now, window = history.pair(None), history.pair(window_seconds)
        starts = (now[0] if now else latest, window[0] if window else latest)

        def figures(of: Performance) -> tuple[IoCounters | None, dict[int, IoCounters]]:
            return performance.array_io(state, of), performance.pool_io(state, of)

        (array_now, pools_now), (array_start, pools_start) = figures(latest), figures(starts[0])
        array_window, pools_window = figures(starts[1])
        pools = _by_key(now, window, pools_now, (pools_start, pools_window))
        volumes = _by_key(now, window, latest.volumes, (starts[0].volumes, starts[1].volumes))
        disks = _by_key(now, window, latest.disks, (starts[0].disks, starts[1].disks))
        ports = _by_key(now, window, latest.ports, (starts[0].ports, starts[1].ports))
        controllers = {port: t.controller for t in state.targets.values() for port in t.portals}
        return Report(
            taken_at=latest.taken_at, counting_since=latest.since, window_seconds=window_seconds,
            array=Figures(_rates(now, array_start, array_now),
                          _rates(window, array_window, array_now)),
            pools=[(p, pools[p.id]) for p in sorted(state.pools.values(),
                                                    key=lambda p: (p.created_at, p.id))
                   if p.id in pools],
            volumes=[(v, volumes[v.id]) for v in sorted(state.volumes.values(),
                                                        key=lambda v: (v.created_at, v.id))
                     if v.id in volumes],
            disks=[(d, disks[d.id]) for d in sorted(state.disks.values(),
                                                    key=lambda d: (d.enclosure_id, d.slot))
                   if d.id in disks],
            ports=[(Port(address, controllers.get(address)), ports[address])
                   for address in sorted(ports)],
        )

    def latest(self) -> Performance | None:
        """The latest reading of the counters, for /metrics."""
        return self._parts.observed.io.latest
