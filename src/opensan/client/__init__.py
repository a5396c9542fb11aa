"""Python SDK for QSAN arrays of both API generations (SANOS and XEVO) and OpenSAN.

    from opensan.client import SanosClient

    with SanosClient("http://127.0.0.1:8080", "admin", "1234") as array:
        for volume in array.volumes():
            print(volume.name, volume.capacity_bytes)

`connect(url, account, password)` finds out which API an array speaks and answers a
SanosClient or a XevoClient; both do `StorageArray` (client/array.py) with the same models.
"""

from opensan.client import models
from opensan.client.array import Api, StorageArray, connect, detect_api
from opensan.client.errors import (
    AuthenticationError,
    BadRequest,
    Conflict,
    ConnectionFailed,
    InsufficientCapacity,
    InvalidUrl,
    NotFound,
    NotSupported,
    PermissionDenied,
    RequestRefused,
    SanosError,
    ServerError,
    TlsError,
    TooManyRequests,
    UnexpectedResponse,
)
from opensan.client.sanos import InsecureTlsWarning, SanosClient
from opensan.client.xevo import XevoAbout, XevoClient

__all__ = [
    "Api",
    "AuthenticationError",
    "BadRequest",
    "Conflict",
    "ConnectionFailed",
    "InsecureTlsWarning",
    "InsufficientCapacity",
    "InvalidUrl",
    "NotFound",
    "NotSupported",
    "PermissionDenied",
    "RequestRefused",
    "SanosClient",
    "SanosError",
    "ServerError",
    "StorageArray",
    "TlsError",
    "TooManyRequests",
    "UnexpectedResponse",
    "XevoAbout",
    "XevoClient",
    "connect",
    "detect_api",
    "models",
]
