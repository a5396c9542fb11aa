"""What the exporter reads from an array: the one interface between it and an API generation.

`ArraySource` is everything the exporter asks of an array, each read answering the SDK's typed
SANOS objects. `SanosSource` reads a SANOS array (QSAN XCubeSAN or OpenSAN) through
SanosClient; a source for QSAN's XEVO API would answer the same objects from its own reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from os import PathLike
from typing import Any, Protocol

from opensan.client import SanosClient
from opensan.client.models import (
    Disk,
    DiskSmart,
    Event,
    HardwareMonitor,
    LunMapping,
    Pool,
    Session,
    SystemInfo,
    Target,
    Volume,
)


class ArraySource(Protocol):
    """The reads of one scrape; each may run in its own thread, at the same time as the others."""

    # Read name (a method below) -> what it asks of the array (the `endpoint` label).
    endpoints: Mapping[str, str]

    @property
    def logins(self) -> int:
        """Logins this source made: one, unless the array ended the session."""
        ...

    def connect(self) -> None:
        """Log in unless a session is open (once, before a scrape's reads run together)."""
        ...

    def system(self) -> SystemInfo: ...
    def hardware(self) -> HardwareMonitor: ...
    def disks(self) -> list[Disk]: ...
    def smart(self) -> list[DiskSmart]: ...
    def pools(self) -> list[Pool]: ...
    def volumes(self) -> list[Volume]: ...
    def targets(self) -> list[Target]: ...
    def mappings(self) -> list[LunMapping]: ...

    def new_events(self) -> list[Event]:
        """Events recorded since the last call that answered, oldest first; none on the first
        call (the exporter counts from its own start)."""
        ...

    def close(self) -> None: ...


class _CountingClient(SanosClient):
    """SanosClient that counts its logins (it logs in again by itself after a 401)."""

    logins = 0

    def login(self) -> Session:
        session = super().login()
        self.logins += 1
        return session


class SanosSource:
    """A SANOS array through the SDK: one session for the source's life, one request a read."""

    endpoints: Mapping[str, str] = {
        "system": "/rest/dashboard/systeminfo",
        "hardware": "/rest/dashboard/hwmonitor",
        "disks": "/rest/storage/diskinfo",
        "smart": "/rest/storage/disksmart",
        "pools": "/rest/storage/poolinfo",
        "volumes": "/rest/storage/volumeinfo",
        "targets": "/rest/storage/availtarget",
        "mappings": "/rest/storage/lunmappinginfo",
        "new_events": "/rest/log/list",
    }

    def __init__(self, url: str, account: str, password: str, *,
                 ca_file: str | PathLike[str] | None = None, timeout: float = 10.0) -> None:
        # A second attempt, soon, for a kept connection the array closed just as it was used
        # (arrays close idle ones within seconds; scrapes come every 15 s or so); beyond that
        # the next scrape is the retry.
        self._client = _CountingClient(url, account, password, ca_file=ca_file, timeout=timeout,
                                       get_attempts=2, retry_backoff=0.05)
        self._newest_event: int | None = None

    @property
    def logins(self) -> int:
        return self._client.logins

    def connect(self) -> None:
        if self._client.token is None:
            self._client.login()

    def system(self) -> SystemInfo:
        return self._client.system_info()

    def hardware(self) -> HardwareMonitor:
        return self._client.hardware_monitor()

    def disks(self) -> list[Disk]:
        return self._client.disks()

    def smart(self) -> list[DiskSmart]:
        return self._client.disk_smart()

    def pools(self) -> list[Pool]:
        return self._client.pools()

    def volumes(self) -> list[Volume]:
        return self._client.volumes()

    def targets(self) -> list[Target]:
        return self._client.targets()

    def mappings(self) -> list[LunMapping]:
        return self._client.lun_mappings()

    def new_events(self) -> list[Event]:
        if self._newest_event is None:
            page = self._client.events(1)
            self._newest_event = max((e.id for e in page.events), default=0)
            return []
        found = self._client.events_since(self._newest_event)
        if found:
            self._newest_event = found[-1].id
        return found

    def close(self) -> None:
        """End the session on the array and close the connections."""
        self._client.__exit__(None, None, None)


def reads(source: ArraySource) -> dict[str, Callable[[], Any]]:
    """Each read of the source by its name."""
    return {name: getattr(source, name) for name in source.endpoints}
