"""Where a request's token comes from, and the CSRF rule for the session cookie.

A browser sends the session cookie with every request to the array, also one that another
site's page makes it send. So a POST that carries only the cookie (no Authorization header)
must also show that it comes from a page of the array: the CSRF token (the X-CSRF-Token header,
whose value the login sets in the opensan_csrf cookie that only the array's own pages can read),
or an Origin header naming the array itself.
"""

from __future__ import annotations

import hashlib
import hmac

from fastapi import Request

from opensan.domain.errors import ErrorCode, Forbidden

SESSION_COOKIE = "opensan_session"
CSRF_COOKIE = "opensan_csrf"
CSRF_HEADER = "x-csrf-token"


def request_token(request: Request) -> tuple[str | None, bool]:
    """The token, and whether it came from the cookie alone."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, rest = header.partition(" ")
        return (rest.strip() if scheme.lower() == "bearer" and rest else header.strip()), False
    cookie = request.cookies.get(SESSION_COOKIE)
    return cookie, cookie is not None


def csrf_token(session_token: str) -> str:
    """Derived from the session's token: only who holds the token (or was given this by the
    login) knows it, and it ends with the session."""
    return hashlib.sha256(b"opensan-csrf:" + session_token.encode()).hexdigest()


def _same_origin(request: Request, origin: str) -> bool:
    host = request.headers.get("host", "")
    return bool(host) and origin == f"{request.url.scheme}://{host}"


def check_csrf(request: Request, session_token: str) -> None:
    """Raises Forbidden for a cookie-only POST with neither the CSRF token nor our Origin."""
    given = request.headers.get(CSRF_HEADER)
    if given is not None and hmac.compare_digest(given, csrf_token(session_token)):
        return
    origin = request.headers.get("origin")
    if origin is not None and given is None and _same_origin(request, origin):
        return
    raise Forbidden("A change authenticated by the session cookie needs the X-CSRF-Token "
                    f"header (the value of the {CSRF_COOKIE} cookie) or this array's Origin.",
                    ErrorCode.CSRF_REFUSED)
