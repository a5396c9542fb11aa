"""Serialized answers kept per state version: reads vastly outnumber changes on an array."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from opensan.service.array import ArrayService

# Log pages kept: those being read again and again (the first, a monitor's), not a whole walk.
MAX_PAGES = 64


class ReadCache:
    """Bytes of a GET answer, valid until the next change of the array; and the last log
    pages read."""

    def __init__(self, service: ArrayService) -> None:
        self._service = service
        self._lock = threading.Lock()
        self._version: tuple[int, int] = (-1, -1)
        self._entries: dict[Hashable, bytes] = {}
        self._pages: OrderedDict[Hashable, bytes] = OrderedDict()

    def get(self, key: Hashable, build: Callable[[], bytes]) -> bytes:
        # Read the version before building: a change during the build makes the entry
        # newer than its version, never older, so the next request simply rebuilds it.
        version = (self._service.version, self._service.observed.usage_generation)
        with self._lock:
            if version != self._version:
                self._entries.clear()
                self._version = version
            cached = self._entries.get(key)
        if cached is not None:
            return cached
        body = build()
        with self._lock:
            if version == self._version:
                self._entries[key] = body
        return body

    def page(self, key: Hashable, build: Callable[[], tuple[Hashable, bytes]]) -> bytes:
        """A log page's bytes. Its key names what the page holds (its number and the log's
        length: events are only ever appended), so nothing makes it stale; build answers the
        key of what it read with the bytes (the log may have grown since the key was made)."""
        with self._lock:
            cached = self._pages.get(key)
            if cached is not None:
                self._pages.move_to_end(key)
                return cached
        built_key, body = build()
        with self._lock:
            self._pages[built_key] = body
            self._pages.move_to_end(built_key)
            while len(self._pages) > MAX_PAGES:
                self._pages.popitem(last=False)
        return body
