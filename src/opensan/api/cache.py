"""Serialized answers kept per state version: reads vastly outnumber changes on an array."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable

from opensan.service.array import ArrayService


class ReadCache:
    """Bytes of a GET answer, valid until the next change of the array."""

    def __init__(self, service: ArrayService) -> None:
        self._service = service
        self._lock = threading.Lock()
        self._version: tuple[int, int] = (-1, -1)
        self._entries: dict[Hashable, bytes] = {}

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
