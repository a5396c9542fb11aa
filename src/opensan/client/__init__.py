"""Python SDK for SANOS arrays: QSAN XCubeSAN and OpenSAN.

    from opensan.client import SanosClient

    with SanosClient("http://127.0.0.1:8080", "admin", "1234") as array:
        for volume in array.volumes():
            print(volume.name, volume.capacity_bytes)
"""

from types import ModuleType
from typing import TYPE_CHECKING

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
else:
    def __getattr__(name: str) -> ModuleType:
        """`opensan.client.models` is imported when first used: it imports pydantic, which
        `array.raw`'s reads and the CLI's `--json` never need."""
        if name == "models":
            import opensan.client.models as imported

            return imported
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

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
