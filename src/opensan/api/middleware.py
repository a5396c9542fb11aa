"""Pure ASGI middleware (cheaper than Starlette's BaseHTTPMiddleware) around every request:
its ID, its count and the redacted access log, the body size limit and the security headers."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl, unquote, urlencode

from opensan.api.errors import error_body
from opensan.api.logs import RequestFacts, current_request
from opensan.domain.errors import ErrorCode

access_log = logging.getLogger("opensan.access")
Message = MutableMapping[str, Any]
_SECRET_KEYS = ("password", "newpassword", "token")
# Query keys whose values are never logged: any that holds one of these words
# (password, newPassword, token, access_token, accessToken, secret...).
_SECRET_QUERY_WORDS = ("password", "token", "secret")


def redacted(raw_path: str, query: str) -> str:
    """The request line with every password value replaced (and in the query every token and
    secret too), for the access log. It works on the path as sent: a decoded path would split
    a password holding %2F into two segments."""
    segments = raw_path.split("/")
    for i in range(1, len(segments)):
        if unquote(segments[i - 1]).lower() in _SECRET_KEYS:
            segments[i] = "***"
    line = "/".join(segments)
    if query:
        pairs = [(k, "***" if any(word in k.lower() for word in _SECRET_QUERY_WORDS) else v)
                 for k, v in parse_qsl(query, keep_blank_values=True)]
        line += "?" + urlencode(pairs)
    return line


class Requests:
    """The outermost middleware: gives each request its ID (api/logs.py; the answer's
    X-Request-ID header), and once it is answered, from one capture of the status (500 for an
    error that escaped: the client gets that from Starlette) and the duration, hands both to
    on_answer (the API's request counters, api/metrics.py) and writes the access log's line."""

    def __init__(self, app: Any, on_answer: Callable[[Message, int, float], None]) -> None:
        self.app = app
        self.on_answer = on_answer

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        facts = RequestFacts(uuid.uuid4().hex)
        reset = current_request.set(facts)
        status = [500]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = [*message.get("headers", []),
                                      (b"x-request-id", facts.id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, record)
        finally:
            seconds = time.perf_counter() - started
            try:
                self.on_answer(scope, status[0], seconds)
                if access_log.isEnabledFor(logging.INFO):
                    _access_line(scope, facts, status[0], seconds)
            finally:
                current_request.reset(reset)


def _access_line(scope: Message, facts: RequestFacts, status: int, seconds: float) -> None:
    """One redacted line: client, method, path, status, duration; in the JSON format also as
    fields, with the request's ID and account."""
    client = (scope.get("client") or ("-", 0))[0]
    raw_path = scope.get("raw_path") or scope["path"].encode()
    path = redacted(raw_path.decode("latin-1"), scope.get("query_string", b"").decode("latin-1"))
    duration_ms = round(seconds * 1000, 1)
    access_log.info("%s %s %s %d %.1fms", client, scope["method"], path, status, duration_ms,
                    extra={"account": facts.account, "client": client, "method": scope["method"],
                           "path": path, "status": status, "duration_ms": duration_ms})


async def send_error(send: Any, status: int, code: int, message: str,
                     headers: tuple[tuple[bytes, bytes], ...] = ()) -> None:
    body = error_body(code, message)
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        *headers]})
    await send({"type": "http.response.body", "body": body})


class BodyLimit:
    """Reads a request's body before the app does, and answers 413 as soon as it is larger
    than max_bytes (from Content-Length, before reading any of it), so no request can make
    the server buffer more than that."""

    def __init__(self, app: Any, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next((value for name, value in scope["headers"]
                         if name == b"content-length"), b"0")
        if not declared.isdigit() or int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if delivered:
                after: Message = await receive()  # only a disconnect comes after the body
                return after
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, send: Any) -> None:
        # The rest of the body is never read: the connection closes after the answer.
        await send_error(send, 413, ErrorCode.BODY_TOO_LARGE,
                         f"The request body is larger than {self.max_bytes} bytes.",
                         ((b"connection", b"close"),))


# A page loads from the array only (a page may set a policy of its own: api/apidocs.py).
_HTML_POLICY = b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
_API_POLICY = b"default-src 'none'; frame-ancestors 'none'"


class SecurityHeaders:
    """Headers every answer carries: no sniffing, no caching of the array's data (it holds
    names, addresses and sessions), no framing, and a content security policy."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                html = any(name == b"content-type" and value.startswith(b"text/html")
                           for name, value in headers)
                headers += [(b"x-content-type-options", b"nosniff"),
                            (b"x-frame-options", b"DENY"),
                            (b"referrer-policy", b"no-referrer")]
                if not any(name == b"content-security-policy" for name, _ in headers):
                    headers.append((b"content-security-policy",
                                    _HTML_POLICY if html else _API_POLICY))
                if not any(name == b"cache-control" for name, _ in headers):
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)
