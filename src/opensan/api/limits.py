"""The limits that keep the server responsive under abuse, and the gate of password checks.

Every limit has a default that suits a management port and can be set from OPENSAN_*
variables (config.py); docs/security.md lists them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from opensan.domain.errors import Busy

RETRY_AFTER_SECONDS = 1


@dataclass(frozen=True)
class ServerLimits:
    # A SANOS request body holds a few parameters; nothing legitimate comes near this.
    max_body_bytes: int = 64 * 1024
    # From a connection (or the end of the last answer on it) to the request's last header.
    header_timeout_seconds: float = 10.0
    # Keep-alive between requests, and the longest pause while a body arrives.
    idle_timeout_seconds: float = 5.0
    max_connections: int = 512
    # scrypt needs 16 MiB and tens of milliseconds of a core per check: a few at a time.
    login_concurrency: int = 2
    login_queue: int = 32
    login_wait_seconds: float = 5.0
    # Where X-Forwarded-For is believed; empty: the client is the socket's peer.
    trusted_proxies: tuple[str, ...] = ()


class LoginGate:
    """At most `concurrency` password checks run at once; a few more wait briefly, and the
    rest are told to come back (503 with Retry-After), so a login storm cannot take the
    memory and the cores from everyone else."""

    def __init__(self, concurrency: int, queue: int, wait_seconds: float) -> None:
        self._slots = asyncio.Semaphore(concurrency)
        self._waiting = 0
        self._queue = queue
        self._wait_seconds = wait_seconds

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if not self._slots.locked():
            await self._slots.acquire()  # a free slot is taken at once, without yielding
        elif self._waiting >= self._queue:
            raise self._busy()
        else:
            self._waiting += 1
            started = time.monotonic()
            try:
                await asyncio.wait_for(self._slots.acquire(), self._wait_seconds)
            except TimeoutError:
                raise self._busy(time.monotonic() - started) from None
            finally:
                self._waiting -= 1
        try:
            yield
        finally:
            self._slots.release()

    def _busy(self, waited: float = 0.0) -> Busy:
        return Busy(f"Too many logins at once{f' (waited {waited:.1f} s)' if waited else ''}; "
                    "try again in a moment.", RETRY_AFTER_SECONDS)
