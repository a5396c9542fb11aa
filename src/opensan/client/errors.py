"""What can go wrong when talking to a SANOS array, as exceptions a caller can tell apart.

Every failure is a SanosError. The HTTP status says the class of an answer the array gave
(api-contract.md, "Errors"); `code` and `message` are the contract's error body. Failures that
never got an answer (no connection, TLS, a bad URL) have no status and no code.
"""

from __future__ import annotations

from typing import Any


class SanosError(Exception):
    """A request failed; `status` and `code` are None when the array never answered."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code

    def __str__(self) -> str:
        details = [f"HTTP {self.status}"] if self.status is not None else []
        if self.code is not None:
            details.append(f"code {self.code}")
        return f"{self.message} ({', '.join(details)})" if details else self.message


class RequestRefused(SanosError):
    """The array answered and refused the request: changing the request or the array's state may help."""


class BadRequest(RequestRefused):
    """400: a value has the wrong form, a parameter is missing or unknown."""


class AuthenticationError(RequestRefused):
    """401: no session, the session ended, or a wrong account or password.

    Also raised without a status when the client has neither a session nor a password.
    """


class PermissionDenied(RequestRefused):
    """403: the account may not do this (the read-only `user` account tried a change)."""


class NotFound(RequestRefused):
    """404: no such object (or no such endpoint on this firmware)."""


class Conflict(RequestRefused):
    """409: the array's state forbids the change (name taken, LUN in use, no snapshot space)."""


class TooManyRequests(RequestRefused):
    """429: too many failed logins; `retry_after` is how many seconds to wait, when the array said."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status, code=code)
        self.retry_after = retry_after


class NotSupported(RequestRefused):
    """501: this array cannot do it (for example, fault injection on a real array)."""


class InsufficientCapacity(RequestRefused):
    """507: the pool has not enough free capacity."""


class ServerError(SanosError):
    """5xx: the array failed; the request may be fine."""


class UnexpectedResponse(ServerError):
    """The array answered something that is not the contract's JSON (a proxy, other firmware)."""


class ConnectionFailed(SanosError):
    """No answer: refused connection, unknown host, time-out, or the connection dropped."""


class TlsError(ConnectionFailed):
    """The TLS handshake failed, most often an untrusted or mismatched certificate."""


class InvalidUrl(SanosError):
    """The base URL cannot be used (no http(s) scheme or no host)."""


_BY_STATUS: dict[int, type[RequestRefused]] = {
    400: BadRequest, 401: AuthenticationError, 403: PermissionDenied, 404: NotFound,
    409: Conflict, 501: NotSupported, 507: InsufficientCapacity,
}


def error_from_response(status: int, body: Any, retry_after: str | None = None) -> SanosError:
    """The exception for a non-200 answer; a body not in the contract's shape still gives one."""
    detail = body.get("error") if isinstance(body, dict) else None
    if (isinstance(detail, dict) and isinstance(detail.get("code"), int)
            and isinstance(detail.get("message"), str)):
        code: int | None = detail["code"]
        message = str(detail["message"])
    else:
        code, message = None, f"The array answered HTTP {status} without an error body."
    if status == 429:
        return TooManyRequests(message, status=status, code=code, retry_after=_seconds(retry_after))
    if status in _BY_STATUS:
        return _BY_STATUS[status](message, status=status, code=code)
    if status >= 500:
        return ServerError(message, status=status, code=code)
    return RequestRefused(message, status=status, code=code)


def _seconds(header: str | None) -> float | None:
    try:
        return float(header) if header is not None else None
    except ValueError:
        return None  # an HTTP date: rare, and the caller still knows it must wait
