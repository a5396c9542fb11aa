"""uvicorn's HTTP/1.1 protocol with the limits it lacks, and the error body on its own answers.

uvicorn waits forever for a request's headers (a client sending one byte a second holds a
connection for good), answers malformed HTTP and a full server in plain text, and keeps every
connection it accepts. This subclass closes a connection whose headers do not arrive within
header_timeout_seconds, or whose body pauses longer than idle_timeout_seconds; refuses
connections beyond max_connections; and answers those cases, like the API, with the
contract's error body.

Over HTTPS it makes the TLS handshake itself (uvicorn's would wait up to asyncio's minute and
count nowhere): within header_timeout_seconds, as one of max_connections, and with no more
handshakes at once than max_connections (one beyond is closed at once: without a handshake
there is no way to answer it). The port then speaks TLS only: a plain HTTP request to it is
closed unanswered.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from opensan.api.errors import error_body
from opensan.api.limits import RETRY_AFTER_SECONDS, ServerLimits
from opensan.domain.errors import ErrorCode

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 503: b"Service Unavailable"}


def uvicorn_options(limits: ServerLimits, tls: ssl.SSLContext | None = None) -> dict[str, Any]:
    """What uvicorn.run / uvicorn.Config take to serve with these limits; over HTTPS with tls
    (give uvicorn no certificate of its own then)."""

    class GuardedProtocol(_GuardedProtocol):
        pass

    GuardedProtocol.limits = limits
    GuardedProtocol.tls = tls
    GuardedProtocol.handshakes = set()
    return {
        "http": GuardedProtocol,
        "timeout_keep_alive": max(1, round(limits.idle_timeout_seconds)),
        # The client address is the socket's, unless a trusted proxy says otherwise.
        "proxy_headers": bool(limits.trusted_proxies),
        "forwarded_allow_ips": list(limits.trusted_proxies) or None,
        # The handshake needs asyncio's transports, which read nothing while paused; uvloop's
        # would start reading after connection_made all the same.
        **({"loop": "asyncio"} if tls else {}),
    }


class _GuardedProtocol(H11Protocol):
    limits = ServerLimits()
    tls: ssl.SSLContext | None = None
    # The connections of this server in their TLS handshake (the tasks that make them).
    handshakes: ClassVar[set[asyncio.Task[None]]] = set()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None
        self._handshake: asyncio.Task[None] | None = None
        # What the client sent with the end of the handshake, before start_tls returned.
        self._early: bytearray | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        if self.tls is None:
            self._serve(transport)
        elif len(self.handshakes) >= self.limits.max_connections:
            transport.abort()
        else:
            transport.pause_reading()  # the handshake's bytes are start_tls's, not h11's
            self._early = bytearray()
            self._handshake = self.loop.create_task(self._secure(transport, self.tls))
            self.handshakes.add(self._handshake)

    async def _secure(self, transport: asyncio.Transport, tls: ssl.SSLContext) -> None:
        try:
            secured = await self.loop.start_tls(
                transport, self, tls, server_side=True,
                ssl_handshake_timeout=self.limits.header_timeout_seconds,
                ssl_shutdown_timeout=self.limits.idle_timeout_seconds)
        except OSError:  # it failed or timed out (TimeoutError, ssl.SSLError): closed already
            return
        finally:
            assert self._handshake is not None
            self.handshakes.discard(self._handshake)
        assert secured is not None
        self._serve(secured)

    def _serve(self, transport: asyncio.Transport) -> None:
        super().connection_made(transport)
        early, self._early = self._early, None
        if len(self.connections) + len(self.handshakes) > self.limits.max_connections:
            self._answer_and_close(503, ErrorCode.SERVER_BUSY,
                                   "Too many connections; try again in a moment.",
                                   b"retry-after: %d\r\n" % RETRY_AFTER_SECONDS)
            return
        self._arm(self.limits.header_timeout_seconds)
        if early:
            self.data_received(bytes(early))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.transport is None:  # closed before a TLS handshake began: never served
            return
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._early is not None:  # the handshake is done, start_tls has not returned yet
            self._early += data
            return
        if self.conn.their_state is h11.IDLE and self._read_deadline is None:
            self._arm(self.limits.header_timeout_seconds)  # the next request on a kept-alive one
        super().data_received(data)
        if self.conn.their_state is h11.SEND_BODY:
            self._arm(self.limits.idle_timeout_seconds)  # a body keeps arriving, or it ends
        elif self.conn.their_state is not h11.IDLE:
            self._disarm()

    def send_400_response(self, msg: str) -> None:
        self._answer_and_close(400, ErrorCode.INVALID_ARGUMENT,
                               "The request is not valid HTTP/1.1.")

    def _arm(self, seconds: float) -> None:
        self._disarm()
        self._read_deadline = self.loop.call_later(seconds, self._timed_out)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _timed_out(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        if self.conn.our_state is h11.IDLE and self.conn.their_state is h11.IDLE:
            self._answer_and_close(408, ErrorCode.REQUEST_TIMEOUT,
                                   "The request's headers took too long to arrive.")
        else:  # the app waits for the rest of a body: the disconnect ends that request
            self.transport.close()

    def _answer_and_close(self, status: int, code: int, message: str,
                          extra_headers: bytes = b"") -> None:
        """Write a whole answer below h11 (which only answers a request it has parsed)."""
        body = error_body(code, message)
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: application/json\r\ncontent-length: %d\r\n"
            b"connection: close\r\n%s\r\n%s" % (status, _REASONS[status], len(body),
                                                extra_headers, body))
        self.transport.close()
