"""SanosClient: one typed method per endpoint of the SANOS RESTful API and OpenSAN's extensions.

Sessions are handled the way arrays behave: the client logs in on its first call, and when the
array answers 401 (the session idled out, was logged out, or the array restarted) it logs in once
more and sends the request again. That is safe for a POST too: a 401 means the array refused the
request before acting on it, so sending it again after the login is its first execution, not a
repetition. A POST that failed any other way (the connection dropped, a time-out) is never sent
again by the client, because nobody can tell whether the array made the change. GETs change
nothing, so they are retried on connection errors, with exponential backoff.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
import time
import warnings
from collections.abc import Callable
from contextlib import suppress
from functools import cache
from os import PathLike
from types import TracebackType
from typing import TYPE_CHECKING, Any, BinaryIO, ClassVar, Literal, TypeVar
from urllib.parse import quote

import httpx

from opensan.client.api import Api
from opensan.client.errors import (
    AuthenticationError,
    ConnectionFailed,
    InvalidUrl,
    NotFound,
    SanosError,
    TlsError,
    UnexpectedResponse,
    error_from_response,
)

if TYPE_CHECKING:
    from pydantic import TypeAdapter, ValidationError

    from opensan.client import models as models


class _ModelsWhenUsed:
    """`opensan.client.models`, imported when one of its names is first used: the models and
    pydantic take longer to import than a CLI command takes to answer, and RawReads and the
    CLI's `--json` need neither. A plain import, so that the first parses of two threads wait for
    one module, as the import system's lock makes them."""

    def __getattr__(self, name: str) -> Any:
        import opensan.client.models as imported

        return getattr(imported, name)


if not TYPE_CHECKING:
    models = _ModelsWhenUsed()

log = logging.getLogger("opensan.client")

Model = TypeVar("Model", bound="models.SanosObject")
Method = Literal["GET", "POST"]
Provision = Literal["thick", "thin"]


