"""Python SDK for SANOS arrays: QSAN XCubeSAN and OpenSAN.

    from opensan.client import SanosClient

    with SanosClient("http://127.0.0.1:8080", "admin", "1234") as array:
        for volume in array.volumes():
            print(volume.name, volume.capacity_bytes)
"""

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

# `models` (and pydantic under it) is imported when an answer is first parsed: `array.raw`'s reads
# and the CLI's --json never need it.
from opensan.client.sanos import InsecureTlsWarning, RawReads, SanosClient, models

__all__ = [
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
    "RawReads",
    "RequestRefused",
    "SanosClient",
    "SanosError",
    "ServerError",
    "TlsError",
    "TooManyRequests",
    "UnexpectedResponse",
    "models",
]
