"""One interface for both API generations of QSAN arrays, and finding out which one an array speaks.

    from opensan.client import connect

    with connect("https://san01", "admin", "secret") as array:   # SANOS or XEVO, as it speaks
        for volume in array.volumes():
            print(volume.name, volume.capacity_bytes)

`StorageArray` is what SanosClient and XevoClient both do, with the same models. Which API an
array speaks: a XEVO array answers the open `GET /rest/v1/about` with its AboutData (QSAN's
clients read it before they log in); a SANOS array does not. OpenSAN speaks both: it also
answers SANOS's help (`GET /rest/`) with its endpoint list, and SANOS is chosen there, the API
with more calls (disks, events, accounts, the virtual array's).
"""

from __future__ import annotations

import warnings
from os import PathLike
from types import TracebackType
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, Self

import httpx

from opensan.client.api import Api
from opensan.client.sanos import InsecureTlsWarning, SanosClient, connection_failure

if TYPE_CHECKING:
    from opensan.client.models import (
        LunMapping,
        Pool,
        Session,
        Snapshot,
        SnapshotSpace,
        Target,
        TargetLuns,
        Volume,
        VolumeSnapshots,
    )
    from opensan.client.xevo import XevoClient


class StorageArray(Protocol):
    """The calls both APIs serve, answered as the same models (sizes in bytes, IDs as ints but
    a XEVO snapshot's, which is its name)."""

    api: ClassVar[Api]
    base_url: str
    account: str
    role: str | None

    @property
    def token(self) -> str | None: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None: ...

    def close(self) -> None: ...

    def login(self) -> Session: ...

    def logout(self) -> None: ...

    def pools(self) -> list[Pool]: ...

    def volumes(self) -> list[Volume]: ...

    def volume(self, volume_id: int) -> Volume: ...

    def create_volume(self, pool_id: int, name: str, size_gb: int,
                      provision: Literal["thick", "thin"] | None = None) -> Volume: ...

    def extend_volume(self, volume_id: int, size_gb: int) -> Volume: ...

    def delete_volume(self, volume_id: int) -> Volume: ...

    def snapshots(self, volume_id: int) -> VolumeSnapshots: ...

    def set_snapshot_space(self, volume_id: int, size_gb: int) -> SnapshotSpace: ...

    def take_snapshot(self, volume_id: int, name: str | None = None) -> Snapshot: ...

    def delete_snapshot(self, snapshot_id: int | str,
                        volume_id: int | None = None) -> Snapshot: ...

    def rollback_snapshot(self, snapshot_id: int | str,
                          volume_id: int | None = None) -> Snapshot: ...

    def targets(self) -> list[Target]: ...

    def target_luns(self, target_id: int) -> TargetLuns: ...

    def lun_mappings(self) -> list[LunMapping]: ...

    def map_lun(self, target_id: int, lun: int, volume_id: int,
                permission: Literal["rw", "ro"] = "rw",
                hosts: list[str] | None = None) -> LunMapping: ...

    def unmap_lun(self, target_id: int, lun: int) -> LunMapping: ...


def _answers(http: httpx.Client, path: str, shape: type) -> Any:
    """The JSON of an open GET if it answered 200 with that shape, else None."""
    try:
        response = http.get(path)
    except httpx.TransportError as error:
        raise connection_failure(str(http.base_url).rstrip("/"), http.timeout.read or 0.0,
                                 "GET", error, 1) from error
    if response.status_code != 200:
        return None
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, shape) else None


def detect_api(http: httpx.Client) -> Api:
    """Which API the array behind `http` speaks: XEVO if it answers XEVO's about (and not
    SANOS's help too), else SANOS."""
    about = _answers(http, "/rest/v1/about", dict)
    if not (about and isinstance(about.get("modelType"), str) and "firmwareVer" in about):
        return Api.SANOS
    help_list = _answers(http, "/rest/", list)
    speaks_sanos = bool(help_list) and all(isinstance(item, dict) and "path" in item
                                           for item in help_list)
    return Api.SANOS if speaks_sanos else Api.XEVO


def connect(
    base_url: str,
    account: str = "admin",
    password: str | None = None,
    *,
    api: Api | None = None,
    token: str | None = None,
    refresh_token: str | None = None,
    verify: bool = True,
    ca_file: str | PathLike[str] | None = None,
    timeout: float = 30.0,
) -> SanosClient | XevoClient:
    """A client of the API the array speaks (`api` None: find it out, two open GETs at most)."""
    if api is not Api.SANOS:
        # Imported only here: a SANOS session never pays for XEVO's client.
        from opensan.client.xevo import XevoClient
    if api is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InsecureTlsWarning)  # the client below warns
            with XevoClient(base_url, verify=verify, ca_file=ca_file, timeout=timeout) as probe:
                api = detect_api(probe._http)
    if api is Api.XEVO:
        return XevoClient(base_url, account, password, token=token, refresh_token=refresh_token,
                          verify=verify, ca_file=ca_file, timeout=timeout)
    return SanosClient(base_url, account, password, token=token, verify=verify, ca_file=ca_file,
                       timeout=timeout)