class _PasswordRedaction(logging.Filter):
    """The manual puts the password in the login path, and httpx logs each URL at INFO level."""

    _SEGMENT = re.compile(r"(/password/)[^/\s\"?]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(self._redacted(arg) for arg in record.args)
        return True

    def _redacted(self, arg: object) -> object:
        text = str(arg)
        redacted = self._SEGMENT.sub(r"\1***", text)
        return arg if redacted == text else redacted


logging.getLogger("httpx").addFilter(_PasswordRedaction())


class InsecureTlsWarning(UserWarning):
    """TLS certificate verification is off: anyone on the path can read the session token."""


@cache
def _list_of(kind: type[models.SanosObject]) -> TypeAdapter[list[Any]]:
    from pydantic import TypeAdapter

    return TypeAdapter(list[kind])  # type: ignore[valid-type]


def _path(prefix: str, **params: object) -> str:
    """The manual's key/value path; values percent-encoded, so `/` in a name or IQN is safe."""
    parts = [prefix]
    for key, value in params.items():
        if value is None:
            continue
        text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
        parts += [key, quote(text, safe="")]
    return "/".join(parts)


def _tls_cause(error: BaseException) -> ssl.SSLError | None:
    """The ssl error behind an httpx error, if the failure was TLS (httpx wraps it)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class RawReads:
    """SanosClient's reads, answering the array's JSON as it came, with no model built (nor
    pydantic imported): for a caller that passes the answer on, as `opensan ... --json` does.

    `array.raw.volumes()` is `array.volumes()` unparsed, on the same session; the typed reads
    parse these, so each path is written once, here.
    """

    def __init__(self, call: Callable[..., Any]) -> None:
        self._call = call

    def accounts(self) -> Any:
        return self._call("GET", "/rest/account/accountinfo")

    def endpoints(self) -> Any:
        return self._call("GET", "/rest/", public=True)

    def system_info(self) -> Any:
        return self._call("GET", "/rest/dashboard/systeminfo")

    def hardware_monitor(self) -> Any:
        return self._call("GET", "/rest/dashboard/hwmonitor")

    def events(self, page: int = 1) -> Any:
        return self._call("GET", f"/rest/log/list/{int(page)}")

    def disks(self) -> Any:
        return self._call("GET", "/rest/storage/diskinfo")

    def disk_smart(self) -> Any:
        return self._call("GET", "/rest/storage/disksmart")

    def pools(self) -> Any:
        return self._call("GET", "/rest/storage/poolinfo")

    def volumes(self) -> Any:
        return self._call("GET", "/rest/storage/volumeinfo")

    def snapshots(self, volume_id: int) -> Any:
        return self._call("GET", _path("/rest/storage/snapshot", vdid=volume_id))

    def targets(self) -> Any:
        return self._call("GET", "/rest/storage/availtarget")

    def target_luns(self, target_id: int) -> Any:
        # The manual's own path, without /rest, so that real arrays answer it too.
        return self._call("GET", _path("/storage/availlun", targetid=target_id))

    def lun_mappings(self) -> Any:
        return self._call("GET", "/rest/storage/lunmappinginfo")

    def array_performance(self, window: int | None = None) -> Any:
        return self._call("GET", _path("/rest/performance/array", window=window))

    def pool_performance(self, window: int | None = None) -> Any:
        return self._call("GET", _path("/rest/performance/pool", window=window))

    def volume_performance(self, window: int | None = None) -> Any:
        return self._call("GET", _path("/rest/performance/volume", window=window))

    def disk_performance(self, window: int | None = None) -> Any:
        return self._call("GET", _path("/rest/performance/disk", window=window))

    def port_performance(self, window: int | None = None) -> Any:
        return self._call("GET", _path("/rest/performance/port", window=window))

    def workloads(self) -> Any:
        return self._call("GET", "/rest/sim/workloadinfo")


class SanosClient:
    """A session with one SANOS array (a QSAN XCubeSAN or OpenSAN).

    Give `account` and `password` to let the client log in by itself, and again whenever the
    session expires; or give only `token` (from an earlier login) and it uses that session until
    it ends. Use it as a context manager to end the session and close connections at the end.
    """

    api: ClassVar[Api] = Api.SANOS

    def __init__(
        self,
        base_url: str,
        account: str = "admin",
        password: str | None = None,
        *,
        token: str | None = None,
        verify: bool = True,
        ca_file: str | PathLike[str] | None = None,
        timeout: float = 30.0,
        get_attempts: int = 3,
        retry_backoff: float = 0.5,
    ) -> None:
        self.base_url = checked_url(base_url)
        self.account = account
        self.role: str | None = None
        self._password = password
        self._token = token
        self._opened_session = False
        self._get_attempts = max(1, get_attempts)
        self._retry_backoff = retry_backoff
        self._timeout = timeout
        self._login_lock = threading.Lock()
        self._http = httpx.Client(base_url=self.base_url, timeout=timeout,
                                  verify=verification(self.base_url, verify, ca_file))
        # The reads unparsed: the array's JSON as it came (RawReads).
        self.raw = RawReads(self._call)

    def __repr__(self) -> str:
        return f"SanosClient({self.base_url!r}, account={self.account!r})"

    def __enter__(self) -> SanosClient:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if self._opened_session:
            # Best effort: a session that cannot be ended now idles out on the array anyway, and
            # an error here must not hide the one that is leaving the with-block.
            with suppress(SanosError):
                self.logout()
        self.close()

    def close(self) -> None:
        """Close the connections (the session stays open on the array; see logout())."""
        self._http.close()

    @property
    def token(self) -> str | None:
        """The session token in use, None before the first login."""
        return self._token

    # Sessions

    def login(self) -> models.Session:
        """Open a session with the account and password given to the client."""
        if self._password is None:
            raise AuthenticationError("No password was given to the client, so it cannot log in.",
                                      status=None)
        data = self._call("POST", _path("/rest/login", account=self.account,
                                        password=self._password), public=True)
        session = self._parse(models.Session, data)
        self._token, self.role, self._opened_session = session.access_token, session.role, True
        return session

    def logout(self) -> None:
        """End the session on the array; a session that already ended is not an error."""
        token, self._token = self._token, None
        self._opened_session = False
        if token is None:
            return
        response = self._transmit("POST", "/rest/logout", token)
        if response.status_code != 401:
            self._decode(response)

    def set_password(self, account: str, new_password: str) -> None:
        """Set an account's password (admin only); the array ends that account's other sessions."""
        self._call("POST", _path("/rest/account/setpassword", account=account,
                                 password=new_password))
        if account == self.account and self._password is not None:
            self._password = new_password

    # Accounts (OpenSAN's extension; administrators only)

    def accounts(self) -> list[models.Account]:
        return self._parse_list(models.Account, self.raw.accounts())

    def create_account(self, account: str, role: Literal["admin", "user"],
                       password: str) -> models.Account:
        """A new administrator ("admin") or read-only account ("user") with its password."""
        return self._parse(models.Account, self._call("POST", _path(
            "/rest/account/create", account=account, role=role, password=password)))

    def disable_account(self, account: str) -> models.Account:
        """The account can no longer log in, and its sessions end at once."""
        return self._parse(models.Account, self._call("POST", _path("/rest/account/disable",
                                                             account=account)))

    def enable_account(self, account: str) -> models.Account:
        return self._parse(models.Account, self._call("POST", _path("/rest/account/enable",
                                                             account=account)))

    def delete_account(self, account: str) -> models.Account:
        """Delete the account (the answer is the account as it was); its sessions end."""
        return self._parse(models.Account, self._call("POST", _path("/rest/account/delete",
                                                             account=account)))

    # The manual's reads

    def endpoints(self) -> list[models.ApiEndpoint]:
        """`GET /rest/`: every endpoint this array serves (needs no session)."""
        return self._parse_list(models.ApiEndpoint, self.raw.endpoints())

    def system_info(self) -> models.SystemInfo:
        return self._parse(models.SystemInfo, self.raw.system_info())

    def hardware_monitor(self) -> models.HardwareMonitor:
        return self._parse(models.HardwareMonitor, self.raw.hardware_monitor())

    def events(self, page: int = 1) -> models.EventPage:
        """One page of the event log; page 1 holds the newest events."""
        return self._parse(models.EventPage, self.raw.events(page))

    def events_since(self, event_id: int) -> list[models.Event]:
        """Every event newer than `event_id`, oldest first: what a monitor has not seen yet."""
        found: dict[int, models.Event] = {}
        page = 1
        while True:
            answer = self.events(page)
            found.update((e.id, e) for e in answer.events if e.id > event_id)
            if (not answer.events or answer.events[-1].id <= event_id
                    or page >= answer.total_pages):
                return [found[i] for i in sorted(found)]
            page += 1

    def disks(self) -> list[models.Disk]:
        return self._parse_list(models.Disk, self.raw.disks())

    def disk_smart(self) -> list[models.DiskSmart]:
        return self._parse_list(models.DiskSmart, self.raw.disk_smart())

    def pools(self) -> list[models.Pool]:
        return self._parse_list(models.Pool, self.raw.pools())

    def volumes(self) -> list[models.Volume]:
        return self._parse_list(models.Volume, self.raw.volumes())

    def volume(self, volume_id: int) -> models.Volume:
        """One volume (from the volume list: SANOS has no call for one)."""
        for found in self.volumes():
            if found.id == volume_id:
                return found
        raise NotFound(f"No volume has ID {volume_id}.")

    def snapshots(self, volume_id: int) -> models.VolumeSnapshots:
        """A volume's snapshot space and its snapshots."""
        return self._parse(models.VolumeSnapshots, self.raw.snapshots(volume_id))

    def targets(self) -> list[models.Target]:
        return self._parse_list(models.Target, self.raw.targets())

    def target_luns(self, target_id: int) -> models.TargetLuns:
        return self._parse(models.TargetLuns, self.raw.target_luns(target_id))

    def lun_mappings(self) -> list[models.LunMapping]:
        return self._parse_list(models.LunMapping, self.raw.lun_mappings())

    def download_service_package(self, destination: BinaryIO) -> int:
        """Write the service package (a zip for technical support; admin only) to
        `destination` as it arrives, and answer how many bytes that was. An OpenSAN extension
        (real arrays offer it in their web UI). Never retried: part of it may be written."""
        return self._download("/rest/system/servicepackage", destination)

    # Extensions: performance (IOPS, MB/s, latency now and over a window of seconds)

    def array_performance(self, window: int | None = None) -> models.ArrayPerformance:
        return self._parse(models.ArrayPerformance, self.raw.array_performance(window))

    def pool_performance(self, window: int | None = None) -> list[models.PoolPerformance]:
        return self._parse_list(models.PoolPerformance, self.raw.pool_performance(window))

    def volume_performance(self, window: int | None = None) -> list[models.VolumePerformance]:
        """The volumes the array counts I/O for (on Linux: none; see docs/linux.md)."""
        return self._parse_list(models.VolumePerformance, self.raw.volume_performance(window))

    def disk_performance(self, window: int | None = None) -> list[models.DiskPerformance]:
        return self._parse_list(models.DiskPerformance, self.raw.disk_performance(window))

    def port_performance(self, window: int | None = None) -> list[models.PortPerformance]:
        return self._parse_list(models.PortPerformance, self.raw.port_performance(window))

    # The manual's changes

    def set_snapshot_space(self, volume_id: int, size_gb: int) -> models.SnapshotSpace:
        """Set a volume's snapshot space in GiB; 0 removes it (refused while snapshots exist)."""
        return self._parse(models.SnapshotSpace, self._call(
            "POST", _path("/rest/storage/snapspace", vdid=volume_id, sizegb=size_gb)))

    def take_snapshot(self, volume_id: int, name: str | None = None) -> models.Snapshot:
        """Take a snapshot; without a name the array makes one from the time."""
        return self._parse(models.Snapshot, self._call(
            "POST", _path("/rest/storage/snapshot", vdid=volume_id, name=name)))

    def map_lun(self, target_id: int, lun: int, volume_id: int, permission: Literal["rw", "ro"] = "rw",
                hosts: list[str] | None = None) -> models.LunMapping:
        """Map a volume at a LUN of a target; `hosts` are initiator IQNs (default: every host)."""
        return self._parse(models.LunMapping, self._call("POST", _path(
            "/rest/storage/maplun", targetid=target_id, lun=lun, vdid=volume_id,
            permission=permission, host=hosts or None)))

    def unmap_lun(self, target_id: int, lun: int) -> models.LunMapping:
        """Unmap a LUN; answers the mapping that was removed."""
        return self._parse(models.LunMapping, self._call(
            "POST", _path("/rest/storage/unmaplun", targetid=target_id, lun=lun)))

    # Extensions: pools, volumes, snapshots, targets, spares

    def map_snapshot(self, target_id: int, lun: int, snapshot_id: int,
                     hosts: list[str] | None = None) -> models.LunMapping:
        """Map a snapshot, always read-only, at a LUN of a target (e.g. for a backup host)."""
        return self._parse(models.LunMapping, self._call("POST", _path(
            "/rest/storage/mapsnapshot", targetid=target_id, lun=lun, snapid=snapshot_id,
            host=hosts or None)))

    def create_pool(self, name: str, raid_level: str | int, disk_ids: list[int],
                    provision: Provision | None = None, *, force: bool = False) -> models.Pool:
        """Create a pool from free disks; `raid_level` as 6 or "RAID 6"; thick by default.

        `force` lets a backend use disks that hold a file system (their data is lost).
        """
        return self._parse(models.Pool, self._call("POST", _path(
            "/rest/storage/createpool", name=name, raidlevel=raid_level, diskids=disk_ids,
            type=provision, force="yes" if force else None)))

    def add_pool_disks(self, pool_id: int, disk_ids: list[int]) -> models.Pool:
        return self._parse(models.Pool, self._call("POST", _path(
            "/rest/storage/addpooldisk", poolid=pool_id, diskids=disk_ids)))

    def delete_pool(self, pool_id: int) -> models.Pool:
        return self._parse(models.Pool, self._call("POST", _path("/rest/storage/deletepool",
                                                          poolid=pool_id)))

    def create_volume(self, pool_id: int, name: str, size_gb: int,
                      provision: Provision | None = None) -> models.Volume:
        """Create a volume; without `provision` it takes the pool's type."""
        return self._parse(models.Volume, self._call("POST", _path(
            "/rest/storage/createvolume", poolid=pool_id, name=name, sizegb=size_gb,
            provision=provision)))

    def clone_volume(self, volume_id: int, name: str, pool_id: int | None = None,
                     snapshot_id: int | None = None) -> models.Volume:
        """A new volume with the data of the volume (or of its snapshot `snapshot_id`), in
        `pool_id` (the source's by default); it is Initiating until its copy is done."""
        return self._parse(models.Volume, self._call("POST", _path(
            "/rest/storage/clonevolume", vdid=volume_id, name=name, poolid=pool_id,
            snapid=snapshot_id)))

    def extend_volume(self, volume_id: int, size_gb: int) -> models.Volume:
        """Grow a volume to `size_gb` GiB (volumes never shrink)."""
        return self._parse(models.Volume, self._call("POST", _path(
            "/rest/storage/extendvolume", vdid=volume_id, sizegb=size_gb)))

    def delete_volume(self, volume_id: int) -> models.Volume:
        return self._parse(models.Volume, self._call("POST", _path("/rest/storage/deletevolume",
                                                            vdid=volume_id)))

    def delete_snapshot(self, snapshot_id: int | str,
                        volume_id: int | None = None) -> models.Snapshot:
        """Delete a snapshot, by its ID, or by its name within `volume_id`."""
        return self._parse(models.Snapshot, self._call("POST", _path(
            "/rest/storage/deletesnapshot", snapid=self._snapshot_id(snapshot_id, volume_id))))

    def rollback_snapshot(self, snapshot_id: int | str,
                          volume_id: int | None = None) -> models.Snapshot:
        """Roll the volume back to this snapshot (its ID, or its name within `volume_id`); the
        snapshots taken after it are deleted."""
        return self._parse(models.Snapshot, self._call("POST", _path(
            "/rest/storage/rollback", snapid=self._snapshot_id(snapshot_id, volume_id))))

    def _snapshot_id(self, snapshot: int | str, volume_id: int | None) -> int:
        """A snapshot's ID; a name is looked up among the volume's snapshots (names are unique
        within a volume only)."""
        if isinstance(snapshot, int) or (snapshot.isascii() and snapshot.isdigit()):
            return int(snapshot)
        if volume_id is None:
            raise ValueError(f"snapshot {snapshot!r} is a name: give its volume_id too")
        for found in self.snapshots(volume_id).snapshots:
            if found.name == snapshot:
                return int(found.id)
        raise NotFound(f"Volume {volume_id} has no snapshot named {snapshot!r}.")

    def create_target(self, controller: int, node: int | None = None,
                      name: str | None = None) -> models.Target:
        return self._parse(models.Target, self._call("POST", _path(
            "/rest/storage/createtarget", controller=controller, node=node, name=name)))

    def delete_target(self, target_id: int) -> models.Target:
        return self._parse(models.Target, self._call("POST", _path("/rest/storage/deletetarget",
                                                            targetid=target_id)))

    def set_spare(self, disk_ids: list[int], spare_type: Literal["global", "dedicated", "free"],
                  pool_id: int | None = None) -> list[models.Disk]:
        """Make disks global or dedicated (to `pool_id`) spares, or free them again."""
        return self._parse_list(models.Disk, self._call("POST", _path(
            "/rest/storage/setspare", diskids=disk_ids, type=spare_type, poolid=pool_id)))

    # Extensions of the virtual array: fault injection, time, host I/O

    def fail_disk(self, disk_id: int) -> models.Disk:
        return self._parse(models.Disk, self._call("POST", _path("/rest/sim/faildisk", diskid=disk_id)))

    def replace_disk(self, disk_id: int) -> models.Disk:
        return self._parse(models.Disk, self._call("POST", _path("/rest/sim/replacedisk",
                                                          diskid=disk_id)))

    def set_sensor_status(self, sensor_id: str,
                          status: Literal["good", "warning", "failed"]) -> None:
        self._call("POST", _path("/rest/sim/sensor", sensor=sensor_id, status=status))

    def set_change_latency(self, milliseconds: int) -> None:
        self._call("POST", _path("/rest/sim/latency", ms=milliseconds))

    def set_read_latency(self, milliseconds: int) -> None:
        self._call("POST", _path("/rest/sim/readlatency", ms=milliseconds))

    def advance_clock(self, seconds: int) -> models.ArrayClock:
        """Move the array clock on; sessions idle out on this clock too, and the client copes."""
        return self._parse(models.ArrayClock, self._call("POST", _path("/rest/sim/clock",
                                                                seconds=seconds)))

    def host_write(self, volume_id: int, size_gb: int) -> models.Volume:
        return self._parse(models.Volume, self._call("POST", _path("/rest/sim/hostwrite",
                                                            vdid=volume_id, sizegb=size_gb)))

    def workloads(self) -> list[models.VolumeWorkload]:
        """The workload the hosts of each volume run on the virtual array."""
        return self._parse_list(models.VolumeWorkload, self.raw.workloads())

    def set_workload(self, volume_id: int, iops: int | None = None,
                     read_percent: int | None = None, block_kb: int | None = None) -> models.VolumeWorkload:
        """Set what a volume's hosts ask of the virtual array; figures left out stay."""
        return self._parse(models.VolumeWorkload, self._call("POST", _path(
            "/rest/sim/workload", vdid=volume_id, iops=iops, readpercent=read_percent,
            blockkb=block_kb)))

    # Transport

    def _call(self, method: Method, path: str, *, public: bool = False) -> Any:
        """Send one request and return its JSON; logs in first and again after a 401."""
        if public:
            return self._decode(self._transmit(method, path, None))
        token = self._session_token()
        response = self._transmit(method, path, token)
        if response.status_code == 401:
            # Refused before it was acted on (see the module's docstring): send it once more.
            token = self._renewed_token(token, response)
            response = self._transmit(method, path, token)
        return self._decode(response)

    def _download(self, path: str, destination: BinaryIO) -> int:
        """GET a file into destination; logs in again after a 401, as _call does."""
        token = self._session_token()
        answer = self._stream_into(path, token, destination)
        if isinstance(answer, httpx.Response) and answer.status_code == 401:
            answer = self._stream_into(path, self._renewed_token(token, answer), destination)
        if isinstance(answer, httpx.Response):
            raise error_of(answer)
        return answer

    def _stream_into(self, path: str, token: str, destination: BinaryIO) -> int | httpx.Response:
        """The bytes written, chunk by chunk; or the refusal, read whole (an error body)."""
        try:
            with self._http.stream("GET", path, headers={"Authorization": token}) as response:
                if response.status_code != 200:
                    response.read()
                    return response
                written = 0
                for chunk in response.iter_bytes():
                    destination.write(chunk)
                    written += len(chunk)
                return written
        except httpx.TransportError as error:
            raise connection_failure(self.base_url, self._timeout, "GET", error, 1) from error

    def _session_token(self) -> str:
        with self._login_lock:
            if self._token is None:
                if self._password is None:
                    raise AuthenticationError("Not logged in: give the client a password or a "
                                              "session token (opensan login).", status=None)
                self.login()
            assert self._token is not None
            return self._token

    def _renewed_token(self, refused: str, response: httpx.Response) -> str:
        with self._login_lock:
            if self._token != refused and self._token is not None:
                return self._token  # another thread has logged in again meanwhile
            self._token = None
            if self._password is None:
                error = error_of(response)
                raise AuthenticationError(
                    f"{error.message} The client has no password to log in again: run "
                    "`opensan login` again (or give SanosClient a password).",
                    status=error.status, code=error.code)
            log.info("Session on %s ended; logging in again as %s", self.base_url, self.account)
            self.login()
            assert self._token is not None
            return self._token

    def _transmit(self, method: Method, path: str, token: str | None) -> httpx.Response:
        """Send once; a GET up to `get_attempts` times while the connection fails."""
        return transmit(self._http, self.base_url, self._timeout, self._get_attempts,
                        self._retry_backoff, method, path,
                        headers={"Authorization": token} if token else {})

    def _decode(self, response: httpx.Response) -> Any:
        return decoded(response, self.base_url, "SANOS")

    def _parse(self, kind: type[Model], data: Any) -> Model:
        from pydantic import ValidationError

        try:
            return kind.model_validate(data)
        except ValidationError as error:
            raise self._unexpected(kind, error) from None

    def _parse_list(self, kind: type[Model], data: Any) -> list[Model]:
        from pydantic import ValidationError

        try:
            return _list_of(kind).validate_python(data)
        except ValidationError as error:
            raise self._unexpected(kind, error) from None

    def _unexpected(self, kind: type[models.SanosObject], error: ValidationError) -> UnexpectedResponse:
        first = error.errors()[0]
        where = ".".join(map(str, first["loc"])) or "the answer"
        return UnexpectedResponse(f"{self.base_url} answered a {kind.__name__} that this client "
                                  f"cannot read: {where}: {first['msg']}.", status=200)


def transmit(http: httpx.Client, base_url: str, timeout: float, get_attempts: int,
             retry_backoff: float, method: str, path: str, **request: Any) -> httpx.Response:
    """Send once; a GET up to `get_attempts` times while the connection fails, waiting
    retry_backoff, then twice as long each time. Both API generations' clients send so."""
    attempts = get_attempts if method == "GET" else 1
    attempt = 1
    while True:
        try:
            return http.request(method, path, **request)
        except httpx.TransportError as error:
            failure = connection_failure(base_url, timeout, method, error, attempt)
            if isinstance(failure, TlsError) or attempt >= attempts:
                raise failure from error
            delay = retry_backoff * 2 ** (attempt - 1)
            attempt += 1
            log.warning("GET %s%s failed (%s); attempt %d of %d in %.2f s", base_url, path,
                        type(error).__name__, attempt, attempts, delay)
            time.sleep(delay)


def decoded(response: httpx.Response, base_url: str, api_name: str) -> Any:
    """A 200 answer's JSON; else the array's error (error_of)."""
    if response.status_code != 200:
        raise error_of(response)
    try:
        return response.json()
    except ValueError:
        raise UnexpectedResponse(f"The answer of {base_url} is not JSON: is this a {api_name} "
                                 "array?", status=200) from None


def error_of(response: httpx.Response) -> SanosError:
    """The error an answer other than 200 stands for, from its error body if it has one."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return error_from_response(response.status_code, body, response.headers.get("Retry-After"))


def connection_failure(base_url: str, timeout: float, method: str, error: httpx.TransportError,
                       attempt: int) -> SanosError:
    """The SanosError for a request that got no answer, saying whether a change may have been
    made (a request other than a GET may have reached the array)."""
    tried = f" ({attempt} attempts)" if attempt > 1 else ""
    tls = _tls_cause(error)
    if tls is not None:
        if tls.reason == "WRONG_VERSION_NUMBER":
            return TlsError(f"{base_url} does not speak TLS on that port; is it http://?")
        reason = getattr(tls, "verify_message", None) or tls.reason or str(tls)
        return TlsError(f"TLS with {base_url} failed: {reason}. Trust its certificate "
                        "with a CA file, or turn verification off.")
    if isinstance(error, httpx.UnsupportedProtocol):
        return InvalidUrl(f"{base_url} is not an http:// or https:// URL.")
    reason = str(error) or type(error).__name__
    if isinstance(error, httpx.ConnectError | httpx.ConnectTimeout):
        return ConnectionFailed(f"Cannot connect to {base_url}: {reason}{tried}.")
    what = (f"No answer from {base_url} within {timeout:g} s"
            if isinstance(error, httpx.TimeoutException)
            else f"The connection to {base_url} dropped ({reason})")
    hint = (" A port that speaks HTTPS closes plain HTTP so: is it https://?"
            if isinstance(error, httpx.RemoteProtocolError)
            and base_url.startswith("http:") else "")
    if method != "GET":
        # The request may have reached the array: only a person can tell whether to repeat it.
        return ConnectionFailed(f"{what}; the change may or may not have been made: check the "
                                f"array before repeating it.{hint}")
    return ConnectionFailed(f"{what}{tried}.{hint}")


def checked_url(base_url: str) -> str:
    try:
        url = httpx.URL(base_url.strip())
    except httpx.InvalidURL as error:
        raise InvalidUrl(f"{base_url!r} is not a valid URL: {error}.") from None
    if url.scheme not in ("http", "https") or not url.host:
        raise InvalidUrl(f"{base_url!r} is not a valid array URL: give http(s)://host[:port].")
    return str(url).rstrip("/")


def verification(base_url: str, verify: bool,
                  ca_file: str | PathLike[str] | None) -> ssl.SSLContext | bool:
    if not verify:
        if ca_file is not None:
            raise ValueError("ca_file needs verify=True")
        if base_url.startswith("https:"):
            warnings.warn(f"TLS certificate verification is off for {base_url}.",
                          InsecureTlsWarning, stacklevel=3)
        return False
    if ca_file is None:
        # Plain HTTP speaks no TLS: loading the system's CA certificates would only cost time.
        return base_url.startswith("https:")
    try:
        return ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ssl.SSLError) as error:
        raise TlsError(f"Cannot use CA file {ca_file}: {error}.") from None
