"""How the array's own work goes: how long each periodic tick and each backend measurement
takes, and how often it fails. Kept as counts and sums since the server started, so that
monitoring takes rates and averages from them (docs/monitoring.md)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

# What is timed: the tick, and the backend's measurements within it (and after changes).
TICK = "tick"
READ_HARDWARE = "read_hardware"
MEASURE_USAGE = "measure_usage"
READ_PERFORMANCE = "read_performance"
OPERATIONS = (TICK, READ_HARDWARE, MEASURE_USAGE, READ_PERFORMANCE)


@dataclass(frozen=True)
class OperationStats:
    count: int = 0
    seconds: float = 0.0
    errors: int = 0
    last_success: float | None = None  # unix time


class Telemetry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stats = {name: OperationStats() for name in OPERATIONS}

    @contextmanager
    def timed(self, operation: str) -> Iterator[None]:
        """Count the block as one run of operation, and as an error if it raises."""
        started = time.perf_counter()
        failed = True
        try:
            yield
            failed = False
        finally:
            elapsed = time.perf_counter() - started
            with self._lock:
                stats = self._stats[operation]
                self._stats[operation] = replace(
                    stats, count=stats.count + 1, seconds=stats.seconds + elapsed,
                    errors=stats.errors + failed,
                    last_success=stats.last_success if failed else time.time())

    def stats(self) -> dict[str, OperationStats]:
        with self._lock:
            return dict(self._stats)
