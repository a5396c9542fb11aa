"""What the exporter reads from an array: the one interface between it and an API generation.

`ArraySource` is what the exporter asks of an array, each read answering the SDK's typed SANOS
objects. `SanosSource` reads a SANOS array (QSAN XCubeSAN or OpenSAN) through SanosClient;
`XevoSource` reads a XEVO array (QSAN's current API) through XevoClient, which answers the same
objects, and has only the reads XEVO can serve (docs/monitoring.md lists what it lacks).
`open_source` finds out which API an array speaks, as `opensan login` does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future
from os import PathLike
from typing import Any, Protocol

from opensan.client import Api, SanosClient, XevoAbout, XevoClient
from opensan.client.array import detect_api
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
    """The reads of one scrape; each may run in its own thread, at the same time as the others.

    The reads are the methods its `endpoints` name, each answering what families.BUILDERS
    builds from under that name: SanosSource's system, hardware, disks, smart, pools, volumes,
    targets, mappings and new_events; XevoSource's about, pools, volumes, targets, mappings."""

    @property
    def endpoints(self) -> Mapping[str, str]:
        """Read name (a method of the source) -> what it asks of the array (the `endpoint`
        label)."""
        ...

    @property
    def logins(self) -> int:
        """Logins this source made: one, unless the array ended the session."""
        ...

    def connect(self) -> None:
        """Log in unless a session is open (once, before a scrape's reads run together)."""
        ...

    def close(self) -> None: ...


class _CountingClient(SanosClient):
    """SanosClient that counts its logins (it logs in again by itself after a 401)."""

    logins = 0

    def login(self) -> Session:
        session = super().login()
        self.logins += 1
        return session


class _ClientReads:
    """The reads the SDK's clients of both API generations answer alike (as SANOS objects)."""

    _client: _CountingClient | _ScrapeClient

    @property
    def logins(self) -> int:
        return self._client.logins

    def pools(self) -> list[Pool]:
        return self._client.pools()

    def volumes(self) -> list[Volume]:
        return self._client.volumes()

    def targets(self) -> list[Target]:
        return self._client.targets()

    def mappings(self) -> list[LunMapping]:
        return self._client.lun_mappings()


class SanosSource(_ClientReads):
    """A SANOS array through the SDK: one session for the source's life, one request a read."""

    api = Api.SANOS
    _client: _CountingClient

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

    def new_events(self) -> list[Event]:
        """Events recorded since the last call that answered, oldest first; none on the first
        call (the exporter counts from its own start)."""
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


class _ScrapeClient(XevoClient):
    """XevoClient that counts its logins and sends each GET once a scrape.

    XEVO's reads share lists: a target's LUN count and the LUN mappings both come from the
    targets' LUN lists, a volume's RAID level from the pool list. The reads of one scrape run at
    the same time, so a GET another read has sent waits for that answer rather than asking
    the array again; `new_scrape` forgets the answers.
    """

    logins = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answers: dict[str, Future[Any]] = {}
        self._answers_lock = threading.Lock()

    def new_scrape(self) -> None:
        with self._answers_lock:
            self._answers = {}

    def _open_session(self) -> Any:
        # Every login goes through here: the first, and one after a refused refresh token.
        auth = super()._open_session()
        self.logins += 1
        return auth

    def _call(self, method: Any, path: str, **kwargs: Any) -> Any:
        if method != "GET":
            return super()._call(method, path, **kwargs)
        with self._answers_lock:
            answer = self._answers.get(path)
            sending = answer is None
            if answer is None:
                answer = self._answers[path] = Future()
        if sending:
            try:
                answer.set_result(super()._call(method, path, **kwargs))
            except Exception as error:  # the readers waiting for it get it too
                answer.set_exception(error)
        return answer.result()


