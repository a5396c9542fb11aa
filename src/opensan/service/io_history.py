"""The I/O counters as the periodic tick read them, kept for rates now and over a window.

A reading is kept whole (every volume, disk and port), so the history is thinned: the last two
readings always (their difference is "now"), and before them one every KEEP_EVERY_SECONDS of
the array clock for MAX_WINDOW_SECONDS. A window's rates are taken from the newest kept reading
at least that old, so they cover the window asked or a little more, and say how long.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable

from opensan.domain.measured import Performance

log = logging.getLogger("opensan")

MAX_WINDOW_SECONDS = 300
KEEP_EVERY_SECONDS = 15.0


class IoHistory:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._kept: deque[Performance] = deque()  # oldest first; the newest is the latest
        self._listeners: list[Callable[[Performance], None]] = []

    def subscribe(self, listener: Callable[[Performance], None]) -> None:
        """Call listener with each reading kept (in the thread that read it)."""
        self._listeners.append(listener)

    def add(self, reading: Performance) -> bool:
        """Keep a reading; one older than the latest, or from another counting (the backend
        started counting again), replaces nothing it should not: False when it was dropped."""
        with self._lock:
            if self._kept:
                latest = self._kept[-1]
                if reading.since != latest.since:
                    self._kept.clear()
                elif reading.taken_at < latest.taken_at:
                    return False
            # The latest becomes the one before it ("now"); the one before that stays only
            # if it is a window's reading, KEEP_EVERY_SECONDS after the one it follows.
            if len(self._kept) >= 3 and \
                    self._kept[-2].taken_at - self._kept[-3].taken_at < KEEP_EVERY_SECONDS:
                del self._kept[-2]
            self._kept.append(reading)
            horizon = reading.taken_at - MAX_WINDOW_SECONDS
            while len(self._kept) > 2 and self._kept[1].taken_at <= horizon:
                self._kept.popleft()
        for listener in self._listeners:
            try:
                listener(reading)
            except Exception:  # a listener's failure must not fail the tick
                log.exception("A listener of the I/O counters failed")
        return True

    @property
    def latest(self) -> Performance | None:
        with self._lock:
            return self._kept[-1] if self._kept else None

    def pair(self, window: float | None) -> tuple[Performance, Performance] | None:
        """(earlier, latest): the last two readings when window is None ("now"), else the
        latest and the newest reading at least window seconds older (or the oldest kept).
        None until there are two readings apart in time."""
        with self._lock:
            if len(self._kept) < 2:
                return None
            latest = self._kept[-1]
            if window is None:
                earlier = self._kept[-2]
            else:
                earlier = next((r for r in reversed(self._kept)
                                if r.taken_at <= latest.taken_at - window), self._kept[0])
            if earlier.taken_at >= latest.taken_at:
                return None
            return earlier, latest
