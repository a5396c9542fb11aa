"""The NAS-only part of QSAN's current API (file volumes, shares, share hosts, NFS), which a
SAN model has none of: each path QSAN's SDK calls answers QSAN's error body saying so (501),
after the same authentication and roles as every XEVO call."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from opensan.api.endpoint import Access, Api, Call, Endpoint, Kind, Param
from opensan.domain.errors import NotSupported

FILE_VOLUMES = "/rest/v2/storage/file/volumes"
SHARES = "/rest/v2/shares"
SHAREHOSTS = "/rest/v2/dataTransfer/sharehosts"
# (method, path) of every NAS call of QSAN's SDK (wire-format page, 3.2).
NAS_CALLS = (
    ("GET", FILE_VOLUMES), ("POST", FILE_VOLUMES),
    ("GET", FILE_VOLUMES + "/{fileVolumeId}"), ("PATCH", FILE_VOLUMES + "/{fileVolumeId}"),
    ("DELETE", FILE_VOLUMES + "/{fileVolumeId}"),
    ("POST", FILE_VOLUMES + "/{fileVolumeId}/clone"),
    ("GET", SHARES), ("POST", SHARES),
    ("GET", SHARES + "/{shareId}"), ("PATCH", SHARES + "/{shareId}"),
    ("DELETE", SHARES + "/{shareId}"), ("POST", SHARES + "/{shareId}/recreate"),
    ("GET", SHARES + "/{shareId}/permission"), ("PATCH", SHARES + "/{shareId}/permission/edit"),
    ("GET", SHAREHOSTS), ("POST", SHAREHOSTS),
    ("GET", SHAREHOSTS + "/{sharehostId}"), ("PATCH", SHAREHOSTS + "/{sharehostId}"),
    ("DELETE", SHAREHOSTS + "/{sharehostId}"),
    ("PUT", SHAREHOSTS + "/{sharehostId}/shares"),
    ("DELETE", SHAREHOSTS + "/{sharehostId}/shares"),
    ("PATCH", SHAREHOSTS + "/{sharehostId}/addService"),
    ("PATCH", SHAREHOSTS + "/{sharehostId}/removeService"),
    ("GET", "/rest/v2/dataTransfer/protocol/nfs/keytab"),
    ("GET", "/rest/v2/network/cluster"),
)
_PARAMS = {"fileVolumeId": "File volume ID", "shareId": "Share ID",
           "sharehostId": "Share host ID"}


class NasBody(BaseModel):
    """Whatever a NAS call of QSAN's SDK sends: read, so that the answer is the SAN's."""

    model_config = ConfigDict(extra="allow")


async def no_nas(call: Call) -> bytes:
    raise NotSupported("This is a SAN model: it has no file volumes, shares, share hosts or "
                       "NFS (QSAN's NAS models have them).")


def _endpoint(method: str, path: str) -> Endpoint:
    params = tuple(Param(key, Kind.TEXT, text) for key, text in _PARAMS.items()
                   if f"{{{key}}}" in path)
    return Endpoint(method, path, "NAS only: a SAN model answers 501.", no_nas, params=params,
                    access=Access.ANY_ACCOUNT if method == "GET" else Access.ADMIN,
                    api=Api.XEVO, body=None if method == "GET" else NasBody,
                    filters=("poolId", "volumeId") if method == "GET" else ())


ENDPOINTS = [_endpoint(method, path) for method, path in NAS_CALLS]
