"""Errors the array raises, each with its SANOS error code and HTTP status.

The API layer turns a SanError into {"error": {"code", "message"}}; nothing below the API
knows about HTTP beyond the status number carried here. HTTP_STATUS is the one table of each
code's status: an error answers the status of its code, and the OpenAPI description says which
codes (so statuses) each operation answers. docs/errors.md lists every code; a test keeps that
table and this one in step.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class ErrorCode(IntEnum):
    """A condition's code: QSAN's (V1) where QSAN's table has the same condition, OpenSAN's
    own otherwise, and never one of QSAN's codes for another condition (docs/errors.md)."""

    # Request shape (12003 is QSAN's; the finer ones are ours)
    INVALID_ARGUMENT = 12003
    UNKNOWN_PARAMETER = 10002
    CONFLICTING_PARAMETER = 10003
    MISSING_PARAMETER = 10004
    NO_SUCH_PATH = 10005
    METHOD_NOT_ALLOWED = 10006
    STATE_CONFLICT = 10007
    OBJECT_NOT_FOUND = 10008
    BODY_TOO_LARGE = 10009
    REQUEST_TIMEOUT = 10010
    SERVER_BUSY = 10011
    # Authentication (ours)
    NOT_LOGGED_IN = 10101
    SESSION_EXPIRED = 10102
    WRONG_CREDENTIALS = 10103
    TOO_MANY_LOGINS = 10105
    CSRF_REFUSED = 10106
    FORBIDDEN = 10107  # not 10104: that is QSAN's "pool out of space"
    # Objects (QSAN's: 10104, 10300, 10405, 11301, 11901, 12002, 12501, 13501, 13502, 13508,
    # 13514)
    VOLUME_NOT_FOUND = 10300
    VOLUME_NAME_TAKEN = 12501
    VOLUME_IN_USE = 10405  # mapped
    VOLUME_HAS_SNAPSHOTS = 10302
    VOLUME_NOT_READY = 12002
    POOL_NOT_FOUND = 10400
    POOL_NAME_TAKEN = 10401
    POOL_NOT_EMPTY = 10402
    DISK_NOT_FOUND = 10500
    DISK_IN_USE = 10501
    TARGET_NOT_FOUND = 10600
    TARGET_IN_USE = 10601
    TARGET_LIMIT = 10602
    LUN_IN_USE = 10700
    LUN_NOT_MAPPED = 10701
    VOLUME_ALREADY_MAPPED = 11301
    LUN_LIMIT = 11901
    SNAPSHOT_NOT_FOUND = 13500
    INVALID_SNAPSHOT_NAME = 13502
    NO_SNAPSHOT_SPACE = 13508
    SNAPSHOT_LIMIT = 13501
    SNAPSHOT_SPACE_IN_USE = 13505
    SNAPSHOT_NAME_TAKEN = 13514
    SNAPSHOT_IN_USE = 13515
    INSUFFICIENT_CAPACITY = 10104
    NOT_SUPPORTED = 15000
    BACKEND_ERROR = 15001
    ACCOUNT_NOT_FOUND = 16000
    ACCOUNT_NAME_TAKEN = 16001
    LAST_ADMINISTRATOR = 16002
    OWN_ACCOUNT = 16003
    ACCOUNT_DISABLED = 16004
    INTERNAL_ERROR = 19999

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self]


