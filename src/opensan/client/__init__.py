"""Python SDK for QSAN arrays of both API generations (SANOS and XEVO) and OpenSAN.

    from opensan.client import SanosClient

    with SanosClient("http://127.0.0.1:8080", "admin", "1234") as array:
        for volume in array.volumes():
            print(volume.name, volume.capacity_bytes)

`connect(url, account, password)` finds out which API an array speaks and answers a
SanosClient or a XevoClient; both do `StorageArray` (client/array.py) with the same models.
"""

from typing import TYPE_CHECKING, Any

from opensan.client.api import Api
from opensan.client.array import StorageArray, connect, detect_api
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
from opensan.client.sanos import InsecureTlsWarning, RawReads, SanosClient

if TYPE_CHECKING:
    from opensan.client import models as models
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
    "RawReads",
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


def __getattr__(name: str) -> Any:
    """`models` and XEVO's client load when first asked for: the models import pydantic, which
    `array.raw`'s reads and the CLI's `--json` never need, and a SANOS program never pays for
    XEVO's client."""
    if name == "models":
        import opensan.client.models as imported

        return imported
    if name in ("XevoAbout", "XevoClient"):
        from opensan.client import xevo

        return getattr(xevo, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