class XevoSource(_ClientReads):
    """A XEVO array through the SDK: one session (refreshed on a 401, logged in again only when
    the refresh token is refused too), each of the array's lists asked for once a scrape.

    XEVO has no disk list, no S.M.A.R.T. and no event log: those families are not served.
    `about` gives the system's name, model, serial and firmware; `hardware_info` its health and
    the head unit's readings, named by name only (no sensor ID or location).
    A volume's snapshot figures cost two GETs each (XEVO lists none with the volume).
    """

    api = Api.XEVO
    _client: _ScrapeClient
    endpoints: Mapping[str, str] = {
        "about": "/rest/v1/about",
        "hardware_info": "/rest/v1/hardware/0/info?moreInfo=true",
        "pools": "/rest/v2/storage/pools",
        "volumes": "/rest/v2/storage/block/volumes",
        "targets": "/rest/v2/dataTransfer/targets",
        "mappings": "/rest/v2/dataTransfer/targets/{id}/luns/",
    }

    def __init__(self, url: str, account: str, password: str, *,
                 ca_file: str | PathLike[str] | None = None, timeout: float = 10.0) -> None:
        # As SanosSource's: one quick second attempt for a kept connection closed under it.
        self._client = _ScrapeClient(url, account, password, ca_file=ca_file, timeout=timeout,
                                     get_attempts=2, retry_backoff=0.05)

    def connect(self) -> None:
        """Log in unless a session is open; a new scrape asks the array afresh."""
        self._client.new_scrape()
        if self._client.token is None:
            self._client.login()

    def about(self) -> XevoAbout:
        return self._client.about()

    def hardware_info(self) -> HardwareMonitor:
        return self._client.hardware_monitor()

    def close(self) -> None:
        """Close the connections (XEVO has no call to end a session: it idles out)."""
        self._client.close()


class DetectingSource:
    """The source of the API the array speaks, found out (as `opensan login` does: two open
    GETs at most; OpenSAN, which speaks both, is read over SANOS, which has more) at the first
    scrape the array answers, so that an exporter started while its array is down, or with a
    certificate that does not verify, serves `opensan_exporter_up 0` with the reason in its log
    rather than exiting. Its endpoints are none until then."""

    def __init__(self, url: str, account: str, password: str, *,
                 ca_file: str | PathLike[str] | None = None, timeout: float = 10.0) -> None:
        self._url, self._account, self._password = url, account, password
        self._ca_file, self._timeout = ca_file, timeout
        self._source: SanosSource | XevoSource | None = None

    @property
    def api(self) -> Api | None:
        return None if self._source is None else self._source.api

    @property
    def endpoints(self) -> Mapping[str, str]:
        return {} if self._source is None else self._source.endpoints

    @property
    def logins(self) -> int:
        return 0 if self._source is None else self._source.logins

    def connect(self) -> None:
        if self._source is None:
            with XevoClient(self._url, ca_file=self._ca_file, timeout=self._timeout) as probe:
                api = detect_api(probe._http)
            kind = XevoSource if api is Api.XEVO else SanosSource
            self._source = kind(self._url, self._account, self._password,
                                ca_file=self._ca_file, timeout=self._timeout)
        self._source.connect()

    def __getattr__(self, name: str) -> Any:
        """The reads, of the source found (`endpoints` names them once it is)."""
        if name.startswith("_") or self._source is None:
            raise AttributeError(name)
        return getattr(self._source, name)

    def close(self) -> None:
        if self._source is not None:
            self._source.close()


def open_source(url: str, account: str, password: str, *, api: Api | None = None,
                ca_file: str | PathLike[str] | None = None,
                timeout: float = 10.0) -> SanosSource | XevoSource | DetectingSource:
    """The source of `api`; None: of the API the array speaks (DetectingSource)."""
    kinds: dict[Api | None, type[SanosSource | XevoSource | DetectingSource]] = {
        Api.SANOS: SanosSource, Api.XEVO: XevoSource, None: DetectingSource}
    return kinds[api](url, account, password, ca_file=ca_file, timeout=timeout)


def reads(source: ArraySource) -> dict[str, Callable[[], Any]]:
    """Each read of the source by its name."""
    return {name: getattr(source, name) for name in source.endpoints}