_BY_STATUS: dict[int, tuple[ErrorCode, ...]] = {
    400: (ErrorCode.INVALID_ARGUMENT, ErrorCode.UNKNOWN_PARAMETER, ErrorCode.CONFLICTING_PARAMETER,
          ErrorCode.MISSING_PARAMETER, ErrorCode.INVALID_SNAPSHOT_NAME),
    401: (ErrorCode.NOT_LOGGED_IN, ErrorCode.SESSION_EXPIRED, ErrorCode.WRONG_CREDENTIALS),
    403: (ErrorCode.FORBIDDEN, ErrorCode.CSRF_REFUSED, ErrorCode.ACCOUNT_DISABLED),
    404: (ErrorCode.NO_SUCH_PATH, ErrorCode.OBJECT_NOT_FOUND, ErrorCode.VOLUME_NOT_FOUND,
          ErrorCode.POOL_NOT_FOUND, ErrorCode.DISK_NOT_FOUND, ErrorCode.TARGET_NOT_FOUND,
          ErrorCode.LUN_NOT_MAPPED, ErrorCode.SNAPSHOT_NOT_FOUND, ErrorCode.ACCOUNT_NOT_FOUND),
    405: (ErrorCode.METHOD_NOT_ALLOWED,),
    408: (ErrorCode.REQUEST_TIMEOUT,),
    409: (ErrorCode.STATE_CONFLICT, ErrorCode.VOLUME_NAME_TAKEN, ErrorCode.VOLUME_IN_USE,
          ErrorCode.VOLUME_HAS_SNAPSHOTS, ErrorCode.VOLUME_NOT_READY, ErrorCode.POOL_NAME_TAKEN,
          ErrorCode.POOL_NOT_EMPTY, ErrorCode.DISK_IN_USE, ErrorCode.TARGET_IN_USE,
          ErrorCode.TARGET_LIMIT, ErrorCode.LUN_IN_USE, ErrorCode.VOLUME_ALREADY_MAPPED,
          ErrorCode.LUN_LIMIT, ErrorCode.NO_SNAPSHOT_SPACE, ErrorCode.SNAPSHOT_LIMIT,
          ErrorCode.SNAPSHOT_SPACE_IN_USE,
          ErrorCode.SNAPSHOT_NAME_TAKEN, ErrorCode.SNAPSHOT_IN_USE, ErrorCode.ACCOUNT_NAME_TAKEN,
          ErrorCode.LAST_ADMINISTRATOR, ErrorCode.OWN_ACCOUNT),
    413: (ErrorCode.BODY_TOO_LARGE,),
    429: (ErrorCode.TOO_MANY_LOGINS,),
    500: (ErrorCode.BACKEND_ERROR, ErrorCode.INTERNAL_ERROR),
    501: (ErrorCode.NOT_SUPPORTED,),
    503: (ErrorCode.SERVER_BUSY,),
    507: (ErrorCode.INSUFFICIENT_CAPACITY,),
}
HTTP_STATUS: dict[ErrorCode, int] = {
    code: status for status, codes in _BY_STATUS.items() for code in codes}


class Generation(StrEnum):
    """QSAN's two families of XEVO error codes, one per firmware generation: V1 (5-digit, the
    firmware goqsan's tests target) and V2 (500xxxx). An array answers one, by its profile."""

    V1 = "V1"
    V2 = "V2"


class SanError(Exception):
    """Base of every error the array reports to a client; it answers its code's status."""

    code = ErrorCode.INTERNAL_ERROR
    # When set, the answer says (Retry-After) how many seconds to wait before trying again.
    retry_after_seconds: int | None = None

    def __init__(self, message: str, code: ErrorCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    @property
    def http_status(self) -> int:
        return self.code.http_status


class InvalidArgument(SanError):
    code = ErrorCode.INVALID_ARGUMENT


class NotAuthenticated(SanError):
    code = ErrorCode.NOT_LOGGED_IN


class Forbidden(SanError):
    code = ErrorCode.FORBIDDEN


class NotFound(SanError):
    code = ErrorCode.OBJECT_NOT_FOUND


class Conflict(SanError):
    """The request clashes with the array's current state (taken, in use, not empty)."""

    code = ErrorCode.STATE_CONFLICT


class TooManyAttempts(SanError):
    code = ErrorCode.TOO_MANY_LOGINS

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class Busy(SanError):
    """The server is at a limit it keeps to stay responsive (e.g. password checks at once)."""

    code = ErrorCode.SERVER_BUSY

    def __init__(self, message: str, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class InsufficientCapacity(SanError):
    code = ErrorCode.INSUFFICIENT_CAPACITY


class NotSupported(SanError):
    """The backend cannot do this (see StorageBackend.capabilities())."""

    code = ErrorCode.NOT_SUPPORTED


class BackendError(SanError):
    code = ErrorCode.BACKEND_ERROR


def volume_not_found(volume_id: int) -> NotFound:
    return NotFound(f"Volume {volume_id} does not exist.", ErrorCode.VOLUME_NOT_FOUND)


def pool_not_found(pool_id: int) -> NotFound:
    return NotFound(f"Pool {pool_id} does not exist.", ErrorCode.POOL_NOT_FOUND)


def disk_not_found(disk_id: int) -> NotFound:
    return NotFound(f"Disk {disk_id} does not exist.", ErrorCode.DISK_NOT_FOUND)


def target_not_found(target_id: int) -> NotFound:
    return NotFound(f"Target {target_id} does not exist.", ErrorCode.TARGET_NOT_FOUND)


def snapshot_not_found(snapshot_id: int) -> NotFound:
    return NotFound(f"Snapshot {snapshot_id} does not exist.", ErrorCode.SNAPSHOT_NOT_FOUND)
